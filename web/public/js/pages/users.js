// 用户与令牌 (admin): accounts and API tokens.
import { get, post } from '../api.js';
import { t } from '../i18n.js';
import { h, mount, fmtTime, field, attempt } from '../ui.js';

export async function usersPage() {
  const [users, tokens] = await Promise.all([get('/api/v1/users'), get('/api/v1/tokens')]);
  const form = h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(form), body = { name: f.get('name'), role: f.get('role'), password: f.get('password') };
    if (f.get('unit')) body.unit = f.get('unit');
    if (await attempt(() => post('/api/v1/users', body), t('Saved'))) usersPage();
  } }, field(t('User name'), h('input', { name: 'name', required: true })),
  field(t('Role'), h('select', { name: 'role' }, ['duty', 'officer', 'responder', 'leader', 'auditor', 'admin'].map((r) => h('option', { value: r }, t(r))))),
  field(t('Unit'), h('input', { name: 'unit' }), t('optional')),
  field(t('Password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
  h('button', { type: 'submit', class: 'primary' }, t('Create')));
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Users'))),
    h('section', { class: 'panel' }, h('table', { class: 'table' }, h('tbody', {}, users.items.map((u) => h('tr', {},
      h('td', {}, u.name), h('td', {}, t(u.role)), h('td', {}, u.unit || ''), h('td', {}, u.disabled ? '停用' : ''))))), form),
    h('section', { class: 'panel' }, h('h2', {}, t('Tokens')), h('table', { class: 'table' }, h('tbody', {}, tokens.items.map((k) => h('tr', {},
      h('td', {}, k.name), h('td', {}, (k.scopes || []).join(', ')), h('td', {}, fmtTime(k.created_at)), h('td', {}, k.revoked_at ? '已吊销' : '')))))));
}
