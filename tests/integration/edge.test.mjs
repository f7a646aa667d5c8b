// The HTTP edge as the audit of issue 14 attacked it, with raw sockets from several loopback
// addresses (127.0.0.X stands for another machine): request heads RFC 9112 refuses; a request
// trickled a byte at a time (slowloris); a body sent too slowly; a few addresses filling every
// connection slot while a newcomer must still be answered.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, cleanup } from './helpers.mjs';
import { startServer } from './server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sends raw bytes; resolves with what came back when the server closes (or after ms).
function raw(port, bytes, { from = '127.0.0.1', ms = 5000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    let out = '';
    const t0 = Date.now();
    const timer = setTimeout(() => { s.destroy(); resolve({ out, closed: false, ms: Date.now() - t0 }); }, ms);
    s.on('data', (d) => { out += d; });
    s.on('close', () => { clearTimeout(timer); resolve({ out, closed: true, ms: Date.now() - t0 }); });
    s.on('error', () => {});
    s.on('connect', () => s.write(bytes));
  });
}
const status = (r) => Number((r.out.match(/^HTTP\/1\.[01] (\d{3})/) || [])[1] || 0);

// A connection that sends `first` at once, then `head` one byte every `every` ms; resolves with
// how long it lasted once the server closes it.
function trickle(port, head, every, from, first = '') {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    const t0 = Date.now();
    let i = 0;
    let timer;
    s.on('connect', () => {
      if (first) s.write(first);
      timer = setInterval(() => { if (i < head.length) s.write(head[i++]); }, every);
    });
    s.on('error', () => {});
    s.on('close', () => { clearInterval(timer); resolve(Date.now() - t0); });
  });
}

describe('the HTTP edge', () => {
  const dirs = [];
  after(() => dirs.forEach(cleanup));

  test('request heads are read as RFC 9112 says', async () => {
    const srv = await startServer();
    const port = Number(new URL(srv.url).port);
    try {
      const cases = [
        ['a NUL in the path', 'GET /api/v1/incidents/1%00 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
        ['a NUL before an extension', 'GET /index.html%00.js HTTP/1.1\r\nHost: x\r\n\r\n', 400],
        ['an encoded newline in the path', 'GET /api/v1/plan%0a HTTP/1.1\r\nHost: x\r\n\r\n', 400],
        ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
        ['two Host headers', 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
        ['two different Content-Length', 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
          + 'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400],
        ['Content-Length and Transfer-Encoding', 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n'
          + 'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', 400],
        ['an unknown transfer coding', 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n', 501],
      ];
      for (const [what, bytes, want] of cases) {
        const r = await raw(port, bytes);
        assert.equal(status(r), want, `${what}: ${r.out.slice(0, 200)}`);
        assert.ok(r.ms < 3000, `${what}: answered at once (${r.ms} ms)`);
      }
      // What is right still works: HTTP/1.0 needs no Host; the same Content-Length twice is one.
      assert.equal(status(await raw(port, 'GET /healthz HTTP/1.0\r\n\r\n')), 200);
      assert.equal(status(await raw(port, 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
        + 'Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}')), 400, 'the body is read: fields missing');
      const ok = await raw(port, 'GET /api/v1/incidents/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(status(ok), 401);
    } finally {
      await srv.stop();
    }
  });

  test('a request trickled in, or its body, is cut off in time', async () => {
    const dir = tempDir('yj-edge-');
    dirs.push(dir);
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, 'limits: {header_time: 2s, body_rate: 100, timeout: 30s}\n');
    const srv = await startServer({ args: ['--config', cfg] });
    const port = Number(new URL(srv.url).port);
    try {
      // A byte every 500 ms: never idle for MHD's 30 s, but the head is not whole in 2 s.
      const heads = Array.from({ length: 5 }, (_, i) => trickle(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'a'.repeat(200), 500, `127.0.0.${10 + i}`));
      const lasted = await Promise.all(heads);
      assert.ok(lasted.every((ms) => ms >= 1900 && ms < 6000), `closed after ${lasted.join(', ')} ms`);
      // A body of 100 KB at 20 bytes a second (the head at once): under body_rate (100 B/s) once
      // header_time is past.
      const bodyLasted = await trickle(port, '{'.repeat(1000), 50, '127.0.0.20', 'POST /api/v1/session HTTP/1.1\r\n'
        + 'Host: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
      assert.ok(bodyLasted >= 1900 && bodyLasted < 6000, `slow body closed after ${bodyLasted} ms`);
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(m, /yingji_http_connections_closed_total\{reason="slow_headers"\} ([5-9]|\d\d)/);
      assert.match(m, /yingji_http_connections_closed_total\{reason="slow_body"\} [1-9]/);
      // A normal client is not affected.
      assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    } finally {
      await srv.stop();
    }
  });

  test('a few addresses cannot fill the server: the last slots are kept for newcomers', async () => {
    const dir = tempDir('yj-edge-');
    dirs.push(dir);
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, 'limits: {connections: 64, per_address: 40, header_time: 60s, timeout: 60s}\nthreads: 2\n');
    const srv = await startServer({ args: ['--config', cfg] });
    const port = Number(new URL(srv.url).port);
    const held = [];
    try {
      // Nine addresses each open as many connections as they may and send nothing.
      for (let a = 0; a < 9; a++) {
        for (let i = 0; i < 12; i++) {
          const s = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${30 + a}` });
          s.on('error', () => {});
          held.push(s);
        }
      }
      await sleep(1500);
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      const open = Number(m.match(/yingji_http_connections (\d+)/)[1]);
      assert.ok(open < 64, `the attackers hold ${open} of 64`);
      assert.match(m, /yingji_http_connections_refused_total [1-9]/);
      // A tenth address is answered, five times over.
      let answered = 0;
      for (let i = 0; i < 5; i++) {
        const r = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { from: '127.0.0.99', ms: 3000 });
        if (status(r) === 200) answered++;
      }
      assert.equal(answered, 5);
    } finally {
      held.forEach((s) => s.destroy());
      await srv.stop();
    }
  });
});
