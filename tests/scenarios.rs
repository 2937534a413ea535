//! Runs every story in tests/scenarios/ against the simulator, with several
//! seeds each (so each story is tried under several timings and schedules).

use std::fs;
use std::path::Path;

mod listing;

use blackboard::sim::script;

/// Seeds per story; BB_SEEDS overrides for a longer sweep.
fn seeds() -> u64 {
    std::env::var("BB_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8)
}

fn run_story(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    let text = fs::read_to_string(&path).expect("story file");
    for seed in 1..=seeds() {
        if let Err(why) = script::run(&text, seed) {
            panic!(
                "{name}: {why}\n(replay: BB_STORY={name} BB_SEED={seed} cargo test --test \
                 scenarios replay_one -- --ignored)"
            );
        }
    }
}

macro_rules! stories {
    ($($test:ident => $file:literal,)*) => {
        $(#[test] fn $test() { run_story($file); })*

        #[test]
        fn every_story_file_has_a_test() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
            let files = listing::txt_files(&dir);
            let mut listed = vec![$($file.to_string()),*];
            listed.sort();
            assert_eq!(files, listed);
        }
    };
}

stories! {
    cold_start => "cold_start.txt",
    one_order_everywhere => "one_order_everywhere.txt",
    leader_crash => "leader_crash.txt",
    reboot_recovers => "reboot_recovers.txt",
    lossy_network => "lossy_network.txt",
    isolated_leader => "isolated_leader.txt",
    concurrent_edits => "concurrent_edits.txt",
    even_cluster_half_rebooted => "even_cluster_half_rebooted.txt",
    majority_loses_memory => "majority_loses_memory.txt",
    minority_partition_heals => "minority_partition_heals.txt",
    figure_eight => "figure_eight.txt",
    stale_fence => "stale_fence.txt",
    rebooted_ack_does_not_count => "rebooted_ack_does_not_count.txt",
    stale_leader_read => "stale_leader_read.txt",
    reads_across_leader_changes => "reads_across_leader_changes.txt",
}

/// Replays one story with one seed: `BB_STORY=leader_crash.txt BB_SEED=4
/// cargo test --test scenarios replay_one -- --ignored` (add `BB_TRACE=1`
/// for the nodes' logs).
#[test]
#[ignore = "a tool: needs BB_STORY and BB_SEED"]
fn replay_one() {
    let name = std::env::var("BB_STORY").expect("BB_STORY=<file> names the story");
    let seed = std::env::var("BB_SEED").expect("BB_SEED=<seed> names the seed");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(&name);
    let text = fs::read_to_string(&path).expect("story file");
    if let Err(why) = script::run(&text, seed.parse().expect("BB_SEED is a number")) {
        panic!("{name}: {why}");
    }
}
