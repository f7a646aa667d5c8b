// `yingji db copy --to URL`: a whole store into a new one on any engine, ids, numbers and the audit
// chain intact. On the SQLite run: SQLite to SQLite. On the integration-pg run: the PostgreSQL store
// to an SQLite file and that file back into a new PostgreSQL database — both directions a user
// takes (the day one machine is outgrown, and back for a drill).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { yj, sh, tempDir, cleanup, storeFor, until, sql, ON_PG } from './helpers.mjs';
import { startServer } from './server.mjs';

describe('db copy', () => {
  const dir = tempDir('yj-copy-');
  const data = join(dir, 'data');
  after(() => cleanup(dir));
  const y = (...args) => yj(['--data', data, ...args]);

  function listed(store) {
    const r = yj(['--store', store, '--data', data, 'incident', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return r.json.items.map((i) => `${i.number} ${i.title} ${i.status}`);
  }
  function verified(store) {
    const r = yj(['--store', store, '--data', data, 'audit', 'verify', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.signed, true);
    return r.json;
  }

  test('the whole store arrives: incidents, timeline, audit chain that verifies, accounts, monitors; never into a store with data', async () => {
    for (const [type, title] of [['intrusion', '门户网站被暴力破解'], ['website_tamper', '首页被篡改'], ['server_fault', '数据库服务器宕机']]) {
      assert.equal(y('incident', 'report', '--type', type, '--title', title).code, 0);
    }
    assert.equal(y('incident', 'note', 'YJ-2026-0001', '已封禁来源地址').code, 0);
    assert.equal(y('incident', 'ack', 'YJ-2026-0002').code, 0);
    const u = yj(['--data', data, 'user', 'add', 'duty1', '--role', 'duty', '--password-stdin'], { input: 'a-long-enough-passw0rd\n' });
    assert.equal(u.code, 0, u.stderr);
    // A monitor's rows too (its id is text, not a number): a server runs one for a moment.
    // A port that answers: the monitor is up, and no incident is opened.
    const port = net.createServer((c) => c.end());
    await new Promise((r) => port.listen(0, '127.0.0.1', r));
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `monitors:\n  - {id: db_port, target: "127.0.0.1:${port.address().port}", interval: 200ms}\n`);
    const srv = await startServer({ args: ['--config', cfg], data });
    await until('the monitor checked', () => Number(sql(data, "SELECT count(*) FROM monitor_hours WHERE monitor = 'db_port'")) > 0);
    await srv.stop();
    port.close();
    const source = ON_PG ? storeFor(data) : `sqlite:${data}/yingji.db`;
    const before = listed(source);
    assert.equal(before.length, 3);

    const file = join(dir, 'copy', 'yingji.db');
    mkdirSync(join(dir, 'copy'));
    const c1 = y('db', 'copy', '--to', `sqlite:${file}`);
    assert.equal(c1.code, 0, c1.stderr);
    assert.match(c1.stdout, /the copy's audit chain verifies \(\d+ rows\)/);
    assert.match(c1.stdout, /incidents +3/);
    assert.deepEqual(listed(`sqlite:${file}`), before);
    const users = yj(['--store', `sqlite:${file}`, '--data', data, 'user', 'list', '--json']);
    assert.deepEqual(users.json.items.map((x) => x.name).sort(), ['duty1']);
    const mon = sh(`sqlite3 '${file}' "SELECT id, (SELECT count(*) FROM monitor_hours WHERE monitor = 'db_port') > 0 FROM monitors"`);
    assert.equal(mon.stdout.trim(), 'db_port|1', mon.stderr);
    const v1 = verified(`sqlite:${file}`);
    assert.equal(v1.incidents, 3);
    // The copy's history says where it came from; the numbering goes on after the copied rows.
    const next = yj(['--store', `sqlite:${file}`, '--data', data, 'incident', 'report', '--type', 'intrusion', '--title', '复制后的新事件']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /YJ-2026-0004/);
    verified(`sqlite:${file}`);

    // Into a store that holds data: refused, nothing changed.
    const again = y('db', 'copy', '--to', `sqlite:${file}`);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already holds data: a copy goes into a new, empty store/);
    assert.equal(listed(`sqlite:${file}`).length, 4);

    if (ON_PG) {
      // And back from the file into a new PostgreSQL database.
      const target = storeFor(join(dir, 'back'));
      const c2 = yj(['--store', `sqlite:${file}`, '--data', data, 'db', 'copy', '--to', target]);
      assert.equal(c2.code, 0, c2.stderr);
      assert.deepEqual(listed(target), listed(`sqlite:${file}`));
      assert.equal(verified(target).incidents, 4);
      assert.doesNotMatch(c2.stdout + c2.stderr, /password=/);
    }
  });

  test('a target that is not a store URL is refused without echoing it', () => {
    const r = y('db', 'copy', '--to', 'mysql://root:secret@db/x');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /must be sqlite:PATH or postgresql:/);
    assert.doesNotMatch(r.stderr, /secret/);
  });
});
