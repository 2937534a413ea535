#!/usr/bin/env bash
# Mutation testing of the protocol core: cargo-mutants changes src/core and
# src/board.rs one small edit at a time (a condition flipped, a return value
# replaced, an operator swapped) and runs the fast tests (unit tests, the
# fault sweep, the scenario stories) against each. A mutant that every test
# survives is code whose behaviour nothing checks: kill it with a test, or
# argue in scripts/mutants-survivors.md why the change is harmless.
#
#   scripts/mutants.sh            # everything: about an hour on two cores
#   scripts/mutants.sh -F advance_commit   # only mutants whose name matches
#
# Results: target/mutants/mutants.out/{caught,missed,timeout,unviable}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
exec nice -n 10 cargo mutants \
    -f 'src/core/*.rs' -f src/board.rs \
    --profile mutants -j 2 --no-shuffle \
    -o target/mutants "$@" \
    -- --lib --test sweep --test scenarios
