// Notification channels against loopback receivers that check signatures the way the real
// services do: `yingji notify test`, a wrong secret, a robot that refuses, a receiver that is down.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { yjAsync as yj, tempDir, cleanup } from './helpers.mjs';
import { receiver, smtpReceiver, smsGateway } from './receivers.mjs';
import { readFileSync } from 'node:fs';
import { SRC } from './helpers.mjs';
import { spawnSync } from 'node:child_process';

describe('notify test', () => {
  let dir, cfg, r;
  before(async () => {
    dir = tempDir();
    r = {
      webhook: await receiver('webhook', 'hook-secret'),
      dingtalk: await receiver('dingtalk', 'SEC-ding'),
      feishu: await receiver('feishu', 'fei-secret'),
      wecom: await receiver('wecom'),
    };
    writeFileSync(join(dir, 'hook.secret'), 'hook-secret\n');
    cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `channels:
  - {id: hook, type: webhook, url: "${r.webhook.url}", secret_file: "${join(dir, 'hook.secret')}"}
  - {id: ding, type: dingtalk, url: "${r.dingtalk.url}", secret_env: YJ_TEST_DING}
  - {id: fei, type: feishu, url: "${r.feishu.url}", secret_env: YJ_TEST_FEI}
  - {id: wx, type: wecom, url: "${r.wecom.url}"}
  - {id: ding_wrong, type: dingtalk, url: "${r.dingtalk.url}", secret_env: YJ_TEST_WRONG}
  - {id: nowhere, type: webhook, url: "http://127.0.0.1:9/none", timeout: 2s}
`);
  });
  after(async () => {
    for (const x of Object.values(r)) await x.close();
    cleanup(dir);
  });
  const env = { YJ_TEST_DING: 'SEC-ding', YJ_TEST_FEI: 'fei-secret', YJ_TEST_WRONG: 'not-the-secret' };

  test('each channel delivers, signed as its receiver expects', async () => {
    for (const id of ['hook', 'ding', 'fei', 'wx']) {
      const out = await yj(['--config', cfg, 'notify', 'test', id, '--to', 'it_staff'], { env });
      assert.equal(out.code, 0, `${id}: ${out.stderr}`);
      assert.match(out.stdout, new RegExp(`channel ${id}: delivered`));
    }
    const hook = r.webhook.got[0];
    assert.equal(hook.body.subject, '【应急】通道测试');
    assert.equal(hook.body.recipient.id, 'it_staff');
    assert.equal(hook.headers['idempotency-key'], hook.body.key);
    assert.match(r.dingtalk.got[0].body.text.content, /通道测试[\s\S]*测试消息/);
    assert.equal(r.dingtalk.got[0].body.msgtype, 'text');
    assert.equal(r.feishu.got[0].body.msg_type, 'text');
    assert.match(r.wecom.got[0].body.text.content, /通道 wx/);
  });

  test('a refused signature, a receiver that is down and a missing secret fail with the reason', async () => {
    const wrong = await yj(['--config', cfg, 'notify', 'test', 'ding_wrong'], { env });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /DingTalk robot refused it: errcode 310000: sign not match/);
    assert.equal(r.dingtalk.rejected.length, 1);
    const down = await yj(['--config', cfg, 'notify', 'test', 'nowhere'], { env });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /channel nowhere: .*(refused|connect)/i);
    // The secret's environment variable is not set: the config is refused where it names it.
    const unset = await yj(['--config', cfg, 'notify', 'test', 'ding']);
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /yingji\.yaml:3:\d+: secret_env: the environment variable YJ_TEST_DING is not set/);
    assert.equal((await yj(['--config', cfg, 'notify', 'test', 'nope'], { env })).code, 2);
  });

  test('bad channel entries are refused with FILE:LINE:COLUMN', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'channels:\n  - {id: a, type: pigeon, url: "http://x"}\n  - {id: b, type: email, url: "http://x"}\n'
      + '  - {id: c, type: sms, url: "https://sms.example/send"}\n');
    const out = await yj(['--config', bad, 'notify', 'test', 'a']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /bad\.yaml:2:\d+: channel type "pigeon" is not known/);
    assert.match(out.stderr, /bad\.yaml:3:\d+: url must be smtp:\/\/HOST:PORT/);
    assert.match(out.stderr, /bad\.yaml:3:\d+: an email channel needs from: ADDRESS/);
    assert.match(out.stderr, /bad\.yaml:4:\d+: an sms channel needs body/);
  });

  test('bad block_ip entries are refused with FILE:LINE:COLUMN', async () => {
    const bad = join(dir, 'bad-actions.yaml');
    writeFileSync(bad, 'actions:\n'
      + '  - {kind: block_ip, nftables: "yj; flush ruleset", allow: [10.0.0.0/33, "fe80::/10"]}\n'
      + '  - {kind: restore_files, nftables: yingji}\n'
      + '  - {kind: maintenance_page, run: [/bin/true], duration: 1h}\n'
      + '  - {kind: http, nftables: yingji, url: "http://x"}\n');
    const out = await yj(['--config', bad, 'block', 'list']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /bad-actions\.yaml:2:\d+: nftables: "yj; flush ruleset" is not a table name/);
    assert.match(out.stderr, /bad-actions\.yaml:2:\d+: "10\.0\.0\.0\/33" is not an IP address or CIDR range/);
    assert.doesNotMatch(out.stderr, /fe80/);
    assert.match(out.stderr, /bad-actions\.yaml:3:\d+: nftables: is for kind block_ip only/);
    assert.match(out.stderr, /bad-actions\.yaml:4:\d+: duration: and allow: are for kind block_ip only/);
    assert.match(out.stderr, /bad-actions\.yaml:5:\d+: an action needs either run/);
  });

  test('block list and release without blocks', async () => {
    const data = join(dir, 'blocks-data');
    const list = await yj(['--data', data, '--json', 'block', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { items: [] });
    const rel = await yj(['--data', data, 'block', 'release', '192.0.2.1']);
    assert.equal(rel.code, 1);
    assert.match(rel.stderr, /192\.0\.2\.1 is not blocked/);
    const bad = await yj(['--data', data, 'block', 'release', 'nonsense']);
    assert.match(bad.stderr, /"nonsense" is not an IP address/);
    assert.equal((await yj(['--data', data, 'block', 'frobnicate'])).code, 2);
  });
});

