// The desk as an office meets it (issue 15): the links messages carry open the console, and a
// message without them says how to get them; setting it up for real (one server per data dir,
// the first start's password, a change of plan, a plan typed with a Chinese input method).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { BIN, SRC, tempDir, cleanup, until, yj, spawn, withStore } from './helpers.mjs';
import { spawnSync } from 'node:child_process';
import { receiver } from './receivers.mjs';
import { startServer, Client } from './server.mjs';

const dirs = [];
after(() => dirs.forEach(cleanup));

async function page(url, path) {
  const r = await fetch(url + path);
  return { status: r.status, type: r.headers.get('content-type') || '', text: await r.text() };
}

describe('links into the console', () => {
  test("every page of the console is a real URL; a message's link opens the incident", async () => {
    const dir = tempDir('yj-desk-');
    dirs.push(dir);
    const hook = await receiver('webhook', 'hook-secret');
    const cfg = join(dir, 'yingji.yaml');
    process.env.YJ_TEST_HOOK = 'hook-secret';
    // A port of our own, so that public_url can name it before the server starts.
    const port = await new Promise((res) => {
      const l = net.createServer().listen(0, '127.0.0.1', () => { const p = l.address().port; l.close(() => res(p)); });
    });
    writeFileSync(cfg, `public_url: "http://127.0.0.1:${port}"\nchannels:\n`
      + `  - {id: hook, type: webhook, url: "${hook.url}", secret_env: YJ_TEST_HOOK, timeout: 2s}\n`);
    const srv = await startServer({ args: ['--config', cfg, '--listen', `127.0.0.1:${port}`] });
    try {
      const index = await page(srv.url, '/');
      assert.equal(index.status, 200);
      for (const path of ['/incidents', '/incidents/YJ-2026-0001', '/report', '/password', '/plan', '/duty',
        '/monitors', '/monitors/www', '/users', '/audit']) {
        const p = await page(srv.url, path);
        assert.equal(p.status, 200, path);
        assert.match(p.type, /^text\/html/, path);
        assert.equal(p.text, index.text, `${path} is the console`);
      }
      // The console's ECharts is the committed copy (the build needs no npm registry).
      const charts = await fetch(srv.url + '/vendor/echarts.min.js');
      assert.equal(charts.status, 200);
      assert.ok(Buffer.from(await charts.arrayBuffer()).equals(readFileSync(join(SRC, 'web/vendor/echarts/echarts.min.js'))));
      for (const path of ['/incidents/YJ-2026-0001/timeline', '/nothing', '/incidentsx', '/users/x']) {
        assert.equal((await page(srv.url, path)).status, 404, path);
      }
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' });
      assert.equal(made.status, 201);
      const news = await until('the news reaches the webhook', () => hook.got.find((g) => /新事件/.test(g.body.subject)));
      const text = news.body.body;
      const link = text.match(/https?:\/\/\S+/);
      assert.ok(link, `the message carries a link: ${text}`);
      assert.equal(link[0], `http://127.0.0.1:${port}/incidents/${made.json.number}`);
      const opened = await page('', link[0]);
      assert.equal(opened.status, 200);
      assert.equal(opened.text, index.text);

      // Acknowledge from the message: each person's own one-time link.
      const acks = hook.got.filter((g) => g.body.incident === made.json.number || (g.body.body || '').includes(made.json.number))
        .map((g) => (g.body.body.match(/一键确认接报[^：]*：(\S+)/) || [])[1]).filter(Boolean);
      assert.ok(acks.length > 0, `an ack link in the message: ${text}`);
      assert.equal(new Set(acks).size, acks.length, 'one link per person');
      const ackUrl = new URL(acks[0]);
      assert.equal(ackUrl.origin, `http://127.0.0.1:${port}`);
      assert.match(ackUrl.pathname, /^\/ack\/[A-Za-z0-9_-]{32}$/);
      assert.equal((await page('', ackUrl.href)).text, index.text, 'the link opens the console');
      const token = ackUrl.pathname.slice(5);
      // Opening it (as a chat app's preview does) acknowledges nothing.
      const shown = await fetch(`${srv.url}/api/v1/ack/${token}`);
      assert.equal(shown.status, 200);
      const what = await shown.json();
      assert.equal(what.number, made.json.number);
      assert.ok(what.person_name);
      assert.equal(what.acknowledged_at, null);
      assert.equal((await admin.get(`/api/v1/incidents/${made.json.number}`)).json.acknowledged_at, null);
      // The press: acknowledged as that person, without a login; once.
      const pressed = await fetch(`${srv.url}/api/v1/ack/${token}`, { method: 'POST' });
      assert.equal(pressed.status, 200);
      const after = (await admin.get(`/api/v1/incidents/${made.json.number}`)).json;
      assert.ok(after.acknowledged_at);
      const entry = after.timeline.find((e) => e.kind === 'acknowledged');
      assert.match(entry.actor, /^person:/);
      assert.equal((await fetch(`${srv.url}/api/v1/ack/${token}`, { method: 'POST' })).status, 404, 'once');
      assert.equal((await fetch(`${srv.url}/api/v1/ack/${'x'.repeat(32)}`, { method: 'POST' })).status, 404);
      const wrong = await (await fetch(`${srv.url}/api/v1/ack/${'x'.repeat(32)}`)).json();
      assert.match(wrong.detail, /链接无效、已使用或已过期/);
    } finally {
      await srv.stop();
      await hook.close();
    }
  });

  test('without public_url a message says how to get links, not a command', async () => {
    const dir = tempDir('yj-desk-');
    dirs.push(dir);
    const hook = await receiver('webhook', 'hook-secret');
    const cfg = join(dir, 'yingji.yaml');
    process.env.YJ_TEST_HOOK = 'hook-secret';
    writeFileSync(cfg, `channels:\n  - {id: hook, type: webhook, url: "${hook.url}", secret_env: YJ_TEST_HOOK, timeout: 2s}\n`);
    const srv = await startServer({ args: ['--config', cfg] });
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      assert.equal((await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' })).status, 201);
      const news = await until('the news reaches the webhook', () => hook.got.find((g) => /新事件/.test(g.body.subject)));
      const text = news.body.body;
      assert.doesNotMatch(text, /yingji |incident ack/);
      assert.doesNotMatch(text, /\/ack\//, 'no link without public_url');
      assert.match(text, /public_url/);
      assert.match(text, /登录应急响应平台确认/);
    } finally {
      await srv.stop();
      await hook.close();
    }
  });
});

// `yingji serve` run to its end (or killed after ms): {code, stdout, stderr, ms}.
function serveOnce(args, ms = 10000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(BIN, withStore(['serve', ...args]), { env: { ...process.env, TZ: 'UTC' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

describe('nobody is told nothing', () => {
  test('with no channel and no public_url the server says so at start and to the console', async () => {
    const bare = await startServer();
    try {
      await until('the start-up warnings', () => /no notification channel is configured/.test(bare.log()) && /public_url is not set/.test(bare.log()));
      const c = new Client(bare.url);
      const login = await c.login('admin', bare.adminPassword);
      assert.deepEqual(login.json.desk, { channels: 0, public_url: false });
      assert.deepEqual((await c.get('/api/v1/session')).json.desk, { channels: 0, public_url: false });
    } finally {
      await bare.stop();
    }
    const dir = tempDir('yj-desk-');
    dirs.push(dir);
    const cfg = join(dir, 'yingji.yaml');
    process.env.YJ_TEST_HOOK = 'hook-secret';
    writeFileSync(cfg, 'public_url: "http://127.0.0.1:8080"\nchannels:\n'
      + '  - {id: hook, type: webhook, url: "http://127.0.0.1:9/", secret_env: YJ_TEST_HOOK}\n');
    const set = await startServer({ args: ['--config', cfg] });
    try {
      const c = new Client(set.url);
      assert.deepEqual((await c.login('admin', set.adminPassword)).json.desk, { channels: 1, public_url: true });
      assert.doesNotMatch(set.log(), /no notification channel|public_url is not set/);
    } finally {
      await set.stop();
    }
  });
});

describe('people and accounts', () => {
  test('启动预案 is recorded as the logged-in person; others are refused; an admin records one only as 代录 with a reason', async () => {
    const srv = await startServer();
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const PW = 'correct horse battery staple';
      // Accounts linked to people of the plan (and one that is nobody).
      const bad = await admin.post('/api/v1/users', { name: 'ghost', role: 'leader', password: PW, person: 'no_such_person' });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, 'person');
      assert.equal(bad.json.detail, '预案中没有这个人员');
      for (const [name, person] of [['huang', 'vp_it'], ['staff', 'it_staff'], ['plain', null]]) {
        const r = await admin.post('/api/v1/users', { name, role: 'leader', password: PW, ...(person ? { person } : {}) });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.person, person);
      }
      const as = async (name) => { const c = new Client(srv.url); await c.login(name, PW); return c; };
      const huang = await as('huang');
      const me = (await huang.get('/api/v1/session')).json.user;
      assert.equal(me.person, 'vp_it');
      assert.ok(me.person_name && me.person_name !== 'vp_it', me.person_name);
      const made = async () => (await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' })).json;

      // Someone else's name: refused, in words.
      const one = await made();
      for (const who of ['staff', 'plain']) {
        const r = await (await as(who)).post(`/api/v1/incidents/${one.id}/activation`, { by: 'vp_it', reason: '冒名' });
        assert.equal(r.status, 403, who);
        assert.equal(r.json.field, 'by');
        assert.match(r.json.detail, /不能以.+的名义记录/);
      }
      // An administrator without a reason: refused; with one: recorded as 代录.
      const noReason = await admin.post(`/api/v1/incidents/${one.id}/activation`, { by: 'vp_it', reason: '电话决定' });
      assert.equal(noReason.status, 403);
      assert.match(noReason.json.detail, /代录/);
      const proxy = await admin.post(`/api/v1/incidents/${one.id}/activation`, { by: 'vp_it', reason: '电话决定', on_behalf: '组长出差，电话决定后由管理员代录' });
      assert.equal(proxy.status, 200, proxy.text);
      const entry = proxy.json.timeline.find((e) => e.kind === 'activation');
      assert.deepEqual(entry.body.on_behalf, { by: 'user:admin', reason: '组长出差，电话决定后由管理员代录' });

      // The person's own decision, "by" left out: recorded as them; the timeline names them.
      const two = await made();
      const own = await huang.post(`/api/v1/incidents/${two.id}/activation`, { reason: '影响学校声誉' });
      assert.equal(own.status, 200, own.text);
      assert.equal(own.json.activated_by, 'vp_it');
      const mine = own.json.timeline.find((e) => e.kind === 'activation');
      assert.equal(mine.actor, 'user:huang');
      assert.equal(mine.actor_name, me.person_name);
      assert.ok(!mine.body.on_behalf, 'no 代录');
      // Unlinking the account (null) takes the right away.
      const huangId = (await admin.get('/api/v1/users')).json.items.find((u) => u.name === 'huang').id;
      const unlinked = await admin.req('PATCH', `/api/v1/users/${huangId}`, { person: null });
      assert.equal(unlinked.status, 200, unlinked.text);
      assert.equal(unlinked.json.person, null);
    } finally {
      await srv.stop();
    }
  });
});

// A CSV text read back by Python's csv module (not by our own code): rows of cells.
function readCsv(text) {
  const r = spawnSync('python3', ['-c', 'import csv,json,sys; print(json.dumps(list(csv.reader(sys.stdin))))'],
    { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('assign, mine, dates, export', () => {
  test('an incident and a task given to a person; 我的; a date range; the list and the audit log as CSV', async () => {
    const srv = await startServer();
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const PW = 'correct horse battery staple';
      for (const [name, role, person] of [['duty1', 'duty', null], ['resp', 'responder', 'it_staff'], ['gone', 'duty', null]]) {
        assert.equal((await admin.post('/api/v1/users', { name, role, password: PW, ...(person ? { person } : {}) })).status, 201);
      }
      const goneId = (await admin.get('/api/v1/users')).json.items.find((u) => u.name === 'gone').id;
      await admin.req('PATCH', `/api/v1/users/${goneId}`, { disabled: true });
      const one = (await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '=HYPERLINK("http://x")官网首页被篡改' })).json;
      const two = (await admin.post('/api/v1/incidents', { type: 'intrusion', title: '教务系统异常登录' })).json;

      // Given to the duty officer; nobody and disabled accounts are refused, naming the field.
      const given = await admin.post(`/api/v1/incidents/${one.id}/assignee`, { assignee: 'duty1' });
      assert.equal(given.status, 200, given.text);
      assert.equal(given.json.assignee, 'duty1');
      assert.deepEqual(given.json.timeline.find((e) => e.kind === 'assigned').body, { from: null, to: 'duty1' });
      for (const who of ['nobody_here', 'gone']) {
        const r = await admin.post(`/api/v1/incidents/${two.id}/assignee`, { assignee: who });
        assert.equal(r.status, 400, who);
        assert.equal(r.json.field, 'assignee');
      }
      // 我的: the duty officer's own.
      const duty = new Client(srv.url);
      await duty.login('duty1', PW);
      const mine = (await duty.get('/api/v1/incidents?assignee=me')).json.items.map((i) => i.number);
      assert.deepEqual(mine, [one.number]);
      assert.deepEqual((await admin.get('/api/v1/incidents?assignee=me')).json.items, []);
      // A task given to the responder, and who may be given anything.
      const task = (await admin.get(`/api/v1/incidents/${one.id}/tasks`)).json.items[0];
      const t = await duty.req('PATCH', `/api/v1/incidents/${one.id}/tasks/${task.id}`, { assignee: 'resp' });
      assert.equal(t.status, 200, t.text);
      assert.equal(t.json.assignee, 'resp');
      assert.equal(t.json.status, 'todo');
      const people = (await duty.get('/api/v1/assignees')).json.items;
      assert.ok(people.find((p) => p.name === 'resp' && p.person === 'it_staff' && p.person_name));
      assert.ok(!people.find((p) => p.name === 'gone'), 'a disabled account is given nothing');

      // Dates: both were reported today (the plan's zone).
      const day = (ms) => new Date(ms).toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
      const today = day(Date.now()), tomorrow = day(Date.now() + 86400e3);
      assert.equal((await admin.get(`/api/v1/incidents?from=${today}&to=${tomorrow}`)).json.items.length, 2);
      assert.equal((await admin.get(`/api/v1/incidents?from=${tomorrow}`)).json.items.length, 0);
      assert.equal((await admin.get(`/api/v1/incidents?to=${today}`)).json.items.length, 0);
      assert.equal((await admin.get('/api/v1/incidents?from=yesterday')).json.field, 'from');
      // The dashboard's questions: what is open (every open status at once), and the daily counts.
      await admin.post(`/api/v1/incidents/${two.id}/move`, { status: 'dismissed', reason: '误报' });
      assert.deepEqual((await admin.get('/api/v1/incidents?status=open')).json.items.map((i) => i.number), [one.number]);
      const daily = (await admin.get('/api/v1/stats/daily?days=7')).json.items;
      assert.equal(daily.length, 7);
      assert.equal(daily[6].day, today);
      assert.equal(daily[6].by_national_level.reduce((a, b) => a + b, 0), 2);
      assert.equal(daily.slice(0, 6).reduce((n, d) => n + d.by_national_level.reduce((a, b) => a + b, 0), 0), 0);

      // The list as CSV: what Excel needs, read back by Python's csv module.
      const res = await fetch(`${srv.url}/api/v1/incidents.csv?assignee=duty1`, { headers: { Cookie: admin.cookie } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/csv; charset=utf-8/);
      assert.match(res.headers.get('content-disposition'), /^attachment; filename="incidents-\d{4}-\d\d-\d\d\.csv"$/);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a byte-order mark for Excel');
      const rows = readCsv(bytes.subarray(3).toString('utf8'));
      assert.deepEqual(rows[0].slice(0, 8), ['编号', '标题', '事件类型', '预案级别', '国家分级', '状态', '责任单位', '负责人']);
      assert.equal(rows.length, 2);
      assert.equal(rows[1][0], one.number);
      assert.equal(rows[1][1], "'=HYPERLINK(\"http://x\")官网首页被篡改", 'a formula is defused');
      assert.equal(rows[1][5], '已上报');
      assert.equal(rows[1][7], 'duty1');
      assert.doesNotMatch(rows[1].join(','), /website_tamper|it_office|reported/);
      // The audit log, filtered by action and by person.
      const audit = async (q) => {
        const r = await fetch(`${srv.url}/api/v1/audit.csv?${q}`, { headers: { Cookie: admin.cookie } });
        assert.equal(r.status, 200);
        return readCsv((await r.text()).replace(/^\uFEFF/, ''));
      };
      const assigns = await audit('action=incident.assign');
      assert.deepEqual(assigns[0], ['序号', '时间', '操作人', '操作', '对象', '详情', '哈希']);
      assert.deepEqual(assigns.slice(1).map((r) => [r[2], r[3], r[4]]), [['user:admin', 'incident.assign', one.number]]);
      const byDuty = await audit('actor=user:duty1');
      assert.ok(byDuty.length > 1 && byDuty.slice(1).every((r) => r[2] === 'user:duty1'));
      assert.equal((await audit(`from=${tomorrow}`)).length, 1, 'nothing from tomorrow: the head row alone');
      assert.equal((await duty.get('/api/v1/audit.csv')).status, 403);
    } finally {
      await srv.stop();
    }
  });
});

describe('setting it up', () => {
  test('a second server on a data dir in use refuses at once and names the holder; a crash leaves no lock', async () => {
    const first = await startServer();
    let again;
    try {
      const second = await serveOnce(['--data', first.data, '--listen', '127.0.0.1:0']);
      assert.notEqual(second.code, 0, second.stdout);
      assert.ok(second.ms < 5000, `refused at once (${second.ms} ms)`);
      assert.match(second.stderr, new RegExp(`in use by process ${first.proc.pid} \\(yingji serve on 127\\.0\\.0\\.1:0\\)`));
      assert.doesNotMatch(second.stdout, /listening/);
      // The holder is killed outright: the kernel drops its lock, and a new server starts.
      first.proc.kill('SIGKILL');
      await first.exited;
      again = await startServer({ data: first.data });
      assert.equal((await fetch(again.url + '/healthz')).status, 200);
    } finally {
      if (again) await again.stop();
      await first.stop();
    }
  });

  test('a first start that cannot listen creates no administrator; the next one shows the password', async () => {
    const dir = tempDir('yj-first-');
    dirs.push(dir);
    const data = join(dir, 'data');
    const busy = net.createServer();
    await new Promise((res) => busy.listen(0, '127.0.0.1', res));
    const port = busy.address().port;
    const failed = await serveOnce(['--data', data, '--listen', `127.0.0.1:${port}`]);
    busy.close();
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /cannot listen on 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(failed.stdout, /password/);
    const users = yj(['--data', data, 'user', 'list', '--json']);
    assert.equal(users.code, 0, users.stderr);
    assert.deepEqual(users.json.items, []);
    const srv = await startServer({ data, keepOneTimePassword: true });
    try {
      assert.ok(srv.oneTimePassword, srv.startup);
      const c = new Client(srv.url);
      assert.equal((await c.login('admin', srv.oneTimePassword)).status, 200);
    } finally {
      await srv.stop();
    }
  });

  test('data made with one plan are refused under another unless --plan-change, which is audited', async () => {
    const dir = tempDir('yj-planchange-');
    dirs.push(dir);
    const data = join(dir, 'data');
    let srv = await startServer({ data });
    const pw = srv.adminPassword;
    let number;
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', pw);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' });
      assert.equal(made.status, 201);
      number = made.json.number;
    } finally {
      await srv.stop();
    }
    const refused = await serveOnce(['--data', data, '--plan', 'builtin:county-bureau', '--listen', '127.0.0.1:0']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /made with the plan "[^"]+" \(id [^,]+, in use since/);
    assert.match(refused.stderr, /--plan-change/);
    assert.doesNotMatch(refused.stdout, /listening/);
    // A command-line writer with the wrong plan is refused too.
    const cli = yj(['--data', data, '--plan', 'builtin:county-bureau', 'incident', 'list']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /--plan-change/);

    srv = await startServer({ data, args: ['--plan', 'builtin:county-bureau', '--plan-change'] });
    try {
      assert.match(srv.startup, /now follow the plan "[^"]+" \(id wushan-justice\)/);
      const admin = new Client(srv.url);
      await admin.login('admin', pw);
      const audit = (await admin.get('/api/v1/audit?limit=1000')).json.items;
      const change = audit.find((r) => r.action === 'plan.change');
      assert.ok(change, 'the change is in the audit log');
      assert.equal(change.detail.to.id, 'wushan-justice');
      assert.match(change.actor, /^cli:/);
      // The old incident keeps the names it was made with: the county's plan has neither the
      // type nor the unit.
      const inc = (await admin.get(`/api/v1/incidents/${number}`)).json;
      assert.equal(inc.type, 'website_tamper');
      assert.ok(inc.type_name && !/website_tamper/.test(inc.type_name), inc.type_name);
      assert.ok(inc.unit_name && inc.unit_name !== inc.unit, inc.unit_name);
    } finally {
      await srv.stop();
    }
    // From now on the county's plan is the data's plan: it starts without the flag.
    srv = await startServer({ data, args: ['--plan', 'builtin:county-bureau'] });
    await srv.stop();
  });

  test('a full-width colon in a plan gets an error that says so', () => {
    const dir = tempDir('yj-colon-');
    dirs.push(dir);
    const plan = join(dir, 'plan.yaml');
    const text = readFileSync(join(SRC, 'plans/university.yaml'), 'utf8').replace(/^( {2}timezone): /m, '$1：');
    writeFileSync(plan, text);
    const line = text.split('\n').findIndex((l) => l.includes('timezone：')) + 1;
    const r = yj(['plan', 'check', plan]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`plan\\.yaml:${line}:11: "timezone" is followed by the full-width colon "：".*ASCII colon`));
  });
});
