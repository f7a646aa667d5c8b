#!/usr/bin/env bash
# Signal to notification (issue 5: p99 ≤ 50 ms at 1,000 incidents/s): syslog SSH failures making
# RATE new incidents a second against a fresh `yingji serve` whose built-in plan announces each at
# once; a loopback webhook receives the notifications. See bench/notify.mjs for what is measured.
# usage: bench/notify.sh [RATE] [SECONDS]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "missing node"; exit 1; }
exec node bench/notify.mjs "${1:-1000}" "${2:-20}"
