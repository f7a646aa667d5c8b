// Loopback receivers that behave like the real ones: a webhook that checks Yingji's HMAC header,
// DingTalk and Feishu robots that check their signatures as their documentation specifies, a
// WeCom robot. Each records what it accepted; `down()` makes it refuse connections, `up()` brings
// it back on the same port.
import http from 'node:http';
import crypto from 'node:crypto';

const hmac = (key, msg, enc) => crypto.createHmac('sha256', key).update(msg).digest(enc);

function verify(kind, secret, req, url, raw) {
  if (kind === 'webhook') {
    const ts = req.headers['x-yingji-timestamp'];
    const sig = req.headers['x-yingji-signature'];
    return sig === `sha256=${hmac(secret, `${ts}.${raw}`, 'hex')}` && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
  }
  if (kind === 'dingtalk') {
    const ts = url.searchParams.get('timestamp');
    return url.searchParams.get('sign') === hmac(secret, `${ts}\n${secret}`, 'base64')
      && Math.abs(Date.now() - Number(ts)) < 3600000;
  }
  if (kind === 'feishu') {
    const b = JSON.parse(raw);
    return b.sign === crypto.createHmac('sha256', `${b.timestamp}\n${secret}`).update('').digest('base64');
  }
  return true;
}

function answer(kind, ok) {
  if (kind === 'feishu') return ok ? { code: 0, msg: 'success' } : { code: 19021, msg: 'sign match fail' };
  if (kind === 'webhook') return ok ? { ok: true } : { error: 'bad signature' };
  return ok ? { errcode: 0, errmsg: 'ok' } : { errcode: 310000, errmsg: 'sign not match' };
}

export async function receiver(kind, secret) {
  const got = [];
  const rejected = [];
  const handler = (req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const ok = verify(kind, secret, req, url, raw);
      (ok ? got : rejected).push({ body: JSON.parse(raw), headers: req.headers, url: req.url });
      res.writeHead(kind === 'webhook' && !ok ? 401 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer(kind, ok)));
    });
  };
  let server = http.createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}/${kind}${kind === 'dingtalk' ? '?access_token=t0k3n' : ''}`,
    got,
    rejected,
    async down() { await new Promise((r) => { server.closeAllConnections(); server.close(r); }); },
    async up() {
      server = http.createServer(handler);
      await new Promise((r) => server.listen(port, '127.0.0.1', r));
    },
    async close() { await new Promise((r) => { server.closeAllConnections(); server.close(r); }); },
  };
}
