// Several `yingji serve` nodes on one PostgreSQL (issue 16): one API and console on every node,
// live events that reach clients of every node, the work that must happen once (the clock, the
// outbox, actions, scheduled watchers) run by the node holding the lease and taken over within
// seconds when it is killed, /healthz saying whether a node can write, and nodes that find their
// way back after PostgreSQL restarts. Runs on the integration-pg pass (a PostgreSQL of its own).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { yj, tempDir, cleanup, until, storeFor, pgRestart, ON_PG, SRC } from './helpers.mjs';
import { startServer, Client } from './server.mjs';
import { receiver } from './receivers.mjs';

// A live stream read as it comes: waitFor(text) resolves with the time an event holding text came.
function liveEvents(url, headers) {
  const ctrl = new AbortController();
  const seen = [];
  const waiting = [];
  (async () => {
    const res = await fetch(url, { headers, signal: ctrl.signal });
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^data:/m.test(block)) {
          seen.push({ at: Date.now(), text: block });
          for (const w of waiting.splice(0)) if (!w.check()) waiting.push(w);
        }
      }
    }
  })().catch(() => {});
  return {
    waitFor(text, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event with ${text} within ${ms} ms`)), ms);
        const w = { check: () => { const e = seen.find((x) => x.text.includes(text)); if (e) { clearTimeout(timer); resolve(e.at); } return !!e; } };
        if (!w.check()) waiting.push(w);
      });
    },
    close() { ctrl.abort(); },
  };
}

const health = async (srv) => {
  const r = await fetch(`${srv.url}/healthz`);
  return { status: r.status, body: await r.json() };
};

describe('several nodes on one PostgreSQL', { skip: !ON_PG && 'PostgreSQL only (integration-pg)' }, () => {
  const dir = tempDir('yj-nodes-');
  after(() => cleanup(dir));

  test('one API on both nodes; events reach the other node; the lease holder killed, the other takes over the outbox and the clock', async () => {
    const hook = await receiver('webhook', 'nodes-secret');
    writeFileSync(join(dir, 'hook.secret'), 'nodes-secret\n');
    // Acknowledge within 2 s, so the clock has something to do after the take-over.
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, readFileSync(join(SRC, 'plans/university.yaml'), 'utf8').replaceAll('acknowledge: 5m', 'acknowledge: 2s'));
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `plan: ${plan}\nchannels:\n  - {id: hook, type: webhook, url: "${hook.url}", secret_file: "${join(dir, 'hook.secret')}"}\n`);
    const a = await startServer({ args: ['--config', cfg], data: join(dir, 'a') });
    const store = storeFor(join(dir, 'a'));
    let b;
    try {
      // Every node signs the audit head with the same key (docs/server.md): B gets A's.
      mkdirSync(join(dir, 'b'), { mode: 0o700 });
      copyFileSync(join(dir, 'a', 'audit.key'), join(dir, 'b', 'audit.key'));
      b = await startServer({ args: ['--config', cfg, '--store', store], data: join(dir, 'b') });
      assert.match(a.startup, /this node runs the clock, the outbox, actions and the scheduled watchers/);
      assert.match(b.startup, /another node runs the clock/);
      assert.deepEqual([(await health(a)).body.leader, (await health(b)).body.leader], [true, false]);

      // One API: the administrator made by the first node logs in on the second.
      const onA = new Client(a.url);
      await onA.login('admin', a.adminPassword);
      const onB = new Client(b.url);
      await onB.login('admin', a.adminPassword);
      // A live client of B hears of incidents reported on A, at once: PostgreSQL's NOTIFY wakes B's
      // streams at the commit (the look once a second would make the median about half a second).
      const stream = liveEvents(`${b.url}/api/v1/events`, { Cookie: onB.cookie });
      await new Promise((r) => setTimeout(r, 300));
      const delays = [];
      let made;
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        made = await onA.post('/api/v1/incidents', { type: 'website_tamper', title: `主页被篡改（节点 A，${i}）` });
        assert.equal(made.status, 201);
        const heardAt = await stream.waitFor(made.json.number, 5000);
        delays.push(heardAt - t0);
      }
      stream.close();
      delays.sort((x, y) => x - y);
      console.log(`an event on A reached a client of B in ${delays.join(', ')} ms`);
      assert.ok(delays[2] < 300, `median ${delays[2]} ms`);
      assert.equal((await onB.get(`/api/v1/incidents/${made.json.id}`)).json.title, '主页被篡改（节点 A，4）');
      // The lease holder's outbox delivers (once).
      await until('A delivers the new-incident message', () => hook.got.some((g) => JSON.stringify(g.body).includes(made.json.number)));

      // A dies mid-work; B takes the lease within a few seconds and runs what A would have.
      const killedAt = Date.now();
      a.proc.kill('SIGKILL');
      await a.exited;
      await until('B holds the lease', async () => (await health(b)).body.leader, 10000);
      const tookOver = Date.now() - killedAt;
      assert.ok(tookOver < 10000, `took ${tookOver} ms`);
      console.log(`failover: the other node held the lease ${tookOver} ms after the kill`);
      assert.match(b.log(), /this node now runs the clock/);
      // The acknowledge deadline of A's incident fell due meanwhile: B's clock escalates it, B's outbox sends it.
      await until('the overdue escalation, sent by B', () => hook.got.some((g) => /接报确认已超时/.test(JSON.stringify(g.body))
        && JSON.stringify(g.body).includes(made.json.number)), 15000);
      const second = await onB.post('/api/v1/incidents', { type: 'server_fault', title: '服务器宕机（节点 B）' });
      assert.equal(second.status, 201);
      await until('B delivers', () => hook.got.some((g) => JSON.stringify(g.body).includes(second.json.number)));
      // At least once, and twice only for a message A had sent when it died before recording it.
      const keys = hook.got.map((g) => g.headers['idempotency-key']).filter(Boolean);
      const seen = {};
      for (const k of keys) seen[k] = (seen[k] || 0) + 1;
      assert.ok(Object.values(seen).every((n) => n <= 2), JSON.stringify(seen));
      assert.ok(keys.length >= 3);
      const v = yj(['--store', store, '--data', join(dir, 'b'), 'audit', 'verify', '--json']);
      assert.equal(v.code, 0, v.stderr + v.stdout);
      assert.equal(v.json.ok, true);
    } finally {
      if (b) await b.stop();
      if (a.proc.exitCode === null && a.proc.signalCode === null) await a.stop();
      await hook.close();
    }
  });

  test('kill -9 five times under load: nothing acknowledged is lost, deadlines due meanwhile fire, the chain verifies', async () => {
    const hook = await receiver('webhook', 'load-secret');
    const d = join(dir, 'load');
    mkdirSync(d);
    writeFileSync(join(d, 'hook.secret'), 'load-secret\n');
    const plan = join(d, 'plan.yaml');
    writeFileSync(plan, readFileSync(join(SRC, 'plans/university.yaml'), 'utf8').replaceAll('acknowledge: 5m', 'acknowledge: 2s'));
    const cfg = join(d, 'yingji.yaml');
    writeFileSync(cfg, `plan: ${plan}\nchannels:\n  - {id: hook, type: webhook, url: "${hook.url}", secret_file: "${join(d, 'hook.secret')}"}\n`);
    const dataOf = (i) => join(d, `node${i}`);
    const first = await startServer({ args: ['--config', cfg], data: dataOf(0) });
    const store = storeFor(dataOf(0));
    mkdirSync(dataOf(1), { mode: 0o700 });
    copyFileSync(join(dataOf(0), 'audit.key'), join(dataOf(1), 'audit.key'));
    const nodes = [first, await startServer({ args: ['--config', cfg, '--store', store], data: dataOf(1) })];
    const c = new Client(first.url);
    await c.login('admin', first.adminPassword);
    const acked = [];
    let stop = false;
    let sent = 0;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const n = nodes[i % 2];
        const req = new Client(n.url);
        req.cookie = c.cookie;
        req.csrf = c.csrf;
        try {
          sent++;
          const r = await req.post('/api/v1/incidents', { type: 'intrusion', title: `负载下的报告 ${i}` });
          if (r.status === 201) acked.push(r.json.number);
        } catch { /* that node is down: the balancer would have sent it to the other */ }
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    try {
      for (let k = 0; k < 5; k++) {
        await new Promise((r) => setTimeout(r, 1500));
        // The node holding the lease is the one killed.
        const hs = await Promise.all(nodes.map((n) => health(n).catch(() => ({ body: {} }))));
        const v = hs.findIndex((h) => h.body.leader) >= 0 ? hs.findIndex((h) => h.body.leader) : k % 2;
        nodes[v].proc.kill('SIGKILL');
        await nodes[v].exited;
        nodes[v] = await startServer({ args: ['--config', cfg, '--store', store], data: dataOf(v) });
      }
      await new Promise((r) => setTimeout(r, 1000));
      stop = true;
      await load;
      assert.ok(acked.length > 20, `${acked.length} of ${sent} acknowledged`);
      const reader = new Client(nodes[0].url);
      reader.cookie = c.cookie;
      const stored = new Set();
      for (let before = null; ;) {
        const page = (await reader.get(`/api/v1/incidents?limit=200${before ? `&cursor=${before}` : ''}`)).json;
        for (const it of page.items) stored.add(it.number);
        if (!page.next) break;
        before = page.next;
      }
      const lost = acked.filter((n) => !stored.has(n));
      assert.deepEqual(lost, [], 'every report answered 201 is in the store');
      // Every acknowledge deadline (2 s) fell due, many while their node was dead: each escalates.
      await until('every overdue escalation', () => {
        const got = new Set(hook.got.filter((g) => /接报确认已超时/.test(JSON.stringify(g.body)))
          .map((g) => (JSON.stringify(g.body).match(/YJ-\d{4}-\d{4}/) || [])[0]));
        return acked.every((n) => got.has(n));
      }, 30000);
      const keys = hook.got.map((g) => g.headers['idempotency-key']);
      const seen = {};
      for (const key of keys) seen[key] = (seen[key] || 0) + 1;
      const twice = Object.values(seen).filter((n) => n > 1).length;
      assert.ok(Object.values(seen).every((n) => n <= 2), 'at most once more, for what a killed node had in flight');
      console.log(`${acked.length} of ${sent} reports acknowledged, none lost; ${keys.length} messages, ${twice} sent twice`);
      const verify = yj(['--store', store, '--data', dataOf(0), 'audit', 'verify', '--json']);
      assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    } finally {
      stop = true;
      await load;
      for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) await n.stop();
      await hook.close();
    }
  });

  test('PostgreSQL restarted: /healthz says 503 while it is down, writes are refused whole, and the node comes back by itself', async () => {
    const data = join(dir, 'c');
    const srv = await startServer({ data });
    try {
      const c = new Client(srv.url);
      await c.login('admin', srv.adminPassword);
      assert.equal((await health(srv)).status, 200);
      const before = (await c.get('/api/v1/incidents')).json.items.length;
      await pgRestart(async () => {
        const h = await health(srv);
        assert.equal(h.status, 503);
        assert.equal(h.body.status, 'unavailable');
        const w = await c.post('/api/v1/incidents', { type: 'intrusion', title: '数据库重启期间' });
        assert.equal(w.status, 503, w.text);
      });
      await until('healthy again', async () => (await health(srv)).status === 200, 15000);
      const after = await c.post('/api/v1/incidents', { type: 'intrusion', title: '数据库重启之后' });
      assert.equal(after.status, 201, after.text);
      const items = (await c.get('/api/v1/incidents')).json.items;
      assert.equal(items.length, before + 1, 'the write refused meanwhile left nothing behind');
    } finally {
      await srv.stop();
    }
  });
});
