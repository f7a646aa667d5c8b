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

// A plain SMTP server (RFC 5321, no TLS) that stores each message: what a local relay does.
export async function smtpReceiver() {
  const net = await import('node:net');
  const mails = [];
  const server = net.createServer((sock) => {
    let buf = '';
    let data = false;
    let mail = null;
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') { data = false; mails.push(mail); sock.write('250 OK queued\r\n'); } else mail.data += `${line.replace(/^\./, '')}\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-test\r\n250 8BITMIME\r\n');
        else if (cmd === 'MAIL') { mail = { from: line, to: [], data: '' }; sock.write('250 OK\r\n'); }
        else if (cmd === 'RCPT') { mail.to.push(line.match(/<(.*)>/)[1]); sock.write('250 OK\r\n'); }
        else if (cmd === 'DATA') { data = true; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.write('221 bye\r\n'); sock.end(); }
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `smtp://127.0.0.1:${server.address().port}`,
    mails,
    async close() { await new Promise((r) => server.close(r)); },
  };
}

// An SMS gateway: records the request body and its Authorization header.
export async function smsGateway() {
  const got = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', () => {
      got.push({ body: raw, auth: req.headers.authorization });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"result":"ok"}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/send`,
    got,
    async close() { await new Promise((r) => { server.closeAllConnections(); server.close(r); }); },
  };
}
