// The audit record through the real binary, tampered with the way someone with the store file
// would: sqlite3 on a copy of the data directory. `yingji audit verify` must exit non-zero after
// any direct change of an incident's rows, after the last rows are cut off with the head fixed to
// match, and when the chain is empty but incidents exist (issue 14's interface). The server keeps
// checkpoints of the signed head outside the store and sends the day's one to the plan's office.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { yj, sh, sql, cloneStore, ON_PG, tempDir, cleanup, until } from './helpers.mjs';
import { startServer, Client } from './server.mjs';

describe('the audit record', () => {
  let dir;
  let data;
  const y = (...args) => yj(['--data', data, ...args]);

  before(() => {
    dir = tempDir('yj-audit-');
    data = join(dir, 'data');
    for (const title of ['官网首页被篡改', '机房空调故障']) {
      const r = y('incident', 'report', '--type', title.startsWith('官网') ? 'website_tamper' : 'server_fault',
        '--title', title, '--source', '巡检');
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(y('incident', 'note', 'YJ-2026-0001', '已保存页面').code, 0);
    assert.equal(y('incident', 'move', 'YJ-2026-0001', 'assessing').code, 0);
    assert.equal(y('incident', 'note', 'YJ-2026-0002', '已通知厂商').code, 0);
  });
  after(() => cleanup(dir));

  // A copy of the data directory (store and key), changed by hand in the database.
  let copies = 0;
  function tampered(change) {
    const d = join(dir, `copy-${++copies}`);
    mkdirSync(d);
    cloneStore(data, d);
    sh(`cp "${data}/audit.key" "${d}/"`);
    sql(d, change);
    return yj(['--data', d, 'audit', 'verify', '--json']);
  }

  test('intact: the chain, the signed head and every incident agree', () => {
    const r = y('audit', 'verify', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.signed, true);
    assert.equal(r.json.incidents, 2);
    const key = statSync(join(data, 'audit.key'));
    assert.equal(key.mode & 0o777, 0o600, 'the key is the service account\'s alone');
    assert.match(readFileSync(join(data, 'audit.key.pub'), 'utf8'), /^yingji-audit-key 1\npublic [0-9a-f]{64}\n$/);
  });

  for (const [what, change] of [
    ['the title', "UPDATE incidents SET title = '无事发生' WHERE number = 'YJ-2026-0002'"],
    ['when it was detected', "UPDATE incidents SET detected_at = detected_at - 3600000 WHERE id = 1"],
    ['a deadline made met', "UPDATE deadlines SET met_at = due_at - 1 WHERE kind = 'assessment'"],
    ['a task checked off', "UPDATE tasks SET status = 'done' WHERE id = (SELECT min(id) FROM tasks)"],
    ['a timeline entry removed', `DROP TRIGGER timeline_no_delete${ON_PG ? ' ON timeline' : ''}; `
      + 'DELETE FROM timeline WHERE id = (SELECT max(id) FROM timeline)'],
  ]) {
    test(`a direct change of an incident's rows is caught: ${what}`, () => {
      const r = tampered(change);
      assert.notEqual(r.code, 0);
      assert.equal(r.json.ok, false);
      assert.match(r.json.reason, /YJ-2026-000[12] no longer matches the state its last audit row \(\d+\) recorded/);
    });
  }

  test('the last rows cut off, the head fixed to match', () => {
    const r = tampered('DELETE FROM audit_log WHERE id > 4; UPDATE audit_head SET last_id = 4, '
      + 'hash = (SELECT hash FROM audit_log WHERE id = 4)');
    assert.notEqual(r.code, 0);
    assert.match(r.json.reason, /signature does not verify/);
    // Even with the signature stripped as well, the incidents give it away.
    const s = tampered('DELETE FROM audit_log WHERE id > 4; UPDATE audit_head SET last_id = 4, '
      + 'hash = (SELECT hash FROM audit_log WHERE id = 4), signature = NULL');
    assert.notEqual(s.code, 0);
  });

  test('both tables emptied while incidents exist', () => {
    const r = tampered('DELETE FROM audit_log; DELETE FROM audit_head');
    assert.notEqual(r.code, 0);
    assert.match(r.json.reason, /the audit chain is empty but the store holds 2 incidents/);
  });

  test('no key, no verdict: a store copied without its key is not called intact', () => {
    const d = join(dir, 'keyless');
    mkdirSync(d);
    cloneStore(data, d);
    const r = yj(['--data', d, 'audit', 'verify']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the head's signature was not checked: no audit key at .*keyless\/audit\.key/);
    assert.equal(yj(['--data', d, 'audit', 'verify', '--key', join(data, 'audit.key.pub')]).code, 0);
  });

  test('a checkpoint kept elsewhere catches a chain rolled back to an older copy', () => {
    const old = join(dir, 'old');
    mkdirSync(old);
    cloneStore(data, old);
    sh(`cp "${data}/audit.key" "${old}/"`);
    const cp = y('audit', 'checkpoint', '--to', join(dir, 'kept.checkpoints'));
    assert.equal(cp.code, 0, cp.stderr);
    const line = JSON.parse(cp.stdout);
    assert.match(line.signature, /^[0-9a-f]{128}$/);
    assert.equal(y('audit', 'verify', '--checkpoint', join(dir, 'kept.checkpoints')).code, 0);
    // The old copy is intact in itself, but does not hold the row checkpointed since.
    assert.equal(y('incident', 'note', 'YJ-2026-0001', '又一条').code, 0);
    const cp2 = y('audit', 'checkpoint', '--to', join(dir, 'kept.checkpoints'));
    assert.equal(cp2.code, 0);
    const r = yj(['--data', old, 'audit', 'verify', '--checkpoint', join(dir, 'kept.checkpoints'), '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.json.reason, /no longer holds row \d+ as checkpointed/);
    assert.match(yj(['--data', old, 'audit', 'verify', '--checkpoint', join(dir, 'nothing')]).stderr,
      /holds no checkpoint/);
  });

  test('the server checkpoints the signed head outside the store, and sends the day\'s one to the office', async () => {
    // The daily message at the current minute of the plan's zone, so that it goes at the first tick.
    const now = new Date(Date.now() + 8 * 3600 * 1000); // Asia/Shanghai
    const hhmm = `${String(now.getUTCHours()).padStart(2, '0')}:${String(now.getUTCMinutes()).padStart(2, '0')}`;
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `audit: {daily: "${hhmm}"}\n`);
    const srv = await startServer({ data, args: ['--config', cfg] });
    try {
      const admin = new Client(srv.url);
      await admin.login('admin', srv.adminPassword);
      const file = join(data, 'audit.checkpoints');
      await until('the start checkpoint', async () => existsSync(file));
      const a = await admin.get('/api/v1/audit?limit=5');
      assert.equal(a.status, 200);
      assert.equal(a.json.verify.ok, true);
      assert.equal(a.json.verify.signed, true);
      assert.equal(a.json.items.length, 5);
      assert.match(a.json.items[0].state || a.json.items[1].state, /^v2:[0-9a-f]{64}$/);
      for (const bad of ['-1', '0', '1001', 'abc', '']) {
        const r = await admin.get(`/api/v1/audit?limit=${bad}`);
        assert.equal(r.status, 400, `limit=${bad}`);
        assert.equal(r.json.field, 'limit');
      }
      const msg = await until('the daily message', async () => {
        const out = sql(data, 'SELECT recipient, subject, body FROM notifications '
          + "WHERE idempotency_key LIKE 'audit-checkpoint:%'");
        return out.trim() ? out : null;
      });
      assert.match(msg, /^person:vp_it\|【应急】审计记录检查点 \d{4}-\d\d-\d\d\|/);
      assert.match(msg, /请妥善保存本消息/);
      // The message's last line is a checkpoint the verifier reads.
      const last = msg.trim().split('\n').pop();
      writeFileSync(join(dir, 'from-message'), `${last}\n`);
      assert.equal(y('audit', 'verify', '--checkpoint', join(dir, 'from-message')).code, 0);
    } finally {
      await srv.stop();
    }
    const lines = readFileSync(join(data, 'audit.checkpoints'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 1);
    assert.equal(y('audit', 'verify').code, 0);
  });
});
