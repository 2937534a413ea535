//! The deterministic tables of report.txt: what each part of the protocol
//! costs in datagrams, measured in the simulator, with the formula in n (and
//! board size b) beside each figure. `blackboard sim --report` prints them
//! and a test checks that report.txt quotes them line for line, so the
//! report cannot drift from the code.

use std::time::Duration;

use super::costs::{self, quiet_config, summary};
use super::Sim;
use crate::wire::{Kind, Op, PAYLOAD_BUDGET};

/// Cluster sizes of the tables.
pub const SIZES: [u16; 7] = [3, 5, 9, 15, 25, 50, 100];
/// Seeds per election figure.
pub const SEEDS: u64 = 20;
/// Board sizes of the snapshot table.
pub const BOARDS: [usize; 4] = [0, 1_000, 10_000, 50_000];

fn delivered(sim: &Sim) -> u64 {
    sim.delivered.iter().sum()
}

fn election_kinds(sim: &Sim) -> u64 {
    Kind::ELECTION
        .iter()
        .map(|k| sim.delivered[k.index()])
        .sum()
}

/// All nodes boot at once knowing nothing: datagrams of the election and
/// takeover until a leader leads, and the time it took.
pub fn startup(n: u16, seeds: u64) -> (Vec<u64>, Vec<u64>) {
    let (mut datagrams, mut ms) = (Vec::new(), Vec::new());
    for seed in 0..seeds {
        let mut sim = Sim::new(n, seed);
        let start = sim.now;
        if sim.run_until(Duration::from_secs(10), |s| s.leader().is_some()) {
            ms.push(sim.now.since(start).as_millis() as u64);
            sim.run_until(Duration::from_secs(5), Sim::settled);
            datagrams.push(election_kinds(&sim));
        }
    }
    (datagrams, ms)
}

/// Datagrams per second in a settled, idle cluster (heartbeats and acks):
/// the whole cost of failure detection.
pub fn idle(n: u16) -> f64 {
    let mut sim = Sim::new(n, 1);
    sim.run_until(Duration::from_secs(10), |s| s.settled() && s.converged());
    sim.run_for(Duration::from_secs(1));
    let before = delivered(&sim);
    sim.run_for(Duration::from_secs(10));
    (delivered(&sim) - before) as f64 / 10.0
}

/// Datagrams per linearizable read, one at a time, at the leader and at a
/// follower, with heartbeats slowed so only the read's own traffic counts.
pub fn reads(n: u16) -> Option<(f64, f64)> {
    let mut sim = Sim::with_config(quiet_config(n), 1);
    if !sim.run_until(Duration::from_secs(300), |s| s.settled() && s.converged()) {
        return None;
    }
    sim.run_for(Duration::from_millis(100));
    let leader = sim.leader()?;
    let follower = sim.members().into_iter().find(|&m| m != leader)?;
    let mut per_read = |at| {
        let before = delivered(&sim);
        for _ in 0..20 {
            let t = sim.read(at);
            sim.run_until(Duration::from_secs(10), |s| s.reads[&t].result.is_some());
        }
        (delivered(&sim) - before) as f64 / 20.0
    };
    Some((per_read(leader), per_read(follower)))
}

/// A member rebooted with no memory gets a board of `b` entries: the
/// snapshot's bytes and the datagrams of the transfer (pulls, chunks).
pub fn snapshot(b: usize) -> Option<(usize, u64)> {
    let mut sim = Sim::new(3, 1);
    // In order, as on a LAN: chunks that arrive out of order are dropped and
    // asked for again, and the simulator's random delays would reorder each
    // window (see the closing remark of report.txt).
    let fixed = Duration::from_micros(200);
    sim.faults.delay = (fixed, fixed);
    sim.run_until(Duration::from_secs(10), |s| s.settled() && s.converged());
    let leader = sim.leader()?;
    let rebooted = sim.members().into_iter().find(|&m| m != leader)?;
    sim.crash(rebooted);
    for batch in (0..b).collect::<Vec<_>>().chunks(500) {
        let ops: Vec<_> = batch
            .iter()
            .map(|i| (leader, Op::Add { text: entry(*i) }))
            .collect();
        let tokens = sim.write_all(&ops);
        sim.run_until(Duration::from_secs(30), |s| {
            tokens.iter().all(|t| s.result(*t).is_some())
        });
    }
    sim.run_for(Duration::from_secs(1));
    let bytes = sim.node(leader)?.board().encode().len();
    let kinds = [Kind::Pull, Kind::Chunk, Kind::Entries];
    let count = |s: &Sim| -> u64 { kinds.iter().map(|k| s.delivered[k.index()]).sum() };
    let before = count(&sim);
    sim.restart(rebooted);
    sim.run_until(Duration::from_secs(60), |s| {
        s.converged() && s.node(rebooted).is_some_and(|n| !n.is_recovering())
    });
    Some((bytes, count(&sim) - before))
}

