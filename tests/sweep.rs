//! The protocol under random faults: many seeded schedules of loss,
//! duplication, reordering, partitions, crashes and reboots, each checked
//! against the invariants in `blackboard::sim` and for liveness once the
//! faults stop. `BB_SCHEDULES=N` widens the sweep; a failure prints the
//! command that replays it (`BB_PLAN=.. BB_SEED=.. cargo test --test sweep
//! replay -- --ignored`).

use std::time::Instant;

use blackboard::sim::chaos::{self, Plan};

/// Runs `count` schedules from `first`; panics with every failure. Prints
/// how many were checked for safety throughout: every schedule that never
/// crossed the honest limit (under a plan that keeps a majority's memory,
/// crossing it is itself a failure).
fn sweep(first: u64, count: u64, plan: &Plan) {
    let started = Instant::now();
    let (mut writes, mut acked, mut reads, mut crashes, mut partitions, mut crossed) =
        (0, 0, 0, 0, 0, 0);
    let mut slowest = std::time::Duration::ZERO;
    let mut failures = Vec::new();
    for seed in first..first + count {
        match chaos::run(seed, plan) {
            Ok(o) => {
                writes += o.writes;
                acked += o.acked;
                reads += o.reads;
                crashes += o.crashes;
                partitions += o.partitions;
                crossed += u64::from(o.majority_lost);
                slowest = slowest.max(o.recovery);
            }
            Err(why) => failures.push(why),
        }
    }
    println!(
        "plan {}: explored {count} schedules in {:?}: {writes} writes ({acked} acknowledged), \
         {reads} linearizable reads, {crashes} crashes, {partitions} partitions; slowest recovery {slowest:?}; \
         {} of {count} checked for safety throughout, {crossed} past the honest limit",
        plan.name,
        started.elapsed(),
        count - crossed - failures.len() as u64,
    );
    assert!(
        failures.is_empty(),
        "{} of {count} schedules failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn count(default: u64) -> u64 {
    std::env::var("BB_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn hundreds_of_faulty_schedules_keep_every_promise() {
    sweep(1, count(300), &Plan::default());
}

#[test]
fn larger_clusters_under_faults() {
    sweep(100_000, count(200) / 10, &Plan::larger_clusters());
}

/// Crashes may take out a majority's memory at once: safety is checked up to
/// that moment, and the cluster must still come back.
#[test]
fn majority_losses_still_recover() {
    sweep(200_000, count(300) / 3, &Plan::majority_loss());
}

/// Seeds that found bugs, kept so the schedules that found them keep running.
#[test]
fn seeds_that_found_bugs() {
    let normal = Plan::default();
    let majority = Plan::majority_loss();
    // 2: four nodes, two rebooted, never elected (phase-1 quorum, fence).
    // 200073: a node cut off from a fresh start stayed stuck on its history.
    // 200118: a recovery target from a replaced history was never reached.
    // 200127: a candidate fetching a best log that conflicted with its own.
    // 200275: a diverged node stuck in a later, non-fresh epoch.
    // 370: a lower epoch's late fresh start was held to an older entry that
    //   only a higher epoch had committed (the check was too strict).
    // 200157: a diverged candidate refused, pull after pull, the best log's
    //   entry that conflicted with its own committed one.
    // (Both with the timings of the day they were found; the schedules have
    // moved since, and run on as two more seeds.)
    // 201351, 202820: a memoryless majority started afresh below an epoch a
    //   cut-off member kept, and committed; the kept log ranked higher and
    //   won a takeover, overwriting the commits.
    // 203873: a leader asked a member that refused it (for its own takeover)
    //   again at every refusal; duplicates multiplied the loop without end.
    for (seed, plan) in [
        (2, &normal),
        (370, &normal),
        (200_157, &majority),
        (200_073, &majority),
        (200_118, &majority),
        (200_127, &majority),
        (200_275, &majority),
        (201_351, &majority),
        (202_820, &majority),
        (203_873, &majority),
    ] {
        if let Err(why) = chaos::run(seed, plan) {
            panic!("{why}");
        }
    }
}

/// Replays one schedule: `BB_PLAN=default BB_SEED=17 cargo test --test sweep
/// replay -- --ignored` (add `BB_TRACE=1` for the nodes' logs).
#[test]
#[ignore = "a tool: needs BB_SEED (and BB_PLAN)"]
fn replay() {
    let seed: u64 = std::env::var("BB_SEED")
        .expect("BB_SEED=<seed> names the schedule to replay")
        .parse()
        .expect("BB_SEED is a number");
    let name = std::env::var("BB_PLAN").unwrap_or_else(|_| "default".into());
    let plan = Plan::named(&name).expect("BB_PLAN is default, larger or majority-loss");
    if let Err(why) = chaos::run(seed, &plan) {
        panic!("{why}");
    }
}
