//! Watching the protocol: `/events` tells what happened, and the demo's
//! faults (`POST /fault`, only with `--allow-faults`) crash, cut off and
//! heal real nodes while the others carry on.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use blackboard::answers::{Events, FaultStarted, Refusal, Role};
use support::{read, wait_until, TestCluster};

fn events(p: &support::Proc, since: u64) -> Events<'static> {
    p.get(&format!("/events?since={since}"))
        .expect("/events answers its events")
}

fn texts(events: &Events) -> Vec<String> {
    events
        .events
        .iter()
        .map(|e| format!("{} {}", e.kind, e.text))
        .collect()
}

/// The response head of a GET with an `Origin` header.
fn head_with_origin(addr: SocketAddr, path: &str, origin: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.split("\r\n\r\n").next().unwrap_or("").to_owned()
}

/// What the page needs to draw the cluster: every member's HTTP address,
/// the pace, and whether faults may be pressed; and other members' pages
/// may read `/events` and `/status`, nothing else, and no stranger may.
#[test]
fn status_names_every_page_and_members_pages_may_read_events() {
    let cluster = TestCluster::start("demo-status", 3, 24900);
    cluster.wait_leader(Duration::from_secs(10));
    let n1 = cluster.node(1);
    let status = n1.status().unwrap();
    assert_eq!(status.pace.heartbeat_ms, 50);
    assert_eq!(status.pace.timeout_ms, 300);
    assert!(!status.faults_allowed);
    assert!(status.fault.is_none());
    for peer in &status.peers {
        let id = peer.id;
        assert_eq!(
            peer.http.as_deref(),
            Some(cluster.node(id).http.to_string().as_str()),
            "node {id}'s page"
        );
    }
    let member = format!("http://{}", cluster.node(2).http);
    for path in ["/events", "/status"] {
        let head = head_with_origin(n1.http, path, &member);
        assert!(
            head.contains(&format!("Access-Control-Allow-Origin: {member}")),
            "{path}: {head}"
        );
    }
    for (path, origin) in [
        ("/board", member.as_str()),
        ("/events", "http://10.9.9.9:80"),
    ] {
        let head = head_with_origin(n1.http, path, origin);
        assert!(
            !head.contains("Access-Control-Allow-Origin"),
            "{path} for {origin}: {head}"
        );
    }
}

#[test]
fn events_tell_the_election_and_faults_need_the_flag() {
    let cluster = TestCluster::start("demo-events", 3, 24700);
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let lp = cluster.node(leader);
    let told = texts(&events(lp, 0));
    assert!(
        told.iter().any(|t| t.starts_with("epoch LEADER of epoch")),
        "the leader's events name its epoch: {told:#?}"
    );
    assert!(
        told.iter()
            .any(|t| t.starts_with("epoch epoch ") && t.contains("promised by")),
        "and who promised it: {told:#?}"
    );
    let follower = cluster.nodes.iter().find(|p| p.id != leader).unwrap();
    let theirs = texts(&events(follower, 0));
    assert!(
        theirs
            .iter()
            .any(|t| t.starts_with("role following leader")),
        "a follower's events say whom it follows: {theirs:#?}"
    );
    // Every datagram of the election is there, named and addressed.
    let all = events(follower, 0);
    let arrows = all.events.iter().filter(|e| e.from.is_some());
    assert!(arrows.count() > 0, "no election datagram among {theirs:#?}");

    assert_eq!(follower.send("GET", "/events?since=x", "").0, 400);
    let (status, body) = lp.send("POST", "/fault", "action=crash&seconds=1");
    assert_eq!(status, 403, "{body}");
    assert!(read::<Refusal>(&body)
        .unwrap()
        .error
        .contains("--allow-faults"));
    assert_eq!(lp.status().unwrap().role, Role::Leader, "nothing happened");

    // A long-poll answers as soon as something happens: a commit.
    let last = events(lp, 0).next;
    let started = Instant::now();
    let waiting = std::thread::scope(|s| {
        let poll = s.spawn(|| events(lp, last));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(lp.add("wakes the long-poll").0, 201);
        poll.join().unwrap()
    });
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        texts(&waiting)
            .iter()
            .any(|t| t.starts_with("commit committed seq")),
        "{waiting:?}"
    );
}

