#!/usr/bin/env bash
# Scheduled monitors' CPU cost (issue 7: 1,000 HTTP monitors at 30 s under 5% of one core), with
# kept-alive connections and with a new connection for every check. See bench/monitors.mjs.
# usage: bench/monitors.sh [N] [INTERVAL_S] [SECONDS]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
for t in node sqlite3; do command -v $t >/dev/null || { echo "missing $t"; exit 1; }; done
node bench/monitors.mjs "${1:-1000}" "${2:-30}" "${3:-60}"
CLOSE=1 node bench/monitors.mjs "${1:-1000}" "${2:-30}" "${3:-60}"
