// Starts the real `yingji serve` on a random loopback port with a temporary data dir, and talks
// to it over HTTP the way the console and integrations do.
import { spawn } from 'node:child_process';
import { BIN, tempDir, cleanup, withStore } from './helpers.mjs';
import { checkResponse } from './openapi.mjs';
import { join } from 'node:path';

// A fresh store prints the administrator's one-time password, which must be replaced at the first
// login before anything else works (403 password_change_required). Unless oneTimePassword is
// kept (the tests of that flow), the helper does what the first user does: logs in and sets a
// password of its own, which becomes srv.adminPassword; the printed one is srv.oneTimePassword.
export async function startServer({ args = [], data, scheme = 'http', keepOneTimePassword = false } = {}) {
  const dir = tempDir('yj-srv-');
  data = data || join(dir, 'data');
  const proc = spawn(BIN, withStore(['serve', '--data', data, '--listen', '127.0.0.1:0', ...args]), {
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const ready = await new Promise((resolve, reject) => {
    // A start takes ~0.3 s here; 30 s is for a loaded CI machine. A server that has not started
    // is killed, so the failure is reported now instead of the test hanging until ctest's timeout.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within 30 s:\n${out}\n${log}`));
    }, 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(new RegExp(`listening on (${scheme}://[^/]+/)`));
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${out}\n${log}`)); });
  });
  const pw = (out.match(/password: (\S+)/) || [])[1];
  const exited = new Promise((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  const url = ready.replace(/\/$/, '');
  let adminPassword = pw;
  if (pw && !keepOneTimePassword && scheme === 'http') adminPassword = await ownPassword(url, pw);
  return {
    url,
    startup: out,
    oneTimePassword: pw,
    adminPassword,
    proc,
    dir,
    data,
    log: () => log,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const r = await exited;
      cleanup(dir);
      return r;
    },
  };
}

// The administrator's first login: the one-time password replaced by one of its own.
export async function ownPassword(url, oneTime) {
  const c = new Client(url);
  const r = await c.login('admin', oneTime);
  if (r.status !== 200) throw new Error(`first login failed: ${r.text}`);
  const own = `${oneTime}-own`;
  const ch = await c.post('/api/v1/session/password', { old: oneTime, new: own });
  if (ch.status !== 204) throw new Error(`first password change failed: ${ch.text}`);
  return own;
}

// A client: cookie session (with CSRF) or bearer token.
export class Client {
  constructor(base, { token, lang } = {}) {
    this.base = base;
    this.token = token;
    this.cookie = null;
    this.csrf = null;
    this.lang = lang;
  }

  async login(username, password) {
    const r = await this.req('POST', '/api/v1/session', { username, password });
    if (r.status === 200) {
      this.cookie = r.headers.get('set-cookie').split(';')[0];
      this.csrf = r.json.csrf;
    }
    return r;
  }

  async req(method, path, body, extra = {}) {
    const headers = { ...extra };
    if (this.lang) headers['Accept-Language'] = this.lang;
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.cookie) headers.Cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    let payload;
    if (body !== undefined) {
      if (Buffer.isBuffer(body) || typeof body === 'string') payload = body;
      else payload = JSON.stringify(body);
      if (!('Content-Type' in headers)) headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body: payload });
    const text = await res.text();
    // Every answer against the API's document (tests/integration/openapi.mjs).
    checkResponse(method, this.base + path, res.status, res.headers.get('content-type'), text);
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path, extra) { return this.req('GET', path, undefined, extra); }
  post(path, body, extra) { return this.req('POST', path, body, extra); }
}

export async function adminClient(srv) {
  const c = new Client(srv.url);
  const r = await c.login('admin', srv.adminPassword);
  if (r.status !== 200) throw new Error(`admin login failed: ${r.text}`);
  return c;
}

// Reads Server-Sent Events from a stream until `count` events arrived or `ms` passed.
export async function readEvents(url, headers, count, ms = 5000) {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const events = [];
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const timer = setTimeout(() => ctrl.abort(), ms);
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = {};
        for (const line of block.split('\n')) {
          const m = line.match(/^(\w+): ?(.*)$/);
          if (m) ev[m[1]] = m[2];
        }
        if (ev.data) events.push({ id: Number(ev.id), event: ev.event, data: JSON.parse(ev.data) });
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return { status: res.status, type: res.headers.get('content-type'), events };
}
