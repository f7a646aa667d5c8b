// 事件详情: classification and routing, deadlines counting down, the lifecycle with the fields
// each move needs, the risk assessment, 启动预案, playbook tasks and approvals, notifications,
// the upward report, notes and the timeline.
import { get, post, put, patch, api, upload } from '../api.js';
import { t, tStatus, tDeadline, tTask } from '../i18n.js';
import { h, view, refresh, fmtTime, countdown, levelBadge, statusBadge, field, attempt, toast, throttled } from '../ui.js';
import { state, onLive } from '../app.js';
import { describe, timelineKind, actorName, recipientName, notificationStatus, actionName, personName } from '../names.js';

const NEXT = { reported: ['assessing', 'dismissed'], assessing: ['responding', 'dismissed'], responding: ['recovering'],
  recovering: ['reviewing'], reviewing: ['closed'] };
const ASSESS = ['source', 'scope', 'nature', 'trend', 'measures'];
const LATER = ['clues', 'support', 'scene'];
const LABEL = { source: 'Source', scope: 'Scope', nature: 'Nature', trend: 'Trend', measures: 'Measures', cause: 'Cause',
  loss: 'Loss', lessons: 'Lessons', clues: 'Clues', support: 'Support', scene: 'Scene' };

function dl(label, value) { return [h('dt', {}, label), h('dd', {}, value === null || value === undefined || value === '' ? '—' : value)]; }

function leaders() {
  const p = state.plan, ids = new Set();
  for (const g of p.groups) if (g.kind === 'leading') for (const id of [...(g.leaders || []), ...(g.deputies || [])]) ids.add(id);
  return [...ids].map((id) => { const x = p.people.find((q) => q.id === id); return [id, x ? x.name : id]; });
}

function owner(tk) {
  const p = state.plan;
  const u = tk.owner_unit && p.units.find((x) => x.id === tk.owner_unit);
  const r = tk.owner_role && (p.roles || []).find((x) => x.id === tk.owner_role);
  return u ? u.name : r ? r.name : tk.owner_unit || tk.owner_role || '';
}

// 启动预案 is the leading group's decision, recorded as the person who takes it: a leader records
// their own; an administrator may record a leader's on their behalf (代录), with the reason; an
// account that is no leader of the plan records none.
function activationForm(base, reload) {
  const me = state.user.person;
  const mine = me && leaders().some(([id]) => id === me);
  const proxy = !mine && state.user.role === 'admin';
  if (!mine && !proxy) return h('p', { class: 'muted', id: 'activation-none' }, t('Only a leader of the leading group records this decision; this account is none in the plan.'));
  const form = h('form', { id: 'activation', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(form), body = { reason: f.get('reason') };
    if (proxy) { body.by = f.get('by'); body.on_behalf = f.get('on_behalf'); }
    if (await attempt(() => post(`${base}/activation`, body), t('Plan activated'))) reload();
  } },
  mine ? h('p', { class: 'strong', id: 'decider' }, `${t('Decided by')}：${personName(me)}（${t('yourself')}）`)
    : field(t('Decided by'), h('select', { name: 'by' }, leaders().map(([id, name]) => h('option', { value: id }, name)))),
  field(t('Reason'), h('input', { name: 'reason', required: true })),
  proxy ? field(t('Recorded on behalf because'), h('input', { name: 'on_behalf', required: true, placeholder: t('e.g. decided by telephone') })) : null,
  h('button', { type: 'submit', class: 'primary' }, proxy ? t('Record on behalf') : t('Record decision')));
  return form;
}

function textArea(name, value) { return h('textarea', { name, rows: 2, value: value || '' }); }

