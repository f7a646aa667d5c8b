// 值班: who is on duty now, the coming two weeks as a calendar with phone numbers (the roster of
// the plan, holidays, overrides and accepted swaps included), shift swaps (换班: asked by the one
// whose shift it is, answered by the one who takes it), and the roster itself — whose rotations
// an administrator may re-order or re-staff here.
import { get, post, put } from '../api.js';
import { t } from '../i18n.js';
import { h, view, refresh, fmtTime, field, attempt } from '../ui.js';
import { state, reloadPlan } from '../app.js';
import { personName } from '../names.js';

const SWAP_STATUS = { proposed: 'waiting for an answer', accepted: 'accepted', declined: 'declined', withdrawn: 'withdrawn' };
const week = ['日', '一', '二', '三', '四', '五', '六'];

export async function dutyPage() {
  const mount = view();
  const [d, days, swaps] = await Promise.all([get('/api/v1/duty'), nextDays(14), get('/api/v1/swaps')]);
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Duty'))),
    h('section', { class: 'panel' }, h('h2', {}, t('On duty now')),
      h('table', { class: 'table', id: 'duty' }, h('tbody', {}, (d.shifts || []).map((s) => h('tr', {},
        h('td', {}, s.rotation_name || s.rotation || ''), h('td', { class: 'strong' }, s.name || s.person),
        h('td', {}, s.phone || s.mobile || ''), h('td', {}, `${fmtTime(s.from)} → ${fmtTime(s.to)}`), h('td', {}, s.holiday ? t('holiday') : '', s.overridden ? ' ' + t('swapped') : '')))))),
    calendarPanel(days), swapsPanel(days, swaps.swaps || []), rosterPanel());
}

// Each of the next n days at noon in the plan's zone: who is on duty then.
async function nextDays(n) {
  // Noon of that day in the plan's zone, whatever the browser's (the zone's offset from Intl).
  const zone = (state.plan.plan && state.plan.plan.timezone) || 'Asia/Shanghai';
  const offset = (d) => {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(d)
      .find((x) => x.type === 'timeZoneName').value; // "GMT+08:00", or "GMT" for UTC
    return name === 'GMT' ? 'Z' : name.slice(3);
  };
  const noon = (k) => {
    const d = new Date(Date.now() + k * 86400e3);
    const date = fmtTime(d.toISOString()).slice(0, 10);
    return [date, new Date(`${date}T12:00:00${offset(d)}`)];
  };
  return Promise.all(Array.from({ length: n }, (_, k) => {
    const [date, at] = noon(k);
    return get(`/api/v1/duty?at=${encodeURIComponent(at.toISOString())}`).then((x) => ({ date, at, shifts: x.shifts || [] }))
      .catch(() => ({ date, at, shifts: [] }));
  }));
}

const phoneOf = (id) => { const p = state.plan.people.find((x) => x.id === id); const c = p && p.contacts; return c ? c.mobile || c.phone || '' : ''; };
const dayLabel = (x) => `${x.date.slice(5)} 周${week[x.at.getDay()]}`;

