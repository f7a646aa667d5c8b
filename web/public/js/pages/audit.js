// 审计 (admin, auditor): the audit log and whether its hash chain is intact.
import { get } from '../api.js';
import { t, lang } from '../i18n.js';
import { h, view, fmtTime } from '../ui.js';
import { actorName, auditAction } from '../names.js';

export async function auditPage() {
  const mount = view();
  const a = await get('/api/v1/audit?limit=200');
  const v = a.verify || a.verification;
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Audit')),
    v ? h('span', { class: `badge ${v.ok ? 'ok' : 'bad'}`, id: 'audit-verify' },
      v.ok ? `${t('Audit chain intact')}${v.signed ? `，${t('head signed')}` : ''}` : t('Audit chain broken')) : null,
    v && !v.ok ? h('p', { class: 'error', id: 'audit-broken' }, lang() === 'en' ? `Row ${v.bad_row}: ` : `第 ${v.bad_row} 条：`,
      v.reason || '') : null),
  h('section', { class: 'panel' }, h('table', { class: 'table', id: 'audit' },
    h('thead', {}, h('tr', {}, [t('When'), t('Who'), t('What'), t('Object')].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, (a.items || []).map((r) => h('tr', {}, h('td', {}, fmtTime(r.at, { seconds: true })), h('td', {}, actorName(r.actor)),
      h('td', {}, auditAction(r.action)), h('td', {}, r.object)))))));
}
