#!/usr/bin/env bash
# wrk-load.sh [SECONDS] - load a 3-node local cluster with wrk (Debian's) and
# check that it holds: every answer is 201 or 503, no socket errors beyond
# what wrk's own timeouts cause, and every node still answers afterwards.
#
# Installs wrk with apt if it is missing (needs root then). Nodes on
# 127.0.0.1, HTTP 27101-27103, UDP 27001-27003. Prints a summary and
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
secs=${1:-10}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q
bin=target/release/blackboard
work=$(mktemp -d /tmp/bb-wrk.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

peers=1=127.0.0.1:27001,2=127.0.0.1:27002,3=127.0.0.1:27003
for i in 1 2 3; do
    "$bin" node --id "$i" --peers "$peers" --http "127.0.0.1:2710$i" --log-level warn 2>"$work/node-$i.log" &
    pids+=($!)
done
for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:27101/status | grep -q '"leader":[0-9]' && break
    sleep 0.1
done

cat >"$work/post.lua" <<'LUA'
local counter = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
request = function()
    counter = counter + 1
    return wrk.format("POST", "/board", {["Content-Type"] = "application/x-www-form-urlencoded"},
        "entry=wrk-" .. counter .. "-" .. math.random(1e9))
end
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end
    end
    for s, n in pairs(total) do io.write(string.format("status %d: %d\n", s, n)) end
    io.write(string.format("errors: connect %d read %d write %d timeout %d\n",
        summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
LUA

passed=0 failed=0
check() { if eval "$2"; then echo "PASS: $1"; passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }

wrk -t2 -c64 -d"${secs}s" --timeout 5s -s "$work/post.lua" http://127.0.0.1:27102/ | tee "$work/wrk.out"
check "every answer is 201 or 503" "! grep '^status' '$work/wrk.out' | grep -v -E '^status (201|503):'"
check "writes were acknowledged" "grep -q '^status 201: [1-9]' '$work/wrk.out'"
check "no connect, read or write errors" "grep -q '^errors: connect 0 read 0 write 0' '$work/wrk.out'"
for i in 1 2 3; do
    check "node $i answers after the load" "curl -sf -m 5 http://127.0.0.1:2710$i/status >/dev/null"
done
same_boards() {
    python3 - <<'PY'
import json, sys, time, urllib.request
def board(i):
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:2710{i}/board", timeout=5))
for _ in range(50):
    b = [board(i) for i in (1, 2, 3)]
    if all(x["seq"] == b[0]["seq"] and x["entries"] == b[0]["entries"] for x in b):
        print(f"  {len(b[0]['entries'])} entries at seq {b[0]['seq']} on every node")
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
}
check "every node shows the same board (same seq, same entries)" same_boards
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
