// 值班: who is on duty now (the roster of the plan, holidays included).
import { get } from '../api.js';
import { t } from '../i18n.js';
import { h, mount, fmtTime } from '../ui.js';

export async function dutyPage() {
  const d = await get('/api/v1/duty');
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Duty'))),
    h('section', { class: 'panel' }, h('h2', {}, t('On duty now')),
      h('table', { class: 'table', id: 'duty' }, h('tbody', {}, (d.shifts || []).map((s) => h('tr', {},
        h('td', {}, s.rotation_name || s.rotation || ''), h('td', { class: 'strong' }, s.name || s.person),
        h('td', {}, s.phone || s.mobile || ''), h('td', {}, `${fmtTime(s.from)} → ${fmtTime(s.to)}`), h('td', {}, s.holiday ? '节假日' : '', s.overridden ? ' 调班' : ''))))),
));
}
