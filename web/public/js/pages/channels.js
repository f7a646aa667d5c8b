// 通知通道 (admin): where notifications go — the config file's channels (shown, changed there) and
// those made here (a WeCom or DingTalk group robot, an SMS gateway, a mail relay, a webhook). A
// channel made here carries the next message, without a restart; its secret is kept and never
// shown again (PUT /api/v1/channels/{id}).
import { get, put, del } from '../api.js';
import { t } from '../i18n.js';
import { h, view, refresh, field, attempt, fmtTime } from '../ui.js';
import { state } from '../app.js';
import { channelName } from '../names.js';

const TYPES = ['wecom', 'dingtalk', 'feishu', 'sms', 'email', 'webhook'];
// What the address and the secret are, for each kind.
const HELP = {
  wecom: ['the group robot\'s webhook address (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…)', 'none'],
  dingtalk: ['the group robot\'s webhook address (https://oapi.dingtalk.com/robot/send?access_token=…)', 'the robot\'s signing secret (SEC…)'],
  feishu: ['the group robot\'s webhook address', 'the robot\'s signing secret'],
  sms: ['the SMS gateway\'s address', 'the gateway\'s token (sent as Bearer)'],
  email: ['the mail relay (smtps://mail.example.edu.cn:465)', 'the SMTP password'],
  webhook: ['the receiver\'s address', 'the key the messages are signed with (HMAC-SHA256)'],
};

function channelForm(ch, onSaved) {
  const form = h('form', { class: 'form-grid row-edit', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const id = ch ? ch.id : f.get('id').trim();
    const b = { type: f.get('type'), url: f.get('url').trim() };
    for (const k of ['user', 'from', 'body', 'timeout']) if (f.get(k)) b[k] = f.get(k).trim();
    if (f.get('plain')) b.plain = true;
    if (f.get('secret')) b.secret = f.get('secret');
    if (await attempt(() => put(`/api/v1/channels/${encodeURIComponent(id)}`, b), t('Saved'))) onSaved();
  } });
  const type = h('select', { name: 'type' }, TYPES.map((x) => h('option', { value: x, selected: (ch ? ch.type : 'wecom') === x ? true : null }, channelName(x))));
  const urlHint = h('span', { class: 'hint' });
  const secretHint = h('span', { class: 'hint' });
  const emailOnly = h('div', { class: 'form-grid span-all' },
    field(t('SMTP user'), h('input', { name: 'user', value: (ch && ch.user) || '', autocomplete: 'off' })),
    field(t('Sender address'), h('input', { name: 'from', type: 'email', value: (ch && ch.from) || '' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'plain', checked: ch && ch.plain ? true : null }), ' ', t('relay without TLS (local network only)')));
  const smsOnly = h('div', { class: 'span-all' }, field(t('Request body'), h('input', { name: 'body', value: (ch && ch.body) || '{"to":"{phone}","text":"{text}"}' }),
    t('with {phone} and {text}')));
  const shown = () => {
    const k = type.value;
    urlHint.textContent = ` ${t(HELP[k][0])}`;
    secretHint.textContent = ` ${HELP[k][1] === 'none' ? t('none needed') : t(HELP[k][1])}`;
    emailOnly.hidden = k !== 'email';
    smsOnly.hidden = k !== 'sms';
  };
  type.addEventListener('change', shown);
  form.append(
    ch ? h('input', { type: 'hidden', name: 'id', value: ch.id }) : field(t('Identifier'), h('input', { name: 'id', required: true, pattern: '[a-z0-9_\\-]{1,64}', autocomplete: 'off', placeholder: 'wecom_it' }), t('small letters, digits and _')),
    field(t('Kind'), type),
    h('div', { class: 'field span-all' }, h('label', { for: `url-${ch ? ch.id : 'new'}` }, t('Address'), urlHint),
      h('input', { id: `url-${ch ? ch.id : 'new'}`, name: 'url', required: true, value: ch ? ch.url || '' : '', autocomplete: 'off' })),
    h('div', { class: 'field' }, h('label', { for: `secret-${ch ? ch.id : 'new'}` }, t('Secret'), secretHint),
      h('input', { id: `secret-${ch ? ch.id : 'new'}`, name: 'secret', type: 'password', autocomplete: 'new-password',
        placeholder: ch && ch.secret_set ? t('set; leave empty to keep it') : '' })),
    field(t('Timeout'), h('input', { name: 'timeout', value: ch && ch.timeout ? `${ch.timeout / 1000}s` : '', placeholder: '10s' })),
    emailOnly, smsOnly,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, ch ? t('Save') : t('Add channel'))));
  shown();
  return form;
}

export async function channelsPage() {
  const mount = view();
  const { channels } = await get('/api/v1/channels');
  const saved = async () => {
    state.desk = (await get('/api/v1/session')).desk; // the dashboard's banner goes with the last channel
    refresh(channelsPage);
  };
  const rows = channels.map((ch) => {
    const mine = ch.source === 'console';
    const editRow = mine ? h('tr', { class: 'edit-row', hidden: true }, h('td', { colspan: 5 }, channelForm(ch, saved))) : null;
    return [h('tr', { 'data-channel': ch.id, class: ch.error ? 'row-muted' : null },
      h('td', { class: 'strong' }, ch.id), h('td', {}, ch.type ? channelName(ch.type) : '—'),
      h('td', { class: 'wrap-any' }, ch.error ? h('span', { class: 'error-text' }, `${t('carries nothing')}：${ch.error}`) : ch.url),
      h('td', {}, h('span', { class: 'tag' }, mine ? t('made here') : t('config file')),
        ch.secret_set ? h('span', { class: 'tag' }, t('secret set')) : null,
        mine && ch.updated_at ? h('span', { class: 'muted small-text' }, ` ${fmtTime(ch.updated_at)}`) : null),
      h('td', { class: 'btns' }, mine ? [
        h('button', { type: 'button', class: 'small', 'data-edit': ch.id, onclick: () => { editRow.hidden = !editRow.hidden; } }, t('Edit')),
        h('button', { type: 'button', class: 'small danger', 'data-remove': ch.id, onclick: async () => {
          if (!confirm(`${t('Remove the channel')} ${ch.id}?`)) return;
          if (await attempt(() => del(`/api/v1/channels/${encodeURIComponent(ch.id)}`), t('Saved'))) saved();
        } }, t('Remove'))] : h('span', { class: 'muted small-text' }, t('change it in the config file')))), editRow];
  }).flat().filter(Boolean);
  mount(h('div', { class: 'page-head' }, h('h1', {}, t('Channels'))),
    channels.length ? null : h('p', { class: 'warn-box', id: 'no-channel' }, h('strong', {}, t('No notification channel is configured')), '：',
      t('new incidents and passed deadlines are sent to nobody. Add one below.')),
    h('section', { class: 'panel' },
      h('table', { class: 'table', id: 'channels' },
        h('thead', {}, h('tr', {}, [t('Identifier'), t('Kind'), t('Address'), t('Source'), t('Actions')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, t('none')))))),
    h('section', { class: 'panel', id: 'new-channel' }, h('h2', {}, t('Add a channel')),
      h('p', { class: 'muted' }, t('Every notification goes out through every channel; people are reached by the numbers and addresses in the directory.')),
      channelForm(null, saved)));
}
