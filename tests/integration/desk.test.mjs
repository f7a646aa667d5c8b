// The desk as an office meets it (issue 15): the links messages carry open the console, and a
// message without them says how to get them.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { tempDir, cleanup, until } from './helpers.mjs';
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
      assert.match(text, /public_url/);
      assert.match(text, /登录应急响应平台确认/);
    } finally {
      await srv.stop();
      await hook.close();
    }
  });
});
