# bench/pg.sh: sourced by a bench run with STORE=postgresql: a PostgreSQL 15 of the run's own
# (initdb in $WORK/pg as nobody when root, its socket there, no TCP; fsync on, as a real server
# keeps it), a database for the store, and STORE_ARGS=(--store URL) for every yingji call.
# PG_OPTS: more server options (PG_OPTS="-c shared_preload_libraries=pg_stat_statements" for a
# count of statements, as bench/notify.mjs takes with PG_STATEMENTS=1).
# Stopped by pg_stop (call it from the run's cleanup).
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || { echo "missing PostgreSQL 15 (apt-get install postgresql-15)"; exit 1; }
AS=()
if [ "$(id -u)" -eq 0 ]; then AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --); fi
mkdir -p "$WORK/pg"
if [ "$(id -u)" -eq 0 ]; then chmod 711 "$WORK"; chown 65534:65534 "$WORK/pg"; fi
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg/db" -U yingji -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/db" -l "$WORK/pg/log" -w -o "-k $WORK/pg -c listen_addresses='' -p 5432 -c shared_buffers=128MB ${PG_OPTS:-}" start >/dev/null
"${AS[@]}" "$PGBIN/createdb" -h "$WORK/pg" -p 5432 -U yingji bench
STORE_URL="postgresql:///bench?host=$WORK/pg&port=5432&user=yingji"
STORE_ARGS=(--store "$STORE_URL")
pg_stop() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/db" -m fast -w stop >/dev/null 2>&1 || true; }
