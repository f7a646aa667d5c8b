// 值班: who is on duty now, the coming two weeks as a calendar with phone numbers (the roster of
// the plan, holidays and overrides included), and the roster itself.
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
    await calendarPanel(), rosterPanel());
}

// Each of the next 14 days at noon in the plan's zone: who is on duty then, and how to reach them.
async function calendarPanel() {
  const phone = (id) => { const p = state.plan.people.find((x) => x.id === id); const c = p && p.contacts; return c ? c.mobile || c.phone || '' : ''; };
  // Noon of that day in the plan's zone, whatever the browser's (the zone's offset from Intl).
  const zone = (state.plan.plan && state.plan.plan.timezone) || 'Asia/Shanghai';
  const offset = (d) => {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(d)
      .find((x) => x.type === 'timeZoneName').value; // "GMT+08:00", or "GMT" for UTC
    return name === 'GMT' ? 'Z' : name.slice(3);
  };
  const noon = (k) => {
    const d = new Date(Date.now() + k * 86400e3);
    return new Date(`${fmtTime(d.toISOString()).slice(0, 10)}T12:00:00${offset(d)}`);
  };
  const days = await Promise.all(Array.from({ length: 14 }, (_, k) => {
    const at = noon(k);
    return get(`/api/v1/duty?at=${encodeURIComponent(at.toISOString())}`).then((d) => [at, d]).catch(() => [at, { shifts: [] }]);
  }));
  const week = ['日', '一', '二', '三', '四', '五', '六'];
  return h('section', { class: 'panel' }, h('h2', {}, t('The next two weeks')),
    h('table', { class: 'table', id: 'duty-calendar' },
      h('thead', {}, h('tr', {}, [t('Date'), t('On duty'), t('Phone')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, days.map(([at, d]) => h('tr', { class: (d.shifts || []).some((x) => x.holiday) ? 'row-muted' : null },
        h('td', { class: 'nowrap' }, `${fmtTime(at.toISOString()).slice(5, 10)} 周${week[at.getDay()]}`),
        h('td', {}, (d.shifts || []).map((x) => `${x.name || x.person}${x.overridden ? `（${t('swapped')}）` : ''}`).join('、') || '—'),
        h('td', {}, (d.shifts || []).map((x) => phone(x.person)).filter(Boolean).join('、') || '—'))))));
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
