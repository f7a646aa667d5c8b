// 值班: who is on duty now (the roster of the plan, holidays included).
import { get } from '../api.js';
import { t } from '../i18n.js';
import { h, view, fmtTime } from '../ui.js';
import { state } from '../app.js';

export async function dutyPage() {
  const mount = view();
  const d = await get('/api/v1/duty');
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Duty'))),
    h('section', { class: 'panel' }, h('h2', {}, t('On duty now')),
      h('table', { class: 'table', id: 'duty' }, h('tbody', {}, (d.shifts || []).map((s) => h('tr', {},
        h('td', {}, s.rotation_name || s.rotation || ''), h('td', { class: 'strong' }, s.name || s.person),
        h('td', {}, s.phone || s.mobile || ''), h('td', {}, `${fmtTime(s.from)} → ${fmtTime(s.to)}`), h('td', {}, s.holiday ? t('holiday') : '', s.overridden ? ' ' + t('swapped') : ''))))),
),
    rosterPanel());
}

// The roster itself: rotations with their people in order, handover time, overrides, holidays.
function rosterPanel() {
  const r = state.plan.roster;
  if (!r) return null;
  const who = (id) => { const p = state.plan.people.find((x) => x.id === id); return p ? p.name : id; };
  return h('section', { class: 'panel' }, h('h2', {}, t('Roster')),
    h('p', { class: 'muted' }, `${t('Handover at')} ${r.handover || '—'}; ${t('holidays')}: ${(r.holidays || []).length}`),
    h('table', { class: 'table', id: 'rotations' }, h('tbody', {}, (r.rotations || []).map((x) => h('tr', {},
      h('td', {}, x.name), h('td', {}, x.every === 'weekly' ? t('weekly') : t('daily'), x.holidays ? ` (${t('holiday')})` : ''),
      h('td', {}, (x.people || []).map(who).join(' → ')), h('td', {}, x.start ? `${t('from')} ${x.start}` : ''))))),
    (r.overrides || []).length ? h('ul', { class: 'plain' }, r.overrides.map((o) => h('li', {}, `${o.date || o.from || ''} ${who(o.person)} ${o.reason || ''}`))) : null);
}
