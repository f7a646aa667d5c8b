// `yingji webguard check`: pages served by this test on loopback — clean, tampered against a saved
// baseline, carrying hidden links of every trick, an injected script, prohibited words written with
// full-width letters and spaces between the characters.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { yjAsync as yj, tempDir, cleanup } from './helpers.mjs';

const BASE = `<!doctype html><html><head><meta charset="utf-8"><title>重庆医科大学</title></head><body>
<h1>欢迎访问重庆医科大学</h1><p>学校新闻：开学典礼隆重举行</p><a href="/news/1.html">本站新闻</a>
<a href="https://www.moe.gov.cn/">教育部</a><script src="/js/site.js"></script></body></html>`;

const pages = {
  '/clean': BASE,
  '/tampered': BASE.replace('开学典礼隆重举行', '本站已被黑客攻破'),
  '/hidden': BASE.replace('</body>', `
<style>.seo{display:none}</style>
<div style="position:absolute; left:-9999px"><a href="http://a.example.com/">a</a></div>
<a class="seo" href="https://b.example.org/">b</a>
<p style="visibility:hidden"><a href="http://c.example.net">c</a></p>
<span style="font-size:0px"><a href="http://d.example.biz">d</a></span>
<marquee height="1" width="1"><a href="http://e.example.cn">e</a></marquee>
<span style="color:#fff;background-color:#fff"><a href="http://f.example.com">f</a></span>
<script>document.write('<a href="http://g.example.com/">g</a>')</script>
<iframe src="http://h.example.com/" width="0" height="0"></iframe>
</body>`),
  '/injected': BASE.replace('</body>', '<script src="https://evil.example.com/miner.js"></script></body>'),
  '/words': BASE.replace('</body>', '<p>ＢＥＴ３６５ 官方，澳 门 博 彩 真人娱乐，代·开·发·票</p></body>'),
  '/traditional': BASE.replace('</body>', '<p>澳門線上賭場，代開發票</p></body>'),
};

