// Small things the audit of issue 14 found at the edges of the deployment: URLs libcurl would
// follow anywhere (file://, gopher://) accepted by the config check; a store of password, session
// and token hashes created readable by every account; a looser data directory said nowhere.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { yj, tempDir, cleanup, ON_PG } from './helpers.mjs';
import { startServer } from './server.mjs';

describe('deployment hardening', () => {
  test('URLs of actions, channels and sites are http(s) (smtp(s) for email), checked before anything starts', () => {
    const dir = tempDir();
    try {
      const f = join(dir, 'bad-urls.yaml');
      writeFileSync(f, 'actions:\n'
        + '  - {kind: maintenance_page, url: "file:///etc/passwd"}\n'
        + '  - {kind: restore_files, url: "gopher://internal:70/"}\n'
        + 'channels:\n'
        + '  - {id: hook, type: webhook, url: "httpx://example.edu.cn/"}\n'
        + '  - {id: mail, type: email, url: "http://smtp.example.edu.cn", from: a@example.edu.cn}\n'
        + 'sites:\n'
        + '  - {id: home, url: "ftp://www.example.edu.cn/"}\n');
      const r = yj(['--config', f, '--data', join(dir, 'data'), 'serve', '--listen', '127.0.0.1:0']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /bad-urls\.yaml:2:\d+: url must be an http:\/\/ or https:\/\/ URL/);
      assert.match(r.stderr, /bad-urls\.yaml:3:\d+: url must be an http:\/\/ or https:\/\/ URL/);
      assert.match(r.stderr, /bad-urls\.yaml:5:\d+: url must be an http:\/\/ or https:\/\/ URL/);
      assert.match(r.stderr, /bad-urls\.yaml:6:\d+: url must be smtp:\/\/HOST:PORT or smtps:\/\/HOST:PORT/);
      assert.match(r.stderr, /bad-urls\.yaml:8:\d+: url must be an http:\/\/ or https:\/\/ URL/);
    } finally {
      cleanup(dir);
    }
  });

  test('the store is the service account\'s alone; a looser directory is said at start', { skip: ON_PG && 'the SQLite file itself' }, async () => {
    const dir = tempDir();
    try {
      const fresh = join(dir, 'fresh');
      assert.equal(yj(['--data', fresh, 'incident', 'list']).code, 0);
      assert.equal(statSync(fresh).mode & 0o777, 0o700);
      assert.equal(statSync(join(fresh, 'yingji.db')).mode & 0o777, 0o600);
      assert.equal(statSync(join(fresh, 'audit.key')).mode & 0o777, 0o600);
      // A directory made by hand before, readable by all: the server says so and how to mend it.
      const loose = join(dir, 'loose');
      mkdirSync(loose);
      chmodSync(loose, 0o755);
      const srv = await startServer({ data: loose });
      try {
        for (let i = 0; i < 50 && !/mode 0755/.test(srv.log()); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(srv.log(), new RegExp(`${loose.replaceAll('/', '\\/')} is mode 0755: other accounts may read it \\(it should be 0700: chmod 700`));
        assert.equal(statSync(join(loose, 'yingji.db')).mode & 0o777, 0o600, 'the store file itself is still made 0600');
      } finally {
        await srv.stop();
      }
    } finally {
      cleanup(dir);
    }
  });
});
