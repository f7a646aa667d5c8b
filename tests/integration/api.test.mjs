// Black-box tests of `yingji serve`: the real binary on a random loopback port, driven over HTTP.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, Client, adminClient, readEvents } from './server.mjs';
import { yj, sh, SRC, tempDir, cleanup, quietPlan, sql, ON_PG } from './helpers.mjs';

const PW = 'correct-horse-battery';
const ROLES = ['admin', 'leader', 'responder', 'officer', 'duty', 'auditor'];

describe('server basics', () => {
  let srv;
  before(async () => { srv = await startServer({ keepOneTimePassword: true }); });
  after(async () => { await srv.stop(); });

  test('first start prints the admin password once; health, metrics and the API description are public', async () => {
    assert.match(srv.adminPassword, /^[A-Za-z2-9]{16}$/);
    assert.match(srv.startup, /password: [A-Za-z2-9]{16} {3}\(shown only now; you set your own at the first login\)/);
    const h = await fetch(`${srv.url}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok', store: 'ok', schema: 24, engine: ON_PG ? 'postgresql' : 'sqlite',
      leader: true });
    const o = await fetch(`${srv.url}/api/v1/openapi.yaml`);
    assert.equal(o.status, 200);
    assert.match(await o.text(), /^openapi: 3/);
    const doc = await (await fetch(`${srv.url}/api/v1/openapi.yaml`)).text();
    for (const p of ['/api/v1/session', '/api/v1/session/password', '/api/v1/signals', '/api/v1/incidents', '/api/v1/incidents/{id}',
      '/api/v1/incidents/{id}/move', '/api/v1/incidents/{id}/assessment', '/api/v1/incidents/{id}/timeline',
      '/api/v1/incidents/{id}/notes', '/api/v1/plan', '/api/v1/plan/{part}', '/api/v1/users', '/api/v1/users/{id}',
      '/api/v1/users/{id}/password-reset', '/api/v1/incidents.csv', '/api/v1/incidents/{id}/assignee', '/api/v1/assignees', '/api/v1/audit.csv', '/api/v1/ack/{token}', '/api/v1/stats/daily', '/api/v1/tokens', '/api/v1/tokens/{id}', '/api/v1/audit', '/api/v1/events', '/api/v1/monitors', '/api/v1/monitors/{id}', '/api/v1/integrity', '/api/v1/integrity/{id}/accept', '/api/v1/integrity/{id}/maintenance', '/api/v1/host', '/api/v1/sites', '/api/v1/sites/{id}/accept', '/healthz', '/metrics']) {
      assert.ok(doc.includes(`\n  ${p}:\n`), `${p} is documented`);
    }
    const m = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(m, /yingji_http_requests_total\{route="healthz",code="200"\} 1/);
    assert.match(m, /yingji_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/);
    assert.match(m, /yingji_incidents\{status="reported"\} 0/);
    assert.match(m, /yingji_store_errors_total 0/);
    const again = yj(['--data', srv.data, 'user', 'list', '--json']);
    assert.deepEqual(again.json.items.map((u) => u.name), ['admin']);
  });

  test('login, session cookie, logout', async () => {
    const c = new Client(srv.url);
    const bad = await c.login('admin', 'wrong-password-here');
    assert.equal(bad.status, 401);
    assert.equal(bad.json.code, 'bad_credentials');
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    const ok = await c.login('admin', srv.adminPassword);
    assert.equal(ok.status, 200);
    const [cookie, device] = ok.headers.getSetCookie();
    assert.match(cookie, /^yj_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    // The browser is remembered for the login alone (a known browser is not held back by waits
    // others earned for its address).
    assert.match(device, /^yj_device=[A-Za-z0-9_-]{43}; Path=\/api\/v1\/session; HttpOnly; SameSite=Strict; Max-Age=15552000$/);
    assert.equal(ok.json.user.role, 'admin');
    assert.equal(ok.json.user.must_change_password, true);
    assert.ok(ok.json.csrf.length >= 32);
    const me = await c.get('/api/v1/session');
    assert.equal(me.json.user.name, 'admin');
    // The one-time password opens the password change and nothing else (issue 14).
    for (const [m, p, b] of [['GET', '/api/v1/incidents'], ['GET', '/api/v1/users'], ['GET', '/api/v1/plan'],
      ['POST', '/api/v1/incidents', { type: 'intrusion', title: 'x' }], ['GET', '/api/v1/events']]) {
      const r = await c.req(m, p, b);
      assert.equal(r.status, 403, `${m} ${p}`);
      assert.equal(r.json.code, 'password_change_required');
    }
    const own = `${srv.adminPassword}-own`;
    const changed = await c.post('/api/v1/session/password', { old: srv.adminPassword, new: own });
    assert.equal(changed.status, 204, changed.text);
    srv.adminPassword = own;
    assert.equal((await c.login('admin', own)).json.user.must_change_password, false);
    assert.equal((await c.get('/api/v1/incidents')).status, 200);
    // Cookie writes need the CSRF token.
    const noCsrf = await fetch(`${srv.url}/api/v1/incidents`, {
      method: 'POST', headers: { Cookie: c.cookie, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'intrusion', title: 'x' }),
    });
    assert.equal(noCsrf.status, 403);
    assert.equal((await noCsrf.json()).code, 'csrf');
    const out = await c.req('DELETE', '/api/v1/session');
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie'), /^yj_session=; .*Max-Age=0/);
    const after = await c.get('/api/v1/session');
    assert.equal(after.status, 401);
    assert.equal((await new Client(srv.url).get('/api/v1/incidents')).status, 401);
  });

  test('change password ends the sessions and the old password', async () => {
    const a = await adminClient(srv);
    assert.equal((await a.post('/api/v1/users', { name: 'pwuser', role: 'duty', password: PW })).status, 201);
    const u = new Client(srv.url);
    await u.login('pwuser', PW);
    const short = await u.req('PUT', '/api/v1/session/password', { old: PW, new: 'short' });
    assert.equal(short.status, 400);
    assert.equal(short.json.field, 'new');
    const wrong = await u.req('PUT', '/api/v1/session/password', { old: 'not-the-password', new: 'another-good-one' });
    assert.equal(wrong.status, 403);
    const ok = await u.req('PUT', '/api/v1/session/password', { old: PW, new: 'another-good-one' });
    assert.equal(ok.status, 204);
    assert.equal((await u.get('/api/v1/session')).status, 401);
    assert.equal((await new Client(srv.url).login('pwuser', PW)).status, 401);
    assert.equal((await new Client(srv.url).login('pwuser', 'another-good-one')).status, 200);
  });

  test('failed logins are throttled per account with growing delays', async () => {
    const a = await adminClient(srv);
    await a.post('/api/v1/users', { name: 'victim', role: 'duty', password: PW });
    const c = new Client(srv.url);
    for (let i = 0; i < 5; i++) assert.equal((await c.login('victim', `guess-${i}-xxxxx`)).status, 401);
    // The first wait is 1 s. On a loaded machine (argon2 under ASan, tests in parallel) a try can
    // arrive after it: then it fails once more and the wait doubles. Two more wrong tries, then.
    for (let i = 5; i < 7; i++) assert.ok([401, 429].includes((await c.login('victim', `guess-${i}-xxxxx`)).status));
    const t = await c.login('victim', PW); // even the right password waits now
    assert.equal(t.status, 429);
    assert.equal(t.json.code, 'rate_limited');
    const after = Number(t.headers.get('retry-after'));
    assert.ok(after >= 1 && after <= 4, `Retry-After ${after}`);
    await new Promise((r) => setTimeout(r, after * 1000 + 100));
    assert.equal((await c.login('victim', PW)).status, 200, 'after the wait the right password works');
  });

  test('scripted set-up: user add and passwd with --password-stdin', () => {
    const add = yj(['--data', srv.data, 'user', 'add', 'lisi', '--role', 'officer', '--unit', 'publicity',
      '--password-stdin'], { input: `${PW}\n` });
    assert.equal(add.code, 0, add.stderr);
    const dup = yj(['--data', srv.data, 'user', 'add', 'lisi', '--role', 'officer', '--unit', 'publicity',
      '--password-stdin'], { input: `${PW}\n` });
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);
    const noUnit = yj(['--data', srv.data, 'user', 'add', 'x1', '--role', 'officer', '--password-stdin'], { input: `${PW}\n` });
    assert.match(noUnit.stderr, /needs the unit/);
    const badRole = yj(['--data', srv.data, 'user', 'add', 'x2', '--role', 'boss', '--password-stdin'], { input: `${PW}\n` });
    assert.match(badRole.stderr, /role must be one of/);
    const weak = yj(['--data', srv.data, 'user', 'add', 'x3', '--role', 'duty', '--password-stdin'], { input: 'short\n' });
    assert.match(weak.stderr, /10 to 512 characters/);
    const pw = yj(['--data', srv.data, 'user', 'passwd', 'lisi', '--password-stdin'], { input: 'a-new-password-1\n' });
    assert.equal(pw.code, 0, pw.stderr);
  });
});

describe('roles, scoping and tokens', () => {
  let srv, admin;
  const clients = {};
  let own, other; // an incident of the publicity unit, and one of the IT office

  before(async () => {
    srv = await startServer();
    admin = await adminClient(srv);
    for (const role of ROLES) {
      const body = { name: `u_${role}`, role, password: PW };
      if (role === 'officer') body.unit = 'publicity';
      const r = await admin.post('/api/v1/users', body);
      assert.equal(r.status, 201, r.text);
      clients[role] = new Client(srv.url);
      assert.equal((await clients[role].login(`u_${role}`, PW)).status, 200);
    }
    own = (await admin.post('/api/v1/incidents', { type: 'public_opinion', title: '宣传部的舆情' })).json;
    other = (await admin.post('/api/v1/incidents', { type: 'intrusion', title: '信息办的入侵' })).json;
    assert.equal(own.unit, 'publicity');
    assert.equal(other.unit, 'it_office');
  });
  after(async () => { await srv.stop(); });

  // Every route × every role. `ok` lists the roles allowed; everyone else gets 403. The roles mean
  // what the plans say: duty (值班) reports, acknowledges and works tasks; the team (responder:
  // 应急救援小组) assesses, responds, approves, dismisses, reports upward; the leading group
  // (leader: 领导小组) also activates the plan and closes.
  const W = ['admin', 'leader', 'responder', 'duty'];
  const TEAM = ['admin', 'leader', 'responder'];
  const DECIDERS = ['admin', 'leader'];
  const matrix = () => [
    { m: 'GET', p: '/api/v1/session', ok: ROLES },
    { m: 'GET', p: '/api/v1/incidents', ok: ROLES },
    { m: 'POST', p: '/api/v1/incidents', body: { type: 'public_opinion', title: '矩阵' }, ok: [...W, 'officer'] },
    { m: 'GET', p: `/api/v1/incidents/${own.id}`, ok: ROLES },
    { m: 'GET', p: `/api/v1/incidents/${own.id}/timeline`, ok: ROLES },
    { m: 'GET', p: `/api/v1/incidents/${own.id}/notes`, ok: ROLES },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/notes`, body: { text: '矩阵备注' }, ok: [...W, 'officer'] },
    { m: 'PUT', p: `/api/v1/incidents/${own.id}/assessment`, body: { scope: '全校' }, ok: TEAM },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/move`, body: { status: 'bogus' }, ok: TEAM, allowedStatus: 400 },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/move`, body: { status: 'closed' }, ok: DECIDERS, allowedStatus: 409 },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/ack`, ok: W },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/tasks/999999/approval`, body: { approve: true }, ok: TEAM, allowedStatus: 404 },
    { m: 'PATCH', p: `/api/v1/incidents/${own.id}/tasks/999999`, body: { status: 'done' }, ok: W, allowedStatus: 404 },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/upward-report`, body: { to: '' }, ok: TEAM, allowedStatus: 400 },
    { m: 'GET', p: '/api/v1/plan', ok: ROLES },
    { m: 'GET', p: '/api/v1/plan/routing', ok: ROLES },
    { m: 'GET', p: '/api/v1/users', ok: ['admin'] },
    { m: 'POST', p: '/api/v1/users', body: { name: 'm', role: 'duty', password: 'x' }, ok: ['admin'], allowedStatus: 400 },
    { m: 'PATCH', p: '/api/v1/users/999', body: {}, ok: ['admin'], allowedStatus: 404 },
    { m: 'POST', p: '/api/v1/users/999/password-reset', ok: ['admin'], allowedStatus: 404 },
    { m: 'GET', p: '/api/v1/incidents.csv', ok: ROLES },
    { m: 'GET', p: '/api/v1/stats/daily?days=7', ok: ROLES },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/assignee`, body: { assignee: null }, ok: W },
    { m: 'GET', p: '/api/v1/assignees', ok: [...W, 'auditor'] },
    { m: 'GET', p: '/api/v1/audit.csv', ok: ['admin', 'auditor'] },
    { m: 'GET', p: '/api/v1/tokens', ok: ['admin'] },
    { m: 'POST', p: '/api/v1/tokens', body: { name: 'm', scopes: [] }, ok: ['admin'], allowedStatus: 400 },
    { m: 'DELETE', p: '/api/v1/tokens/999', ok: ['admin'], allowedStatus: 404 },
    { m: 'GET', p: '/api/v1/audit', ok: ['admin', 'auditor'] },
    { m: 'POST', p: `/api/v1/incidents/${own.id}/activation`, body: { by: 'nobody', reason: '矩阵' }, ok: DECIDERS, allowedStatus: 400 },
    { m: 'GET', p: '/api/v1/blocks', ok: [...W, 'auditor'] },
    { m: 'GET', p: '/api/v1/signals?limit=5', ok: [...W, 'auditor'] },
    { m: 'GET', p: '/api/v1/signals?limit=0', ok: [...W, 'auditor'], allowedStatus: 400 },
    { m: 'POST', p: '/api/v1/blocks/192.0.2.1/release', body: {}, ok: ['admin', 'leader', 'responder'], allowedStatus: 404 },
    { m: 'PUT', p: '/api/v1/session/password', body: { old: PW, new: 'short' }, ok: ROLES, allowedStatus: 400 },
    { m: 'POST', p: '/api/v1/signals', body: { signals: [{ source: 'x', message: 'hello' }] }, ok: ['admin'], allowedStatus: 202 },
  ];

  test('the role matrix: every route for every role', async () => {
    for (const row of matrix()) {
      for (const role of ROLES) {
        const r = await clients[role].req(row.m, row.p, row.body);
        if (row.ok.includes(role)) {
          assert.ok(![401, 403].includes(r.status), `${role} ${row.m} ${row.p} → ${r.status} ${r.text}`);
          if (row.allowedStatus) assert.equal(r.status, row.allowedStatus, `${role} ${row.m} ${row.p}: ${r.text}`);
        } else {
          assert.equal(r.status, 403, `${role} ${row.m} ${row.p} must be refused, got ${r.status}`);
          assert.equal(r.json.code, 'forbidden');
        }
      }
    }
    // Logging out is for everyone (last: it ends the sessions).
    for (const role of ROLES) {
      const c = new Client(srv.url);
      await c.login(`u_${role}`, PW);
      assert.equal((await c.req('DELETE', '/api/v1/session')).status, 204, role);
    }
    // Streams: every role may open one.
    for (const role of ROLES) {
      const s = await readEvents(`${srv.url}/api/v1/events`, { Cookie: clients[role].cookie }, 0, 300);
      assert.equal(s.status, 200, role);
    }
  });

  test('an officer sees the own unit and own reports only; others look missing', async () => {
    const off = clients.officer;
    const list = (await off.get('/api/v1/incidents?limit=500')).json.items;
    assert.ok(list.length > 0);
    assert.ok(list.every((i) => i.unit === 'publicity' || i.reporter === 'user:u_officer'), 'only own unit');
    assert.ok(!list.some((i) => i.id === other.id));
    const hidden = await off.get(`/api/v1/incidents/${other.id}`);
    const missing = await off.get('/api/v1/incidents/999999');
    assert.equal(hidden.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(hidden.json.code, missing.json.code);
    assert.deepEqual(Object.keys(hidden.json).sort(), Object.keys(missing.json).sort());
    assert.equal((await off.get(`/api/v1/incidents/${other.number}/timeline`)).status, 404);
    assert.equal((await off.post(`/api/v1/incidents/${other.id}/notes`, { text: 'x' })).status, 404);
    // The officer's own report of another unit's matter stays visible to them.
    const mine = await off.post('/api/v1/incidents', { type: 'intrusion', title: '信息员上报的入侵' });
    assert.equal(mine.status, 201);
    assert.equal(mine.json.unit, 'it_office');
    assert.equal((await off.get(`/api/v1/incidents/${mine.json.id}`)).status, 200);
    // Officers' streams are filtered the same way.
    const s = await readEvents(`${srv.url}/api/v1/events`, { Cookie: off.cookie, 'Last-Event-ID': '0' }, 100, 800);
    assert.ok(s.events.length > 0);
    assert.ok(s.events.every((e) => e.data.unit === 'publicity' || e.data.id === mine.json.id), JSON.stringify(s.events));
  });

  test('attachments: an image by its bytes, listed, served back; others refused; other units see nothing', async () => {
    // A 1×1 PNG.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const off = clients.officer;
    const mine = await off.post('/api/v1/incidents', { type: 'public_opinion', title: '带截图的舆情上报' });
    const base = `/api/v1/incidents/${mine.json.id}/attachments`;
    const up = await off.req('POST', `${base}?name=${encodeURIComponent('微博截图.png')}`, png, { 'Content-Type': 'image/png' });
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.type, 'image/png');
    assert.equal(up.json.size, png.length);
    assert.equal(up.json.name, '微博截图.png');
    const list = (await off.get(base)).json.items;
    assert.deepEqual(list.map((a) => a.id), [up.json.id]);
    const got = await fetch(srv.url + up.json.url, { headers: { Cookie: off.cookie } });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), png);
    // Not an image (whatever the Content-Type says), a bad name, nothing stored for either.
    const fake = await off.req('POST', base, Buffer.from('<svg onload=alert(1)>'), { 'Content-Type': 'image/png' });
    assert.equal(fake.status, 415);
    assert.equal((await off.req('POST', `${base}?name=..%2Fetc%2Fpasswd`, png, { 'Content-Type': 'image/png' })).status, 400);
    assert.equal((await off.get(base)).json.items.length, 1);
    const tl = (await off.get(`/api/v1/incidents/${mine.json.id}/timeline`)).json.items.filter((e) => e.kind === 'attachment');
    assert.equal(tl.length, 1);
    // Another unit's officer: the incident and its attachment look missing.
    assert.equal((await off.get(`/api/v1/incidents/${other.id}/attachments`)).status, 404);
    assert.equal((await off.req('POST', `/api/v1/incidents/${other.id}/attachments`, png, { 'Content-Type': 'image/png' })).status, 404);
    assert.equal((await off.get(`/api/v1/incidents/${other.id}/attachments/${up.json.id}`)).status, 404);
    assert.equal((await clients.admin.get(`/api/v1/incidents/${other.id}/attachments/${up.json.id}`)).status, 404, 'not that incident\'s');
    // Bigger than limits.attachment (8 MiB by default): 413.
    const big = Buffer.concat([png, Buffer.alloc(9 << 20)]);
    assert.equal((await off.req('POST', base, big, { 'Content-Type': 'image/png' })).status, 413);
  });

  test('query parameters and signal fields: one validation for every route (issue 14)', async () => {
    const bad = [
      ['/api/v1/audit?limit=-1', 'limit'], ['/api/v1/audit?limit=100000', 'limit'], ['/api/v1/audit?limit=abc', 'limit'],
      ['/api/v1/audit?after=x', 'after'], ['/api/v1/blocks?all=2', 'all'], ['/api/v1/incidents?limit=0', 'limit'],
      ['/api/v1/incidents?status=finished', 'status'], ['/api/v1/incidents?drill=yes', 'drill'],
      ['/api/v1/incidents?colour=red', 'colour'], ['/api/v1/incidents?limit=5&limit=6', 'limit'],
      ['/api/v1/signals?limit=201', 'limit'], ['/api/v1/duty?at=tomorrow', 'at'], ['/api/v1/plan?x=1', 'x'],
    ];
    for (const [path, field] of bad) {
      const r = await admin.get(path);
      assert.equal(r.status, 400, path);
      assert.equal(r.json.field, field, path);
    }
    for (const path of ['/api/v1/audit?limit=5&after=1', '/api/v1/blocks?all=1', '/api/v1/incidents?drill=false&sort=severity&limit=3']) {
      assert.equal((await admin.get(path)).status, 200, path);
    }
    // A forbidden caller hears 403, not what the parameters should have been.
    assert.equal((await clients.officer.get('/api/v1/audit?limit=-1')).status, 403);
    // fields are named strings, as the schema says.
    for (const fields of [{ a: 1 }, { a: { b: 'c' } }, { a: null }, Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']))]) {
      const r = await admin.post('/api/v1/signals', { signals: [{ source: 'x', message: 'm', fields }] });
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.match(r.json.field, /^signals\[0\]\.fields/);
    }
    assert.equal((await admin.post('/api/v1/signals', { signals: [{ source: 'x', message: 'm', fields: { sensor: 'ups-1' } }] })).status, 202);
    // Times the server can store and write back as RFC 3339: after 1970, before the year 10000
    // (-1500 came back as "1969-12-31T23:59:59.-500Z").
    for (const time of [-1500, 0, 253402300800000, '1969-12-31T23:59:58.500Z', '0000-01-01T00:00:00Z']) {
      const r = await admin.post('/api/v1/signals', { signals: [{ source: 'x', message: 'm', time }] });
      assert.equal(r.status, 400, String(time));
      assert.equal(r.json.field, 'signals[0].time');
    }
  });

  test('API tokens: scopes, shown once, revoked', async () => {
    const t = await admin.post('/api/v1/tokens', { name: 'reader', scopes: ['read'] });
    assert.equal(t.status, 201);
    assert.match(t.json.token, /^yj_[A-Za-z0-9_-]{43}$/);
    assert.equal(typeof t.json.id, 'number');
    const list = await admin.get('/api/v1/tokens');
    assert.ok(!list.text.includes(t.json.token), 'the secret is never shown again');
    const reader = new Client(srv.url, { token: t.json.token });
    assert.equal((await reader.get('/api/v1/incidents')).status, 200);
    assert.equal((await reader.post('/api/v1/incidents', { type: 'intrusion', title: 'x' })).status, 403);
    assert.equal((await reader.get('/api/v1/users')).status, 403);
    const w = await admin.post('/api/v1/tokens', { name: 'writer', scopes: ['read', 'write'] });
    const writer = new Client(srv.url, { token: w.json.token });
    const made = await writer.post('/api/v1/incidents', { type: 'server_fault', title: '令牌上报' });
    assert.equal(made.status, 201);
    assert.equal(made.json.reporter, 'token:writer');
    assert.equal((await admin.post('/api/v1/tokens', { name: 'x', scopes: ['root'] })).json.field, 'scopes');
    assert.equal((await admin.req('DELETE', `/api/v1/tokens/${t.json.id}`)).status, 204);
    const gone = await reader.get('/api/v1/incidents');
    assert.equal(gone.status, 401);
    assert.equal((await new Client(srv.url, { token: 'yj_forged' }).get('/api/v1/incidents')).status, 401);
  });

  test('the audit chain records authentication and every write', async () => {
    await new Client(srv.url).login('u_leader', 'wrong-wrong-wrong');
    const a = await clients.auditor.get('/api/v1/audit?limit=1000');
    assert.equal(a.status, 200);
    assert.equal(a.json.verify.ok, true);
    const actions = new Set(a.json.items.map((i) => i.action));
    for (const x of ['user.create', 'auth.login', 'auth.login_failed', 'incident.report', 'incident.note',
      'incident.assess', 'token.create', 'token.revoke']) assert.ok(actions.has(x), x);
    const failed = a.json.items.find((i) => i.action === 'auth.login_failed' && i.object === 'u_leader');
    assert.match(failed.actor, /^anonymous@127\.0\.0\.1$/);
    assert.ok(!a.text.includes(PW), 'no password in the audit log');
  });
});

