// Setting it up for real (issue 15): `make run` with another plan and a config, and `make install`
// staged into a directory — the binary, a systemd unit that systemd accepts, the config in
// /etc/yingji — and the installed server starting on the installed config.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, SRC, tempDir, cleanup } from './helpers.mjs';

const BUILD = dirname(BIN);
const dirs = [];
after(() => dirs.forEach(cleanup));

// Runs a command until it prints `until` (then stops it) or exits: {code, out}.
function runUntil(cmd, args, until, ms = 60000) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, TZ: 'UTC' }, detached: true });
    let out = '';
    let done = false;
    const stop = () => { try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ } };
    const timer = setTimeout(stop, ms);
    const take = (d) => { out += d; if (!done && until.test(out)) { done = true; stop(); } };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, out, seen: done }); });
  });
}

describe('setting it up for real', () => {
  test('make run takes PLAN= and CONFIG=', async () => {
    const dir = tempDir('yj-run-');
    dirs.push(dir);
    const county = await runUntil('make', ['-s', '-C', SRC, 'run', `BUILD=${BUILD}`, `DATA=${join(dir, 'a')}`,
      'PLAN=builtin:county-bureau', 'LISTEN=127.0.0.1:0'], /listening on/);
    assert.ok(county.seen, county.out);
    assert.match(county.out, /password: \S+/);
    assert.match(county.out, /listening on http:\/\/127\.0\.0\.1:\d+\/ \(plan 巫山县司法局/);
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, 'listen: "127.0.0.1:0"\nplan: builtin:county-bureau\n');
    const configured = await runUntil('make', ['-s', '-C', SRC, 'run', `BUILD=${BUILD}`, `DATA=${join(dir, 'b')}`,
      `CONFIG=${cfg}`], /listening on/);
    assert.ok(configured.seen, configured.out);
    assert.match(configured.out, /listening on http:\/\/127\.0\.0\.1:\d+\/ \(plan 巫山县司法局/);
  });

  test('make install DESTDIR=… stages the binary, a valid systemd unit and the config', async () => {
    const dest = tempDir('yj-install-');
    dirs.push(dest);
    const r = spawnSync('make', ['-s', '-C', SRC, 'install', `BUILD=${BUILD}`, `DESTDIR=${dest}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const bin = join(dest, 'usr/local/bin/yingji');
    assert.ok(statSync(bin).mode & 0o111, 'the binary is executable');
    const unitPath = join(dest, 'etc/systemd/system/yingji.service');
    const unit = readFileSync(unitPath, 'utf8');
    for (const line of ['User=yingji', 'Restart=on-failure', 'StateDirectory=yingji',
      'ExecStart=/usr/local/bin/yingji serve --config /etc/yingji/yingji.yaml']) {
      assert.ok(unit.split('\n').includes(line), line);
    }
    assert.doesNotMatch(unit, /@[A-Z]+@/);
    const config = readFileSync(join(dest, 'etc/yingji/yingji.yaml'), 'utf8');
    assert.match(config, /^data: \/var\/lib\/yingji$/m);
    assert.ok(existsSync(join(dest, 'etc/yingji/yingji.example.yaml')));
    // systemd's own check of the unit, with ExecStart pointing at the staged binary.
    if (existsSync('/usr/bin/systemd-analyze')) {
      const copy = join(dest, 'check.service');
      writeFileSync(copy, unit.replace('/usr/local/bin/yingji', bin));
      const v = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
    // A second install keeps the config someone edited.
    writeFileSync(join(dest, 'etc/yingji/yingji.yaml'), config.replace('builtin:university', 'builtin:county-bureau'));
    assert.equal(spawnSync('make', ['-s', '-C', SRC, 'install', `BUILD=${BUILD}`, `DESTDIR=${dest}`]).status, 0);
    assert.match(readFileSync(join(dest, 'etc/yingji/yingji.yaml'), 'utf8'), /builtin:county-bureau/);
    // The installed server on the installed config (its data dir moved into the test's).
    const served = await runUntil(bin, ['--config', join(dest, 'etc/yingji/yingji.yaml'), '--data', join(dest, 'var'),
      'serve', '--listen', '127.0.0.1:0'], /listening on/);
    assert.ok(served.seen, served.out);
  });
});
