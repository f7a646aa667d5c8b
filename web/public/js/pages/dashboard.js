// 态势: what is open, how severe, what is due or overdue, the last 30 days; live.
import { get } from '../api.js';
import { t, tStatus, tDeadline, lang } from '../i18n.js';
import { h, view, refresh, fmtTime, countdown, levelBadge, loadEcharts, throttled } from '../ui.js';
import { onLive, state } from '../app.js';
import { alertsOn, setAlerts, notificationsPossible } from '../alerts.js';

const COLORS = { red: '#c62828', orange: '#ef6c00', yellow: '#f9a825', blue: '#1565c0' };

function counted(items, key, name) {
  const m = new Map();
  for (const i of items) {
    const k = i[key] || '—';
    const e = m.get(k) || { label: i[name] || k, n: 0, item: i };
    e.n++;
    m.set(k, e);
  }
  return [...m.values()].sort((a, b) => b.n - a.n);
}

function bars(title, rows, colorOf) {
  const max = Math.max(1, ...rows.map((r) => r.n));
  return h('section', { class: 'panel' }, h('h2', {}, title),
    rows.length ? h('ul', { class: 'bars' }, rows.map((r) => h('li', {},
      h('span', { class: 'bar-label' }, r.label),
      h('span', { class: 'bar-track' }, h('span', { class: `bar-fill ${colorOf ? 'c-' + colorOf(r) : ''}`, 'data-w': Math.round((100 * r.n) / max) })),
      h('span', { class: 'bar-n' }, r.n)))) : h('p', { class: 'muted' }, '—'));
}

