#!/usr/bin/env bash
# The "done when" of issue 9, tried as a new user would: build the static
# binary, copy that ONE file into a minimal root file system of an OLDER
# Debian release (debootstrap), and run a 3-node cluster inside it with
# chroot, on loopback. Needs root.
set -euo pipefail

CACHE=/var/tmp/bb-debootstrap
# Release and mirror, tried in order: Debian 11, then Debian 10 (archived).
RELEASES=("bullseye http://deb.debian.org/debian" "buster http://archive.debian.org/debian")
UDP_PORTS=(23201 23202 23203)
HTTP_PORTS=(23301 23302 23303)
DEBOOTSTRAP_TIMEOUT=${BB_DEBOOTSTRAP_TIMEOUT:-1200}
LEADER_WAIT=${BB_LEADER_WAIT:-10}
STOP_WAIT=10

usage() {
    cat <<EOF
Usage: scripts/deploy-test.sh [--help] [--binary PATH] [--release NAME] [--bare] [--fresh]

Run as root. Steps:
  1. build the static binary with scripts/build-static.sh (or take --binary);
  2. make a minimal root file system of a Debian release OLDER than this host
     with \`debootstrap --variant=minbase\` (installs debootstrap with apt-get if
     missing), cached in $CACHE/RELEASE so reruns are fast.
     Tried in order: ${RELEASES[*]%% *} (or --release NAME).
     If no archive can be reached, falls back to a bare root directory that
     holds only the binary and a mounted /proc, and says so (--bare forces it);
  3. copy the ONE binary to ROOT/blackboard, mount /proc in ROOT;
  4. if a dynamically linked build (target/release/blackboard) exists, show
     that it does NOT run in the older root (informational, never fails);
  5. run three nodes with \`chroot ROOT /blackboard node ...\` on 127.0.0.1
     (UDP ${UDP_PORTS[*]}, HTTP ${HTTP_PORTS[*]}) and check: a leader is
     elected and agreed on, the built-in page is served, a POST answers 201
     and reaches every node, SIGTERM stops every node with exit code 0.
Processes, the /proc mount and the copied binary are always cleaned up; the
cached root file system stays (--fresh rebuilds it).

Prints PASS/FAIL lines and a final line "N passed, M failed".

Options:
  --binary PATH   deploy this binary instead of building one
  --release NAME  debootstrap this Debian release (mirror deb.debian.org,
                  archive.debian.org for buster and older)
  --bare          skip debootstrap: bare root with only the binary and /proc
  --fresh         delete the cached root file system and debootstrap again
Environment: BB_DEBOOTSTRAP_TIMEOUT (seconds, default 1200), BB_LEADER_WAIT,
BB_BUILD_TIMEOUT (passed to build-static.sh).
Exit status: 0 all passed, 1 a check failed, 2 bad arguments or not root.
EOF
}

binary=""
release=""
bare=0
fresh=0
while (($#)); do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --binary)
            [[ $# -ge 2 ]] || { echo "deploy-test.sh: --binary needs a path" >&2; exit 2; }
            binary=$2; shift 2 ;;
        --release)
            [[ $# -ge 2 ]] || { echo "deploy-test.sh: --release needs a name" >&2; exit 2; }
            release=$2; shift 2 ;;
        --bare) bare=1; shift ;;
        --fresh) fresh=1; shift ;;
        *) echo "deploy-test.sh: unknown argument \`$1\` (try --help)" >&2; exit 2 ;;
    esac
done
if [[ -n "$release" ]]; then
    case "$release" in
        jessie | stretch | buster) RELEASES=("$release http://archive.debian.org/debian") ;;
        *) RELEASES=("$release http://deb.debian.org/debian") ;;
    esac
fi
if ((EUID != 0)); then
    echo "deploy-test.sh: must run as root (debootstrap, chroot, mount)" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=$(mktemp -d /tmp/bb-deploy-test.XXXXXX)
root=""        # the root file system the nodes run in
bare_root=""   # set when root is a temporary bare directory we must remove
pids=()

log() { echo "deploy-test: $*"; }

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
    if [[ -n "$root" ]]; then
        if mountpoint -q "$root/proc" 2>/dev/null; then
            umount "$root/proc" 2>/dev/null || umount -l "$root/proc" 2>/dev/null || true
        fi
        rm -f "$root/blackboard" "$root/blackboard-gnu"
    fi
    # A bare root is ours alone: remove it, but never while anything is mounted in it.
    if [[ -n "$bare_root" && -d "$bare_root" ]]; then
        if ! grep -q " $bare_root/" /proc/mounts; then
            rm -rf "$bare_root"
        else
            echo "deploy-test: WARNING: $bare_root still has mounts; left in place" >&2
        fi
    fi
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

# --- 1. build -------------------------------------------------------------------
if [[ -z "$binary" ]]; then
    log "building the static binary (scripts/build-static.sh)"
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
echo "binary: $binary, $(stat -c %s "$binary") bytes; $(file -b "$binary" 2>/dev/null || true)"

# --- 2. root file system --------------------------------------------------------
host_version=$(. /etc/os-release && echo "${PRETTY_NAME:-unknown}")
host_major=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo "")

debootstrap_root() { # release mirror -> prints the root directory, or fails
    local rel=$1 mirror=$2 dir="$CACHE/$1"
    if ((fresh)); then rm -rf "$dir" "$dir.partial"; fi
    if [[ -f "$dir/.bb-debootstrap-complete" ]]; then
        log "using cached $rel root in $dir" >&2
        echo "$dir"
        return 0
    fi
    rm -rf "$dir.partial"
    mkdir -p "$CACHE"
    log "debootstrap --variant=minbase $rel $dir $mirror (at most ${DEBOOTSTRAP_TIMEOUT} s)" >&2
    if timeout "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase "$rel" "$dir.partial" "$mirror" \
        >"$work/debootstrap-$rel.log" 2>&1; then
        # Only a complete root becomes the cache.
        touch "$dir.partial/.bb-debootstrap-complete"
        rm -rf "$dir"
        mv "$dir.partial" "$dir"
        echo "$dir"
        return 0
    fi
    log "debootstrap $rel failed; last lines of its log:" >&2
    tail -n 5 "$work/debootstrap-$rel.log" | sed 's/^/    /' >&2
    # A failed run may have left mounts (proc, sys) in the partial root.
    grep -o " $dir.partial/[^ ]*" /proc/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    grep -q " $dir.partial/" /proc/mounts || rm -rf "$dir.partial"
    return 1
}

if ((!bare)); then
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap (apt-get)"
        timeout 600 apt-get install -y -q debootstrap >"$work/apt.log" 2>&1 ||
            { timeout 300 apt-get update -q >>"$work/apt.log" 2>&1 &&
                timeout 600 apt-get install -y -q debootstrap >>"$work/apt.log" 2>&1; } ||
            log "could not install debootstrap: $(tail -n 1 "$work/apt.log")"
    fi
    if command -v debootstrap >/dev/null; then
        for entry in "${RELEASES[@]}"; do
            read -r rel mirror <<<"$entry"
            if dir=$(debootstrap_root "$rel" "$mirror"); then
                root=$dir
                break
            fi
        done
    fi
    if [[ -z "$root" ]]; then
        log "NOTE: debootstrap could not build an older Debian root; FALLING BACK to a bare"
        log "      root directory with only the binary and /proc. This shows the binary"
        log "      needs no library at all, but it is not a test on an older distribution."
    fi
fi
if [[ -z "$root" ]]; then
    bare_root=$(mktemp -d /tmp/bb-bare-root.XXXXXX)
    root=$bare_root
    mkdir -p "$root/proc"
fi

if [[ -f "$root/etc/debian_version" ]]; then
    root_version="Debian $(cat "$root/etc/debian_version")"
    root_major=$(cut -d. -f1 "$root/etc/debian_version")
    root_glibc=$(chroot "$root" /bin/sh -c 'ldd --version 2>/dev/null | head -n 1' || true)
    echo "host:  $host_version (debian_version $(cat /etc/debian_version 2>/dev/null)), $(ldd --version 2>/dev/null | head -n 1)"
    echo "root:  $root_version in $root, ${root_glibc:-glibc unknown}"
    if [[ "$root_major" =~ ^[0-9]+$ && "$host_major" =~ ^[0-9]+$ ]] && ((root_major < host_major)); then
        pass "root file system is $root_version, older than the host ($host_version)"
    else
        fail "root file system ($root_version) is not older than the host ($host_version)"
    fi
else
    echo "root:  bare directory $root (no distribution, no libraries)"
fi

# --- 3. copy the ONE file, mount /proc ----------------------------------------------
install -m 0755 "$binary" "$root/blackboard"
mkdir -p "$root/proc"
if ! mountpoint -q "$root/proc"; then
    mount -t proc proc "$root/proc"
fi
log "copied one file: $root/blackboard ($(stat -c %s "$root/blackboard") bytes); mounted $root/proc"

# --- 4. the problem the issue is about (informational) ---------------------------------
gnu="$repo/target/release/blackboard"
if [[ -x "$gnu" && -f "$root/etc/debian_version" ]] && file -b "$gnu" | grep -q "dynamically linked"; then
    install -m 0755 "$gnu" "$root/blackboard-gnu"
    out=$(timeout 10 chroot "$root" /blackboard-gnu --version 2>&1 || true)
    echo "INFO: dynamically linked target/release/blackboard in the older root says:"
    echo "$out" | head -n 4 | sed 's/^/    /'
    rm -f "$root/blackboard-gnu"
else
    echo "INFO: no dynamically linked target/release/blackboard to compare with (skipped)"
fi

# --- 5. run the cluster inside the root ---------------------------------------------------
out=$(timeout 10 chroot "$root" /blackboard --version 2>&1 || true)
if [[ "$out" == "blackboard "* ]]; then
    pass "chroot $root /blackboard --version: $out"
else
    fail "chroot $root /blackboard --version: $out"
fi

busy=""
if command -v ss >/dev/null; then
    for p in "${UDP_PORTS[@]}" "${HTTP_PORTS[@]}"; do
        if ss -Hlnu "sport = :$p" | grep -q . || ss -Hlnt "sport = :$p" | grep -q .; then
            busy="$busy $p"
        fi
    done
fi
if [[ -n "$busy" ]]; then
    fail "ports already in use on 127.0.0.1:$busy"
    finish
fi

peers=""
for i in 1 2 3; do
    peers="${peers:+$peers,}$i=127.0.0.1:${UDP_PORTS[i - 1]}"
done
for i in 1 2 3; do
    # chroot execs the node, so $! is the node itself (signals, exit code).
    chroot "$root" /blackboard node --id "$i" --peers "$peers" \
        --http "127.0.0.1:${HTTP_PORTS[i - 1]}" --log-level warn >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
log "started: chroot $root /blackboard node --id {1,2,3} --peers $peers --http 127.0.0.1:{${HTTP_PORTS[*]}} (pids ${pids[*]})"

status_field() { # JSON on stdin, field name -> first top-level value
    grep -oE "\"$1\":(null|[0-9]+|\"[a-z]+\")" | head -n 1 | cut -d: -f2 | tr -d '"'
}

leader=""
leaders=()
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
    pass "inside the root: leader elected, node $leader, all 3 nodes agree"
else
    fail "inside the root: no agreed leader within ${LEADER_WAIT} s (last seen: ${leaders[*]:-none})"
fi

code=$(curl -s --max-time 5 -o "$work/page.html" -w '%{http_code}' "http://127.0.0.1:${HTTP_PORTS[1]}/" || true)
if [[ "$code" == 200 ]] && grep -qi "<html" "$work/page.html"; then
    pass "built-in page served from the one file: GET / -> 200, $(stat -c %s "$work/page.html") bytes of HTML"
else
    fail "GET / on node 2 -> ${code:-no answer}"
fi

code=$(curl -s --max-time 5 -o "$work/post.out" -w '%{http_code}' \
    -d entry=deploy-ok -X POST "http://127.0.0.1:${HTTP_PORTS[0]}/board" || true)
if [[ "$code" == 201 ]]; then
    pass "POST entry=deploy-ok to node 1 -> 201 $(cat "$work/post.out")"
else
    fail "POST entry=deploy-ok to node 1 -> ${code:-no answer} $(cat "$work/post.out" 2>/dev/null)"
fi

have=0
deadline=$((SECONDS + 5))
while ((SECONDS < deadline)); do
    have=0
    for p in "${HTTP_PORTS[@]}"; do
        if curl -sf --max-time 1 "http://127.0.0.1:$p/board" 2>/dev/null | grep -q '"deploy-ok"'; then
            have=$((have + 1))
        fi
    done
    ((have == 3)) && break
    sleep 0.2
done
if ((have == 3)); then
    pass "entry deploy-ok is on all 3 boards"
else
    fail "entry deploy-ok is on $have of 3 boards after 5 s"
fi

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
        pass "node $i (in chroot) exited 0 on SIGTERM"
    else
        fail "node $i (in chroot) exited $rc on SIGTERM; its log:"
        sed 's/^/    /' "$work/node$i.log"
    fi
done
pids=()

finish
