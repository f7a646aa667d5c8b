// The API's contract, docs/api/openapi.yaml, held against what the server really answers: every
// response the black-box tests receive is checked against the document's schema for its
// operation and status (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses), so the document cannot
// drift from the server. An answer the document does not describe fails too.
import { appendFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SRC } from './helpers.mjs';

const require = createRequire(join(SRC, 'web/package.json'));
const YAML = require('yaml');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

export const spec = YAML.parse(readFileSync(join(SRC, 'docs/api/openapi.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema(spec, 'openapi');

// Paths as patterns, the literal ones before those with {params} (…/upward-report before …/{part}).
const operations = Object.keys(spec.paths)
  .map((p) => ({ template: p, re: new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    params: (p.match(/\{/g) || []).length }))
  .sort((a, b) => a.params - b.params);

const pointer = (...parts) => parts.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function resolve(obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 8; i++) {
    const parts = o.$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    o = parts.reduce((x, k) => (x ? x[k] : undefined), spec);
  }
  return o;
}

function problem(method, path, status, text) {
  const validate = ajv.getSchema('openapi#/components/schemas/Problem');
  const body = JSON.parse(text);
  if (!validate(body)) throw new Error(`openapi: ${method} ${path} ${status} is not a Problem: ${ajv.errorsText(validate.errors)}`);
}

// With YJ_OPENAPI_COVERAGE=FILE, each answer checked is appended to FILE as "METHOD TEMPLATE
// STATUS TYPE": which documented answers the tests exercise, and which they never meet.
const coverage = process.env.YJ_OPENAPI_COVERAGE;
function covered(method, template, status, type) {
  if (coverage) appendFileSync(coverage, `${method} ${template} ${status} ${type || '-'}\n`);
}

// Throws when a response does not match (or is not in) the document: an operation, a status and
// a media type it does not list, or a JSON body its schema does not admit. Bodies that are not
// JSON (images, Markdown, event streams, YAML, metrics) need only their media type listed.
export function checkResponse(method, url, status, contentType, text) {
  const path = new URL(url, 'http://x').pathname;
  const type = (contentType || '').split(';')[0].trim().toLowerCase(); // '' when there is no body
  const json = /^application\/([\w.+-]+\+)?json$/.test(type);
  const op = operations.find((o) => o.re.test(path));
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  const operation = op && spec.paths[op.template][m];
  if (!operation) {
    // No such endpoint or method: the server's 404/405 is a problem like any other.
    if ((status === 404 || status === 405) && json) {
      covered(method, '(none)', status, type);
      return problem(method, path, status, text);
    }
    if (!json || !path.startsWith('/api/')) return;
    throw new Error(`openapi: ${method} ${path} is not in the document (answered ${status} ${type})`);
  }
  covered(method, op.template, status, type);
  if (!type) return; // no body: 204, 304
  const code = String(status);
  const responses = operation.responses || {};
  const key = responses[code] ? code : responses[`${code[0]}XX`] ? `${code[0]}XX` : responses.default ? 'default' : null;
  if (!key) {
    throw new Error(`openapi: ${method} ${op.template} answered ${status}, which the document does not list\n${text.slice(0, 400)}`);
  }
  const response = resolve(responses[key]);
  const media = response && response.content && response.content[type];
  if (!media) {
    const listed = Object.keys((response && response.content) || {}).join(', ') || 'no body';
    throw new Error(`openapi: ${method} ${op.template} answered ${status} ${type}; the document lists ${listed}\n${text.slice(0, 400)}`);
  }
  if (!json || method === 'HEAD') return; // not JSON (or no body to read): nothing more to check
  if (!media.schema) throw new Error(`openapi: ${method} ${op.template} ${status} has no ${type} schema in the document`);
  let body;
  try { body = JSON.parse(text); } catch { throw new Error(`openapi: ${method} ${path} ${status}: not JSON`); }
  const ref = responses[key].$ref
    ? `openapi#${responses[key].$ref.slice(1)}/${pointer('content', type, 'schema')}`
    : `openapi#/${pointer('paths', op.template, m, 'responses', key, 'content', type, 'schema')}`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`openapi: cannot compile ${ref}`);
  if (!validate(body)) {
    const why = validate.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new Error(`openapi: ${method} ${path} ${status} does not match ${op.template} (${key}): ${why}\n${text.slice(0, 400)}`);
  }
}
