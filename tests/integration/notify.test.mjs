// Notification channels against loopback receivers that check signatures the way the real
// services do: `yingji notify test`, a wrong secret, a robot that refuses, a receiver that is down.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { yjAsync as yj, tempDir, cleanup } from './helpers.mjs';
import { receiver } from './receivers.mjs';

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
});
