//! Deliberate breaks of the protocol's safety rules, for tests only.
//!
//! Each [`Break`] names one rule and sits in the real code where that rule is
//! kept, as a branch that does the wrong thing when a test switches it on. A
//! test that switches one on (see [`breaking`]) shows that the checks catch
//! the rule broken; a rule that can break unnoticed is a rule nothing checks.
//! Outside `cargo test` [`broken`] is a constant `false`, so the compiler
//! drops every wrong branch from the real build.

/// One safety rule, by what breaking it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Break {
    /// A leader commits an older epoch's entry by counting copies
    /// (Raft's figure 8): `replication`.
    EpochRule,
    /// A rebooted member follows a leader below its recovery fence:
    /// `recovery`.
    Fence,
    /// A recovering member's ack counts toward a commit: `replication`.
    RecoveringAcks,
    /// One copy (the leader's) is enough to commit: `replication`.
    Majority,
    /// A read is answered after a heartbeat round sent before it arrived:
    /// `reads`.
    ReadRound,
    /// A retransmitted request applies again: `board`.
    Dedup,
    /// A takeover starts its epoch from its own log, though a promiser
    /// holds a longer one: `takeover`.
    AdoptBest,
    /// A takeover counts one promise fewer than it needs: `takeover`.
    PromiseQuorum,
    /// A follower takes appends from the leader of an epoch below the one
    /// it promised: `promise`.
    StaleLeader,
    /// A takeover adopts the highest-ranked log although it cannot hold an
    /// entry a promiser knows committed: `takeover`.
    CommitKnown,
}

impl Break {
    pub const ALL: [Break; 10] = [
        Break::EpochRule,
        Break::Fence,
        Break::RecoveringAcks,
        Break::Majority,
        Break::ReadRound,
        Break::Dedup,
        Break::AdoptBest,
        Break::PromiseQuorum,
        Break::StaleLeader,
        Break::CommitKnown,
    ];
}

#[cfg(test)]
thread_local! {
    // Per thread: the test harness runs tests side by side, and a sim runs
    // on the thread of its test.
    static BROKEN: std::cell::Cell<Option<Break>> = const { std::cell::Cell::new(None) };
}

/// Is `rule` broken on purpose right now? Never, outside `cargo test`.
#[inline(always)]
pub fn broken(rule: Break) -> bool {
    #[cfg(test)]
    {
        BROKEN.with(|b| b.get() == Some(rule))
    }
    #[cfg(not(test))]
    {
        let _ = rule;
        false
    }
}

/// Runs `f` with `rule` broken on this thread, and mends it afterwards
/// (also when `f` panics).
#[cfg(test)]
pub fn breaking<T>(rule: Break, f: impl FnOnce() -> T) -> T {
    struct Mend;
    impl Drop for Mend {
        fn drop(&mut self) {
            BROKEN.with(|b| b.set(None));
        }
    }
    BROKEN.with(|b| b.set(Some(rule)));
    let _mend = Mend;
    f()
}

#[cfg(test)]
mod tests {
    //! Each break, and the checks that catch it: the stories of
    //! tests/scenarios (run as `cargo test --test scenarios` runs them), the
    //! fault sweep's schedules and the exhaustive explorer. Each check also
    //! runs unbroken in its own test, where it must pass.

    use super::*;
    use crate::sim::{chaos, explore, script};

    enum Check {
        /// A story of tests/scenarios fails for some of its 8 seeds.
        Story(&'static str, &'static str),
        /// One of the 300 schedules of the default plan that `cargo test
        /// --test sweep` runs fails.
        Sweep,
        /// The explorer finds a path from a state of its two stories.
        Explorer,
        /// One of these schedules of a sweep plan fails: each found a bug
        /// once (they are among `cargo test --test sweep`'s regressions).
        Schedules(&'static str, &'static [u64]),
        /// That check fails at a step the model's transition of this name
        /// does not allow (`sim::trace`): at the step that breaks the rule,
        /// not at its damage later.
        Trace(&'static str, &'static Check),
    }

