//! Process tests: five real `blackboard node` processes on 127.0.0.1, driven
//! over HTTP the way users drive them, with the leader killed by SIGKILL and
//! restarted with an empty memory.

mod support;

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use blackboard::answers::{Board, Role};
use support::{wait_until, Ask, TestCluster};

#[test]
fn five_nodes_one_order_through_failover_and_reboot() {
    let mut cluster = TestCluster::start("failover", 5, 21000);
    let first = cluster.wait_leader(Duration::from_secs(10));

    // Concurrent posts to all five nodes.
    let acked: Vec<(String, u64)> = thread::scope(|s| {
        let handles: Vec<_> = cluster
            .nodes
            .iter()
            .map(|p| {
                s.spawn(move || {
                    (0..10)
                        .map(|k| {
                            let text = format!("n{}-{k}", p.id);
                            let id = p.written(&text).id.unwrap();
                            (text, id)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(acked.len(), 50);

    // The same entry modified at two nodes and deleted at a third, at once.
    let (_, target) = &acked[0];
    let statuses: Vec<u16> = thread::scope(|s| {
        let m1 = s.spawn(|| {
            cluster
                .node(2)
                .send(
                    "POST",
                    &format!("/board/{target}/"),
                    "delete=0&entry=from+two",
                )
                .0
        });
        let m2 = s.spawn(|| {
            cluster
                .node(3)
                .send("PUT", &format!("/board/{target}"), "entry=from+three")
                .0
        });
        let d = s.spawn(|| {
            cluster
                .node(4)
                .send("POST", &format!("/board/{target}"), "delete=1")
                .0
        });
        vec![m1.join().unwrap(), m2.join().unwrap(), d.join().unwrap()]
    });
    assert_eq!(statuses[2], 200, "the delete applies exactly once");
    for s in &statuses[..2] {
        assert!(
            *s == 200 || *s == 404,
            "a modify either applied before the delete or found nothing: {s}"
        );
    }

    // Kill the leader with SIGKILL; the others elect a new one.
    let killed_at = Instant::now();
    cluster.kill(first);
    let second = cluster.wait_leader(Duration::from_secs(10));
    assert_ne!(second, first);
    println!(
        "new leader {second} agreed {:?} after the kill",
        killed_at.elapsed()
    );

    // Posts go on at every survivor.
    let mut later = Vec::new();
    for p in cluster.up() {
        let text = format!("after-{}", p.id);
        let (status, body) = p.add(&text);
        assert_eq!(status, 201, "post at node {} after failover: {body}", p.id);
        later.push(text);
    }

    // The old leader comes back empty and loads the whole board.
    cluster.restart(first);
    assert!(
        wait_until(Duration::from_secs(10), || cluster.converged()
            && cluster
                .node(first)
                .status()
                .is_some_and(|s| s.role == Role::Follower)),
        "the restarted node did not catch up"
    );
    assert_eq!(
        cluster.agreed_leader(),
        Some(second),
        "a booting node must not unseat the leader"
    );

    let texts = cluster.node(first).texts();
    let unique: BTreeSet<&String> = texts.iter().collect();
    assert_eq!(
        unique.len(),
        texts.len(),
        "no write appears twice: {texts:?}"
    );
    for (text, _) in &acked[1..] {
        assert!(
            texts.contains(text),
            "acknowledged {text} missing after reboot"
        );
    }
    for text in &later {
        assert!(texts.contains(text), "acknowledged {text} missing");
    }
    assert!(
        !texts.iter().any(|t| t == "n1-0" || t.starts_with("from ")),
        "deleted entry is back"
    );
}

#[test]
fn a_write_answers_only_once_applied_where_it_was_asked() {
    let cluster = TestCluster::start("read-your-write", 3, 21200);
    let leader = cluster.wait_leader(Duration::from_secs(10));
    for p in &cluster.nodes {
        let text = format!("mine-{}", p.id);
        let answered = p.written(&text).seq;
        // Immediately visible at the node that answered, at its seq or later.
        let shown = p.board().expect("node answers GET /board").seq;
        assert!(
            shown >= answered,
            "node {} shows seq {shown} after answering seq {answered}",
            p.id
        );
        assert!(
            p.texts().contains(&text),
            "node {} (leader {leader}) answered before applying",
            p.id
        );
    }
}

#[test]
fn long_poll_answers_when_the_board_moves() {
    let cluster = TestCluster::start("long-poll", 3, 21300);
    cluster.wait_leader(Duration::from_secs(10));
    // A board still moving would answer the poll at once.
    assert!(wait_until(Duration::from_secs(10), || cluster.converged()));
    let seq = cluster.node(2).board().unwrap().seq;
    let parked = || {
        cluster
            .node(2)
            .status()
            .map(|s| s.counters.get("http_long_polls"))
    };
    let parked_before = parked().unwrap();
    // Half the long-poll deadline: an answer within it came from the change.
    let patience = blackboard::http::LONG_POLL / 2;
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            cluster
                .node(2)
                .client()
                .with_timeout(patience)
                .get(&format!("/board?since={seq}"))
        });
        assert!(
            wait_until(Duration::from_secs(10), || parked()
                .is_some_and(|n| n > parked_before)),
            "the poll never started waiting"
        );
        assert_eq!(cluster.node(3).add("wake up").0, 201);
        let answer = waiter
            .join()
            .unwrap()
            .expect("the long-poll answered on the change, before its deadline");
        let board: Board = answer.json().unwrap();
        assert!(board.seq > seq);
    });
}

#[test]
fn every_node_shows_every_member_and_its_role() {
    let cluster = TestCluster::start("roles", 3, 21800);
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let shown = |p: &support::Proc| {
        let status = p.status()?;
        Some(status.peers.iter().all(|m| {
            let want = if m.id == leader {
                Role::Leader
            } else {
                Role::Follower
            };
            m.alive && m.role == want && m.attribute.is_some()
        }))
    };
    assert!(
        wait_until(Duration::from_secs(10), || cluster
            .nodes
            .iter()
            .all(|p| shown(p) == Some(true))),
        "{:?}",
        cluster.nodes.iter().map(|p| p.status()).collect::<Vec<_>>()
    );
}
