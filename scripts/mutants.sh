#!/usr/bin/env bash
# Mutation testing of the protocol core: cargo-mutants changes src/core and
# src/board.rs one small edit at a time (a condition flipped, a return value
# replaced, an operator swapped) and runs the fast tests (unit tests, the
# fault sweep, the scenario stories, the hand-fed core tests) against each.
# A mutant that every test survives is code whose behaviour nothing checks:
# kill it with a test, or argue in scripts/mutants-survivors.md why the
# change is harmless.
#
#   scripts/mutants.sh            # everything: hours on two cores
#   scripts/mutants.sh -F advance_commit   # only mutants whose name matches
#   scripts/mutants.sh --iterate  # again, skipping what the last run caught
#
# The sweep runs 100 schedules per plan here (BB_SCHEDULES), a third of
# cargo test's: each mutant costs a rebuild and a test run.
#
# Results: target/mutants/mutants.out/{caught,missed,timeout,unviable}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
export BB_SCHEDULES=${BB_SCHEDULES:-100}
exec nice -n 10 cargo mutants \
    -f 'src/core/*.rs' -f src/board.rs \
    --profile mutants -j 2 --no-shuffle \
    -o target/mutants "$@" \
    -- --lib --test sweep --test scenarios --test core_behaviour
