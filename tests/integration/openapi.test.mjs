// The API's document, docs/api/openapi.yaml, as a document: it validates (OpenAPI 3.1, by
// swagger-cli), and its operations are exactly the server's routes (src/http/router.c's
// routes[]), so neither can drift from the other. What the server answers is held against it
// by every black-box test (tests/integration/openapi.mjs), and here for the answers the others
// do not read through the checked client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SRC } from './helpers.mjs';
import { checkResponse, spec } from './openapi.mjs';
import { Client, adminClient, startServer } from './server.mjs';

const DOC = join(SRC, 'docs/api/openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// {method, pattern, name, public} of each entry of routes[] in router.c.
function routeTable() {
  const text = readFileSync(join(SRC, 'src/http/router.c'), 'utf8');
  const body = text.match(/const struct route routes\[\] = \{([\s\S]*?)\n\};/);
  assert.ok(body, 'router.c has no routes[] table');
  const routes = [];
  const entry = /\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(\w+),([^{}]*?)"([^"]+)",\s*(NULL|\w+)\s*\}/g;
  for (const m of body[1].matchAll(entry)) {
    routes.push({ method: m[1], pattern: m[2], fn: m[3], name: m[5], public: /ROUTE_PUBLIC/.test(m[4]),
      query: m[6] === 'NULL' ? null : m[6] });
  }
  // Every entry begins with {"METHOD": make sure none was missed by the pattern above.
  assert.equal(routes.length, (body[1].match(/\{\s*"[A-Z]+",/g) || []).length, 'a route entry was not understood');
  return routes;
}

function operations() {
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) if (item[m]) ops.push({ method: m.toUpperCase(), path, op: item[m] });
  }
  return ops;
}

