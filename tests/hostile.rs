//! The hostile-input suite: what a typo, a port scanner or a malicious fellow
//! student can throw at a node, and that every node survives with its board
//! intact. `cargo test --test hostile -- --nocapture` prints what was tried.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blackboard::answers::{Board, Entry, Refusal, Status};
use blackboard::wire::{self, Command as Cmd, Envelope, Epoch, LogPos, Message};
use support::{bin, wait_until, Ask, Client, TestCluster};

/// A child process that dies with the test, even when an assertion fails.
struct KillOnDrop(std::process::Child);

impl KillOnDrop {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tried(what: &str) {
    println!("tried: {what}");
}

/// Every node answers and shows the same board as before.
fn intact(cluster: &TestCluster, before: &Board) {
    for p in cluster.up() {
        let board = p.board().expect("node answers");
        assert_eq!(board.entries, before.entries, "node {} board changed", p.id);
    }
    println!("  -> every node answered with its board intact");
}

#[test]
fn idle_and_slow_connections_do_not_stall_the_node() {
    let cluster = TestCluster::start("hostile-conns", 3, 22100);
    cluster.wait_leader(Duration::from_secs(10));
    let node = cluster.node(1);
    assert_eq!(node.add("before").0, 201);
    assert!(node.board().is_some());

    // A node that waited on any one connection would hang here: the idle
    // ones never send, and the slow one is incomplete until the loop below
    // ends. The client's own timeout turns such a hang into a failure, so no
    // wall-clock bound is needed (one would only measure the machine's load).
    tried("300 idle TCP connections held open");
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(node.http).ok())
        .collect();
    assert!(idle.len() >= 250, "only {} connections opened", idle.len());
    let started = Instant::now();
    assert_eq!(node.add("during idle").0, 201);
    println!("  -> a write answered in {:?} past them", started.elapsed());

    tried("a client sending its request one byte every 100 ms");
    let mut slow = TcpStream::connect(node.http).unwrap();
    let request = b"POST /board HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nentry=slowx";
    let mut fast_answers = 0;
    for chunk in request.chunks(4) {
        slow.write_all(chunk).unwrap();
        // The slow request is still incomplete: this answer cannot wait for it.
        assert_eq!(cluster.node(1).add("while slow").0, 201);
        fast_answers += 1;
        std::thread::sleep(Duration::from_millis(100)); // the slow client's pace
    }
    let mut reply = [0u8; 12];
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"HTTP/1.1 201");
    println!("  -> {fast_answers} other writes answered meanwhile, and the slow one too");
    drop(idle);

    tried("three pipelined requests in one segment");
    let mut pipe = TcpStream::connect(node.http).unwrap();
    pipe.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\nPOST /board HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nentry=pipeGET /board HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut all = String::new();
    pipe.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    pipe.read_to_string(&mut all).unwrap();
    let statuses: Vec<&str> = all
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &all[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "201", "200"], "{all}");
    println!("  -> answered in order: {statuses:?}");

    // Only its entries count (`intact` compares nothing else).
    let after = node.board().unwrap();
    let texts = after.texts();
    assert!(texts.contains(&"before") && texts.contains(&"slowx") && texts.contains(&"pipe"));
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    intact(&cluster, &after);
}

/// One `GET /status` on a kept-alive connection: the answer's status, or
/// none when no whole answer came.
fn ask_on(stream: &mut TcpStream) -> Option<u16> {
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).ok()?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    head.get(9..12)?.parse().ok()
}

#[test]
fn a_connection_kept_alive_past_the_listeners_timeout_is_still_served() {
    tried("one keep-alive connection asking every 100 ms for 34 s, and no other client");
    // The listener's receive timeout (30 s, inherited by accepted sockets)
    // also bounds accept: without a connection now and then, tiny_http's
    // accept thread ended after 30 s and the requests on the open
    // connection went unanswered.
    let cluster = TestCluster::start("hostile-keepalive", 1, 22700);
    cluster.wait_leader(Duration::from_secs(10));
    let node = cluster.node(1);
    let mut kept = TcpStream::connect(node.http).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(34) {
        assert_eq!(
            ask_on(&mut kept),
            Some(200),
            "request {answered} on the kept connection, {:?} in",
            started.elapsed()
        );
        answered += 1;
        std::thread::sleep(Duration::from_millis(100)); // the client's pace
    }
    let status = node.status().expect("a new connection is served");
    assert_eq!(
        status.counters.driver.get("http_accept_restarts"),
        Some(&0),
        "the server had to be rebuilt"
    );
    println!("  -> {answered} answers on one connection, no restart, new connections served");
}

