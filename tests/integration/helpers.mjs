// Shared helpers for black-box tests: run the real yingji binary on a temporary data dir.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, chownSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = process.env.YINGJI_BIN || new URL('../../build/yingji', import.meta.url).pathname;
export const SRC = process.env.YJ_SOURCE_DIR || new URL('../..', import.meta.url).pathname;

export function tempDir(prefix = 'yj-it-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

// ---- both engines ----
// With YJ_TEST_STORE=postgresql (the integration-pg/ tests) every store a test makes is a fresh
// database on a PostgreSQL 15 of this test file's own (initdb in a temporary directory, as nobody
// when root; its socket in that directory), keyed by the data directory the test gives, so that
// the CLI and a restarted server find the same store. Tests that look into the SQLite file itself
// say so with { skip: ON_PG }.
export const ON_PG = process.env.YJ_TEST_STORE === 'postgresql';
const PG_BIN = '/usr/lib/postgresql/15/bin';
let pg = null;
const stores = new Map();

function asNobody(cmd, args) {
  return process.getuid() === 0 ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', cmd, ...args]]
    : [cmd, args];
}

function pgStart() {
  if (!existsSync(`${PG_BIN}/initdb`)) {
    if (process.env.CI) throw new Error('PostgreSQL 15 is not installed, and CI tests both engines (apt-get install postgresql-15)');
    console.log('# skip: PostgreSQL 15 is not installed');
    process.exit(0);
  }
  const dir = mkdtempSync(join(tmpdir(), 'yj-pg-'));
  if (process.getuid() === 0) chownSync(dir, 65534, 65534);
  const run = (cmd, args) => {
    const [c, a] = asNobody(cmd, args);
    const r = spawnSync(c, a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}${r.stdout}`);
  };
  run(`${PG_BIN}/initdb`, ['-N', '-D', `${dir}/db`, '-U', 'yingji', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  run(`${PG_BIN}/pg_ctl`, ['-D', `${dir}/db`, '-l', `${dir}/server.log`, '-w', '-o',
    `-k ${dir} -c listen_addresses='' -p 5432 -c fsync=off -c max_connections=200`, 'start']);
  process.on('exit', () => {
    const [c, a] = asNobody(`${PG_BIN}/pg_ctl`, ['-D', `${dir}/db`, '-m', 'immediate', '-w', 'stop']);
    spawnSync(c, a);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, n: 0, run };
}

// The store URL for a data directory: null on SQLite (the data directory's own file).
export function storeFor(data) {
  if (!ON_PG) return null;
  const key = resolve(data);
  if (!stores.has(key)) {
    pg = pg || pgStart();
    const name = `t${++pg.n}`;
    pg.run(`${PG_BIN}/createdb`, ['-h', pg.dir, '-p', '5432', '-U', 'yingji', name]);
    stores.set(key, `postgresql:///${name}?host=${pg.dir}&port=5432&user=yingji`);
  }
  return stores.get(key);
}

// A query on the store of a data directory, rows as lines and columns joined by '|' (sqlite3's
// and psql -At's shared format): the tests look at what was stored, on either engine.
export function sql(data, query) {
  const r = ON_PG
    ? spawnSync(`${PG_BIN}/psql`, ['-At', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-d', storeFor(data), '-c', query], { encoding: 'utf8' })
    : spawnSync('sqlite3', ['-separator', '|', `${data}/yingji.db`, query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${query}: ${r.stderr}`);
  return r.stdout.trim();
}

// PostgreSQL stopped (its clients' connections cut), fn run while it is down, and started again.
export async function pgRestart(fn) {
  const [c, a] = asNobody(`${PG_BIN}/pg_ctl`, ['-D', `${pg.dir}/db`, '-m', 'fast', '-w', 'stop']);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_ctl stop: ${r.stderr}`);
  try {
    await fn();
  } finally {
    pg.run(`${PG_BIN}/pg_ctl`, ['-D', `${pg.dir}/db`, '-l', `${pg.dir}/server.log`, '-w', '-o',
      `-k ${pg.dir} -c listen_addresses='' -p 5432 -c fsync=off -c max_connections=200`, 'start']);
  }
}

// A copy of the store of one data directory as the store of another (as an operator's copy of the
// file, or of the database): for tests that change a copy behind the server's back.
export function cloneStore(fromData, toData) {
  if (!ON_PG) {
    const r = spawnSync('cp', [`${fromData}/yingji.db`, `${toData}/yingji.db`]);
    if (r.status !== 0) throw new Error(`cp: ${r.stderr}`);
    return;
  }
  const from = storeFor(fromData).match(/^postgresql:\/\/\/([^?]+)/)[1];
  const name = `t${++pg.n}`;
  pg.run(`${PG_BIN}/createdb`, ['-h', pg.dir, '-p', '5432', '-U', 'yingji', '-T', from, name]);
  stores.set(resolve(toData), `postgresql:///${name}?host=${pg.dir}&port=5432&user=yingji`);
}

// args with --store added for the data directory they name, on PostgreSQL.
export function withStore(args, env = {}) {
  if (!ON_PG || args.some((a) => a === '--store' || a.startsWith('--store='))) return args;
  const i = args.indexOf('--data');
  const c = args.indexOf('--config');
  const fromConfig = c >= 0 && existsSync(args[c + 1])
    ? (readFileSync(args[c + 1], 'utf8').match(/^data: *"?([^"\n]+)"?$/m) || [])[1] : undefined;
  const data = i >= 0 ? args[i + 1] : (args.find((a) => a.startsWith('--data=')) || '').slice(7) || env.YINGJI_DATA
    || fromConfig;
  return data ? ['--store', storeFor(data), ...args] : args;
}

// Runs yingji with args; returns {code, stdout, stderr, json}.
export function yj(args, opts = {}) {
  args = withStore(args, opts.env);
  const r = spawnSync(opts.wrap ? opts.wrap[0] : BIN, opts.wrap ? [...opts.wrap.slice(1), BIN, ...args] : args, {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', ...(opts.env || {}) },
    input: opts.input,
    timeout: 30000,
  });
  let json;
  if (args.includes('--json')) {
    try { json = JSON.parse(r.stdout); } catch { json = undefined; }
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

// Runs a bash snippet with $Y set to the binary (for arguments node cannot pass: invalid UTF-8).
export function sh(script, opts = {}) {
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: { ...process.env, Y: BIN, ...(opts.env || {}) },
    timeout: 60000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function writePlan(dir, name, text) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export { spawn };

// Holds the store's write lock from another process (as a backup tool or a second writer might)
// for `seconds`. `held` resolves once the lock is taken, `released` when it is let go.
export function lockStore(db, seconds) {
  const p = spawn('bash', ['-c', `(echo '.timeout 60000'; echo 'BEGIN EXCLUSIVE;'; echo "SELECT 'locked';"; `
    + `sleep ${seconds}; echo 'COMMIT;') | sqlite3 '${db}'`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const held = new Promise((resolve) => p.stdout.on('data', (d) => { out += d; if (out.includes('locked')) resolve(); }));
  const released = new Promise((resolve) => p.on('exit', resolve));
  return { held, released };
}

// yj() without blocking the event loop: for tests whose receivers live in this process.
export function yjAsync(args, opts = {}) {
  args = withStore(args, opts.env);
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { env: { ...process.env, TZ: 'UTC', ...(opts.env || {}) } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => {
      let json;
      if (args.includes('--json')) {
        try { json = JSON.parse(stdout); } catch { json = undefined; }
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

// The university plan without its new-incident notification policy, for tests that watch exact
// timelines and event sequences and should not see the clock's notification entries. Returns
// the plan file's path (in dir).
export function quietPlan(dir) {
  const text = readFileSync(join(SRC, 'plans/university.yaml'), 'utf8');
  const from = text.indexOf('  - id: new_incident');
  const to = text.indexOf('  - id: unacknowledged');
  const p = join(dir, 'quiet-plan.yaml');
  writeFileSync(p, text.slice(0, from) + text.slice(to));
  return p;
}

// Polls fn (async) until it returns something truthy, which it returns; fails the test naming
// `what` after ms.
export async function until(what, fn, ms = 10000) {
  const { fail } = await import('node:assert/strict');
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
  return undefined;
}
