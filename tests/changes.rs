//! The change feed, `GET /changes?since=S`, on real processes: what a page
//! following a large board downloads instead of the whole board per change.
//! Replaying a node's changes onto its board at S gives its board now; a
//! long-poll answers when a post lands; a node that rebuilt its board from a
//! snapshot answers an older `since` with the whole board, marked as a reset.

mod support;

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use blackboard::answers::{Board, Changes, Op, Written};
use rand::{Rng, SeedableRng};
use support::{wait_until, Ask, Client, Proc, TestCluster};

/// A board as the page holds it: id -> text, at a seq.
#[derive(Debug, PartialEq)]
struct Copy {
    seq: u64,
    entries: BTreeMap<u64, String>,
}

impl Copy {
    fn of(board: &Board) -> Copy {
        Copy {
            seq: board.seq,
            entries: board
                .entries
                .iter()
                .map(|e| (e.id, e.text.clone().into_owned()))
                .collect(),
        }
    }

    /// Follows `node`'s feed until this copy stands at `seq` or later.
    fn follow(&mut self, node: &Proc, seq: u64) {
        let end = Instant::now() + Duration::from_secs(20);
        while self.seq < seq {
            assert!(Instant::now() < end, "the feed never reached seq {seq}");
            let answer: Changes = node
                .get(&format!("/changes?since={}", self.seq))
                .expect("a JSON answer");
            assert!(!answer.reset, "no reset expected: {answer:?}");
            let mut last = self.seq;
            for change in &answer.ops {
                assert!(
                    change.seq > last,
                    "ops in order and after since: {answer:?}"
                );
                last = change.seq;
                match &change.op {
                    Op::Add { id, text } => assert!(
                        self.entries.insert(*id, text.to_string()).is_none(),
                        "{change:?}"
                    ),
                    Op::Modify { id, text } => assert!(
                        self.entries.insert(*id, text.to_string()).is_some(),
                        "{change:?}"
                    ),
                    Op::Delete { id } => assert!(self.entries.remove(id).is_some(), "{change:?}"),
                    Op::Reset => panic!("a reset among the ops: {answer:?}"),
                }
            }
            self.seq = answer.seq;
        }
    }
}

