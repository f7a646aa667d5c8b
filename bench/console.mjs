// The console at scale (issue 15): a store of N incidents (default 100,000) and a config of M
// monitors (default 1,000, all up, against a TCP listener of this script), in Debian's Chromium
// at desktop (1280x800) and phone (390x844) size: time from navigation to the rendered dashboard,
// incident list and incident page (a full page load each, median of R runs), the bytes the page
// transferred (encoded, as on the wire), and the server's RSS meanwhile.
// Peer: TheHive 4 takes 3-10 s per case page at 5-8k cases (TheHive issues #1341, #1563); it cannot
// run here (Elasticsearch, Cassandra), so its figures are the issue's.
// usage: node bench/console.mjs [N] [M] [R]      (build first: make build)
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const require = createRequire(join(ROOT, 'web/package.json'));
const { chromium } = require('playwright-core');
const [N = 100000, M = 1000, R = 5] = process.argv.slice(2).map(Number);
const BIN = join(ROOT, 'build/yingji');
const dir = mkdtempSync(join(tmpdir(), 'yj-bench-console-'));

const listener = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
await new Promise((r) => listener.on('listening', r));
const cfg = join(dir, 'yingji.yaml');
writeFileSync(cfg, `monitors:\n${Array.from({ length: M }, (_, i) =>
  `  - {id: m${i}, target: "127.0.0.1:${listener.address().port}", interval: 300s}`).join('\n')}\n`);

const srv = spawn(BIN, ['--config', cfg, '--data', join(dir, 'data'), 'serve', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
const url = await new Promise((res, rej) => {
  srv.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[^/]+)\//); if (m) res(m[1]); });
  srv.on('exit', (c) => rej(new Error(`server exited ${c}: ${out}`)));
});
const oneTime = out.match(/password: (\S+)/)[1];
const PW = 'bench passphrase long enough';
async function login(password) {
  const r = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }) });
  return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: (await r.json()).csrf };
}
let s = await login(oneTime);
await fetch(`${url}/api/v1/session/password`, { method: 'POST', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
  body: JSON.stringify({ old: oneTime, new: PW }) });
s = await login(PW);

const t0 = Date.now();
const seed = spawnSync('node', [join(ROOT, 'bench/seed.mjs'), url, s.cookie, s.csrf, String(N)], { stdio: 'inherit' });
if (seed.status !== 0) throw new Error('seeding failed');
console.log(`seeded ${N} incidents in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${M} monitors configured`);
const middle = `YJ-${new Date().getFullYear()}-${String(Math.floor(N / 2)).padStart(4, '0')}`;

const rss = () => Number((readFileSync(`/proc/${srv.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/) || [])[1]) / 1024;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const pages = [['dashboard', '/', '#latest tbody tr'], ['incident list', '/incidents', '#incident-table tbody tr'],
  ['incident page', `/incidents/${middle}`, '#timeline li']];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
let peak = rss();
for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
  const ctx = await browser.newContext({ viewport, locale: 'zh-CN' });
  await ctx.addCookies([{ name: s.cookie.split('=')[0], value: s.cookie.split('=').slice(1).join('='), url }]);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0;
  // Each request's start and end, so that a slow load names the request that held it up.
  const started = new Map(), took = [];
  cdp.on('Network.requestWillBeSent', (e) => started.set(e.requestId, { url: e.request.url, at: e.timestamp }));
  const ended = (e) => { const r = started.get(e.requestId); if (r) took.push([Math.round((e.timestamp - r.at) * 1000), r.url, e.errorText || '']); };
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; ended(e); });
  cdp.on('Network.loadingFailed', ended);
  for (const [name, path, ready] of pages) {
    const times = [], sizes = [];
    for (let i = 0; i < R; i++) {
      await cdp.send('Network.clearBrowserCache');
      bytes = 0;
      took.length = 0;
      const start = Date.now();
      await page.goto(url + path);
      await page.waitForSelector(ready);
      times.push(Date.now() - start);
      if (Date.now() - start > 3000) {
        const slow = [...took].sort((a, b) => b[0] - a[0]).slice(0, 3);
        console.log(`slow load of ${path} (${Date.now() - start} ms): ${slow.map(([ms, u, e]) => `${ms} ms ${u.replace(url, '')} ${e}`).join('; ')}`);
      }
      await page.waitForTimeout(300); // late requests (the trend chart's library) counted too
      sizes.push(bytes);
      peak = Math.max(peak, rss());
    }
    rows.push([size, name, median(times), Math.min(...times), Math.max(...times), median(sizes)]);
  }
  await ctx.close();
}
await browser.close();
console.log(`\nconsole with ${N} incidents and ${M} monitors, Chromium, full page loads (cache cleared), median of ${R}`);
console.log('size     page            median    min    max   transferred');
for (const [size, name, med, min, max, b] of rows) {
  console.log(`${size.padEnd(8)} ${name.padEnd(15)} ${String(med).padStart(5)} ms ${String(min).padStart(5)} ${String(max).padStart(6)}   ${(b / 1024).toFixed(0)} KiB`);
}
console.log(`server RSS: ${rss().toFixed(1)} MiB now, ${peak.toFixed(1)} MiB at most during the runs`);
console.log('peer: TheHive 4, 3000-10000 ms per case page at 5-8k cases (TheHive#1341, #1563)');
srv.kill('SIGTERM');
listener.close();
await new Promise((r) => srv.on('exit', r));
rmSync(dir, { recursive: true, force: true });
