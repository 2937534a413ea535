#!/usr/bin/env bash
# Builds the fully static release binary of blackboard (musl), the one file
# that is the whole deployment (the page is embedded with include_bytes).
set -euo pipefail

TARGET=x86_64-unknown-linux-musl
BUILD_TIMEOUT=${BB_BUILD_TIMEOUT:-2400}

usage() {
    cat <<EOF
Usage: scripts/build-static.sh [--help]

Builds a fully static blackboard binary:

    cargo build --release --target $TARGET --bin blackboard

- adds the rustup target $TARGET if it is not installed;
- tries the link without extra tools first; only if the link fails for lack
  of a musl C toolchain does it apt-get install musl-tools and try again;
- prints the binary's path, its size in bytes and MiB, and \`file\` output
  (installs \`file\` with apt-get if missing).

The last lines on stdout are machine readable:
    path: /abs/path/to/blackboard
    size: BYTES bytes (X.XX MiB)
    file: ...

Environment:
    BB_BUILD_TIMEOUT   seconds the cargo build may take, waiting for cargo's
                       lock included (default 2400)
    CARGO_PROFILE_RELEASE_*, CARGO_TARGET_DIR  are passed to cargo as usual,
                       e.g. CARGO_PROFILE_RELEASE_OPT_LEVEL=s to compare sizes.
Exit status: 0 built, 1 build failed.
EOF
}

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    "") ;;
    *) echo "build-static.sh: unknown argument \`$1\` (try --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."

log() { echo "build-static: $*" >&2; }

command -v cargo >/dev/null || { log "cargo not found"; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    log "adding rustup target $TARGET"
    timeout 600 rustup target add "$TARGET" >&2
fi

build_log=$(mktemp /tmp/bb-build-static.XXXXXX)
trap 'rm -f "$build_log"' EXIT

build() {
    log "cargo build --release --target $TARGET --bin blackboard"
    # stderr of cargo goes to the terminal and to a log we can inspect.
    timeout "$BUILD_TIMEOUT" cargo build --release --target "$TARGET" \
        --bin blackboard 2> >(tee "$build_log" >&2)
}

if ! build; then
    # Only a missing musl C toolchain is a reason to install anything.
    if grep -qE "musl-gcc|linker .* not found|error: linking with|x86_64-linux-musl-gcc" "$build_log"; then
        log "the link needs a musl C toolchain: apt-get install musl-tools"
        timeout 600 apt-get install -y -q musl-tools >&2
        build || { log "build failed (with musl-tools)"; exit 1; }
    else
        log "build failed"
        exit 1
    fi
fi

target_dir=${CARGO_TARGET_DIR:-}
if [[ -z "$target_dir" ]]; then
    target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
fi
[[ -n "$target_dir" ]] || target_dir="$PWD/target"
bin="$target_dir/$TARGET/release/blackboard"
[[ -x "$bin" ]] || { log "no binary at $bin"; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/blackboard

if ! command -v file >/dev/null; then
    log "installing \`file\`"
    timeout 600 apt-get install -y -q file >&2
fi

bytes=$(stat -c %s "$bin")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
echo "path: $bin"
echo "size: $bytes bytes ($mib MiB)"
echo "file: $(file -b "$bin")"
