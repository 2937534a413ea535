//! Bad input gets a clear error and changes nothing: malformed forms, unknown
//! ids, oversized bodies (also ones only declared), garbage datagrams and
//! datagrams from strangers. And the command line's exit codes.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use blackboard::answers::Refusal;
use support::{bin, read, wait_until, Ask, TestCluster};

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let cluster = TestCluster::start("bad-http", 3, 21400);
    cluster.wait_leader(Duration::from_secs(10));
    let node = cluster.node(1);
    assert_eq!(node.add("keep me").0, 201);
    let before = node.board().unwrap();

    let cases: &[(&str, &str, &str, u16)] = &[
        ("POST", "/board", "", 400),
        ("POST", "/board", "entry=", 400),
        ("POST", "/board", "text=wrong+field", 400),
        ("POST", "/board", "entry=%ff%fe", 400),
        ("POST", "/board", "entry=%zz", 400),
        ("POST", "/board/abc", "delete=1", 404),
        ("GET", "/board/no/such/route", "", 404),
        ("POST", "/board/1", "other=x", 400),
        ("POST", "/board/1", "delete=maybe", 400),
        ("POST", "/board/999", "delete=1", 404),
        ("PUT", "/board/999", "entry=x", 404),
        ("DELETE", "/board/999", "", 404),
        ("PATCH", "/board", "entry=x", 405),
        ("GET", "/../../etc/passwd", "", 404),
        ("GET", "/nothing", "", 404),
    ];
    for (method, path, form, want) in cases {
        let (status, body) = node.send(method, path, form);
        assert_eq!(status, *want, "{method} {path} {form}: {body}");
        assert!(
            read::<Refusal>(&body).is_some(),
            "{method} {path}: errors are JSON: {body}"
        );
    }
    let long = format!("entry={}", "x".repeat(1025));
    assert_eq!(node.send("POST", "/board", &long).0, 413);

    // Bodies over 64 KiB are refused with 413 and the node stays up. Up to
    // 16 MiB the node reads the body away and lets the connection go; only
    // absurd declarations (up to 2^64-1) stay open, and are counted.
    let fds_before = node.open_fds().unwrap();
    // A client that sends such a body, as curl does, gets the whole answer:
    // 413 and its JSON error, not a connection left hanging.
    for size in [70_000, 5_000_000] {
        let form = format!("entry={}", "x".repeat(size));
        let (status, body) = node.send("POST", "/board", &form);
        assert_eq!(status, 413, "{size} bytes");
        assert!(read::<Refusal>(&body).is_some(), "{size} bytes: {body}");
    }
    // Bodies only declared: the client ends its side without sending them.
    for declared in ["70000", "1000000000000000", "18446744073709551615"] {
        let mut s = TcpStream::connect(node.http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "POST /board HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {declared}\r\n\r\n").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 413", "declared {declared}");
    } // and the client closes, as curl does after an answer
    let leaked = node
        .status()
        .map(|s| s.counters.get("http_oversized_leaked"));
    assert_eq!(leaked, Some(2), "only the absurd bodies are kept open");
    // Each connection kept open holds two descriptors (tiny_http splits a
    // socket into a read and a write half); the others are all closed.
    assert!(
        wait_until(Duration::from_secs(10), || node
            .open_fds()
            .is_some_and(|n| n <= fds_before + 2 * 2)),
        "descriptors: {fds_before} before, {:?} after",
        node.open_fds()
    );

    let after = node.board().unwrap();
    assert_eq!(before.entries, after.entries, "bad input changed the board");
    assert_eq!(node.add("still working").0, 201);
}

#[test]
fn garbage_and_stranger_datagrams_are_dropped_and_counted() {
    let cluster = TestCluster::start("bad-udp", 3, 21500);
    cluster.wait_leader(Duration::from_secs(10));
    let target = "127.0.0.1:21501";
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    for payload in [
        &b""[..],
        b"BB",
        b"BB\x01\xff\xff\xff",
        b"hello",
        &[0u8; 1500],
    ] {
        stranger.send_to(payload, target).unwrap();
    }
    let node = cluster.node(1);
    assert!(
        wait_until(Duration::from_secs(10), || node
            .status()
            .is_some_and(|s| s.counters.get("stranger_datagrams") >= 5)),
        "stranger datagrams not counted: {:?}",
        node.status()
    );
    assert_eq!(node.add("after garbage").0, 201);
    let metrics = node.client().get("/metrics").unwrap();
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("blackboard_stranger_datagrams"),
        "{}",
        metrics.body
    );
}

#[test]
fn exit_codes_follow_the_contract() {
    let bad = Command::new(bin())
        .args(["node", "--id", "1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let reason = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(reason.trim().lines().count(), 1, "one line: {reason}");
    assert!(reason.contains("--peers"), "{reason}");

    // A taken port: exit 1, naming the address.
    let _taken = UdpSocket::bind("127.0.0.1:21601").unwrap();
    let busy = Command::new(bin())
        .args([
            "node",
            "--id",
            "1",
            "--peers",
            "1=127.0.0.1:21601",
            "--http",
            "127.0.0.1:21701",
        ])
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("127.0.0.1:21601"));

    // SIGTERM: a clean stop, exit 0.
    let mut node = Command::new(bin())
        .args([
            "node",
            "--id",
            "1",
            "--peers",
            "1=127.0.0.1:21602",
            "--http",
            "127.0.0.1:21702",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let http = "127.0.0.1:21702".parse().unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        support::Client::new(http).get("/status").is_ok()
    }));
    let killed = Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(node.wait().unwrap().code(), Some(0));

    let version = Command::new(bin()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("wire protocol"));
}

#[test]
fn a_node_of_another_wire_version_is_refused_and_named() {
    let cluster = TestCluster::start("wire-version", 3, 21900);
    cluster.wait_leader(Duration::from_secs(10));
    // A datagram from member 2's address, as a future version would send it.
    let impostor_addr = "127.0.0.1:21902";
    let target = "127.0.0.1:21901";
    let mut cluster = cluster;
    cluster.kill(2);
    let sock = UdpSocket::bind(impostor_addr).unwrap();
    for _ in 0..3 {
        sock.send_to(b"BB\x63whatever comes next", target).unwrap();
    }
    let node = cluster.node(1);
    assert!(wait_until(Duration::from_secs(10), || node
        .status()
        .is_some_and(|s| s.counters.dropped("version") >= 3)));
    let log = std::fs::read_to_string(node.log_path()).unwrap();
    let lines = log
        .lines()
        .filter(|l| l.contains("wire protocol 99"))
        .count();
    assert_eq!(lines, 1, "named once, not once per datagram:\n{log}");
}
