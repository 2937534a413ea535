//! The driver: one thread runs a mio loop around the protocol core, carrying
//! out what it asks (datagrams, answers, wake-ups). HTTP arrives from
//! tiny_http on other threads, one per request, and reaches the loop over a
//! channel and a `mio::Waker`; the loop never touches a socket of tiny_http.
//!
//! tiny_http hazards kept off the loop and away from the process:
//! - `respond()` blocks until the client sent its whole declared body: each
//!   request has a thread of its own (from a pool that grows on demand and
//!   reuses idle threads), so a slow client stalls only itself;
//! - dropping a request whose declared body was not read allocates all of it:
//!   bodies over [`MAX_BODY`] are read away in small pieces before the 413;
//!   absurd ones (over 16 MiB) are answered through `upgrade` and leaked,
//!   never dropped (counted in `/metrics`);
//! - an accept error ends tiny_http's accept thread: the server is rebuilt.

use std::collections::VecDeque;
use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token as MioToken, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use crate::core::events::Event;
use crate::core::{Config, Node, Time, Token};
use crate::fault::{Fault, Faults};
use crate::feed::{self, Feed};
use crate::http::{self, Answer, BoardRead, Call, Page, Surroundings, MAX_BODY};
use crate::timeline::Timeline;
use crate::wire::{NodeId, MAX_DATAGRAM};

const UDP: MioToken = MioToken(0);
const WAKE: MioToken = MioToken(1);
const SIGNALS: MioToken = MioToken(2);

/// Long-polls held at once; beyond this, `since` answers at once.
const MAX_WAITERS: usize = 4096;

#[derive(Clone, Debug)]
pub struct Options {
    pub id: NodeId,
    /// Every member's UDP address, this node's included.
    pub peers: Vec<(NodeId, SocketAddr)>,
    pub http: SocketAddr,
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub request_timeout: Duration,
    /// Serve the page from this folder instead of the embedded copy.
    pub www: Option<PathBuf>,
    /// `--cluster NAME`: runs on the same addresses under other names refuse
    /// each other (it is mixed into the cluster identity).
    pub cluster: Option<String>,
    /// `--allow-faults`: fault injection only when asked for at start.
    pub allow_faults: bool,
}

/// A request handed from an HTTP thread to the loop.
struct Job {
    call: Call,
    reply: SyncSender<Answer>,
}

/// Counters of the HTTP side, shared with its threads.
#[derive(Default)]
struct HttpStats {
    requests: AtomicU64,
    oversized_leaked: AtomicU64,
    accept_restarts: AtomicU64,
}

/// Identifies the membership: nodes started with different peer lists
/// refuse each other's datagrams.
pub fn cluster_id(peers: &[(NodeId, SocketAddr)]) -> u32 {
    let mut sorted: Vec<String> = peers.iter().map(|(id, a)| format!("{id}={a}")).collect();
    sorted.sort();
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in sorted.join(",").bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Runs a node until SIGINT or SIGTERM. Errors name what failed (exit 1).
pub fn run(opts: Options) -> Result<(), String> {
    let own = opts
        .peers
        .iter()
        .find(|(id, _)| *id == opts.id)
        .map(|(_, a)| *a)
        .ok_or_else(|| format!("node {} is not in the peer list", opts.id))?;
    raise_fd_limit();
    let mut udp = UdpSocket::bind(own).map_err(|e| format!("cannot bind UDP {own}: {e}"))?;
    let server =
        listen(opts.http).map_err(|e| format!("cannot listen for HTTP on {}: {e}", opts.http))?;

    let mut poll = Poll::new().map_err(|e| format!("cannot create the event loop: {e}"))?;
    poll.registry()
        .register(&mut udp, UDP, Interest::READABLE)
        .map_err(|e| format!("cannot watch the UDP socket: {e}"))?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).map_err(|e| e.to_string())?);
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)
        .map_err(|e| e.to_string())?;

    let (jobs_tx, jobs) = mpsc::channel();
    let stats = Arc::new(HttpStats::default());
    start_http(
        server,
        opts.clone(),
        jobs_tx,
        Arc::clone(&waker),
        Arc::clone(&stats),
    );

    let config = Config {
        id: opts.id,
        members: opts.peers.iter().map(|(id, _)| *id).collect(),
        heartbeat: opts.heartbeat,
        timeout: opts.timeout,
        request_timeout: opts.request_timeout,
        http_port: opts.http.port(),
        cluster: identity(cluster_id(&opts.peers), opts.cluster.as_deref()),
    };
    let clock = Instant::now();
    let core = Node::new(config.clone(), rand::random(), Time(0));
    info!(
        "node {}: UDP {own}, HTTP http://{}/ , {}, heartbeat {} ms, timeout {} ms",
        opts.id,
        opts.http,
        crate::words::count(opts.peers.len(), "member", "members"),
        opts.heartbeat.as_millis(),
        opts.timeout.as_millis()
    );
    let mut driver = Driver {
        addrs: opts.peers.iter().map(|(id, a)| (*id, *a)).collect(),
        ids: opts.peers.iter().map(|(id, a)| (*a, *id)).collect(),
        http: opts.http.to_string(),
        core,
        config,
        timeline: Timeline::new(opts.id),
        event_waiters: Vec::new(),
        faults: Faults::default(),
        allow_faults: opts.allow_faults,
        clock,
        timeout: opts.timeout,
        udp,
        jobs,
        writes: HashMap::new(),
        reads: HashMap::new(),
        next_token: 1,
        waiters: Vec::new(),
        board_cache: None,
        feed: Feed::default(),
        change_waiters: Vec::new(),
        strangers: 0,
        send_errors: 0,
        long_polls: 0,
        stale_reads: 0,
        stats,
    };
    driver.run(&mut poll, &mut signals)
}

