//! Message costs measured in the simulator: datagrams per election and per
//! committed write, by cluster size. `blackboard sim` prints them; report.txt
//! quotes them next to the formulas they match.

use std::time::Duration;

use super::Sim;
use crate::core::Config;
use crate::wire::{Kind, NodeId};

#[derive(Clone, Debug, Default)]
pub struct ElectionCost {
    /// Datagrams of the election and takeover after the leader died.
    pub datagrams: Vec<u64>,
    /// Of which bully messages proper (Election and Alive).
    pub bully: Vec<u64>,
    /// Virtual time from the crash to the new leader.
    pub time: Vec<Duration>,
}

#[derive(Clone, Debug, Default)]
pub struct WriteCost {
    pub at_leader: f64,
    pub at_follower: f64,
    /// Many writes in flight at once: batching shares each datagram.
    pub under_load: f64,
}

/// `n` members whose heartbeats are 20 s apart: what a write or a read
/// sends is then all that is counted.
pub(crate) fn quiet_config(n: u16) -> Config {
    Config {
        id: 0,
        members: (1..=n).collect(),
        heartbeat: Duration::from_secs(20),
        timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(30),
        http_port: 0,
        cluster: 7,
    }
}

fn delivered(sim: &Sim, kinds: &[Kind]) -> u64 {
    kinds.iter().map(|k| sim.delivered[k.index()]).sum()
}

/// Crashes the leader of a settled cluster and counts what the election costs.
pub fn election(n: u16, seeds: u64) -> ElectionCost {
    let mut cost = ElectionCost::default();
    for seed in 0..seeds {
        let mut sim = Sim::new(n, seed);
        if !sim.run_until(Duration::from_secs(10), Sim::settled) {
            continue;
        }
        sim.run_for(Duration::from_millis(200));
        let Some(leader) = sim.leader() else { continue };
        let before = delivered(&sim, &Kind::ELECTION);
        let bully_before = delivered(&sim, &[Kind::Election, Kind::Alive]);
        let crashed = sim.now;
        sim.crash(leader);
        let elected = |s: &Sim| s.leader().is_some_and(|l| l != leader);
        if !sim.run_until(Duration::from_secs(10), elected) {
            continue;
        }
        let took = sim.now.since(crashed);
        // Let stragglers of the election (late Alives, Promises) land.
        sim.run_until(Duration::from_secs(5), Sim::settled);
        cost.datagrams
            .push(delivered(&sim, &Kind::ELECTION) - before);
        cost.bully
            .push(delivered(&sim, &[Kind::Election, Kind::Alive]) - bully_before);
        cost.time.push(took);
    }
    cost
}

/// Datagrams per committed write, with heartbeats slowed so that only the
/// write's own traffic is counted.
pub fn writes(n: u16, seed: u64) -> Option<WriteCost> {
    let mut sim = Sim::with_config(quiet_config(n), seed);
    if !sim.run_until(Duration::from_secs(300), |s| s.settled() && s.converged()) {
        return None;
    }
    // Let the last acks of the start-up land before counting.
    sim.run_for(Duration::from_millis(100));
    let leader = sim.leader()?;
    let follower: NodeId = sim.members().into_iter().find(|&m| m != leader)?;
    let per_write = |sim: &mut Sim, at: &dyn Fn(usize) -> NodeId, count: usize, together: bool| {
        let before: u64 = sim.delivered.iter().sum();
        let tokens: Vec<_> = if together {
            let ops: Vec<_> = (0..count)
                .map(|i| {
                    (
                        at(i),
                        crate::wire::Op::Add {
                            text: format!("w{i}"),
                        },
                    )
                })
                .collect();
            sim.write_all(&ops)
        } else {
            (0..count)
                .map(|i| {
                    let t = sim.add(at(i), &format!("w{i}"));
                    sim.run_until(Duration::from_secs(10), |s| s.result(t).is_some());
                    t
                })
                .collect()
        };
        sim.run_until(Duration::from_secs(10), |s| {
            tokens.iter().all(|t| s.result(*t).is_some())
        });
        (sim.delivered.iter().sum::<u64>() - before) as f64 / count as f64
    };
    let members = sim.members();
    Some(WriteCost {
        at_leader: per_write(&mut sim, &|_| leader, 50, false),
        at_follower: per_write(&mut sim, &|_| follower, 50, false),
        under_load: per_write(&mut sim, &|i| members[i % members.len()], 500, true),
    })
}