describe('incidents over HTTP', () => {
  let srv, c, planDir;
  // Exact timelines and event sequences: without the clock's new-incident notifications.
  before(async () => {
    planDir = tempDir();
    srv = await startServer({ args: ['--plan', quietPlan(planDir)] });
    c = await adminClient(srv);
  });
  after(async () => { await srv.stop(); cleanup(planDir); });

  test('report returns 201 in the CLI\'s shape; GET and list agree', async () => {
    const r = await c.post('/api/v1/incidents', {
      type: 'website_tamper', title: '官网首页被篡改', asset: ['main_site'], source: '巡检', scope: '首页',
      drill: true,
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('location'), `/api/v1/incidents/${r.json.id}`);
    assert.equal(r.headers.get('etag'), `"${r.json.id}-1"`);
    const cli = yj(['--data', srv.data, 'incident', 'show', String(r.json.id), '--json']).json;
    assert.deepEqual(Object.keys(r.json).sort(), Object.keys(cli).sort());
    assert.deepEqual(r.json, cli);
    const g = await c.get(`/api/v1/incidents/${r.json.number}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json, cli);
    const l = await c.get('/api/v1/incidents');
    assert.deepEqual(Object.keys(l.json).sort(), ['items', 'next']);
    assert.equal(l.json.items[0].id, r.json.id);
    assert.equal(l.json.next, null);
  });

  test('list filters, text search, sort and cursor pagination', async () => {
    for (let i = 0; i < 7; i++) {
      const r = await c.post('/api/v1/incidents', { type: i % 2 ? 'server_fault' : 'public_opinion', title: `分页 ${i}` });
      assert.equal(r.status, 201);
    }
    const seen = [];
    let next = null;
    do {
      const r = await c.get(`/api/v1/incidents?limit=3${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
      assert.equal(r.status, 200);
      seen.push(...r.json.items.map((i) => i.id));
      next = r.json.next;
    } while (next);
    assert.equal(seen.length, 8);
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'newest first, no repeats');
    const opinion = (await c.get('/api/v1/incidents?type=public_opinion&unit=publicity')).json.items;
    assert.equal(opinion.length, 4);
    assert.equal((await c.get(`/api/v1/incidents?text=${encodeURIComponent('分页 3')}`)).json.items.length, 1);
    assert.equal((await c.get('/api/v1/incidents?drill=true')).json.items.length, 1);
    const sev = (await c.get('/api/v1/incidents?sort=severity')).json.items;
    assert.equal(sev[0].national_level, 'III');
    const oldest = (await c.get('/api/v1/incidents?sort=reported_at&limit=2')).json;
    assert.equal(oldest.items[0].id, 1);
    const page2 = (await c.get(`/api/v1/incidents?sort=reported_at&limit=2&cursor=${oldest.next}`)).json;
    assert.deepEqual(page2.items.map((i) => i.id), [3, 4]);
    for (const [q, field] of [['status=done', 'status'], ['drill=yes', 'drill'], ['sort=name', 'sort'],
      ['limit=0', 'limit'], ['cursor=abc', 'cursor']]) {
      const r = await c.get(`/api/v1/incidents?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.field, field, q);
    }
  });

  test('a repeated read is served from the cache until anything changes, whoever changes it', async () => {
    const r = await c.post('/api/v1/incidents', { type: 'intrusion', title: '缓存' });
    const path = `/api/v1/incidents/${r.json.id}`;
    const metric = async () => Number((await (await fetch(`${srv.url}/metrics`)).text())
      .match(/yingji_response_cache_total\{result="hit"\} (\d+)/)[1]);
    const h0 = await metric();
    const a = await c.get(path);
    const b = await c.get(path);
    assert.equal(a.text, b.text);
    assert.ok(await metric() > h0, 'the second read was a hit');
    const list1 = await c.get('/api/v1/incidents?limit=5');
    // Another process changes it: the next read must show the change, not the cached copy.
    assert.equal(yj(['--data', srv.data, 'incident', 'move', String(r.json.id), 'assessing']).code, 0);
    assert.equal((await c.get(path)).json.status, 'assessing');
    const list2 = await c.get('/api/v1/incidents?limit=5');
    assert.notEqual(list1.text, list2.text);
    assert.equal(list2.json.items.find((i) => i.id === r.json.id).status, 'assessing');
  });

  test('ETag and If-Match: a stale write gets 412, never a lost update', async () => {
    const r = await c.post('/api/v1/incidents', { type: 'intrusion', title: '并发修改' });
    const id = r.json.id;
    const etag = r.headers.get('etag');
    const g = await c.get(`/api/v1/incidents/${id}`, { 'If-None-Match': etag });
    assert.equal(g.status, 304);
    const a = await c.req('PUT', `/api/v1/incidents/${id}/assessment`, { scope: '教务系统' }, { 'If-Match': etag });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('etag'), `"${id}-2"`);
    const stale = await c.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' }, { 'If-Match': etag });
    assert.equal(stale.status, 412);
    assert.equal(stale.json.code, 'precondition_failed');
    assert.equal((await c.get(`/api/v1/incidents/${id}`)).json.status, 'reported', 'nothing changed');
    const fresh = await c.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' }, { 'If-Match': a.headers.get('etag') });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.status, 'assessing');
    const wrongId = await c.post(`/api/v1/incidents/${id}/move`, { status: 'dismissed', reason: 'x' }, { 'If-Match': '"999-3"' });
    assert.equal(wrongId.status, 412);
  });

  test('the lifecycle over HTTP, with the guards as 400/409 naming what is missing', async () => {
    const r = await c.post('/api/v1/incidents', { type: 'machine_room_water', title: '机房渗水' });
    const id = r.json.id;
    const skip = await c.post(`/api/v1/incidents/${id}/move`, { status: 'closed' });
    assert.equal(skip.status, 409);
    assert.equal(skip.json.code, 'invalid_transition');
    await c.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' });
    const incomplete = await c.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: { level: 'important' } });
    assert.equal(incomplete.status, 400);
    // In Chinese by the fields' names (the default), in English by their keys on request.
    assert.equal(incomplete.json.detail, '风险评估尚不完整，还缺：信息来源、影响范围和危害、事件性质、发展态势、已采取措施');
    const inEnglish = await c.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: { level: 'important' } },
      { 'Accept-Language': 'en' });
    assert.match(inEnglish.json.detail, /missing source, scope, nature, trend, measures$/);
    const badField = await c.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: { colour: 'red' } });
    assert.equal(badField.json.field, 'colour');
    const go = await c.post(`/api/v1/incidents/${id}/move`, {
      status: 'responding',
      fields: { source: '值班', scope: '机房', nature: '渗水', trend: '稳定', measures: '断电排水', level: 'important',
        activated_by: 'vp_it', activation_reason: '核心机房' },
      on_behalf: '组长电话决定',
    });
    assert.equal(go.status, 200, go.text);
    const note = await c.post(`/api/v1/incidents/${id}/notes`, { text: '已通知后勤' });
    assert.equal(note.status, 201);
    const notes = await c.get(`/api/v1/incidents/${id}/notes`);
    assert.deepEqual(notes.json.items.map((n) => n.body.text), ['已通知后勤']);
    const tl = await c.get(`/api/v1/incidents/${id}/timeline`);
    assert.deepEqual(tl.json.items.map((n) => n.kind), ['reported', 'status', 'status', 'note']);
    const dismiss = await c.post(`/api/v1/incidents/${id}/move`, { status: 'dismissed' });
    assert.equal(dismiss.status, 409);
  });

  test('bad input: 400/413/415 problem+json naming the field, nothing stored', async () => {
    const before = (await c.get('/api/v1/incidents?limit=500')).json.items.length;
    const raw = (body, type = 'application/json') => fetch(`${srv.url}/api/v1/incidents`, {
      method: 'POST', headers: { Cookie: c.cookie, 'X-CSRF-Token': c.csrf, 'Content-Type': type, 'Accept-Language': 'en' }, body,
    }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), json: await r.json() }));
    let r = await raw('{"type": "intrusion", "title": ');
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'invalid_json');
    assert.equal(r.type, 'application/problem+json');
    r = await raw(JSON.stringify({ type: 'intrusion', title: 5 }));
    assert.equal(r.json.field, 'title');
    assert.match(r.json.detail, /title must be a string/);
    r = await raw(JSON.stringify({ type: 'intrusion', title: 'x', colour: 'red' }));
    assert.equal(r.json.code, 'unknown_field');
    assert.equal(r.json.field, 'colour');
    r = await raw(JSON.stringify({ type: 'intrusion' }));
    assert.equal(r.json.field, 'title');
    r = await raw(Buffer.from('{"type":"intrusion","title":"\xff\xfe"}', 'latin1'));
    assert.equal(r.status, 400);
    assert.match(r.json.detail, /UTF-8/);
    r = await raw(`${'['.repeat(100)}${']'.repeat(100)}`);
    assert.equal(r.status, 400);
    assert.match(r.json.detail, /nested deeper/);
    r = await raw(JSON.stringify({ type: 'intrusion', title: 'a\u0000b' }));
    assert.equal(r.status, 400);
    assert.equal(r.json.field, 'title');
    r = await raw(JSON.stringify({ type: 'intrusion', title: 'x'.repeat(201) }));
    assert.equal(r.json.field, 'title');
    assert.match(r.json.detail, /too long/);
    r = await raw(JSON.stringify({ type: 'nope', title: 'x' }));
    assert.equal(r.json.field, 'type');
    r = await raw(JSON.stringify({ type: 'intrusion', title: 'x', asset: [1] }));
    assert.equal(r.json.field, 'asset');
    r = await raw('type=intrusion', 'application/x-www-form-urlencoded');
    assert.equal(r.status, 415);
    r = await raw(JSON.stringify({ type: 'intrusion', title: 'x', source: 'y'.repeat(1100000) }));
    assert.equal(r.status, 413);
    assert.equal(r.json.code, 'payload_too_large');
    assert.equal((await c.get('/api/v1/incidents?limit=500')).json.items.length, before);
    // Chinese by default, English on request.
    const zh = await c.post('/api/v1/incidents', { type: 'nope', title: 'x' });
    assert.match(zh.json.title, /字段缺失或无效/);
    const en = await c.post('/api/v1/incidents', { type: 'nope', title: 'x' }, { 'Accept-Language': 'en-US,en;q=0.9' });
    assert.equal(en.json.title, 'A field is missing or invalid');
    // Unknown routes and methods.
    assert.equal((await c.get('/api/v1/nothing')).status, 404);
    assert.equal((await c.req('DELETE', '/api/v1/incidents')).status, 405);
    // Metacharacters are stored and returned verbatim.
    const title = `<img src=x onerror=alert(1)> '; DROP TABLE incidents; -- "引号"`;
    const ok = await c.post('/api/v1/incidents', { type: 'intrusion', title });
    assert.equal(ok.status, 201);
    assert.equal((await c.get(`/api/v1/incidents/${ok.json.id}`)).json.title, title);
  });

  test('SSE: created and changed events, reconnect with Last-Event-ID loses nothing', async () => {
    const url = `${srv.url}/api/v1/events`;
    const h = { Cookie: c.cookie };
    const live = readEvents(url, h, 2, 5000);
    await new Promise((r) => setTimeout(r, 200));
    const a = await c.post('/api/v1/incidents', { type: 'server_fault', title: '流事件一' });
    await c.post(`/api/v1/incidents/${a.json.id}/notes`, { text: '备注' });
    const got = await live;
    assert.equal(got.status, 200);
    assert.match(got.type, /^text\/event-stream/);
    assert.deepEqual(got.events.map((e) => [e.event, e.data.id]), [['incident.created', a.json.id], ['incident.changed', a.json.id]]);
    const lastSeen = got.events[1].id;
    // While disconnected: two more changes, one of them written by the CLI, another process.
    const b = await c.post('/api/v1/incidents', { type: 'server_fault', title: '流事件二' });
    const cli = yj(['--data', srv.data, 'incident', 'note', String(b.json.id), 'CLI 写入']);
    assert.equal(cli.code, 0, cli.stderr);
    const replay = await readEvents(url, { ...h, 'Last-Event-ID': String(lastSeen) }, 2, 5000);
    assert.deepEqual(replay.events.map((e) => e.id), [lastSeen + 1, lastSeen + 2]);
    assert.equal(replay.events[1].data.action, 'incident.note');
    // Events written by another process arrive live too (the 1 s tick).
    const later = readEvents(url, h, 1, 4000);
    await new Promise((r) => setTimeout(r, 200));
    yj(['--data', srv.data, 'incident', 'note', String(b.json.id), '再写一次']);
    assert.equal((await later).events.length, 1);
  });
});

describe('signals', () => {
  test('SIGHUP with a broken plan keeps the old plan; a good one is taken', async () => {
    const dir = tempDir();
    const planFile = join(dir, 'plan.yaml');
    copyFileSync(join(SRC, 'plans/university.yaml'), planFile);
    const srv = await startServer({ args: ['--plan', planFile] });
    try {
      const c = await adminClient(srv);
      const name = (await c.get('/api/v1/plan')).json.plan.name;
      writeFileSync(planFile, readFileSync(planFile, 'utf8').replace('coordinator: publicity', 'coordinator: nowhere'));
      srv.proc.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      assert.match(srv.log(), new RegExp(`${planFile}:\\d+:\\d+: unknown unit "nowhere"`));
      assert.equal((await c.get('/api/v1/plan')).json.plan.name, name, 'the old plan stays in force');
      assert.equal((await c.post('/api/v1/incidents', { type: 'intrusion', title: '重载后' })).status, 201);
      writeFileSync(planFile, readFileSync(join(SRC, 'plans/university.yaml'), 'utf8').replace(
        'name: 重庆医科大学网络与信息安全突发事件应急预案', 'name: 修订后的预案'));
      srv.proc.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await c.get('/api/v1/plan')).json.plan.name, '修订后的预案');
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(m, /yingji_plan_reloads_total\{result="ok"\} 1/);
      assert.match(m, /yingji_plan_reloads_total\{result="refused"\} 1/);
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });

  test('SIGTERM finishes the request in flight, ends streams, exits 0', async () => {
    const srv = await startServer();
    const c = await adminClient(srv);
    const stream = readEvents(`${srv.url}/api/v1/events`, { Cookie: c.cookie }, 5, 8000);
    // A request whose body is still arriving when the signal comes.
    const body = JSON.stringify({ type: 'intrusion', title: '关机时的上报' });
    const { port, hostname } = new URL(srv.url);
    const sock = net.connect(Number(port), hostname);
    await new Promise((r) => sock.on('connect', r));
    sock.write(`POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nCookie: ${c.cookie}\r\nX-CSRF-Token: ${c.csrf}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`);
    sock.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 200));
    srv.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    let reply = '';
    sock.on('data', (d) => { reply += d; });
    const closed = new Promise((r) => sock.on('close', r));
    sock.end(body.slice(10));
    await closed;
    assert.match(reply, /^HTTP\/1\.1 201 Created/);
    const s = await stream;
    assert.equal(s.status, 200, 'the stream ended cleanly');
    const { code } = await srv.exited;
    assert.equal(code, 0);
    assert.match(srv.log(), /stopped/);
    const after = yj(['--data', srv.data, 'incident', 'list', '--json']);
    assert.ok(after.json.items.some((i) => i.title === '关机时的上报'), 'the request in flight was committed');
    assert.equal(yj(['--data', srv.data, 'audit', 'verify']).code, 0);
    await srv.stop();
  });
});