struct Driver {
    addrs: BTreeMap<NodeId, SocketAddr>,
    ids: HashMap<SocketAddr, NodeId>,
    http: String,
    core: Node,
    /// What the core was built from: a crash (a demo fault) builds anew.
    config: Config,
    timeline: Timeline,
    /// Long-polls of `/events`: answer when an event passes `since`, or at the deadline.
    event_waiters: Vec<Waiter>,
    faults: Faults,
    allow_faults: bool,
    clock: Instant,
    /// The failure-detection timeout: the longest the loop sleeps.
    timeout: Duration,
    udp: UdpSocket,
    jobs: Receiver<Job>,
    writes: HashMap<Token, SyncSender<Answer>>,
    /// Linearizable reads waiting for the core's confirmation.
    reads: HashMap<Token, SyncSender<Answer>>,
    next_token: Token,
    /// Long-polls: answer when the board passes `since`, or at the deadline.
    waiters: Vec<Waiter>,
    board_cache: Option<(u64, Answer)>,
    /// The board's latest changes, for `GET /changes`.
    feed: Feed,
    /// Long-polls of `/changes`: answer when the board passes `since`, or at the deadline.
    change_waiters: Vec<Waiter>,
    strangers: u64,
    send_errors: u64,
    /// Long-polls that waited for a change (rather than answering at once).
    long_polls: u64,
    /// `?stale=1` reads and long-polls answered from the local copy.
    stale_reads: u64,
    stats: Arc<HttpStats>,
}

