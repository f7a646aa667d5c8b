// ui.js: building the page. Every value reaches the DOM as a text node or an attribute set
// through the DOM, never as HTML, so a title like "<script>" shows as text.
import { t, lang } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function mount(...children) {
  const app = document.getElementById('app');
  app.replaceChildren();
  append(app, children);
  labelCells(app);
  return app;
}

// On a phone each table row is a card (app.css): each cell is led by its column's name, taken
// from the table's head; a cell that names itself (data-label) keeps its own.
export function labelCells(root) {
  for (const table of root.querySelectorAll('table.table')) {
    const head = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
    if (!head.length) continue;
    for (const tr of table.querySelectorAll('tbody tr'))
      [...tr.children].forEach((td, i) => { if (head[i] && !td.hasAttribute('data-label') && i > 0) td.setAttribute('data-label', head[i]); });
  }
}

// A page mounts only for the navigation that started it. Pages wait for their data; if the
// user has gone to another page meanwhile (or a live refresh races a navigation), the late page
// must not cover the one on show. The router counts navigations; a page takes view() as its
// first, synchronous step, and mounting through it after a newer navigation throws Stale, which
// stops the page before it installs listeners or timers for a page no longer shown.
let shown = 0;
export class Stale extends Error {}
export function navigated() { shown += 1; }
export function view() {
  const mine = shown;
  const show = (...children) => {
    if (mine !== shown) throw new Stale('page left before it loaded');
    return mount(...children);
  };
  show.current = () => mine === shown;
  return show;
}
// Live events come in bursts (a clock tick that escalates a thousand incidents sends a thousand
// events): a page that renders again on each would fire requests until the browser refuses them
// (net::ERR_INSUFFICIENT_RESOURCES; bench/console.mjs found a list load held up 9-30 s so). At most
// once per `ms`, and once more after the burst.
export function throttled(fn, ms = 1000) {
  let last = 0;
  let timer = null;
  return (...args) => {
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) { last = Date.now(); fn(...args); return; }
    timer = setTimeout(() => { timer = null; last = Date.now(); fn(...args); }, wait);
  };
}

// A page that renders itself again (live updates, after a save) outside the router.
export function refresh(page, ...args) {
  page(...args).catch((e) => { if (!(e instanceof Stale)) throw e; });
}

let zone = 'Asia/Shanghai';
export function setZone(z) { if (z) zone = z; }

// One formatter per zone and precision: making an Intl.DateTimeFormat costs far more than using
// one (the dashboard formats tens of thousands of times; made each time, that took two seconds).
const formatters = new Map();
function formatter(seconds) {
  const key = `${zone}|${seconds}`;
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.DateTimeFormat('zh-CN', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined, hour12: false }));
  }
  return formatters.get(key);
}

export function fmtTime(iso, { seconds = false } = {}) {
  if (!iso) return '—';
  const d = new Date(iso);
  const p = formatter(seconds).formatToParts(d);
  const g = (k) => (p.find((x) => x.type === k) || {}).value;
  return `${g('year')}-${g('month')}-${g('day')} ${g('hour')}:${g('minute')}${seconds ? ':' + g('second') : ''}`;
}


// "剩余 12 分" / "已超时 3 时 5 分" for a due time, against now.
// outcome: how a settled deadline ended (met, waived, missed: an ended incident's open ones).
export function countdown(dueIso, metIso, outcome) {
  if (outcome === 'waived') return { text: t('waived'), cls: 'met' };
  if (outcome === 'missed') return { text: t('missed'), cls: 'overdue' };
  if (metIso) return { text: new Date(metIso) > new Date(dueIso) ? t('met late') : t('met'), cls: 'met' };
  const ms = new Date(dueIso).getTime() - Date.now();
  const abs = Math.abs(ms), m = Math.floor(abs / 60000), hh = Math.floor(m / 60), dd = Math.floor(hh / 24);
  const en = lang() === 'en';
  const span = dd ? (en ? `${dd}d ${hh % 24}h` : `${dd} 天 ${hh % 24} 时`)
    : hh ? (en ? `${hh}h ${m % 60}m` : `${hh} 时 ${m % 60} 分`)
    : (en ? `${m}m ${Math.floor(abs / 1000) % 60}s` : `${m} 分 ${Math.floor(abs / 1000) % 60} 秒`);
  if (ms < 0) return { text: `${t('overdue by')} ${span}`, cls: 'overdue' };
  return { text: `${t('left')} ${span}`, cls: ms < 15 * 60000 ? 'soon' : 'ok' };
}

// The national warning colours (red, orange, yellow, blue) on the level badge.
export function levelBadge(inc) {
  return h('span', { class: `badge level-${inc.warning_color || 'none'}`, title: inc.national_level_name || '' },
    inc.level_name || inc.level || '', inc.national_level ? ` · ${inc.national_level}` : '');
}

export function statusBadge(status, label) {
  return h('span', { class: `badge status-${status}` }, label);
}

let toastTimer;
export function toast(msg, kind = 'info') {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

// A labelled field; the input gets an id so the label works for screen readers and clicks.
let fieldSeq = 0;
export function field(label, input, hint) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, ` ${hint}`) : null), input);
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

// Runs an async action from a form or button, showing the server's message on failure.
export async function attempt(fn, okMsg) {
  try {
    const r = await fn();
    if (okMsg) toast(okMsg, 'ok');
    return r;
  } catch (e) {
    toast(e.message || String(e), 'error');
    return undefined;
  }
}

// ECharts (embedded, from npm), loaded the first time a chart is drawn.
let echartsLoading;
export function loadEcharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  echartsLoading = echartsLoading || new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/echarts.min.js';
    s.onload = () => resolve(window.echarts);
    s.onerror = reject;
    document.head.append(s);
  });
  return echartsLoading;
}

