#!/usr/bin/env bash
# API read throughput and latency: yingji serving one incident and a page of the list from a
# store holding 10,000 incidents, against nginx serving the very same JSON bytes as static files
# on the same machine, in the same run. Also p99 at a fixed 1,000 requests/s (hey) and the
# server's RSS. Results go to stdout; copy them into bench/README.md.
#
# usage: bench/api.sh [N_INCIDENTS] [SECONDS]     (needs: wrk, hey, nginx; run `make build` first)
#        STORE=postgresql bench/api.sh ...         (the store on a PostgreSQL 15 of the run's own)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
SECS=${2:-10}
YJ=${YJ:-build/yingji}
for t in wrk hey nginx node; do command -v $t >/dev/null || { echo "missing $t (apt-get install wrk hey nginx-light nodejs)"; exit 1; }; done
WORK=$(mktemp -d /tmp/yingji-bench.XXXXXX)
STORE_ARGS=()
cleanup() { [ -n "${YPID:-}" ] && kill "$YPID" 2>/dev/null; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; wait 2>/dev/null; declare -F pg_stop >/dev/null && pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT
if [ "${STORE:-sqlite}" = postgresql ]; then . bench/pg.sh; fi
echo "store: ${STORE:-sqlite}"

# An administrator of the bench's own (the first start's one-time password must be changed before
# anything else works).
PW=bench-password-$$
printf '%s\n' "$PW" | "$YJ" "${STORE_ARGS[@]}" --data "$WORK/data" user add bench --role admin --password-stdin >/dev/null
"$YJ" "${STORE_ARGS[@]}" --data "$WORK/data" serve --listen 127.0.0.1:0 >"$WORK/out" 2>"$WORK/log" &
YPID=$!
for _ in $(seq 50); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^/]*' "$WORK/out")
LOGIN=$(curl -s -D "$WORK/h" -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PW\"}" "$URL/api/v1/session")
COOKIE=$(grep -i '^set-cookie: yj_session=' "$WORK/h" | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
CSRF=$(printf '%s' "$LOGIN" | sed 's/.*"csrf":"\([^"]*\)".*/\1/')

t0=$(date +%s.%N)
node bench/seed.mjs "$URL" "$COOKIE" "$CSRF" "$N"
t1=$(date +%s.%N)
echo "seeded $N incidents through the API in $(echo "$t1 - $t0" | bc) s"

ID=$((N / 2))
mkdir -p "$WORK/www"
curl -s -H "Cookie: $COOKIE" "$URL/api/v1/incidents/$ID" >"$WORK/www/one.json"
curl -s -H "Cookie: $COOKIE" "$URL/api/v1/incidents?limit=50" >"$WORK/www/list.json"
echo "bytes: one incident $(wc -c <"$WORK/www/one.json"), page of 50 $(wc -c <"$WORK/www/list.json")"

cat >"$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:18099; root $WORK/www; }
}
NGINX
nginx -c "$WORK/nginx.conf"
sleep 0.3

# wrk, ROUNDS times alternating yingji and nginx so that both see the same machine; the median
# of each is reported with its ratio. The machine is shared, so single runs vary by ±20%.
ROUNDS=${ROUNDS:-3}
wrk_rps() { wrk -t2 -c32 -d"${SECS}s" --latency ${2:+-H "$2"} "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
compare() { # label yingji-url nginx-url
  local y=() n=() yp=() np=() out
  for _ in $(seq "$ROUNDS"); do
    out=$(wrk_rps "$2" "Cookie: $COOKIE"); y+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out")"); yp+=("$(awk '$1=="99%" {print $2}' <<<"$out")")
    out=$(wrk_rps "$3"); n+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out")"); np+=("$(awk '$1=="99%" {print $2}' <<<"$out")")
  done
  local ym nm
  ym=$(printf '%s\n' "${y[@]}" | median); nm=$(printf '%s\n' "${n[@]}" | median)
  printf '%-22s yingji %9.0f req/s (runs: %s; p99 %s)\n' "$1" "$ym" "${y[*]}" "${yp[*]}"
  printf '%-22s nginx  %9.0f req/s (runs: %s; p99 %s)\n' "" "$nm" "${n[*]}" "${np[*]}"
  printf '%-22s ratio  %.0f%%\n' "" "$(echo "100 * $ym / $nm" | bc -l)"
}
echo "--- wrk -t2 -c32 -d${SECS}s x ${ROUNDS} rounds (2 cores shared by client and server)"
compare "GET one incident" "$URL/api/v1/incidents/$ID" "http://127.0.0.1:18099/one.json"
compare "GET list (50)" "$URL/api/v1/incidents?limit=50" "http://127.0.0.1:18099/list.json"

# The cold path: a random one of the N incidents each time, so the response cache (128 entries)
# almost never helps and every answer is built from the store.
cat >"$WORK/random.lua" <<LUA
request = function() return wrk.format("GET", "/api/v1/incidents/" .. math.random(1, $N)) end
LUA
out=$(wrk -t2 -c32 -d"${SECS}s" --latency -s "$WORK/random.lua" -H "Cookie: $COOKIE" "$URL")
printf '%-22s yingji %9.0f req/s (p99 %s)\n' "GET random incident" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
  "$(awk '$1=="99%" {print $2}' <<<"$out")"

echo "--- hey: fixed 1,000 requests/s for ${SECS}s (10 workers x 100/s)"
for path in "/api/v1/incidents/$ID" "/api/v1/incidents?limit=50"; do
  out=$(hey -z "${SECS}s" -c 10 -q 100 -H "Cookie: $COOKIE" "$URL$path")
  printf '%-36s p50 %s s  p99 %s s  (%s req/s)\n' "$path" "$(awk '$1=="50%" {print $3}' <<<"$out")" \
    "$(awk '$1=="99%" {print $3}' <<<"$out")" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
done

sleep 2
echo "--- yingji RSS after the load: $(ps -o rss= -p "$YPID") KiB"
# restart OUT SETTLE_S WHAT [ARGS...]: stop the server, start it again on the same data with ARGS,
# report how long until it listens and its RSS SETTLE_S seconds later.
restart() {
  local out="$WORK/$1" settle=$2 what=$3
  shift 3
  kill -TERM "$YPID"; wait "$YPID" || true; YPID=
  "$YJ" "${STORE_ARGS[@]}" --data "$WORK/data" "$@" serve --listen 127.0.0.1:0 >"$out" 2>/dev/null &
  YPID=$!
  local s0 s1
  s0=$(date +%s%N)
  for _ in $(seq 400); do grep -q listening "$out" 2>/dev/null && break; sleep 0.005; done
  s1=$(date +%s%N)
  sleep "$settle"
  echo "--- restart with $what: listening after $(( (s1 - s0) / 1000000 )) ms; RSS ${settle} s later $(ps -o rss= -p "$YPID") KiB"
}
restart out2 1 "$N incidents"

# The design's budget is for an idle server with the incidents *and* 200 monitors (issue 7): the
# same restart with a config of 200 HTTP monitors (every 60 s, against the nginx above), RSS once
# their first checks have gone out (they are spread over the first interval).
{ echo "monitors:"; for i in $(seq 200); do echo "  - {id: m$i, target: \"http://127.0.0.1:18099/one.json\", interval: 60s}"; done; } >"$WORK/monitors.yaml"
restart out3 61 "$N incidents and 200 monitors" --config "$WORK/monitors.yaml"
