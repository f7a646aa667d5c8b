// 监测: the scheduled monitors' status page — each target up or down, since when, uptime over a
// day / week / month, response time; one monitor's hourly response-time chart and its outages.
import { get } from '../api.js';
import { t } from '../i18n.js';
import { h, view, fmtTime, loadEcharts } from '../ui.js';
import { assetName, unitName } from '../names.js';

const pct = (w) => (w && w.uptime !== null ? `${w.uptime.toFixed(2)}%` : '—');
const ms = (v) => (v === null || v === undefined ? '—' : `${v} ms`);
const badge = (status) => h('span', { class: `badge ${status === 'up' ? 'ok' : status === 'down' ? 'bad' : ''}` },
  status === 'up' ? t('up') : status === 'down' ? t('down') : t('not checked yet'));

// What is wrong, in the console's language: a monitor that is up but whose certificate is near
// its end (the server's warning) says when it ends; an outage's reason is the check's own words.
const certSoon = (m) => m.status === 'up' && m.reason && m.cert_expires_at;
function problem(m) {
  if (!certSoon(m)) return m.reason || '';
  const days = Math.floor((new Date(m.cert_expires_at) - Date.now()) / 86400e3);
  return `${t('Certificate ends')} ${fmtTime(m.cert_expires_at)}（${days} ${t('days left')}）`;
}

// The server's own host, when `host:` is configured: each value against its limit.
function hostPanel(hs) {
  if (!hs) return null;
  const row = (name, v, limit, unit = '%') => h('tr', { class: limit && v !== null && v > limit ? 'row-bad' : '' },
    h('td', {}, name), h('td', { class: 'strong' }, v === null ? '—' : `${v.toFixed(1)}${unit}`), h('td', { class: 'muted' }, limit ? `${t('limit')} ${limit}${unit}` : ''));
  return h('section', { class: 'panel' }, h('h2', {}, t('This host')), h('table', { class: 'table', id: 'host' }, h('tbody', {},
    row(t('CPU'), hs.cpu, hs.limits.cpu), row(t('Memory'), hs.memory, hs.limits.memory), row(t('Load'), hs.load1, hs.limits.load, ''),
    hs.disks.map((d) => [row(`${t('Disk')} ${d.path}`, d.space, hs.limits.disk), row(`inode ${d.path}`, d.inodes, hs.limits.inodes)]),
    hs.networks.map((n) => row(`${t('Network')} ${n.name}`, n.bytes_per_s === null ? null : n.bytes_per_s / 1048576, hs.limits.network ? hs.limits.network / 1048576 : 0, ' MiB/s')))),
  h('p', { class: 'muted' }, `${t('Last check')} ${fmtTime(hs.at, { seconds: true })}`));
}

// The guarded pages and web roots with their baselines, and what they found last — each finding
// with its evidence: the diff of a changed file, the hidden link, the word in its context.
function guardPanel(sites, roots, found) {
  if (!sites.length && !roots.length) return null;
  const evidence = (sig) => {
    const f = sig.fields || {};
    if (f.diff) return f.diff;
    if (f.findings) return f.findings.map((x) => `${x.detail}\n${x.evidence}`).join('\n\n');
    return '';
  };
  return h('section', { class: 'panel' }, h('h2', {}, t('Web guard')),
    h('table', { class: 'table', id: 'guarded' }, h('tbody', {},
      sites.map((x) => h('tr', {}, h('td', {}, x.id), h('td', { class: 'muted' }, x.url),
        h('td', {}, x.baseline_at ? `${t('baseline')} ${fmtTime(x.baseline_at)}` : t('no baseline yet')))),
      roots.map((x) => h('tr', {}, h('td', {}, x.id), h('td', { class: 'muted' }, x.path),
        h('td', {}, x.baseline_at ? `${t('baseline')} ${fmtTime(x.baseline_at)}, ${x.files} ${t('files')}` : t('no baseline yet'),
          x.maintenance_until ? [' ', h('span', { class: 'badge' }, `${t('deployment window until')} ${fmtTime(x.maintenance_until)}`)] : null))))),
    h('h2', {}, t('Latest findings')),
    found.length ? h('ul', { class: 'plain', id: 'findings' }, found.map((sig) => h('li', {},
      h('div', {}, h('span', { class: 'muted' }, fmtTime(sig.time, { seconds: true }), ' '), sig.message,
        sig.incident ? h('a', { href: `/incidents/${sig.incident}` }, ` ${sig.incident}`) : null),
      evidence(sig) ? h('pre', { class: 'evidence' }, evidence(sig)) : null))) : h('p', { class: 'muted' }, '—'));
}

