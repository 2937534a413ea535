#!/usr/bin/env bash
# run-network-tests.sh - every network scenario on the namespace cluster, then on Mininet.
set -uo pipefail

PROG=$(basename "$0")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

usage() {
    cat <<EOF
Usage: $PROG [--netns-only | --mininet-only] [--nodes N] [--only LIST] [--writes K]
             [--switch lxbr|default|ovsbr] [--no-build] [--results DIR]

Runs the scenarios of scenarios.py ($(python3 "$HERE/scenarios.py" --list 2>/dev/null | paste -sd, -))
first on a network-namespace cluster (netns-cluster.sh), then on Mininet
(mininet_topo.py --scenario; Mininet and iptables are installed with apt-get if absent).
Prints a verdict per scenario and "N passed, M failed" as the last line;
exit 0 only if all passed.  Run as root.  Every part is bounded in time
(--part-timeout, default 1500 s) and everything it creates is removed at the end.

Options:
  --netns-only / --mininet-only   run only one backend
  --nodes N        cluster size (default 5)
  --only LIST      comma-separated scenarios (default all)
  --writes K       adds per node for the checker (default 20)
  --switch S       Mininet switch: lxbr (default; works without OVS), default, ovsbr
  --no-build       do not run 'cargo build --release' when no binary exists
  --results DIR    logs and JSON results (default /tmp/bb-results/run-<time>)
  --part-timeout S upper bound for each backend's run (default 1500)
Environment: BLACKBOARD = the binary (default target/release, then target/debug).
EOF
}

NETNS=1; MININET=1; NODES=5; ONLY=""; WRITES=20; SWITCH=lxbr; BUILD=1; PART_TIMEOUT=1500
RESULTS="/tmp/bb-results/run-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --netns-only) MININET=0 ;;
        --mininet-only) NETNS=0 ;;
        --nodes) NODES=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --writes) WRITES=$2; shift ;;
        --switch) SWITCH=$2; shift ;;
        --no-build) BUILD=0 ;;
        --results) RESULTS=$2; shift ;;
        --part-timeout) PART_TIMEOUT=$2; shift ;;
        *) echo "$PROG: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "$PROG: must run as root" >&2; exit 2; }
mkdir -p "$RESULTS"

cleanup() {
    "$HERE/netns-cluster.sh" down >/dev/null 2>&1 || true
    if [ -x /usr/bin/mn ]; then /usr/bin/python3 "$HERE/mininet_topo.py" --cleanup >/dev/null 2>&1 || true; fi
}
trap 'echo "$PROG: interrupted" >&2; cleanup; exit 130' INT TERM
cleanup

# The binary.
if [ -z "${BLACKBOARD:-}" ]; then
    for b in "$REPO/target/release/blackboard" "$REPO/target/debug/blackboard"; do
        if [ -x "$b" ]; then export BLACKBOARD=$b; break; fi
    done
    if [ -z "${BLACKBOARD:-}" ] && [ "$BUILD" = 1 ] && command -v cargo >/dev/null; then
        echo "== building: cargo build --release"
        (cd "$REPO" && timeout 1200 cargo build --release 2>&1 | tail -3)
        [ -x "$REPO/target/release/blackboard" ] && export BLACKBOARD="$REPO/target/release/blackboard"
    fi
fi
if [ -z "${BLACKBOARD:-}" ] || [ ! -x "$BLACKBOARD" ]; then
    echo "$PROG: no blackboard binary (build with cargo build --release or set BLACKBOARD)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
echo "== binary: $BLACKBOARD"
echo "== results: $RESULTS"

# Packages, before either backend: both need iptables (loss, partitions), and on
# a fresh machine the namespace scenarios ran before Mininet's install brought it.
PKGS=()
if ! command -v iptables >/dev/null; then PKGS+=(iptables); fi
if [ "$MININET" = 1 ] && { ! [ -x /usr/bin/mn ] || ! /usr/bin/python3 -c 'import mininet.net' 2>/dev/null; }; then
    PKGS+=(mininet bridge-utils iputils-ping curl)