describe('yingji webguard check', () => {
  let srv, base, dir;
  before(async () => {
    dir = tempDir();
    writeFileSync(join(dir, 'baseline.html'), BASE);
    srv = http.createServer((req, res) => {
      const body = pages[req.url];
      res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(body || 'no');
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${srv.address().port}`;
  });
  after(() => { srv.close(); cleanup(dir); });

  const check = (path, ...more) => yj(['webguard', 'check', base + path, '--json', ...more]);

  test('a clean page and its own baseline: nothing found, exit 0, the promised shape', async () => {
    const r = await check('/clean', '--baseline', join(dir, 'baseline.html'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { url: `${base}/clean`, findings: [] });
  });

  test('tamper: the changed text against the baseline, with a readable diff', async () => {
    const r = await check('/tampered', '--baseline', join(dir, 'baseline.html'));
    assert.equal(r.code, 1);
    const t = r.json.findings.filter((f) => f.kind === 'tamper');
    assert.equal(t.length, 1);
    assert.equal(t[0].category, '网页篡改');
    assert.match(t[0].evidence, /- 学校新闻：开学典礼隆重举行\n\+ 学校新闻：本站已被黑客攻破/);
    for (const f of r.json.findings) assert.deepEqual(Object.keys(f).sort(), ['category', 'detail', 'evidence', 'kind']);
  });

  test('--dynamic leaves a region out of the comparison, as a site\'s dynamic: does; a bad one is refused', async () => {
    const r = await check('/tampered', '--baseline', join(dir, 'baseline.html'), '--dynamic', '//p[1]');
    assert.equal(r.code, 0, JSON.stringify(r.json));
    assert.deepEqual(r.json.findings, []);
    // The region is left out of the comparison only: a hidden link in it is still found.
    const h = await check('/hidden', '--baseline', join(dir, 'baseline.html'), '--dynamic', 'body');
    assert.ok(h.json.findings.some((f) => f.kind === 'hidden_link'));
    assert.ok(!h.json.findings.some((f) => f.kind === 'tamper'));
    const bad = await yj(['webguard', 'check', base + '/clean', '--dynamic', '//p[']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--dynamic "\/\/p\[" is neither XPath that compiles/);
  });

  test('暗链: every hiding trick is found; the visible outside link is not', async () => {
    const r = await check('/hidden');
    assert.equal(r.code, 1);
    const hidden = r.json.findings.filter((f) => f.kind === 'hidden_link');
    const hosts = hidden.map((f) => (f.detail.match(/[a-g]\.example\.[a-z]+/) || [''])[0]).sort();
    assert.deepEqual(hosts, ['a.example.com', 'b.example.org', 'c.example.net', 'd.example.biz', 'e.example.cn',
      'f.example.com', 'g.example.com']);
    assert.ok(hidden.every((f) => f.category === '暗链植入'));
    assert.ok(!r.json.findings.some((f) => /moe\.gov\.cn/.test(f.detail)));
    // Each says how it was hidden, in the operator's language where it is not CSS itself.
    const how = (host) => hidden.find((f) => f.detail.includes(host)).detail;
    assert.match(how('a.example.com'), /（移出屏幕之外）/);
    assert.match(how('b.example.org'), /（页面样式隐藏的 class）/);
    assert.match(how('c.example.net'), /（visibility:hidden）/);
    assert.match(how('e.example.cn'), /（过小或滚动过快的 marquee）/);
    assert.match(how('f.example.com'), /（与背景同色）/);
    // A frame of zero size by its attributes is a hidden frame even without a baseline.
    const frame = r.json.findings.filter((f) => f.kind === 'injected_script');
    assert.equal(frame.length, 1, JSON.stringify(frame));
    assert.match(frame[0].detail, /隐藏的框架加载外部页面 http:\/\/h\.example\.com\/（零尺寸的框架）/);
  });

  test('a script that was not in the baseline is injected', async () => {
    const r = await check('/injected', '--baseline', join(dir, 'baseline.html'));
    assert.equal(r.code, 1);
    const inj = r.json.findings.filter((f) => f.kind === 'injected_script');
    assert.equal(inj.length, 1);
    assert.match(inj[0].detail, /evil\.example\.com\/miner\.js/);
  });

  test('prohibited words through full-width letters and spacing tricks, by category; own lists too', async () => {
    const r = await check('/words');
    assert.equal(r.code, 1);
    const by = Object.fromEntries(r.json.findings.filter((f) => f.kind === 'prohibited').map((f) => [f.detail, f.category]));
    assert.equal(by['页面含有“bet365”（赌博）'], '赌博');
    assert.equal(by['页面含有“博彩”（赌博）'], '赌博');
    assert.equal(by['页面含有“代开发票”（商业广告）'], '商业广告');
    const own = join(dir, 'words');
    (await import('node:fs')).mkdirSync(own);
    writeFileSync(join(own, 'local.txt'), '# category: 本校敏感词\n开学典礼\n');
    const mine = await check('/clean', '--words', own);
    assert.equal(mine.code, 1);
    assert.deepEqual(mine.json.findings.map((f) => f.category), ['本校敏感词']);
  });

  test('traditional characters match the simplified word lists (OpenCC t2s), and a traditional word the page', async () => {
    const r = await check('/traditional');
    assert.equal(r.code, 1);
    const found = r.json.findings.filter((f) => f.kind === 'prohibited').map((f) => f.detail);
    assert.ok(found.includes('页面含有“赌场”（赌博）'), found.join());
    assert.ok(found.includes('页面含有“代开发票”（商业广告）'), found.join());
    const own = join(dir, 'trad-words');
    (await import('node:fs')).mkdirSync(own);
    writeFileSync(join(own, 'local.txt'), '# category: 本校敏感词\n開學典禮\n'); // written in 繁體
    const mine = await check('/clean', '--words', own); // the clean page says 开学典礼
    assert.deepEqual(mine.json.findings.map((f) => f.category), ['本校敏感词']);
  });

  test('an unreachable page or a bad command exits 2', async () => {
    assert.equal((await check('/missing')).code, 2);
    assert.equal((await yj(['webguard', 'check'])).code, 2);
    assert.equal((await yj(['webguard', 'check', 'ftp://x'])).code, 2);
  });
});
