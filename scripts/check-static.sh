#!/usr/bin/env bash
# Checks the static release binary: built by build-static.sh, statically
# linked, at most 2 MiB, and working as a 3-node cluster on 127.0.0.1.
set -euo pipefail

MAX_BYTES=${BB_MAX_BYTES:-2097152}   # 2 MiB
UDP_PORTS=(23001 23002 23003)
HTTP_PORTS=(23101 23102 23103)
LEADER_WAIT=${BB_LEADER_WAIT:-10}    # seconds
STOP_WAIT=10                         # seconds for a node to exit after SIGTERM

usage() {
    cat <<EOF
Usage: scripts/check-static.sh [--help] [--binary PATH]

Builds the static binary with scripts/build-static.sh (unless --binary is
given) and checks that it
  1. is statically linked (ldd: "not a dynamic executable" / "statically
     linked", or file: "statically linked" / "static-pie linked");
  2. is at most $MAX_BYTES bytes (2 MiB);
  3. runs as a 3-node cluster on 127.0.0.1 (UDP ${UDP_PORTS[*]},
     HTTP ${HTTP_PORTS[*]}): a leader is elected within ${LEADER_WAIT} s, all
     nodes agree on it, POST entry=static-ok to node 1 answers 201, and the
     entry reaches every node;
  4. stops cleanly: every node exits 0 on SIGTERM within ${STOP_WAIT} s.

Prints one PASS/FAIL line per check and a final line "N passed, M failed".
Nodes and temporary files are always cleaned up.

Options:
  --binary PATH   check this binary instead of building one

Environment: BB_MAX_BYTES (size limit), BB_LEADER_WAIT (seconds),
BB_BUILD_TIMEOUT (passed to build-static.sh).
Exit status: 0 all passed, 1 a check failed, 2 bad arguments.
EOF
}

binary=""
while (($#)); do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --binary)
            [[ $# -ge 2 ]] || { echo "check-static.sh: --binary needs a path" >&2; exit 2; }
            binary=$2; shift 2 ;;
        *) echo "check-static.sh: unknown argument \`$1\` (try --help)" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/bb-check-static.XXXXXX)
pids=()

cleanup() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed"
    if ((failed > 0)); then exit 1; fi
    exit 0
}

# --- build --------------------------------------------------------------
if [[ -z "$binary" ]]; then
    if "$here/build-static.sh" >"$work/build.out"; then
        cat "$work/build.out"
        binary=$(sed -n 's/^path: //p' "$work/build.out")
        pass "static build ($binary)"
    else
        cat "$work/build.out"
        fail "static build (scripts/build-static.sh failed)"
        finish
    fi
fi
if [[ ! -x "$binary" ]]; then
    fail "binary $binary does not exist or is not executable"
    finish
fi

# --- statically linked ----------------------------------------------------
ldd_out=$(ldd "$binary" 2>&1 || true)
file_out=$(file -b "$binary" 2>&1 || true)
echo "ldd:  $(echo "$ldd_out" | tr -s '\t\n' '  ' | sed 's/^ *//; s/ *$//')"
echo "file: $file_out"
if grep -qE "not a dynamic executable|statically linked" <<<"$ldd_out" ||
    grep -qE "statically linked|static-pie linked" <<<"$file_out"; then
    pass "binary is statically linked"
else
    fail "binary is dynamically linked (ldd: $(echo "$ldd_out" | head -n 3 | tr -s '\t\n' '  ')...)"
fi

# --- size -------------------------------------------------------------------
bytes=$(stat -c %s "$binary")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
if ((bytes <= MAX_BYTES)); then
    pass "size $bytes bytes ($mib MiB) <= $MAX_BYTES bytes"
else
    fail "size $bytes bytes ($mib MiB) > $MAX_BYTES bytes; try [profile.release] opt-level = \"s\" (or \"z\") in Cargo.toml"
fi

# --- 3-node cluster ---------------------------------------------------------
port_busy() {
    # ss is in iproute2; without it, assume free (the node then fails loudly).
    command -v ss >/dev/null || return 1
    ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . ||
        ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .
}
busy=""
for p in "${UDP_PORTS[@]}" "${HTTP_PORTS[@]}"; do
    if port_busy "$p"; then busy="$busy $p"; fi
done
if [[ -n "$busy" ]]; then
    fail "ports already in use on 127.0.0.1:$busy"
    finish
fi

peers=""
for i in 1 2 3; do
    peers="${peers:+$peers,}$i=127.0.0.1:${UDP_PORTS[i - 1]}"
done
for i in 1 2 3; do
    "$binary" node --id "$i" --peers "$peers" --http "127.0.0.1:${HTTP_PORTS[i - 1]}" \
        --log-level warn >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
echo "started nodes: pids ${pids[*]}"

status_field() { # JSON on stdin, field name -> first top-level value
    grep -oE "\"$1\":(null|[0-9]+|\"[a-z]+\")" | head -n 1 | cut -d: -f2 | tr -d '"'
}

leader=""
deadline=$((SECONDS + LEADER_WAIT))
while ((SECONDS < deadline)); do
    leaders=()
    for p in "${HTTP_PORTS[@]}"; do
        l=$(curl -sf --max-time 1 "http://127.0.0.1:$p/status" 2>/dev/null | status_field leader || true)
        leaders+=("${l:-none}")
    done
    if [[ "${leaders[0]}" =~ ^[0-9]+$ && "${leaders[0]}" == "${leaders[1]}" && "${leaders[0]}" == "${leaders[2]}" ]]; then
        role=$(curl -sf --max-time 1 "http://127.0.0.1:${HTTP_PORTS[leaders[0] - 1]}/status" | status_field role || true)
        if [[ "$role" == leader ]]; then
            leader=${leaders[0]}
            break
        fi
    fi
    sleep 0.2
done
if [[ -n "$leader" ]]; then
    pass "leader elected: node $leader, all 3 nodes agree"
else
    fail "no agreed leader within ${LEADER_WAIT} s (last seen: ${leaders[*]:-none})"
fi

code=$(curl -s --max-time 5 -o "$work/post.out" -w '%{http_code}' \
    -d entry=static-ok -X POST "http://127.0.0.1:${HTTP_PORTS[0]}/board" || true)
if [[ "$code" == 201 ]]; then
    pass "POST entry=static-ok to node 1 -> 201 $(cat "$work/post.out")"
else
    fail "POST entry=static-ok to node 1 -> ${code:-no answer} $(cat "$work/post.out" 2>/dev/null)"
fi

have=0
deadline=$((SECONDS + 5))
while ((SECONDS < deadline)); do
    have=0
    for p in "${HTTP_PORTS[@]}"; do
        if curl -sf --max-time 1 "http://127.0.0.1:$p/board" 2>/dev/null | grep -q '"static-ok"'; then
            have=$((have + 1))
        fi
    done
    ((have == 3)) && break
    sleep 0.2
done
if ((have == 3)); then
    pass "entry static-ok is on all 3 boards"
else
    fail "entry static-ok is on $have of 3 boards after 5 s"
fi

# --- clean stop ---------------------------------------------------------------
for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
done
for i in 1 2 3; do
    pid=${pids[i - 1]}
    for ((t = 0; t < STOP_WAIT * 10; t++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        fail "node $i did not exit within ${STOP_WAIT} s of SIGTERM (killed)"
        continue
    fi
    rc=0
    wait "$pid" || rc=$?
    if ((rc == 0)); then
        pass "node $i exited 0 on SIGTERM"
    else
        fail "node $i exited $rc on SIGTERM; its log:"
        sed 's/^/    /' "$work/node$i.log"
    fi
done
pids=()

finish
