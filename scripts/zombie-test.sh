#!/usr/bin/env bash
# zombie-test.sh - a node paused across its own restart stops with a clear message.
#
# The story (root; network namespaces, see netns-cluster.sh):
#   3 nodes elect a leader; node 3's process is paused (SIGSTOP) and its link cut;
#   a twin namespace with node 3's address starts node 3 anew, the cluster takes
#   the new start in, and the twin dies (kill -9); node 3's link comes back and the
#   old process resumes (SIGCONT). Every member now refuses the old boot's
#   datagrams; the old process must learn it is superseded and exit with a log
#   line that says so, instead of living on as a follower whose writes all fail.
# Prints "zombie test: passed ..." last and exits 0, or says what went wrong and exits 1.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
NC="$HERE/netns-cluster.sh"
export BB_STATE_DIR=${BB_STATE_DIR:-/tmp/bb-zombie}
NET=10.1.0
TWIN=bbtwin3
TWIN_VETH=bbtwin-v3
BRIDGE=bbtest-br

[ "$(id -u)" = 0 ] || { echo "zombie-test.sh: must run as root" >&2; exit 2; }
BIN=${BLACKBOARD:-$REPO/target/release/blackboard}
[ -x "$BIN" ] || BIN=$REPO/target/debug/blackboard
[ -x "$BIN" ] || { echo "zombie-test.sh: no blackboard binary (cargo build --release)" >&2; exit 2; }
export BLACKBOARD=$BIN

twin_pid=""
old_pid=""
cleanup() {
    [ -n "$old_pid" ] && kill -CONT "$old_pid" 2>/dev/null
    [ -n "$twin_pid" ] && kill -9 "$twin_pid" 2>/dev/null
    ip netns del "$TWIN" 2>/dev/null
    "$NC" down >/dev/null 2>&1
}
trap cleanup EXIT
fail() { echo "zombie test: FAILED: $*"; echo "logs: $BB_STATE_DIR"; exit 1; }

status_of() { curl --noproxy '*' -s -m 1 "http://$NET.$1/status" 2>/dev/null; }
# poll SECONDS CONDITION...: true once the condition holds, checked every 100 ms.
poll() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
}
leader_agreed() {
    local l1 l2
    l1=$(status_of 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])' 2>/dev/null)
    l2=$(status_of 2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])' 2>/dev/null)
    [ -n "$l1" ] && [ "$l1" != None ] && [ "$l1" = "$l2" ]
}
# Both other members took the new start in (each retired the old boot).
boot_changed() {
    grep -q "node 3 restarted (new incarnation)" "$BB_STATE_DIR/node-1.log" &&
        grep -q "node 3 restarted (new incarnation)" "$BB_STATE_DIR/node-2.log"
}
gone() { ! kill -0 "$old_pid" 2>/dev/null; }

"$NC" down >/dev/null 2>&1
"$NC" up 3 >/dev/null || fail "netns-cluster.sh up 3"
poll 20 leader_agreed || fail "no leader among nodes 1 and 2 within 20 s"
curl --noproxy '*' -s -m 5 -o /dev/null -d entry=before "http://$NET.1/board" || fail "first post"
old_pid=$("$NC" pid 3) || fail "no pid for node 3"

kill -STOP "$old_pid"
"$NC" cut 3 >/dev/null

ip netns add "$TWIN"
ip link add "$TWIN_VETH" type veth peer name eth0 netns "$TWIN"
ip link set "$TWIN_VETH" master "$BRIDGE" up
ip -n "$TWIN" addr add "$NET.3/24" dev eth0
ip -n "$TWIN" link set lo up
ip -n "$TWIN" link set eth0 up
ip netns exec "$TWIN" "$BIN" node --id 3 --servers "$NET.1,$NET.2,$NET.3" \
    >>"$BB_STATE_DIR/twin-3.log" 2>&1 </dev/null &
twin_pid=$!
poll 20 boot_changed || fail "the cluster never took in node 3's new start"
kill -9 "$twin_pid"; wait "$twin_pid" 2>/dev/null; twin_pid=""
ip netns del "$TWIN"
# The peers' neighbour entries still point at the twin's interface.
for i in 1 2; do ip -n "bbtest$i" neigh flush all; done

"$NC" heal 3 >/dev/null
t0=$SECONDS
kill -CONT "$old_pid"
poll 15 gone || fail "the superseded process still runs 15 s after it resumed: $(status_of 3)"
line=$(grep -m1 "superseded by a newer start of node 3" "$BB_STATE_DIR/node-3.log") ||
    fail "node 3 exited without saying it was superseded: $(tail -3 "$BB_STATE_DIR/node-3.log")"
old_pid=""
poll 10 leader_agreed || fail "nodes 1 and 2 lost their leader"
echo "zombie test: passed: the resumed leftover of node 3 stopped within $((SECONDS - t0)) s, saying: ${line##*] }"