describe('email and SMS', () => {
  test('an email through an SMTP relay and a text through an HTTP gateway, to the person the plan names', async () => {
    const dir = tempDir();
    const smtp = await smtpReceiver();
    const sms = await smsGateway();
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, readFileSync(join(SRC, 'plans/university.yaml'), 'utf8').replace(
      '{id: it_staff, name: 信息办相关工作人员, unit: it_office,',
      '{id: it_staff, name: 信息办相关工作人员, unit: it_office, contacts: {email: it@example.edu.cn, mobile: "13800138000"},'));
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `plan: ${plan}\nchannels:\n`
      + `  - {id: mail, type: email, url: "${smtp.url}", from: yingji@example.edu.cn, plain: true}\n`
      + `  - {id: sms, type: sms, url: "${sms.url}", secret_env: YJ_TEST_SMS, body: '{"to":"{phone}","msg":"{text}"}'}\n`);
    const env = { YJ_TEST_SMS: 'sms-token' };
    try {
      const m = await yj(['--config', cfg, 'notify', 'test', 'mail', '--to', 'it_staff'], { env });
      assert.equal(m.code, 0, m.stderr);
      assert.equal(smtp.mails.length, 1);
      assert.deepEqual(smtp.mails[0].to, ['it@example.edu.cn']);
      assert.match(smtp.mails[0].data, /Subject: =\?UTF-8\?B\?/);
      assert.match(smtp.mails[0].data, /通过通道 mail 发出的测试消息/);
      const t = await yj(['--config', cfg, 'notify', 'test', 'sms', '--to', 'it_staff'], { env });
      assert.equal(t.code, 0, t.stderr);
      assert.deepEqual(JSON.parse(sms.got[0].body), { to: '13800138000', msg: '【应急】通道测试' });
      assert.equal(sms.got[0].auth, 'Bearer sms-token');
      // Someone without an address: the channel cannot carry it, and says so.
      const none = await yj(['--config', cfg, 'notify', 'test', 'mail', '--to', 'it_head'], { env });
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /has no email address in the plan/);
    } finally {
      await smtp.close();
      await sms.close();
      cleanup(dir);
    }
  });
});