function calendarPanel(days) {
  return h('section', { class: 'panel' }, h('h2', {}, t('The next two weeks')),
    h('table', { class: 'table', id: 'duty-calendar' },
      h('thead', {}, h('tr', {}, [t('Date'), t('On duty'), t('Phone')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, days.map((x) => h('tr', { class: x.shifts.some((s) => s.holiday) ? 'row-muted' : null },
        h('td', { class: 'nowrap' }, dayLabel(x)),
        h('td', {}, x.shifts.map((s) => `${s.name || s.person}${s.overridden ? `（${t('swapped')}）` : ''}`).join('、') || '—'),
        h('td', {}, x.shifts.map((s) => phoneOf(s.person)).filter(Boolean).join('、') || '—'))))));
}

// 换班: the swaps, and for the person on duty a form to ask for one (their own shifts only).
function swapsPanel(days, swaps) {
  const me = state.user.person;
  const answer = (s, what) => async () => {
    if (await attempt(() => post(`/api/v1/swaps/${s.id}/${what}`), t('Saved'))) { await reloadPlan(); refresh(dutyPage); }
  };
  const rows = swaps.map((s) => h('tr', { 'data-swap': s.id, class: s.status === 'proposed' ? null : 'row-muted' },
    h('td', { class: 'nowrap' }, s.date, s.back_date ? ` ⇄ ${s.back_date}` : ''),
    h('td', {}, s.rotation_name || ''),
    h('td', { class: 'strong' }, `${s.requester_name || ''} → ${s.taker_name || ''}`),
    h('td', {}, s.reason || '—', s.on_behalf ? h('span', { class: 'tag' }, `${t('recorded on behalf by')} ${t('administrator')}：${s.on_behalf}`) : null),
    h('td', {}, h('span', { class: `badge ${s.status === 'accepted' ? 'ok' : s.status === 'proposed' ? 'warn' : ''}` }, t(SWAP_STATUS[s.status] || s.status))),
    h('td', { class: 'btns' }, s.status !== 'proposed' ? null : [
      s.taker === me ? h('button', { type: 'button', class: 'small primary', 'data-accept': s.id, onclick: answer(s, 'accept') }, t('Accept')) : null,
      s.taker === me ? h('button', { type: 'button', class: 'small', 'data-decline': s.id, onclick: answer(s, 'decline') }, t('Decline')) : null,
      s.requester === me ? h('button', { type: 'button', class: 'small', 'data-withdraw': s.id, onclick: answer(s, 'withdraw') }, t('Withdraw')) : null])));
  return h('section', { class: 'panel', id: 'swaps' }, h('h2', {}, t('Shift swaps')),
    rows.length ? h('table', { class: 'table', id: 'swap-list' },
      h('thead', {}, h('tr', {}, [t('Date'), t('Rotation'), t('Who to whom'), t('Reason'), t('Status'), t('Actions')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)) : h('p', { class: 'muted' }, t('No swaps yet.')),
    me ? swapForm(days, me) : h('p', { class: 'muted' }, t('Swaps are asked by the person on duty: this account is no person of the plan.')));
}

function swapForm(days, me) {
  const rotations = (state.plan.roster && state.plan.roster.rotations) || [];
  // My shifts in the next two weeks, by rotation; from tomorrow on (today's is under way).
  const mine = [];
  for (const x of days.slice(1)) for (const s of x.shifts) if (s.person === me) mine.push({ rotation: s.rotation, day: x });
  if (!mine.length) return h('p', { class: 'muted', id: 'no-shifts' }, t('You have no shift in the next two weeks.'));
  const shift = h('select', { name: 'shift', required: true }, mine.map((m, i) => h('option', { value: String(i) },
    `${dayLabel(m.day)} ${(rotations.find((r) => r.id === m.rotation) || {}).name || ''}`)));
  const taker = h('select', { name: 'with', required: true });
  const back = h('select', { name: 'back_date' });
  const fill = () => {
    const m = mine[Number(shift.value)];
    const rot = rotations.find((r) => r.id === m.rotation) || { people: [] };
    // Whoever is on this rotation, then the people of the others (a plan's role ids mean nothing here).
    const others = [...new Set([...rot.people, ...rotations.flatMap((r) => r.people || [])])].filter((p) => p !== me);
    taker.replaceChildren(...others.map((p) => h('option', { value: p }, personName(p) || p)));
    fillBack();
  };
  const fillBack = () => {
    const m = mine[Number(shift.value)];
    const theirs = days.slice(1).filter((x) => x.shifts.some((s) => s.rotation === m.rotation && s.person === taker.value));
    back.replaceChildren(h('option', { value: '' }, t('nothing in return')), ...theirs.map((x) => h('option', { value: x.date }, dayLabel(x))));
  };
  shift.addEventListener('change', fill);
  taker.addEventListener('change', fillBack);
  fill();
  const form = h('form', { class: 'form-grid swap-form', id: 'swap-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const m = mine[Number(shift.value)];
    const f = new FormData(form);
    const b = { rotation: m.rotation, date: m.day.date, with: f.get('with') };
    if (f.get('back_date')) b.back_date = f.get('back_date');
    if (f.get('reason')) b.reason = f.get('reason');
    if (await attempt(() => post('/api/v1/swaps', b), t('Asked; it is in force once accepted'))) refresh(dutyPage);
  } }, field(t('My shift'), shift), field(t('Taken by'), taker), field(t('I take in return'), back),
  field(t('Reason'), h('input', { name: 'reason', placeholder: t('e.g. on a business trip') })),
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('Ask for a swap'))));
  return h('div', {}, h('h3', {}, t('Ask for a swap')), form);
}

// The roster itself: rotations with their people in order, handover time, overrides, holidays.
function rosterPanel() {
  const r = state.plan.roster;
  if (!r) return null;
  const admin = state.user.role === 'admin';
  const who = (id) => personName(id) || id;
  const rows = (r.rotations || []).map((x) => {
    const editRow = admin ? h('tr', { class: 'edit-row', hidden: true }, h('td', { colspan: 5 }, rotationEditor(x))) : null;
    return [h('tr', { 'data-rotation': x.id },
      h('td', {}, x.name), h('td', {}, x.every === 'weekly' ? t('weekly') : t('daily'), x.holidays ? ` (${t('holiday')})` : ''),
      h('td', {}, (x.people || []).map(who).join(' → ')), h('td', {}, x.start ? `${t('from')} ${x.start}` : ''),
      admin ? h('td', { class: 'btns' }, h('button', { type: 'button', class: 'small', 'data-edit': x.id, onclick: () => { editRow.hidden = !editRow.hidden; } }, t('Edit'))) : null), editRow];
  }).flat().filter(Boolean);
  return h('section', { class: 'panel' }, h('h2', {}, t('Roster')),
    h('p', { class: 'muted' }, `${t('Handover at')} ${r.handover || '08:30'}; ${t('holidays')}: ${(r.holidays || []).length}`),
    h('table', { class: 'table', id: 'rotations' }, h('tbody', {}, rows)),
    (r.overrides || []).length ? h('ul', { class: 'plain', id: 'overrides' }, r.overrides.map((o) => h('li', {},
      `${o.from || ''} → ${o.to || ''} ${who(o.person)} ${o.reason || ''}`))) : null);
}

// The people of a rotation in duty order: a select per turn, moved up or removed, one more added.
function rotationEditor(rot) {
  const people = state.plan.people;
  const list = h('div', { class: 'rotation-edit' });
  const slot = (value) => {
    const sel = h('select', { name: 'people' }, people.map((p) => h('option', { value: p.id, selected: p.id === value ? true : null }, p.name)));
    const row = h('div', { class: 'slot' }, sel,
      h('button', { type: 'button', class: 'small', title: t('earlier'), onclick: () => { if (row.previousSibling) list.insertBefore(row, row.previousSibling); } }, '↑'),
      h('button', { type: 'button', class: 'small', onclick: () => row.remove() }, t('Remove')));
    return row;
  };
  list.append(...(rot.people || []).map(slot));
  const form = h('form', { class: 'row-edit', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { people: new FormData(form).getAll('people') };
    if (await attempt(() => put(`/api/v1/rotations/${encodeURIComponent(rot.id)}`, body), t('Saved'))) { await reloadPlan(); refresh(dutyPage); }
  } }, h('p', { class: 'muted' }, t('In duty order: the first takes the first shift from the start date.')), list,
  h('div', { class: 'form-actions' },
    h('button', { type: 'button', class: 'small', onclick: () => list.append(slot(people[0] && people[0].id)) }, t('Add one more')),
    h('button', { type: 'submit', class: 'primary' }, t('Save'))));
  return form;
}
