// 用户 (admin): the accounts — who they are in the plan, their role and unit — created, edited,
// disabled and enabled, their forgotten passwords replaced by a one-time one (shown once); and the
// API tokens of machines (created — the secret is shown once —, revoked).
import { get, post, patch, del } from '../api.js';
import { t } from '../i18n.js';
import { h, view, refresh, fmtTime, field, attempt } from '../ui.js';
import { state } from '../app.js';
import { personName, unitName } from '../names.js';

const ROLES = ['duty', 'officer', 'responder', 'leader', 'auditor', 'admin'];
const SCOPES = { read: 'Read', write: 'Write', ingest: 'Send signals', admin: 'Administer' };

const table = (id, head, rows) => h('table', { class: 'table', id },
  h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows));

function roleSelect(value) {
  return h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r, selected: r === value ? true : null }, t(r))));
}
function unitSelect(value) {
  return h('select', { name: 'unit' }, h('option', { value: '' }, t('none')),
    state.plan.units.map((u) => h('option', { value: u.id, selected: u.id === value ? true : null }, u.name)));
}
function personSelect(value) {
  return h('select', { name: 'person' }, h('option', { value: '' }, t('none')),
    state.plan.people.map((p) => h('option', { value: p.id, selected: p.id === value ? true : null }, p.title ? `${p.name}（${p.title}）` : p.name)));
}

// What the form holds as the API takes it: "" is none (null).
function values(form) {
  const f = new FormData(form);
  return { role: f.get('role'), unit: f.get('unit') || null, person: f.get('person') || null };
}

export async function usersPage() {
  const mount = view();
  const [users, tokens] = await Promise.all([get('/api/v1/users'), get('/api/v1/tokens')]);
  const shown = h('div', { id: 'secret', 'aria-live': 'polite' });
  const show = (text, secret) => shown.replaceChildren(h('p', { class: 'ok-box' }, text, h('code', { class: 'secret' }, secret)));

  const rows = users.items.map((u) => {
    const self = u.name === state.user.name;
    const edit = h('form', { class: 'form-grid row-edit', onsubmit: async (ev) => {
      ev.preventDefault();
      if (await attempt(() => patch(`/api/v1/users/${u.id}`, values(edit)), t('Saved'))) refresh(usersPage);
    } }, field(t('Role'), roleSelect(u.role)), field(t('Unit'), unitSelect(u.unit)), field(t('Person in the plan'), personSelect(u.person)),
    h('button', { type: 'submit', class: 'primary' }, t('Save')));
    const editRow = h('tr', { class: 'edit-row', hidden: true }, h('td', { colspan: 6 }, edit));
    const btns = [
      h('button', { type: 'button', class: 'small', 'data-edit': u.name, onclick: () => { editRow.hidden = !editRow.hidden; } }, t('Edit')),
      h('button', { type: 'button', class: 'small', 'data-reset': u.name, onclick: async () => {
        if (!confirm(`${t('Give a new one-time password to')} ${u.name}?`)) return;
        const r = await attempt(() => post(`/api/v1/users/${u.id}/password-reset`));
        if (r) show(`${t('One-time password for')} ${r.name}（${t('shown only now; to be changed at the first login')}）：`, r.password);
      } }, t('Reset password')),
      self ? null : h('button', { type: 'button', class: `small ${u.disabled ? '' : 'danger'}`, 'data-toggle': u.name, onclick: async () => {
        if (await attempt(() => patch(`/api/v1/users/${u.id}`, { disabled: !u.disabled }), t('Saved'))) refresh(usersPage);
      } }, u.disabled ? t('Enable account') : t('Disable account')),
    ];
    return [h('tr', { class: u.disabled ? 'row-muted' : null },
      h('td', { class: 'strong' }, u.name, self ? h('span', { class: 'tag' }, t('you')) : null),
      h('td', {}, t(u.role)), h('td', {}, u.unit ? unitName(u.unit) || u.unit : '—'),
      h('td', {}, u.person ? personName(u.person) || u.person : '—'),
      h('td', {}, h('span', { class: `badge ${u.disabled ? 'bad' : 'ok'}` }, u.disabled ? t('disabled') : t('in use')),
        u.must_change_password ? h('span', { class: 'tag warn' }, t('must change password')) : null),
      h('td', { class: 'btns' }, btns)), editRow];
  }).flat();

  const userForm = h('form', { class: 'form-grid', id: 'new-user', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(userForm);
    const body = { name: f.get('name'), password: f.get('password'), must_change_password: true, ...values(userForm) };
    for (const k of ['unit', 'person']) if (!body[k]) delete body[k];
    if (await attempt(() => post('/api/v1/users', body), t('Saved'))) refresh(usersPage);
  } }, field(t('User name'), h('input', { name: 'name', required: true, autocomplete: 'off' })),
  field(t('Role'), roleSelect('duty')), field(t('Unit'), unitSelect(''), t('officers: required')),
  field(t('Person in the plan'), personSelect(''), t('who decides as whom')),
  field(t('Initial password'), h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' }),
    t('to be changed at the first login')),
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('Create account'))));

  const tokenForm = h('form', { class: 'form-grid', id: 'new-token', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(tokenForm);
    const r = await attempt(() => post('/api/v1/tokens', { name: f.get('name'), scopes: f.getAll('scopes') }));
    if (r) show(t('The token is shown only now; keep it:'), r.token);
  } }, field(t('Name'), h('input', { name: 'name', required: true, placeholder: t('e.g. the log server') })),
  h('fieldset', { class: 'scopes' }, h('legend', {}, t('Scopes')), Object.entries(SCOPES).map(([s, label]) =>
    h('label', {}, h('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'ingest' ? true : null }), ' ', t(label)))),
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('Create token'))));

  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Users'))), shown,
    h('section', { class: 'panel' }, h('h2', {}, t('Accounts')),
      table('users', [t('User name'), t('Role'), t('Unit'), t('Person in the plan'), t('Status'), t('Actions')], rows)),
    h('section', { class: 'panel' }, h('h2', {}, t('New account')), userForm),
    h('section', { class: 'panel' }, h('h2', {}, t('Tokens')),
      table('tokens', [t('Name'), t('Scopes'), t('Created'), t('Status')], tokens.items.map((k) => h('tr', {},
        h('td', { class: 'strong' }, k.name), h('td', {}, (k.scopes || []).map((s) => t(SCOPES[s] || s)).join('、')),
        h('td', {}, fmtTime(k.created_at)),
        h('td', { class: 'btns' }, k.revoked_at ? h('span', { class: 'badge bad' }, t('revoked')) : h('button', { type: 'button', class: 'small danger', onclick: async () => {
          if (await attempt(() => del(`/api/v1/tokens/${k.id}`), t('Saved'))) refresh(usersPage);
        } }, t('Revoke')))))),
      tokenForm));
}