describe('deployment config and TLS', () => {
  test('yingji.example.yaml is valid; a bad config names FILE:LINE:COLUMN for every error', () => {
    const ok = yj(['--config', join(SRC, 'yingji.example.yaml'), 'plan', 'show', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const dir = tempDir();
    try {
      const f = join(dir, 'bad.yaml');
      writeFileSync(f, 'listen: "127.0.0.1:8080"\nlimits:\n  body: 1 megabyte\n  colour: red\nthreads: 0x10\n');
      const r = yj(['--config', f, 'serve']);
      assert.equal(r.code, 2);
      assert.deepEqual(r.stderr.trim().split('\n'), [
        `${f}:3:9: body: bad size "1 megabyte": unit must be one of B, KiB, MiB, GiB`,
        `${f}:4:3: unknown key "colour" in limits (known keys: body, attachment, json_depth, string, connections, per_address, timeout, memory, window_keys, header_time, body_rate)`,
        `${f}:5:10: threads: expected a whole number, not "0x10"`,
      ]);
      writeFileSync(f, 'listen: "localhost"\n');
      assert.match(yj(['--config', f, 'serve']).stderr, /:1:10: listen "localhost": expected ADDR:PORT/);
      assert.match(yj(['--config', join(dir, 'none.yaml'), 'plan', 'show']).stderr, /cannot open config/);
    } finally {
      cleanup(dir);
    }
  });

  test('the config sets data, plan and limits; flags override it', async () => {
    const dir = tempDir();
    const f = join(dir, 'yingji.yaml');
    writeFileSync(f, `data: ${join(dir, 'from-config')}\nplan: builtin:county-bureau\nlisten: "127.0.0.1:1"\n`
      + 'limits:\n  body: 2KiB\n');
    try {
      const shown = yj(['--config', f, 'plan', 'show', '--json']).json;
      assert.equal(shown.plan.id, 'wushan-justice');
      const rep = yj(['--config', f, 'incident', 'report', '--type', 'intrusion', '--title', '配置'], {});
      assert.equal(rep.code, 0, rep.stderr);
      assert.equal(yj(['--data', join(dir, 'from-config'), '--plan', 'builtin:county-bureau', 'incident', 'list', '--json']).json.items.length, 1);
      // --listen and --data beat the file; its plan and limits still apply.
      const srv = await startServer({ args: ['--config', f], data: join(dir, 'flag-data') });
      try {
        const c = await adminClient(srv);
        assert.equal((await c.get('/api/v1/plan')).json.plan.id, 'wushan-justice');
        const big = await c.post('/api/v1/incidents', { type: 'intrusion', title: 'x', source: 'y'.repeat(3000) });
        assert.equal(big.status, 413);
      } finally {
        await srv.stop();
      }
    } finally {
      cleanup(dir);
    }
  });

  test('built-in TLS: HTTPS with the configured certificate, Secure session cookie', async () => {
    const dir = tempDir();
    try {
      const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=yingji-test',
        '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const f = join(dir, 'yingji.yaml');
      writeFileSync(f, `tls:\n  cert: ${join(dir, 'cert.pem')}\n  key: ${join(dir, 'key.pem')}\n`);
      const srv = await startServer({ args: ['--config', f], scheme: 'https' });
      try {
        assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = readFileSync(join(dir, 'cert.pem'));
        const body = JSON.stringify({ username: 'admin', password: srv.adminPassword });
        const res = await new Promise((resolve, reject) => {
          const req = https.request(`${srv.url}/api/v1/session`, {
            method: 'POST', ca, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          }, (r) => { let t = ''; r.on('data', (d) => { t += d; }); r.on('end', () => resolve({ r, t })); });
          req.on('error', reject);
          req.end(body);
        });
        assert.equal(res.r.statusCode, 200, res.t);
        assert.match(res.r.headers['set-cookie'][0], /; Secure$/);
        // Under TLS browsers are told to keep to it (issue 14).
        assert.equal(res.r.headers['strict-transport-security'], 'max-age=31536000');
        // Plain HTTP to the TLS port gets nowhere.
        const plain = await fetch(srv.url.replace('https:', 'http:') + '/healthz').then(() => 'answered', () => 'refused');
        assert.equal(plain, 'refused');
      } finally {
        await srv.stop();
      }
    } finally {
      cleanup(dir);
    }
  });
});

describe('connection limits', () => {
  test('strings, headers, connections per address and idle timeouts are bounded', async () => {
    const dir = tempDir();
    const f = join(dir, 'yingji.yaml');
    // The idle timeout leaves room for opening five connections on a loaded machine under ASan (at
    // 1 s the first held connection could time out before the fifth was opened).
    writeFileSync(f, 'limits:\n  string: 1000\n  per_address: 4\n  timeout: 3s\n  memory: 16KiB\n');
    const srv = await startServer({ args: ['--config', f] });
    try {
      const c = await adminClient(srv);
      const long = await c.post('/api/v1/incidents', { type: 'intrusion', title: 'x', source: 'y'.repeat(1001) });
      assert.equal(long.status, 400);
      assert.equal(long.json.field, 'source');
      // Headers beyond the per-connection buffer are refused, not buffered without end.
      const big = await fetch(`${srv.url}/healthz`, { headers: { 'X-Filler': 'z'.repeat(40000) } })
        .then((r) => r.status, () => 'closed');
      assert.ok(big === 431 || big === 413 || big === 'closed', `got ${big}`);
      // The client's own keep-alive connections count against the address too: let the server's
      // idle timeout close them first.
      await new Promise((r) => setTimeout(r, 3600));
      const { port, hostname } = new URL(srv.url);
      const open = () => new Promise((resolve) => {
        const s = net.connect(Number(port), hostname);
        s.on('connect', () => resolve(s));
        s.on('error', () => resolve(null));
      });
      // Four idle connections are allowed from one address; a fifth is closed straight away.
      const held = [];
      for (let i = 0; i < 4; i++) held.push(await open());
      const fifth = await open();
      const fate = await new Promise((resolve) => {
        if (!fifth) return resolve('refused');
        fifth.on('close', () => resolve('closed'));
        fifth.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        fifth.on('data', (d) => resolve(String(d).split('\r\n')[0]));
        setTimeout(() => resolve('open'), 2000);
      });
      assert.ok(fate === 'closed' || fate === 'refused', `fifth connection: ${fate}`);
      // Idle connections are closed after the timeout, freeing their places.
      const closedAt = await Promise.all(held.map((s) => new Promise((resolve) => {
        const t0 = Date.now();
        s.on('close', () => resolve(Date.now() - t0));
        setTimeout(() => resolve(-1), 6000);
      })));
      assert.ok(closedAt.every((ms) => ms >= 0 && ms < 5000), `idle connections closed after ${closedAt}`);
      // The server frees a closed connection's place just after closing it: allow it a moment
      // (under ASan, more than a moment).
      let status = 'fetch failed';
      for (let i = 0; i < 20 && status !== 200; i++) {
        status = await fetch(`${srv.url}/healthz`).then((r) => r.status, () => 'fetch failed');
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });
});

describe('detection: signals become incidents', () => {
  let srv, admin, ingest;
  before(async () => {
    srv = await startServer();
    admin = await adminClient(srv);
    const t = await admin.post('/api/v1/tokens', { name: 'shipper', scopes: ['ingest'] });
    ingest = new Client(srv.url, { token: t.json.token });
  });
  after(async () => { await srv.stop(); });

  const failure = (ip, minute) => ({
    source: 'syslog', host: 'web-1', asset: 'machine_room',
    message: `Nov 22 01:${String(minute).padStart(2, '0')}:00 web-1 sshd[9]: Failed password for root from ${ip} port 22 ssh2`,
  });

  test('five SSH failures from one address open one intrusion; more attach to it', async () => {
    const batch = [0, 1, 2, 3].map((m) => failure('203.0.113.7', m));
    const r1 = await ingest.post('/api/v1/signals', { signals: batch });
    assert.equal(r1.status, 202);
    assert.deepEqual(r1.json, { accepted: 4 });
    assert.equal((await admin.get('/api/v1/incidents')).json.items.length, 0, 'below the threshold: nothing yet');
    const r2 = await ingest.post('/api/v1/signals', { signals: [failure('203.0.113.7', 4)] });
    assert.equal(r2.status, 202);
    let items = (await admin.get('/api/v1/incidents')).json.items;
    assert.equal(items.length, 1);
    const inc = items[0];
    assert.equal(inc.type, 'intrusion');
    assert.equal(inc.unit, 'it_office');
    assert.equal(inc.level, 'important');
    assert.equal(inc.signal_count, 5);
    assert.match(inc.title, /203\.0\.113\.7/);
    assert.equal(inc.reporter, 'rule:sshd');
    // The same address again: counted on the same incident, not a new one.
    await ingest.post('/api/v1/signals', { signals: [5, 6, 7].map((m) => failure('203.0.113.7', m)) });
    items = (await admin.get('/api/v1/incidents')).json.items;
    assert.equal(items.length, 1);
    assert.equal(items[0].signal_count, 8);
    const full = (await admin.get(`/api/v1/incidents/${inc.id}`)).json;
    assert.equal(full.fingerprint, 'sshd:203.0.113.7');
    assert.ok(full.timeline.filter((e) => e.kind === 'signal').length <= 4, 'a flood adds few timeline entries');
    // Another address is another incident; loopback is allow-listed; noise matches nothing.
    await ingest.post('/api/v1/signals', {
      signals: [...[0, 1, 2, 3, 4].map((m) => failure('198.51.100.2', m)), ...[0, 1, 2, 3, 4, 5].map((m) => failure('127.0.0.1', m)),
        { source: 'syslog', message: 'Nov 22 01:00:00 web-1 CRON[1]: (root) CMD (run-parts)' }],
    });
    items = (await admin.get('/api/v1/incidents')).json.items;
    assert.deepEqual(items.map((i) => i.title.match(/[\d.]+\.\d+/)[0]).sort(), ['198.51.100.2', '203.0.113.7']);
  });

  test('a signal with the program given skips prefix parsing; times are RFC 3339 or epoch ms', async () => {
    const sigs = [0, 1, 2, 3, 4].map((i) => ({
      source: 'agent', program: 'sshd', time: i % 2 ? `2026-11-22T09:0${i}:00+08:00` : 1795309200000 + i * 1000,
      message: 'Invalid user oracle from 192.0.2.44 port 5000',
    }));
    assert.equal((await ingest.post('/api/v1/signals', { signals: sigs })).status, 202);
    const items = (await admin.get('/api/v1/incidents')).json.items;
    assert.ok(items.some((i) => i.title.includes('192.0.2.44')));
  });

  test('a batch is all or nothing; bad signals are named; only ingest tokens and admins may post', async () => {
    const before = (await admin.get('/api/v1/incidents')).json.items.length;
    const bad = await ingest.post('/api/v1/signals', { signals: [failure('192.0.2.99', 0), { source: 'x' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'signals[1].message');
    const badTime = await ingest.post('/api/v1/signals', { signals: [{ source: 'x', message: 'y', time: 'yesterday' }] });
    assert.equal(badTime.json.field, 'signals[0].time');
    const extra = await ingest.post('/api/v1/signals', { signals: [{ source: 'x', message: 'y', colour: 1 }] });
    assert.equal(extra.json.field, 'signals[0].colour');
    assert.equal((await ingest.post('/api/v1/signals', { signals: [] })).status, 400);
    const many = Array.from({ length: 1001 }, () => ({ source: 'x', message: 'y' }));
    assert.equal((await ingest.post('/api/v1/signals', { signals: many })).status, 413);
    // Nothing of the refused batches was stored: four more failures of 192.0.2.99 are not enough.
    await ingest.post('/api/v1/signals', { signals: [1, 2, 3, 4].map((m) => failure('192.0.2.99', m)) });
    assert.equal((await admin.get('/api/v1/incidents')).json.items.length, before);
    assert.equal((await ingest.get('/api/v1/incidents')).status, 403, 'an ingest token reads nothing');
    const reader = new Client(srv.url, { token: (await admin.post('/api/v1/tokens', { name: 'r', scopes: ['read'] })).json.token });
    assert.equal((await reader.post('/api/v1/signals', { signals: [failure('192.0.2.1', 0)] })).status, 403);
    await admin.post('/api/v1/users', { name: 'duty1', role: 'duty', password: PW });
    const duty = new Client(srv.url);
    await duty.login('duty1', PW);
    assert.equal((await duty.post('/api/v1/signals', { signals: [failure('192.0.2.1', 0)] })).status, 403);
    assert.equal((await admin.post('/api/v1/signals', { signals: [failure('192.0.2.1', 0)] })).status, 202);
  });

  test('signals stored before a crash are processed at the next start', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const first = await startServer({ data });
    await first.stop();
    // As if the process died after storing, before processing: rows with processed_at NULL.
    const rows = [0, 1, 2, 3, 4].map((m) => `(0, ${1795309200000 + m * 60000}, 'syslog', NULL, 'h', NULL, `
      + `'Nov 22 01:0${m}:00 h sshd[1]: Failed password for root from 192.0.2.200 port 22 ssh2', '{}')`).join(',');
    sql(data, `INSERT INTO signals (received_at, time, source, program, host, asset, message, fields) VALUES ${rows}`);
    const again = await startServer({ data });
    try {
      const c = new Client(again.url);
      const list = yj(['--data', data, 'incident', 'list', '--json']).json.items;
      assert.equal(list.length, 1);
      assert.match(list[0].title, /192\.0\.2\.200/);
      assert.match(again.log(), /processed 5 signals left from before the restart/);
      assert.ok(c);
    } finally {
      await again.stop();
      cleanup(dir);
    }
  });
});

describe('syslog source', () => {
  test('UDP and TCP (octet counting and newline framing) become signals; junk is counted and dropped', async () => {
    const dir = tempDir();
    const f = join(dir, 'yingji.yaml');
    writeFileSync(f, 'sources:\n  - {type: syslog, listen: "127.0.0.1:0", protocol: udp}\n'
      + '  - {type: syslog, listen: "127.0.0.1:0", protocol: tcp}\n');
    const srv = await startServer({ args: ['--config', f] });
    try {
      const ports = {};
      // The ports were printed before "listening on".
      for (const m of srv.startup.matchAll(/syslog on [^/]+\/(udp|tcp) \(port (\d+)\)/g)) ports[m[1]] = Number(m[2]);
      assert.ok(ports.udp && ports.tcp, srv.startup);
      const line = (ip, m) => `<38>Nov 22 01:0${m}:00 web-1 sshd[7]: Failed password for root from ${ip} port 22 ssh2`;
      const udp = dgram.createSocket('udp4');
      for (let m = 0; m < 5; m++) await new Promise((r) => udp.send(line('192.0.2.10', m), ports.udp, '127.0.0.1', r));
      await new Promise((r) => udp.send(Buffer.from([0xff, 0xfe, 0, 1]), ports.udp, '127.0.0.1', r));
      udp.close();
      const sock = net.connect(ports.tcp, '127.0.0.1');
      await new Promise((r) => sock.on('connect', r));
      const rfc5424 = (m) => `<38>1 2026-11-22T01:0${m}:00Z web-2 sshd 7 - - Failed password for root from 192.0.2.20 port 22 ssh2`;
      for (let m = 0; m < 3; m++) { const msg = rfc5424(m); sock.write(`${Buffer.byteLength(msg)} ${msg}`); }
      sock.write(`${rfc5424(3)}\n${rfc5424(4)}\n`);
      await new Promise((r) => sock.end(r));
      let items = [];
      for (let i = 0; i < 50 && items.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        items = yj(['--data', srv.data, 'incident', 'list', '--json']).json.items;
      }
      assert.deepEqual(items.map((i) => i.title.match(/192\.0\.2\.\d+/)[0]).sort(), ['192.0.2.10', '192.0.2.20']);
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(m, /yingji_source_messages_total\{source="syslog",result="received"\} 11/);
      assert.match(m, /yingji_source_messages_total\{source="syslog",result="dropped"\} 1/);
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });

  test('a bad source in the config is refused with FILE:LINE:COLUMN', () => {
    const dir = tempDir();
    const f = join(dir, 'yingji.yaml');
    writeFileSync(f, 'sources:\n  - {type: syslog, listen: "127.0.0.1:5514", protocol: sctp}\n  - {type: carrier-pigeon}\n');
    const r = yj(['--config', f, 'serve']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /yingji\.yaml:2:56: protocol must be udp or tcp/);
    assert.match(r.stderr, /yingji\.yaml:3:12: source type "carrier-pigeon" is not known/);
    cleanup(dir);
  });
});