impl Driver {
    fn now(&self) -> Time {
        Time(u64::try_from(self.clock.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn run(&mut self, poll: &mut Poll, signals: &mut Signals) -> Result<(), String> {
        let mut events = Events::with_capacity(256);
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let now = self.now();
            let wake = self.core.poll_timeout();
            // Never longer than a timeout: were the clock set back, the wait
            // for a deadline would grow by the step (the core counts a step
            // back as no time passing once it is told the time).
            let mut wait = Duration::from_micros(wake.0.saturating_sub(now.0)).min(self.timeout);
            if !self.waiters.is_empty()
                || !self.event_waiters.is_empty()
                || !self.change_waiters.is_empty()
            {
                wait = wait.min(Duration::from_secs(1));
            }
            if let Some(end) = self.faults.next_end() {
                wait = wait.min(end.saturating_duration_since(Instant::now()));
            }
            if let Err(e) = poll.poll(&mut events, Some(wait)) {
                if e.kind() != ErrorKind::Interrupted {
                    return Err(format!("event loop failed: {e}"));
                }
            }
            for event in events.iter() {
                match event.token() {
                    UDP => self.receive(&mut buf),
                    WAKE => self.take_jobs(),
                    SIGNALS if signals.pending().next().is_some() => {
                        info!("node {}: stopping on signal", self.core.id());
                        return Ok(());
                    }
                    _ => {}
                }
            }
            self.end_faults();
            // Every turn, due or not: the core reads its clock here, and
            // does nothing before a deadline.
            if !self.faults.down() {
                self.core.handle_timeout(self.now());
            }
            self.carry_out();
            if let Some(by) = self.core.superseded() {
                return Err(format!(
                    "node {id}: superseded by a newer start of node {id} (node {by} says \
                     this process's boot is over); stopping",
                    id = self.core.id()
                ));
            }
        }
    }

    fn receive(&mut self, buf: &mut [u8]) {
        loop {
            match self.udp.recv_from(buf) {
                Ok((len, from)) => {
                    let Some(&id) = self.ids.get(&from) else {
                        self.strangers += 1;
                        debug!(
                            "node {}: dropped datagram from stranger {from}",
                            self.core.id()
                        );
                        continue;
                    };
                    if self.faults.drops(percent_roll) {
                        continue;
                    }
                    let now = self.now();
                    self.core.handle_datagram(now, id, &buf[..len]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // ICMP errors for earlier sends surface here: not ours to act on.
                Err(e) => debug!("node {}: UDP receive: {e}", self.core.id()),
            }
        }
    }

    fn take_jobs(&mut self) {
        while let Ok(job) = self.jobs.try_recv() {
            if self.faults.down() && !matches!(job.call, Call::Fault(Fault::Heal)) {
                // Crashed: as a dead process would, answer nothing useful.
                let _ = job.reply.try_send(Answer::error(
                    503,
                    "this node is down: crashed by a demo fault, it reboots by itself",
                ));
                continue;
            }
            match job.call {
                Call::Events(since)
                    if self.timeline.last() <= since && self.event_waiters.len() < MAX_WAITERS =>
                {
                    let deadline = Instant::now() + http::LONG_POLL;
                    self.event_waiters.push((since, deadline, job.reply));
                }
                Call::Events(since) => {
                    let _ = job
                        .reply
                        .try_send(Answer::json(200, self.timeline.answer(since)));
                }
                Call::Fault(fault) => {
                    let _ = job.reply.try_send(self.start_fault(fault));
                }
                Call::Changes(since)
                    if self.core.applied() == since && self.change_waiters.len() < MAX_WAITERS =>
                {
                    let deadline = Instant::now() + http::LONG_POLL;
                    self.change_waiters.push((since, deadline, job.reply));
                    self.long_polls += 1;
                }
                Call::Changes(since) => {
                    let answer = self.changes(since);
                    let _ = job.reply.try_send(answer);
                }
                Call::Write(op) => {
                    let token = self.next_token;
                    self.next_token += 1;
                    self.writes.insert(token, job.reply);
                    let now = self.now();
                    self.core.handle_request(now, token, op);
                }
                Call::Board(BoardRead::Linearizable) => {
                    let token = self.next_token;
                    self.next_token += 1;
                    self.reads.insert(token, job.reply);
                    let now = self.now();
                    self.core.handle_read(now, token);
                }
                Call::Board(BoardRead::Since(since))
                    if self.core.applied() <= since && self.waiters.len() < MAX_WAITERS =>
                {
                    let deadline = Instant::now() + http::LONG_POLL;
                    self.waiters.push((since, deadline, job.reply));
                    self.long_polls += 1;
                }
                Call::Board(BoardRead::Stale | BoardRead::Since(_)) => {
                    self.stale_reads += 1;
                    let _ = job.reply.try_send(self.board());
                }
                Call::Status | Call::Metrics => {
                    let _ = job.reply.try_send(self.report(job.call == Call::Status));
                }
                // Pages are answered on the HTTP thread.
                Call::Page(_) => {}
            }
        }
    }

    /// Sends what the core produced, answers what it finished.
    fn carry_out(&mut self) {
        let now = self.now();
        while let Some(t) = self.core.poll_transmit(now) {
            let Some(addr) = self.addrs.get(&t.to) else {
                continue;
            };
            if self.faults.drops(percent_roll) {
                continue;
            }
            if let Err(e) = self.udp.send_to(&t.payload, *addr) {
                // A full socket buffer or an unreachable peer: the protocol
                // retransmits what matters.
                self.send_errors += 1;
                debug!("node {}: UDP send to {addr}: {e}", self.core.id());
            }
        }
        while let Some(reply) = self.core.poll_reply() {
            if let Some(tx) = self.writes.remove(&reply.token) {
                let _ = tx.try_send(http::write_answer(&reply.result));
            }
        }
        while let Some(reply) = self.core.poll_read() {
            if let Some(tx) = self.reads.remove(&reply.token) {
                // The board now stands at or past the read index: as
                // linearizable as the answer the core confirmed.
                let answer = match reply.result {
                    Ok(_) => self.board(),
                    Err(_) => Answer::unconfirmed_read(),
                };
                let _ = tx.try_send(answer);
            }
        }
        while let Some(event) = self.core.poll_event() {
            self.timeline.record(event);
        }
        self.take_changes();
        self.answer_waiters();
        self.answer_change_waiters();
        self.answer_event_waiters();
    }

    fn answer_event_waiters(&mut self) {
        let timeline = &self.timeline;
        answer_due(&mut self.event_waiters, timeline.last(), |since| {
            Answer::json(200, timeline.answer(since))
        });
    }

    /// A fault started from `POST /fault`, recorded on the timeline.
    fn start_fault(&mut self, fault: Fault) -> Answer {
        if !self.allow_faults {
            return Answer::error(
                403,
                "faults are off on this node: start it with --allow-faults \
                 (blackboard cluster --demo does)",
            );
        }
        let fault = match fault {
            Fault::Crash { seconds } => {
                // What a dead process owed its clients is never answered.
                for (_, reply) in self.writes.drain().chain(self.reads.drain()) {
                    let _ = reply.try_send(Answer::unavailable());
                }
                // Down long enough for the others to notice and elect: back
                // sooner, a crashed leader would find itself still followed
                // and simply lead again, and the demo would show nothing.
                let noticed = (self.config.timeout * 2).as_secs_f64().ceil() as u64;
                Fault::Crash {
                    seconds: seconds.max(noticed),
                }
            }
            other => other,
        };
        self.faults.start(fault, Instant::now());
        let text = fault.describe();
        warn!("node {}: {text}", self.core.id());
        self.record_fault(text.clone());
        let started = crate::answers::FaultStarted { fault: text };
        Answer::json(202, crate::answers::to_json(&started))
    }

    fn end_faults(&mut self) {
        let ended = self.faults.expire(Instant::now());
        if ended.reboot {
            self.core = Node::new(self.config.clone(), rand::random(), self.now());
            self.board_cache = None;
            self.feed.restart(0);
        }
        for note in ended.notes {
            info!("node {}: {note}", self.core.id());
            self.record_fault(note.to_owned());
        }
    }

    fn record_fault(&mut self, text: String) {
        self.timeline.record(Event {
            kind: crate::core::events::Kind::Fault,
            text,
            from: None,
            to: None,
        });
    }

    fn answer_waiters(&mut self) {
        let mut waiters = std::mem::take(&mut self.waiters);
        let applied = self.core.applied();
        // The board is built once at most (then cached): only if one is due.
        self.stale_reads += answer_due(&mut waiters, applied, |_| self.board());
        self.waiters = waiters;
    }

    /// Moves the core's changes into the feed. Before every answer too: the
    /// core may have applied entries since the last turn's end (a datagram
    /// read earlier in this turn), and an answer up to `applied` must hold them.
    fn take_changes(&mut self) {
        while let Some(change) = self.core.poll_change() {
            self.feed.take(change);
        }
    }

    fn answer_change_waiters(&mut self) {
        let mut waiters = std::mem::take(&mut self.change_waiters);
        answer_due(&mut waiters, self.core.applied(), |since| {
            self.changes(since)
        });
        self.change_waiters = waiters;
    }

    /// The answer to `GET /changes?since=S`: the changes after S, or the
    /// whole board marked as a reset when S is not a point the feed knows.
    fn changes(&mut self, since: u64) -> Answer {
        self.take_changes();
        match self.feed.answer(since, self.core.applied()) {
            feed::Answer::Changes(body) => Answer::json(200, body),
            feed::Answer::Reset => {
                let board = self.board();
                Answer {
                    body: feed::reset_body(&board.body).into(),
                    ..board
                }
            }
        }
    }

    fn board(&mut self) -> Answer {
        let applied = self.core.applied();
        match &self.board_cache {
            Some((seq, answer)) if *seq == applied => answer.clone(),
            _ => {
                let body = http::board_json(applied, self.core.board());
                let answer = Answer::json(200, body);
                self.board_cache = Some((applied, answer.clone()));
                answer
            }
        }
    }

    fn report(&self, as_status: bool) -> Answer {
        let status = self.core.status(self.now());
        let reads = self.core.read_counters();
        let addrs: Vec<(NodeId, String)> = self
            .addrs
            .iter()
            .map(|(id, a)| (*id, a.to_string()))
            .collect();
        let extra = [
            ("stranger_datagrams", self.strangers),
            ("udp_send_errors", self.send_errors),
            ("http_long_polls", self.long_polls),
            ("feed_changes", self.feed.len() as u64),
            ("feed_bytes", self.feed.bytes() as u64),
            ("reads_linearizable", reads.confirmed),
            ("reads_stale", self.stale_reads),
            ("reads_refused", reads.refused),
            ("read_rounds", reads.rounds),
            ("read_asks", reads.asks),
            ("http_requests", self.stats.requests.load(Ordering::Relaxed)),
            (
                "http_oversized_leaked",
                self.stats.oversized_leaked.load(Ordering::Relaxed),
            ),
            (
                "http_accept_restarts",
                self.stats.accept_restarts.load(Ordering::Relaxed),
            ),
        ];
        let around = Surroundings {
            addrs: &addrs,
            http: &self.http,
            version: env!("CARGO_PKG_VERSION"),
            extra: &extra,
            pace: (self.config.heartbeat, self.config.timeout),
            faults_allowed: self.allow_faults,
            fault: self.faults.describe(),
        };
        if as_status {
            Answer::json(
                200,
                http::status_json(&status, self.core.counters(), &around),
            )
        } else {
            Answer {
                content_type: "text/plain; version=0.0.4",
                ..Answer::json(
                    200,
                    http::metrics_text(&status, self.core.counters(), &around),
                )
            }
        }
    }
}

// ----- the HTTP side ------------------------------------------------------

fn start_http(
    server: tiny_http::Server,
    opts: Options,
    jobs: Sender<Job>,
    waker: Arc<Waker>,
    stats: Arc<HttpStats>,
) {
    let spawned = thread::Builder::new()
        .name("http-accept".into())
        .spawn(move || accept_loop(server, opts, jobs, waker, stats));
    if let Err(e) = spawned {
        error!("cannot start the HTTP thread: {e}");
    }
}

fn accept_loop(
    mut server: tiny_http::Server,
    opts: Options,
    jobs: Sender<Job>,
    waker: Arc<Waker>,
    stats: Arc<HttpStats>,
) {
    let opts = Arc::new(opts);
    let workers = Workers::default();
    let mut failures = 0u32;
    let mut watchdog = Watchdog::new(opts.http);
    // Servers whose accept thread ended: their open connections still
    // deliver requests, which must be answered, until they go quiet.
    let mut retired: Vec<(tiny_http::Server, Instant)> = Vec::new();
    let serve_one = |request: tiny_http::Request| {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let (jobs, waker, stats, opts) = (
            jobs.clone(),
            Arc::clone(&waker),
            Arc::clone(&stats),
            Arc::clone(&opts),
        );
        workers.run(Box::new(move || {
            serve(request, &opts, &jobs, &waker, &stats)
        }));
    };
    loop {
        for (old, last) in &mut retired {
            while let Ok(Some(request)) = old.try_recv() {
                *last = Instant::now();
                serve_one(request);
            }
        }
        retired.retain(|(_, last)| last.elapsed() < HTTP_IDLE + HTTP_SEND);
        // Short waits while a retired server may still deliver requests.
        let wait = match retired.is_empty() {
            true => Duration::from_millis(500),
            false => Duration::from_millis(5),
        };
        let failed = match server.recv_timeout(wait) {
            Ok(Some(request)) => {
                failures = 0;
                watchdog.heard();
                serve_one(request);
                watchdog.check()
            }
            Ok(None) => watchdog.check(),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = failed {
            // tiny_http's accept thread has ended (out of file descriptors,
            // say): build a new server on the same address.
            warn!("HTTP accept failed ({why}); restarting the HTTP server");
            stats.accept_restarts.fetch_add(1, Ordering::Relaxed);
            // Back off while the cause lasts (descriptors still in use).
            failures = (failures + 1).min(6);
            thread::sleep(Duration::from_millis(25 << failures));
            let old = std::mem::replace(&mut server, rebind(opts.http));
            retired.push((old, Instant::now()));
            watchdog.heard();
        }
    }
}

/// Notices a tiny_http accept thread that died without a word (it unwraps
/// a failed `try_clone` when out of file descriptors): when the server has
/// been quiet a while, it sends itself a request; a refused connection, or a
/// request that never arrives, means no one is accepting any more. It also
/// connects at least every [`Watchdog::EVERY`], busy or not: the listener's
/// receive timeout (which accepted sockets inherit, see [`listen`]) also
/// bounds `accept`, and tiny_http ends its accept thread on the first
/// timeout. Clients that keep their connections alive would otherwise leave
/// `accept` waiting that long and stop the server taking new ones.
struct Watchdog {
    addr: SocketAddr,
    last_heard: Instant,
    last_probe: Instant,
    probed_at: Option<Instant>,
}

impl Watchdog {
    const QUIET: Duration = Duration::from_secs(2);
    const PATIENCE: Duration = Duration::from_secs(3);
    /// Well within the listener's timeout ([`HTTP_IDLE`]).
    const EVERY: Duration = Duration::from_secs(10);

    fn new(addr: SocketAddr) -> Watchdog {
        Watchdog {
            addr,
            last_heard: Instant::now(),
            last_probe: Instant::now(),
            probed_at: None,
        }
    }

    fn heard(&mut self) {
        self.last_heard = Instant::now();
        self.probed_at = None;
    }

    /// `Some(reason)` when the server must be rebuilt.
    fn check(&mut self) -> Option<String> {
        match self.probed_at {
            Some(at) if at.elapsed() > Self::PATIENCE => {
                Some("a request to itself never arrived".into())
            }
            None if self.last_heard.elapsed() > Self::QUIET
                || self.last_probe.elapsed() > Self::EVERY =>
            {
                let mut target = self.addr;
                if target.ip().is_unspecified() {
                    target.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                self.last_probe = Instant::now();
                match std::net::TcpStream::connect_timeout(&target, Duration::from_secs(1)) {
                    Ok(mut probe) => {
                        let _ = probe.write_all(b"GET /status HTTP/1.0\r\n\r\n");
                        self.probed_at = Some(Instant::now());
                        None
                    }
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        Some("nothing listens on the HTTP port any more".into())
                    }
                    // Out of descriptors ourselves, or busy: try again later.
                    Err(_) => {
                        self.last_heard = Instant::now();
                        None
                    }
                }
            }
            _ => None,
        }
    }
}

/// Threads for HTTP requests: an idle one takes the next request, a new one
/// starts when none is idle (up to a bound), and idle ones end after a while.
/// Every request still has a thread of its own while it runs.
#[derive(Clone, Default)]
struct Workers {
    shared: Arc<(Mutex<Queue>, Condvar)>,
}

type Task = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    tasks: VecDeque<Task>,
    idle: usize,
    threads: usize,
}

/// Requests served at once; beyond this they queue.
const MAX_WORKERS: usize = 1024;
const WORKER_IDLE: Duration = Duration::from_secs(10);

impl Workers {
    fn run(&self, task: Task) {
        let (lock, ready) = &*self.shared;
        let Ok(mut q) = lock.lock() else { return };
        q.tasks.push_back(task);
        if q.idle > 0 {
            ready.notify_one();
            return;
        }
        if q.threads < MAX_WORKERS {
            q.threads += 1;
            let me = self.clone();
            let spawned = thread::Builder::new()
                .name("http".into())
                .stack_size(256 * 1024)
                .spawn(move || me.work());
            if let Err(e) = spawned {
                q.threads -= 1;
                warn!("cannot start an HTTP thread ({e}); the request waits for a free one");
            }
        } else {
            warn!("{MAX_WORKERS} HTTP requests in progress; new ones wait");
        }
    }

    fn work(&self) {
        let (lock, ready) = &*self.shared;
        loop {
            let task = {
                let Ok(mut q) = lock.lock() else { return };
                loop {
                    if let Some(task) = q.tasks.pop_front() {
                        break task;
                    }
                    q.idle += 1;
                    let (guard, waited) = match ready.wait_timeout(q, WORKER_IDLE) {
                        Ok(r) => r,
                        Err(_) => return,
                    };
                    q = guard;
                    q.idle -= 1;
                    if waited.timed_out() && q.tasks.is_empty() {
                        q.threads -= 1;
                        return;
                    }
                }
            };
            task();
        }
    }
}

/// How long a connection may stay silent (between requests, or in the middle
/// of one) before tiny_http answers 408 and closes it: idle and slow clients
/// cannot pile up for ever.
const HTTP_IDLE: Duration = Duration::from_secs(30);
/// How long a response may wait for a client that does not read.
const HTTP_SEND: Duration = Duration::from_secs(10);

/// An HTTP server whose connections have no Nagle delay and have timeouts:
/// tiny_http sets neither, but Linux hands the listener's TCP_NODELAY,
/// SO_RCVTIMEO and SO_SNDTIMEO down to every accepted socket.
fn listen(addr: SocketAddr) -> std::io::Result<tiny_http::Server> {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind(addr)?;
    let fd = listener.as_raw_fd();
    let on: libc::c_int = 1;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &on);
    for (option, limit) in [
        (libc::SO_RCVTIMEO, HTTP_IDLE),
        (libc::SO_SNDTIMEO, HTTP_SEND),
    ] {
        let tv = libc::timeval {
            tv_sec: limit.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        set_option(fd, libc::SOL_SOCKET, option, &tv);
    }
    tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)
}

/// Lets the node hold as many connections as the system allows: each HTTP
/// connection costs a file descriptor, and the default soft limit is low.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid resource and a live struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
                debug!(
                    "cannot raise the file descriptor limit from {}",
                    limit.rlim_cur
                );
            }
        }
    }
}

