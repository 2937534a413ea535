//! The course's own world: nodes started through `scripts/server.py` (the
//! course's start script runs `server.py --id I --servers A,B,C`), the older
//! skeleton's `/entries/ID` form, `curl -F` multipart posts, and students'
//! scripts that modify and delete concurrently and compare raw answers.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use blackboard::answers::{Board, Refusal, Written};
use support::{read, wait_until, TestCluster};

/// `curl -F entry=TEXT http://ADDR/PATH`, byte for byte what curl sends.
fn post_multipart(addr: SocketAddr, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let boundary = "------------------------d74496d66958873e";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[test]
fn a_course_style_cluster_takes_the_skeletons_routes_and_forms() {
    let mut cluster = TestCluster::start_course("course-routes", 3, 23600);
    cluster.wait_leader(Duration::from_secs(15));
    let (n1, n2, n3) = (cluster.node(1), cluster.node(2), cluster.node(3));

    // The older skeleton: add on /entries, modify and delete on /entries/ID.
    let (status, added) = n1.send("POST", "/entries", "entry=skeleton");
    assert_eq!(status, 201, "{added}");
    let id = read::<Written>(&added).and_then(|w| w.id).unwrap();
    let (status, body) = n2.send("POST", &format!("/entries/{id}"), "delete=0&entry=edited");
    assert_eq!(status, 200, "modify on /entries/ID: {body}");
    let entries: Board = n3.get("/entries").unwrap();
    assert_eq!(
        entries.entries[0].text, "edited",
        "GET /entries is the board"
    );

    // curl -F, at another node than the leader's.
    let (status, answer) = post_multipart(n2.http, "/board", &[("entry", "from curl -F")]);
    assert_eq!(status, 201, "multipart post: {answer}");
    let (status, answer) = post_multipart(
        n3.http,
        &format!("/board/{id}"),
        &[("delete", "0"), ("entry", "edited by -F")],
    );
    assert_eq!(status, 200, "multipart modify: {answer}");
    assert!(n1.texts().contains(&"edited by -F".to_owned()));

    let (status, body) = n1.send("POST", &format!("/entries/{id}/"), "delete=1");
    assert_eq!(status, 200, "delete on /entries/ID/: {body}");
    assert_eq!(n1.send("GET", "/board/no/such/route", "").0, 404);
    let (status, body) = n1.send("POST", "/board/1", "other=x");
    assert_eq!(status, 400, "neither delete nor entry: {body}");
    assert!(
        read::<Refusal>(&body).unwrap().error.contains("delete=1"),
        "the error names the fields it expects: {body}"
    );
    assert_eq!(n1.texts(), ["from curl -F"]);

    // server.py execs the node: killing the process the start script holds
    // stops the node itself (no orphan left serving).
    let http = n1.http;
    cluster.kill(1);
    assert!(
        TcpStream::connect_timeout(&http, Duration::from_secs(1)).is_err(),
        "node 1 still serves after its server.py was killed"
    );
}

#[test]
fn students_concurrent_modifies_and_deletes_leave_identical_raw_boards() {
    let cluster = TestCluster::start("course-concurrent", 3, 23800);
    cluster.wait_leader(Duration::from_secs(15));
    let ids: Vec<u64> = (0..6)
        .map(|k| cluster.node(1).written(&format!("entry {k}")).id.unwrap())
        .collect();
    // Three students, one per node, each modifying every entry and deleting
    // "their" two, at once.
    thread::scope(|s| {
        for node in 1..=3u16 {
            let (cluster, ids) = (&cluster, &ids);
            s.spawn(move || {
                let p = cluster.node(node);
                for round in 0..5 {
                    for id in ids {
                        let form = format!("delete=0&entry=node+{node}+round+{round}");
                        let status = p.send("POST", &format!("/entries/{id}"), &form).0;
                        assert!(status == 200 || status == 404, "modify answered {status}");
                    }
                }
                for id in &ids[usize::from(node - 1) * 2..usize::from(node) * 2] {
                    assert_eq!(p.send("POST", &format!("/entries/{id}"), "delete=1").0, 200);
                }
            });
        }
    });
    // Every write was acknowledged, so a read anywhere shows them all: the
    // raw bodies, compared byte for byte as the students' scripts do.
    let bodies: Vec<String> = (1..=3)
        .map(|i| cluster.node(i).raw_get("/board").1)
        .collect();
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "raw boards differ: {bodies:#?}"
    );
    assert!(
        bodies[0].ends_with(",\"entries\":[]}\n"),
        "every entry was deleted: {}",
        bodies[0]
    );
    assert!(wait_until(Duration::from_secs(5), || cluster.converged()));
}

/// Server-side TIME_WAIT sockets on `port` (from /proc/net/tcp).
fn time_waits_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&local) && cols[3] == "06"
        })
        .count()
}

/// The course's Python clients send `Connection: close`. The node answers
/// and lets the client close first, so the node's HTTP port is not left in
/// TIME_WAIT (where a plain bind finds it taken for a minute after the node
/// stopped).
#[test]
fn clients_that_ask_to_close_close_first() {
    let cluster = TestCluster::start("course-close", 3, 23900);
    cluster.wait_leader(Duration::from_secs(15));
    let node = cluster.node(1);
    // A run of this test a minute ago may have left some.
    let before = time_waits_on(node.http.port());
    for _ in 0..20 {
        let mut s = TcpStream::connect(node.http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        // Read the head and the body by its length, then close, as
        // http.client does.
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let complete = |got: &[u8]| {
            let text = String::from_utf8_lossy(got);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                return false;
            };
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse::<usize>().ok());
            length.is_some_and(|n| body.len() >= n)
        };
        while !complete(&got) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "the node closed before its answer was whole");
            got.extend_from_slice(&buf[..n]);
        }
        drop(s);
    }
    // The node closes its side within its hold (250 ms); by then the
    // client's close has come first. Polled, as the last closes settle.
    assert!(
        wait_until(Duration::from_secs(2), || time_waits_on(node.http.port())
            <= before),
        "{} connections left in TIME_WAIT on the node's port ({before} before)",
        time_waits_on(node.http.port())
    );
}
