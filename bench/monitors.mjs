// Scheduled monitors' cost (issue 7: 1,000 HTTP monitors at a 30 s interval against a loopback
// server use under 5% of one core). Starts a fresh `yingji serve` with N monitors, each on its own
// URL of a Node.js loopback server that answers with a page carrying the monitors' keyword, lets
// one interval pass (the first checks are spread over it), then measures the server's CPU time
// (utime + stime from /proc) over SECONDS, and counts the checks it stored.
// With CLOSE=1 the server closes every connection after its answer, so each check makes a new TCP
// connection, as it would when every monitor is a different host.
// usage: node bench/monitors.mjs [N] [INTERVAL_S] [SECONDS]   (YJ=path/to/yingji, CLOSE=1)
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.argv[2] || 1000);
const INTERVAL = Number(process.argv[3] || 30);
const SECONDS = Number(process.argv[4] || 60);
const YJ = process.env.YJ || new URL('../build/yingji', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'yingji-monitors-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let served = 0;
const page = Buffer.from(`<html><body>${'学校新闻 '.repeat(400)}欢迎访问</body></html>`);
const web = http.createServer((req, res) => {
  served++;
  const close = process.env.CLOSE ? { Connection: 'close' } : {};
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length, ...close });
  res.end(page);
});
web.keepAliveTimeout = 60000;
await new Promise((r) => web.listen(0, '127.0.0.1', r));
const port = web.address().port;

let cfg = `listen: 127.0.0.1:0\ndata: ${dir}/data\nmonitors:\n`;
for (let i = 0; i < N; i++)
  cfg += `  - {id: m${i}, target: "http://127.0.0.1:${port}/site/${i}/", interval: ${INTERVAL}s, keyword: 欢迎访问}\n`;
writeFileSync(join(dir, 'yingji.yaml'), cfg);
const srv = spawn(YJ, ['--config', join(dir, 'yingji.yaml'), 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
srv.stderr.on('data', () => {});
await new Promise((resolve, reject) => {
  srv.stdout.on('data', (d) => { out += d; if (/listening on/.test(out)) resolve(); });
  srv.on('exit', () => reject(new Error(out)));
});
const ticks = () => {
  const f = readFileSync(`/proc/${srv.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (USER_HZ = 100)
};
const rss = () => Number(readFileSync(`/proc/${srv.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
await sleep(INTERVAL * 1000 + 2000);
const t0 = ticks();
const served0 = served;
const w0 = performance.now();
await sleep(SECONDS * 1000);
const used = (ticks() - t0) / 100;
const wall = (performance.now() - w0) / 1000;
const requests = served - served0;
const memory = rss();
srv.kill('SIGTERM');
await new Promise((r) => srv.on('exit', r));
web.close();
const q = spawnSync('sqlite3', [join(dir, 'data', 'yingji.db'),
  "SELECT sum(checks), sum(failures), (SELECT count(*) FROM monitors WHERE status = 'up') FROM monitor_hours"], { encoding: 'utf8' });
const [checks, failures, up] = q.stdout.trim().split('|').map(Number);
console.log(`${N} HTTP monitors every ${INTERVAL} s${process.env.CLOSE ? ', a new connection for each check' : ''}; measured ${wall.toFixed(1)} s after the first interval`);
console.log(`checks answered in the window: ${requests} (${(requests / wall).toFixed(1)}/s; expected ${(N / INTERVAL).toFixed(1)}/s)`);
console.log(`stored: ${checks} checks, ${failures} failed; ${up} of ${N} monitors up`);
console.log(`server CPU: ${used.toFixed(2)} s in ${wall.toFixed(1)} s = ${((100 * used) / wall).toFixed(2)}% of one core; RSS ${memory.toFixed(1)} MiB`);
rmSync(dir, { recursive: true, force: true });
