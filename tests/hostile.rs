//! The hostile-input suite: what a typo, a port scanner or a malicious fellow
//! student can throw at a node, and that every node survives with its board
//! intact. `cargo test --test hostile -- --nocapture` prints what was tried.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blackboard::client::Client;
use blackboard::wire::{self, Command as Cmd, Envelope, Epoch, LogPos, Message};
use support::{bin, wait_until, TestCluster};

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
fn intact(cluster: &TestCluster, before: &serde_json::Value) {
    for p in cluster.up() {
        let board = p.board().expect("node answers");
        assert_eq!(
            board["entries"], before["entries"],
            "node {} board changed",
            p.id
        );
    }
    println!("  -> every node answered with its board intact");
}

#[test]
fn idle_and_slow_connections_do_not_stall_the_node() {
    let cluster = TestCluster::start("hostile-conns", 3, 22100);
    cluster.wait_leader(Duration::from_secs(10));
    let node = cluster.node(1);
    assert_eq!(node.add("before").0, 201);
    let before = node.board().unwrap();

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

    let mut after = before.clone();
    after["entries"] = node.board().unwrap()["entries"].clone();
    let texts: Vec<&str> = after["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"before") && texts.contains(&"slowx") && texts.contains(&"pipe"));
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    intact(&cluster, &after);
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
    let restarts = Client::new(http).get("/status").unwrap().body;
    node.stop();
    println!(
        "  -> accept failed, the server was rebuilt, and it serves again ({})",
        blackboard::client::json_u64(&restarts, "http_accept_restarts")
            .map_or(String::new(), |n| format!("{n} restarts"))
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
        let (status, body) = node.add(text);
        assert_eq!(status, 201, "post {text}: {body}");
        let id = body["id"].as_u64().expect("POST answer has id");
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
    let malformed = || {
        node.status()
            .and_then(|s| s["counters"]["dropped"]["malformed"].as_u64())
            .unwrap_or(0)
    };
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
                number: status["epoch"].as_u64().unwrap(),
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
    let mut other = envelope(Message::Probe);
    other.cluster ^= 1;
    sock.send_to(&wire::encode(&other).unwrap(), &target)
        .unwrap();
    let future = [b'B', b'B', wire::WIRE_VERSION + 1, b'x'];
    sock.send_to(&future, &target).unwrap();

    let ok = wait_until(Duration::from_secs(10), || {
        node.status().is_some_and(|s| {
            let d = &s["counters"]["dropped"];
            d["malformed"].as_u64() > Some(1000)
                && d["cluster"].as_u64() >= Some(1)
                && d["version"].as_u64() >= Some(1)
        })
    });
    assert!(
        ok,
        "drops not counted: {:?}",
        node.status().map(|s| s["counters"]["dropped"].clone())
    );
    println!(
        "  -> dropped and counted: {}",
        node.status().unwrap()["counters"]["dropped"]
    );
    assert_eq!(
        cluster.agreed_leader(),
        Some(leader),
        "the leader was unseated"
    );
    post(node, "still working");
    let expected = serde_json::json!({
        "entries": posted
            .iter()
            .map(|(id, text)| serde_json::json!({"id": id, "text": text}))
            .collect::<Vec<_>>()
    });
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    intact(&cluster, &expected);
}
