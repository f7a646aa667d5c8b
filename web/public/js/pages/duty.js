// 值班: who is on duty now (the roster of the plan, holidays included).
import { get } from '../api.js';
import { t } from '../i18n.js';
import { h, mount, fmtTime } from '../ui.js';
import { state } from '../app.js';

export async function dutyPage() {
  const d = await get('/api/v1/duty');
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Duty'))),
    h('section', { class: 'panel' }, h('h2', {}, t('On duty now')),
      h('table', { class: 'table', id: 'duty' }, h('tbody', {}, (d.shifts || []).map((s) => h('tr', {},
        h('td', {}, s.rotation_name || s.rotation || ''), h('td', { class: 'strong' }, s.name || s.person),
        h('td', {}, s.phone || s.mobile || ''), h('td', {}, `${fmtTime(s.from)} → ${fmtTime(s.to)}`), h('td', {}, s.holiday ? '节假日' : '', s.overridden ? ' 调班' : ''))))),
),
    rosterPanel());
}

// The roster itself: rotations with their people in order, handover time, overrides, holidays.
function rosterPanel() {
  const r = state.plan.roster;
  if (!r) return null;
  const who = (id) => { const p = state.plan.people.find((x) => x.id === id); return p ? p.name : id; };
  return h('section', { class: 'panel' }, h('h2', {}, '值班表'),
    h('p', { class: 'muted' }, `交接班时间 ${r.handover || '—'}；节假日 ${(r.holidays || []).length} 天`),
    h('table', { class: 'table', id: 'rotations' }, h('tbody', {}, (r.rotations || []).map((x) => h('tr', {},
      h('td', {}, x.name), h('td', {}, x.every === 'weekly' ? '每周轮换' : '每日轮换', x.holidays ? '（节假日）' : ''),
      h('td', {}, (x.people || []).map(who).join(' → ')), h('td', {}, x.start ? `自 ${x.start}` : ''))))),
    (r.overrides || []).length ? h('ul', { class: 'plain' }, r.overrides.map((o) => h('li', {}, `${o.date || o.from || ''} ${who(o.person)} ${o.reason || ''}`))) : null);
}
