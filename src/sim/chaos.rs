//! Random fault schedules for the real core: one seed decides the cluster
//! size, the network's loss, duplication and delay spread, and a sequence of
//! client writes (adds, and modifies and deletes of the same entries at
//! different nodes), linearizable reads, crashes with memory loss, reboots,
//! partitions (leader cut off, minority/majority splits, one-way links),
//! clocks that run slow, and heals. Then the
//! faults stop and the cluster must recover: a leader within a bound, a new
//! write committed, every board the same, every acknowledged write present.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::Sim;
use crate::wire::{NodeId, Op};

/// Liveness bound: once faults stop and every member is up and connected, a
/// leader exists and a new write commits within this much virtual time.
/// (Detection 300 ms + election + takeover + recovery of rebooted members,
/// with margin for unlucky jitter; measured worst cases are far below.)
pub const LIVENESS_BOUND: Duration = Duration::from_secs(5);

/// What one schedule did, for reports.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub nodes: u16,
    pub writes: usize,
    pub acked: usize,
    pub reads: usize,
    pub crashes: usize,
    pub partitions: usize,
    pub slow_clocks: usize,
    /// A majority was without memory at once: the honest limit applies.
    pub majority_lost: bool,
    /// Virtual time from the end of faults to a committed write.
    pub recovery: Duration,
}

/// Knobs for a family of schedules.
#[derive(Clone, Debug)]
pub struct Plan {
    /// What [`Plan::named`] knows it by (for replaying a seed).
    pub name: &'static str,
    pub sizes: Vec<u16>,
    pub max_loss: f64,
    /// Virtual time of the faulty phase.
    pub chaos: Duration,
    /// Allow more than a minority to be down or rebooted at once.
    pub allow_majority_loss: bool,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            name: "default",
            sizes: vec![3, 4, 5, 7],
            max_loss: 0.4,
            chaos: Duration::from_secs(20),
            allow_majority_loss: false,
        }
    }
}

impl Plan {
    /// Clusters of 9 and 15, with a shorter faulty phase.
    pub fn larger_clusters() -> Plan {
        Plan {
            name: "larger",
            sizes: vec![9, 15],
            chaos: Duration::from_secs(8),
            ..Plan::default()
        }
    }

    /// Crashes may take out a majority's memory at once.
    pub fn majority_loss() -> Plan {
        Plan {
            name: "majority-loss",
            allow_majority_loss: true,
            ..Plan::default()
        }
    }

    pub fn named(name: &str) -> Option<Plan> {
        [
            Plan::default(),
            Plan::larger_clusters(),
            Plan::majority_loss(),
        ]
        .into_iter()
        .find(|p| p.name == name)
    }
}