#[test]
fn running_out_of_file_descriptors_is_survived() {
    tried("a node limited to 40 file descriptors, then 80 connections at once");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-emfile");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = std::fs::File::create(dir.join("node.log")).unwrap();
    let script = format!(
        "ulimit -n 40 && exec {} node --id 1 --peers 1=127.0.0.1:22301 --http 127.0.0.1:22302",
        bin()
    );
    let mut node = KillOnDrop(
        Command::new("sh")
            .args(["-c", &script])
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http: SocketAddr = "127.0.0.1:22302".parse().unwrap();
    let answers = || {
        Client::new(http)
            .with_timeout(Duration::from_secs(1))
            .get("/status")
            .is_ok_and(|r| r.status == 200)
    };
    assert!(wait_until(Duration::from_secs(10), answers));
    // Open before the node runs out: its requests must still be answered
    // by the server that is rebuilt beside it.
    let mut kept = TcpStream::connect(http).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ask_on(&mut kept), Some(200));
    let flood: Vec<TcpStream> = (0..80)
        .filter_map(|_| TcpStream::connect(http).ok())
        .collect();
    println!("  -> {} connections opened", flood.len());
    let accept_failed = || {
        std::fs::read_to_string(dir.join("node.log"))
            .is_ok_and(|log| log.contains("restarting the HTTP server"))
    };
    // Hold the flood until the node has run out and said so.
    assert!(
        wait_until(Duration::from_secs(10), accept_failed),
        "no accept failure seen with {} connections open",
        flood.len()
    );
    drop(flood);
    assert!(
        wait_until(Duration::from_secs(10), answers),
        "the node did not serve HTTP again after the connections closed"
    );
    assert_eq!(
        ask_on(&mut kept),
        Some(200),
        "a connection opened before the restart went unanswered"
    );
    let restarts: Status = Client::new(http).get("/status").unwrap().json().unwrap();
    node.stop();
    println!(
        "  -> accept failed, the server was rebuilt, and it serves again ({} restarts)",
        restarts.counters.get("http_accept_restarts")
    );
}

