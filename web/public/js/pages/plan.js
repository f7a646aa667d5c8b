// 预案: the plan in force, read-only — organisation, groups, types, levels and their national
// mapping, routing, deadlines, playbooks.
import { t, tDeadline } from '../i18n.js';
import { h, view, loadEcharts } from '../ui.js';
import { state } from '../app.js';
import { duration } from '../names.js';

const name = (list, id) => { const x = list.find((i) => i.id === id); return x ? x.name : id || '—'; };
const table = (head, rows) => h('table', { class: 'table' }, h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows));

// The organisation as a tree: each group with its leaders, members and member units.
function orgTree(p) {
  const person = (id) => ({ name: name(p.people, id) });
  return { name: p.plan.organization || p.plan.name, children: p.groups.map((g) => ({
    name: g.name,
    children: [...(g.leaders || []).map((id) => ({ name: `${t('Leaders')}：${name(p.people, id)}` })),
      ...(g.members || []).map(person), ...(g.member_units || []).map((id) => ({ name: name(p.units, id) })),
      ...(g.office_unit ? [{ name: name(p.units, g.office_unit) }] : [])],
  })) };
}

export function planPage() {
  const mount = view();
  const p = state.plan;
  const chart = h('div', { class: 'chart org', id: 'org', role: 'img', 'aria-label': t('Organisation') });
  loadEcharts().then((echarts) => {
    if (!document.body.contains(chart)) return;
    // On a phone the groups' long names wrap on the left and the members are cut short on the
    // right (they are listed in full below), so that no label runs off the chart.
    const w = chart.clientWidth;
    const narrow = w < 600;
    const left = narrow ? 96 : 150, right = narrow ? Math.max(120, Math.round(w * 0.42)) : 200;
    echarts.init(chart).setOption({ animation: false, series: [{ type: 'tree', data: [orgTree(p)], top: 10, bottom: 10, left, right,
      symbolSize: 8, initialTreeDepth: 2,
      label: { position: 'left', verticalAlign: 'middle', align: 'right', fontSize: 12, ...(narrow ? { width: left - 10, overflow: 'break' } : {}) },
      leaves: { label: { position: 'right', align: 'left', ...(narrow ? { width: right - 12, overflow: 'truncate' } : {}) } } }] });
  }).catch(() => { chart.textContent = t('chart unavailable'); });
  mount(h('div', { class: 'page-head' }, h('h1', {}, p.plan.name), h('span', { class: 'muted' }, p.plan.source || '')),
    h('section', { class: 'panel' }, h('h2', {}, t('Organisation')), chart),
    h('section', { class: 'panel' }, h('h2', {}, t('Groups')), table([t('Groups'), t('Leaders'), t('Members'), t('Units')],
      p.groups.map((g) => h('tr', {}, h('td', {}, g.name, h('div', { class: 'muted' }, g.duties || '')),
        h('td', {}, (g.leaders || []).map((id) => name(p.people, id)).join('、')),
        h('td', {}, (g.members || []).map((id) => name(p.people, id)).join('、')),
        h('td', {}, (g.member_units || []).map((id) => name(p.units, id)).join('、') || (g.office_unit ? name(p.units, g.office_unit) : '')))))),
    h('section', { class: 'panel' }, h('h2', {}, t('People')), table([t('People'), t('Unit'), t('Role'), t('Contacts')],
      p.people.map((x) => h('tr', {}, h('td', {}, x.name, x.title ? h('div', { class: 'muted' }, x.title) : null), h('td', {}, name(p.units, x.unit)),
        h('td', {}, (x.roles || []).map((r) => name(p.roles || [], r)).join('、')),
        h('td', {}, [x.contacts && x.contacts.mobile, x.contacts && x.contacts.phone, x.contacts && x.contacts.email].filter(Boolean).join(' / ') || '—'))))),
    h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', {}, t('Units')), table([t('Units'), t('Head')],
        p.units.map((u) => h('tr', {}, h('td', {}, u.name), h('td', {}, u.head ? name(p.people, u.head) : '—'))))),
      h('section', { class: 'panel' }, h('h2', {}, t('Levels')), table([t('Level'), t('National level'), t('Deadlines')],
        p.levels.map((l) => h('tr', {}, h('td', {}, h('span', { class: `badge level-${l.warning_color}` }, l.name), l.activation ? h('span', { class: 'tag' }, t('needs activation')) : null),
          h('td', {}, `${l.national} ${l.national_name}`),
          h('td', {}, Object.entries(l.deadlines).filter(([, v]) => v).map(([k, v]) => `${tDeadline(k)} ${duration(v)}`).join('，'))))))),
    h('section', { class: 'panel' }, h('h2', {}, t('Types'), ' · ', t('Routing'), ' · ', t('Playbook')), table([t('Type'), t('Routing'), 'GB/T 20986', t('Playbook')],
      p.types.map((x) => h('tr', {}, h('td', {}, x.name, h('div', { class: 'muted' }, name(p.classes, x.class)),
        h('div', { class: 'muted' }, (x.levels || []).map((l) => name(p.levels, l)).join(' / '))),
        h('td', {}, name(p.units, x.owner), x.route && x.route !== 'type' ? h('div', { class: 'muted' }, `${t('routed by')} ${t('asset owner')}`) : null), h('td', {}, [x.gbt_category, x.gbt_subcategory].filter(Boolean).join(' / ')),
        h('td', {}, h('ol', { class: 'steps' }, (x.playbook || []).map((s) => h('li', {}, s.title, s.approval ? h('span', { class: 'tag warn' }, t('needs approval')) : null)))))))));
}
