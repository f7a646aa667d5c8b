// api.js: the one way the console talks to the server. Session cookie (HttpOnly) plus the CSRF
// token the server hands out at login and on GET /api/v1/session; errors come back as
// application/problem+json and are thrown as ApiError with the server's detail and field.
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = problem && problem.code;
    this.field = problem && problem.field;
  }
}

let csrf = '';
export function setCsrf(token) { csrf = token || ''; }

export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Accept: raw ? 'text/markdown' : 'application/json' };
  // The server's messages in the console's language, whatever the browser's own is.
  headers['Accept-Language'] = localStorage.getItem('yj.lang') === 'en' ? 'en' : 'zh-CN';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  if (raw && res.ok) return res.text();
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
export const put = (p, b) => api('PUT', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

// A file (an image) as the raw body of a POST; the server recognises the image by its bytes.
export async function upload(path, file) {
  const res = await fetch(path, {
    method: 'POST', credentials: 'same-origin', body: file,
    headers: { 'Content-Type': file.type || 'application/octet-stream', 'X-CSRF-Token': csrf, Accept: 'application/json',
      'Accept-Language': localStorage.getItem('yj.lang') === 'en' ? 'en' : 'zh-CN' },
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