/// The snapshot table's entries: 40 bytes of text each.
fn entry(i: usize) -> String {
    format!("{i:08} {}", "x".repeat(31))
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// The tables, as printed (and quoted by report.txt).
pub fn lines() -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "Elections: datagrams until a leader leads, min/median/max over {SEEDS} seeds; [formula]"
    ));
    out.push(format!(
        "{:>3}  {:>22}  {:>20}  {:>16}  {:>17}  {:>12}  {:>20}",
        "n",
        "start-up [~10(n-1)]",
        "re-election [6(n-2)]",
        "bully [2(n-2)]",
        "takeover [4(n-2)]",
        "re-elect ms",
        "classic [(n-2)(n+3)]"
    ));
    for n in SIZES {
        let (mut boot, _) = startup(n, SEEDS);
        let mut e = costs::election(n, SEEDS);
        let mut ms: Vec<u64> = e.time.iter().map(|d| d.as_millis() as u64).collect();
        let m = u64::from(n);
        let takeover: Vec<u64> = e
            .datagrams
            .iter()
            .zip(&e.bully)
            .map(|(a, b)| a - b)
            .collect();
        out.push(format!(
            "{n:>3}  {:>22}  {:>20}  {:>16}  {:>17}  {:>12}  {:>20}",
            format!("{} [{}]", summary(&mut boot), 10 * (m - 1)),
            format!("{} [{}]", summary(&mut e.datagrams), 6 * (m - 2)),
            format!("{} [{}]", summary(&mut e.bully), 2 * (m - 2)),
            format!("{} [{}]", median(&takeover), 4 * (m - 2)),
            summary(&mut ms),
            (m - 2) * (m + 3)
        ));
    }
    out.push(String::new());
    out.push(
        "Steady costs in datagrams: idle per second, then per write and per read; [formula]".into(),
    );
    out.push(format!(
        "{:>3}  {:>16}  {:>14}  {:>16}  {:>10}  {:>12}  {:>14}",
        "n",
        "idle per second",
        "write@leader",
        "write@follower",
        "under load",
        "read@leader",
        "read@follower"
    ));
    for n in SIZES {
        let m = f64::from(n - 1);
        let w = costs::writes(n, 1).unwrap_or_default();
        let (rl, rf) = reads(n).unwrap_or_default();
        out.push(format!(
            "{n:>3}  {:>16}  {:>14}  {:>16}  {:>10.2}  {:>12}  {:>14}",
            format!("{:.0} [{:.0}]", idle(n), 40.0 * m),
            format!("{:.1} [{:.0}]", w.at_leader, 2.0 * m),
            format!("{:.1} [{:.0}]", w.at_follower, 2.0 * m + 2.0),
            w.under_load,
            format!("{:.1} [{:.0}]", rl, 2.0 * m),
            format!("{:.1} [{:.0}]", rf, 2.0 * m + 2.0),
        ));
    }
    out.push(String::new());
    out.push(format!(
        "Reboot of a member (n = 3): a snapshot of b entries of 40 bytes in chunks of {PAYLOAD_BUDGET} bytes"
    ));
    out.push(format!(
        "{:>7}  {:>14}  {:>10}  {:>11}",
        "b", "snapshot bytes", "datagrams", "[c + c/8]"
    ));
    for b in BOARDS {
        let (bytes, datagrams) = snapshot(b).unwrap_or_default();
        let chunks = bytes.div_ceil(PAYLOAD_BUDGET);
        out.push(format!(
            "{b:>7}  {bytes:>14}  {datagrams:>10}  {:>11}",
            chunks + chunks.div_ceil(8)
        ));
    }
    out.push(format!(
        "(c = ceil(bytes/{PAYLOAD_BUDGET}) chunks, one pull per window of 8; bytes are about 44b)"
    ));
    out
}
