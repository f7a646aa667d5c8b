// 通讯录: everyone of the plan with their unit, title and numbers — the numbers the messages go
// to. An administrator fills in what the plan file lacks (the university's plan names posts, not
// phone numbers), corrects a name, or adds a colleague for the roster; each change is stored,
// audited and in force at once (PUT /api/v1/people/{id}).
import { put } from '../api.js';
import { t } from '../i18n.js';
import { h, view, refresh, field, attempt } from '../ui.js';
import { state, reloadPlan } from '../app.js';
import { unitName } from '../names.js';

const CONTACTS = [['mobile', 'Mobile'], ['phone', 'Office phone'], ['email', 'Email']];

function unitSelect(value) {
  return h('select', { name: 'unit', required: true },
    state.plan.units.map((u) => h('option', { value: u.id, selected: u.id === value ? true : null }, u.name)));
}

// The form's values as the API takes them (empty boxes are "not given").
function body(form) {
  const f = new FormData(form);
  const contacts = {};
  for (const [k] of CONTACTS) if (f.get(k)) contacts[k] = f.get(k).trim();
  return { name: f.get('name').trim(), title: (f.get('title') || '').trim(), unit: f.get('unit'), contacts };
}

function personForm(p, onSaved) {
  const c = (p && p.contacts) || {};
  const form = h('form', { class: 'form-grid row-edit', onsubmit: async (ev) => {
    ev.preventDefault();
    const id = p ? p.id : new FormData(form).get('id').trim();
    if (await attempt(() => put(`/api/v1/people/${encodeURIComponent(id)}`, body(form)), t('Saved'))) onSaved();
  } },
  p ? null : field(t('Identifier'), h('input', { name: 'id', required: true, pattern: '[a-z0-9_\\-]{1,64}', autocomplete: 'off', placeholder: 'wang_xin' }),
    t('small letters, digits and _')),
  field(t('Name'), h('input', { name: 'name', required: true, value: p ? p.name : '' })),
  field(t('Post'), h('input', { name: 'title', value: (p && p.title) || '' })),
  field(t('Unit'), unitSelect(p && p.unit)),
  CONTACTS.map(([k, label]) => field(t(label), h('input', {
    name: k, value: c[k] || '', type: k === 'email' ? 'email' : 'tel', inputmode: k === 'email' ? 'email' : 'tel', autocomplete: 'off' }))),
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, p ? t('Save') : t('Add person'))));
  return form;
}

export async function directoryPage() {
  const mount = view();
  const admin = state.user.role === 'admin';
  const saved = async () => { await reloadPlan(); refresh(directoryPage); };
  // By unit, in the plan's order of units.
  const order = new Map(state.plan.units.map((u, i) => [u.id, i]));
  const people = [...state.plan.people].sort((a, b) => (order.get(a.unit) ?? 99) - (order.get(b.unit) ?? 99));
  const rows = people.map((p) => {
    const c = p.contacts || {};
    const editRow = admin ? h('tr', { class: 'edit-row', hidden: true }, h('td', { colspan: 6 }, personForm(p, saved))) : null;
    return [h('tr', { 'data-person': p.id },
      h('td', { class: 'strong' }, p.name), h('td', {}, p.title || '—'), h('td', {}, unitName(p.unit) || '—'),
      h('td', {}, c.mobile ? h('a', { href: `tel:${c.mobile}` }, c.mobile) : '—'),
      h('td', {}, [c.phone, c.email].filter(Boolean).join('，') || '—'),
      admin ? h('td', { class: 'btns' }, h('button', { type: 'button', class: 'small', 'data-edit': p.id,
        onclick: () => { editRow.hidden = !editRow.hidden; } }, t('Edit'))) : null), editRow];
  }).flat().filter(Boolean);
  const missing = people.filter((p) => !(p.contacts && (p.contacts.mobile || p.contacts.phone))).length;
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Directory'))),
    missing ? h('p', { class: 'warn-box', id: 'no-phones' }, `${missing} ${t('people have no phone number: text messages and calls cannot reach them.')}`,
      admin ? ` ${t('Fill them in below.')}` : ` ${t('Ask an administrator to fill them in.')}`) : null,
    h('section', { class: 'panel' },
      h('table', { class: 'table', id: 'people' },
        h('thead', {}, h('tr', {}, [t('Name'), t('Post'), t('Unit'), t('Mobile'), t('Office phone and email'), admin ? t('Actions') : null]
          .filter(Boolean).map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, rows))),
    admin ? h('section', { class: 'panel', id: 'new-person' }, h('h2', {}, t('Add a person')),
      h('p', { class: 'muted' }, t('A colleague the plan file does not name, e.g. a new duty officer; put them on a rotation on the duty page.')),
      personForm(null, saved)) : null);
}
