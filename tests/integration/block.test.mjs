// The automatic block end to end, as a log shipper and the people on the incident would drive it:
// syslog lines through the signals API (one with an injected user name, one with a sender's own
// claim of an address) → the sshd rule → an intrusion incident → assessment, activation and the
// leader's approval of 封禁攻击来源地址 → the address in the kernel's nftables set. The kernel part
// needs a network namespace of its own: as root the test re-runs itself inside `unshare --net`
// (so no table of the machine is touched); otherwise it says why it skips.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, cleanup, until } from './helpers.mjs';
import { startServer, Client } from './server.mjs';

const inNetns = process.env.YJ_IN_NETNS === '1';
const root = process.getuid && process.getuid() === 0;
const haveUnshare = spawnSync('unshare', ['--version']).status === 0;

if (!inNetns) {
  describe('the automatic block (in a network namespace of its own)', () => {
    test('runs this file again inside `unshare --net`', (t) => {
      if (!root || !haveUnshare) {
        t.skip(!root ? 'not root: nftables needs a network namespace of its own (CI runs as root)' : 'no unshare(1)');
        return;
      }
      const me = fileURLToPath(import.meta.url);
      // A test runner of its own inside (NODE_TEST_CONTEXT would make it report to ours instead).
      const env = { ...process.env, YJ_IN_NETNS: '1' };
      delete env.NODE_TEST_CONTEXT;
      const r = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" --test "$1"',
        process.execPath, me], { env, encoding: 'utf8', timeout: 300000 });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    });
  });
} else {
  describe('the automatic block', () => {
    test('a rule-detected intrusion, approved, puts the address sshd logged into the kernel set', async () => {
      const dir = tempDir('yj-block-');
      const cfg = join(dir, 'yingji.yaml');
      writeFileSync(cfg, 'actions:\n  - {kind: block_ip, nftables: yjblock, duration: 10m}\n');
      const srv = await startServer({ args: ['--config', cfg] });
      try {
        const admin = new Client(srv.url);
        await admin.login('admin', srv.adminPassword);
        const tok = await admin.post('/api/v1/tokens', { name: 'shipper', scopes: ['ingest'] });
        assert.equal(tok.status, 201);
        const shipper = new Client(srv.url, { token: tok.json.token });
        const attacker = '203.0.113.41';
        const lines = [];
        for (let i = 0; i < 5; i++) {
          // The user name carries a copy of sshd's own words with a loopback address.
          lines.push(`<38>Dec  3 08:00:0${i} web1 sshd[22${i}]: Failed password for invalid user x from 127.0.0.1 `
            + `port 22 ssh2 from ${attacker} port 5555 ssh2`);
        }
        const signals = lines.map((message, i) => ({
          source: 'rsyslog',
          message,
          // Two lines come with the program named too; one with the sender's own idea of the address.
          ...(i < 2 ? { program: 'sshd' } : {}),
          ...(i === 4 ? { fields: { ip: '198.51.100.99' } } : {}),
        }));
        const sent = await shipper.post('/api/v1/signals', { signals });
        assert.equal(sent.status, 202, sent.text);
        const inc = await until('the intrusion incident', async () => {
          const l = (await admin.get('/api/v1/incidents?type=intrusion')).json.items;
          return l.length ? l[0] : null;
        });
        assert.match(inc.title, new RegExp(attacker.replaceAll('.', '\\.')));
        // Every signal was read by the rule (the syslog prefix split off), and its fields are
        // the rule's: the address sshd logged, whatever the name or the sender said.
        const stored = (await admin.get('/api/v1/signals?source=rsyslog')).json.items;
        assert.equal(stored.length, 5);
        for (const s of stored) {
          assert.equal(s.rule, 'sshd', JSON.stringify(s));
          assert.equal(s.program, 'sshd');
          assert.equal(s.host, 'web1');
          assert.equal(s.fields.ip, attacker);
          assert.match(s.fields.user, /^x from 127\.0\.0\.1 port 22 ssh2$/);
        }
        const claimed = stored.find((s) => s.sent_fields);
        assert.deepEqual(claimed.sent_fields, { ip: '198.51.100.99' });

        // The plan's way to the responding phase: assessed, the leading group activates.
        const id = inc.id;
        assert.equal((await admin.post(`/api/v1/incidents/${id}/move`, { status: 'assessing' })).status, 200);
        const moved = await admin.post(`/api/v1/incidents/${id}/move`, { status: 'responding', fields: {
          source: 'SSH 日志', scope: 'web1', nature: '口令猜测', trend: '持续', measures: '封禁来源地址',
          level: 'important', activated_by: 'vp_it', activation_reason: '持续暴力破解' }, on_behalf: '组长电话决定' });
        assert.equal(moved.status, 200, moved.text);
        const tasks = async () => (await admin.get(`/api/v1/incidents/${id}/tasks`)).json.items;
        const block = (await tasks()).find((t) => t.action === 'block_ip');
        assert.ok(block, 'the playbook step 封禁攻击来源地址');
        const ok = await admin.post(`/api/v1/incidents/${id}/tasks/${block.id}/approval`, { approve: true, reason: '同意封禁' });
        assert.equal(ok.status, 200, ok.text);
        await until('the block', async () => (await tasks()).find((t) => t.id === block.id).status === 'done');
        const set = spawnSync('nft', ['list', 'set', 'inet', 'yjblock', 'block4'], { encoding: 'utf8' });
        assert.equal(set.status, 0, set.stderr);
        assert.match(set.stdout, new RegExp(`elements = \\{ ${attacker.replaceAll('.', '\\.')} timeout`));
        assert.doesNotMatch(set.stdout, /127\.0\.0\.1|198\.51\.100\.99/);
        // The block as the console lists it (every block failed to serialise before: an empty list).
        const blocks = (await admin.get('/api/v1/blocks')).json.items;
        assert.deepEqual(blocks.map((b) => [b.address, b.incident, b.task]), [[attacker, inc.number, block.id]]);
      } finally {
        await srv.stop();
        spawnSync('nft', ['delete', 'table', 'inet', 'yjblock']);
        cleanup(dir);
      }
    });
  });
}
