// The directory and the channels kept in the console (issue 15): an admin sets a channel and a
// person's phone number and the next message goes there without a restart; edits that would
// break the plan are refused; shift swaps are asked and answered by the people on duty, and are
// in force for the roster at once. Everything is audited and survives a restart.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, cleanup, until, yjAsync } from './helpers.mjs';
import { receiver, smsGateway } from './receivers.mjs';
import { startServer, Client } from './server.mjs';

const dirs = [];
after(() => dirs.forEach(cleanup));
const PW = 'correct horse battery staple';

// The local date k days from now in Asia/Shanghai (the built-in plan's zone), as YYYY-MM-DD.
const day = (k) => new Date(Date.now() + 8 * 3600e3 + k * 86400e3).toISOString().slice(0, 10);
// Noon of that date in the plan's zone, for /api/v1/duty?at=.
const noon = (date) => encodeURIComponent(`${date}T12:00:00+08:00`);

describe('channels and the directory in the console', () => {
  test('a channel and a phone number set by an admin carry the next message, without a restart', async () => {
    const dir = tempDir('yj-dir-');
    dirs.push(dir);
    const hook = await receiver('webhook', 'hook-secret');
    const sms = await smsGateway();
    process.env.YJ_TEST_HOOK = 'hook-secret';
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `channels:\n  - {id: hook, type: webhook, url: "${hook.url}", secret_env: YJ_TEST_HOOK}\n`);
    const data = join(dir, 'data');
    let srv = await startServer({ args: ['--config', cfg], data });
    const adminPassword = srv.adminPassword;
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      assert.equal((await admin.get('/api/v1/session')).json.desk.channels, 1);

      // Bad channels are refused with the config's own words; nothing is stored.
      const bad = [
        [{ type: 'sms', url: sms.url }, /an sms channel needs body/],
        [{ type: 'pigeon', url: sms.url }, /channel type "pigeon" is not known/],
        [{ type: 'webhook', url: 'ftp://x' }, /url must be an http/],
        [{ type: 'webhook', url: sms.url, colour: 'red' }, /colour/],
      ];
      for (const [body, why] of bad) {
        const r = await admin.req('PUT', '/api/v1/channels/text', body);
        assert.equal(r.status, 400, r.text);
        assert.match(r.json.detail, why);
      }
      assert.equal((await admin.req('PUT', '/api/v1/channels/text', '{"type": "sms",')).status, 400);
      assert.equal((await admin.req('PUT', '/api/v1/channels/Bad%20Id', { type: 'webhook', url: hook.url })).status, 400);
      // The config's channel is the config's.
      const cfgOwn = await admin.req('PUT', '/api/v1/channels/hook', { type: 'webhook', url: hook.url });
      assert.equal(cfgOwn.status, 409);
      assert.match(cfgOwn.json.detail, /配置文件/);
      // Only an admin.
      assert.equal((await admin.post('/api/v1/users', { name: 'duty1', role: 'duty', password: PW, person: 'it_staff' })).status, 201);
      const duty = new Client(srv.url);
      await duty.login('duty1', PW);
      assert.equal((await duty.req('PUT', '/api/v1/channels/text', { type: 'webhook', url: hook.url })).status, 403);
      assert.equal((await duty.req('PUT', '/api/v1/people/it_staff', { name: 'x', unit: 'it_office' })).status, 403);
      assert.equal((await duty.get('/api/v1/channels')).status, 403);

      const put = await admin.req('PUT', '/api/v1/channels/text', {
        type: 'sms', url: sms.url, body: '{"to":"{phone}","msg":"{text}"}', secret: 'sms-token', timeout: '3s' });
      assert.equal(put.status, 200, put.text);
      assert.ok(!put.text.includes('sms-token'), 'the secret is never shown');
      const listed = put.json.channels.find((c) => c.id === 'text');
      assert.equal(listed.source, 'console');
      assert.equal(listed.secret_set, true);
      assert.equal(listed.timeout, 3000);
      assert.equal(put.json.channels.find((c) => c.id === 'hook').source, 'config');
      assert.equal((await admin.get('/api/v1/session')).json.desk.channels, 2);

      // The university's plan has no phone numbers: the admin gives one, and puts that person
      // alone on the daily rotation so that the message's recipient is certain.
      const person = await admin.req('PUT', '/api/v1/people/it_staff', {
        name: '信息办相关工作人员', title: '', unit: 'it_office', contacts: { mobile: '13800138000', email: '' } });
      assert.equal(person.status, 200, person.text);
      assert.equal(person.json.contacts.mobile, '13800138000');
      assert.equal(person.json.contacts.email, null, 'an empty box is no address');
      const rot = await admin.req('PUT', '/api/v1/rotations/daily_duty', { people: ['it_staff'] });
      assert.equal(rot.status, 200, rot.text);
      assert.deepEqual(rot.json.roster.rotations.find((r) => r.id === 'daily_duty').people, ['it_staff']);
      const plan = (await admin.get('/api/v1/plan')).json;
      assert.equal(plan.people.find((p) => p.id === 'it_staff').contacts.mobile, '13800138000');

      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' });
      assert.equal(made.status, 201);
      const text = await until('the text reaches the gateway', () => sms.got.find((g) => JSON.parse(g.body).to === '13800138000'));
      assert.match(JSON.parse(text.body).msg, /官网首页被篡改/);
      assert.equal(text.auth, 'Bearer sms-token');
      // The command line sees the console's channel and number too.
      const cli = await yjAsync(['--config', cfg, '--data', data, 'notify', 'test', 'text', '--to', 'it_staff']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.ok(sms.got.filter((g) => JSON.parse(g.body).to === '13800138000').length >= 2);

      // Edits that would break the plan are refused, saying what is wrong.
      const refusals = [
        ['/api/v1/people/new_guy', { name: '新同事', unit: 'nowhere' }, /unit "nowhere"/],
        ['/api/v1/rotations/daily_duty', { people: ['ghost'] }, /person "ghost"/],
        ['/api/v1/rotations/daily_duty', { people: [] }, /at least one person/],
        ['/api/v1/rotations/no_such', { people: ['it_staff'] }, /rotation "no_such" is not in the plan's roster/],
        ['/api/v1/people/it_staff', { name: '信息办', unit: 'it_office', roles: ['x'] }, /roles/],
        ['/api/v1/people/it_staff', { unit: 'it_office' }, /name/],
      ];
      for (const [path, body, why] of refusals) {
        const r = await admin.req('PUT', path, body);
        assert.equal(r.status, 400, `${path} ${r.text}`);
        assert.match(r.json.detail, why, path);
      }
      // A new colleague, added in the console and put on the rotation.
      assert.equal((await admin.req('PUT', '/api/v1/people/new_guy', { name: '王新', unit: 'it_office', contacts: { mobile: '13900000000' } })).status, 200);
      assert.equal((await admin.req('PUT', '/api/v1/rotations/daily_duty', { people: ['it_staff', 'new_guy'] })).status, 200);
      // Not removed while the rotation names him.
      const gone = await admin.req('DELETE', '/api/v1/people/new_guy');
      assert.equal(gone.status, 400, gone.text);
      assert.match(gone.json.detail, /new_guy/);

      // Audited, with who did it; the secret is not in the record.
      const audit = (await admin.get('/api/v1/audit?limit=200')).json.items;
      for (const action of ['channel.put', 'directory.person', 'directory.rotation'])
        assert.ok(audit.find((a) => a.action === action && a.actor === 'user:admin'), action);
      assert.ok(!JSON.stringify(audit).includes('sms-token'));

      // A restart keeps all of it.
      await srv.stop();
      srv = await startServer({ args: ['--config', cfg], data });
      const again = new Client(srv.url);
      assert.equal((await again.login('admin', adminPassword)).status, 200);
      const after = (await again.get('/api/v1/plan')).json;
      assert.equal(after.people.find((p) => p.id === 'new_guy').name, '王新');
      assert.deepEqual(after.roster.rotations.find((r) => r.id === 'daily_duty').people, ['it_staff', 'new_guy']);
      assert.ok((await again.get('/api/v1/channels')).json.channels.find((c) => c.id === 'text'));
      // Taken back: the file's rotation again, then the colleague may go.
      assert.equal((await again.req('DELETE', '/api/v1/rotations/daily_duty')).status, 200);
      assert.equal((await again.req('DELETE', '/api/v1/people/new_guy')).status, 200);
      assert.ok(!(await again.get('/api/v1/plan')).json.people.find((p) => p.id === 'new_guy'));
      assert.equal((await again.req('DELETE', '/api/v1/channels/text')).status, 200);
      assert.equal((await again.req('DELETE', '/api/v1/channels/text')).status, 404);
      assert.equal((await again.get('/api/v1/session')).json.desk.channels, 1);
    } finally {
      await srv.stop();
      await hook.close();
      await sms.close();
    }
  });
});