#[test]
fn a_cut_off_leader_is_replaced_and_a_crashed_node_comes_back_with_the_board() {
    let cluster = TestCluster::start_with(
        "demo-faults",
        5,
        24800,
        &["--allow-faults", "--request-timeout-ms", "1000"],
    );
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let old = cluster.node(leader);
    assert_eq!(old.add("before the cut").0, 201);
    let (status, body) = old.send("POST", "/fault", "action=cutoff&seconds=6");
    assert_eq!(status, 202, "{body}");
    let other = cluster.nodes.iter().find(|p| p.id != leader).unwrap();
    let mut new = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            new = other.status().and_then(|s| s.leader);
            new.is_some_and(|l| l != leader)
        }),
        "no new leader while node {leader} is cut off"
    );
    // The cut-off node confirms nothing: writes and reads are refused.
    assert_eq!(old.add("into the void").0, 503);
    assert_eq!(old.send("GET", "/board", "").0, 503);
    assert_eq!(other.add("during the cut").0, 201);
    // Healed early, it follows the new leader and has every write.
    assert_eq!(old.send("POST", "/fault", "action=heal").0, 202);
    assert!(
        wait_until(Duration::from_secs(10), || old
            .status()
            .is_some_and(|s| s.leader == new && s.role == Role::Follower)),
        "the healed node does not follow the new leader: {:?}",
        old.status()
    );
    assert_eq!(old.texts(), ["before the cut", "during the cut"]);

    // Crash and reboot: down (503) for a second, then back with no memory,
    // and it recovers the whole board from the cluster.
    let before = events(other, 0).next;
    let (status, _) = other.send("POST", "/fault", "action=crash&seconds=1");
    assert_eq!(status, 202);
    assert_eq!(
        other.send("GET", "/status", "").0,
        503,
        "down while crashed"
    );
    assert!(
        wait_until(Duration::from_secs(10), || other.texts()
            == ["before the cut", "during the cut"]),
        "the crashed node did not come back with the board"
    );
    let expected = [
        "fault crashed",
        "fault back from the crash",
        "recovery RECOVERED",
    ];
    // Every page since the crash: an answer holds a bounded number of
    // events, and a busy election fills pages fast. Once caught up, a page
    // is a long-poll, which may end unanswered: then ask again.
    let mut told = Vec::new();
    let mut since = before;
    let all_told = wait_until(Duration::from_secs(10), || {
        if let Some(page) = other.get::<Events>(&format!("/events?since={since}")) {
            since = page.next;
            told.extend(texts(&page));
        }
        expected
            .iter()
            .all(|e| told.iter().any(|t| t.starts_with(e)))
    });
    assert!(all_told, "not all of {expected:?} among {told:#?}");
}

/// At the demo's pace a crash lasts at least two failure timeouts: back
/// sooner, the crashed leader would still be followed and simply lead again,
/// and the others would never be seen to notice.
#[test]
fn a_crash_lasts_long_enough_to_be_noticed() {
    let cluster = TestCluster::start_with(
        "demo-crash-min",
        1,
        25950,
        &["--pace", "demo", "--allow-faults"],
    );
    let node = cluster.node(1);
    assert!(wait_until(Duration::from_secs(10), || node
        .status()
        .is_some()));
    let (status, body) = node.send("POST", "/fault", "action=crash&seconds=1");
    assert_eq!(status, 202, "{body}");
    assert!(
        read::<FaultStarted>(&body)
            .unwrap()
            .fault
            .contains("back in 6 s"),
        "{body}"
    );
}
