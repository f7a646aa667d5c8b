#!/usr/bin/env bash
# `yingji db copy` at the size of a busy deployment (issue 16): a store of N incidents (reported
# through the API, each with its timeline, deadlines, tasks and audit rows) and M signals (posted
# in batches of 1,000 through the API), copied SQLite → PostgreSQL (the day a user outgrows one
# machine) and back PostgreSQL → SQLite (the drill), each timed, each copy's audit chain verified
# by the copy itself. No peer: TheHive, IRIS and OnCall have no engine-to-engine copy to compare.
#
# usage: bench/dbcopy.sh [N_INCIDENTS] [M_SIGNALS]   (default 100000 1000000; run `make build` first;
#        needs postgresql-15, node, sqlite3)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
M=${2:-1000000}
YJ=${YJ:-$PWD/build/yingji}
for t in node sqlite3 bc; do command -v $t >/dev/null || { echo "missing $t"; exit 1; }; done
WORK=$(mktemp -d /tmp/yingji-dbcopy.XXXXXX)
cleanup() { [ -n "${YPID:-}" ] && kill "$YPID" 2>/dev/null; wait 2>/dev/null; declare -F pg_stop >/dev/null && pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT
. bench/pg.sh
[ "$(id -u)" -eq 0 ] && chmod 755 "$WORK"
now() { date +%s.%N; }

PW=bench-password-$$
DATA=$WORK/data
printf '%s\n' "$PW" | "$YJ" --data "$DATA" user add bench --role admin --password-stdin >/dev/null
"$YJ" --data "$DATA" serve --listen 127.0.0.1:0 >"$WORK/out" 2>"$WORK/log" &
YPID=$!
for _ in $(seq 100); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^/]*' "$WORK/out")
LOGIN=$(curl -s -D "$WORK/h" -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PW\"}" "$URL/api/v1/session")
COOKIE=$(grep -i '^set-cookie: yj_session=' "$WORK/h" | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
CSRF=$(printf '%s' "$LOGIN" | sed 's/.*"csrf":"\([^"]*\)".*/\1/')

t0=$(now)
node bench/seed.mjs "$URL" "$COOKIE" "$CSRF" "$N"
t1=$(now)
echo "seeded $N incidents through the API in $(echo "$t1 - $t0" | bc) s"
# Signals no rule matches (a cron line): stored, processed, kept for the retention period.
node - "$URL" "$COOKIE" "$CSRF" "$M" <<'JS'
const [base, cookie, csrf, mArg] = process.argv.slice(2);
const m = Number(mArg);
let next = 0;
async function worker() {
  while (next < m) {
    const from = next;
    next += 1000;
    const signals = [];
    for (let i = from; i < Math.min(m, from + 1000); i++)
      signals.push({ source: 'bench', host: `host-${i % 97}`, message: `CRON[${i}]: (root) CMD (run-parts /etc/cron.hourly)` });
    const r = await fetch(`${base}/api/v1/signals`, { method: 'POST', body: JSON.stringify({ signals }),
      headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' } });
    if (r.status !== 202 && r.status !== 200) throw new Error(`signals ${from}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: 4 }, worker));
JS
t2=$(now)
echo "posted $M signals through the API in $(echo "$t2 - $t1" | bc) s"
kill "$YPID"; wait "$YPID" 2>/dev/null || true; YPID=
DB=$DATA/yingji.db
echo "store: $(du -h "$DB" | cut -f1) SQLite; $(sqlite3 "$DB" 'SELECT count(*) FROM incidents') incidents, $(sqlite3 "$DB" 'SELECT count(*) FROM signals') signals, $(sqlite3 "$DB" 'SELECT count(*) FROM timeline') timeline entries, $(sqlite3 "$DB" 'SELECT count(*) FROM audit_log') audit rows"

t3=$(now)
"$YJ" --data "$DATA" db copy --to "$STORE_URL" >"$WORK/copy1" 2>&1 || { cat "$WORK/copy1"; exit 1; }
t4=$(now)
echo "SQLite → PostgreSQL: $(echo "$t4 - $t3" | bc) s"
tail -n 2 "$WORK/copy1"

BACK=$WORK/back/yingji.db
mkdir -p "$WORK/back"
t5=$(now)
"$YJ" --store "$STORE_URL" --data "$WORK/data2" db copy --to "sqlite:$BACK" >"$WORK/copy2" 2>&1 || { cat "$WORK/copy2"; exit 1; }
t6=$(now)
echo "PostgreSQL → SQLite: $(echo "$t6 - $t5" | bc) s"
tail -n 2 "$WORK/copy2"
echo "the copy back: $(sqlite3 "$BACK" 'SELECT count(*) FROM incidents') incidents, $(sqlite3 "$BACK" 'SELECT count(*) FROM signals') signals"