describe('shift swaps', () => {
  test('asked by the one on duty, answered by the one who takes it, in force for the roster at once', async () => {
    const dir = tempDir('yj-swap-');
    dirs.push(dir);
    const data = join(dir, 'data');
    let srv = await startServer({ data });
    const adminPassword = srv.adminPassword;
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      for (const [name, person] of [['alice', 'it_staff'], ['bob', 'publicity_staff'], ['carol', 'dept_informant']])
        assert.equal((await admin.post('/api/v1/users', { name, role: 'duty', password: PW, person })).status, 201);
      const as = async (name, lang) => { const c = new Client(srv.url, { lang }); await c.login(name, PW); return c; };
      const alice = await as('alice');
      const bob = await as('bob');
      const carol = await as('carol');

      // The daily rotation alternates it_staff and publicity_staff: find a day of each.
      const holderOn = async (date) => (await admin.get(`/api/v1/duty?at=${noon(date)}`)).json.shifts
        .find((s) => s.rotation === 'daily_duty')?.person;
      let mine, theirs;
      for (let k = 1; k < 6 && !(mine && theirs); k++) {
        const who = await holderOn(day(k));
        if (who === 'it_staff' && !mine) mine = day(k);
        if (who === 'publicity_staff' && !theirs) theirs = day(k);
      }
      assert.ok(mine && theirs, `${mine} ${theirs}`);

      // Not someone else's shift, not a shift that is over, not to oneself.
      const wrong = await (await as('bob', 'zh-CN')).post('/api/v1/swaps', { rotation: 'daily_duty', date: mine, with: 'dept_informant' });
      assert.equal(wrong.status, 409, wrong.text);
      assert.match(wrong.json.detail, /的班是信息办相关工作人员的，不是宣传部相关工作人员的/);
      assert.equal((await alice.post('/api/v1/swaps', { rotation: 'daily_duty', date: day(-3), with: 'publicity_staff' })).status, 409);
      assert.equal((await alice.post('/api/v1/swaps', { rotation: 'daily_duty', date: mine, with: 'it_staff' })).status, 400);
      assert.equal((await alice.post('/api/v1/swaps', { rotation: 'daily_duty', date: '2026-02-31', with: 'publicity_staff' })).status, 400);
      assert.equal((await alice.post('/api/v1/swaps', { rotation: 'nope', date: mine, with: 'publicity_staff' })).status, 400);
      // Someone's name in the request is theirs alone (an admin records it with a reason).
      assert.equal((await carol.post('/api/v1/swaps', { rotation: 'daily_duty', date: mine, with: 'publicity_staff', requester: 'it_staff' })).status, 403);

      const asked = await alice.post('/api/v1/swaps', { rotation: 'daily_duty', date: mine, with: 'publicity_staff', back_date: theirs, reason: '出差' });
      assert.equal(asked.status, 200, asked.text);
      assert.equal(asked.json.status, 'proposed');
      assert.equal(asked.json.requester, 'it_staff');
      assert.equal(asked.json.taker_name, '宣传部相关工作人员');
      assert.equal((await alice.post('/api/v1/swaps', { rotation: 'daily_duty', date: mine, with: 'publicity_staff' })).status, 409);
      const id = asked.json.id;
      // Only the taker accepts.
      assert.equal((await carol.post(`/api/v1/swaps/${id}/accept`)).status, 403);
      assert.equal((await alice.post(`/api/v1/swaps/${id}/accept`)).status, 403);
      assert.equal((await bob.post(`/api/v1/swaps/${id}/frobnicate`)).status, 404);
      assert.equal(await holderOn(mine), 'it_staff', 'nothing changes before the answer');
      const yes = await bob.post(`/api/v1/swaps/${id}/accept`);
      assert.equal(yes.status, 200, yes.text);
      assert.equal(yes.json.status, 'accepted');
      assert.equal((await bob.post(`/api/v1/swaps/${id}/accept`)).status, 409);

      const shift = (await admin.get(`/api/v1/duty?at=${noon(mine)}`)).json.shifts.find((s) => s.rotation === 'daily_duty');
      assert.equal(shift.person, 'publicity_staff');
      assert.equal(shift.overridden, true);
      assert.equal(shift.reason, `换班 #${id}`);
      assert.equal(await holderOn(theirs), 'it_staff', 'and the shift in return');

      // Declined and withdrawn swaps change nothing; an admin records one for someone with a reason.
      const other = day(8);
      const holder = await holderOn(other);
      const taker = holder === 'it_staff' ? 'publicity_staff' : 'it_staff';
      const noReason = await admin.post('/api/v1/swaps', { rotation: 'daily_duty', date: other, with: taker, requester: holder });
      assert.equal(noReason.status, 403);
      const proxied = await admin.post('/api/v1/swaps', { rotation: 'daily_duty', date: other, with: taker, requester: holder, on_behalf: '电话申请' });
      assert.equal(proxied.status, 200, proxied.text);
      assert.equal(proxied.json.on_behalf, '电话申请');
      const takerClient = taker === 'it_staff' ? alice : bob;
      assert.equal((await takerClient.post(`/api/v1/swaps/${proxied.json.id}/decline`)).status, 200);
      assert.equal(await holderOn(other), holder);
      const third = await (holder === 'it_staff' ? alice : bob).post('/api/v1/swaps', { rotation: 'daily_duty', date: other, with: taker });
      assert.equal(third.status, 200, third.text);
      assert.equal((await (holder === 'it_staff' ? alice : bob).post(`/api/v1/swaps/${third.json.id}/withdraw`)).status, 200);
      assert.equal(await holderOn(other), holder);

      const list = (await carol.get('/api/v1/swaps')).json.swaps;
      assert.deepEqual(list.map((s) => s.status), ['withdrawn', 'declined', 'accepted']);
      assert.equal((await carol.get('/api/v1/swaps?status=accepted')).json.swaps.length, 1);
      assert.equal((await carol.get('/api/v1/swaps?status=nonsense')).status, 400);
      const audit = (await admin.get('/api/v1/audit?limit=200')).json.items;
      for (const [action, actor] of [['duty.swap.ask', 'user:alice'], ['duty.swap.accept', 'user:bob'],
        ['duty.swap.decline', `user:${taker === 'it_staff' ? 'alice' : 'bob'}`], ['duty.swap.ask', 'user:admin']])
        assert.ok(audit.find((a) => a.action === action && a.actor === actor), `${action} by ${actor}`);

      // In force after a restart too.
      await srv.stop();
      srv = await startServer({ data });
      const again = new Client(srv.url);
      assert.equal((await again.login('admin', adminPassword)).status, 200);
      const kept = (await again.get(`/api/v1/duty?at=${noon(mine)}`)).json.shifts.find((s) => s.rotation === 'daily_duty');
      assert.equal(kept.person, 'publicity_staff');
    } finally {
      await srv.stop();
    }
  });
});