#[test]
fn forged_and_replayed_datagrams_are_refused() {
    let mut cluster = TestCluster::start("hostile-udp", 3, 22400);
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let node = cluster.node(leader);
    // The board this test expects, from what it posts and the ids the posts
    // answer, never from a node's own board.
    let mut posted: Vec<(u64, &str)> = Vec::new();
    let mut post = |node: &support::Proc, text: &'static str| {
        let id = node.written(text).id.expect("POST answer has id");
        posted.push((id, text));
    };
    for t in ["one", "two"] {
        post(node, t);
    }
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    let status = node.status().unwrap();
    let cluster_id = blackboard::node::cluster_id(
        &(1..=3)
            .map(|i| (i, format!("127.0.0.1:{}", 22400 + i).parse().unwrap()))
            .collect::<Vec<_>>(),
    );
    // Impersonate a member: take its address (it is killed first).
    let victim = if leader == 3 { 2 } else { 3 };
    cluster.kill(victim);
    let node = cluster.node(leader);
    let sock = UdpSocket::bind(format!("127.0.0.1:{}", 22400 + victim)).unwrap();
    let target = format!("127.0.0.1:{}", 22400 + leader);
    let envelope = |message: Message| Envelope {
        cluster: cluster_id,
        from: victim,
        boot: 7,
        attribute: 1,
        message,
    };

    tried("10000 random datagrams from a member's address");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..10_000 {
        let mut d = vec![b'B', b'B', wire::WIRE_VERSION];
        for _ in 0..(x % 200) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d.push(x as u8);
        }
        let _ = sock.send_to(&d, &target);
    }

    // Let the flood drain (the kernel drops what overflows the socket buffer)
    // before the datagrams that matter.
    let malformed = || node.status().map_or(0, |s| s.counters.dropped("malformed"));
    let mut seen = malformed();
    while wait_until(Duration::from_millis(300), || malformed() > seen) {
        seen = malformed();
    }

    tried("a replayed Append of an old epoch, a forged Append claiming to lead, a Prepare claiming another's epoch");
    let old = Epoch {
        number: 0,
        leader: victim,
        boot: 7,
    };
    let forged = [
        Message::Append {
            epoch: old,
            prev: LogPos::default(),
            commit: 99,
            commands: vec![Cmd::Noop],
        },
        Message::Append {
            epoch: Epoch {
                number: status.epoch,
                leader: victim,
                boot: 7,
            },
            prev: LogPos::default(),
            commit: 99,
            commands: vec![Cmd::Noop],
        },
        Message::Prepare {
            epoch: Epoch {
                number: 1000,
                leader,
                boot: 1,
            },
            trial: false,
        },
        Message::Heartbeat {
            epoch: old,
            last: LogPos::default(),
            commit: 0,
            alive: 0,
            recovering: Vec::new(),
            fresh: vec![wire::Incarnation { id: 2, boot: 1 }],
            round: 1,
        },
    ];
    for m in forged {
        sock.send_to(&wire::encode(&envelope(m)).unwrap(), &target)
            .unwrap();
    }

    tried("a datagram of another cluster and of a future wire version");
    let mut other = envelope(Message::Probe { http: 0 });
    other.cluster ^= 1;
    sock.send_to(&wire::encode(&other).unwrap(), &target)
        .unwrap();
    let future = [b'B', b'B', wire::WIRE_VERSION + 1, b'x'];
    sock.send_to(&future, &target).unwrap();

    let ok = wait_until(Duration::from_secs(10), || {
        node.status().is_some_and(|s| {
            let d = &s.counters;
            d.dropped("malformed") > 1000 && d.dropped("cluster") >= 1 && d.dropped("version") >= 1
        })
    });
    assert!(
        ok,
        "drops not counted: {:?}",
        node.status().map(|s| s.counters.dropped)
    );
    println!(
        "  -> dropped and counted: {:?}",
        node.status().unwrap().counters.dropped
    );
    assert_eq!(
        cluster.agreed_leader(),
        Some(leader),
        "the leader was unseated"
    );
    post(node, "still working");
    // Only its entries count (`intact` compares nothing else).
    let expected = Board {
        seq: 0,
        entries: posted
            .iter()
            .map(|&(id, text)| Entry {
                id,
                text: text.into(),
            })
            .collect(),
    };
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    intact(&cluster, &expected);
}

