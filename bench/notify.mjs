// Signal to notification: RATE new incidents a second for SECONDS, each made by the fifth SSH
// failure from a fresh address sent as a syslog datagram; the built-in plan announces a new
// incident at once (to whoever is on duty and the unit head) and the outbox hands it to a loopback
// webhook. Latency = from sending the fifth datagram to the webhook receiving the notification
// for that incident, both clocks in this process. Also, from the store afterwards, the server's own
// view as issue 5 words it: from the signal received (the triggering datagram's received_at) to the
// notification handed to its channel (its first delivery's sent_at, after the webhook's 2xx) — the
// load generator's and the receiver's event-loop delays (they share this process) left out.
// usage: node bench/notify.mjs [RATE] [SECONDS]   (YJ=path/to/yingji; STORE=postgresql: the store on
//        a PostgreSQL 15 of the run's own, bench/pg.sh)
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RATE = Number(process.argv[2] || 1000);
const SECONDS = Number(process.argv[3] || 20);
const YJ = process.env.YJ || new URL('../build/yingji', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'yingji-notify-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PG = process.env.STORE === 'postgresql';
const BENCH = new URL('.', import.meta.url).pathname;
let storeUrl = null;
if (PG) {
  // PG_STATEMENTS=1: PostgreSQL counts the statements (pg_stat_statements), printed per incident.
  const opts = process.env.PG_STATEMENTS ? 'PG_OPTS="-c shared_preload_libraries=pg_stat_statements"; ' : '';
  const r = spawnSync('bash', ['-c', `set -e; WORK='${dir}'; ${opts}. '${BENCH}pg.sh'; echo "$STORE_URL"`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PostgreSQL: ${r.stderr}${r.stdout}`);
  storeUrl = r.stdout.trim().split('\n').pop();
  if (process.env.PG_STATEMENTS)
    spawnSync('/usr/lib/postgresql/15/bin/psql', ['-q', '-d', storeUrl, '-c', 'CREATE EXTENSION pg_stat_statements']);
}
// A query on the store afterwards, rows of columns joined by sep.
const query = (sep, sql) => (PG
  ? spawnSync('/usr/lib/postgresql/15/bin/psql', ['-At', '-F', sep, '-d', storeUrl, '-c', sql], { encoding: 'utf8' })
  : spawnSync('sqlite3', ['-separator', sep, join(dir, 'data', 'yingji.db'), sql], { encoding: 'utf8' }));

const received = new Map(); // address -> first notification time
let posts = 0;
const hook = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (d) => { raw += d; });
  req.on('end', () => {
    const now = performance.now();
    posts++;
    const m = raw.match(/(10\.\d+\.\d+\.\d+)/);
    if (m && !received.has(m[1])) received.set(m[1], now);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  });
});
hook.keepAliveTimeout = 60000;
await new Promise((r) => hook.listen(0, '127.0.0.1', r));

writeFileSync(join(dir, 'yingji.yaml'), `listen: 127.0.0.1:0\ndata: ${dir}/data\n${PG ? `store: "${storeUrl}"\n` : ''}`
  + 'sources:\n  - {type: syslog, listen: "127.0.0.1:0", protocol: udp, buffer: 8MiB}\n'
  + `channels:\n  - {id: hook, type: webhook, url: "http://127.0.0.1:${hook.address().port}/hook"}\n`);
const srv = spawn(YJ, ['--config', join(dir, 'yingji.yaml'), 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
srv.stderr.on('data', (d) => { if (process.env.YJ_TRACE) process.stderr.write(d); });
await new Promise((resolve, reject) => {
  srv.stdout.on('data', (d) => { out += d; if (/listening on/.test(out)) resolve(); });
  srv.on('exit', () => reject(new Error(out)));
});
const udpPort = Number(out.match(/syslog on [^ ]+ \(port (\d+)\)/)[1]);
const sock = dgram.createSocket('udp4');
// RFC 5424 with the current time: an old stamp would make the upward-report deadline (counted
// from detection) overdue at once and add its escalation to the traffic.
const line = (ip) => `<38>1 ${new Date().toISOString()} web-1 sshd 7 - - Failed password for root from ${ip} port 22 ssh2`;

const sent = new Map();
const t0 = performance.now();
const tickMs = 10;
let made = 0;
for (let tick = 0; performance.now() - t0 < SECONDS * 1000; tick++) {
  const due = Math.floor(((tick + 1) * tickMs * RATE) / 1000) - made;
  for (let k = 0; k < due; k++, made++) {
    const ip = `10.${(made >> 16) & 255}.${(made >> 8) & 255}.${made & 255}`;
    for (let i = 0; i < 4; i++) sock.send(line(ip), udpPort, '127.0.0.1');
    sock.send(line(ip), udpPort, '127.0.0.1', () => sent.set(ip, performance.now()));
  }
  const wait = t0 + (tick + 1) * tickMs - performance.now();
  if (wait > 0) await sleep(wait);
}
const elapsed = (performance.now() - t0) / 1000;
for (let i = 0; i < 300 && received.size < sent.size; i++) await sleep(100);
srv.kill('SIGTERM');
await new Promise((r) => srv.on('exit', r));
hook.close();
sock.close();

const lat = [...sent].map(([ip, t]) => (received.has(ip) ? received.get(ip) - t : Infinity)).sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
const missing = lat.filter((x) => x === Infinity).length;
console.log(`${made} incidents in ${elapsed.toFixed(1)} s = ${Math.round(made / elapsed)}/s (${made * 5} signals); webhook received ${posts} notifications`);
console.log(`signal → notification at the webhook: p50 ${pct(50).toFixed(1)} ms, p90 ${pct(90).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms, missing ${missing}`);
const q = query('|',
  'SELECT (SELECT min(d.sent_at) FROM notifications n JOIN deliveries d ON d.notification_id = n.id '
  + "WHERE n.incident_id = i.id AND d.status = 'sent') - (SELECT received_at FROM signals WHERE incident_id = i.id "
  + 'ORDER BY id LIMIT 1) FROM incidents i');
const srvLat = q.stdout.split('\n').filter(Boolean).map((x) => (x === '' ? Infinity : Number(x))).sort((a, b) => a - b);
const sp = (p) => srvLat[Math.min(srvLat.length - 1, Math.floor((p / 100) * srvLat.length))];
if (srvLat.length) console.log(`server: signal received → notification handed to its channel (${srvLat.length} incidents): p50 ${sp(50)} ms, p90 ${sp(90)} ms, p99 ${sp(99)} ms, max ${srvLat[srvLat.length - 1]} ms`);
// Where the time goes, stage by stage, from the same rows: the triggering signal stored and
// processed into an incident, the clock's announcement queued, the outbox's delivery made.
const stages = query(' ',
  'SELECT i.reported_at - (SELECT max(received_at) FROM signals WHERE incident_id = i.id), '
  + '(SELECT min(created_at) FROM notifications WHERE incident_id = i.id) - i.reported_at, '
  + '(SELECT min(d.sent_at) FROM notifications n JOIN deliveries d ON d.notification_id = n.id '
  + "WHERE n.incident_id = i.id AND d.status = 'sent') - (SELECT min(created_at) FROM notifications WHERE incident_id = i.id) "
  + 'FROM incidents i').stdout.split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
const stage = (k, name) => {
  const v = stages.map((r) => r[k]).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const at = (p) => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
  return `${name} p50 ${at(50)} / p99 ${at(99)} ms`;
};
if (stages.length) console.log(`stages: ${stage(0, 'signal → incident')}; ${stage(1, 'incident → queued')}; ${stage(2, 'queued → handed over')}`);
console.log(`store: ${PG ? 'postgresql' : 'sqlite'}`);
if (PG && process.env.PG_STATEMENTS) {
  const rows = query('\t', `SELECT calls, round(total_exec_time::numeric, 1), regexp_replace(left(query, 110), '\\s+', ' ', 'g') FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC`)
    .stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
  const total = rows.reduce((a, r) => a + Number(r[0]), 0);
  console.log(`statements: ${total} in all, ${(total / made).toFixed(1)} per incident; the most called (per incident, ms in all):`);
  for (const [calls, ms, text] of rows.slice(0, 40)) console.log(`  ${(Number(calls) / made).toFixed(2).padStart(7)} ${ms.padStart(9)}  ${text}`);
}
if (PG) spawnSync('bash', ['-c', `WORK='${dir}'; AS=(); [ "$(id -u)" -eq 0 ] && AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --); "\${AS[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$WORK/pg/db" -m fast -w stop`]);
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); else console.log(dir);