test('the document is valid OpenAPI 3.1 (swagger-cli validate)', () => {
  assert.match(spec.openapi, /^3\.1\.\d+$/);
  const r = spawnSync(join(SRC, 'web/node_modules/.bin/swagger-cli'), ['validate', DOC], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `swagger-cli validate failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /is valid/);
});

test('every route of the server is in the document, and every operation is a route', () => {
  const routes = routeTable();
  assert.ok(routes.length > 40, `only ${routes.length} routes found in router.c`);
  const key = (method, path) => `${method} ${path}`;
  const documented = new Set(operations().map((o) => key(o.method, o.path)));
  const served = new Set(routes.map((r) => key(r.method, r.pattern)));
  const missing = [...served].filter((k) => !documented.has(k));
  const extra = [...documented].filter((k) => !served.has(k));
  assert.deepEqual(missing, [], `routes missing from docs/api/openapi.yaml: ${missing.join(', ')}`);
  assert.deepEqual(extra, [], `operations in docs/api/openapi.yaml the server does not route: ${extra.join(', ')}`);
});

test("operationIds are the routes' names, public routes need no credential, and `may` lists the names", () => {
  const routes = routeTable();
  const ops = new Map(operations().map((o) => [`${o.method} ${o.path}`, o.op]));
  const names = new Map();
  for (const r of routes) names.set(r.name, (names.get(r.name) || 0) + 1);
  for (const r of routes) {
    const op = ops.get(`${r.method} ${r.pattern}`);
    if (!op) continue; // reported by the test above
    // A name two routes share (POST and PUT of one handler) gets the method after the first.
    const first = routes.find((x) => x.name === r.name) === r;
    const want = names.get(r.name) > 1 && !first ? `${r.name}.${r.method.toLowerCase()}` : r.name;
    assert.equal(op.operationId, want, `${r.method} ${r.pattern}: operationId`);
    const open = Array.isArray(op.security) && op.security.length === 0;
    assert.equal(open, r.public, `${r.method} ${r.pattern}: security: [] exactly when the route is public`);
  }
  // GET /api/v1/session's `may` holds route names (router_permissions): every name a caller
  // can be given, and only those, plus the moves decided apart (router.c's moves[]).
  const router = readFileSync(join(SRC, 'src/http/router.c'), 'utf8');
  const moves = [...(router.match(/\} moves\[\] = \{([\s\S]*?)\};/) || ['', ''])[1].matchAll(/\{"(\w+)",/g)]
    .map((m) => `incidents.move:${m[1]}`);
  const may = new Set([...routes.filter((r) => !r.public).map((r) => r.name), ...moves]);
  assert.deepEqual([...spec.components.schemas.Permission.enum].sort(), [...may].sort(), 'Permission enum vs router.c');
});

test("every operation declares its path parameters and has a success response", () => {
  for (const { method, path, op } of operations()) {
    const declared = new Set([...(spec.paths[path].parameters || []), ...(op.parameters || [])]
      .map((p) => (p.$ref ? spec.components.parameters[p.$ref.split('/').pop()] : p))
      .filter((p) => p.in === 'path').map((p) => p.name));
    const wanted = new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]));
    assert.deepEqual([...declared].sort(), [...wanted].sort(), `${method} ${path}: path parameters`);
    assert.ok(Object.keys(op.responses || {}).some((c) => /^2/.test(c)), `${method} ${path}: no success response`);
  }
});

// The query parameters each route takes are router.c's q_* tables: the document lists exactly
// those (the server refuses any other with 400 unknown_field).
test("every operation's query parameters are those of its route", () => {
  const router = readFileSync(join(SRC, 'src/http/router.c'), 'utf8');
  const tables = {};
  for (const m of router.matchAll(/static const struct query_param (q_\w+)\[\] = \{([\s\S]*?)\};/g)) {
    tables[m[1]] = [...m[2].matchAll(/\{"(\w+)",/g)].map((x) => x[1]);
  }
  assert.ok(Object.keys(tables).length > 0, 'router.c has no q_* tables');
  const ops = new Map(operations().map((o) => [`${o.method} ${o.path}`, o.op]));
  for (const r of routeTable()) {
    const op = ops.get(`${r.method} ${r.pattern}`);
    if (!op) continue; // reported above
    const want = r.query ? tables[r.query] : [];
    assert.ok(want, `router.c: no table ${r.query}`);
    const got = (op.parameters || []).map((p) => (p.$ref ? spec.components.parameters[p.$ref.split('/').pop()] : p))
      .filter((p) => p.in === 'query').map((p) => p.name);
    assert.deepEqual(got.sort(), [...want].sort(), `${r.method} ${r.pattern}: query parameters`);
  }
});

// Answers the other black-box tests do not meet through the checked Client (they read these
// with fetch, or not at all), held against the document here.
test('answers no other test checks match the document too', async () => {
  const srv = await startServer();
  try {
    const admin = await adminClient(srv);
    for (const p of ['/healthz', '/metrics', '/api/v1/openapi.yaml']) {
      assert.equal((await new Client(srv.url).get(p)).status, 200, p);
    }
    for (const part of spec.paths['/api/v1/plan/{part}'].get.parameters[0].schema.enum) {
      assert.equal((await admin.get(`/api/v1/plan/${part}`)).status, 200, part);
    }
    assert.equal((await admin.get('/api/v1/plan/nope')).status, 404);
    assert.equal((await admin.req('HEAD', '/api/v1/incidents')).status, 200);
    assert.equal((await admin.get('/api/v1/plan?x=1')).status, 400, 'a query parameter the route does not take');

    // A token asks who it is.
    const made = await admin.post('/api/v1/tokens', { name: 'reader', scopes: ['read'] });
    assert.equal(made.status, 201, made.text);
    const me = await new Client(srv.url, { token: made.json.token }).get('/api/v1/session');
    assert.equal(me.json.token.name, 'reader');
    assert.deepEqual(me.json.token.scopes, ['read']);
    assert.equal(me.json.token.role, 'auditor');
    // A reading token may read, and may do nothing else.
    assert.ok(me.json.token.may.includes('incidents.list'));
    assert.ok(!me.json.token.may.some((m) => /create|move|approval|activate|waive/.test(m)), me.json.token.may.join(','));

    // An incident that owes the upward report: the report as Markdown, submitted, its 补报 waived.
    const inc = (await admin.post('/api/v1/incidents', { type: 'website_tamper', title: '官网首页被篡改' })).json;
    const md = await admin.get(`/api/v1/incidents/${inc.id}/upward-report`);
    assert.equal(md.status, 200);
    const sub = await admin.post(`/api/v1/incidents/${inc.id}/upward-report`, { to: '市委网信办' });
    assert.equal(sub.status, 200, sub.text);
    assert.ok(sub.json.supplement_due_at);
    const waived = await admin.post(`/api/v1/incidents/${inc.id}/deadlines/supplement/waiver`, { reason: '领导小组同意不再补报' });
    assert.equal(waived.status, 200, waived.text);
    assert.equal(waived.json.deadlines.find((d) => d.kind === 'supplement').outcome, 'waived');
    assert.equal((await admin.post(`/api/v1/incidents/${inc.id}/deadlines/supplement/waiver`, { reason: 'x' })).status, 409);
    assert.equal((await admin.post(`/api/v1/incidents/${inc.id}/deadlines/report/waiver`, { reason: 'x' })).status, 400);

    // An attachment's bytes.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const up = await admin.req('POST', `/api/v1/incidents/${inc.id}/attachments`, png, { 'Content-Type': 'image/png' });
    assert.equal(up.status, 201, up.text);
    assert.equal((await admin.get(up.json.url)).status, 200);

    // The event stream's head (its body never ends).
    const ctrl = new AbortController();
    const res = await fetch(`${srv.url}/api/v1/events`, { headers: { Cookie: admin.cookie }, signal: ctrl.signal });
    checkResponse('GET', `${srv.url}/api/v1/events`, res.status, res.headers.get('content-type'), '');
    assert.equal(res.status, 200);
    ctrl.abort();
  } finally {
    await srv.stop();
  }
});
