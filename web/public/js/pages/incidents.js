// 事件列表: filters, text search, sort and pages, all in the URL (/incidents?status=…&cursor=…).
import { get } from '../api.js';
import { t, tStatus } from '../i18n.js';
import { h, view, refresh, fmtTime, levelBadge, statusBadge, throttled } from '../ui.js';
import { params, state, onLive, go } from '../app.js';

const STATUSES = ['reported', 'assessing', 'responding', 'recovering', 'reviewing', 'closed', 'dismissed'];

function select(name, label, value, options) {
  return h('select', { name, 'aria-label': label },
    h('option', { value: '' }, `${t('All')}${label}`),
    options.map(([v, label]) => h('option', { value: v, selected: v === value ? true : null }, label)));
}

export async function incidentsPage() {
  const mount = view();
  const p = params();
  const q = new URLSearchParams();
  for (const k of ['status', 'type', 'level', 'unit', 'text', 'sort', 'cursor', 'drill', 'assignee', 'from', 'to']) if (p.get(k)) q.set(k, p.get(k));
  q.set('limit', '50');
  const page = await get('/api/v1/incidents?' + q.toString());
  const plan = state.plan;
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const f = new FormData(form), n = new URLSearchParams();
    for (const [k, v] of f.entries()) if (v) n.set(k, v);
    go('/incidents' + (n.toString() ? '?' + n.toString() : ''));
  } },
  h('input', { name: 'text', type: 'search', placeholder: t('Search') + '…', value: p.get('text') || '', 'aria-label': t('Search') }),
  select('status', t('Status'), p.get('status'), STATUSES.map((s) => [s, tStatus(s)])),
  select('level', t('Level'), p.get('level'), plan.levels.map((l) => [l.id, l.name])),
  select('type', t('Type'), p.get('type'), plan.types.map((x) => [x.id, x.name])),
  select('unit', t('Unit'), p.get('unit'), plan.units.map((u) => [u.id, u.name])),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'assignee', value: 'me', checked: p.get('assignee') === 'me' ? true : null }), ' ', t('Mine')),
  h('label', { class: 'date-range' }, t('From'), ' ', h('input', { type: 'date', name: 'from', value: p.get('from') || '', 'aria-label': t('From') })),
  h('label', { class: 'date-range' }, t('To'), ' ', h('input', { type: 'date', name: 'to', value: p.get('to') || '', 'aria-label': t('To') })),
  h('select', { name: 'sort', 'aria-label': t('Sort') },
    [['-reported_at', t('Newest first')], ['reported_at', t('Oldest first')], ['-updated_at', t('Recently changed')], ['severity', t('Most severe')]]
      .map(([v, l]) => h('option', { value: v, selected: (p.get('sort') || '-reported_at') === v ? true : null }, l))),
  h('button', { type: 'submit', class: 'primary' }, t('Search')),
  // The same filters, every page of them, as a spreadsheet.
  h('a', { class: 'button', id: 'export', download: '', href: (() => { const e = new URLSearchParams(q); e.delete('limit'); e.delete('cursor'); return `/api/v1/incidents.csv?${e}`; })() }, t('Export CSV')));

  const rows = page.items.map((i) => h('tr', {},
    h('td', {}, h('a', { href: `/incidents/${i.number}` }, i.number), i.drill ? h('span', { class: 'tag' }, t('Drill')) : null),
    h('td', {}, levelBadge(i)),
    h('td', { class: 'title-cell' }, h('a', { href: `/incidents/${i.number}` }, i.title)),
    h('td', {}, i.type_name || i.type), h('td', {}, statusBadge(i.status, tStatus(i.status))),
    h('td', {}, i.unit_name || i.unit), h('td', { class: 'nowrap' }, fmtTime(i.reported_at))));
  const next = new URLSearchParams(p);
  if (page.next) next.set('cursor', page.next);
  const first = new URLSearchParams(p);
  first.delete('cursor');
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Incidents'))), form,
    h('section', { class: 'panel' },
      rows.length ? h('table', { class: 'table', id: 'incident-table' },
        h('thead', {}, h('tr', {}, [t('Number'), t('Level'), t('Title'), t('Type'), t('Status'), t('Unit'), t('Reported')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)) : h('p', { class: 'muted' }, t('No incidents match')),
      h('div', { class: 'pager' },
        p.get('cursor') ? h('a', { href: '/incidents?' + first.toString() }, t('First page')) : null,
        page.next ? h('a', { href: '/incidents?' + next.toString(), rel: 'next' }, t('Next page')) : null)));
  onLive(throttled(() => { if (!p.get('cursor')) refresh(incidentsPage); }));
}
