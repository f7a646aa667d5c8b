// names.js: what a person reads instead of ids — plan ids (units, people, types, levels, groups,
// policies) by their names in the plan, actors and recipients by who they are, audit actions,
// timeline entries and durations in the console's language. The API keeps ids; this is the one
// place that turns them into words.
import { t, lang, tStatus, tDeadline, tTask } from './i18n.js';
import { state } from './app.js';

const en = () => lang() === 'en';

function named(list, id) {
  const x = (list || []).find((i) => i.id === id);
  return x ? x.name : null;
}

export const personName = (id) => named(state.plan && state.plan.people, id);
export const unitName = (id) => named(state.plan && state.plan.units, id);
export const typeName = (id) => named(state.plan && state.plan.types, id);
export const levelName = (id) => named(state.plan && state.plan.levels, id);
export const groupName = (id) => named(state.plan && state.plan.groups, id);
export const roleName = (id) => named(state.plan && state.plan.roles, id);
export const assetName = (id) => named(state.plan && state.plan.assets, id);
export const policyName = (id) => named(state.plan && state.plan.escalation, id);

// "15m", "1h30m", "0s", "30d" (the plan's durations) → "15 分钟", "1 小时 30 分钟", "立即", "30 天".
export function duration(text) {
  if (text === null || text === undefined || text === '') return '—';
  const units = en() ? { w: ' weeks', d: ' days', h: ' h', m: ' min', s: ' s', ms: ' ms' }
    : { w: ' 周', d: ' 天', h: ' 小时', m: ' 分钟', s: ' 秒', ms: ' 毫秒' };
  const parts = [...String(text).matchAll(/(\d+)(ms|[wdhms])/g)];
  if (!parts.length) return String(text);
  if (parts.every(([, n]) => Number(n) === 0)) return en() ? 'at once' : '立即';
  return parts.filter(([, n]) => Number(n) > 0).map(([, n, u]) => `${n}${units[u]}`).join(en() ? ' ' : ' ');
}

const SYSTEM = {
  clock: ['the clock', '系统（时限与升级）'], outbox: ['notifications', '系统（通知发送）'], action: ['automated actions', '系统（自动处置）'],
  'system:start': ['start-up', '系统（启动）'], 'system:first-start': ['first start', '系统（初始化）'],
  'system:detect': ['detection (signals another node left)', '系统（补处理其他节点的信号）'],
  'source:syslog': ['syslog', '日志接收（syslog）'], 'source:logwatch': ['log files', '日志文件监视'],
  'source:webguard': ['website guard', '网页防护'], 'source:integrity': ['file integrity', '网页文件防篡改'],
  'source:monitor': ['monitors', '可用性监测'], 'source:host': ['this host', '本机资源监测'],
};

// Who did it: a person's or an account's name, a rule's description, the system's part.
export function actorName(actor, given) {
  if (!actor) return '—';
  if (SYSTEM[actor]) return SYSTEM[actor][en() ? 0 : 1];
  const [kind, ...rest] = actor.split(':');
  const id = rest.join(':');
  switch (kind) {
    case 'user': return given || id;
    case 'person': return personName(id) || given || id;
    case 'cli': return en() ? `command line (${id})` : `命令行（${id}）`;
    case 'token': return en() ? `API token ${id}` : `接口令牌「${id}」`;
    case 'rule': return en() ? `rule: ${given || id}` : `检测规则：${given || id}`;
    case 'monitor': return en() ? `monitor ${id}` : `监测「${id}」`;
    case 'source': return en() ? id : `信号来源（${id}）`;
    default: return given || actor;
  }
}

// Whom a notification went to: "person:ID", "user:NAME", "unit:ID", "group:ID".
export function recipientName(ref) {
  if (!ref) return '—';
  const [kind, ...rest] = ref.split(':');
  const id = rest.join(':');
  return (kind === 'person' && personName(id)) || (kind === 'unit' && unitName(id)) || (kind === 'group' && groupName(id))
    || (kind === 'role' && roleName(id)) || id || ref;
}

const NOTE_STATUS = { pending: ['queued', '待发送'], sending: ['sending', '发送中'], sent: ['sent', '已发送'], failed: ['failed', '发送失败'],
  cancelled: ['cancelled', '已取消'] };
export const notificationStatus = (s) => (NOTE_STATUS[s] ? NOTE_STATUS[s][en() ? 0 : 1] : s);

const CHANNEL = { email: '邮件', wecom: '企业微信', dingtalk: '钉钉', feishu: '飞书', sms: '短信', webhook: 'Webhook' };
export const channelName = (type) => (en() ? type : CHANNEL[type]) || (en() ? 'channel' : '通知通道');

const ACTION = {
  block_ip: ['block the source addresses', '封禁来源地址'], restore_files: ['restore the files', '恢复被篡改文件'],
  program: ['run a program', '执行程序'], http: ['call a service', '调用接口'], none: ['', ''],
};
export const actionName = (a) => (ACTION[a] ? ACTION[a][en() ? 0 : 1] : a ? (en() ? a : '自动处置') : '');