export async function monitorsPage() {
  const mount = view();
  const [{ items }, hs, sites, roots, web, files] = await Promise.all([get('/api/v1/monitors'),
    get('/api/v1/host').catch(() => null), get('/api/v1/sites').catch(() => ({ items: [] })),
    get('/api/v1/integrity').catch(() => ({ items: [] })), get('/api/v1/signals?source=webguard&limit=10').catch(() => ({ items: [] })),
    get('/api/v1/signals?source=integrity&limit=10').catch(() => ({ items: [] }))]);
  const found = [...web.items, ...files.items].sort((a, b) => (a.time < b.time ? 1 : -1)).slice(0, 10);
  const down = items.filter((m) => m.status === 'down').length;
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Monitors')),
    h('p', { class: 'muted' }, `${items.length} ${t('monitors')} · ${down} ${t('down')}`)),
  h('section', { class: 'panel' }, items.length ? h('table', { class: 'table', id: 'monitors' },
    h('thead', {}, h('tr', {}, [t('Monitor'), t('Status'), t('Since'), t('Response'), t('24 h'), t('7 d'), t('30 d'), t('Last problem')]
      .map((x) => h('th', {}, x)))),
    h('tbody', {}, items.map((m) => h('tr', { class: m.status === 'down' ? 'row-bad' : certSoon(m) ? 'row-warn' : '' },
      h('td', {}, h('a', { href: `/monitors/${encodeURIComponent(m.id)}` }, m.id), h('div', { class: 'muted small' }, m.target)),
      h('td', {}, badge(m.status)), h('td', {}, m.since ? fmtTime(m.since) : '—'), h('td', {}, m.status === 'down' ? '—' : ms(m.elapsed_ms)),
      h('td', {}, pct(m.day)), h('td', {}, pct(m.week)), h('td', {}, pct(m.month)), h('td', {}, problem(m))))))
    : h('p', { class: 'muted' }, t('No monitors are configured (monitors: in yingji.yaml)'))),
  guardPanel(sites.items, roots.items, found),
  hostPanel(hs));
}

export async function monitorPage(id) {
  const mount = view();
  const m = await get(`/api/v1/monitors/${encodeURIComponent(id)}`);
  const chart = h('div', { class: 'chart', id: 'response-chart' });
  mount(h('div', { class: 'page-head' }, h('h1', {}, m.id, ' ', badge(m.status)), h('p', { class: 'muted' }, m.target)),
    h('section', { class: 'panel' }, h('dl', { class: 'facts' },
      h('dt', {}, t('Since')), h('dd', {}, m.since ? fmtTime(m.since) : '—'),
      h('dt', {}, t('Last check')), h('dd', {}, m.checked_at ? `${fmtTime(m.checked_at, { seconds: true })}, ${ms(m.elapsed_ms)}${m.http_status ? `, HTTP ${m.http_status}` : ''}` : '—'),
      h('dt', {}, t('Last problem')), h('dd', {}, problem(m) || '—'),
      h('dt', {}, t('Certificate ends')), h('dd', {}, m.cert_expires_at ? fmtTime(m.cert_expires_at) : '—'),
      h('dt', {}, t('Uptime')), h('dd', { id: 'uptime' }, `24 h ${pct(m.day)} · 7 d ${pct(m.week)} · 30 d ${pct(m.month)}`),
      h('dt', {}, t('Interval')), h('dd', {}, m.interval_ms ? `${m.interval_ms / 1000} s` : '—'),
      h('dt', {}, t('Asset')), h('dd', {}, (m.asset && (assetName(m.asset) || m.asset)) || (m.unit && (unitName(m.unit) || m.unit)) || '—'))),
    h('section', { class: 'panel' }, h('h2', {}, t('Response time by hour')), chart),
    h('section', { class: 'panel' }, h('h2', {}, t('Changes')), m.changes.length ? h('table', { class: 'table', id: 'changes' },
      h('tbody', {}, m.changes.map((c) => h('tr', {}, h('td', {}, fmtTime(c.at, { seconds: true })), h('td', {}, badge(c.status)),
        h('td', {}, c.reason || ''))))) : h('p', { class: 'muted' }, '—')));
  try {
    const echarts = await loadEcharts();
    if (!document.body.contains(chart)) return;
    const c = echarts.init(chart, null, { renderer: 'canvas' });
    const few = m.hours.length < 48; // a line of one or two hours is only visible as points
    c.setOption({
      animation: false, grid: { left: 48, right: 48, top: 28, bottom: 24 }, tooltip: { trigger: 'axis' },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      xAxis: { type: 'category', data: m.hours.map((x) => fmtTime(x.hour).slice(5, 16)), axisLabel: { fontSize: 10 } },
      yAxis: [{ type: 'value', name: 'ms' }, { type: 'value', name: t('failed'), minInterval: 1 }],
      series: [
        { name: t('mean'), type: 'line', data: m.hours.map((x) => x.mean_ms), showSymbol: few },
        { name: t('max'), type: 'line', data: m.hours.map((x) => x.max_ms), showSymbol: few, lineStyle: { type: 'dashed' } },
        { name: t('failed'), type: 'bar', yAxisIndex: 1, data: m.hours.map((x) => x.failures), itemStyle: { color: '#c62828' } },
      ],
    });
    window.addEventListener('resize', () => c.resize(), { once: true });
  } catch {
    chart.textContent = t('chart unavailable');
  }
}