    macro_rules! story {
        ($name:literal) => {
            Check::Story(
                $name,
                include_str!(concat!("../../tests/scenarios/", $name, ".txt")),
            )
        };
    }

    impl Check {
        /// The first failure of this check that `accept` accepts.
        fn failure(&self, accept: &dyn Fn(&str) -> bool) -> Option<String> {
            let accepted = |why: String| accept(&why).then_some(why);
            match self {
                Check::Story(name, text) => (1..=8)
                    .filter_map(|seed| script::run(text, seed).err())
                    .find_map(accepted)
                    .map(|why| format!("story {name}: {why}")),
                Check::Sweep => (1..=300)
                    .filter_map(|seed| chaos::run(seed, &chaos::Plan::default()).err())
                    .find_map(accepted),
                Check::Explorer => explore::tests::around_stories(explore::tests::CI)
                    .1
                    .map(|c| c.to_string())
                    .and_then(accepted),
                Check::Schedules(plan, seeds) => {
                    let plan = chaos::Plan::named(plan).expect("a plan of the sweep");
                    (seeds.iter())
                        .filter_map(|&seed| chaos::run(seed, &plan).err())
                        .find_map(accepted)
                }
                Check::Trace(transition, check) => {
                    let needle = format!("the model's {transition} ");
                    check.failure(&|why| accept(why) && why.contains(&needle))
                }
            }
        }

        fn name(&self) -> String {
            match self {
                Check::Story(name, _) => format!("story {name}"),
                Check::Sweep => "the sweep's 300 schedules".to_owned(),
                Check::Explorer => "the explorer".to_owned(),
                Check::Schedules(plan, seeds) => format!("{plan} schedules {seeds:?}"),
                Check::Trace(transition, check) => {
                    format!(
                        "{} at a step the model's {transition} refuses",
                        check.name()
                    )
                }
            }
        }
    }

    fn caught(rule: Break, checks: &[Check]) {
        for check in checks {
            let found = breaking(rule, || check.failure(&|_| true));
            assert!(found.is_some(), "{rule:?} broken passes {}", check.name());
        }
    }

    /// One test per break, with the checks that must catch it.
    macro_rules! breaks {
        ($($test:ident: $rule:ident => [$($check:expr),* $(,)?];)*) => {
            $(#[test] fn $test() { caught(Break::$rule, &[$($check),*]); })*

            /// Every break has its line above: a new one fails to compile
            /// here until it has, and `Break::ALL` must hold each.
            #[test]
            fn every_break_has_a_test() {
                let _exhaustive = |rule: Break| match rule { $(Break::$rule => (),)* };
                let listed = [$(Break::$rule),*];
                assert_eq!(Break::ALL.len(), listed.len());
                assert!(listed.iter().all(|rule| Break::ALL.contains(rule)));
            }
        };
    }

    breaks! {
        epoch_rule: EpochRule => [story!("figure_eight"), Check::Trace("advance_commit", &Check::Sweep)];
        fence: Fence => [Check::Trace("follows", &story!("stale_fence"))];
        recovering_acks: RecoveringAcks => [story!("rebooted_ack_does_not_count"), Check::Sweep, Check::Explorer];
        majority: Majority => [Check::Explorer, story!("cold_start")];
        read_round: ReadRound => [story!("stale_leader_read"), Check::Explorer];
        dedup: Dedup => [story!("lossy_network"), Check::Sweep];
        adopt_best: AdoptBest => [story!("figure_eight"), Check::Trace("start_epoch", &Check::Sweep)];
        promise_quorum: PromiseQuorum => [Check::Explorer, story!("minority_partition_heals"), Check::Trace("decide", &Check::Sweep)];
        stale_leader: StaleLeader => [Check::Explorer, Check::Trace("on_append", &Check::Sweep)];
        commit_known: CommitKnown => [Check::Trace("set_commit", &Check::Schedules("majority-loss", &[201_351, 202_820]))];
    }
}