pub(crate) fn summary(values: &mut [u64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    values.sort_unstable();
    format!(
        "{}/{}/{}",
        values[0],
        values[values.len() / 2],
        values[values.len() - 1]
    )
}

pub fn print(sizes: &[u16], seeds: u64) {
    println!("Message costs in the deterministic simulator ({seeds} seeds per size).");
    println!(
        "Election: the leader of a settled cluster crashes; datagrams until a new leader leads"
    );
    println!(
        "(min/median/max). Writes: datagrams per committed write with heartbeats out of the way."
    );
    println!();
    println!(
        "{:>3}  {:>18}  {:>16}  {:>16}  {:>9}  {:>11}  {:>10}",
        "n",
        "election (all)",
        "bully only",
        "election ms",
        "write@ldr",
        "write@follow",
        "under load"
    );
    for &n in sizes {
        let mut e = election(n, seeds);
        let mut ms: Vec<u64> = e.time.iter().map(|d| d.as_millis() as u64).collect();
        let w = writes(n, 1).unwrap_or_default();
        println!(
            "{n:>3}  {:>18}  {:>16}  {:>16}  {:>9.1}  {:>12.1}  {:>10.2}",
            summary(&mut e.datagrams),
            summary(&mut e.bully),
            summary(&mut ms),
            w.at_leader,
            w.at_follower,
            w.under_load
        );
    }
    println!();
    println!("Formulas: a write at the leader costs 2(n-1) (append, ack); at a follower 2(n-1)+2");
    println!("(forward, commit notice). Election after the leader dies: 6(n-2), each survivor's");
    println!(
        "one Election to the top survivor and its Alive, 2(n-2), then the takeover's two rounds,"
    );
    println!(
        "4(n-2); the classic bully round would cost (n-2)(n+3). `sim --report`: the full tables."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_costs_what_the_protocol_says() {
        for n in [3u16, 5] {
            let w = writes(n, 3).expect("settles");
            let m = f64::from(n - 1);
            assert!((w.at_leader - 2.0 * m).abs() < 0.5, "n={n}: {w:?}");
            assert!(
                (w.at_follower - (2.0 * m + 2.0)).abs() < 0.5,
                "n={n}: {w:?}"
            );
            assert!(
                w.under_load < m,
                "batching: fewer than n-1 per write under load: {w:?}"
            );
        }
    }

    #[test]
    fn an_election_costs_o_of_n_datagrams() {
        for n in [5u16, 15, 25] {
            let e = election(n, 5);
            assert_eq!(e.datagrams.len(), 5, "every run elected a new leader");
            let bound = 6 * u64::from(n - 1);
            for (d, t) in e.datagrams.iter().zip(&e.time) {
                assert!(*d <= bound, "n={n}: {d} datagrams, over 6(n-1) = {bound}");
                assert!(*t < Duration::from_secs(1), "n={n}: elected in {t:?}");
            }
        }
    }

    /// The top survivor dies with the leader: the others' `Election` to it
    /// goes unanswered and they fall back to the next one down, at the cost
    /// of one more `Election` each.
    #[test]
    fn when_the_top_survivor_dies_too_the_next_one_down_leads() {
        let n = 9u16;
        for seed in 0..5 {
            let mut sim = Sim::new(n, seed);
            assert!(sim.run_until(Duration::from_secs(10), Sim::settled));
            sim.run_for(Duration::from_millis(200));
            let leader = sim.leader().unwrap();
            let rank = |s: &Sim, id| s.node(id).map(|node| node.rank());
            let mut survivors: Vec<NodeId> =
                sim.members().into_iter().filter(|&m| m != leader).collect();
            survivors.sort_by_key(|&id| std::cmp::Reverse(rank(&sim, id)));
            let (top, next) = (survivors[0], survivors[1]);
            let before = delivered(&sim, &Kind::ELECTION);
            sim.crash(leader);
            sim.crash(top);
            let elected = |s: &Sim| s.leader().is_some_and(|l| l != leader && l != top);
            assert!(
                sim.run_until(Duration::from_secs(10), elected),
                "seed {seed}: no leader"
            );
            assert_eq!(
                sim.leader(),
                Some(next),
                "seed {seed}: the next one down leads"
            );
            sim.run_until(Duration::from_secs(5), Sim::settled);
            let spent = delivered(&sim, &Kind::ELECTION) - before;
            let bound = 6 * u64::from(n - 1) + u64::from(n);
            assert!(
                spent <= bound,
                "seed {seed}: {spent} datagrams, over {bound}"
            );
        }
    }
}
