#!/usr/bin/env bash
# Short coverage-guided fuzz run of every target in fuzz/ (libFuzzer, through
# libfuzzer-sys; `cargo fuzz` works on the same targets by hand).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 20)
#
# Env: FUZZ_TARGETS="wire_decode http_route"  only these targets
#      FUZZ_SANITIZER=address                 with AddressSanitizer (default none: the crate
#                                             has no unsafe code, and targets run ~3x faster)
#      FUZZ_KEEP=1                            keep the temporary directory
#
# The targets build on the stable toolchain (RUSTC_BOOTSTRAP=1 lets it accept
# -Zsanitizer when one is asked for). Debug assertions, including integer
# overflow checks, are on (as with cargo fuzz -a).
# Each target runs on a copy of its committed seed corpus (fuzz/corpus/T) in a
# temporary directory, so the repository stays clean. One target at a time,
# one process: the run uses a single core.
#
# Prints per-target executions and coverage and a final "N passed, M failed";
# exits 1 if any target crashed (the crash input is copied to
# fuzz/artifacts/T/, which git ignores, with the command that reproduces it),
# 2 if the fuzzer could not be set up or built.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
case $secs in
'' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac
sanitizer=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1
started=$(date +%s)

# The targets are built the way `cargo fuzz build -a` builds them (its
# coverage flags, release with debug assertions, one codegen unit) but by
# cargo itself: CI starts from a clean machine, and installing cargo-fuzz
# took a minute of its 15.
host=$(rustc -vV | sed -n 's/^host: //p')
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags+=" -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
flags+=" -Cllvm-args=-sanitizer-coverage-stack-depth"
flags+=" --cfg fuzzing -Cdebug-assertions -Ccodegen-units=1"
case $sanitizer in
none) ;;
address | leak | memory | thread) flags+=" -Zsanitizer=$sanitizer" ;;
*)
    echo "fuzz: FUZZ_SANITIZER must be none, address, leak, memory or thread" >&2
    exit 2
    ;;
esac
bin_dir=fuzz/target/$host/release

targets=${FUZZ_TARGETS:-$(sed -n '/^\[\[bin\]\]/,/^name/s/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml)}
if [ -z "$targets" ]; then
    echo "fuzz: no targets ([[bin]] in fuzz/Cargo.toml)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/blackboard-fuzz.XXXXXX")
cleanup() { [ -n "${FUZZ_KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "=== building fuzz targets ($(rustc --version), sanitizer $sanitizer)"
if ! RUSTFLAGS="$flags" cargo build --manifest-path fuzz/Cargo.toml --target "$host" --release \
    --config 'profile.release.debug="line-tables-only"' --bins >"$tmp/build.log" 2>&1; then
    grep -E -A 12 '^error' "$tmp/build.log" | head -n 60
    tail -n 5 "$tmp/build.log"
    echo "fuzz: build failed" >&2
    exit 2
fi
tail -n 1 "$tmp/build.log"
built=$(date +%s)

passed=0
failed=0
failures=()
for t in $targets; do
    corpus=$tmp/corpus/$t
    mkdir -p "$corpus" "$tmp/artifacts/$t"
    if [ -d "fuzz/corpus/$t" ]; then
        cp fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
    fi
    seeds=$(find "$corpus" -type f | wc -l)
    log=$tmp/$t.log
    echo
    echo "=== $t: ${secs}s from $seeds seeds"
    "$bin_dir/$t" "$corpus" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$tmp/artifacts/$t/" >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last")
    artifact=$(find "$tmp/artifacts/$t" -type f | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
        passed=$((passed + 1))
        echo "$t: ok: ${runs:-?} executions, ${speed:-?} exec/s, $cov"
        continue
    fi
    failed=$((failed + 1))
    failures+=("$t")
    echo "$t: FAILED (exit $rc) after ${runs:-?} executions; last status: ${last:-none}"
    grep -E -m 8 -A 4 "panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY:|==ERROR" "$log" | head -n 24
    if [ -n "$artifact" ]; then
        mkdir -p "fuzz/artifacts/$t"
        kept=fuzz/artifacts/$t/$(basename "$artifact")
        cp "$artifact" "$kept"
        echo "$t: crash input: $kept ($(wc -c <"$kept") bytes), hex:"
        od -An -v -tx1 "$kept" | tr -d ' \n' | fold -w 96
        echo
        echo "$t: reproduce: RUST_BACKTRACE=1 $bin_dir/$t $kept"
        echo "$t: minimize:  $bin_dir/$t -minimize_crash=1 -runs=10000 $kept"
        if [ "$t" = core_datagrams ]; then
            echo "$t: trace:     BLACKBOARD_FUZZ_TRACE=1 $bin_dir/$t $kept"
        fi
    else
        echo "$t: no crash input written; full log:"
        tail -n 40 "$log"
    fi
done

ended=$(date +%s)
echo
echo "fuzz: build $((built - started))s, runs $((ended - built))s, total $((ended - started))s"
[ "$failed" -eq 0 ] || echo "fuzz: failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
