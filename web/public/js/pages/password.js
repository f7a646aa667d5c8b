import { post } from '../api.js';
import { t } from '../i18n.js';
import { h, view, field, errorBox, toast } from '../ui.js';
import { state, render, go } from '../app.js';

// forced: the account must change its password before anything else (first login, or reset by
// an administrator); the page says so and is all there is.
export function passwordPage(forced = false) {
  const mount = view();
  const old = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const nw = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 10 });
  const msg = h('div', { class: 'form-msg' });
  mount(h('section', { class: 'panel narrow' }, h('h1', {}, t('Change password')),
    forced ? h('p', { class: 'hint-box' }, t('Set a password of your own before you go on')) : null,
    h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await post('/api/v1/session/password', { old: old.value, new: nw.value });
        toast(t('Password changed; log in again'), 'ok');
        state.user = null;
        // After the forced change, on to the page the person came for; else to the start.
        if (forced) render();
        else go('/');
      } catch (e) { msg.replaceChildren(errorBox(e)); }
    } }, field(t('Old password'), old), field(t('New password'), nw, '≥ 10'), msg,
    h('button', { type: 'submit', class: 'primary' }, t('Change password')))));
}
