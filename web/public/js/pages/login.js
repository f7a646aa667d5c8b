import { post } from '../api.js';
import { t } from '../i18n.js';
import { h, view, field, errorBox } from '../ui.js';
import { loggedIn, render } from '../app.js';

export function loginPage() {
  const mount = view();
  const name = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { class: 'form-msg' });
  const form = h('form', { class: 'login panel', onsubmit: async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    try {
      const s = await post('/api/v1/session', { username: name.value, password: pw.value });
      await loggedIn(s);
      render();
    } catch (e) {
      msg.replaceChildren(errorBox(e));
      pw.select();
    }
  } },
  h('div', { class: 'login-mark', 'aria-hidden': 'true' }, '应'),
  h('h1', {}, t('Log in to the emergency desk')),
  h('p', { class: 'sub' }, t('Network and information security emergency response')),
  field(t('User name'), name), field(t('Password:login'), pw), msg,
  h('button', { type: 'submit', class: 'primary wide' }, t('Log in')));
  mount(h('div', { class: 'login-wrap' }, form));
  name.focus();
}
