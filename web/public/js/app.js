// app.js: the console's shell — session, navigation, the live event stream, and the router. Every
// page is a real path the server answers with the console (src/http/web.c keeps the same list):
// a link in a message opens /incidents/YJ-2026-0001 in one tap, and /incidents?status=reported
// keeps filters in the URL, so a reload or a shared link shows the same list.
import { get, del, setCsrf, ApiError } from './api.js';
import { t, lang, setLang } from './i18n.js';
import { alertFor } from './alerts.js';
import { h, view, navigated, Stale, setZone, errorBox } from './ui.js';
import { loginPage } from './pages/login.js';
import { dashboardPage } from './pages/dashboard.js';
import { incidentsPage } from './pages/incidents.js';
import { incidentPage } from './pages/incident.js';
import { reportPage } from './pages/report.js';
import { passwordPage } from './pages/password.js';
import { planPage } from './pages/plan.js';
import { dutyPage } from './pages/duty.js';
import { usersPage } from './pages/users.js';
import { ackPage } from './pages/ack.js';
import { auditPage } from './pages/audit.js';
import { monitorsPage, monitorPage } from './pages/monitors.js';
import { directoryPage } from './pages/directory.js';
import { channelsPage } from './pages/channels.js';

export const state = { user: null, plan: null, listener: null, source: null };

const routes = [
  { re: /^\/$/, page: dashboardPage },
  { re: /^\/incidents$/, page: incidentsPage },
  { re: /^\/incidents\/([^/]+)$/, page: incidentPage },
  { re: /^\/report$/, page: reportPage },
  { re: /^\/password$/, page: passwordPage },
  { re: /^\/plan$/, page: planPage },
  { re: /^\/duty$/, page: dutyPage },
  { re: /^\/monitors$/, page: monitorsPage, roles: ['admin', 'leader', 'responder', 'duty', 'auditor'] },
  { re: /^\/monitors\/([^/]+)$/, page: monitorPage, roles: ['admin', 'leader', 'responder', 'duty', 'auditor'] },
  { re: /^\/users$/, page: usersPage, roles: ['admin'] },
  { re: /^\/directory$/, page: directoryPage },
  { re: /^\/channels$/, page: channelsPage, roles: ['admin'] },
  { re: /^\/audit$/, page: auditPage, roles: ['admin', 'auditor'] },
  { re: /^\/ack\/([^/]+)$/, page: ackPage },
];

// The page on show listens to live events (one listener: a page that renders itself again
// replaces its own); navigation clears it.
export function onLive(fn) { state.listener = fn; }

function startStream() {
  if (state.source) return;
  const es = new EventSource('/api/v1/events');
  const deliver = (kind) => (ev) => {
    let data = null;
    try { data = JSON.parse(ev.data); } catch { /* keep null */ }
    alertFor(kind, data, (number) => go(`/incidents/${number}`));
    if (state.listener) state.listener(kind, data);
  };
  es.addEventListener('incident.created', deliver('incident.created'));
  es.addEventListener('incident.changed', deliver('incident.changed'));
  es.onopen = () => document.body.classList.remove('offline');
  es.onerror = () => document.body.classList.add('offline');
  state.source = es;
}

function stopStream() {
  if (state.source) state.source.close();
  state.source = null;
}

function nav() {
  const role = state.user.role;
  const items = [['/', t('Situation')], ['/incidents', t('Incidents')], ['/report', t('Report')],
    ['/plan', t('Plan')], ['/duty', t('Duty')], ['/directory', t('Directory')]];
  if (role !== 'officer') items.splice(2, 0, ['/monitors', t('Monitors')]);
  if (role === 'admin') items.push(['/channels', t('Channels')], ['/users', t('Users')]);
  if (role === 'admin' || role === 'auditor') items.push(['/audit', t('Audit')]);
  const path = location.pathname;
  const current = (href) => (href === '/' ? path === '/' : path === href || path.startsWith(href + '/'));
  document.getElementById('nav').replaceChildren(...items.map(([href, label]) =>
    h('a', { href, class: current(href) ? 'active' : null, 'aria-current': current(href) ? 'page' : null }, label)));
  document.getElementById('who').replaceChildren(
    h('span', { class: 'user', title: state.user.role }, state.user.name, ' · ', t(state.user.role)),
    h('button', { class: 'link', type: 'button', onclick: () => { setLang(lang() === 'en' ? 'zh' : 'en'); render(); } },
      lang() === 'en' ? '中文' : 'English'),
    h('a', { href: '/password' }, t('Password')),
    h('button', { class: 'link', type: 'button', onclick: logout }, t('Log out')));
  document.getElementById('brand-name').textContent = lang() === 'en' ? 'Emergency desk' : '应急响应平台';
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
}

