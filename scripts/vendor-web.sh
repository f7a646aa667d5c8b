#!/usr/bin/env bash
# The console's third-party files, committed under web/vendor/ so that the binary builds from a
# checkout without the npm registry (an intranet machine). They come from the npm package at the
# version web/package-lock.json pins:
#   scripts/vendor-web.sh          after changing the version: npm ci, then copy into web/vendor/
#   scripts/vendor-web.sh --check  web/vendor/ is what the lock pins (run by the tests)
set -euo pipefail
cd "$(dirname "$0")/../web"
pinned=$(node -e 'console.log(require("./package-lock.json").packages["node_modules/echarts"].version)')
files=(dist/echarts.min.js LICENSE NOTICE)
if [ "${1:-}" = "--check" ]; then
  [ "$(cat vendor/echarts/VERSION)" = "$pinned" ] || {
    echo "web/vendor/echarts is $(cat vendor/echarts/VERSION), the lock pins $pinned: run scripts/vendor-web.sh" >&2; exit 1; }
  if [ -d node_modules/echarts ]; then
    for f in "${files[@]}"; do
      cmp -s "node_modules/echarts/$f" "vendor/echarts/$(basename "$f")" || {
        echo "web/vendor/echarts/$(basename "$f") differs from the npm package's $f: run scripts/vendor-web.sh" >&2; exit 1; }
    done
  fi
  echo "web/vendor/echarts: $pinned, as pinned"
  exit 0
fi
npm ci --no-audit --no-fund
installed=$(node -e 'console.log(require("./node_modules/echarts/package.json").version)')
[ "$installed" = "$pinned" ] || { echo "npm installed echarts $installed, the lock pins $pinned" >&2; exit 1; }
mkdir -p vendor/echarts
for f in "${files[@]}"; do cp "node_modules/echarts/$f" "vendor/echarts/$(basename "$f")"; done
printf '%s\n' "$pinned" > vendor/echarts/VERSION
echo "web/vendor/echarts: $pinned; commit web/vendor/"
