// Detection latency under load: syslog over UDP at RATE signals/s for SECONDS, with a probe every
// 100 ms (five failures from a fresh address: the fifth reaches the sshd threshold and reports an
// incident). Latency = from sending the probe's fifth datagram to receiving its incident.created
// event on the live stream (/api/v1/events) — so it includes the UDP hop, storing, the rules, the
// incident commit and SSE delivery. Also: the server's own received→processed times for every
// signal, from the store, and its RSS every 5 s.
// usage: node bench/latency.mjs [RATE] [SECONDS]   (YJ=path/to/yingji)
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RATE = Number(process.argv[2] || 10000);
const SECONDS = Number(process.argv[3] || 60);
const YJ = process.env.YJ || new URL('../build/yingji', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'yingji-latency-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

writeFileSync(join(dir, 'yingji.yaml'), `listen: 127.0.0.1:0\ndata: ${dir}/data\n`
  + 'sources:\n  - {type: syslog, listen: "127.0.0.1:0", protocol: udp, buffer: 8MiB}\n');
// An administrator of the bench's own: the first start's one-time password would have to be
// changed before the live stream opens.
const password = `bench-password-${process.pid}`;
spawnSync(YJ, ['--config', join(dir, 'yingji.yaml'), 'user', 'add', 'bench', '--role', 'admin', '--password-stdin'],
  { input: `${password}\n` });
const srv = spawn(YJ, ['--config', join(dir, 'yingji.yaml'), 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let log = '';
srv.stderr.on('data', (d) => { log += d; });
await new Promise((resolve, reject) => {
  srv.stdout.on('data', (d) => { out += d; if (/listening on/.test(out)) resolve(); });
  srv.on('exit', () => reject(new Error(`server exited:\n${out}\n${log}`)));
});
const base = out.match(/listening on (http:\/\/[^/]+)\//)[1];
const udpPort = Number(out.match(/syslog on [^ ]+ \(port (\d+)\)/)[1]);

const login = await fetch(`${base}/api/v1/session`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: 'bench', password }),
});
const cookie = login.headers.get('set-cookie').split(';')[0];

// The live stream: note when each probe's incident arrives.
const arrived = new Map();
const stream = await fetch(`${base}/api/v1/events`, { headers: { Cookie: cookie, Accept: 'text/event-stream' } });
(async () => {
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of stream.body) {
    const now = performance.now();
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const m = ev.match(/^event: incident\.created$[\s\S]*"title":"[^"]*?(10\.\d+\.\d+\.\d+)/m);
      if (m && !arrived.has(m[1])) arrived.set(m[1], now);
    }
  }
})().catch(() => {});

const rss = () => Number(readFileSync(`/proc/${srv.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const sock = dgram.createSocket('udp4');
sock.on('error', () => {});
const pre = '<38>Nov 22 01:00:00 web-1 ';
const noise = [
  'CRON[4242]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)',
  'systemd[1]: Started session-4242.scope - Session 4242 of User www-data.',
  'sshd[4243]: Accepted publickey for deploy from 192.0.2.10 port 52222 ssh2: ED25519 SHA256:abc',
  'kernel: [12345.678] eth0: link up',
];
// 1,000 attackers keep failing (their incidents open early; later failures attach to them).
const attacker = (i) => `sshd[77]: Failed password for root from 198.51.${(i >> 8) & 255}.${i & 255} port 22 ssh2`;

const sent = new Map(); // probe address -> when its fifth datagram left
const rssSamples = [];
let n = 0;
let probe = 0;
const t0 = performance.now();
let nextProbe = t0 + 1000;
let nextRss = t0;
const tickMs = 5;
for (let tick = 0; performance.now() - t0 < SECONDS * 1000; tick++) {
  const due = Math.floor(((tick + 1) * tickMs * RATE) / 1000) - n;
  for (let k = 0; k < due; k++, n++) {
    const body = n % 10 < 3 ? attacker(n % 1000) : noise[n % noise.length];
    sock.send(pre + body, udpPort, '127.0.0.1');
  }
  const now = performance.now();
  if (now >= nextProbe) {
    const ip = `10.${(probe >> 16) & 255}.${(probe >> 8) & 255}.${probe & 255}`;
    probe++;
    for (let k = 0; k < 4; k++) sock.send(`${pre}sshd[88]: Failed password for root from ${ip} port 22 ssh2`, udpPort, '127.0.0.1');
    sock.send(`${pre}sshd[88]: Failed password for root from ${ip} port 22 ssh2`, udpPort, '127.0.0.1',
      () => sent.set(ip, performance.now()));
    nextProbe += 100;
  }
  if (now >= nextRss) { rssSamples.push([Math.round((now - t0) / 1000), rss()]); nextRss += 5000; }
  const wait = t0 + (tick + 1) * tickMs - performance.now();
  if (wait > 0) await sleep(wait);
}
const elapsed = (performance.now() - t0) / 1000;
await sleep(2000);
rssSamples.push([Math.round((performance.now() - t0) / 1000), rss()]);
const metrics = await (await fetch(`${base}/metrics`)).text();
srv.kill('SIGTERM');
await new Promise((r) => srv.on('exit', r));

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const lat = [...sent].map(([ip, t]) => (arrived.has(ip) ? arrived.get(ip) - t : Infinity)).sort((a, b) => a - b);
const missing = lat.filter((x) => x === Infinity).length;
const db = join(dir, 'data', 'yingji.db');
const q = (sql) => spawnSync('sqlite3', [db, sql], { encoding: 'utf8' }).stdout.trim();
const total = Number(q('SELECT count(*) FROM signals WHERE processed_at IS NOT NULL'));
const innerPct = (p) => q(`SELECT processed_at - received_at AS d FROM signals WHERE processed_at IS NOT NULL ORDER BY d
  LIMIT 1 OFFSET ${Math.min(total - 1, Math.floor((p / 100) * total))}`);
const metric = (name) => (metrics.match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)`, 'm')) || [])[1];
console.log(`sent ${n + probe * 5} signals in ${elapsed.toFixed(1)} s = ${Math.round((n + probe * 5) / elapsed)}/s`);
console.log(`received ${metric('yingji_source_messages_total{source="syslog",result="received"}')}, dropped ${metric('yingji_source_messages_total{source="syslog",result="dropped"}')}, stored ${q('SELECT count(*) FROM signals')}, incidents ${q('SELECT count(*) FROM incidents')}`);
console.log(`probe → incident.created on the live stream: ${lat.length} probes, p50 ${pct(lat, 50).toFixed(1)} ms, p90 ${pct(lat, 90).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms, missing ${missing}`);
console.log(`server, received → processed (all ${total} signals): p50 ${innerPct(50)} ms, p99 ${innerPct(99)} ms, max ${innerPct(100)} ms`);
console.log(`RSS MiB by second: ${rssSamples.map(([s, m]) => `${s}s ${m.toFixed(1)}`).join(', ')}`);
rmSync(dir, { recursive: true, force: true });
sock.close(); // the last open handle: without it the script never ended
