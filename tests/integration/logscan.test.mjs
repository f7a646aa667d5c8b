// Black-box tests of `yingji logscan`: real log files, junk, bad rule files, and the same
// verdicts as fail2ban's stock sshd filter line by line.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { yj, sh, tempDir, cleanup, SRC } from './helpers.mjs';

describe('logscan', () => {
  let dir, log;
  before(() => {
    dir = tempDir();
    log = join(dir, 'auth.log');
    const g = spawnSync('python3', [join(SRC, 'bench/gen_sshd_log.py'), '20000', '7'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(g.status, 0, g.stderr);
    writeFileSync(log, g.stdout);
  });
  after(() => cleanup(dir));

  test('summary and matches agree, in text and JSON', () => {
    const s = yj(['logscan', '--rule', 'sshd', '--json', log]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.json.lines, 20000);
    assert.ok(s.json.matched > 8000 && s.json.matched < 10000, `matched ${s.json.matched}`);
    assert.deepEqual(Object.keys(s.json.by_rule), ['sshd']);
    assert.equal(s.json.by_rule.sshd, s.json.matched);
    assert.deepEqual(s.json.skipped, { binary: 0, invalid_utf8: 0, too_long: 0 });
    const m = yj(['logscan', '--rule', 'sshd', '--matches', '--json', log]);
    const rows = m.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, s.json.matched);
    const lines = (spawnSync('cat', [log], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout).split('\n');
    for (const r of rows.slice(0, 500)) {
      assert.equal(r.rule, 'sshd');
      assert.ok(lines[r.line - 1].includes(r.fields.ip ?? ''), `line ${r.line} holds ${r.fields.ip}`);
    }
    assert.ok(rows.every((r) => !r.fields.ip || /^[0-9a-f.:]+$/i.test(r.fields.ip)));
    const text = yj(['logscan', '--rule', 'sshd', log]);
    assert.match(text.stdout, /^lines read\s+20000/m);
    assert.match(text.stdout, new RegExp(`^sshd\\s+${s.json.matched}\\s`, 'm'));
  });

  test('the same failure lines as fail2ban-regex with its stock sshd filter', (t) => {
    if (spawnSync('which', ['fail2ban-regex']).status !== 0) return t.skip('fail2ban-regex is not installed');
    const f = spawnSync('fail2ban-regex', ['--print-all-matched', log, '/etc/fail2ban/filter.d/sshd.conf'],
      { encoding: 'utf8', maxBuffer: 1 << 27 });
    // fail2ban-regex also lists a few successful logins ("Accepted ...") that its multi-line
    // logic ties to an earlier failure of the same session; those are not failure lines.
    const theirs = new Set(f.stdout.split('\n').filter((l) => /^\|  [A-Z][a-z]{2} [ \d]\d /.test(l)
      && !l.includes(': Accepted ')).map((l) => l.slice(3)));
    const lines = (spawnSync('cat', [log], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout).split('\n');
    const ours = new Set(yj(['logscan', '--rule', 'sshd', '--matches', '--json', log]).stdout.trim().split('\n')
      .map((l) => lines[JSON.parse(l).line - 1]));
    const onlyTheirs = [...theirs].filter((l) => !ours.has(l));
    const onlyOurs = [...ours].filter((l) => !theirs.has(l));
    assert.deepEqual(onlyTheirs.slice(0, 5), [], 'lines fail2ban counts and yingji misses');
    assert.deepEqual(onlyOurs.slice(0, 5), [], 'lines yingji counts and fail2ban does not');
    assert.ok(ours.size > 8000);
  });

  test('binary junk, invalid UTF-8 and over-long lines are counted and skipped', () => {
    const f = join(dir, 'junk.log');
    const r = sh(`{ echo 'Nov 22 01:38:57 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2';
      head -c 300000 /dev/urandom; echo;
      printf 'Nov 22 01:38:57 h sshd[1]: Invalid user \\xff\\xfe from 5.6.7.8\\n';
      head -c 100000 /dev/zero | tr '\\0' 'a'; echo;
      head -c 2000000 /dev/zero | tr '\\0' 'b'; echo;
      echo 'Nov 22 01:38:58 h sshd[1]: Invalid user test from 9.9.9.9 port 4'; } > '${f}'`);
    assert.equal(r.code, 0, r.stderr);
    const s = yj(['logscan', '--json', f]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.json.by_rule.sshd, 2, 'the two clean failure lines, and nothing from the junk');
    assert.ok(s.json.skipped.invalid_utf8 + s.json.skipped.binary >= 2);
    assert.ok(s.json.skipped.too_long >= 2);
    const stdin = sh(`"$Y" logscan --json - < '${f}'`);
    assert.equal(JSON.parse(stdin.stdout).by_rule.sshd, 2);
    // One rule: the literal block scan; a block with junk falls back to line by line, same counts.
    const one = yj(['logscan', '--json', '--rule', 'sshd', f]);
    assert.equal(one.json.by_rule.sshd, 2);
    assert.deepEqual(one.json.skipped, s.json.skipped);
  });

  test('threshold hits: five failures from one address within ten minutes', () => {
    const f = join(dir, 'burst.log');
    const lines = [];
    for (let i = 0; i < 12; i++) lines.push(`Nov 22 01:${String(10 + i).padStart(2, '0')}:00 h sshd[1]: Failed password for root from 203.0.113.9 port 22 ssh2`);
    for (let i = 0; i < 4; i++) lines.push(`Nov 22 0${i + 2}:00:00 h sshd[1]: Failed password for root from 198.51.100.1 port 22 ssh2`);
    lines.push('Nov 22 05:00:00 h sshd[1]: Failed password for root from 127.0.0.1 port 22 ssh2');
    writeFileSync(f, `${lines.join('\n')}\n`);
    const s = yj(['logscan', '--json', f]);
    assert.equal(s.json.threshold_hits.sshd, 2, '12 close failures from one address = 2 hits of 5; spread ones none');
    assert.equal(s.json.distinct_keys.sshd, 2);
    assert.equal(s.json.allowed.sshd, 1, 'loopback is allow-listed');
  });

  test('each built-in rule counts under its own id (web error logs, sudo, sshd in one file)', () => {
    const f = join(dir, 'mixed.log');
    writeFileSync(f, `${String.raw`2026/11/22 03:53:11 [error] 1234#1234: *5 user "admin" was not found in "/etc/nginx/.htpasswd", client: 203.0.113.5, server: _, request: "GET /admin HTTP/1.1", host: "x"
2026/11/22 03:53:12 [error] 1234#1234: *6 user "admin": password mismatch, client: 2001:db8::5, server: _, request: "GET /admin HTTP/1.1", host: "x"
2026/11/22 03:53:13 [error] 1234#1234: *7 limiting requests, excess: 10.520 by zone "one", client: 198.51.100.4, server: _, request: "GET / HTTP/1.1"
2026/11/22 03:53:14 [error] 1234#1234: *8 open() "/var/www/html/wp-login.php" failed (2: No such file or directory), client: 198.51.100.5, server: _, request: "GET /wp-login.php HTTP/1.1"
2026/11/22 03:53:15 [error] 1234#1234: *9 access forbidden by rule, client: 198.51.100.6, server: _, request: "GET /.git/config HTTP/1.1"
2026/11/22 03:53:16 [error] 1234#1234: *10 open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: 198.51.100.7, server: _
2026/11/22 03:53:17 [notice] 1234#1234: signal process started
[Sun Nov 22 03:53:11.123456 2026] [auth_basic:error] [pid 123] [client 203.0.113.9:5555] AH01618: user admin not found: /private
[Sun Nov 22 03:53:12.123456 2026] [auth_basic:error] [pid 123:tid 456] [client 203.0.113.9:5556] AH01617: user admin: authentication failure for "/private": Password Mismatch
[Sun Nov 22 03:53:13.123456 2026] [core:error] [pid 123] [client 203.0.113.10:5557] AH10244: invalid URI path (/cgi-bin/.%2e/.%2e/.%2e/etc/passwd)
[Sun Nov 22 03:53:14.123456 2026] [authz_core:error] [pid 123] [client 203.0.113.11:5558] AH01630: client denied by server configuration: /var/www/html/.htaccess
[Sun Nov 22 03:53:15.123456 2026] [mpm_event:notice] [pid 123:tid 1] AH00489: Apache/2.4.57 (Debian) configured -- resuming normal operations`}
Nov 22 03:53:20 h sudo[9]:     bob : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/sh
Nov 22 03:53:21 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2
`);
    const s = yj(['logscan', '--json', f]);
    assert.equal(s.code, 0, s.stderr);
    const nonzero = Object.fromEntries(Object.entries(s.json.by_rule).filter(([, v]) => v > 0));
    assert.deepEqual(nonzero, { 'web-auth': 4, 'web-limit-req': 1, 'web-bad-request': 4, sudo: 1, sshd: 1 });
    assert.equal(s.json.distinct_keys['web-auth'], 3, 'three addresses, IPv6 among them');
    const m = yj(['logscan', '--matches', '--json', '--rule', 'web-auth', f]).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(m.map((r) => r.fields.ip), ['203.0.113.5', '2001:db8::5', '203.0.113.9', '203.0.113.9']);
    assert.ok(m.every((r) => r.fields.user === 'admin'));
  });

  test('bad rule files are refused with FILE:LINE:COLUMN; unknown rules and files are errors', () => {
    const rdir = join(dir, 'rules');
    mkdirSync(rdir);
    const bad = join(rdir, 'web.yaml');
    writeFileSync(bad, 'rules:\n  - id: web\n    patterns: [\'GET (\']\n    raise: {type: intrusion, title: x}\n    thresold: {}\n');
    const r = yj(['logscan', '--rules', rdir, log]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith(`${bad}:5:5: unknown key "thresold" in rule`)), r.stderr);
    assert.match(yj(['logscan', '--rule', 'nope', log]).stderr, /no rule with id "nope"/);
    assert.match(yj(['logscan', join(dir, 'missing.log')]).stderr, /missing\.log: No such file/);
    assert.equal(yj(['logscan']).code, 2);
  });
});