const STOP = { met: ['met', '已按时完成'], acknowledged: ['acknowledged', '已接报确认'], activated: ['plan activated', '已启动预案'],
  recovered: ['recovered', '已恢复'], waived: ['waived', '已豁免'], closed: ['incident ended', '事件已结束'], policy_removed: ['policy removed', '预案已无此升级规则'] };

const FIELD = { source: 'Source', scope: 'Scope', nature: 'Nature', trend: 'Trend', measures: 'Measures', cause: 'Cause', loss: 'Loss',
  lessons: 'Lessons', clues: 'Clues', support: 'Support', scene: 'Scene', level: 'Level', activated_by: 'Decided by',
  activation_reason: 'Reason' };

// 代录: who recorded another's decision, and why.
const onBehalf = (o) => (o && o.by ? (en() ? ` (recorded on behalf by ${actorName(o.by)}: ${o.reason})` : `（代录：${actorName(o.by)}，理由：${o.reason}）`) : '');

// "事件性质：网页篡改", a level by its name.
const fieldText = (k, v) => `${FIELD[k] ? t(FIELD[k]) : t('Notes')}：${k === 'level' ? levelName(v) || v : v}`;

// The timeline entry's kind, as a heading.
const KIND = {
  reported: ['reported', '上报'], acknowledged: ['acknowledged', '接报确认'], status: ['status', '状态变更'], note: ['note', '备注'],
  task: ['task', '处置任务'], approval: ['approval', '审批'], activation: ['plan activated', '启动预案'], assessment: ['assessment', '风险评估'],
  upward_report: ['upward report', '向上级报告'], overdue: ['deadline passed', '超时'], task_overdue: ['task overdue', '任务超时'],
  escalation: ['escalation', '升级通知'], escalation_stopped: ['escalation ended', '升级结束'], waived: ['waived', '豁免'],
  signal: ['signals', '信号'], recovered: ['recovered', '已恢复'], attachment: ['attachment', '附件'], action: ['automated action', '自动处置'],
  unblocked: ['unblocked', '解除封禁'], delivered: ['delivered', '通知已送达'], delivery_failed: ['delivery failed', '通知发送失败'],
  delivery_retrying: ['delivery retrying', '通知重试'], assigned: ['assigned', '指派负责人'], task_assigned: ['task assigned', '指派任务'],
};
export const timelineKind = (k) => (KIND[k] ? KIND[k][en() ? 0 : 1] : (en() ? k : '记录'));

const RESULT = { done: ['done', '已完成'], failed: ['failed', '失败'], timeout: ['timed out', '超时未完成'], refused: ['refused', '被拒绝'] };

// What the entry says, in words.
export function describe(e) {
  const b = e.body || {};
  const sep = en() ? '; ' : '；';
  switch (e.kind) {
    case 'reported': return [typeName(b.type) || b.type_name || t('Type'), levelName(b.level) || '', unitName(b.unit) ? `→ ${unitName(b.unit)}` : '']
      .filter(Boolean).join(' · ');
    case 'acknowledged': return actorName(b.by, e.actor_name);
    case 'status': {
      const fields = Object.entries(b.fields || {}).filter(([k, v]) => v && k !== 'on_behalf').map(([k, v]) => fieldText(k, k === 'activated_by' ? personName(v) || v : v));
      return `${tStatus(b.from)} → ${tStatus(b.to)}${b.reason ? '：' + b.reason : ''}${fields.length ? sep + fields.join(sep) : ''}${onBehalf(b.fields && b.fields.on_behalf)}`;
    }
    case 'note': return b.text;
    case 'task': return `${b.title}：${tTask(b.from)} → ${tTask(b.to)}${b.note ? '（' + b.note + '）' : ''}${b.reason ? '（' + b.reason + '）' : ''}`;
    case 'approval': return `${b.title}：${b.decision === 'approved' ? t('Approved') : t('Rejected')}${b.reason ? '（' + b.reason + '）' : ''}`;
    case 'activation': return `${personName(b.by) || b.name || ''}${en() ? ': ' : '：'}${b.reason || ''}${onBehalf(b.on_behalf)}`;
    case 'assessment': return Object.entries(b).filter(([, v]) => typeof v === 'string' && v).map(([k, v]) => fieldText(k, v)).join(sep);
    case 'upward_report': return `${b.to || ''}${b.missing && b.missing.length ? `${sep}${t('Missing items')}：` + b.missing.join('、') : ''}`;
    case 'overdue': return `${tDeadline(b.deadline)}${b.escalation ? `${sep}${t('escalation')}：${policyName(b.escalation) || ''}` : ''}`;
    case 'task_overdue': return b.title;
    case 'escalation': return `${policyName(b.policy) || ''}${b.step ? (en() ? ` step ${b.step}` : ` 第 ${b.step} 步`) : ''}${en() ? ': ' : '：'}${(b.notified || []).join('、') || '—'}`;
    case 'escalation_stopped': return `${policyName(b.policy) || ''}${en() ? ': ' : '：'}${STOP[b.reason] ? STOP[b.reason][en() ? 0 : 1] : ''}`;
    case 'waived': return `${tDeadline(b.deadline)}${en() ? ': ' : '：'}${b.reason || ''}`;
    case 'signal': return en() ? `${b.count} signals; latest: ${b.sample || ''}` : `累计 ${b.count} 条信号；最近一条：${b.sample || ''}`;
    case 'recovered': return b.note || '';
    case 'attachment': return b.name;
    case 'action': return `${b.title || actionName(b.action)}：${RESULT[b.result] ? RESULT[b.result][en() ? 0 : 1] : b.result || ''}${(b.addresses || []).length ? sep + b.addresses.join('、') : ''}`;
    case 'assigned': return `${b.from || (en() ? 'nobody' : '无')} → ${b.to || (en() ? 'nobody' : '无')}`;
    case 'task_assigned': return `${b.title}：${b.from || (en() ? 'nobody' : '无')} → ${b.to || (en() ? 'nobody' : '无')}`;
    case 'unblocked': return `${b.address}${b.note ? sep + b.note : ''}`;
    case 'delivered': case 'delivery_failed': case 'delivery_retrying':
      return `${recipientName(b.recipient)}${en() ? ' by ' : '，'}${channelName(b.type)}${b.attempts > 1 ? (en() ? `, attempt ${b.attempts}` : `，第 ${b.attempts} 次`) : ''}`;
    default: return '';
  }
}