describe('the outbox', () => {
  test('escalation notifications reach every channel; a receiver down for a while gets them when it is back', async () => {
    const { startServer, Client } = await import('./server.mjs');
    const { readFileSync } = await import('node:fs');
    const { SRC } = await import('./helpers.mjs');
    const dir = tempDir();
    const ding = await receiver('dingtalk', 'SEC-ding');
    const hook = await receiver('webhook', 'hook-secret');
    await hook.down();
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, readFileSync(join(SRC, 'plans/university.yaml'), 'utf8').replaceAll('acknowledge: 5m', 'acknowledge: 1s'));
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `plan: ${plan}\npublic_url: "https://yj.example.edu.cn/"\nchannels:\n`
      + `  - {id: ding, type: dingtalk, url: "${ding.url}", secret_env: YJ_TEST_DING}\n`
      + `  - {id: hook, type: webhook, url: "${hook.url}", secret_env: YJ_TEST_HOOK, timeout: 2s}\n`);
    process.env.YJ_TEST_DING = 'SEC-ding';
    process.env.YJ_TEST_HOOK = 'hook-secret';
    const srv = await startServer({ args: ['--config', cfg] });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '主页被篡改' });
      const id = made.json.id;
      const timeline = async () => (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items;
      // DingTalk takes it at once; the webhook is down: the first failure is on the timeline.
      const overdue = () => ding.got.filter((g) => /接报确认已超时/.test(g.body.text.content));
      for (let i = 0; i < 100 && !(overdue().length && (await timeline()).some((e) => e.kind === 'delivery_retrying')); i++) await sleep(100);
      assert.equal(overdue().length, 1);
      assert.match(overdue()[0].body.text.content, /接报确认已超时[\s\S]*https:\/\/yj\.example\.edu\.cn\/incidents\//);
      assert.equal(ding.got.filter((g) => /【应急】新事件/.test(g.body.text.content)).length, 2, 'the news, to duty and unit head');
      const retrying = (await timeline()).find((e) => e.kind === 'delivery_retrying');
      assert.ok(retrying, 'the failed attempt is on the timeline');
      const late = async () => (await admin.get(`/api/v1/incidents/${id}/notifications`)).json.items
        .filter((x) => /接报确认已超时/.test(x.subject));
      let n = await late();
      assert.equal(n[0].status, 'pending');
      // The receiver comes back: the retry (2 s, then 4 s ...) delivers it; nothing is lost.
      await sleep(1500);
      await hook.up();
      for (let i = 0; i < 150 && !hook.got.some((g) => /接报确认已超时/.test(g.body.subject)); i++) await sleep(100);
      assert.equal(hook.got.length >= 1, true, 'delivered after the receiver came back');
      const late2 = hook.got.filter((g) => /接报确认已超时/.test(g.body.subject));
      assert.equal(new Set(late2.map((g) => g.body.key)).size, 1, 'one notification, one idempotency key');
      assert.equal(hook.rejected.length, 0, 'every request was signed correctly');
      for (let i = 0; i < 50; i++) {
        n = await late();
        if (n[0].status === 'sent') break;
        await sleep(100);
      }
      assert.equal(n[0].status, 'sent');
      assert.ok(n[0].attempts >= 3, `attempts over both channels: ${n[0].attempts}`);
      // Every notification, the news included, ends up delivered through both channels.
      let all = [];
      for (let i = 0; i < 200; i++) {
        all = (await admin.get(`/api/v1/incidents/${id}/notifications`)).json.items;
        if (all.every((x) => x.status === 'sent')) break;
        await sleep(100);
      }
      assert.ok(all.length >= 3 && all.every((x) => x.status === 'sent'), JSON.stringify(all.map((x) => x.status)));
      const kinds = (await timeline()).map((e) => e.kind);
      assert.equal(kinds.filter((k) => k === 'delivered').length, 2 * all.length, 'each notification, both channels');
    } finally {
      await srv.stop();
      await ding.close();
      await hook.close();
      cleanup(dir);
    }
  });
});