fn set_option<T>(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: &T) {
    // SAFETY: `fd` is an open socket and `value` points to a live T whose
    // size is passed along, as setsockopt requires.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        warn!(
            "cannot set socket option {name} on the HTTP listener: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn rebind(addr: SocketAddr) -> tiny_http::Server {
    let mut pause = Duration::from_millis(50);
    loop {
        thread::sleep(pause);
        match listen(addr) {
            Ok(server) => return server,
            Err(e) => {
                warn!("cannot listen for HTTP on {addr} again yet: {e}");
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

fn serve(
    mut request: tiny_http::Request,
    opts: &Options,
    jobs: &Sender<Job>,
    waker: &Waker,
    stats: &HttpStats,
) {
    // tiny_http decodes a body under any Transfer-Encoding as chunked alone,
    // so one in another coding (gzip, or chunked over gzip) would reach the
    // routes still encoded: refused unread, with the 501 a server owes a
    // coding it does not implement (RFC 9112 section 6.1).
    let mut codings = request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Transfer-Encoding"))
        .map(|h| h.value.as_str().trim());
    let coding_ok = match (codings.next(), codings.next()) {
        (None, _) => true,
        (Some(only), None) => only.eq_ignore_ascii_case("chunked"),
        // Two headers make one list of codings: never chunked alone.
        (Some(_), Some(_)) => false,
    };
    if !coding_ok {
        let why = "unsupported Transfer-Encoding: send the body with Content-Length, or with Transfer-Encoding: chunked alone";
        respond(request, Answer::error(501, why), opts.id);
        return;
    }
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        refuse_oversized(request, stats, opts.id);
        return;
    }
    let mut body = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body);
    // A read error is the chunked decoder's (patches/chunked_transfer: the
    // stream ended inside the body, or bad framing) or the socket's; a short
    // body is a connection closed before its Content-Length, which tiny_http
    // reports as a clean end. Either way the body is truncated: never routed.
    let truncated = read.is_err() || request.body_length().is_some_and(|n| body.len() < n);
    let answer = if truncated {
        Answer::error(
            400,
            "the request body ended early or its chunked framing is bad",
        )
    } else if body.len() > MAX_BODY {
        Answer::too_large_body()
    } else {
        let method = request.method().as_str().to_owned();
        let content_type = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Content-Type"))
            .map(|h| h.value.as_str());
        match http::route(&method, request.url(), content_type, &body) {
            Err(answer) => answer,
            Ok(Call::Page(page)) => page_answer(page, opts),
            Ok(call) => ask(call, opts, jobs, waker),
        }
    };
    let answer = Answer {
        allow_origin: member_origin(&request, opts),
        ..answer
    };
    respond(request, answer, opts.id);
}

/// The page of one member reads the others' `/events` and `/status` (the
/// demo's cluster-wide timeline): an `Origin` on a member's host may, and
/// nothing else, nor any other route.
fn member_origin(request: &tiny_http::Request, opts: &Options) -> Option<String> {
    let path = request.url().split('?').next().unwrap_or("");
    if request.method() != &tiny_http::Method::Get || !matches!(path, "/events" | "/status") {
        return None;
    }
    let origin = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Origin"))
        .map(|h| h.value.as_str())?;
    let authority = origin.strip_prefix("http://")?;
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    let ip: std::net::IpAddr = host.trim_matches(['[', ']']).parse().ok()?;
    opts.peers
        .iter()
        .any(|(_, addr)| addr.ip() == ip)
        .then(|| origin.to_owned())
}

/// A uniform draw in 0..100, for the demo's datagram loss.
fn percent_roll() -> u8 {
    use rand::Rng;
    rand::thread_rng().gen_range(0..100)
}

/// A long-poll: answer once what it waits on passes `since`, or at the deadline.
type Waiter = (u64, Instant, SyncSender<Answer>);

/// Answers the waiters that are due (`last` past their `since`, or their
/// deadline reached) with `answer(since)`; returns how many it answered.
fn answer_due(waiters: &mut Vec<Waiter>, last: u64, mut answer: impl FnMut(u64) -> Answer) -> u64 {
    let now = Instant::now();
    let mut answered = 0;
    waiters.retain(|(since, deadline, reply)| {
        let due = last > *since || now >= *deadline;
        if due {
            let _ = reply.try_send(answer(*since));
            answered += 1;
        }
        !due
    });
    answered
}

/// Hands a call to the event loop and waits for its answer.
fn ask(call: Call, opts: &Options, jobs: &Sender<Job>, waker: &Waker) -> Answer {
    let patience = match call {
        Call::Write(_) | Call::Board(BoardRead::Linearizable) => {
            opts.request_timeout + Duration::from_secs(2)
        }
        Call::Board(BoardRead::Since(_)) | Call::Events(_) | Call::Changes(_) => {
            http::LONG_POLL + Duration::from_secs(5)
        }
        _ => Duration::from_secs(5),
    };
    let (reply, answer) = mpsc::sync_channel(1);
    if jobs.send(Job { call, reply }).is_err() || waker.wake().is_err() {
        return Answer::unavailable();
    }
    answer
        .recv_timeout(patience)
        .unwrap_or_else(|_| Answer::unavailable())
}

fn page_answer(page: Page, opts: &Options) -> Answer {
    let body: Arc<[u8]> = match &opts.www {
        Some(dir) => match std::fs::read(dir.join(page.file_name())) {
            Ok(bytes) => bytes.into(),
            Err(e) => return Answer::error(404, &format!("cannot read {}: {e}", page.file_name())),
        },
        None => page.embedded().into(),
    };
    Answer {
        content_type: page.content_type(),
        body,
        ..Answer::json(200, String::new())
    }
}

/// `node`: the answering node, named in `X-Blackboard-Node` (the board body
/// is the same bytes everywhere, so it cannot say).
fn response(answer: Answer, node: NodeId) -> tiny_http::Response<std::io::Cursor<Arc<[u8]>>> {
    let len = answer.body.len();
    let mut headers = vec![header("Content-Type", answer.content_type)];
    headers.push(header("Cache-Control", "no-store"));
    headers.push(header("X-Blackboard-Node", &node.to_string()));
    if let Some(seconds) = answer.retry_after {
        headers.push(header("Retry-After", &seconds.to_string()));
    }
    if let Some(allow) = answer.allow {
        headers.push(header("Allow", allow));
    }
    if let Some(origin) = &answer.allow_origin {
        headers.push(header("Access-Control-Allow-Origin", origin));
        headers.push(header("Vary", "Origin"));
    }
    // Every body's length is known: send it, never chunks (tiny_http chunks
    // bodies over 32 KiB by default, which simple clients cannot read).
    tiny_http::Response::new(
        tiny_http::StatusCode(answer.status),
        headers.into_iter().flatten().collect(),
        std::io::Cursor::new(answer.body),
        Some(len),
        None,
    )
    .with_chunked_threshold(usize::MAX)
}

fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(request: tiny_http::Request, answer: Answer, node: NodeId) {
    if !closes_after(&request) {
        if let Err(e) = request.respond(response(answer, node)) {
            debug!("HTTP response not delivered: {e}");
        }
        return;
    }
    // The same answer tiny_http's `respond` writes, then the client closes
    // first (see crate::linger).
    let version = request.http_version().clone();
    let headers = request.headers().to_vec();
    let head_only = request.method() == &tiny_http::Method::Head;
    let mut writer = request.into_writer();
    let written = response(answer, node)
        .raw_print(&mut writer, version, &headers, head_only, None)
        .and_then(|()| writer.flush());
    if let Err(e) = written {
        debug!("HTTP response not delivered: {e}");
    }
    crate::linger::close_later(writer);
}

/// Whether the connection ends with this answer (as tiny_http decides it).
fn closes_after(request: &tiny_http::Request) -> bool {
    let connection = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Connection"))
        .map(|h| h.value.as_str().to_ascii_lowercase());
    let old = request.http_version() == &tiny_http::HTTPVersion(1, 0);
    match connection {
        Some(v) if v.contains("close") || v.contains("upgrade") => true,
        Some(v) => old && !v.contains("keep-alive"),
        None => old,
    }
}

/// Declared bodies up to this size are read and thrown away before the 413;
/// larger ones are never read (see [`refuse_oversized`]).
const DRAIN_LIMIT: usize = 16 << 20;

/// Answers 413 to a request whose declared body is over [`MAX_BODY`].
///
/// tiny_http's body reader, when dropped, allocates one buffer of all that
/// is still unread (and it drops itself inside a read that meets the end of
/// the stream). Up to [`DRAIN_LIMIT`] that buffer is harmless: the body is
/// read away in small pieces and the 413 goes out as any answer does, so a
/// client such as curl gets its JSON error and the connection goes on or
/// closes as usual. Beyond it (a declared 10^15 bytes, say) a drop could
/// abort the process, so the connection is leaked instead, and counted.
fn refuse_oversized(mut request: tiny_http::Request, stats: &HttpStats, node: NodeId) {
    let declared = request.body_length().unwrap_or(usize::MAX);
    let from = request.remote_addr().copied();
    let answer = Answer::too_large_body();
    if declared <= DRAIN_LIMIT {
        let mut scratch = [0u8; 16 * 1024];
        let body = request.as_reader();
        // Ends at the declared length, the client's close, or the socket's
        // read timeout (HTTP_IDLE).
        while matches!(body.read(&mut scratch), Ok(n) if n > 0) {}
        debug!("refused an HTTP body of {declared} bytes from {from:?}");
        respond(request, answer, node);
        return;
    }
    let n = stats.oversized_leaked.fetch_add(1, Ordering::Relaxed) + 1;
    warn!(
        "refused an HTTP body of {declared} bytes from {from:?} unread \
         ({n} such connections kept open so far)"
    );
    let body = answer.body.clone();
    let mut stream = request.upgrade("close", response(answer, node));
    // tiny_http sends an upgrade's headers only, without a length: the error
    // follows here, and would end where the connection does.
    if let Err(e) = stream.write_all(&body).and_then(|()| stream.flush()) {
        debug!("could not send the 413 body to {from:?}: {e}");
    }
    std::mem::forget(stream);
}

/// The cluster identity of a node: the hash of its membership, with its
/// cluster name mixed in when it has one, so that two launches on the same
/// addresses refuse each other's datagrams. Without a name it is the
/// membership's hash unchanged, which nodes started by hand rely on.
pub fn identity(membership: u32, name: Option<&str>) -> u32 {
    let Some(name) = name else {
        return membership;
    };
    // FNV-1a, continued from the membership's hash: stable across builds.
    let mut hash = membership;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_changes_the_identity_and_none_keeps_it() {
        let membership = 0x1234_5678;
        assert_eq!(identity(membership, None), membership);
        let a = identity(membership, Some("run-a"));
        let b = identity(membership, Some("run-b"));
        assert_ne!(a, membership);
        assert_ne!(a, b);
        assert_eq!(a, identity(membership, Some("run-a")), "stable");
        assert_ne!(a, identity(membership + 1, Some("run-a")));
    }

    fn quiet(addr: SocketAddr) -> Watchdog {
        Watchdog {
            addr,
            last_heard: Instant::now() - Watchdog::QUIET * 2,
            last_probe: Instant::now(),
            probed_at: None,
        }
    }

    #[test]
    fn watchdog_notices_that_nothing_listens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert!(quiet(addr).check().is_some());
    }

    #[test]
    fn watchdog_notices_a_listener_nobody_serves() {
        // Connections queue in the backlog but nobody accepts them: like a
        // tiny_http whose accept thread died with its listener still open.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut dog = quiet(listener.local_addr().unwrap());
        assert_eq!(dog.check(), None, "first it asks");
        assert!(dog.probed_at.is_some());
        dog.probed_at = Some(Instant::now() - Watchdog::PATIENCE * 2);
        assert!(dog.check().is_some(), "then it gives up on the server");
        dog.heard();
        assert_eq!(dog.check(), None, "a request heard resets it");
    }
}
