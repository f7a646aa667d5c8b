#!/usr/bin/env bash
# One node against two on one PostgreSQL (issue 16): N incidents reported through the API by C
# clients at once, spread over the nodes' URLs in turn; incidents/s and the latency of a report
# (p50/p99), the same load on one node and then on two. The PostgreSQL is the run's own (bench/pg.sh,
# fsync on), the nodes and the clients share this machine with it.
#
# usage: bench/nodes.sh [N_INCIDENTS] [CLIENTS]   (default 5000 16; run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
C=${2:-16}
YJ=${YJ:-$PWD/build/yingji}
WORK=$(mktemp -d /tmp/yingji-nodes.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; declare -F pg_stop >/dev/null && pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT
. bench/pg.sh
PW=bench-password-$$
printf '%s\n' "$PW" | "$YJ" "${STORE_ARGS[@]}" --data "$WORK/d0" user add bench --role admin --password-stdin >/dev/null

# Not in $(...): the node's pid must reach PIDS in this shell, for stop_nodes and the cleanup.
start_node() { # index -> the node's URL in URL
  "$YJ" "${STORE_ARGS[@]}" --data "$WORK/d$1" serve --listen 127.0.0.1:0 >"$WORK/out$1" 2>"$WORK/log$1" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q listening "$WORK/out$1" 2>/dev/null && break; sleep 0.1; done
  URL=$(grep -o 'http://[^/]*' "$WORK/out$1") || { echo "node $1 did not start:"; cat "$WORK/log$1"; exit 1; }
}
stop_nodes() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null || true; PIDS=(); }

report() { # URL...
  node - "$PW" "$N" "$C" "$@" <<'JS'
const [pw, nArg, cArg, ...urls] = process.argv.slice(2);
const n = Number(nArg), c = Number(cArg);
// A session per node (a session is the node's own row in the shared store: any node would do).
const sessions = [];
for (const u of urls) {
  const r = await fetch(`${u}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: pw }) });
  const cookie = r.headers.get('set-cookie').split(';')[0];
  sessions.push({ u, cookie, csrf: (await r.json()).csrf });
}
const types = ['intrusion', 'server_fault', 'public_opinion', 'website_tamper', 'media_ad', 'power_outage'];
const lat = [];
let next = 0;
async function worker() {
  while (next < n) {
    const i = next++;
    const s = sessions[i % sessions.length];
    const t = performance.now();
    const r = await fetch(`${s.u}/api/v1/incidents`, { method: 'POST',
      headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: types[i % types.length], title: `压测事件 ${i}`, source: '压测' }) });
    await r.arrayBuffer();
    if (r.status !== 201) throw new Error(`report ${i}: ${r.status}`);
    lat.push(performance.now() - t);
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: c }, worker));
const secs = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const at = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
console.log(`${urls.length} node(s): ${n} incidents in ${secs.toFixed(1)} s = ${Math.round(n / secs)}/s; report p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
JS
}

start_node 1; U1=$URL
report "$U1"
stop_nodes
start_node 1; U1=$URL
start_node 2; U2=$URL
report "$U1" "$U2"
stop_nodes
echo "incidents in the store: $(/usr/lib/postgresql/15/bin/psql -At -d "$STORE_URL" -c 'SELECT count(*) FROM incidents')"