const AUDIT = {
  'user.create': ['account created', '创建账号'], 'user.update': ['account changed', '修改账号'], 'user.password': ['password set', '设置密码'],
  'auth.login': ['logged in', '登录'], 'auth.login_failed': ['login failed', '登录失败'], 'auth.login_throttled': ['login throttled', '登录受限（尝试过多）'],
  'auth.logout': ['logged out', '退出登录'], 'auth.password_change_refused': ['password change refused', '修改密码被拒绝'],
  'token.create': ['token created', '创建接口令牌'], 'token.revoke': ['token revoked', '吊销接口令牌'],
  'incident.report': ['incident reported', '上报事件'], 'incident.ack': ['acknowledged', '接报确认'], 'incident.move': ['status changed', '变更事件状态'],
  'incident.activate': ['plan activated', '启动预案'], 'incident.note': ['note added', '添加备注'], 'incident.assess': ['assessment saved', '保存风险评估'],
  'incident.task': ['task updated', '更新处置任务'], 'incident.approval': ['step decided', '审批处置步骤'], 'incident.overdue': ['deadline passed', '时限超时'],
  'incident.task_overdue': ['task overdue', '任务超时'], 'incident.signal': ['signal attached', '信号归并'], 'incident.recovered': ['recovered', '自动恢复'],
  'incident.waive': ['report waived', '豁免报告'], 'incident.escalate': ['escalated', '升级通知'],
  attachment: ['attachment added', '上传附件'], upward_report: ['upward report submitted', '报送向上级报告'], action: ['automated action', '自动处置'],
  unblocked: ['address unblocked', '解除封禁'], delivered: ['notification delivered', '通知已送达'], delivery_failed: ['notification failed', '通知发送失败'],
  delivery_retrying: ['notification retried', '通知重试'], 'blocks.release': ['block released', '解除封禁'],
  'audit.key': ['audit key made', '生成审计签名密钥'], 'plan.change': ['plan changed', '更换预案'], 'db.backup': ['backup made', '数据库备份'],
  'db.migrate': ['store upgraded', '数据库升级'], 'site.baseline': ['page baseline saved', '保存网页基线'], 'site.accept': ['page accepted', '确认网页现状'],
  'integrity.baseline': ['file baseline saved', '保存文件基线'], 'integrity.accept': ['files accepted', '确认文件现状'],
  'integrity.maintenance': ['deployment window', '维护窗口'], 'incident.assign': ['incident assigned', '指派负责人'],
  'incident.task_assign': ['task assigned', '指派任务'], assigned: ['incident assigned', '指派负责人'], task_assigned: ['task assigned', '指派任务'],
  'directory.person': ['person edited', '修改通讯录人员'], 'directory.person.remove': ['person edit taken back', '撤销通讯录修改'],
  'directory.rotation': ['rotation edited', '修改值班班组'], 'directory.rotation.remove': ['rotation edit taken back', '撤销班组修改'],
  'duty.swap.ask': ['shift swap asked', '申请换班'], 'duty.swap.accept': ['shift swap accepted', '同意换班'],
  'duty.swap.decline': ['shift swap declined', '拒绝换班'], 'duty.swap.withdraw': ['shift swap withdrawn', '撤回换班'],
  'channel.put': ['channel set', '设置通知通道'], 'channel.remove': ['channel removed', '删除通知通道'],
};
export const auditActions = () => Object.keys(AUDIT).map((k) => [k, AUDIT[k][en() ? 0 : 1]]);
export const auditAction = (a) => (AUDIT[a] ? AUDIT[a][en() ? 0 : 1] : (en() ? a : `其他操作（${a}）`));
