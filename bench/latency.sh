#!/usr/bin/env bash
# Detection latency under load (DESIGN §8: p99 ≤ 50 ms at 10k signals/s; RSS flat): syslog over
# UDP at RATE/s for SECONDS against a fresh `yingji serve`, probes every 100 ms timed to their
# incident.created event on the live stream. See bench/latency.mjs for what is measured.
# usage: bench/latency.sh [RATE] [SECONDS]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
for t in node sqlite3; do command -v $t >/dev/null || { echo "missing $t"; exit 1; }; done
exec node bench/latency.mjs "${1:-10000}" "${2:-60}"
