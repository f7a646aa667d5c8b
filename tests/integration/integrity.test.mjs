// File integrity of a web root in the real server: files changed, added and deleted under a watched
// directory become one incident with the file and its diff as evidence; putting them back records
// the recovery; changes made while the server was down are found at the next start; excluded
// files are ignored; config mistakes stop the server with FILE:LINE:COLUMN.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, rmSync, renameSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { yjAsync as yj, tempDir, cleanup, sh, until, sql } from './helpers.mjs';
import { startServer, Client } from './server.mjs';


const PAGE = '<html><body><h1>重庆医科大学</h1>\n<p>新闻</p>\n</body></html>\n';

describe('file integrity', () => {
  let dir;
  before(() => { dir = tempDir(); });
  after(() => cleanup(dir));

  function site(name) {
    const root = join(dir, name);
    mkdirSync(join(root, 'css'), { recursive: true });
    writeFileSync(join(root, 'index.html'), PAGE);
    writeFileSync(join(root, 'css', 'site.css'), 'body { color: #333 }\n');
    return root;
  }

  function config(name, root, extra = '') {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(f, `integrity:\n  - {id: www, path: "${root}", exclude: ["*.log", "cache/*"], asset: main_site${extra}}\n`);
    return f;
  }

  const signals = (data) => sql(data, "SELECT message FROM signals WHERE source = 'integrity' ORDER BY id").split('\n').filter(Boolean);

  test('changed, added and deleted files open one web-tamper incident with the diff; restoring records the recovery', async () => {
    const root = site('one');
    const srv = await startServer({ args: ['--config', config('one', root)] });
    try {
      assert.match(srv.startup, /watching .* \(integrity www\)/);
      await until('the baseline', async () => /integrity www: baseline of 2 files/.test(srv.log()));
      const c = new Client(srv.url);
      await c.login('admin', srv.adminPassword);
      writeFileSync(join(root, 'index.html'), PAGE.replace('<p>新闻</p>', '<p>新闻</p><a href="http://bet.example/" style="display:none">娱乐</a>'));
      writeFileSync(join(root, 'shell.php'), '<?php eval($_POST[1]); ?>');
      writeFileSync(join(root, 'app.log'), 'excluded\n');
      mkdirSync(join(root, 'cache'));
      writeFileSync(join(root, 'cache', 'x.html'), 'excluded too');
      rmSync(join(root, 'css', 'site.css'));
      const inc = await until('the incident', async () => (await c.req('GET', '/api/v1/incidents')).json.items
        .find((i) => i.title === '网页文件被篡改：www'));
      assert.equal(inc.type, 'website_tamper');
      await until('three signals', async () => signals(srv.data).length >= 3);
      const said = signals(srv.data);
      assert.ok(said.includes('www：index.html 被修改'), said.join());
      assert.ok(said.includes('www：shell.php 被新增'), said.join());
      assert.ok(said.includes('www：css/site.css 被删除'), said.join());
      assert.ok(!said.some((s) => /app\.log|cache/.test(s)), said.join());
      const fields = JSON.parse(sql(srv.data, "SELECT fields FROM signals WHERE message = 'www：index.html 被修改'"));
      assert.equal(fields.change, 'modified');
      assert.match(fields.diff, /^--- baseline\n\+\+\+ now\n/);
      assert.match(fields.diff, /\n\+<p>新闻<\/p><a href="http:\/\/bet\.example\/"/);
      assert.match(fields.old_hash, /^[0-9a-f]{64}$/);
      assert.equal(sql(srv.data, 'SELECT count(*) FROM incidents'), '1'); // one incident for all of it
      const full = (await c.req('GET', `/api/v1/incidents/${inc.id}`)).json;
      assert.equal(full.gbt_subcategory_id, 'attack.web_tamper');
      assert.equal(full.gbt_subcategory, '网页篡改事件');

      // Put everything back: the incident says so.
      writeFileSync(join(root, 'index.html'), PAGE);
      rmSync(join(root, 'shell.php'));
      writeFileSync(join(root, 'css', 'site.css'), 'body { color: #333 }\n');
      const back = await until('the recovery', async () => (await c.req('GET', `/api/v1/incidents/${inc.id}/timeline`))
        .json.items.find((e) => e.kind === 'recovered'));
      assert.equal(back.body.note, 'www：所有文件已与基线一致');
    } finally {
      await srv.stop();
    }
  });

  test('a change made while the server was down is found at the next start', async () => {
    const root = site('two');
    const data = join(dir, 'two-data');
    const f = config('two', root);
    let srv = await startServer({ args: ['--config', f], data });
    const password = srv.adminPassword;
    await until('the baseline', async () => sql(data, "SELECT files FROM integrity_baselines WHERE watch = 'www'") === '2');
    await srv.stop();
    renameSync(join(root, 'index.html'), join(root, 'index.bak')); // deleted, and a new file
    srv = await startServer({ args: ['--config', f], data });
    try {
      await until('both changes', async () => signals(data).length >= 2);
      assert.deepEqual(signals(data).sort(), ['www：index.bak 被新增', 'www：index.html 被删除']);
      assert.doesNotMatch(srv.log(), /baseline of/); // the stored baseline was kept
      // It was a deployment after all: accepted (with a reason, audited) as the new baseline.
      const c = new Client(srv.url);
      await c.login('admin', password);
      assert.equal((await c.req('POST', '/api/v1/integrity/www/accept', {})).status, 400);
      assert.equal((await c.req('POST', '/api/v1/integrity/nope/accept', { reason: 'x' })).status, 404);
      const ok = await c.req('POST', '/api/v1/integrity/www/accept', { reason: '首页改版上线' });
      assert.equal(ok.status, 202, ok.text);
      await until('the new baseline', async () => /baseline of 2 files/.test(srv.log()));
      assert.equal(sql(data, "SELECT path FROM integrity_files WHERE watch = 'www' ORDER BY path").split('\n').join(','),
        'css/site.css,index.bak');
      assert.match(sql(data, "SELECT detail FROM audit_log WHERE action = 'integrity.accept'"), /首页改版上线/);
      const list = (await c.req('GET', '/api/v1/integrity')).json.items;
      assert.equal(list[0].files, 2);
      writeFileSync(join(root, 'index.bak'), 'changed after the accept');
      await until('a change against the new baseline', async () => signals(data).includes('www：index.bak 被修改'));
      // A deployment window: changes are not reported; its end takes the new baseline (audited).
      const before = signals(data).length;
      const win = await c.req('POST', '/api/v1/integrity/www/maintenance', { minutes: 30, reason: '发布 v2.1' });
      assert.equal(win.status, 202, win.text);
      assert.ok(win.json.until);
      assert.equal((await c.req('POST', '/api/v1/integrity/www/maintenance', { minutes: -1, reason: 'x' })).status, 400);
      // The window is in force as soon as it is granted, and the list says until when.
      assert.equal((await c.req('GET', '/api/v1/integrity')).json.items[0].maintenance_until, win.json.until);
      writeFileSync(join(root, 'release.js'), 'v2.1');
      writeFileSync(join(root, 'index.bak'), 'v2.1 page');
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(signals(data).length, before, 'nothing reported during the window');
      const baselines = (srv.log().match(/baseline of \d+ files/g) || []).length;
      assert.equal((await c.req('POST', '/api/v1/integrity/www/maintenance', { minutes: 0, reason: '发布完成' })).status, 202);
      await until('the baseline after the window', async () => (srv.log().match(/baseline of \d+ files/g) || []).length > baselines);
      assert.match(srv.log(), /baseline of 3 files/);
      assert.equal((await c.req('GET', '/api/v1/integrity')).json.items[0].maintenance_until, null);
      assert.equal(sql(data, "SELECT count(*) FROM audit_log WHERE action = 'integrity.maintenance'"), '2');
      writeFileSync(join(root, 'release.js'), 'v2.1 tampered');
      await until('a change after the window', async () => signals(data).includes('www：release.js 被修改'));
    } finally {
      await srv.stop();
    }
  });

  test('the approved restore_files step puts the baseline back from the copies and quarantines what was added', async () => {
    const root = site('restore');
    const f = join(dir, 'restore.yaml');
    writeFileSync(f, `integrity:\n  - {id: www, path: "${root}", asset: main_site}\n`
      + 'actions:\n  - {kind: restore_files, integrity: true}\n');
    const srv = await startServer({ args: ['--config', f] });
    try {
      await until('the baseline', async () => /baseline of 2 files/.test(srv.log()));
      const c = new Client(srv.url);
      await c.login('admin', srv.adminPassword);
      writeFileSync(join(root, 'index.html'), '<html>hacked by x</html>');
      mkdirSync(join(root, 'up'));
      writeFileSync(join(root, 'up', 'shell.php'), '<?php eval($_POST[1]); ?>');
      rmSync(join(root, 'css'), { recursive: true });
      const inc = await until('the incident with three files', async () => {
        const i = (await c.req('GET', '/api/v1/incidents')).json.items.find((x) => x.title === '网页文件被篡改：www');
        return i && signals(srv.data).length >= 3 ? i : null;
      });
      const id = inc.id;
      await c.req('POST', `/api/v1/incidents/${id}/move`, { status: 'assessing' });
      const moved = await c.req('POST', `/api/v1/incidents/${id}/move`, { status: 'responding', fields: { source: '文件监测',
        scope: '官网首页', nature: '篡改', trend: '已控制', measures: '恢复网页', level: 'important', activated_by: 'vp_it',
        activation_reason: '官网被篡改' }, on_behalf: '组长电话决定' });
      assert.equal(moved.status, 200, moved.text);
      assert.equal((await c.req('POST', `/api/v1/incidents/${id}/move`, { status: 'recovering' })).status, 200);
      const tasks = async () => (await c.req('GET', `/api/v1/incidents/${id}/tasks`)).json.items;
      const restore = (await tasks()).find((t) => t.action === 'restore_files');
      assert.equal((await c.req('POST', `/api/v1/incidents/${id}/tasks/${restore.id}/approval`, { approve: true, reason: '同意恢复' })).status, 200);
      const done = await until('the restore', async () => (await c.req('GET', `/api/v1/incidents/${id}/timeline`)).json.items
        .find((e) => e.kind === 'action' && e.body.action === 'restore_files'));
      assert.equal(done.body.result, 'succeeded', done.body.output);
      assert.match(done.body.output, /restored index\.html \(modified\)/);
      assert.match(done.body.output, /restored css\/site\.css \(deleted\)/);
      assert.match(done.body.output, /moved up\/shell\.php to the quarantine/);
      assert.equal(readFileSync(join(root, 'index.html'), 'utf8'), PAGE);
      assert.equal(readFileSync(join(root, 'css', 'site.css'), 'utf8'), 'body { color: #333 }\n');
      assert.equal(existsSync(join(root, 'up', 'shell.php')), false);
      assert.deepEqual(readdirSync(join(srv.data, 'integrity', 'quarantine')), [`${id}-www-up_shell.php`]);
      await until('the recovery', async () => (await c.req('GET', `/api/v1/incidents/${id}/timeline`)).json.items
        .some((e) => e.kind === 'recovered'));
      assert.equal((await tasks()).find((t) => t.id === restore.id).status, 'done');
    } finally {
      await srv.stop();
    }
  });

  test('config mistakes stop the server with FILE:LINE:COLUMN', async () => {
    const root = site('three');
    const cases = [
      [`  - {id: w, path: "${root}", incident: nope}\n`, /bad\.yaml:3:\d+: the plan cqmu has no type "nope"/],
      ['  - {id: w, path: "relative/dir"}\n', /bad\.yaml:3:\d+: path must be absolute/],
      [`  - {id: w, path: "${root}", scan: 10ms}\n`, /bad\.yaml:3:\d+: scan must be between 1s and 7d/],
      [`  - {id: w, path: "${root}"}\n  - {id: w, path: "${root}"}\n`, /bad\.yaml:4:\d+: duplicate integrity id "w"/],
    ];
    for (const [watches, want] of cases) {
      const f = join(dir, 'bad.yaml');
      writeFileSync(f, `data: ${join(dir, 'bad-data')}\nintegrity:\n${watches}`);
      const r = await yj(['--config', f, 'serve', '--listen', '127.0.0.1:0']);
      assert.equal(r.code, 2, `${watches}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, want);
    }
    const f = join(dir, 'missing.yaml');
    writeFileSync(f, `data: ${join(dir, 'missing-data')}\nintegrity:\n  - {id: w, path: "${join(dir, 'no-such-dir')}"}\n`);
    const r = await yj(['--config', f, 'serve', '--listen', '127.0.0.1:0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /integrity w: .*no-such-dir is not a directory that can be read/);
  });
});