async function logout() {
  try { await del('/api/v1/session'); } catch { /* already gone */ }
  state.user = null;
  stopStream();
  go('/');
}

export async function loggedIn(session) {
  state.user = session.user;
  state.desk = session.desk;
  setCsrf(session.csrf);
  // An account whose password must be changed may do nothing else first (the API answers 403).
  if (state.user.must_change_password) return;
  if (!state.plan) {
    state.plan = await get('/api/v1/plan');
    setZone(state.plan.plan && state.plan.plan.timezone);
  }
  startStream();
}

// After the directory changed (a phone number, a rotation, a swap): the plan as now in force.
export async function reloadPlan() {
  state.plan = await get('/api/v1/plan');
}

export function params() {
  return new URLSearchParams(location.search);
}

// To another page of the console without reloading it.
export function go(url, replace = false) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  render();
}

export async function render() {
  navigated();
  const show = view();
  state.listener = null;
  const here = location.pathname + location.search;
  if (here !== render.last) document.getElementById('toast').hidden = true; // a new page
  render.last = here;
  const topbar = document.getElementById('topbar');
  // A notification's one-time link works without a session: the link is the person's own.
  const ack = location.pathname.match(/^\/ack\/([^/]+)$/);
  if (ack && !state.user) {
    topbar.hidden = true;
    try { await ackPage(decodeURIComponent(ack[1])); } catch (e) { if (!(e instanceof Stale)) show(errorBox(e)); }
    return;
  }
  if (!state.user) {
    try {
      await loggedIn(await get('/api/v1/session'));
    } catch (e) {
      if (!show.current()) return;
      if (!(e instanceof ApiError) || e.status !== 401) {
        show(errorBox(e));
        return;
      }
      topbar.hidden = true;
      loginPage();
      return;
    }
    if (!show.current()) return; // navigated on while the session loaded: that render goes on
  }
  topbar.hidden = false;
  if (state.user.must_change_password) {
    document.getElementById('nav').replaceChildren();
    passwordPage(true);
    return;
  }
  nav();
  const path = location.pathname;
  const route = routes.find((r) => r.re.test(path));
  if (!route || (route.roles && !route.roles.includes(state.user.role))) {
    show(h('section', { class: 'panel' }, h('h1', {}, '404'), h('p', {}, path)));
    return;
  }
  const m = path.match(route.re);
  window.scrollTo(0, 0);
  try {
    await route.page(...m.slice(1).map(decodeURIComponent));
  } catch (e) {
    if (e instanceof Stale) return; // the user has gone on; that page is on show
    if (e instanceof ApiError && e.status === 401) {
      state.user = null;
      render();
      return;
    }
    try {
      show(h('section', { class: 'panel' }, errorBox(e)));
    } catch {
      return; // a newer navigation is on show
    }
  }
  document.getElementById('app').focus({ preventScroll: true });
}

// A click on a link to a page of the console stays in the page (a new tab, a download, the API
// and other sites are the browser's).
document.addEventListener('click', (ev) => {
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  if (a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/')) return;
  ev.preventDefault();
  go(u.pathname + u.search);
});
window.addEventListener('popstate', render);
// Links of the hash-routed console (#/incidents/…), kept in bookmarks and old messages.
if (location.hash.startsWith('#/')) history.replaceState(null, '', location.hash.slice(1));
render();