#[test]
fn replaying_the_feed_gives_the_board_and_a_long_poll_wakes_on_a_post() {
    let cluster = TestCluster::start("changes-replay", 3, 26000);
    let leader = cluster.wait_leader(Duration::from_secs(15));
    let follower = cluster.node(if leader == 1 { 2 } else { 1 });
    let writer = cluster.node(leader);
    for i in 0..5 {
        assert_eq!(writer.add(&format!("before {i}")).0, 201);
    }
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    let mut copy = Copy::of(&follower.local_board().unwrap());

    // A random run of adds, modifies (some of missing ids: no change) and
    // deletes, at the leader and at the follower.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut ids: Vec<u64> = copy.entries.keys().copied().collect();
    for i in 0..150 {
        let at = if rng.gen_bool(0.5) { writer } else { follower };
        match rng.gen_range(0..10) {
            0..=4 => {
                let written = at.written(&format!("e{i} \"quoted\" & <b>"));
                ids.push(written.id.unwrap());
            }
            5..=7 if !ids.is_empty() => {
                let id = ids[rng.gen_range(0..ids.len())];
                at.send(
                    "POST",
                    &format!("/board/{id}"),
                    &format!("delete=0&entry=m{i}"),
                );
            }
            8 => {
                at.send("POST", "/board/999999", "delete=0&entry=nowhere");
            }
            _ if !ids.is_empty() => {
                let id = ids.swap_remove(rng.gen_range(0..ids.len()));
                at.send("POST", &format!("/board/{id}"), "delete=1");
            }
            _ => {}
        }
    }
    let now = writer.board().unwrap();
    copy.follow(follower, now.seq);
    let board = Copy::of(&follower.local_board().unwrap());
    assert_eq!(copy, board, "the replayed changes are the board");

    // Followed while posts land: every answer must hold every change up to
    // its seq, however the node's turns interleave datagrams and requests.
    let http = writer.http;
    let posts = thread::spawn(move || {
        let mut client = Client::new(http).with_timeout(Duration::from_secs(10));
        for i in 0..300 {
            let r = client
                .request("POST", "/board", Some(&format!("entry=live{i}")))
                .unwrap();
            let written: Written = r.json().unwrap();
            if i % 3 == 0 {
                let path = format!("/board/{}", written.id.unwrap());
                client.request("POST", &path, Some("delete=1")).unwrap();
            }
        }
    });
    while !posts.is_finished() {
        let seq = copy.seq + 1;
        copy.follow(follower, seq);
    }
    posts.join().unwrap();
    let now = writer.board().unwrap();
    copy.follow(follower, now.seq);
    let board = Copy::of(&follower.local_board().unwrap());
    assert_eq!(copy.entries.len(), board.entries.len(), "followed live");
    assert_eq!(copy, board, "followed live");

    // A long-poll at the board's seq waits, and a post wakes it.
    let seq = copy.seq;
    let http = follower.http;
    let poll = thread::spawn(move || {
        let started = Instant::now();
        let r = Client::new(http)
            .with_timeout(Duration::from_secs(40))
            .get(&format!("/changes?since={seq}"))
            .unwrap();
        (started.elapsed(), r.json::<Changes<'static>>().unwrap())
    });
    // The poll is held once the node counts it.
    assert!(wait_until(Duration::from_secs(5), || {
        follower
            .status()
            .is_some_and(|s| s.counters.get("http_long_polls") > 0)
    }));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(writer.add("wakes the poll").0, 201);
    let (took, answer) = poll.join().unwrap();
    assert!(
        took >= Duration::from_millis(300),
        "answered before the post"
    );
    assert!(
        took < Duration::from_secs(10),
        "the post did not wake the poll"
    );
    let first = match answer.ops.first().map(|c| &c.op) {
        Some(Op::Add { text, .. } | Op::Modify { text, .. }) => Some(&**text),
        _ => None,
    };
    assert_eq!(first, Some("wakes the poll"), "{answer:?}");

    // Bad input is a clear error.
    let (status, body, _) = follower.raw_get("/changes?since=soon");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("since"), "{body}");
}

#[test]
fn a_node_rebuilt_from_a_snapshot_answers_older_points_with_a_reset() {
    let mut cluster = TestCluster::start("changes-reset", 3, 26100);
    let leader = cluster.wait_leader(Duration::from_secs(15));
    let down = if leader == 3 { 2 } else { 3 };
    cluster.kill(down);
    // With one member gone the leader compacts past what it has: the
    // rebooted member can only be given a snapshot.
    for i in 0..150 {
        assert_eq!(cluster.node(leader).add(&format!("while down {i}")).0, 201);
    }
    cluster.restart(down);
    let node = cluster.node(down);
    assert!(wait_until(Duration::from_secs(20), || {
        node.local_board().map(|b| b.entries.len()) == Some(150)
    }));
    let log = std::fs::read_to_string(node.log_path()).unwrap();
    assert!(
        log.contains("installed snapshot"),
        "the member was not given a snapshot"
    );

    let answer: Changes = node.get("/changes?since=3").unwrap();
    assert!(answer.reset, "{answer:?}");
    let board = node.local_board().unwrap();
    assert_eq!(
        answer.entries.as_ref(),
        Some(&board.entries),
        "the reset is the whole board"
    );
    assert_eq!(answer.seq, board.seq);

    // Past this node's board (a page that watched it before a reboot): a reset too.
    let beyond = board.seq + 1000;
    let answer: Changes = node.get(&format!("/changes?since={beyond}")).unwrap();
    assert!(answer.reset);
    // And from the reset's seq the feed continues.
    assert_eq!(cluster.node(leader).add("after the reset").0, 201);
    let mut copy = Copy::of(&board);
    let now = cluster.node(leader).board().unwrap().seq;
    copy.follow(node, now);
    assert_eq!(copy.entries.values().last().unwrap(), "after the reset");
}