fi
if [ "${#PKGS[@]}" -gt 0 ]; then
    echo "== installing ${PKGS[*]}"
    (apt-get update && apt-get install -y --no-install-recommends "${PKGS[@]}") >"$RESULTS/apt.log" 2>&1 || true
fi
if [ "$NETNS" = 1 ] && ! command -v iptables >/dev/null; then
    echo "$PROG: iptables is not installed and could not be installed (see $RESULTS/apt.log)" >&2
fi

SCN_ARGS=(--nodes "$NODES" --writes "$WRITES" --artifacts "$RESULTS")
[ -n "$ONLY" ] && SCN_ARGS+=(--only "$ONLY")
EXTRA_FAILS=()

if [ "$NETNS" = 1 ]; then
    echo "== namespace cluster"
    timeout -s INT "$PART_TIMEOUT" python3 "$HERE/scenarios.py" "${SCN_ARGS[@]}" --json "$RESULTS/netns.json" \
        2>&1 | tee "$RESULTS/netns.out"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && EXTRA_FAILS+=("netns: timed out after $PART_TIMEOUT s")
    "$HERE/netns-cluster.sh" down >/dev/null 2>&1 || true
fi

if [ "$MININET" = 1 ]; then
    echo "== Mininet ($SWITCH)"
    if /usr/bin/python3 -c 'import mininet.net' 2>/dev/null; then
        timeout -s INT "$PART_TIMEOUT" /usr/bin/python3 "$HERE/scenarios.py" --mininet --switch "$SWITCH" \
            "${SCN_ARGS[@]}" --json "$RESULTS/mininet.json" 2>&1 | tee "$RESULTS/mininet.out"
        rc=${PIPESTATUS[0]}
        [ "$rc" = 124 ] && EXTRA_FAILS+=("mininet: timed out after $PART_TIMEOUT s")
        /usr/bin/python3 "$HERE/mininet_topo.py" --cleanup >/dev/null 2>&1 || true
    else
        EXTRA_FAILS+=("mininet: not available (install failed, see $RESULTS/apt.log)")
    fi
fi
cleanup
trap - INT TERM

# Leftovers check (namespaces, links, addresses this suite could have made).
LEFT=$( { ip netns list | grep -E '^bbtest[0-9]' ; ip -o link show | grep -E 'bbtest-|bbroot-| s1(-eth[0-9]+)?[:@]' ; } 2>/dev/null || true)
[ -z "$LEFT" ] || EXTRA_FAILS+=("cleanup: left over: $(echo "$LEFT" | awk '{print $1,$2}' | tr '\n' ' ')")

echo
echo "== verdicts"
PASS=0; FAIL=0
EXPECTED=$(if [ -n "$ONLY" ]; then tr ',' '\n' <<<"$ONLY"; else python3 "$HERE/scenarios.py" --list; fi | grep -c .)
for backend in netns mininet; do
    f="$RESULTS/$backend.out"
    if [ "$backend" = netns ] && [ "$NETNS" = 0 ]; then continue; fi
    if [ "$backend" = mininet ] && [ "$MININET" = 0 ]; then continue; fi
    [ -f "$f" ] || continue
    got=0
    while read -r _ name verdict rest; do
        echo "$verdict $name ${rest}"
        got=$((got + 1))
        if [ "$verdict" = PASS ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
    done < <(grep '^RESULT ' "$f")
    if [ "$got" -lt "$EXPECTED" ]; then
        EXTRA_FAILS+=("$backend: only $got of $EXPECTED scenarios reported a result (see $f)")
    fi
done
for e in "${EXTRA_FAILS[@]+"${EXTRA_FAILS[@]}"}"; do
    echo "FAIL $e"; FAIL=$((FAIL + 1))
done
echo "logs and JSON: $RESULTS"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ] && [ "$PASS" -gt 0 ]
