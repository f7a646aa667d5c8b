// Shared helpers for black-box tests: run the real yingji binary on a temporary data dir.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = process.env.YINGJI_BIN || new URL('../../build/yingji', import.meta.url).pathname;
export const SRC = process.env.YJ_SOURCE_DIR || new URL('../..', import.meta.url).pathname;

export function tempDir(prefix = 'yj-it-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

// Runs yingji with args; returns {code, stdout, stderr, json}.
export function yj(args, opts = {}) {
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
