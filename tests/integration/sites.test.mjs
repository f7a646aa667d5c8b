// The website guard on a schedule in the real server: a loopback page the test changes — a dynamic
// region that must not alert, a hidden gambling link (暗链), its removal, an advertisement word,
// a tampered heading accepted (audited) as the new baseline.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, cleanup, sh, until, sql } from './helpers.mjs';
import { startServer, Client } from './server.mjs';


const page = ({ heading = '重庆医科大学', news = '新闻一', extra = '' } = {}) =>
  `<html><body><h1>${heading}</h1><ul id="news"><li>${news}</li></ul><p>学校简介</p>${extra}</body></html>`;

describe('website guard on a schedule', () => {
  let web, html, dir;
  before(async () => {
    dir = tempDir();
    html = page();
    web = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise((r) => web.listen(0, '127.0.0.1', r));
  });
  after(() => { web.close(); cleanup(dir); });

  test('dynamic regions stay quiet; hidden links, words and tamper open incidents that record their end', async () => {
    const f = join(dir, 'yingji.yaml');
    writeFileSync(f, 'sites:\n'
      + `  - {id: home, url: "http://127.0.0.1:${web.address().port}/", interval: 300ms, dynamic: ["#news"], asset: main_site, content: media_ad}\n`);
    const srv = await startServer({ args: ['--config', f] });
    try {
      assert.match(srv.startup, /guarding 1 sites/);
      await until('the baseline', async () => /site home: baseline of \d+ bytes saved/.test(srv.log()));
      const c = new Client(srv.url);
      await c.login('admin', srv.adminPassword);
      const signals = () => Number(sql(srv.data, "SELECT count(*) FROM signals WHERE source = 'webguard'"));
      const incidents = async () => (await c.req('GET', '/api/v1/incidents')).json.items;

      html = page({ news: '新闻二：学术报告' }); // the dynamic region changes
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(signals(), 0, 'a change inside #news is not tamper');

      html = page({ extra: '<div style="display:none"><a href="http://bet.example/">娱乐</a></div>' });
      const hidden = await until('the hidden-link incident', async () => (await incidents()).find((i) => i.title === '网站被植入暗链：home'));
      assert.equal(hidden.type, 'website_tamper');
      const full = (await c.req('GET', `/api/v1/incidents/${hidden.id}`)).json;
      assert.equal(full.gbt_subcategory_id, 'attack.hidden_link');
      const fields = JSON.parse(sql(srv.data, "SELECT fields FROM signals WHERE source = 'webguard' ORDER BY id LIMIT 1"));
      assert.ok(fields.findings.some((x) => x.kind === 'hidden_link' && /bet\.example/.test(x.evidence)), JSON.stringify(fields));

      html = page(); // removed
      await until('the recovery', async () => (await c.req('GET', `/api/v1/incidents/${hidden.id}/timeline`))
        .json.items.some((e) => e.kind === 'recovered'));

      html = page({ extra: '<p>代开发票，联系 QQ</p>' });
      const ad = await until('the content incident', async () => (await incidents()).find((i) => i.title === '网站出现违规内容：home'));
      assert.equal(ad.type, 'media_ad');
      assert.equal((await c.req('GET', `/api/v1/incidents/${ad.id}`)).json.gbt_subcategory_id, 'content.spam');
      html = page();

      // The heading changed for real (a redesign): tamper, then accepted as the new baseline.
      html = page({ heading: '重庆医科大学欢迎你' });
      await until('the tamper signal', async () => sql(srv.data,
        "SELECT count(*) FROM signals WHERE source = 'webguard' AND message LIKE 'home 被篡改%'") === '1');
      assert.equal((await c.req('POST', '/api/v1/sites/home/accept', { reason: '' })).status, 400);
      assert.equal((await c.req('POST', '/api/v1/sites/nope/accept', { reason: 'x' })).status, 404);
      const ok = await c.req('POST', '/api/v1/sites/home/accept', { reason: '首页改版' });
      assert.equal(ok.status, 202, ok.text);
      await until('the second recovery', async () => (await c.req('GET', `/api/v1/incidents/${hidden.id}/timeline`))
        .json.items.filter((e) => e.kind === 'recovered').length === 2);
      assert.match(sql(srv.data, "SELECT detail FROM audit_log WHERE action = 'site.accept'"), /首页改版/);
      assert.equal(sql(srv.data, "SELECT count(*) FROM audit_log WHERE action = 'site.baseline'"), '2');
      const only = (await c.req('GET', '/api/v1/signals?source=webguard&limit=200')).json.items;
      assert.ok(only.length >= 4 && only.every((x) => x.source === 'webguard'), JSON.stringify(only.map((x) => x.source)));
      assert.equal((await c.req('GET', '/api/v1/signals?source=')).status, 400);
      const list = (await c.req('GET', '/api/v1/sites')).json.items;
      assert.equal(list[0].id, 'home');
      assert.ok(list[0].baseline_bytes > 0);
      assert.deepEqual(list[0].dynamic, ['#news']);
    } finally {
      await srv.stop();
    }
  });

  test('a site that does not answer does not hold up the others', async () => {
    // It takes the connection and says nothing: each check of it waits for the 15 s timeout.
    const held = [];
    const silent = http.createServer((req) => { held.push(req); });
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    const f = join(dir, 'slow.yaml');
    writeFileSync(f, `data: ${join(dir, 'slow-data')}\nsites:\n`
      + `  - {id: slow, url: "http://127.0.0.1:${silent.address().port}/", interval: 300ms}\n`
      + `  - {id: quick, url: "http://127.0.0.1:${web.address().port}/", interval: 300ms}\n`);
    const srv = await startServer({ args: ['--config', f] });
    try {
      await until('the slow site asked', async () => held.length > 0);
      const t0 = Date.now();
      await until('the quick site checked', async () => /site quick: baseline of \d+ bytes saved/.test(srv.log()));
      assert.ok(Date.now() - t0 < 5000, `the quick site waited ${Date.now() - t0} ms`);
      // Stopping does not wait for the silent site's 15 s timeout.
      const s0 = Date.now();
      await srv.stop();
      assert.ok(Date.now() - s0 < 8000, `the stop took ${Date.now() - s0} ms`);
    } finally {
      await srv.stop();
      for (const r of held) r.socket.destroy();
      silent.close();
    }
  });

  test('a dynamic region that is neither XPath nor a simple selector stops the server with FILE:LINE:COLUMN', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, `data: ${join(dir, 'bad-data')}\nsites:\n  - {id: a, url: "http://127.0.0.1:1/", dynamic: ["div > p"]}\n`);
    const r = sh(`'${process.env.YINGJI_BIN || new URL('../../build/yingji', import.meta.url).pathname}' --config '${f}' serve --listen 127.0.0.1:0`);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:3:\d+: "div > p" is neither XPath/);
    // XPath that does not compile: the same error, before the server starts fetching.
    writeFileSync(f, `data: ${join(dir, 'bad-data')}\nsites:\n  - {id: a, url: "http://127.0.0.1:1/",\n     dynamic: ["#news", "//div[@class='date'"]}\n`);
    const x = sh(`'${process.env.YINGJI_BIN || new URL('../../build/yingji', import.meta.url).pathname}' --config '${f}' serve --listen 127.0.0.1:0`);
    assert.equal(x.code, 2);
    assert.match(x.stderr, /bad\.yaml:4:\d+: "\/\/div\[@class='date'" is neither XPath that compiles/);
    assert.doesNotMatch(x.stderr, /XPath error/); // libxml2's own message is not printed besides
  });
});
