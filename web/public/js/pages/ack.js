// 确认接报 from the message itself: the one-time link a notification carries. No login: the link
// is the person's own. Opening it shows what it acknowledges; the press acknowledges (a chat
// application's link preview opens links too, and must not acknowledge for anyone).
import { get, post } from '../api.js';
import { t } from '../i18n.js';
import { h, view, fmtTime, errorBox } from '../ui.js';

export async function ackPage(token) {
  const mount = view();
  const path = `/api/v1/ack/${encodeURIComponent(token)}`;
  let link;
  try {
    link = await get(path);
  } catch (e) {
    mount(h('section', { class: 'panel narrow' }, h('h1', {}, t('Acknowledge')), errorBox(e),
      h('a', { class: 'button', href: '/' }, t('Log in'))));
    return;
  }
  const done = (r) => h('p', { class: 'ok-box', id: 'ack-done' }, `${t('Acknowledged')}：${r.number}，${fmtTime(r.acknowledged_at)}`);
  const button = h('button', { type: 'button', class: 'primary wide', id: 'ack-link', onclick: async () => {
    button.disabled = true;
    try {
      const r = await post(path);
      box.replaceChildren(done(r), h('a', { class: 'button', href: `/incidents/${r.number}` }, t('Open the incident')));
    } catch (e) {
      box.replaceChildren(errorBox(e));
    }
  } }, t('Acknowledge'));
  const box = h('div', {}, link.acknowledged_at ? done(link) : button);
  mount(h('section', { class: 'panel narrow' }, h('h1', {}, t('Acknowledge')),
    h('p', { class: 'muted' }, link.number), h('p', { class: 'strong', id: 'ack-title' }, link.title),
    link.person_name ? h('p', {}, `${t('Acknowledged by')}：${link.person_name}`) : null, box));
}