export async function dashboardPage() {
  const mount = view();
  // What is open (the most severe first), the latest, and the daily counts: three small answers,
  // whatever the size of the store.
  const [open, recent, daily] = await Promise.all([
    get('/api/v1/incidents?limit=500&sort=severity&status=open'),
    get('/api/v1/incidents?limit=8&sort=-reported_at'),
    get('/api/v1/stats/daily?days=30'),
  ]);
  const openItems = open.items;
  const due = [];
  for (const i of openItems)
    for (const d of i.deadlines || [])
      if (!d.met_at) due.push({ inc: i, d });
  due.sort((a, b) => new Date(a.d.due_at) - new Date(b.d.due_at));
  const overdue = due.filter((x) => new Date(x.d.due_at) < Date.now());
  const soon = due.filter((x) => { const ms = new Date(x.d.due_at) - Date.now(); return ms >= 0 && ms < 3600e3; });

  const clocks = [];
  const deadlineRows = due.slice(0, 12).map(({ inc, d }) => {
    const cd = h('span', { class: 'countdown' });
    clocks.push([cd, d]);
    return h('tr', { class: new Date(d.due_at) < Date.now() ? 'row-overdue' : null },
      h('td', {}, h('a', { href: `/incidents/${inc.number}` }, inc.number)),
      h('td', { class: 'title-cell' }, inc.title), h('td', {}, tDeadline(d.kind)),
      h('td', { class: 'nowrap' }, fmtTime(d.due_at)), h('td', { class: 'nowrap' }, cd));
  });
  const tick = () => { for (const [el, d] of clocks) { const c = countdown(d.due_at, d.met_at, d.outcome); el.textContent = c.text; el.className = `countdown ${c.cls}`; } };
  tick();

  const trend = h('div', { class: 'chart', id: 'trend', role: 'img', 'aria-label': t('30-day trend') });
  // Latest signals (not for unit officers: signals are not scoped to a unit), refreshed every 5 s.
  const signals = state.user.role === 'officer' ? null : h('tbody', {});
  const fillSignals = async () => {
    if (!signals || !document.body.contains(signals)) return;
    const s = await get('/api/v1/signals?limit=10').catch(() => ({ items: [] }));
    signals.replaceChildren(...s.items.map((x) => h('tr', {}, h('td', { class: 'nowrap' }, fmtTime(x.time, { seconds: true })),
      h('td', {}, x.host || x.source), h('td', { class: 'title-cell msg' }, x.program ? `${x.program}: ` : '', x.message),
      h('td', {}, x.rule || ''), h('td', { class: 'nowrap' }, x.incident ? h('a', { href: `/incidents/${x.incident}` }, x.incident) : ''))));
    if (!s.items.length) signals.replaceChildren(h('tr', {}, h('td', { class: 'muted' }, '—')));
  };
  // What the administrator must fix before the desk can reach anyone.
  const desk = state.desk || {};
  const warnings = state.user.role !== 'admin' ? [] : [
    !desk.channels && h('p', { class: 'warn-box', id: 'no-channel' }, h('strong', {}, t('No notification channel is configured')), '：',
      t('new incidents and passed deadlines are sent to nobody. Add a WeCom, DingTalk, Feishu, SMS, email or webhook channel on the Channels page (or under channels: in the config).'),
      ' ', h('a', { href: '/channels' }, t('Channels'))),
    !desk.public_url && h('p', { class: 'warn-box', id: 'no-public-url' }, h('strong', {}, t('public_url is not set')), '：',
      t('messages carry no link to the incident. Set public_url in the config to the address people open the console at.')),
  ].filter(Boolean);
  // Opt-in alerts: a tone and a desktop notification for new incidents and passed deadlines.
  const alertsButton = h('button', { type: 'button', class: 'small', id: 'alerts', 'aria-pressed': String(alertsOn()) });
  const alertsNote = h('span', { class: 'muted small-text', id: 'alerts-note' });
  const showAlerts = (how) => {
    alertsButton.textContent = alertsOn() ? t('Alerts on') : t('Turn on alerts');
    alertsButton.setAttribute('aria-pressed', String(alertsOn()));
    alertsNote.textContent = !alertsOn() ? '' : how === 'sound' || !notificationsPossible() || Notification.permission !== 'granted'
      ? t('tone only: desktop notifications need HTTPS and the browser\'s permission') : '';
  };
  alertsButton.onclick = async () => showAlerts(await setAlerts(!alertsOn()));
  showAlerts();
  mount(
    h('div', { class: 'page-head' }, h('h1', {}, t('Situation')),
      h('span', { class: 'live-dot', title: t('Live') }, t('Live')), h('span', { class: 'head-tools' }, alertsNote, alertsButton)),
    warnings,
    h('div', { class: 'cards' },
      h('div', { class: 'card' }, h('div', { class: 'card-n', id: 'n-open' }, open.next ? `${openItems.length}+` : openItems.length), h('div', {}, t('Open incidents'))),
      h('div', { class: `card ${overdue.length ? 'card-alarm' : ''}` }, h('div', { class: 'card-n', id: 'n-overdue' }, overdue.length), h('div', {}, t('Overdue'))),
      h('div', { class: 'card' }, h('div', { class: 'card-n' }, soon.length), h('div', {}, t('Due soon'), ' (1h)'))),
    h('div', { class: 'grid3' },
      bars(t('By level'), counted(openItems, 'level', 'level_name'), (r) => r.item.warning_color),
      bars(t('By class'), counted(openItems, 'class', 'class_name')),
      bars(t('By unit'), counted(openItems, 'unit', 'unit_name'))),
    h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', {}, t('Deadlines')),
        deadlineRows.length ? h('table', { class: 'table' }, h('tbody', {}, deadlineRows)) : h('p', { class: 'muted' }, t('No open incidents'))),
      h('section', { class: 'panel' }, h('h2', {}, t('30-day trend')), trend)),
    signals ? h('section', { class: 'panel' }, h('h2', {}, t('Latest signals')), h('table', { class: 'table', id: 'signals' }, signals)) : null,
    h('section', { class: 'panel' }, h('h2', {}, t('Latest incidents')),
      h('table', { class: 'table', id: 'latest' }, h('tbody', {}, recent.items.slice(0, 8).map((i) => h('tr', {},
        h('td', {}, h('a', { href: `/incidents/${i.number}` }, i.number)), h('td', {}, levelBadge(i)),
        h('td', { class: 'title-cell' }, i.title), h('td', {}, tStatus(i.status)), h('td', {}, i.unit_name || i.unit),
        h('td', { class: 'nowrap' }, fmtTime(i.reported_at))))))));
  for (const el of document.querySelectorAll('.bar-fill')) el.style.width = `${el.dataset.w}%`;

  fillSignals();
  let seconds = 0;
  const timer = setInterval(() => {
    if (!document.body.contains(trend)) return clearInterval(timer);
    tick();
    if (++seconds % 5 === 0) fillSignals();
  }, 1000);
  onLive(throttled(() => { if (document.body.contains(trend)) refresh(dashboardPage); }));

  // 30 days, per day, by national warning colour (national level I red ... IV blue), counted by the server.
  const days = daily.items.map((x) => x.day);
  const series = ['red', 'orange', 'yellow', 'blue'].map((c, level) => ({
    name: ['I', 'II', 'III', 'IV'][level], type: 'bar', stack: 'n',
    itemStyle: { color: COLORS[c] },
    data: daily.items.map((x) => x.by_national_level[level]),
  }));
  try {
    const echarts = await loadEcharts();
    if (!document.body.contains(trend)) return;
    const chart = echarts.init(trend, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false, grid: { left: 32, right: 8, top: 28, bottom: 24 }, tooltip: { trigger: 'axis' },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      xAxis: { type: 'category', data: days.map((d) => d.slice(5)), axisLabel: { fontSize: 10 } },
      yAxis: { type: 'value', minInterval: 1 }, series,
    });
    window.addEventListener('resize', () => chart.resize(), { once: true });
  } catch {
    trend.textContent = t('chart unavailable');
  }
  void state;
}
