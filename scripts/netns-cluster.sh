#!/usr/bin/env bash
# netns-cluster.sh - a blackboard cluster in Linux network namespaces (no Mininet needed).
#
# Node i lives in namespace bbtest<i> with eth0 = 10.1.0.<i>/24, connected by a
# veth (host side bbtest-v<i>) to the bridge bbtest-br, which carries 10.1.0.254/24
# so that scripts on the host can reach every node's HTTP port.
# Run as root.  See --help.
set -Eeuo pipefail

PROG=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

NS_PREFIX=bbtest            # namespaces bbtest1..bbtestN
VETH_PREFIX=bbtest-v        # host-side veth bbtest-v1..   (<= 15 chars)
BRIDGE=bbtest-br
NET=10.1.0                  # node i = 10.1.0.i
HOST_IP=$NET.254            # the host's address on the bridge
UDP_PORT=7000
HTTP_PORT=80
STATE_DIR=${BB_STATE_DIR:-/tmp/bb-netns}
MAX_NODES=50

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

A blackboard cluster of N nodes in network namespaces (default N=5):
node i runs in namespace ${NS_PREFIX}i at $NET.i (HTTP :$HTTP_PORT, UDP :$UDP_PORT) as
    blackboard node --id i --servers $NET.1,...,$NET.N
All namespaces hang off one bridge ($BRIDGE, host address $HOST_IP/24), so the
host reaches every node at http://$NET.i/ .

Commands:
  up [N]            create N namespaces (default 5, max $MAX_NODES) and start the nodes;
                    cleans up everything if it fails or is interrupted
  down [--purge]    kill the nodes, delete namespaces, veths, bridge (and their
                    iptables rules); --purge also removes the state dir with the logs
  cut ID            take node ID's link down (host side of its veth): it is cut off
  heal ID           bring node ID's link back up
  loss ID|all PCT   drop PCT% of UDP datagrams on node ID's eth0, INPUT and OUTPUT
                    (iptables statistic inside the namespace); PCT 0 removes the rules
  partition IDS     node-to-node partition: nodes IDS (e.g. 1,2) and the others can
                    no longer exchange packets (iptables DROP in every namespace);
                    the host ($HOST_IP) still reaches all of them
  unpartition       remove the partition rules
  kill ID           kill -9 node ID's process (the namespace and link stay)
  restart ID        (re)start node ID: same id, same servers, empty state
                    (a running node is killed -9 first, i.e. a reboot)
  status            namespaces, links, processes, loss and each node's GET /status
  exec ID CMD...    run CMD inside node ID's namespace (e.g. curl http://$NET.ID/status)
  pid ID            print node ID's pid (exit 1 if not running)
  -h, --help        this help

Environment:
  BLACKBOARD     the binary (default: $REPO_DIR/target/release/blackboard,
                 then $REPO_DIR/target/debug/blackboard)
  BB_NODE_ARGS   extra arguments for every node (e.g. "--log-level debug")
  BB_NODE_CMD    replace the whole node command (a stand-in for plumbing tests);
                 {id}, {ip} and {servers} are substituted, e.g.
                 BB_NODE_CMD='python3 -m http.server 80 --bind {ip}'
  BB_STATE_DIR   pids and logs (default /tmp/bb-netns; node-ID.log, node-ID.pid)

Examples:
  $PROG up 5 && $PROG status
  $PROG cut 3; sleep 2; $PROG heal 3
  $PROG loss all 20; $PROG loss all 0
  $PROG exec 3 curl -s -d entry=hi http://$NET.3/board
  $PROG down
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

ns_of()   { echo "$NS_PREFIX$1"; }
veth_of() { echo "$VETH_PREFIX$1"; }
ip_of()   { echo "$NET.$1"; }

# Our namespaces (bbtest<number>), numerically sorted ids.
our_ids() {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$NS_PREFIX\([0-9][0-9]*\)\$/\1/p" | sort -n
}
node_count() {
    if [ -f "$STATE_DIR/nodes" ]; then cat "$STATE_DIR/nodes"; else our_ids | tail -1; fi
}
check_id() {
    local id=${1:-}
    [[ "$id" =~ ^[0-9]+$ ]] || die "bad node id '$id'"
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$(ns_of "$id")" \
        || die "node $id does not exist (is the cluster up?)"
}

find_binary() {
    if [ -n "${BLACKBOARD:-}" ]; then
        [ -x "$BLACKBOARD" ] || die "BLACKBOARD=$BLACKBOARD is not an executable"
        echo "$BLACKBOARD"; return
    fi
    local b
    for b in "$REPO_DIR/target/release/blackboard" "$REPO_DIR/target/debug/blackboard"; do
        if [ -x "$b" ]; then echo "$b"; return; fi
    done
    die "no blackboard binary: build it (cargo build --release) or set BLACKBOARD"
}