describe('automated actions', () => {
  test('an approved maintenance-page step runs its program with the incident in its environment; failures and unconfigured kinds are recorded', async () => {
    const { startServer, Client } = await import('./server.mjs');
    const { chmodSync } = await import('node:fs');
    const { until } = await import('./helpers.mjs');
    const dir = tempDir();
    const script = join(dir, 'maintenance.sh');
    writeFileSync(script, `#!/bin/sh\necho "switched $YINGJI_INCIDENT ($YINGJI_TASK_TITLE)"\nenv | grep '^YINGJI_' > "${dir}/env.txt"\n`);
    chmodSync(script, 0o755);
    const failing = join(dir, 'restore.sh');
    writeFileSync(failing, '#!/bin/sh\necho "backup not mounted" >&2\nexit 3\n');
    chmodSync(failing, 0o755);
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `actions:\n  - {kind: maintenance_page, run: ["${script}"], timeout: 5s}\n`
      + `  - {kind: restore_files, run: ["${failing}"]}\n`);
    const srv = await startServer({ args: ['--config', cfg] });
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '首页被篡改' });
      const id = made.json.id;
      const tasks = async () => (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items;
      const gated = (await tasks()).find((t) => t.action === 'maintenance_page');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await tasks()).find((t) => t.id === gated.id).status, 'todo', 'nothing runs before approval');
      const ok = await admin.post(`/api/v1/incidents/${id}/tasks/${gated.id}/approval`, { approve: true, reason: '同意' });
      assert.equal(ok.status, 200);
      const done = await until('the action', async () => {
        const t = (await tasks()).find((x) => x.id === gated.id);
        return t.status === 'done' ? t : null;
      });
      assert.equal(done.updated_by, 'action');
      const env = readFileSync(join(dir, 'env.txt'), 'utf8');
      assert.match(env, new RegExp(`YINGJI_INCIDENT=${made.json.number}`));
      assert.match(env, /YINGJI_ACTION=maintenance_page/);
      const tl = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items.filter((e) => e.kind === 'action');
      assert.equal(tl[0].body.result, 'succeeded');
      assert.match(tl[0].body.output, new RegExp(`switched ${made.json.number} \\(将站点切换至维护页面\\)`));
      // Blocking the address has no `actions:` entry here: recorded as left to people.
      // Restoring files fails (exit 3): recorded with the reason and output; the task stays to do.
      await admin.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' });
      await admin.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: { source: '巡检', scope: '首页',
        nature: '篡改', trend: '已控制', measures: '维护页', level: 'important', activated_by: 'vp_it',
        activation_reason: '官网被篡改' }, on_behalf: '组长电话决定' });
      await admin.post(`/api/v1/incidents/${id}/move`, { status: 'recovering' });
      for (const t of await tasks()) {
        if (t.approval_decision && t.approval_decision.status === 'pending') {
          await admin.post(`/api/v1/incidents/${id}/tasks/${t.id}/approval`, { approve: true });
        }
      }
      const results = await until('the other two actions', async () => {
        const a = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items.filter((e) => e.kind === 'action');
        return a.length >= 3 ? a : null;
      });
      const by = Object.fromEntries(results.map((e) => [e.body.action, e.body]));
      assert.equal(by.block_ip.result, 'unconfigured');
      assert.match(by.block_ip.output, /to be carried out by hand/);
      assert.equal(by.restore_files.result, 'failed');
      assert.match(by.restore_files.output, /exited with status 3\nbackup not mounted/);
      assert.equal((await tasks()).find((t) => t.action === 'restore_files').status, 'todo');
      // Nothing was blocked (block_ip is not configured here): the list is empty, releasing is 404.
      assert.deepEqual((await admin.get('/api/v1/blocks')).json, { items: [] });
      const rel = await admin.post('/api/v1/blocks/192.0.2.1/release', { note: '误封' });
      assert.equal(rel.status, 404);
      assert.match(rel.json.detail, /192\.0\.2\.1 is not blocked/);
      assert.equal((await admin.post('/api/v1/blocks/192.0.2.1/release', { reason: 'x' })).status, 400);
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });
  test('the shipped maintenance-page script switches a site root to the maintenance page once approved', async () => {
    const { startServer, Client } = await import('./server.mjs');
    const { mkdirSync, symlinkSync, readlinkSync } = await import('node:fs');
    const { until } = await import('./helpers.mjs');
    const dir = tempDir();
    mkdirSync(join(dir, 'release-1'));
    mkdirSync(join(dir, 'maintenance'));
    symlinkSync(join(dir, 'release-1'), join(dir, 'site'));
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `actions:\n  - {kind: maintenance_page, run: ["${join(SRC, 'scripts/actions/maintenance-page')}", "on", `
      + `"${join(dir, 'site')}", "${join(dir, 'maintenance')}"]}\n`);
    const srv = await startServer({ args: ['--config', cfg] });
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '首页被篡改' });
      const id = made.json.id;
      const task = (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items.find((t) => t.action === 'maintenance_page');
      assert.equal(readlinkSync(join(dir, 'site')), join(dir, 'release-1'), 'nothing before approval');
      await admin.post(`/api/v1/incidents/${id}/tasks/${task.id}/approval`, { approve: true, reason: '同意切换' });
      const tl = await until('the switch', async () => {
        const a = (await admin.get(`/api/v1/incidents/${id}/timeline`)).json.items.filter((e) => e.kind === 'action');
        return a.length ? a[0] : null;
      });
      assert.equal(tl.body.result, 'succeeded', tl.body.output);
      assert.equal(readlinkSync(join(dir, 'site')), join(dir, 'maintenance'));
      assert.match(tl.body.output, new RegExp(`was ${join(dir, 'release-1')}\\), incident ${made.json.number}`));
      // And back, by hand, after recovery.
      const off = spawnSync(join(SRC, 'scripts/actions/maintenance-page'), ['off', join(dir, 'site')], { encoding: 'utf8' });
      assert.equal(off.status, 0, off.stderr);
      assert.equal(readlinkSync(join(dir, 'site')), join(dir, 'release-1'));
    } finally {
      await srv.stop();
      cleanup(dir);
    }
  });
});
