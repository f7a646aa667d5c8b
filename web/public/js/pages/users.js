// 用户与令牌 (admin): accounts (create, disable/enable) and API tokens (create — the secret is
// shown once —, revoke).
import { get, post, patch, del } from '../api.js';
import { t } from '../i18n.js';
import { h, view, refresh, fmtTime, field, attempt } from '../ui.js';
import { state } from '../app.js';

export async function usersPage() {
  const mount = view();
  const [users, tokens] = await Promise.all([get('/api/v1/users'), get('/api/v1/tokens')]);
  const userForm = h('form', { class: 'inline', id: 'new-user', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(userForm), body = { name: f.get('name'), role: f.get('role'), password: f.get('password'), must_change_password: true };
    if (f.get('unit')) body.unit = f.get('unit');
    if (await attempt(() => post('/api/v1/users', body), t('Saved'))) refresh(usersPage);
  } }, field(t('User name'), h('input', { name: 'name', required: true })),
  field(t('Role'), h('select', { name: 'role' }, ['duty', 'officer', 'responder', 'leader', 'auditor', 'admin'].map((r) => h('option', { value: r }, t(r))))),
  field(t('Unit'), h('select', { name: 'unit' }, h('option', { value: '' }, '—'), state.plan.units.map((u) => h('option', { value: u.id }, u.name))), t('optional')),
  field(t('Password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
  h('button', { type: 'submit', class: 'primary' }, t('Create')));

  const shown = h('div', { id: 'token-secret' });
  const tokenForm = h('form', { class: 'inline', id: 'new-token', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(tokenForm);
    const r = await attempt(() => post('/api/v1/tokens', { name: f.get('name'), scopes: f.getAll('scopes') }));
    if (r) shown.replaceChildren(h('p', { class: 'ok-box' }, t('The token is shown only now; keep it:'), h('code', { class: 'secret' }, r.token)));
  } }, field(t('Name'), h('input', { name: 'name', required: true })),
  h('fieldset', { class: 'scopes' }, h('legend', {}, 'scopes'), ['read', 'write', 'ingest', 'admin'].map((s) =>
    h('label', {}, h('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'ingest' ? true : null }), ' ', s))),
  h('button', { type: 'submit', class: 'primary' }, t('Create')));

  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Users'))),
    h('section', { class: 'panel' }, h('table', { class: 'table', id: 'users' }, h('tbody', {}, users.items.map((u) => h('tr', {},
      h('td', {}, u.name), h('td', {}, t(u.role)), h('td', {}, u.unit || ''), h('td', {}, u.disabled ? t('disabled') : ''),
      h('td', { class: 'btns' }, u.name === state.user.name ? null : h('button', { type: 'button', class: 'small', onclick: async () => {
        if (await attempt(() => patch(`/api/v1/users/${u.id}`, { disabled: !u.disabled }), t('Saved'))) refresh(usersPage);
      } }, u.disabled ? t('Enable') : t('Disable'))))))), userForm),
    h('section', { class: 'panel' }, h('h2', {}, t('Tokens')), shown, h('table', { class: 'table', id: 'tokens' }, h('tbody', {}, tokens.items.map((k) => h('tr', {},
      h('td', {}, k.name), h('td', {}, (k.scopes || []).join(', ')), h('td', {}, fmtTime(k.created_at)),
      h('td', {}, k.revoked_at ? t('revoked') : h('button', { type: 'button', class: 'small danger', onclick: async () => {
        if (await attempt(() => del(`/api/v1/tokens/${k.id}`), t('Saved'))) refresh(usersPage);
      } }, t('Revoke'))))))), tokenForm));
}
