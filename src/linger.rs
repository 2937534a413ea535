//! Closing second. A client that asks `Connection: close` (the course's
//! Python scripts, curl with `-H 'Connection: close'`, urllib) is answered
//! and then left to close first: the connection's last descriptor, the
//! response writer, is held here for a moment before it is dropped. The side
//! that closes first keeps the port in TIME_WAIT for a minute; were that the
//! node, its HTTP port would look taken (to a plain `bind`) long after the
//! node stopped, and thousands of such answers would pile up on the server.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long a writer is held: a client reading its answer closes well within it.
pub const HOLD: Duration = Duration::from_millis(250);
/// The most writers held at once; past it they are dropped at once.
pub const MOST: usize = 4096;

type Writer = Box<dyn Write + Send + 'static>;
type Holder = Option<Mutex<Sender<(Instant, Writer)>>>;

/// Drops `writer` after [`HOLD`] (at once if too many are held, or if the
/// holding thread cannot start).
pub fn close_later(writer: Writer) {
    static HOLDER: OnceLock<Holder> = OnceLock::new();
    let holder = HOLDER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(Instant, Writer)>();
        let started = thread::Builder::new()
            .name("http-linger".into())
            .spawn(move || hold(rx));
        started.ok().map(|_| Mutex::new(tx))
    });
    if let Some(tx) = holder {
        if let Ok(tx) = tx.lock() {
            // Fails only once the holder is gone: the writer drops here.
            let _ = tx.send((Instant::now() + HOLD, writer));
        }
    }
}

fn hold(rx: mpsc::Receiver<(Instant, Writer)>) {
    let mut held: VecDeque<(Instant, Writer)> = VecDeque::new();
    loop {
        let wait = held
            .front()
            .map(|(due, _)| due.saturating_duration_since(Instant::now()));
        let next = match wait {
            Some(wait) => rx.recv_timeout(wait),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(item) if held.len() < MOST => held.push_back(item),
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            held.pop_front();
        }
    }
}
