#!/usr/bin/env bash
# Real-browser test of the blackboard page: builds the node, starts a 3-node cluster on 127.0.0.1,
# waits for a leader, runs test.js in Debian's headless Chromium, and always stops the nodes.
#   tests/browser/run.sh            against real `blackboard node` processes
#   MOCK=1 tests/browser/run.sh     against mock-server.js (for page work without the Rust node)
# Exits non-zero on any failure. Screenshots and node logs go to tests/browser/artifacts/.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARTIFACTS="$HERE/artifacts"
HTTP_PORTS=(18101 18102 18103)
UDP_PORTS=(17101 17102 17103)
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
for port in "${HTTP_PORTS[@]}"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    log "port $port is already serving HTTP; stop that first"
    exit 1
  fi
done

# ---- the cluster ----
PIDS=()
# test.js restarts a killed node itself and writes its pid here, so the cleanup stops that one too.
RESTARTED="$ARTIFACTS/restarted.pids"
cleanup() {
  if [ -f "$RESTARTED" ]; then
    while read -r pid; do PIDS+=("$pid"); done <"$RESTARTED"
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do   # up to 2 s for a clean stop, then SIGKILL
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NODES=""
PID_MAP=""
URLS=()
BIN=""
PEERS=""
if [ "${MOCK:-0}" = 1 ]; then
  node "$HERE/mock-server.js" "${HTTP_PORTS[@]}" >"$ARTIFACTS/mock.log" 2>&1 &
  PIDS+=($!)
  for i in 1 2 3; do PID_MAP+="$i=${PIDS[0]},"; done
else
  log "building the node (cargo build)"
  (cd "$ROOT" && cargo build)
  BIN="$ROOT/target/debug/blackboard"
  PEERS="1=127.0.0.1:${UDP_PORTS[0]},2=127.0.0.1:${UDP_PORTS[1]},3=127.0.0.1:${UDP_PORTS[2]}"
  for i in 1 2 3; do
    "$BIN" node --id "$i" --peers "$PEERS" --http "127.0.0.1:${HTTP_PORTS[$((i - 1))]}" \
      >"$ARTIFACTS/node$i.log" 2>&1 &
    PIDS+=($!)
    PID_MAP+="$i=$!,"
    disown "$!"   # the test kills the leader on purpose; spare us bash's "Killed" job notice
  done
fi
for i in 1 2 3; do
  URLS+=("http://127.0.0.1:${HTTP_PORTS[$((i - 1))]}")
  NODES+="$i=${URLS[$((i - 1))]},"
done
log "nodes: ${NODES%,}  pids: ${PID_MAP%,}"

if ! leader="$(node "$HERE/wait-leader.js" "$LEADER_WAIT_S" "${URLS[@]}")"; then
  log "cluster did not elect a leader; node logs are in $ARTIFACTS"
  exit 1
fi
log "leader is node $leader"

# ---- the test ----
BB_NODES="${NODES%,}" BB_PIDS="${PID_MAP%,}" BB_MOCK="${MOCK:-0}" \
  BB_BIN="$BIN" BB_PEERS="$PEERS" BB_RESTARTED="$RESTARTED" \
  timeout "$TEST_TIMEOUT_S" node "$HERE/test.js"
