#!/usr/bin/env bash
# Real-browser tests of the blackboard page: builds the node, starts a 3-node cluster on 127.0.0.1,
# waits for a leader, runs test.js in Debian's headless Chromium, stops the nodes; then starts a
# demo-pace cluster with faults allowed and runs demo-test.js (timeline, diagrams, pace, faults).
# The nodes are always stopped.
#   tests/browser/run.sh            against real `blackboard node` processes
#   MOCK=1 tests/browser/run.sh     against mock-server.js (for page work without the Rust node)
#   TESTS=demo tests/browser/run.sh only one of the two ("main", "demo"; both by default)
# Exits non-zero on any failure. Screenshots and node logs go to tests/browser/artifacts/
# (the demo test's to artifacts/demo/).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARTIFACTS="$HERE/artifacts"
HTTP_PORTS=(18101 18102 18103)
UDP_PORTS=(17101 17102 17103)
DEMO_HTTP_PORTS=(25101 25102 25103)
DEMO_UDP_PORTS=(25201 25202 25203)
TESTS="${TESTS:-main demo}"
LEADER_WAIT_S=30
TEST_TIMEOUT_S=300

log() { echo "run.sh: $*" >&2; }

# ---- what the test needs ----
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  log "installing playwright-core (no browser download)"
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"

# Refuse to start on ports someone else holds: the test would talk to the wrong server.
for port in "${HTTP_PORTS[@]}" "${DEMO_HTTP_PORTS[@]}"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    log "port $port is already serving HTTP; stop that first"
    exit 1
  fi
done

# ---- the cluster ----
PIDS=()
# test.js restarts a killed node itself and writes its pid here, so the cleanup stops that one too.
RESTARTED="$ARTIFACTS/restarted.pids"
# Stops the given pids: SIGTERM, up to 2 s for a clean stop, then SIGKILL.
stop_pids() {
  [ "$#" -gt 0 ] || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}
cleanup() {
  if [ -f "$RESTARTED" ]; then
    while read -r pid; do PIDS+=("$pid"); done <"$RESTARTED"
  fi
  stop_pids "${PIDS[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIN=""
if [ "${MOCK:-0}" != 1 ]; then
  log "building the node (cargo build)"
  (cd "$ROOT" && cargo build)
  BIN="$ROOT/target/debug/blackboard"
fi

# Starts a 3-node cluster and waits for its leader. Sets NODES, PID_MAP, PEERS, CLUSTER_PIDS, leader.
#   start_cluster LOG_PREFIX "HTTP PORTS" "UDP PORTS" [extra node options...]
start_cluster() {
  local prefix="$1" http=($2) udp=($3)
  shift 3
  NODES="" PID_MAP="" PEERS="" CLUSTER_PIDS=()
  local urls=() i
  if [ "${MOCK:-0}" = 1 ]; then
    node "$HERE/mock-server.js" "${http[@]}" >"$ARTIFACTS/${prefix}mock.log" 2>&1 &
    CLUSTER_PIDS+=($!)
    for i in 1 2 3; do PID_MAP+="$i=${CLUSTER_PIDS[0]},"; done
  else
    PEERS="1=127.0.0.1:${udp[0]},2=127.0.0.1:${udp[1]},3=127.0.0.1:${udp[2]}"
    for i in 1 2 3; do
      "$BIN" node --id "$i" --peers "$PEERS" --http "127.0.0.1:${http[$((i - 1))]}" "$@" \
        >"$ARTIFACTS/${prefix}node$i.log" 2>&1 &
      CLUSTER_PIDS+=($!)
      PID_MAP+="$i=$!,"
      disown "$!"   # the test kills the leader on purpose; spare us bash's "Killed" job notice
    done
  fi
  PIDS+=("${CLUSTER_PIDS[@]}")
  for i in 1 2 3; do
    urls+=("http://127.0.0.1:${http[$((i - 1))]}")
    NODES+="$i=${urls[$((i - 1))]},"
  done
  log "nodes: ${NODES%,}  pids: ${PID_MAP%,}"
  if ! leader="$(node "$HERE/wait-leader.js" "$LEADER_WAIT_S" "${urls[@]}")"; then
    log "cluster did not elect a leader; node logs are in $ARTIFACTS"
    return 1
  fi
  log "leader is node $leader"
}

FAILED=0

# ---- the page's board, failover and restart ----
if [[ " $TESTS " == *" main "* ]]; then
  start_cluster "" "${HTTP_PORTS[*]}" "${UDP_PORTS[*]}"
  BB_NODES="${NODES%,}" BB_PIDS="${PID_MAP%,}" BB_MOCK="${MOCK:-0}" \
    BB_BIN="$BIN" BB_PEERS="$PEERS" BB_RESTARTED="$RESTARTED" \
    timeout "$TEST_TIMEOUT_S" node "$HERE/test.js" || FAILED=1
  # Two clusters at once would share 2 cores; the restarted node's pid is in $RESTARTED for cleanup.
  stop_pids "${CLUSTER_PIDS[@]}"
fi

# ---- the protocol's story: timeline, diagrams, pace and faults at demo pace ----
if [[ " $TESTS " == *" demo "* ]]; then
  start_cluster "demo-" "${DEMO_HTTP_PORTS[*]}" "${DEMO_UDP_PORTS[*]}" --pace demo --allow-faults
  BB_NODES="${NODES%,}" BB_MOCK="${MOCK:-0}" BB_ARTIFACTS="$ARTIFACTS/demo" \
    timeout "$TEST_TIMEOUT_S" node "$HERE/demo-test.js" || FAILED=1
fi

exit "$FAILED"
