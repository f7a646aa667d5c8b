// File integrity: from a file changed in a watched web root to its signal stored (issue 7: under
// 1 s; Wazuh's file integrity monitoring scans every 12 hours by default). Builds a web root of
// FILES files (HTML, CSS, JS of a few KB in 100 directories), starts a fresh `yingji serve`
// watching it, waits for the baseline, then changes CHANGES random files one every 200 ms (half
// rewritten, a quarter added, a quarter deleted) and reads each signal's received_at from the
// store: latency = received_at − the moment the write returned (same machine clock).
// usage: node bench/integrity.mjs [FILES] [CHANGES]   (YJ=path/to/yingji)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FILES = Number(process.argv[2] || 10000);
const CHANGES = Number(process.argv[3] || 100);
const YJ = process.env.YJ || new URL('../build/yingji', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'yingji-integrity-'));
const root = join(dir, 'www');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const body = (i) => `<html><body><h1>页面 ${i}</h1>${'<p>学校新闻内容</p>\n'.repeat(40)}</body></html>\n`;
const names = [];
for (let i = 0; i < FILES; i++) {
  const d = join(root, `section-${i % 100}`);
  if (i < 100) mkdirSync(d, { recursive: true });
  const name = `section-${i % 100}/page-${i}.${['html', 'css', 'js'][i % 3]}`;
  writeFileSync(join(root, name), body(i));
  names.push(name);
}
writeFileSync(join(dir, 'yingji.yaml'), `listen: 127.0.0.1:0\ndata: ${dir}/data\nintegrity:\n  - {id: www, path: "${root}"}\n`);
const t0 = performance.now();
const srv = spawn(YJ, ['--config', join(dir, 'yingji.yaml'), 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let log = '';
await new Promise((resolve, reject) => {
  srv.stdout.on('data', (d) => { out += d; if (/listening on/.test(out)) resolve(); });
  srv.on('exit', () => reject(new Error(out)));
});
const started = (performance.now() - t0) / 1000;
// The baseline is taken by the watching thread after the start: wait for it.
await new Promise((resolve) => {
  srv.stderr.on('data', (d) => { log += d; if (/baseline of \d+ files/.test(log)) resolve(); });
});
const baselined = (performance.now() - t0) / 1000;

const wrote = new Map(); // path -> epoch ms when the change was made
let seed = 7;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
for (let k = 0; k < CHANGES; k++) {
  const r = k % 4;
  let path;
  if (r < 2) { path = names[rand(names.length)]; writeFileSync(join(root, path), body(k) + '<a href="http://bet.example/">x</a>'); }
  else if (r === 2) { path = `section-${rand(100)}/new-${k}.php`; writeFileSync(join(root, path), '<?php eval($_POST[1]); ?>'); }
  else { const i = rand(names.length); path = names[i]; names.splice(i, 1); rmSync(join(root, path)); }
  if (!wrote.has(path)) wrote.set(path, Date.now());
  await sleep(200);
}
await sleep(1500);
srv.kill('SIGTERM');
await new Promise((r) => srv.on('exit', r));
const q = spawnSync('sqlite3', ['-separator', '\t', join(dir, 'data', 'yingji.db'),
  "SELECT json_extract(fields, '$.path'), min(received_at) FROM signals WHERE source = 'integrity' GROUP BY 1"], { encoding: 'utf8' });
const got = new Map(q.stdout.trim().split('\n').filter(Boolean).map((l) => { const [p, t] = l.split('\t'); return [p, Number(t)]; }));
const lat = [...wrote].map(([p, t]) => (got.has(p) ? got.get(p) - t : Infinity)).sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
const missing = lat.filter((x) => x === Infinity).length;
console.log(`web root of ${FILES} files; server listening after ${started.toFixed(2)} s, baseline (hashes and copies) stored after ${baselined.toFixed(2)} s`);
console.log(`${wrote.size} files changed: signal stored after p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${lat[lat.length - 1]} ms, missing ${missing}`);
rmSync(dir, { recursive: true, force: true });