servers_list() {
    local n=$1 i s=""
    for ((i = 1; i <= n; i++)); do s+="${s:+,}$(ip_of "$i")"; done
    echo "$s"
}

# true if pid is a live process (a killed node can linger as a zombie until reaped)
pid_alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid of node ID if it is alive and really in its namespace, else nothing.
node_pid() {
    local id=$1 pf="$STATE_DIR/node-$1.pid" pid
    [ -f "$pf" ] || return 0
    pid=$(cat "$pf")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    pid_alive "$pid" || return 0
    # Only trust the pid if it belongs to our namespace.
    if [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$id")" ]; then echo "$pid"; fi
}

start_node() {
    local id=$1 n ns ip servers log cmd pid
    n=$(node_count); ns=$(ns_of "$id"); ip=$(ip_of "$id"); servers=$(servers_list "$n")
    log="$STATE_DIR/node-$id.log"
    if [ -n "${BB_NODE_CMD:-}" ]; then
        cmd=${BB_NODE_CMD//\{id\}/$id}; cmd=${cmd//\{ip\}/$ip}; cmd=${cmd//\{servers\}/$servers}
    else
        cmd="$(printf '%q' "$BIN") node --id $id --servers $servers ${BB_NODE_ARGS:-}"
    fi
    echo "=== $(date '+%F %T.%3N') start node $id: $cmd" >>"$log"
    # 'ip netns exec' execs the command, so $! is the node's own pid.
    # shellcheck disable=SC2086
    (cd "$STATE_DIR" && exec ip netns exec "$ns" $cmd) </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$STATE_DIR/node-$id.pid"
}

kill_node() {
    local id=$1 pid i
    pid=$(node_pid "$id")
    [ -n "$pid" ] || return 0
    kill -9 "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.02; done
    wait "$pid" 2>/dev/null || true
    echo "=== $(date '+%F %T.%3N') killed -9 node $id (pid $pid)" >>"$STATE_DIR/node-$id.log"
    rm -f "$STATE_DIR/node-$id.pid"
}

http_code() { # URL -> HTTP status code or 000
    curl --noproxy '*' -s -o /dev/null -m 1 -w '%{http_code}' "$1" 2>/dev/null || true
}

do_down() {
    local id ns pid i left
    trap - ERR INT TERM
    for id in $(our_ids); do
        ns=$(ns_of "$id")
        # Every process in our namespace was started by this script (node or exec).
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    # host-side veths and the bridge
    for i in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$VETH_PREFIX[0-9][0-9]*\$" || true); do
        ip link del "$i" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
    for id in $(our_ids); do ip netns del "$(ns_of "$id")" 2>/dev/null || true; done
    # namespace teardown is asynchronous: wait (bounded) until the links are gone
    for ((i = 0; i < 40; i++)); do
        left=$(ip -o link show 2>/dev/null | grep -c -e "$VETH_PREFIX[0-9]" -e "$BRIDGE" || true)
        [ "$left" = 0 ] && break
        sleep 0.05
    done
    rm -f "$STATE_DIR"/node-*.pid "$STATE_DIR/nodes"
    [ -z "$(our_ids)" ] || echo "$PROG: warning: namespaces left: $(our_ids | tr '\n' ' ')" >&2
    [ "${left:-0}" = 0 ] || echo "$PROG: warning: links left over" >&2
}

cmd_up() {
    local n=${1:-5} i ns veth ip pid code ok
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$MAX_NODES" ] || die "N must be 1..$MAX_NODES"
    if [ -n "$(our_ids)" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
        die "a cluster is already up (run '$PROG down' first)"
    fi
    if ip -o addr show 2>/dev/null | grep -q " $NET\.[0-9]*/"; then
        die "some interface already has an address in $NET.0/24 (Mininet still running?): $(ip -o addr show | grep " $NET\." | awk '{print $2, $4}' | tr '\n' ' ')"
    fi
    if [ -z "${BB_NODE_CMD:-}" ]; then BIN=$(find_binary); fi
    command -v iptables >/dev/null || echo "$PROG: warning: iptables missing: 'loss' and 'partition' will not work" >&2
    mkdir -p "$STATE_DIR"
    rm -f "$STATE_DIR"/node-*.log          # a fresh cluster gets fresh logs
    trap 'echo "$PROG: up failed or interrupted, cleaning up" >&2; do_down; exit 1' ERR INT TERM
    echo "$n" >"$STATE_DIR/nodes"
    ip link add "$BRIDGE" type bridge
    ip link set "$BRIDGE" up
    ip addr add "$HOST_IP/24" dev "$BRIDGE"
    for ((i = 1; i <= n; i++)); do
        ns=$(ns_of "$i"); veth=$(veth_of "$i"); ip=$(ip_of "$i")
        ip netns add "$ns"
        ip link add "$veth" type veth peer name eth0 netns "$ns"
        ip link set "$veth" master "$BRIDGE" up
        ip -n "$ns" addr add "$ip/24" dev eth0
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
    done
    for ((i = 1; i <= n; i++)); do start_node "$i"; done
    sleep 0.3
    for ((i = 1; i <= n; i++)); do
        pid=$(node_pid "$i")
        if [ -z "$pid" ]; then
            echo "$PROG: node $i exited at once; its log:" >&2
            tail -n 20 "$STATE_DIR/node-$i.log" >&2 || true
            false
        fi
    done
    # Wait (bounded, 5 s) until every node answers HTTP.
    if command -v curl >/dev/null; then
        for ((i = 1; i <= n; i++)); do
            ok=0
            for ((t = 0; t < 50; t++)); do
                code=$(http_code "http://$(ip_of "$i"):$HTTP_PORT/status")
                if [ -n "$code" ] && [ "$code" != 000 ]; then ok=1; break; fi
                [ -n "$(node_pid "$i")" ] || break
                sleep 0.1
            done
            [ "$ok" = 1 ] || echo "$PROG: warning: node $i does not answer HTTP yet" >&2
        done
    fi
    trap - ERR INT TERM
    for ((i = 1; i <= n; i++)); do
        echo "node $i pid $(node_pid "$i") ns $(ns_of "$i") http://$(ip_of "$i")/ log $STATE_DIR/node-$i.log"
    done
}

cmd_link() { # ID up|down
    check_id "$1"
    ip link set "$(veth_of "$1")" "$2"
    echo "node $1 link $2"
}

loss_one() { # ID PCT
    local id=$1 pct=$2 ns prob
    ns=$(ns_of "$id")
    # remove any previous rules (idempotent)
    ip netns exec "$ns" iptables -D INPUT -i eth0 -p udp -j BBLOSS 2>/dev/null || true
    ip netns exec "$ns" iptables -D OUTPUT -o eth0 -p udp -j BBLOSS 2>/dev/null || true
    ip netns exec "$ns" iptables -F BBLOSS 2>/dev/null || true
    ip netns exec "$ns" iptables -X BBLOSS 2>/dev/null || true
    if [ "$(awk -v p="$pct" 'BEGIN{print (p>0)}')" = 1 ]; then
        prob=$(awk -v p="$pct" 'BEGIN{printf "%.4f", p/100}')
        ip netns exec "$ns" iptables -N BBLOSS
        ip netns exec "$ns" iptables -A BBLOSS -m statistic --mode random --probability "$prob" -j DROP
        ip netns exec "$ns" iptables -A INPUT -i eth0 -p udp -j BBLOSS
        ip netns exec "$ns" iptables -A OUTPUT -o eth0 -p udp -j BBLOSS
        echo "node $id: dropping ${pct}% of UDP in and out"
    else
        echo "node $id: no loss"
    fi
}

cmd_loss() {
    local target=${1:-} pct=${2:-} id
    [ -n "$target" ] && [ -n "$pct" ] || die "usage: loss ID|all PCT"
    [[ "$pct" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v p="$pct" 'BEGIN{exit !(p<=100)}' || die "PCT must be 0..100"
    command -v iptables >/dev/null || die "iptables is not installed"
    if [ "$target" = all ]; then
        for id in $(our_ids); do loss_one "$id" "$pct"; done
    else
        check_id "$target"; loss_one "$target" "$pct"
    fi
}

cmd_unpartition() {
    local id ns
    for id in $(our_ids); do
        ns=$(ns_of "$id")
        ip netns exec "$ns" iptables -D INPUT -j BBPART 2>/dev/null || true
        ip netns exec "$ns" iptables -D OUTPUT -j BBPART 2>/dev/null || true
        ip netns exec "$ns" iptables -F BBPART 2>/dev/null || true
        ip netns exec "$ns" iptables -X BBPART 2>/dev/null || true
    done
    echo "no partition"
}

cmd_partition() {
    local ids=${1:-} id other ns in_a o_in_a
    [[ "$ids" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "usage: partition ID,ID,..."
    command -v iptables >/dev/null || die "iptables is not installed"
    for id in ${ids//,/ }; do check_id "$id"; done
    cmd_unpartition >/dev/null
    for id in $(our_ids); do
        ns=$(ns_of "$id")
        in_a=0; [[ ",$ids," == *",$id,"* ]] && in_a=1
        ip netns exec "$ns" iptables -N BBPART
        for other in $(our_ids); do
            o_in_a=0; [[ ",$ids," == *",$other,"* ]] && o_in_a=1
            if [ "$in_a" != "$o_in_a" ]; then
                ip netns exec "$ns" iptables -A BBPART -s "$(ip_of "$other")" -j DROP
                ip netns exec "$ns" iptables -A BBPART -d "$(ip_of "$other")" -j DROP
            fi
        done
        ip netns exec "$ns" iptables -A INPUT -j BBPART
        ip netns exec "$ns" iptables -A OUTPUT -j BBPART
    done
    echo "partition: {$ids} | {$(our_ids | grep -vxF -f <(tr ',' '\n' <<<"$ids") | paste -sd, -)}"
}

cmd_kill() {
    check_id "${1:-}"
    local pid; pid=$(node_pid "$1")
    [ -n "$pid" ] || { echo "node $1 is not running"; return 0; }
    kill_node "$1"
    echo "node $1 killed (pid $pid)"
}

cmd_restart() {
    check_id "${1:-}"
    [ -n "${BB_NODE_CMD:-}" ] || BIN=$(find_binary)
    kill_node "$1"
    start_node "$1"
    sleep 0.1
    local pid; pid=$(node_pid "$1")
    [ -n "$pid" ] || { tail -n 20 "$STATE_DIR/node-$1.log" >&2; die "node $1 did not start"; }
    echo "node $1 started (pid $pid)"
}

cmd_status() {
    local id ns veth link pid loss part st
    [ -n "$(our_ids)" ] || { echo "no cluster (no ${NS_PREFIX}N namespaces)"; return 0; }
    printf '%-4s %-9s %-5s %-8s %-6s %-5s %s\n' ID NS LINK PID LOSS PART STATUS
    for id in $(our_ids); do
        ns=$(ns_of "$id"); veth=$(veth_of "$id")
        if ip link show "$veth" 2>/dev/null | grep -q 'state UP\|,UP'; then link=up; else link=DOWN; fi
        pid=$(node_pid "$id"); pid=${pid:--}
        loss=$(ip netns exec "$ns" iptables -S BBLOSS 2>/dev/null | sed -n 's/.*--probability \([0-9.]*\).*/\1/p' | head -1 || true)
        [ -n "$loss" ] && loss=$(awk -v p="$loss" 'BEGIN{printf "%g%%", p*100}') || loss=-
        if ip netns exec "$ns" iptables -S BBPART >/dev/null 2>&1; then part=yes; else part=-; fi
        st=$(curl --noproxy '*' -s -m 1 "http://$(ip_of "$id")/status" 2>/dev/null | python3 -c '
import json,sys
try:
    d=json.load(sys.stdin)
    print("role=%s leader=%s epoch=%s seq=%s commit=%s" % (d.get("role"), d.get("leader"), d.get("epoch"), d.get("seq"), d.get("commit")))
except Exception:
    print("(no JSON /status)")' 2>/dev/null || true)
        [ -n "$st" ] || st="(unreachable)"
        printf '%-4s %-9s %-5s %-8s %-6s %-5s %s\n' "$id" "$ns" "$link" "$pid" "$loss" "$part" "$st"
    done
}

main() {
    local cmd=${1:-}
    case "$cmd" in
        -h|--help|help|"") usage; [ -n "$cmd" ] || exit 2; exit 0 ;;
    esac
    shift
    need_root
    case "$cmd" in
        up)          cmd_up "$@" ;;
        down)        mkdir -p "$STATE_DIR"; do_down; [ "${1:-}" = --purge ] && rm -rf "$STATE_DIR"; echo "down" ;;
        cut)         cmd_link "${1:-}" down ;;
        heal)        cmd_link "${1:-}" up ;;
        loss)        cmd_loss "$@" ;;
        partition)   cmd_partition "$@" ;;
        unpartition) cmd_unpartition ;;
        kill)        cmd_kill "$@" ;;
        restart)     cmd_restart "$@" ;;
        status)      cmd_status ;;
        pid)         check_id "${1:-}"; p=$(node_pid "$1"); [ -n "$p" ] || exit 1; echo "$p" ;;
        exec)        check_id "${1:-}"; id=$1; shift; [ $# -gt 0 ] || die "usage: exec ID CMD..."; exec ip netns exec "$(ns_of "$id")" "$@" ;;
        *)           echo "$PROG: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
    esac
}

main "$@"
