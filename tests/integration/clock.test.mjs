// The clock in the real server: a plan whose acknowledge deadline is two seconds, so the test
// watches an unacknowledged incident become overdue, escalate to whoever is on duty (the roster),
// and stop when acknowledged; and a deadline that passes while the server is down fires at the
// first tick after the restart. Also `yingji duty now` and GET /api/v1/duty.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { yj, tempDir, cleanup, SRC } from './helpers.mjs';
import { until } from './helpers.mjs';
import { startServer, Client } from './server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fastPlan(dir) {
  const text = readFileSync(join(SRC, 'plans/university.yaml'), 'utf8')
    .replaceAll('acknowledge: 5m', 'acknowledge: 2s');
  const f = join(dir, 'plan.yaml');
  writeFileSync(f, text);
  return f;
}

describe('clock and escalation', () => {
  test('an unacknowledged incident escalates to the person on duty; acknowledging stops it', async () => {
    const dir = tempDir();
    const plan = fastPlan(dir);
    const srv = await startServer({ args: ['--plan', plan] });
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const duty = (await admin.get('/api/v1/duty')).json;
      assert.equal(duty.shifts.length, 1);
      const onDuty = duty.shifts[0].person;
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '主页被篡改', source: '巡检' });
      assert.equal(made.status, 201);
      const id = made.json.id;
      // At once: the new incident, to whoever is on duty and the unit head.
      const news = await until('the new-incident notifications', async () => {
        const n = (await admin.get(`/api/v1/incidents/${id}/notifications`)).json.items;
        return n.length >= 2 ? n : null;
      }, 3000);
      assert.deepEqual(news.slice(0, 2).map((x) => [x.recipient, x.target]),
        [[`person:${onDuty}`, 'duty'], ['person:it_head', 'unit_head']]);
      assert.match(news[0].subject, /【应急】新事件/);
      // Two seconds on, unacknowledged: the acknowledge deadline escalates to the person on duty.
      const first = await until('the overdue notification', async () => {
        const n = (await admin.get(`/api/v1/incidents/${id}/notifications`)).json.items;
        const o = n.filter((x) => /接报确认已超时/.test(x.subject));
        return o.length ? o : null;
      });
      assert.equal(first[0].recipient, `person:${onDuty}`);
      assert.equal(first[0].target, 'duty');
      assert.equal(first[0].status, 'pending');
      const tl = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items.map((e) => e.kind);
      assert.ok(tl.includes('overdue') && tl.includes('escalation'), tl.join(','));
      // A duty account acknowledges; an officer may not acknowledge at all.
      const PW = 'correct horse battery';
      await admin.post('/api/v1/users', { name: 'duty1', role: 'duty', password: PW });
      await admin.post('/api/v1/users', { name: 'pr1', role: 'officer', unit: 'publicity', password: PW });
      const officer = new Client(srv.url);
      await officer.login('pr1', PW);
      assert.equal((await officer.post(`/api/v1/incidents/${id}/ack`)).status, 403);
      const d = new Client(srv.url);
      await d.login('duty1', PW);
      const ack = await d.post(`/api/v1/incidents/${id}/ack`);
      assert.equal(ack.status, 200);
      assert.ok(ack.json.acknowledged_at);
      assert.equal((await d.post(`/api/v1/incidents/${id}/ack`)).status, 200, 'again: a no-op');
      const tl2 = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items.map((e) => e.kind);
      assert.ok(tl2.includes('acknowledged'));
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });

  test('a storm of signals is one incident and one announcement, never a message per signal', async () => {
    const srv = await startServer();
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      // Stamped now, as rsyslog writes RFC 3339: a whole line's time is the signal's time, and an
      // old stamp would make every deadline of the incident overdue at once.
      const stamp = new Date().toISOString();
      const line = (i) => ({ source: 'syslog', message: `${stamp} web-1 sshd[9]: `
        + `Failed password for root from 203.0.113.9 port ${1000 + i} ssh2` });
      for (let b = 0; b < 5; b++) {
        const r = await admin.post('/api/v1/signals', { signals: Array.from({ length: 200 }, (_, i) => line(b * 200 + i)) });
        assert.equal(r.status, 202);
      }
      const inc = await until('the incident', async () => {
        const items = (await admin.get('/api/v1/incidents')).json.items;
        return items.length && items[0].signal_count === 1000 ? items : null;
      });
      assert.equal(inc.length, 1);
      const announced = await until('the announcement', async () => {
        const n = (await admin.get(`/api/v1/incidents/${inc[0].id}/notifications`)).json.items;
        return n.length ? n : null;
      });
      await sleep(1500); // a few more clock ticks: nothing more may come
      const after = (await admin.get(`/api/v1/incidents/${inc[0].id}/notifications`)).json.items;
      assert.equal(after.length, announced.length);
      assert.ok(after.length <= 2, `one message per person told, got ${after.length}`);
      assert.match(after[0].body, new RegExp(inc[0].number));
    } finally {
      await srv.stop();
    }
  });

  test('a deadline that passed while the server was down fires at the first tick after the restart', async () => {
    const dir = tempDir();
    const plan = fastPlan(dir);
    const data = join(dir, 'data');
    const r = yj(['--plan', plan, '--data', data, 'incident', 'report', '--type', 'website_tamper', '--title', '夜间篡改',
      '--json']);
    assert.equal(r.code, 0, r.stderr);
    await sleep(2500); // the acknowledge deadline passes with no server running
    const srv = await startServer({ args: ['--plan', plan], data });
    try {
      await until('the catch-up', () => /clock: 1 deadlines overdue/.test(srv.log()), 5000);
      const show = yj(['--plan', plan, '--data', data, 'incident', 'show', r.json.number]);
      assert.match(show.stdout, /超时 overdue: acknowledge → escalation unacknowledged/);
      assert.match(show.stdout, /升级 escalation unacknowledged step 1: notified/);
      const ack = yj(['--plan', plan, '--data', data, 'incident', 'ack', r.json.number]);
      assert.equal(ack.code, 0, ack.stderr);
      assert.match(ack.stdout, /acknowledged at/);
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });

  test('the upward report carries the eight items, what is known filled in, the rest to be supplemented', async () => {
    const srv = await startServer();
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改',
        asset: 'main_site', source: '值班巡检发现', scope: '学校官网首页' });
      const r = await fetch(`${srv.url}/api/v1/incidents/${made.json.id}/upward-report`, { headers: { Cookie: admin.cookie } });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /text\/markdown/);
      const md = await r.text();
      const items = md.match(/^## [一二三四五六七八]、/gm);
      assert.equal(items.length, 8);
      assert.match(md, /报告单位：重庆医科大学/);
      assert.match(md, /较大（III级）/);
      assert.match(md, /网络攻击事件 \/ 网页篡改事件/);
      assert.match(md, /学校官方网站/);
      assert.match(md, /信息来源：值班巡检发现/);
      assert.match(md, /## 四、初步判定的事件原因\n\n（待补报）/);
      const cli = yj(['--data', srv.data, 'report', 'upward', made.json.number, '--json']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(cli.json.incident, made.json.number);
      assert.match(cli.json.markdown, /## 八、其他应当报告的情况/);
      // Submitted: the upward-report deadline is met; what is missing gets a 补报 deadline.
      const inc = async () => (await admin.get(`/api/v1/incidents/${made.json.id}`)).json;
      const dl = (d, kind) => d.deadlines.find((x) => x.kind === kind);
      assert.ok(dl(await inc(), 'upward_report') && !dl(await inc(), 'upward_report').met_at);
      const sub = await admin.post(`/api/v1/incidents/${made.json.id}/upward-report`, { to: '市委网信办' });
      assert.equal(sub.status, 200, sub.text);
      assert.equal(sub.json.round, 'report');
      assert.ok(sub.json.missing.includes('溯源线索'));
      assert.ok(sub.json.missing.includes('初步判定的事件原因'));
      let now = await inc();
      assert.ok(dl(now, 'upward_report').met_at);
      assert.ok(dl(now, 'supplement') && !dl(now, 'supplement').met_at);
      const h24 = Date.parse(dl(now, 'supplement').due_at) - Date.parse(dl(now, 'upward_report').met_at);
      assert.ok(Math.abs(h24 - 24 * 3600 * 1000) < 2000, `补报 due 24 h after the report, got ${h24}`);
      // Everything known now (the new fields through the assessment), the 补报 meets it and sets none.
      const filled = await admin.req('PUT', `/api/v1/incidents/${made.json.id}/assessment`, { nature: '网页篡改',
        measures: '下线首页', trend: '已控制', clues: '攻击源 203.0.113.7，利用 CMS 上传漏洞', support: '请求公安机关协助取证',
        scene: '已保留日志与被篡改页面副本' });
      assert.equal(filled.status, 200, filled.text);
      const md2 = await (await fetch(`${srv.url}/api/v1/incidents/${made.json.id}/upward-report`, { headers: { Cookie: admin.cookie } })).text();
      assert.match(md2, /## 五、[^\n]*\n\n攻击源 203\.0\.113\.7/);
      assert.match(md2, /## 七、事件现场保护情况\n\n已保留日志/);
      const cli2 = yj(['--data', srv.data, '--json', 'report', 'upward', made.json.number, '--submitted', '--to', '市委网信办']);
      assert.equal(cli2.code, 0, cli2.stderr);
      assert.equal(cli2.json.round, 'supplement');
      assert.deepEqual(cli2.json.missing, ['发生时间', '初步判定的事件原因']);
      now = await inc();
      assert.ok(dl(now, 'supplement').met_at === undefined || dl(now, 'supplement').met_at === null, 'still missing: due again');
      const tl = (await admin.get(`/api/v1/incidents/${made.json.id}/timeline`)).json.items.filter((e) => e.kind === 'upward_report');
      assert.deepEqual(tl.map((e) => [e.body.round, e.body.to]), [['report', '市委网信办'], ['supplement', '市委网信办']]);
      assert.equal((await admin.post(`/api/v1/incidents/${made.json.id}/upward-report`, { to: 'x\ny' })).status, 400);
    } finally {
      await srv.stop();
    }
  });

  test('启动预案: the leading group decides recorded with its reason, once; the move then needs no activation fields', async () => {
    const srv = await startServer();
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' });
      const id = made.json.id;
      const due = made.json.deadlines.find((d) => d.kind === 'activation');
      assert.ok(due, 'a level that needs activation has an activation deadline');
      const bad = await admin.post(`/api/v1/incidents/${id}/activation`, { by: 'it_staff', reason: '理由' });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, 'by');
      assert.equal((await admin.post(`/api/v1/incidents/${id}/activation`, { by: 'vp_it' })).status, 400);
      const ok = await admin.post(`/api/v1/incidents/${id}/activation`, { by: 'vp_it', reason: '首页被篡改，立即启动预案', on_behalf: '组长电话决定' });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.activated_by, 'vp_it');
      assert.equal(ok.json.activation_reason, '首页被篡改，立即启动预案');
      assert.ok(ok.json.activated_at);
      assert.ok(ok.json.deadlines.find((d) => d.kind === 'activation').met_at);
      assert.equal((await admin.post(`/api/v1/incidents/${id}/activation`, { by: 'vp_it', reason: '再次', on_behalf: '再次' })).status, 409);
      const tl = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items.find((e) => e.kind === 'activation');
      assert.equal(tl.body.name, '分管信息化校长');
      // The risk assessment done, the move to responding needs no activation fields now.
      for (const t of (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items) {
        await admin.req('PATCH', `/api/v1/incidents/${id}/tasks/${t.id}`, { status: 'skipped', reason: '测试' });
      }
      assert.equal((await admin.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' })).status, 200);
      const moved = await admin.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: { source: '巡检',
        scope: '首页', nature: '篡改', trend: '已控制', measures: '维护页', level: 'important' } });
      assert.equal(moved.status, 200, moved.text);
      // The CLI records the same decision for another incident.
      const other = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '新闻网被篡改' });
      const cli = yj(['--data', srv.data, '--json', 'incident', 'activate', other.json.number, '--by', 'vp_it',
        '--reason', '电话请示王副校长同意']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(cli.json.activated_by, 'vp_it');
      assert.equal(yj(['--data', srv.data, 'incident', 'activate', other.json.number, '--by', 'vp_it', '--reason', 'x']).code, 1);
    } finally {
      await srv.stop();
    }
  });

  test('playbook tasks through the API: listed as the incident enters each phase, checked off or skipped with a reason', async () => {
    const srv = await startServer();
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'machine_room_fire', title: '机房烟感报警' });
      const id = made.json.id;
      const list = (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items;
      assert.ok(list.length >= 2, JSON.stringify(list));
      assert.ok(list.every((t) => t.phase === 'reported' && t.status === 'todo'));
      const t = list[0];
      const bad = await admin.req('PATCH', `/api/v1/incidents/${id}/tasks/${t.id}`, { status: 'skipped' });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, 'reason');
      const done = await admin.req('PATCH', `/api/v1/incidents/${id}/tasks/${t.id}`, { status: 'done', note: '已切断电源' });
      assert.equal(done.status, 200);
      assert.equal(done.json.status, 'done');
      assert.equal(done.json.note, '已切断电源');
      assert.equal((await admin.req('PATCH', `/api/v1/incidents/${id}/tasks/99999`, { status: 'done' })).status, 404);
      const PW = 'correct horse battery';
      await admin.post('/api/v1/users', { name: 'aud', role: 'auditor', password: PW });
      const aud = new Client(srv.url);
      await aud.login('aud', PW);
      assert.equal((await aud.req('PATCH', `/api/v1/incidents/${id}/tasks/${t.id}`, { status: 'todo' })).status, 403);
      const tl = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items;
      assert.ok(tl.some((e) => e.kind === 'task'));
      // A step that needs approval: a duty officer may not approve it; a leader may, once.
      const site = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '首页被篡改' });
      const gated = (await admin.get(`/api/v1/incidents/${site.json.id}/tasks`)).json.items
        .find((x) => x.approval);
      assert.equal(gated.approval_decision.status, 'pending');
      const url = `/api/v1/incidents/${site.json.id}/tasks/${gated.id}`;
      assert.equal((await admin.req('PATCH', url, { status: 'done' })).status, 409);
      await admin.post('/api/v1/users', { name: 'duty2', role: 'duty', password: PW });
      await admin.post('/api/v1/users', { name: 'lead', role: 'leader', password: PW });
      const duty = new Client(srv.url);
      await duty.login('duty2', PW);
      assert.equal((await duty.post(`${url}/approval`, { approve: true })).status, 403);
      const lead = new Client(srv.url);
      await lead.login('lead', PW);
      assert.equal((await lead.post(`${url}/approval`, { approve: false })).status, 400, 'rejecting needs a reason');
      const ok = await lead.post(`${url}/approval`, { approve: true, reason: '同意切换维护页' });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.approval_decision.status, 'approved');
      assert.equal((await lead.post(`${url}/approval`, { approve: true })).status, 409);
      assert.equal((await admin.req('PATCH', url, { status: 'done' })).status, 200);
    } finally {
      await srv.stop();
    }
  });

  test('yingji duty now follows the roster, holidays included', () => {
    const r = yj(['duty', 'now', '--at', '2026-10-02T12:00:00+08:00', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.shifts.map((s) => [s.rotation, s.holiday]), [['holiday_duty', true]]);
    const w = yj(['duty', 'now', '--at', '2026-11-23T09:00:00+08:00', '--json']);
    assert.deepEqual(w.json.shifts.map((s) => s.rotation), ['daily_duty']);
    assert.equal(yj(['duty', 'now', '--at', 'yesterday']).code, 2);
    assert.match(yj(['duty', 'now', '--at', '2026-11-23T09:00:00+08:00']).stdout, /日常值班/);
  });
});