/// Runs one schedule. `Err` carries the seed and every violation.
pub fn run(seed: u64, plan: &Plan) -> Result<Outcome, String> {
    super::trace_if_asked();
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xc4a0_5eed);
    let n = *plan.sizes.choose(&mut rng).expect("at least one size");
    let mut sim = Sim::new(n, seed);
    sim.faults.loss = rng.gen_range(0.0..plan.max_loss);
    sim.faults.duplicate = rng.gen_range(0.0..0.1);
    let spread = Duration::from_micros(rng.gen_range(200..20_000));
    sim.faults.delay = (Duration::from_micros(50), spread);
    let mut out = Outcome {
        nodes: n,
        ..Outcome::default()
    };
    let members = sim.members();
    let majority = usize::from(n) / 2 + 1;
    let mut texts = 0u64;
    let end = sim.now + plan.chaos;
    while sim.now < end {
        let pause = Duration::from_millis(rng.gen_range(10..400));
        sim.run_for(pause);
        match rng.gen_range(0..100) {
            0..=37 => {
                let at = *members.choose(&mut rng).expect("members");
                if !sim.is_up(at) {
                    continue;
                }
                let op = random_op(&mut rng, &sim, &mut texts);
                sim.write(at, op);
                out.writes += 1;
            }
            38..=49 => {
                let at = *members.choose(&mut rng).expect("members");
                if sim.is_up(at) {
                    sim.read(at);
                    out.reads += 1;
                }
            }
            50..=61 => {
                // Crash someone (often the leader), keeping a majority with
                // memory unless the plan allows otherwise.
                let victim = match sim.leader() {
                    Some(l) if rng.gen_bool(0.5) => l,
                    _ => *members.choose(&mut rng).expect("members"),
                };
                let lost = members
                    .iter()
                    .filter(|&&m| !sim.is_up(m) || sim.node(m).is_some_and(|x| x.is_recovering()))
                    .count();
                if sim.is_up(victim) && (plan.allow_majority_loss || lost + 1 < majority) {
                    sim.crash(victim);
                    out.crashes += 1;
                }
            }
            62..=73 => {
                let down: Vec<NodeId> =
                    members.iter().copied().filter(|&m| !sim.is_up(m)).collect();
                if let Some(&id) = down.choose(&mut rng) {
                    sim.restart(id);
                }
            }
            74..=87 => {
                partition(&mut rng, &mut sim, &members);
                out.partitions += 1;
            }
            88..=93 => sim.heal(),
            94..=96 => {
                // A clock that runs slow (a paused process, an overloaded
                // machine): often the leader's, which then notices late
                // that it was replaced. Timing must never decide safety.
                let victim = match sim.leader() {
                    Some(l) if rng.gen_bool(0.5) => l,
                    _ => *members.choose(&mut rng).expect("members"),
                };
                sim.slow_clock(victim, rng.gen_range(2..50));
                out.slow_clocks += 1;
            }
            _ => {
                for &m in &members {
                    sim.slow_clock(m, 1);
                }
            }
        }
    }
    // The faults stop: everyone up, connected, no loss, clocks at speed.
    sim.heal();
    for &m in &members {
        sim.slow_clock(m, 1);
    }
    sim.faults.loss = 0.0;
    sim.faults.duplicate = 0.0;
    for &m in &members {
        if !sim.is_up(m) {
            sim.restart(m);
        }
    }
    let calm = sim.now;
    if !sim.run_until(LIVENESS_BOUND, Sim::settled) {
        return Err(report(
            seed,
            plan,
            &sim,
            &["no settled leader within the liveness bound".into()],
        ));
    }
    let probe = sim.add(members[0], "liveness probe");
    out.writes += 1;
    let committed = |s: &Sim| matches!(s.result(probe), Some(Ok(_)));
    if !sim.run_until(LIVENESS_BOUND, committed) {
        return Err(report(
            seed,
            plan,
            &sim,
            &["a write after the faults did not commit in time".into()],
        ));
    }
    out.recovery = sim.now.since(calm);
    // Writes and reads still in flight get their answer (or their 503).
    sim.run_until(Duration::from_secs(10), Sim::all_answered);
    if !sim.run_until(Duration::from_secs(10), Sim::converged) {
        return Err(report(
            seed,
            plan,
            &sim,
            &["boards did not converge".into()],
        ));
    }
    // Once calm, a read at every node is answered, at or past the probe.
    let reads: Vec<_> = members.iter().map(|&m| sim.read(m)).collect();
    out.reads += reads.len();
    let answered = |s: &Sim| {
        reads
            .iter()
            .all(|t| matches!(s.reads[t].result, Some(Ok(_))))
    };
    if !sim.run_until(LIVENESS_BOUND, answered) {
        return Err(report(
            seed,
            plan,
            &sim,
            &[format!(
                "a read after the faults was not answered with the board in time: {:?}",
                reads
                    .iter()
                    .map(|t| (sim.reads[t].at, sim.reads[t].result))
                    .collect::<Vec<_>>()
            )],
        ));
    }
    out.acked = sim
        .writes
        .values()
        .filter(|w| matches!(w.result, Some(Ok(_))))
        .count();
    out.majority_lost = sim.majority_ever_lost();
    let mut problems = sim.check_final();
    if out.majority_lost && !plan.allow_majority_loss {
        // The plan never lets a majority be memoryless at once: a run past
        // the honest limit would be one whose safety went unchecked.
        problems
            .push("crossed the honest limit under a plan that keeps a majority's memory".into());
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(report(seed, plan, &sim, &problems))
    }
}

fn report(seed: u64, plan: &Plan, sim: &Sim, problems: &[String]) -> String {
    let nodes: Vec<String> = sim
        .live()
        .map(|n| format!("\n  {}", n.describe(sim.local_now(n.id()))))
        .collect();
    format!(
        "seed {seed} (replay: BB_PLAN={} BB_SEED={seed} cargo test --test sweep replay -- \
         --ignored): {}{}",
        plan.name,
        problems.join("; "),
        nodes.concat()
    )
}

fn random_op(rng: &mut SmallRng, sim: &Sim, texts: &mut u64) -> Op {
    let ids: Vec<u64> = sim
        .live()
        .next()
        .map(|n| n.board().entries().map(|(id, _)| id).collect())
        .unwrap_or_default();
    *texts += 1;
    match (rng.gen_range(0..10), ids.choose(rng)) {
        (0..=1, Some(&id)) => Op::Modify {
            id,
            text: format!("edit-{texts}"),
        },
        (2, Some(&id)) => Op::Delete { id },
        _ => Op::Add {
            text: format!("post-{texts}"),
        },
    }
}

fn partition(rng: &mut SmallRng, sim: &mut Sim, members: &[NodeId]) {
    let mut shuffled = members.to_vec();
    shuffled.shuffle(rng);
    match rng.gen_range(0..4) {
        0 => {
            if let Some(leader) = sim.leader() {
                sim.heal();
                sim.isolate(leader);
            }
        }
        1 => {
            let cut = rng.gen_range(1..=members.len() / 2);
            let (a, b) = shuffled.split_at(cut);
            sim.partition(&[a, b]);
        }
        2 => {
            let (a, b) = (shuffled[0], shuffled[1]);
            sim.cut_one_way(a, b);
        }
        _ => {
            let cut = rng.gen_range(1..members.len());
            let (a, rest) = shuffled.split_at(cut);
            let mid = rest.len() / 2;
            let (b, c) = rest.split_at(mid);
            sim.partition(&[a, b, c]);
        }
    }
}