export async function incidentPage(ref) {
  const mount = view();
  const inc = await get(`/api/v1/incidents/${encodeURIComponent(ref)}`);
  const base = `/api/v1/incidents/${inc.id}`;
  const [tasks, notes, files, people] = await Promise.all([get(`${base}/tasks`), get(`${base}/notifications`).catch(() => ({ items: [] })),
    get(`${base}/attachments`).catch(() => ({ items: [] })), get('/api/v1/assignees').catch(() => ({ items: [] }))]);
  // Accounts by the person each is (黄裕萍（huang）), for 负责人.
  const who = (name) => { const a = people.items.find((x) => x.name === name); return !name ? t('nobody yet') : a && a.person_name ? `${a.person_name}（${name}）` : name; };
  const assignSelect = (current, onpick, label) => h('select', { 'aria-label': label, class: 'assign', onchange: (ev) => onpick(ev.target.value || null) },
    h('option', { value: '' }, t('nobody yet')), people.items.map((a) => h('option', { value: a.name, selected: a.name === current ? true : null }, who(a.name))));
  // What this role may do comes from the server's role matrix (session.user.may).
  const may = (what) => (state.user.may || []).includes(what);
  const canApprove = may('incidents.task_approval');
  const mayMove = (to) => may('incidents.move') && (to !== 'closed' || may('incidents.move:closed'));
  const open = !['closed', 'dismissed'].includes(inc.status);
  const reload = () => refresh(incidentPage, ref);
  const level = state.plan.levels.find((l) => l.id === inc.level);
  const type = state.plan.types.find((x) => x.id === inc.type);

  // Deadlines, counting down each second.
  const clocks = [];
  // An owed report the leading group may excuse (豁免), with a reason that goes on the record.
  const WAIVABLE = ['upward_report', 'supplement', 'summary_report'];
  const deadlines = h('table', { class: 'table', id: 'deadlines' }, h('tbody', {}, inc.deadlines.map((d) => {
    const cd = h('span', { class: 'countdown' });
    clocks.push([cd, d]);
    const waive = !d.met_at && WAIVABLE.includes(d.kind) && may('incidents.waive')
      ? h('button', { type: 'button', class: 'small', 'data-waive': d.kind, onclick: async () => {
        const reason = prompt(t('Why is this report not owed?'));
        if (reason && await attempt(() => post(`${base}/deadlines/${d.kind}/waiver`, { reason }), t('Waived'))) reload();
      } }, t('Waive')) : null;
    return h('tr', { class: d.met_at || d.outcome ? 'dl-settled' : 'dl-open' }, h('td', { class: 'strong' }, tDeadline(d.kind)), h('td', { 'data-label': t('due') }, fmtTime(d.due_at)), h('td', {}, cd,
      d.waived ? h('div', { class: 'muted' }, d.waived.reason) : null), h('td', { class: 'btns' }, waive));
  })));
  const tick = () => { for (const [el, d] of clocks) { const c = countdown(d.due_at, d.met_at, d.outcome); el.textContent = c.text; el.className = `countdown ${c.cls}`; } };
  tick();
  const timer = setInterval(() => { if (!document.body.contains(deadlines)) clearInterval(timer); else tick(); }, 1000);

  // The lifecycle: one form per next status, with the fields the move needs.
  const moves = h('div', { class: 'moves' });
  for (const to of (NEXT[inc.status] || []).filter(mayMove)) {
    const fields = [];
    if (to === 'responding') {
      for (const k of ASSESS) fields.push(field(t(LABEL[k]), textArea(k, inc[k])));
      fields.push(field(t('Level'), h('select', { name: 'level' }, (type ? type.levels : [inc.level]).map((l) => {
        const lv = state.plan.levels.find((x) => x.id === l);
        return h('option', { value: l, selected: l === inc.level ? true : null }, lv ? `${lv.name}（${lv.national}）` : l);
      }))));
      if (level && level.activation && !inc.activated_at)
        fields.push(h('p', { class: 'hint-box' }, t('Activate the plan'), ' — ', t('This level needs the leading group\'s decision first (on the right).')));
    }
    if (to === 'closed') for (const k of ['cause', 'loss', 'lessons']) fields.push(field(t(LABEL[k]), textArea(k, inc[k])));
    if (to === 'dismissed') fields.push(field(t('Reason'), h('input', { name: 'reason', required: true })));
    const form = h('form', { class: `move move-${to}`, onsubmit: async (ev) => {
      ev.preventDefault();
      const f = new FormData(form), body = { status: to }, fl = {};
      for (const [k, v] of f.entries()) { if (k === 'reason') body.reason = v; else if (v) fl[k] = v; }
      if (Object.keys(fl).length) body.fields = fl;
      // The assessment is kept even when the move is refused (say 启动预案 is still to decide).
      if (to === 'responding' && !(await attempt(() => put(`${base}/assessment`, fl)))) return;
      if (await attempt(() => post(`${base}/move`, body), `${t('Move to')} ${tStatus(to)}`)) reload();
      else if (to === 'responding') reload();
    } }, fields, h('button', { type: 'submit', class: to === 'dismissed' ? 'danger' : 'primary' }, `${to === 'dismissed' ? t('Dismiss') : t('Move to') + ' ' + tStatus(to)}`));
    moves.append(fields.length ? h('details', { class: 'move-box' }, h('summary', {}, to === 'dismissed' ? t('Dismiss') : `${t('Move to')}：${tStatus(to)}`), form) : form);
  }

  // Risk assessment and the later findings, without a status change.
  const assessForm = h('form', { id: 'assess', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(assessForm), body = {};
    for (const [k, v] of f.entries()) if (v !== (inc[k] || '')) body[k] = v;
    if (!Object.keys(body).length) return;
    if (await attempt(() => put(`${base}/assessment`, body), t('Saved'))) reload();
  } }, [...ASSESS, ...LATER].map((k) => field(t(LABEL[k]), textArea(k, inc[k]))), h('button', { type: 'submit' }, t('Save assessment')));

  // 启动预案.
  const activation = inc.activated_at
    ? h('p', { class: 'ok-box', id: 'activation' }, `${t('Plan activated')}：${fmtTime(inc.activated_at)}，${personName(inc.activated_by) || inc.activated_by}；${t('Reason')}：`, inc.activation_reason || '')
    : may('incidents.activate') && open ? activationForm(base, reload) : h('p', { class: 'muted' }, '—');

  // Playbook tasks.
  const taskRows = tasks.items.map((tk) => {
    const btns = [];
    const pending = tk.approval_decision && tk.approval_decision.status === 'pending';
    if (canApprove && pending) {
      btns.push(h('button', { type: 'button', class: 'small', onclick: async () => { if (await attempt(() => post(`${base}/tasks/${tk.id}/approval`, { approve: true }), t('Approve'))) reload(); } }, t('Approve')));
      btns.push(h('button', { type: 'button', class: 'small danger', onclick: async () => {
        const reason = prompt(t('Reason'));
        if (reason && await attempt(() => post(`${base}/tasks/${tk.id}/approval`, { approve: false, reason }), t('Reject'))) reload();
      } }, t('Reject')));
    }
    if (may('incidents.task_update') && open && !pending && (tk.status === 'todo' || tk.status === 'doing')) {
      if (tk.status === 'todo') btns.push(h('button', { type: 'button', class: 'small', onclick: async () => { if (await attempt(() => patch(`${base}/tasks/${tk.id}`, { status: 'doing' }))) reload(); } }, t('Start')));
      btns.push(h('button', { type: 'button', class: 'small primary', 'data-task': tk.id, onclick: async () => { if (await attempt(() => patch(`${base}/tasks/${tk.id}`, { status: 'done' }))) reload(); } }, t('Done')));
      btns.push(h('button', { type: 'button', class: 'small', onclick: async () => {
        const reason = prompt(t('Reason'));
        if (reason && await attempt(() => patch(`${base}/tasks/${tk.id}`, { status: 'skipped', reason }))) reload();
      } }, t('Skip')));
    }
    return h('tr', { class: `task-${tk.status}` }, h('td', { class: 'muted' }, tk.phase ? tStatus(tk.phase) : ''),
      h('td', { class: 'title-cell strong' }, tk.title, tk.action && tk.action !== 'none' ? h('span', { class: 'tag' }, actionName(tk.action)) : null,
        pending ? h('span', { class: 'tag warn' }, t('Awaiting approval')) : null, tk.reason ? h('div', { class: 'muted' }, tk.reason) : null),
      h('td', { 'data-label': t('Owner') }, owner(tk), h('div', { class: 'task-assignee' },
        may('incidents.task_update') && open && !['done', 'skipped'].includes(tk.status)
          ? assignSelect(tk.assignee, async (name) => { if (await attempt(() => patch(`${base}/tasks/${tk.id}`, { assignee: name }), t('Saved'))) reload(); }, t('Assignee'))
          : tk.assignee ? who(tk.assignee) : null)),
      h('td', { 'data-label': t('Deadline') }, tk.due_at ? fmtTime(tk.due_at) : ''),
      h('td', { 'data-label': t('Status'), class: 'nowrap' }, tTask(tk.status)), h('td', { class: 'btns' }, btns));
  });

  // The upward report and its submission.
  const upward = h('pre', { class: 'markdown', id: 'upward' });
  api('GET', `${base}/upward-report`, undefined, { raw: true }).then((md) => { upward.textContent = md; }).catch(() => {});
  const upwardForm = may('incidents.upward_submit') ? h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await attempt(() => post(`${base}/upward-report`, { to: new FormData(ev.target).get('to') || undefined }));
    if (r) { toast(r.missing.length ? `${t('Missing items')}：${r.missing.join('、')}` : t('Saved'), 'ok'); reload(); }
  } }, h('input', { name: 'to', placeholder: t('Submitted to'), 'aria-label': t('Submitted to') }), h('button', { type: 'submit' }, t('Record submission'))) : null;

  const noteForm = h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    const text = new FormData(noteForm).get('text');
    if (text && await attempt(() => post(`${base}/notes`, { text }))) reload();
  } }, h('input', { name: 'text', placeholder: t('Add note'), 'aria-label': t('Add note'), required: true }), h('button', { type: 'submit' }, t('Add note')));

  mount(
    h('div', { class: 'page-head incident-head' },
      h('div', {}, h('div', { class: 'muted' }, inc.number, inc.drill ? h('span', { class: 'tag' }, t('Drill')) : null),
        h('h1', { id: 'incident-title' }, inc.title)),
      h('div', { class: 'head-badges' }, levelBadge(inc), statusBadge(inc.status, tStatus(inc.status)),
        may('incidents.ack') && open && !inc.acknowledged_at ? h('button', { type: 'button', class: 'primary', id: 'ack', onclick: async () => { if (await attempt(() => post(`${base}/ack`), t('Acknowledge'))) reload(); } }, t('Acknowledge')) : null)),
    h('div', { class: 'grid2 detail' },
      h('div', {},
        h('section', { class: 'panel sec-class' }, h('h2', {}, t('Classification'), ' · ', t('Routing')), h('dl', { class: 'facts' },
          dl(t('Type'), inc.type_name), dl('GB/T 20986', [inc.gbt_category, inc.gbt_subcategory].filter(Boolean).join(' / ')),
          dl(t('Level'), `${inc.level_name || inc.level}（${t('National level')} ${inc.national_level || '—'} ${inc.national_level_name || ''}）`),
          dl(t('Unit'), inc.unit_name),
          dl(t('Assignee'), may('incidents.assign') && open
            ? h('span', { id: 'assignee' }, assignSelect(inc.assignee, async (name) => {
              if (await attempt(() => post(`${base}/assignee`, { assignee: name }), t('Saved'))) reload();
            }, t('Assignee')), inc.assignee === state.user.name ? h('span', { class: 'tag' }, t('mine')) : null)
            : h('span', { id: 'assignee' }, who(inc.assignee))),
          dl(t('Reporter'), actorName(inc.reporter)), dl(t('Source'), inc.source),
          dl(t('Signals'), inc.signal_count || 0), dl(t('Reported'), fmtTime(inc.reported_at)))),
        h('section', { class: 'panel sec-status' }, h('h2', {}, t('Status')), moves.childNodes.length ? moves : h('p', { class: 'muted' }, '—')),
        h('section', { class: 'panel sec-tasks' }, h('h2', {}, t('Tasks')), taskRows.length ? h('table', { class: 'table', id: 'tasks' }, h('tbody', {}, taskRows)) : h('p', { class: 'muted' }, '—')),
        h('section', { class: 'panel sec-assess' }, h('h2', {}, t('Assessment')), may('incidents.assess') && open ? assessForm : h('dl', { class: 'facts' }, [...ASSESS, ...LATER].map((k) => dl(t(LABEL[k]), inc[k])))),
        h('section', { class: 'panel sec-upward' }, h('h2', {}, t('Upward report')), upwardForm, upward)),
      h('div', {},
        h('section', { class: 'panel sec-deadlines' }, h('h2', {}, t('Deadlines')), deadlines),
        h('section', { class: 'panel sec-activation' }, h('h2', {}, t('Activate the plan')), activation),
        h('section', { class: 'panel sec-files' }, h('h2', {}, t('Attachment')),
          h('div', { class: 'thumbs', id: 'attachments' }, files.items.map((f) => h('a', { href: f.url, target: '_blank', rel: 'noopener' },
            h('img', { src: f.url, alt: f.name, loading: 'lazy' }), h('span', {}, f.name)))),
          // The browser's own file button speaks the browser's language: a label of ours instead.
          open ? h('label', { class: 'button file-button' }, t('Upload a screenshot'), h('input', { type: 'file', class: 'visually-hidden',
            accept: 'image/png,image/jpeg,image/gif,image/webp', 'aria-label': t('Attachment'), onchange: async (ev) => {
              const file = ev.target.files[0];
              if (file && await attempt(() => upload(`${base}/attachments?name=${encodeURIComponent(file.name)}`, file), t('Saved'))) reload();
            } })) : null),
        h('section', { class: 'panel sec-notes' }, h('h2', {}, t('Notifications')),
          state.desk && !state.desk.channels ? h('p', { class: 'warn-box', id: 'no-channel' }, t('Notifications are not sent: no channel is configured')) : null,
          notes.items.length ? h('ul', { class: 'plain', id: 'notifications' }, notes.items.slice(-20).map((n) =>
            h('li', {}, h('span', { class: `badge n-${n.status}` }, notificationStatus(n.status)), ' ', recipientName(n.recipient), ' · ', n.subject))) : h('p', { class: 'muted' }, '—')),
        h('section', { class: 'panel sec-timeline' }, h('h2', {}, t('Timeline')), noteForm, h('ol', { class: 'timeline', id: 'timeline' }, [...inc.timeline].reverse().map((e) =>
          h('li', {}, h('time', {}, fmtTime(e.at, { seconds: true })), h('span', { class: 'actor' }, actorName(e.actor, e.actor_name), ' · ', h('span', { class: 'kind' }, timelineKind(e.kind))),
            h('span', { class: 'body' }, describe(e)))))))));
  // Someone else changed it: show the new state, unless the user is typing here (then say so).
  const again = throttled(() => reload());
  onLive((kind, data) => {
    if (!data || (data.id !== inc.id && data.number !== inc.number)) return;
    const a = document.activeElement;
    if (a && ['INPUT', 'TEXTAREA', 'SELECT'].includes(a.tagName) && document.getElementById('app').contains(a)) toast(t('Changed by someone else; save to see the latest'));
    else again();
  });
}
