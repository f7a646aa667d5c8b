// 审计 (admin, auditor): the audit log, whether its hash chain is intact, and the log filtered by
// dates, person and action as a CSV file for an inspector's records.
import { get } from '../api.js';
import { t, lang } from '../i18n.js';
import { h, view, fmtTime } from '../ui.js';
import { actorName, auditAction, auditActions } from '../names.js';

export async function auditPage() {
  const mount = view();
  const [a, accounts] = await Promise.all([get('/api/v1/audit?limit=200'), get('/api/v1/assignees').catch(() => ({ items: [] }))]);
  const v = a.verify || a.verification;
  const link = h('a', { class: 'button', id: 'audit-export', download: '', href: '/api/v1/audit.csv' }, t('Export CSV'));
  // The export's filters: the link follows the form as it is filled in.
  const sync = () => {
    const q = new URLSearchParams();
    for (const [k, val] of new FormData(form).entries()) if (val) q.set(k, val);
    link.href = `/api/v1/audit.csv${q.toString() ? '?' + q : ''}`;
  };
  const form = h('form', { class: 'filters', id: 'audit-filter', onchange: sync, oninput: sync, onsubmit: (ev) => ev.preventDefault() },
  h('label', { class: 'date-range' }, t('From'), ' ', h('input', { type: 'date', name: 'from', 'aria-label': t('From') })),
  h('label', { class: 'date-range' }, t('To'), ' ', h('input', { type: 'date', name: 'to', 'aria-label': t('To') })),
  h('select', { name: 'actor', 'aria-label': t('Actor') }, h('option', { value: '' }, `${t('All')}${t('Actor')}`),
    accounts.items.map((u) => h('option', { value: `user:${u.name}` }, u.person_name ? `${u.person_name}（${u.name}）` : u.name))),
  h('select', { name: 'action', 'aria-label': t('Action') }, h('option', { value: '' }, `${t('All')}${t('Action')}`),
    auditActions().map(([code, label]) => h('option', { value: code }, label))), link);
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Audit')),
    v ? h('span', { class: `badge ${v.ok ? 'ok' : 'bad'}`, id: 'audit-verify' },
      v.ok ? `${t('Audit chain intact')}${v.signed ? `，${t('head signed')}` : ''}` : t('Audit chain broken')) : null,
    v && !v.ok ? h('p', { class: 'error', id: 'audit-broken' }, lang() === 'en' ? `Row ${v.bad_row}: ` : `第 ${v.bad_row} 条：`,
      v.reason || '') : null),
  form,
  h('section', { class: 'panel' }, h('table', { class: 'table', id: 'audit' },
    h('thead', {}, h('tr', {}, [t('When'), t('Who'), t('What'), t('Object')].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, (a.items || []).map((r) => h('tr', {}, h('td', {}, fmtTime(r.at, { seconds: true })), h('td', {}, actorName(r.actor)),
      h('td', {}, auditAction(r.action)), h('td', {}, r.object)))))));
}