/// Sends `request` on a connection of its own, shuts the connection's write
/// half when `then_close`, and reads the first answer: its status and body
/// (status 0 if the node closed without answering).
fn raw_post(to: SocketAddr, request: &[u8], then_close: bool) -> (u16, String) {
    let mut stream = TcpStream::connect(to).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The node may answer (and stop reading) before a long request is all
    // sent: what matters is its answer, not whether every byte went out.
    let _ = stream.write_all(request);
    if then_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                let body = String::from_utf8_lossy(&got[end + 4..end + 4 + length]);
                return (status, body.into_owned());
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return (0, String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn chunked_post(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!("POST /board HTTP/1.1\r\nHost: x\r\n{coding}\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    request
}

#[test]
fn truncated_or_misframed_bodies_never_reach_the_board() {
    let cluster = TestCluster::start("hostile-bodies", 3, 22600);
    cluster.wait_leader(Duration::from_secs(10));
    let node = cluster.node(1);
    assert_eq!(node.add("before").0, 201);
    let chunked = "Transfer-Encoding: chunked";

    tried("a valid chunked post");
    let valid = chunked_post(chunked, b"5\r\nentry\r\n4\r\n=ok!\r\n0\r\n\r\n");
    let (status, body) = raw_post(node.http, &valid, false);
    assert_eq!(status, 201, "{body}");
    // Header case, whitespace, chunk extensions and trailers are all fine.
    let valid = chunked_post(
        "Transfer-Encoding:  ChUnKeD ",
        b"5;x=y\r\nentry\r\n6\r\n=again\r\n0\r\nX-Trailer: 1\r\n\r\n",
    );
    let (status, body) = raw_post(node.http, &valid, false);
    assert_eq!(status, 201, "{body}");
    assert!(wait_until(Duration::from_secs(10), || {
        let texts = node.texts();
        texts.contains(&"ok!".to_owned()) && texts.contains(&"again".to_owned())
    }));
    println!("  -> 201, and the entries appear");
    let before = node.board().unwrap();

    // A chunk that claims 64 KiB and a byte, and holds them: a form the
    // routes would take, but for its length.
    let mut huge = b"10001\r\nentry=big&pad=".to_vec();
    huge.resize(huge.len() + 0x10001 - 14, b'x');
    huge.extend_from_slice(b"\r\n0\r\n\r\n");
    // A form the routes would take, cut short. The pad takes it past 1024
    // bytes: tiny_http reads smaller bodies whole before the request is
    // served and drops the connection when one ends early, so a cut there
    // never reaches serve() at all.
    let form = format!("entry=short-cl&pad={}", "x".repeat(1500));
    let mut short_cl = format!(
        "POST /board HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        form.len() + 100
    )
    .into_bytes();
    short_cl.extend_from_slice(form.as_bytes());
    let cases: Vec<(&str, Vec<u8>, bool, u16)> = vec![
        (
            "a chunk declared longer than sent, then the client closes its side",
            chunked_post(chunked, b"20\r\nentry=short"),
            true,
            400,
        ),
        (
            "a chunk of ffffffffffffffff bytes holding what looks like the end, then close",
            chunked_post(chunked, b"ffffffffffffffff\r\nentry=a\r\n0\r\n\r\n"),
            true,
            400,
        ),
        (
            "a body cut inside a chunk-size line, then close",
            chunked_post(chunked, b"8\r\nentry=cu\r\n1"),
            true,
            400,
        ),
        (
            "the last chunk without the final CRLF, then close",
            chunked_post(chunked, b"7\r\nentry=b\r\n0\r\n"),
            true,
            400,
        ),
        (
            "a chunk size with a non-hex digit",
            chunked_post(chunked, b"7z\r\nentry=c\r\n0\r\n\r\n"),
            false,
            400,
        ),
        (
            "a chunk size of 17 hex digits",
            chunked_post(chunked, b"00000000000000007\r\nentry=d\r\n0\r\n\r\n"),
            false,
            400,
        ),
        (
            "a chunk over 64 KiB, with its data",
            chunked_post(chunked, &huge),
            false,
            413,
        ),
        (
            "chunk data not followed by CRLF",
            chunked_post(chunked, b"7\r\nentry=eXX0\r\n\r\n"),
            false,
            400,
        ),
        (
            "a chunk-size line ended by a bare LF",
            chunked_post(chunked, b"7\nentry=f\r\n0\r\n\r\n"),
            false,
            400,
        ),
        (
            "Transfer-Encoding: gzip (over a chunked-looking body)",
            chunked_post("Transfer-Encoding: gzip", b"7\r\nentry=g\r\n0\r\n\r\n"),
            false,
            501,
        ),
        (
            "Transfer-Encoding: gzip, chunked",
            chunked_post(
                "Transfer-Encoding: gzip, chunked",
                b"7\r\nentry=h\r\n0\r\n\r\n",
            ),
            false,
            501,
        ),
        (
            "two Transfer-Encoding headers, chunked first",
            chunked_post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
                b"7\r\nentry=i\r\n0\r\n\r\n",
            ),
            false,
            501,
        ),
        (
            "a Content-Length body cut short, then close",
            short_cl,
            true,
            400,
        ),
    ];
    // Every case is tried and the failures reported together, so that one
    // run shows all the cases a regression lets through.
    let mut wrong = Vec::new();
    let mut last = before.clone();
    for (what, request, then_close, want) in cases {
        tried(what);
        let (status, body) = raw_post(node.http, &request, then_close);
        let body = body.trim();
        println!("  -> {status}: {body}");
        let error = serde_json::from_str::<Refusal>(body);
        if status != want || error.is_err() {
            wrong.push(format!(
                "{what}: wanted {want} and a JSON error, got {status} {body}"
            ));
        }
        if want == 501 && !body.contains("chunked") {
            wrong.push(format!("{what}: the 501 does not name what works: {body}"));
        }
        let board = node.board().expect("the node answers");
        if board.entries != last.entries {
            wrong.push(format!("{what}: the board changed: {:?}", board.entries));
        }
        last = board;
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A write posted after all of them and seen everywhere: anything the
    // bad ones had slipped in would be ordered before it, hence seen too.
    assert_eq!(node.add("after").0, 201);
    let after = node.board().unwrap();
    let mut expected = before.texts();
    expected.push("after");
    assert_eq!(after.texts(), expected, "something slipped in");
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    intact(&cluster, &after);
}
