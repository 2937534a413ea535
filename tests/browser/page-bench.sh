#!/usr/bin/env bash
# The page-at-scale benchmark (see page-bench.js): builds the release node, makes sure Chromium and
# playwright-core are here, then prints the figures for each board size given (default 50000 200000).
#   tests/browser/page-bench.sh [SIZE...]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
(cd "$ROOT" && cargo build --release --quiet)
exec node "$HERE/page-bench.js" "$@"
