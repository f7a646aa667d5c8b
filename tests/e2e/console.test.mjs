// The console in a real browser: Debian's Chromium driven by playwright-core against the real
// `yingji serve`. An informant reports from a phone-size page; the duty desk's dashboard shows it
// live; the incident is acknowledged, assessed, the plan activated, the playbook done and the
// incident closed — all through the pages. An officer of another unit cannot see it, and a title
// with <script> in it shows as text. With YJ_SCREENSHOTS=DIR the main pages are saved there
// (`make screenshots` writes docs/screenshots/).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { SRC, tempDir, cleanup, until } from '../integration/helpers.mjs';
import { receiver } from '../integration/receivers.mjs';
import { startServer, Client } from '../integration/server.mjs';

const require = createRequire(join(SRC, 'web/package.json'));
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.YJ_SCREENSHOTS;
const PW = 'correct horse battery staple';
const TITLE = '<script>window.__xss = 1</script>微博出现涉及我校的不实信息，转发量快速上升，需要尽快研判并统一口径回应';

const skip = existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (apt-get install chromium)`;

describe('web console', { skip }, () => {
  let srv, browser, admin;
  const errors = [];

  before(async () => {
    const { chromium } = require('playwright-core');
    srv = await startServer();
    admin = new Client(srv.url);
    await admin.login('admin', srv.adminPassword);
    for (const [name, role, unit, person] of [['duty1', 'duty', null], ['pr_officer', 'officer', 'publicity'],
      ['it_officer', 'officer', 'it_office'], ['leader1', 'leader', null, 'vp_it']]) {
      const r = await admin.post('/api/v1/users', { name, role, password: PW, ...(unit ? { unit } : {}), ...(person ? { person } : {}) });
      assert.equal(r.status, 201, r.text);
    }
    // A Chinese user's browser (its interface language; a date field's placeholder still follows
    // the machine's locale, mm/dd/yyyy here).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--lang=zh-CN'] });
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      // A desk with some history for the pictures.
      for (const [type, title, asset] of [['website_tamper', '学校官网首页被篡改，出现不明链接', 'main_site'],
        ['intrusion', '数据中心服务器出现异常登录，疑似口令暴力破解', null], ['power_outage', '校机房 2 号配电柜跳闸，UPS 供电中', 'machine_room'],
        ['public_opinion', '微博出现涉及我校招生工作的讨论', null]]) {
        const r = await admin.post('/api/v1/incidents', { type, title, ...(asset ? { asset } : {}) });
        assert.equal(r.status, 201, r.text);
      }
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
  });

  async function open(user, password, viewport = { width: 1366, height: 768 }, ready = '#nav a') {
    const ctx = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${user}: ${e}`));
    page.on('dialog', (d) => d.accept('测试理由'));
    await page.goto(srv.url + '/');
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForSelector(ready);
    return page;
  }

  async function shot(page, name, fullPage = false) {
    if (!SHOTS) return;
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
  }

  test('report from a phone, see it live on the dashboard, handle it to the end', async () => {
    // The login page itself, and a wrong password shows the server's reason.
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const anon = await ctx.newPage();
    await anon.goto(srv.url + '/');
    await anon.fill('input[name=username]', 'admin');
    await anon.fill('input[name=password]', 'wrong');
    await anon.click('button[type=submit]');
    await anon.waitForSelector('.error');
    // In the console's language alone, whatever the browser's (this one's is English).
    assert.equal((await anon.textContent('.error')).trim(), '用户名或密码错误');
    await anon.fill('input[name=password]', '');
    await shot(anon, 'login');
    await anon.setViewportSize({ width: 390, height: 844 });
    await shot(anon, 'login-phone');
    await anon.setViewportSize({ width: 1366, height: 768 });
    // The keyboard alone: the user name has focus, Tab to the password, Enter; then Tab to a link
    // of the navigation and Enter.
    await anon.fill('input[name=username]', '');
    await anon.focus('input[name=username]');
    await anon.keyboard.type('admin');
    await anon.keyboard.press('Tab');
    await anon.keyboard.type(srv.adminPassword);
    await anon.keyboard.press('Enter');
    await anon.waitForSelector('#nav a');
    // The page moves focus to its content once it has loaded: wait for that before tabbing on.
    await anon.waitForSelector('#n-open');
    await anon.waitForFunction(() => document.activeElement && document.activeElement.id === 'app');
    await anon.focus('#nav a[href="/incidents"]');
    await anon.keyboard.press('Enter');
    await anon.waitForFunction(() => location.pathname === '/incidents');
    await ctx.close();

    const desk = await open('duty1', PW);
    await desk.waitForSelector('#n-open');
    const before = Number(await desk.textContent('#n-open'));

    const phone = await open('pr_officer', PW, { width: 390, height: 844 });
    await phone.goto(srv.url + '/report');
    await phone.waitForSelector('.report-form');
    await phone.selectOption('select[name=type]', 'public_opinion');
    await phone.fill('input[name=title]', TITLE);
    await phone.fill('textarea[name=source]', '微博热搜，截图已保存');
    await phone.fill('textarea[name=scope]', '校外，转发 300 余次');
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    await phone.setInputFiles('input[name=screenshot]', { name: '微博截图.png', mimeType: 'image/png', buffer: png });
    await shot(phone, 'report-phone');
    // Nothing overflows the phone's width.
    assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= 390 + 1));
    await phone.click('.report-form button[type=submit]');
    await phone.waitForSelector('#reported-number');
    const number = (await phone.textContent('#reported-number')).trim();
    await phone.waitForSelector('#attached');
    assert.match(await phone.textContent('#attached'), /微博截图\.png/);
    assert.match(number, /^YJ-\d{4}-\d{4}$/);

    // The dashboard changed without a reload.
    await desk.waitForFunction((n) => document.querySelector('#n-open') && document.querySelector('#n-open').textContent === String(n), before + 1);
    assert.ok(await desk.isVisible(`#latest a[href="/incidents/${number}"]`));
    // A signal arrives: the latest-signals panel shows it within its 5-second refresh.
    const sig = await admin.post('/api/v1/signals', { signals: [{ source: 'syslog',
      message: 'Nov 22 10:00:00 web-1 sshd[42]: Failed password for root from 203.0.113.77 port 22 ssh2' }] });
    assert.equal(sig.status, 202);
    await desk.waitForFunction(() => /203\.0\.113\.77/.test(document.querySelector('#signals') ? document.querySelector('#signals').textContent : ''), null, { timeout: 8000 });
    await desk.waitForTimeout(500); // the trend chart
    await shot(desk, 'dashboard');

    // The list, filtered through the URL.
    await desk.goto(`${srv.url}/incidents?status=reported&text=${encodeURIComponent('不实信息')}`);
    await desk.waitForSelector('#incident-table');
    assert.equal(await desk.locator('#incident-table tbody tr').count(), 1);
    assert.equal(await desk.inputValue('select[name=status]'), 'reported');
    await shot(desk, 'incidents');

    // The detail: the title is text, no script ran.
    await desk.click(`#incident-table a[href="/incidents/${number}"] >> nth=0`);
    await desk.waitForSelector('#incident-title');
    assert.equal(await desk.textContent('#incident-title'), TITLE);
    assert.equal(await desk.evaluate(() => window.__xss), undefined);
    assert.equal(await desk.locator('#incident-title script').count(), 0);
    // The informant's screenshot is there, and it loads (same origin, allowed by the CSP).
    await desk.waitForSelector('#attachments img');
    assert.ok(await desk.evaluate(() => { const i = document.querySelector('#attachments img'); return i.complete && i.naturalWidth === 1; }));

    // The duty officer acknowledges (接报确认); assessing and what follows are the emergency team's
    // and the leading group's (the console offers the duty officer no move at all).
    await desk.click('#ack');
    await desk.waitForSelector('#ack', { state: 'detached' });
    assert.equal(await desk.locator('form.move').count(), 0);
    assert.equal(await desk.locator('form#activation').count(), 0);
    const lead = await open('leader1', PW);
    await lead.goto(`${srv.url}/incidents/${number}`);
    await lead.waitForSelector('#incident-title');
    await lead.click('form.move-assessing button[type=submit]');
    await lead.waitForSelector('form.move-responding', { state: 'attached' });
    await lead.click('details.move-box summary');
    for (const [k, v] of [['source', '微博'], ['scope', '校外'], ['nature', '不实信息'], ['trend', '转发上升'], ['measures', '联系平台核实']]) {
      await lead.fill(`form.move-responding textarea[name=${k}]`, v);
    }
    await lead.selectOption('form.move-responding select[name=level]', 'opinion_major');
    await lead.click('form.move-responding button[type=submit]');
    await lead.waitForSelector('.toast.error');
    assert.match(await lead.textContent('.toast'), /须先记录领导小组启动预案的决定/);
    assert.doesNotMatch(await lead.textContent('.toast'), /[A-Za-z]{3,}/);

    // The leading group's decision (启动预案), recorded by the leader as themself.
    assert.match(await lead.textContent('#decider'), /决策人：.+（本人）/);
    assert.equal(await lead.locator('#activation select[name=by]').count(), 0);
    await lead.fill('#activation input[name=reason]', '媒体介入，可能引发炒作');
    await lead.click('#activation button[type=submit]');
    await lead.waitForSelector('p#activation');
    assert.match(await lead.textContent('p#activation'), /媒体介入/);
    await lead.click('details.move-box summary');
    await lead.selectOption('form.move-responding select[name=level]', 'opinion_major');
    await lead.click('form.move-responding button[type=submit]');
    await lead.waitForSelector('.status-responding');
    await shot(desk, 'incident', true);

    // The playbook: check off every task as it comes, then on to closed.
    async function finishTasks() {
      for (let guard = 0; guard < 20; guard++) {
        // A gated step (an automated action) is decided first: approved, then done.
        const approve = lead.locator('#tasks button:has-text("批准")');
        if (await approve.count()) {
          await approve.first().click();
          await lead.waitForTimeout(250);
          continue;
        }
        const done = lead.locator('#tasks button[data-task]');
        if (await done.count() === 0) return;
        await done.first().click();
        await lead.waitForTimeout(250);
      }
    }
    await finishTasks();
    for (const to of ['recovering', 'reviewing']) {
      await lead.click(`form.move-${to} button[type=submit]`);
      await lead.waitForSelector(`.status-${to}`);
      await finishTasks();
    }
    // The owed upward report: the leading group waives it (the dialog gives the reason).
    if (await lead.locator('[data-waive="upward_report"]').count()) {
      await lead.click('[data-waive="upward_report"]');
      await lead.waitForSelector('[data-waive="upward_report"]', { state: 'detached' });
      assert.match(await lead.textContent('#deadlines'), /已豁免/);
    }
    await lead.click('details.move-box summary');
    await lead.fill('form.move-closed textarea[name=cause]', '个别账号转发不实信息');
    await lead.fill('form.move-closed textarea[name=loss]', '无');
    await lead.fill('form.move-closed textarea[name=lessons]', '加强舆情监测');
    await lead.click('form.move-closed button[type=submit]');
    await lead.waitForSelector('.status-closed');
    // Nothing counts down on a closed incident.
    assert.doesNotMatch(await lead.textContent('#deadlines'), /剩余|已超时 \d/);
    const final = (await admin.get(`/api/v1/incidents/${number}`)).json;
    assert.equal(final.status, 'closed');
    assert.equal(final.activated_by, 'vp_it');
    assert.equal(final.level, 'opinion_major');
    const timeline = final.timeline.map((e) => e.kind);
    for (const k of ['reported', 'acknowledged', 'activation', 'status', 'task']) assert.ok(timeline.includes(k), k);

    // The Chinese incident page, timeline included, reads in words: no id of the plan and no
    // English status word or actor reaches it.
    await lead.reload();
    await lead.waitForSelector('#timeline li');
    const plan = (await admin.get('/api/v1/plan')).json;
    const ids = new Set();
    for (const list of ['units', 'types', 'people', 'levels', 'groups', 'roles', 'classes', 'escalation']) {
      for (const x of plan[list] || []) ids.add(x.id);
    }
    const text = await lead.evaluate(() => document.getElementById('app').innerText);
    const word = (w) => new RegExp(`(?<![A-Za-z0-9_])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`);
    const leaked = [...ids].filter((id) => word(id).test(text));
    assert.deepEqual(leaked, [], `plan ids on the incident page: ${leaked.join(', ')}`);
    const english = ['reported', 'assessing', 'responding', 'recovering', 'reviewing', 'closed', 'dismissed', 'pending',
      'sent', 'failed', 'todo', 'doing', 'done', 'skipped', 'clock', 'outbox', 'user:', 'person:', 'status', 'task',
      'approval', 'activation', 'escalation', 'overdue', 'acknowledged', 'upward_report', 'block_ip'].filter((w) => word(w).test(text));
    assert.deepEqual(english, [], `English words on the incident page: ${english.join(', ')}`);
    // Nothing is sent without a channel, and the page says so.
    assert.match(await lead.textContent('#no-channel'), /未配置通知通道/);

    // An officer of another unit: not in the list, and the page says it is not found.
    const other = await open('it_officer', PW);
    await other.goto(`${srv.url}/incidents`);
    await other.waitForSelector('main .panel');
    assert.equal(await other.locator(`a[href="/incidents/${number}"]`).count(), 0);
    await other.goto(`${srv.url}/incidents/${number}`);
    await other.waitForSelector('main .error');
    assert.match(await other.textContent('main .error'), /not found|未找到|no incident/i);

    // The other pages render (and give the screenshots).
    for (const [path, sel, name] of [['/plan', '.table', 'plan'], ['/duty', '#duty', 'duty'], ['/audit', '#audit', 'audit'],
      ['/report', '.report-form', 'report'], ['/password', 'input[autocomplete=new-password]', 'password']]) {
      const page = path === '/audit' ? await open('admin', srv.adminPassword) : desk;
      await page.goto(srv.url + path);
      await page.waitForSelector(sel);
      await shot(page, name);
      if (path === '/audit') assert.match(await page.textContent('#audit-verify'), /审计链完整/);
      if (path === '/duty') {
        // The coming two weeks, a row a day, each with who is on duty (a name of the plan).
        await page.waitForSelector('#duty-calendar tbody tr');
        assert.equal(await page.locator('#duty-calendar tbody tr').count(), 14);
        assert.match(await page.textContent('#duty-calendar tbody tr >> nth=0'), /\d\d-\d\d 周[日一二三四五六]/);
        const onDuty = await page.locator('#duty-calendar tbody tr td:nth-child(2)').allTextContents();
        assert.ok(onDuty.every((x) => x && x !== '—'), onDuty.join(' '));
        assert.ok(new Set(onDuty).size > 1, 'the daily rotation moves on');
        assert.doesNotMatch(onDuty.join(' '), /it_staff|publicity_staff/);
      }
    }
    // Every page at phone size: nothing runs off the side (and a picture of each).
    const small = await open('admin', srv.adminPassword, { width: 390, height: 844 });
    const inForce = (await admin.get('/api/v1/plan')).json;
    const planIds = ['units', 'people', 'types', 'levels', 'assets', 'groups', 'classes']
      .flatMap((k) => inForce[k].map((x) => x.id)).concat(inForce.roster.rotations.map((r) => r.id));
    for (const [path, sel, name] of [['/', '#n-open', 'dashboard'], ['/incidents', '#incident-table', 'incidents'],
      ['/plan', '.table', 'plan'], ['/duty', '#duty-calendar', 'duty'], ['/users', '#users', 'users'], ['/audit', '#audit', 'audit'],
      ['/report', '.report-form', 'report'], ['/password', 'input[autocomplete=new-password]', 'password'],
      ['/directory', '#people', 'directory'], ['/channels', '#new-channel', 'channels'], ['/monitors', 'main .page-head', 'monitors']]) {
      await small.goto(srv.url + path);
      await small.waitForSelector(sel);
      await small.waitForTimeout(200);
      const wide = await small.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 391, `${path} is ${wide} px wide at 390`);
      // No id of the plan reaches a Chinese page (names are shown instead).
      const text = await small.textContent('main');
      const leaked = planIds.filter((id) => new RegExp(`(^|[^A-Za-z0-9_])${id}([^A-Za-z0-9_]|$)`).test(text));
      assert.deepEqual(leaked, [], `${path} shows plan ids: ${leaked.join(', ')}`);
      if (name !== 'incidents' && name !== 'report') await shot(small, `${name}-phone`);
    }
    await small.context().close();
    // Admin: a token for a log shipper, shown once; an account disabled.
    const adm = await open('admin', srv.adminPassword);
    await adm.goto(srv.url + '/users');
    await adm.waitForSelector('#new-token');
    await adm.fill('#new-token input[name=name]', 'syslog-shipper');
    await adm.click('#new-token button[type=submit]');
    await adm.waitForSelector('#secret code');
    const secret = (await adm.textContent('#secret code')).trim();
    const asToken = new Client(srv.url, { token: secret });
    assert.equal((await asToken.post('/api/v1/signals', { signals: [{ source: 'x', message: 'hello' }] })).status, 202);
    // The accounts under a head row, with names instead of ids, scopes in Chinese.
    await adm.reload();
    await adm.waitForSelector('#tokens');
    const heads = await adm.locator('#users thead th').allTextContents();
    assert.deepEqual(heads, ['用户名', '角色', '责任单位', '预案人员', '状态', '操作']);
    assert.match(await adm.textContent('#users tr:has-text("pr_officer")'), /宣传部/);
    assert.doesNotMatch(await adm.textContent('#users tr:has-text("pr_officer")'), /publicity/);
    assert.match(await adm.textContent('#tokens tr:has-text("syslog-shipper")'), /发送信号/);
    // Inputs of a normal height (they were 190 px).
    const box = await adm.locator('#new-user input[name=name]').boundingBox();
    assert.ok(box.height < 60, `input height ${box.height}`);
    // Disable an account: a button that says what it does, and a status that says what it is.
    await adm.click('#users tr:has-text("it_officer") button[data-toggle]');
    await adm.waitForSelector('#users tr:has-text("it_officer") >> text=已停用');
    assert.equal(await adm.textContent('#users tr:has-text("it_officer") button[data-toggle]'), '启用账号');
    // Edit: the duty officer becomes a responder linked to a person of the plan.
    await adm.click('#users tr:has-text("duty1") button[data-edit]');
    const editRow = adm.locator('#users tr.edit-row:not([hidden])');
    await editRow.locator('select[name=role]').selectOption('responder');
    await editRow.locator('select[name=person]').selectOption('it_staff');
    await editRow.locator('button[type=submit]').click();
    await adm.waitForSelector('#users tr:has-text("duty1") >> text=应急救援');
    const duty1 = (await admin.get('/api/v1/users')).json.items.find((u) => u.name === 'duty1');
    assert.equal(duty1.role, 'responder');
    assert.equal(duty1.person, 'it_staff');
    // A forgotten password: a one-time one, shown once, that logs in to the password change only.
    await shot(adm, 'users');
    assert.equal((await admin.req('PATCH', `/api/v1/users/${duty1.id}`, { role: 'duty', person: null })).status, 200);
    // A leader changes the password through the page, is logged out, and logs in with the new one.
    const pwLead = await open('leader1', PW);
    await pwLead.goto(srv.url + '/password');
    await pwLead.waitForSelector('input[autocomplete=current-password]');
    await pwLead.fill('input[autocomplete=current-password]', PW);
    await pwLead.fill('input[autocomplete=new-password]', 'a much longer new passphrase');
    await pwLead.click('main button[type=submit]');
    await pwLead.waitForSelector('input[name=username]');
    await pwLead.fill('input[name=username]', 'leader1');
    await pwLead.fill('input[name=password]', 'a much longer new passphrase');
    await pwLead.click('button[type=submit]');
    await pwLead.waitForSelector('#nav a');
    // An account an administrator set up with a one-time password: the console offers the password
    // change and nothing else until it is done.
    assert.equal((await admin.post('/api/v1/users', { name: 'newbie', role: 'duty', password: PW,
      must_change_password: true })).status, 201);
    const nb = await open('newbie', PW, undefined, '.hint-box');
    assert.match(await nb.textContent('.hint-box'), /须先设置您自己的密码/);
    assert.equal(await nb.locator('#nav a').count(), 0);
    await nb.fill('input[autocomplete=current-password]', PW);
    await nb.fill('input[autocomplete=new-password]', 'my own passphrase now');
    await nb.click('main button[type=submit]');
    await nb.waitForSelector('input[name=username]');
    await nb.fill('input[name=username]', 'newbie');
    await nb.fill('input[name=password]', 'my own passphrase now');
    await nb.click('button[type=submit]');
    await nb.waitForSelector('#nav a');
    // The newbie forgets it: the administrator gives a one-time password, shown once.
    await adm.reload();
    await adm.waitForSelector('#users tr:has-text("newbie") button[data-reset]');
    await adm.click('#users tr:has-text("newbie") button[data-reset]');
    await adm.waitForSelector('#secret code');
    const oneTime = (await adm.textContent('#secret code')).trim();
    assert.match(oneTime, /^[A-Za-z2-9]{16}$/);
    const again = new Client(srv.url);
    const relog = await again.login('newbie', oneTime);
    assert.equal(relog.status, 200);
    assert.equal(relog.json.user.must_change_password, true);
    assert.equal((await again.login('newbie', 'my own passphrase now')).status, 401);
    // English on request, Chinese again after.
    await adm.click('#who button:has-text("English")');
    await adm.waitForSelector('#nav a:has-text("Incidents")');
    // The navigation changes at once; the page follows when its data are in.
    await adm.waitForSelector('#users >> text=disabled');
    assert.match(await adm.textContent('#users'), /disabled/);
    assert.doesNotMatch(await adm.textContent('#users'), /已停用/);
    await adm.click('#who button:has-text("中文")');
    await adm.waitForSelector('#nav a:has-text("事件")');
    assert.deepEqual(errors, []);
  });

  test("the link in a webhook's message opens the incident after login; back and forward work", async () => {
    const dir = tempDir('yj-e2e-link-');
    const hook = await receiver('webhook', 'hook-secret');
    process.env.YJ_TEST_HOOK = 'hook-secret';
    const port = await new Promise((res) => {
      const l = net.createServer().listen(0, '127.0.0.1', () => { const p = l.address().port; l.close(() => res(p)); });
    });
    const cfg = join(dir, 'yingji.yaml');
    writeFileSync(cfg, `public_url: "http://127.0.0.1:${port}"\nchannels:\n`
      + `  - {id: hook, type: webhook, url: "${hook.url}", secret_env: YJ_TEST_HOOK, timeout: 2s}\n`);
    const lsrv = await startServer({ args: ['--config', cfg, '--listen', `127.0.0.1:${port}`] });
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    try {
      const ops = new Client(lsrv.url);
      await ops.login('admin', lsrv.adminPassword);
      const made = await ops.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改，出现博彩链接' });
      assert.equal(made.status, 201, made.text);
      const news = await until('the news reaches the webhook', () => hook.got.find((g) => /新事件/.test(g.body.subject)));
      const link = news.body.body.match(/https?:\/\/\S+/)[0];
      assert.equal(link, `http://127.0.0.1:${port}/incidents/${made.json.number}`);
      // The leader taps the link on a phone: the login form, then that incident.
      const page = await ctx.newPage();
      page.on('pageerror', (e) => errors.push(`link: ${e}`));
      await page.goto(link);
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', lsrv.adminPassword);
      await page.click('button[type=submit]');
      await page.waitForSelector('#incident-title');
      assert.equal(await page.textContent('#incident-title'), '官网首页被篡改，出现博彩链接');
      assert.equal(new URL(page.url()).pathname, `/incidents/${made.json.number}`);
      // In-page navigation keeps real URLs, and the browser's back and forward buttons follow them.
      await page.goto(`http://127.0.0.1:${port}/incidents`);
      await page.waitForSelector('#incident-table');
      await page.click(`#incident-table a[href="/incidents/${made.json.number}"] >> nth=0`);
      await page.waitForSelector('#incident-title');
      await page.goBack();
      await page.waitForSelector('#incident-table');
      assert.equal(new URL(page.url()).pathname, '/incidents');
      await page.goForward();
      await page.waitForSelector('#incident-title');
      // 确认接报 from the message, on a phone, without logging in: the person's own link.
      const second = await ops.post('/api/v1/incidents', { type: 'intrusion', title: '教务系统异常登录（一键确认）' });
      const msg = await until('the second message', () => hook.got.find((g) => (g.body.body || '').includes(second.json.number)
        && /一键确认接报/.test(g.body.body)));
      const ackLink = msg.body.body.match(/一键确认接报[^：]*：(\S+)/)[1];
      const anon = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
      const ap = await anon.newPage();
      ap.on('pageerror', (e) => errors.push(`ack: ${e}`));
      await ap.goto(ackLink);
      await ap.waitForSelector('#ack-link');
      assert.equal(await ap.textContent('#ack-title'), '教务系统异常登录（一键确认）');
      await shot(ap, 'ack-phone');
      await ap.setViewportSize({ width: 1280, height: 800 });
      await shot(ap, 'ack');
      await ap.setViewportSize({ width: 390, height: 844 });
      assert.equal((await ops.get(`/api/v1/incidents/${second.json.number}`)).json.acknowledged_at, null, 'opening it acknowledges nothing');
      await ap.click('#ack-link');
      await ap.waitForSelector('#ack-done');
      assert.match(await ap.textContent('#ack-done'), new RegExp(`已确认接报：${second.json.number}`));
      assert.ok((await ops.get(`/api/v1/incidents/${second.json.number}`)).json.acknowledged_at);
      await anon.close();
      // A link of the old hash-routed console (in a bookmark or an old message) still opens the page.
      await page.goto(`http://127.0.0.1:${port}/#/incidents/${made.json.number}`);
      await page.waitForSelector('#incident-title');
      assert.equal(new URL(page.url()).pathname, `/incidents/${made.json.number}`);
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
      await lsrv.stop();
      await hook.close();
      cleanup(dir);
    }
  });

  test('alerts, once turned on, ring and show a desktop notification for a new incident; the choice is kept', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await ctx.grantPermissions(['notifications'], { origin: srv.url });
    // Watch what the page hands the browser: each Notification made, each tone started.
    await ctx.addInitScript(() => {
      window.__notes = [];
      window.__tones = 0;
      const N = window.Notification;
      if (N) {
        window.Notification = class extends N {
          constructor(title, opts) { super(title, opts); window.__notes.push({ title, body: opts && opts.body }); }
        };
      }
      const osc = AudioContext.prototype.createOscillator;
      AudioContext.prototype.createOscillator = function () { window.__tones++; return osc.call(this); };
    });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`alerts: ${e}`));
    await page.goto(srv.url + '/');
    await page.fill('input[name=username]', 'duty1');
    await page.fill('input[name=password]', PW);
    await page.click('button[type=submit]');
    await page.waitForSelector('#alerts');
    assert.equal(await page.textContent('#alerts'), '开启提醒');
    await page.click('#alerts');
    await page.waitForFunction(() => document.getElementById('alerts').textContent === '提醒已开启');
    const made = await admin.post('/api/v1/incidents', { type: 'intrusion', title: '教务系统出现异常登录' });
    assert.equal(made.status, 201);
    await page.waitForFunction(() => window.__notes.length > 0, null, { timeout: 8000 });
    const [note] = await page.evaluate(() => window.__notes);
    assert.equal(note.title, `新事件 ${made.json.number}`);
    assert.equal(note.body, '教务系统出现异常登录');
    assert.ok(await page.evaluate(() => window.__tones) > 0, 'a tone was played');
    // Remembered in this browser: after a reload the switch is still on.
    await page.reload();
    await page.waitForSelector('#alerts');
    assert.equal(await page.textContent('#alerts'), '提醒已开启');
    // The duty officer is no admin: no set-up banner for them.
    assert.equal(await page.locator('#no-channel').count(), 0);
    await ctx.close();
    // The admin sees what keeps the desk from reaching anyone.
    const adm = await open('admin', srv.adminPassword);
    await adm.waitForSelector('#n-open');
    assert.match(await adm.textContent('#no-channel'), /未配置通知通道/);
    assert.match(await adm.textContent('#no-public-url'), /public_url/);
    await adm.context().close();
    assert.deepEqual(errors, []);
  });

  test('on a phone: the deadline first, the duty officer finishes a task, the leader approves a step', async () => {
    const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '学校官网首页被篡改（手机处置）', asset: 'main_site' });
    assert.equal(made.status, 201, made.text);
    const { id, number } = made.json;
    const phoneSize = { width: 390, height: 844 };
    const duty = await open('duty1', PW, phoneSize);
    await duty.goto(`${srv.url}/incidents/${number}`);
    await duty.waitForSelector('#deadlines .countdown:not(.met)');
    // What is due comes first, above the tasks, and its countdown (接报确认, running) is on the
    // first screen.
    const running = duty.locator('#deadlines .countdown:not(.met)').first();
    const clock = await running.boundingBox();
    assert.ok(clock && clock.y + clock.height <= 844, `countdown on the first screen (y=${clock && clock.y})`);
    assert.match(await running.textContent(), /剩余 \d+ 分 \d+ 秒/);
    const tasksBox = await duty.locator('#tasks').boundingBox();
    assert.ok(clock.y < tasksBox.y, 'the deadlines before the tasks');
    await shot(duty, 'incident-phone');
    // Every cell of the tasks is shown (no column cut off), the buttons within the screen.
    const done = duty.locator('#tasks button[data-task]').first();
    assert.ok(await done.isVisible());
    const b = await done.boundingBox();
    assert.ok(b.x >= 0 && b.x + b.width <= 390, `the button within the screen: ${JSON.stringify(b)}`);
    assert.ok(await duty.locator('#tasks td:has-text("待办")').first().isVisible(), 'the task status is shown');
    assert.ok(await duty.evaluate(() => document.documentElement.scrollWidth <= 391), 'nothing overflows sideways');
    assert.ok(b.y + b.height <= 844, `the next action on the first screen too (y=${b.y})`);
    const first = Number(await done.getAttribute('data-task'));
    await done.click();
    await duty.waitForFunction((t) => !document.querySelector(`#tasks button[data-task="${t}"]`), first);
    const tasks = (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items;
    assert.equal(tasks.find((x) => x.id === first).status, 'done');
    await duty.context().close();

    // To 处置 (through the API), where a step that acts needs approval: the leader approves it
    // on a phone.
    await admin.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' });
    const resp = await admin.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: { source: '巡检', scope: '官网首页',
      nature: '网页篡改', trend: '稳定', measures: '切换维护页', level: 'important', activated_by: 'vp_it', activation_reason: '学校门户' }, on_behalf: '组长电话决定' });
    assert.equal(resp.status, 200, resp.text);
    assert.equal((await admin.post('/api/v1/users', { name: 'leader_phone', role: 'leader', password: PW })).status, 201);
    const lead = await open('leader_phone', PW, phoneSize);
    await lead.goto(`${srv.url}/incidents/${number}`);
    await lead.waitForSelector('#tasks button:has-text("批准")');
    const approve = lead.locator('#tasks button:has-text("批准")').first();
    const ab = await approve.boundingBox();
    assert.ok(ab.x + ab.width <= 390 && ab.height >= 40, `a button a thumb can press: ${JSON.stringify(ab)}`);
    const waiting = await lead.locator('#tasks button:has-text("批准")').count();
    await approve.click();
    await lead.waitForFunction((n) => document.querySelectorAll('#tasks tr').length
      && [...document.querySelectorAll('#tasks button')].filter((x) => x.textContent === '批准').length === n - 1, waiting);
    const decided = (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items
      .filter((x) => x.approval_decision && x.approval_decision.status === 'approved');
    assert.equal(decided.length, 1);
    // The list at phone size: each incident a card with its status, unit and time.
    await lead.goto(`${srv.url}/incidents`);
    await lead.waitForSelector('#incident-table');
    const card = lead.locator('#incident-table tbody tr').first();
    for (const label of ['状态', '责任单位', '上报时间']) assert.ok(await card.locator(`td[data-label="${label}"]`).isVisible(), label);
    assert.ok(await lead.evaluate(() => document.documentElement.scrollWidth <= 391));
    await shot(lead, 'incidents-phone');
    await lead.context().close();
    assert.deepEqual(errors, []);
  });

  test('指派: the incident given to the duty officer shows in 我的; the list exports as CSV with its filters', async () => {
    const made = (await admin.post('/api/v1/incidents', { type: 'server_fault', title: '邮件服务器宕机（指派测试）' })).json;
    const page = await open('admin', srv.adminPassword);
    await page.goto(`${srv.url}/incidents/${made.number}`);
    await page.waitForSelector('#assignee select');
    await page.selectOption('#assignee select', 'duty1');
    await page.waitForFunction(() => /指派负责人/.test(document.getElementById('timeline').textContent));
    assert.equal((await admin.get(`/api/v1/incidents/${made.id}`)).json.assignee, 'duty1');
    await page.context().close();
    const duty = await open('duty1', PW);
    await duty.goto(`${srv.url}/incidents`);
    await duty.waitForSelector('#incident-table');
    await duty.check('input[name=assignee]');
    await duty.click('form.filters button[type=submit]');
    await duty.waitForFunction(() => location.search.includes('assignee=me'));
    await duty.waitForSelector('#incident-table');
    const numbers = await duty.locator('#incident-table tbody tr td:first-child a').allTextContents();
    assert.deepEqual(numbers, [made.number]);
    const href = await duty.getAttribute('#export', 'href');
    assert.match(href, /^\/api\/v1\/incidents\.csv\?.*assignee=me/);
    const [download] = await Promise.all([duty.waitForEvent('download'), duty.click('#export')]);
    assert.match(download.suggestedFilename(), /^incidents-\d{4}-\d\d-\d\d\.csv$/);
    await duty.context().close();
    assert.deepEqual(errors, []);
  });

  test('a page whose data arrive late does not cover the page navigated to since', async () => {
    const page = await open('duty1', PW);
    await page.waitForSelector('#n-open');
    // The incidents list answers only after the user has moved on to the report form.
    let release;
    const held = new Promise((r) => { release = r; });
    let asked = 0;
    await page.route('**/api/v1/incidents?*', async (route) => {
      asked++;
      await held;
      await route.continue();
    });
    await page.click('#nav a[href="/incidents"]');
    for (let i = 0; i < 100 && !asked; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(asked > 0, 'the incidents page asked for its data');
    await page.click('#nav a[href="/report"]');
    await page.waitForSelector('input[name=title]');
    await page.fill('input[name=title]', '填写中');
    release();
    await page.waitForResponse('**/api/v1/incidents?*');
    await new Promise((r) => setTimeout(r, 300)); // the stale page's turn to mount, if it would
    assert.equal(await page.inputValue('input[name=title]'), '填写中');
    assert.equal(await page.$('#incident-table'), null);
    assert.match(await page.textContent('#app h1'), /上报/);
    await page.context().close();
    assert.deepEqual(errors, []);
  });

  test('an admin sets a channel and a phone number in the console; two duty officers swap a shift from their phones', async () => {
    const hook = await receiver('webhook', 'hook-secret');
    for (const [name, person] of [['alice', 'it_staff'], ['bob', 'publicity_staff']]) {
      const r = await admin.post('/api/v1/users', { name, role: 'duty', password: PW, person });
      assert.equal(r.status, 201, r.text);
    }
    const adm = await open('admin', srv.adminPassword, { width: 390, height: 844 });
    const alice = await open('alice', PW, { width: 390, height: 844 });
    const bob = await open('bob', PW, { width: 390, height: 844 });
    try {
      // 通知通道: a webhook channel made on the page carries the next message.
      await adm.goto(srv.url + '/channels');
      await adm.waitForSelector('#new-channel form');
      const form = adm.locator('#new-channel form');
      await form.locator('input[name=id]').fill('hook');
      await form.locator('select[name=type]').selectOption('webhook');
      await form.locator('input[name=url]').fill(hook.url);
      await form.locator('input[name=secret]').fill('hook-secret');
      await form.locator('button[type=submit]').click();
      await adm.waitForSelector('[data-channel=hook]');
      assert.match(await adm.textContent('[data-channel=hook]'), /Webhook.*控制台添加.*已设密钥/);
      assert.ok(!(await adm.textContent('main')).includes('hook-secret'), 'the secret is not shown');
      assert.equal(await adm.locator('#no-channel').count(), 0);
      await shot(adm, 'channels-phone');
      const made = await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '通道测试：官网首页被篡改' });
      assert.equal(made.status, 201);
      await until('the message reaches the webhook', () => hook.got.find((g) => /通道测试/.test(g.body.body)));

      // 通讯录: the plan has no phone numbers; the admin gives one, and the duty page shows it.
      await adm.goto(srv.url + '/directory');
      await adm.waitForSelector('#no-phones');
      await adm.click('[data-edit=it_staff]');
      const edit = adm.locator('tr.edit-row:not([hidden]) form');
      await edit.locator('input[name=mobile]').fill('13800138000');
      await edit.locator('button[type=submit]').click();
      await adm.waitForSelector('[data-person=it_staff] a[href="tel:13800138000"]');
      await shot(adm, 'directory-phone');
      const desk = await open('admin', srv.adminPassword, { width: 1280, height: 800 });
      await desk.goto(srv.url + '/directory');
      await desk.waitForSelector('#people');
      await shot(desk, 'directory');
      await desk.goto(srv.url + '/channels');
      await desk.waitForSelector('[data-channel=hook]');
      await shot(desk, 'channels');
      await desk.context().close();

      // 换班: alice asks bob to take her next shift, bob accepts on his phone, and the calendar shows it.
      await alice.goto(srv.url + '/duty');
      await alice.waitForSelector('#swap-form');
      assert.equal(await alice.locator('#swap-form select[name=with] option[value=publicity_staff]').count(), 1);
      const wanted = (await alice.locator('#swap-form select[name=shift] option >> nth=0').textContent()).slice(0, 5);
      await alice.locator('#swap-form select[name=with]').selectOption('publicity_staff');
      await alice.locator('#swap-form input[name=reason]').fill('出差');
      await alice.click('#swap-form button[type=submit]');
      await alice.waitForSelector('#swap-list [data-swap]');
      assert.match(await alice.textContent('#swap-list'), /信息办相关工作人员 → 宣传部相关工作人员.*出差.*待对方答复/);
      await alice.waitForSelector('#swap-list [data-withdraw]');
      assert.equal(await alice.locator('#swap-list [data-accept]').count(), 0, 'the one who asks does not answer');
      await bob.goto(srv.url + '/duty');
      await bob.waitForSelector('#swap-list [data-accept]');
      await shot(bob, 'duty-swap-phone');
      await bob.click('#swap-list [data-accept]');
      await bob.waitForSelector('#swap-list .badge.ok');
      assert.match(await bob.textContent('#swap-list'), /已同意/);
      const row = bob.locator('#duty-calendar tbody tr', { hasText: wanted });
      assert.match(await row.textContent(), /宣传部相关工作人员（调班）/);
      const wide = await bob.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 391, `the duty page is ${wide} px wide at 390`);
      // No id of the plan and no English status on these pages.
      for (const page of [adm, bob]) {
        const text = await page.textContent('main');
        assert.doesNotMatch(text, /it_staff|publicity_staff|daily_duty|proposed|accepted|console/, text.slice(0, 300));
      }
      assert.deepEqual(errors, []);
    } finally {
      for (const p of [adm, alice, bob]) await p.context().close();
      await hook.close();
    }
  });

  test('monitors: the status page shows what is up and what is down; a monitor\'s page its history', async () => {
    // A server of its own, watching a loopback page and a port nobody listens on.
    const web = http.createServer((req, res) => { res.writeHead(200); res.end('<html>欢迎访问</html>'); });
    await new Promise((r) => web.listen(0, '127.0.0.1', r));
    const closed = net.createServer();
    await new Promise((r) => closed.listen(0, '127.0.0.1', r));
    const gone = closed.address().port;
    await new Promise((r) => closed.close(r));
    const dir = tempDir();
    // An HTTPS page whose certificate (made here) ends in five days.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '5', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => { res.writeHead(200); res.end('ok'); });
    await new Promise((r) => tls.listen(0, '127.0.0.1', r));
    const f = join(dir, 'yingji.yaml');
    const root = join(dir, 'www');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<html><body>欢迎访问</body></html>\n');
    writeFileSync(f, `host: {interval: 500ms}\nintegrity:\n  - {id: www-root, path: "${root}", asset: main_site}\n`
      + 'sites:\n'
      + `  - {id: home, url: "http://127.0.0.1:${web.address().port}/", interval: 500ms, asset: main_site}\n`
      + 'monitors:\n'
      + `  - {id: www, target: "http://127.0.0.1:${web.address().port}/", interval: 500ms, keyword: 欢迎访问, asset: main_site}\n`
      + `  - {id: mail, target: "127.0.0.1:${gone}", interval: 500ms, retries: 0}\n`
      + `  - {id: portal, target: "https://127.0.0.1:${tls.address().port}/", interval: 500ms, ca: "${join(dir, 'cert.pem')}"}\n`);
    const msrv = await startServer({ args: ['--config', f] });
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    try {
      const page = await ctx.newPage();
      page.on('pageerror', (e) => errors.push(`monitors: ${e}`));
      await page.goto(msrv.url + '/');
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', msrv.adminPassword);
      await page.click('button[type=submit]');
      await page.waitForSelector('#nav a');
      // The baselines are taken by their threads after the start: the change must come after.
      for (let i = 0; i < 200 && !/integrity www-root: baseline of 1 files/.test(msrv.log()); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(msrv.log(), /integrity www-root: baseline of 1 files/);
      writeFileSync(join(root, 'index.html'), '<html><body>欢迎访问<a href="http://bet.example/">澳门赌场</a></body></html>\n');
      await new Promise((r) => setTimeout(r, 1500)); // a few checks, stored once a second
      await page.click('#nav a:has-text("监测")');
      await page.waitForSelector('#monitors');
      const www = await page.textContent('#monitors tr:has-text("www")');
      assert.match(www, /正常/);
      assert.match(www, /100\.00%/);
      const mail = page.locator('#monitors tr:has-text("mail")');
      assert.match(await mail.textContent(), /不可用/);
      assert.match(await mail.textContent(), /Couldn't connect|connect/i);
      assert.equal(await mail.getAttribute('class'), 'row-bad');
      // Up, but its certificate ends in five days: said in the console's words, marked.
      const portal = page.locator('#monitors tr:has-text("portal")');
      assert.match(await portal.textContent(), /正常/);
      assert.match(await portal.textContent(), /证书到期 \d{4}-\d\d-\d\d \d\d:\d\d（[45] 天后）/);
      assert.equal(await portal.getAttribute('class'), 'row-warn');
      // The finding is stored within about 50 ms of the change; the page shows what is stored.
      for (let i = 0; i < 100 && !(await page.$('#findings')); i++) {
        await new Promise((r) => setTimeout(r, 200));
        await page.reload();
        await page.waitForSelector('#monitors');
      }
      await page.waitForSelector('#findings');
      assert.match(await page.textContent('#findings'), /www-root：index\.html 被修改/);
      assert.match(await page.textContent('#findings pre'), /\+<html><body>欢迎访问<a href="http:\/\/bet\.example\/">澳门赌场<\/a>/);
      assert.match(await page.textContent('#guarded'), /home[\s\S]*基线/);
      // A deployment window on the web root shows until when.
      const ops = new Client(msrv.url);
      await ops.login('admin', msrv.adminPassword);
      assert.equal((await ops.post('/api/v1/integrity/www-root/maintenance', { minutes: 30, reason: '发布新版' })).status, 202);
      await page.reload();
      await page.waitForSelector('#guarded');
      assert.match(await page.textContent('#guarded tr:has-text("www-root")'), /维护窗口至 \d{4}-\d\d-\d\d \d\d:\d\d/);
      await page.waitForSelector('#host');
      assert.match(await page.textContent('#host'), /内存使用率\s*\d+\.\d%/);
      assert.match(await page.textContent('#host'), /磁盘空间 \//);
      await shot(page, 'monitors');
      await page.click('#monitors a:has-text("mail")');
      await page.waitForSelector('#changes');
      assert.match(await page.textContent('#changes'), /不可用/);
      await page.waitForSelector('#response-chart canvas');
      await page.goto(msrv.url + '/monitors/www');
      await page.waitForSelector('#response-chart canvas');
      assert.match(await page.textContent('#uptime'), /24 h 100\.00%/);
      await shot(page, 'monitor');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 391, "a monitor's page at 390");
      await shot(page, 'monitor-phone');
      assert.doesNotMatch(await page.textContent('main'), /main_site/, 'the asset by its name, not its id');
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
      await msrv.stop();
      web.close();
      tls.close();
      cleanup(dir);
    }
  });
});
