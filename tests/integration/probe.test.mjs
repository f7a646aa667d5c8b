// `yingji probe`: one-shot availability checks against servers this test runs on loopback — a
// page that answers, fails, redirects, carries or lacks a keyword; a TCP port open and closed;
// HTTPS with a certificate made here with openssl that ends in five days.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { yjAsync as yj, tempDir, cleanup } from './helpers.mjs';

describe('yingji probe', () => {
  let web, tls, dir, base, secure, closedPort;
  before(async () => {
    dir = tempDir();
    web = http.createServer((req, res) => {
      if (req.url === '/fail') { res.writeHead(503); res.end('维护中'); return; }
      if (req.url === '/moved') { res.writeHead(302, { Location: '/' }); res.end(); return; }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<html><body>欢迎访问重庆医科大学</body></html>');
    });
    await new Promise((r) => web.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${web.address().port}`;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '5', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => { res.end('ok'); });
    await new Promise((r) => tls.listen(0, '127.0.0.1', r));
    secure = `https://127.0.0.1:${tls.address().port}/`;
    const s = net.createServer();
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    closedPort = s.address().port;
    await new Promise((r) => s.close(r));
  });
  after(() => { web.close(); tls.close(); cleanup(dir); });

  test('a page that answers is up; its status, time and redirects are reported', async () => {
    const r = await yj(['probe', `${base}/`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.up, true);
    assert.equal(r.json.kind, 'http');
    assert.equal(r.json.status, 200);
    assert.ok(r.json.response_ms >= 0 && r.json.response_ms < 5000);
    const moved = await yj(['probe', `${base}/moved`, '--json']);
    assert.equal(moved.json.redirects, 1);
    assert.equal(moved.json.final_url, `${base}/`);
    const text = await yj(['probe', `${base}/`]);
    assert.match(text.stdout, /is up \(http, HTTP 200, \d+ ms\)/);
  });

  test('down: an error status, a missing keyword, a word that must not be there, nothing listening', async () => {
    const fail = await yj(['probe', `${base}/fail`]);
    assert.equal(fail.code, 1);
    assert.match(fail.stderr, /is down: HTTP 503/);
    const kw = await yj(['probe', `${base}/`, '--keyword', '重庆医科大学']);
    assert.equal(kw.code, 0, kw.stderr);
    const missing = await yj(['probe', `${base}/`, '--keyword', '首页新闻']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not contain "首页新闻"/);
    const bad = await yj(['probe', `${base}/`, '--absent', '欢迎', '--json']);
    assert.equal(bad.code, 1);
    assert.equal(bad.json.up, false);
    assert.match(bad.json.reason, /contains "欢迎"/);
    const refused = await yj(['probe', `http://127.0.0.1:${closedPort}/`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /connect/i);
  });

  test('TCP: an open port is up, a closed one is down', async () => {
    const open = await yj(['probe', `127.0.0.1:${web.address().port}`, '--json']);
    assert.equal(open.code, 0, open.stderr);
    assert.equal(open.json.kind, 'tcp');
    const closed = await yj(['probe', `127.0.0.1:${closedPort}`, '--json']);
    assert.equal(closed.code, 1);
    assert.equal(closed.json.up, false);
  });

  test('HTTPS: the certificate is verified, and one ending in five days is a warning', async () => {
    const untrusted = await yj(['probe', secure]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /certificate/i);
    const r = await yj(['probe', secure, '--ca', join(dir, 'cert.pem'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json.certificate.days_left >= 4 && r.json.certificate.days_left <= 5, JSON.stringify(r.json));
    assert.match(r.json.reason, /certificate ends in [45] days/);
    const quiet = await yj(['probe', secure, '--ca', join(dir, 'cert.pem'), '--cert-days', '3', '--json']);
    assert.equal(quiet.code, 0);
    assert.equal(quiet.json.reason, null);
  });

  test('ICMP echo and DNS answers', async () => {
    const ping = await yj(['probe', 'icmp:127.0.0.1', '--json']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal(ping.json.kind, 'icmp');
    assert.equal(ping.json.up, true);
    const nowhere = await yj(['probe', 'icmp:no-such-host.invalid']);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /cannot resolve no-such-host\.invalid/);
    const dns = await yj(['probe', 'dns:localhost', '--json']);
    assert.equal(dns.code, 0, dns.stderr);
    assert.ok(dns.json.answers.includes('127.0.0.1'), JSON.stringify(dns.json));
    // The same answers expected: up; another address: down, as a hijacked name would be.
    const same = await yj(['probe', 'dns:localhost', ...dns.json.answers.flatMap((a) => ['--expect', a])]);
    assert.equal(same.code, 0, same.stderr);
    const hijacked = await yj(['probe', 'dns:localhost', '--expect', '203.0.113.9']);
    assert.equal(hijacked.code, 1);
    assert.match(hijacked.stderr, /localhost resolves to .*127\.0\.0\.1.*, not to the expected 203\.0\.113\.9/);
    const gone = await yj(['probe', 'dns:no-such-host.invalid']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /does not resolve/);
  });

  test('bad commands exit 2', async () => {
    assert.equal((await yj(['probe', 'not a target'])).code, 2);
    assert.equal((await yj(['probe', '127.0.0.1:99999'])).code, 2);
    assert.equal((await yj(['probe', `${base}/`, '--timeout', 'soon'])).code, 2);
    assert.equal((await yj(['probe'])).code, 2);
    assert.equal((await yj(['probe', 'icmp:'])).code, 2);
    assert.equal((await yj(['probe', 'icmp:a b'])).code, 2);
    assert.equal((await yj(['probe', '127.0.0.1:80', '--expect', '1.2.3.4'])).code, 2);
  });
});
