// 上报事件: the form a department informant fills in on a phone — what happened, when, where it
// was seen, its scope — the content both plans ask of a first report.
import { post, upload } from '../api.js';
import { t } from '../i18n.js';
import { h, view, field, errorBox } from '../ui.js';
import { state } from '../app.js';

export function reportPage() {
  const mount = view();
  const plan = state.plan;
  const msg = h('div', { class: 'form-msg' });
  const typeSel = h('select', { name: 'type', required: true },
    plan.classes.map((c) => h('optgroup', { label: c.name }, plan.types.filter((x) => x.class === c.id).map((x) => h('option', { value: x.id }, x.name)))));
  const assetSel = h('select', { name: 'asset' }, h('option', { value: '' }, '—'), plan.assets.map((a) => h('option', { value: a.id }, a.name)));
  const chosen = h('span', { class: 'muted', id: 'chosen' });
  const fileInput = h('input', { name: 'screenshot', type: 'file', class: 'visually-hidden', 'aria-label': t('Attachment'),
    accept: 'image/png,image/jpeg,image/gif,image/webp', onchange: () => { chosen.textContent = fileInput.files[0] ? ` ${fileInput.files[0].name}` : ''; } });
  const form = h('form', { class: 'report-form', onsubmit: async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    const f = new FormData(form), body = {};
    for (const [k, v] of f.entries()) if (v) body[k] = v;
    if (body.occurred_at) body.occurred_at = new Date(body.occurred_at).toISOString();
    if (body.drill) body.drill = true;
    try {
      const file = form.elements.screenshot.files[0];
      delete body.screenshot;
      const inc = await post('/api/v1/incidents', body);
      let attached = null;
      if (file) {
        try {
          attached = await upload(`/api/v1/incidents/${inc.id}/attachments?name=${encodeURIComponent(file.name)}`, file);
        } catch (e) {
          attached = e;
        }
      }
      mount(h('section', { class: 'panel narrow done-box' }, h('h1', {}, t('Reported as'), ' ', h('a', { href: `/incidents/${inc.number}`, id: 'reported-number' }, inc.number)),
        h('p', {}, inc.title), h('p', { class: 'muted' }, `${inc.type_name} · ${inc.level_name} → ${inc.unit_name}`),
        attached instanceof Error ? errorBox(attached) : attached ? h('p', { id: 'attached' }, `${t('Attachment')}：${attached.name}`) : null,
        h('a', { class: 'button', href: '/report' }, t('Report'))));
    } catch (e) {
      msg.replaceChildren(errorBox(e));
      if (e.field && form.elements[e.field]) form.elements[e.field].focus();
    }
  } },
  field(t('Type'), typeSel),
  field(t('Title'), h('input', { name: 'title', required: true, maxlength: 200, placeholder: t('e.g. unknown links on the home page') })),
  field(t('What happened'), h('textarea', { name: 'source', rows: 3, placeholder: t('How it was found, where (address, what the screenshot shows)') })),
  field(t('Scope'), h('textarea', { name: 'scope', rows: 2 }), t('optional')),
  field(t('Asset'), assetSel, t('optional')),
  field(t('Occurred at'), h('input', { name: 'occurred_at', type: 'datetime-local' }), t('optional')),
  h('div', { class: 'field' }, h('span', { class: 'label' }, t('Attachment'), h('span', { class: 'hint' }, ` ${t('optional')}`)),
    // Our own words on the file button (the browser's would be in the browser's language).
    h('label', { class: 'button file-button' }, t('Choose a screenshot'), fileInput), chosen),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'drill', value: '1' }), ' ', t('Drill')),
  msg, h('button', { type: 'submit', class: 'primary wide' }, t('Submit report')));
  mount(h('section', { class: 'panel narrow' }, h('h1', {}, t('Report')), form));
}
