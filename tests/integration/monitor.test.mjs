// Scheduled monitors in the real server: a loopback web page the test takes down and brings
// back, a TCP port that goes away, a restart while a target is down, and config mistakes that
// must stop the server with FILE:LINE:COLUMN.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { yjAsync as yj, tempDir, cleanup, sh, until, sql } from './helpers.mjs';
import { startServer, Client } from './server.mjs';


describe('scheduled monitors', () => {
  let web, mode, dir, base;
  before(async () => {
    dir = tempDir();
    mode = 'ok';
    web = http.createServer((req, res) => {
      if (mode === 'fail') { res.writeHead(503); res.end('维护中'); return; }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(mode === 'defaced' ? '<html><body>hacked</body></html>' : '<html><body>欢迎访问重庆医科大学</body></html>');
    });
    await new Promise((r) => web.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${web.address().port}/`;
  });
  after(() => { web.close(); cleanup(dir); });

  async function admin(srv, password = srv.adminPassword) {
    const c = new Client(srv.url);
    assert.equal((await c.login('admin', password)).status, 200);
    return c;
  }

  test('a page that goes down opens one incident of the configured type, which records its own recovery', async () => {
    mode = 'ok';
    const f = join(dir, 'one.yaml');
    writeFileSync(f, 'monitors:\n'
      + `  - {id: www, target: "${base}", interval: 300ms, timeout: 2s, retries: 1, keyword: 重庆医科大学, asset: main_site}\n`);
    const srv = await startServer({ args: ['--config', f] });
    try {
      assert.match(srv.startup, /1 monitors/);
      const c = await admin(srv);
      const up = await until('www up', async () => {
        const r = await c.req('GET', '/api/v1/monitors');
        const m = r.json.items.find((x) => x.id === 'www');
        return m && m.status === 'up' && m.day.checks >= 2 ? m : null;
      });
      assert.equal(up.target, base);
      assert.equal(up.day.uptime, 100);
      assert.equal(up.asset, 'main_site');
      assert.ok(up.day.mean_ms >= 0 && up.day.mean_ms < 2000);

      mode = 'defaced'; // the keyword is gone: down after two failures in a row
      const inc = await until('an incident', async () => {
        const r = await c.req('GET', '/api/v1/incidents');
        return r.json.items.find((i) => i.title === '监测：www 不可用');
      });
      assert.equal(inc.type, 'server_fault');
      assert.equal(inc.unit, 'publicity'); // routed by the asset main_site
      const down = await until('the failure on the status page', async () => {
        const m = (await c.req('GET', '/api/v1/monitors/www')).json;
        return m.reason ? m : null;
      });
      assert.equal(down.status, 'down');
      assert.match(down.reason, /does not contain "重庆医科大学"/);
      assert.ok(down.day.failures >= 2);
      assert.ok(down.day.uptime < 100);

      mode = 'fail'; // still down, another reason: no second incident
      await new Promise((r) => setTimeout(r, 1000));
      mode = 'ok';
      const back = await until('the recovery on the timeline', async () => {
        const r = await c.req('GET', `/api/v1/incidents/${inc.id}/timeline`);
        return r.json.items.find((e) => e.kind === 'recovered');
      });
      assert.match(back.body.note, /^www 已恢复，中断 \d+ 秒/);
      const m = (await c.req('GET', '/api/v1/monitors/www')).json;
      assert.equal(m.status, 'up');
      assert.deepEqual(m.changes.map((x) => x.status), ['up', 'down']);
      assert.ok(m.hours.length >= 1 && m.hours[0].checks >= 4);
      const incidents = (await c.req('GET', '/api/v1/incidents')).json.items.filter((i) => /www/.test(i.title));
      assert.equal(incidents.length, 1);
      // Nobody is paged any more for something that is back.
      assert.equal(sql(srv.data, `SELECT count(*) FROM escalations WHERE incident_id = ${inc.id} AND stopped_at IS NULL`), '0');
      assert.equal(sql(srv.data, `SELECT count(*) FROM escalations WHERE incident_id = ${inc.id} AND stop_reason = 'recovered'`), '1');
      // The changes went the way of every signal.
      assert.equal(sql(srv.data, `SELECT count(*) FROM signals WHERE source = 'monitor' AND incident_id = ${inc.id}`), '2');
    } finally {
      await srv.stop();
    }
  });

  test('a TCP port that goes away; the type, level and unit the config names; a restart while down', async () => {
    const port = net.createServer((s) => s.end());
    await new Promise((r) => port.listen(0, '127.0.0.1', r));
    const addr = `127.0.0.1:${port.address().port}`;
    const data = join(dir, 'tcp-data');
    const f = join(dir, 'tcp.yaml');
    writeFileSync(f, 'monitors:\n'
      + `  - {id: db, target: "${addr}", interval: 200ms, retries: 0, incident: server_fault, level: important, unit: it_office, title: 数据库端口不通}\n`);
    let srv = await startServer({ args: ['--config', f], data });
    try {
      const c = await admin(srv);
      await until('db up', async () => (await c.req('GET', '/api/v1/monitors/db')).json.status === 'up');
      await new Promise((r) => port.close(r));
      const inc = await until('the incident', async () => (await c.req('GET', '/api/v1/incidents')).json.items
        .find((i) => i.title === '数据库端口不通'));
      assert.equal(inc.level, 'important');
      assert.equal(inc.unit, 'it_office');
      await srv.stop();
      // Back while the server was away: the first good check after the restart records it.
      await new Promise((r) => port.listen(Number(addr.split(':')[1]), '127.0.0.1', r));
      const password = srv.adminPassword;
      srv = await startServer({ args: ['--config', f], data });
      const c2 = await admin(srv, password);
      await until('the recovery after the restart', async () => (await c2.req('GET', `/api/v1/incidents/${inc.id}/timeline`))
        .json.items.some((e) => e.kind === 'recovered'));
      assert.equal((await c2.req('GET', '/api/v1/monitors/db')).json.status, 'up');
      assert.equal((await c2.req('GET', '/api/v1/monitors/nope')).status, 404);
    } finally {
      await srv.stop();
      port.close();
    }
  });

  test('a TLS certificate near its end is an incident of its own; renewed while the server was away, it records the recovery', async () => {
    // A CA of the test's own and two certificates it signs: one ending in five days, one in 400.
    const pki = join(dir, 'pki');
    mkdirSync(pki);
    const ssl = (...args) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
    writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    for (const [name, days] of [['short', 5], ['long', 400]]) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', `${name}.key`, '-out', `${name}.csr`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', String(days),
        '-extfile', 'san.ext', '-out', `${name}.pem`);
    }
    const context = (name) => ({ key: readFileSync(join(pki, `${name}.key`)), cert: readFileSync(join(pki, `${name}.pem`)) });
    const tls = https.createServer(context('short'), (req, res) => { res.writeHead(200); res.end('ok'); });
    await new Promise((r) => tls.listen(0, '127.0.0.1', r));
    const data = join(dir, 'tls-data');
    const f = join(dir, 'tls.yaml');
    writeFileSync(f, 'monitors:\n'
      + `  - {id: portal, target: "https://127.0.0.1:${tls.address().port}/", interval: 200ms, ca: "${join(pki, 'ca.pem')}", cert_warn: 30d, asset: main_site}\n`);
    let srv = await startServer({ args: ['--config', f], data });
    try {
      const c = await admin(srv);
      const inc = await until('the certificate incident', async () => (await c.req('GET', '/api/v1/incidents')).json.items
        .find((i) => /^证书即将到期：portal（\d{4}-\d\d-\d\d \d\d:\d\d:\d\d）$/.test(i.title)));
      assert.equal(inc.type, 'server_fault');
      assert.equal(inc.level, 'general'); // the mildest level of the outage type
      assert.equal(inc.unit, 'publicity'); // the owner of main_site
      // The checks are stored once a second.
      const m = await until('the check stored', async () => {
        const x = (await c.req('GET', '/api/v1/monitors/portal')).json;
        return x.status !== 'unknown' ? x : null;
      });
      assert.equal(m.status, 'up'); // the site still works: it is a warning, not an outage
      assert.match(m.reason, /certificate ends in [45] days/);
      // Checked every 200 ms, still near its end: one incident, one signal.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await c.req('GET', '/api/v1/incidents')).json.items.filter((i) => /portal/.test(i.title)).length, 1);
      assert.equal(sql(srv.data, `SELECT count(*) FROM signals WHERE source = 'monitor' AND incident_id = ${inc.id}`), '1');
      // A restart with the certificate still near its end says so again, on the same incident.
      const password = srv.adminPassword;
      await srv.stop();
      srv = await startServer({ args: ['--config', f], data });
      await until('the warning again after the restart',
        async () => sql(srv.data, `SELECT count(*) FROM signals WHERE source = 'monitor' AND incident_id = ${inc.id}`) === '2');
      // Renewed while the server is stopped: the first check after the start records it.
      await srv.stop();
      tls.setSecureContext(context('long'));
      srv = await startServer({ args: ['--config', f], data });
      const c2 = await admin(srv, password);
      const back = await until('the renewal on the timeline', async () => (await c2.req('GET', `/api/v1/incidents/${inc.id}/timeline`))
        .json.items.find((e) => e.kind === 'recovered'));
      assert.match(back.body.note, /^portal 的 TLS 证书已更新，有效期至 \d{4}-/);
      const renewed = await until('the renewed certificate stored', async () => {
        const x = (await c2.req('GET', '/api/v1/monitors/portal')).json;
        return x.reason === null ? x : null;
      });
      assert.ok(new Date(renewed.cert_expires_at) - Date.now() > 300 * 86400e3, renewed.cert_expires_at);
      assert.equal((await c2.req('GET', '/api/v1/incidents')).json.items.filter((i) => /portal/.test(i.title)).length, 1);
    } finally {
      await srv.stop();
      tls.close();
    }
  });

  test('host resources: memory held above its limit opens an incident, falling back records the recovery', async () => {
    // A /proc of the test's own, so the numbers are known.
    const proc = join(dir, 'proc');
    mkdirSync(join(proc, 'net'), { recursive: true });
    const write = (availKb) => {
      writeFileSync(join(proc, 'stat'), 'cpu  100 0 0 900 0 0 0 0 0 0\n');
      writeFileSync(join(proc, 'meminfo'), `MemTotal: 1000000 kB\nMemAvailable: ${availKb} kB\n`);
      writeFileSync(join(proc, 'loadavg'), '0.50 0.40 0.30 1/100 42\n');
      writeFileSync(join(proc, 'net', 'dev'), 'h\nh\n  eth0: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n');
    };
    write(50000); // 95% used
    const f = join(dir, 'host.yaml');
    writeFileSync(f, `host: {proc: "${proc}", interval: 100ms, sustained: 300ms, memory: 90, disk: 0, inodes: 0, paths: ["/"]}\n`);
    const srv = await startServer({ args: ['--config', f] });
    try {
      assert.match(srv.startup, /watching this host's resources/);
      const c = await admin(srv);
      const inc = await until('the incident', async () => (await c.req('GET', '/api/v1/incidents')).json.items
        .find((i) => /^主机资源异常：内存使用率/.test(i.title)));
      assert.equal(inc.type, 'server_fault'); // the university plan has no anomaly type: its technical-failure type
      const h = (await c.req('GET', '/api/v1/host')).json;
      assert.ok(h.memory > 94.9 && h.memory < 95.1, JSON.stringify(h));
      assert.equal(h.limits.memory, 90);
      assert.equal(h.disks[0].path, '/');
      write(600000); // 40%
      const back = await until('the recovery', async () => (await c.req('GET', `/api/v1/incidents/${inc.id}/timeline`))
        .json.items.find((e) => e.kind === 'recovered'));
      assert.match(back.body.note, /内存使用率 已回落至 40\.0%（阈值 90\.0%）/);
      assert.equal(sql(srv.data, "SELECT count(*) FROM incidents WHERE title LIKE '主机资源异常%'"), '1');
    } finally {
      await srv.stop();
    }
  });

  test('ICMP and DNS monitors: a name whose answers change is down', async () => {
    const f = join(dir, 'dns.yaml');
    writeFileSync(f, 'monitors:\n'
      + '  - {id: lo, target: "icmp:127.0.0.1", interval: 200ms}\n'
      + '  - {id: name, target: "dns:localhost", interval: 200ms, retries: 0, expect: ["203.0.113.9"], title: 域名解析被篡改}\n');
    const srv = await startServer({ args: ['--config', f] });
    try {
      const c = await admin(srv);
      await until('lo up', async () => (await c.req('GET', '/api/v1/monitors/lo')).json.status === 'up');
      const inc = await until('the DNS incident', async () => (await c.req('GET', '/api/v1/incidents')).json.items
        .find((i) => i.title === '域名解析被篡改'));
      assert.equal(inc.type, 'server_fault');
      const m = (await c.req('GET', '/api/v1/monitors/name')).json;
      assert.equal(m.status, 'down');
    } finally {
      await srv.stop();
    }
  });

  test('config mistakes stop the server with FILE:LINE:COLUMN', async () => {
    const cases = [
      [`  - {id: a, target: "${base}", incident: no_such_type}\n`, /bad\.yaml:3:\d+: the plan cqmu has no type "no_such_type"/],
      [`  - {id: a, target: "${base}", level: extraordinary}\n`, /bad\.yaml:3:\d+: the plan cqmu has no level "extraordinary"/],
      [`  - {id: a, target: "${base}", interval: 10ms}\n`, /bad\.yaml:3:\d+: interval must be between 100ms and 24h/],
      ['  - {id: a, target: "ftp://x/"}\n', /bad\.yaml:3:\d+: "ftp:\/\/x\/" is neither an http\(s\):\/\/ URL, HOST:PORT, icmp:HOST nor dns:NAME/],
      ['  - {id: a, target: "icmp:x", expect: ["1.2.3.4"]}\n', /bad\.yaml:3:\d+: expect: is for dns:NAME targets/],
      [`  - {id: a, target: "${base}"}\n  - {id: a, target: "${base}"}\n`, /bad\.yaml:4:\d+: duplicate monitor id "a"/],
      ['  - {id: a, target: "10.0.0.1:22", keyword: x}\n', /bad\.yaml:3:\d+: keyword, absent and ca are for http/],
      [`  - {id: a, target: "${base}", asset: main_site, unit: it_office}\n`, /bad\.yaml:3:\d+: give asset or unit/],
    ];
    for (const [monitors, want] of cases) {
      const f = join(dir, 'bad.yaml');
      writeFileSync(f, `data: ${join(dir, 'bad-data')}\nmonitors:\n${monitors}`);
      const r = await yj(['--config', f, 'serve', '--listen', '127.0.0.1:0']);
      assert.equal(r.code, 2, `${monitors}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, want);
    }
  });
});
