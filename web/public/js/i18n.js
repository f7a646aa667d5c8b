// i18n.js: Simplified Chinese by default, English on request (the switch in the top bar, kept
// in localStorage). Keys are short English phrases; a missing translation shows the key. A key may
// carry ":context" to tell apart two Chinese words for one English one (shown without it).
const zh = {
  'No notification channel is configured': '未配置通知通道',
  'new incidents and passed deadlines are sent to nobody. Add an email, WeCom, DingTalk, Feishu, SMS or webhook channel under channels: in the config and restart.':
    '新事件和超时提醒不会发送给任何人。请在配置文件的 channels 中添加邮件、企业微信、钉钉、飞书、短信或 Webhook 通道，然后重启服务。',
  'public_url is not set': '未设置平台访问地址（public_url）',
  'messages carry no link to the incident. Set public_url in the config to the address people open the console at.':
    '通知消息中没有可直接打开的事件链接。请在配置文件中把 public_url 设为大家访问本平台的地址。',
  'Notifications are not sent: no channel is configured': '未配置通知通道：以下通知不会发出，请联系系统管理员',
  'Alerts on': '提醒已开启', 'Turn on alerts': '开启提醒',
  "tone only: desktop notifications need HTTPS and the browser's permission": '仅提示音：桌面通知需要 HTTPS 访问并经浏览器允许',
  'New incident': '新事件', 'Deadline passed': '时限已过',
  'Upload a screenshot': '上传截图', 'Choose a screenshot': '选择截图', 'Approved': '已批准', 'Rejected': '已驳回', 'escalation': '升级规则', 'Scopes': '权限范围',
  'holiday': '节假日',
  'swapped': '调班',
  'Roster': '值班表',
  'Handover at': '交接班时间',
  'holidays': '节假日天数',
  'weekly': '每周轮换',
  'daily': '每日轮换',
  'from': '自',
  "This level needs the leading group's decision first (on the right).": '此级别需先记录领导小组启动预案的决定（见右侧）。',
  'Changed by someone else; save to see the latest': '此事件已被更新，保存后将显示最新内容',
  'Network and information security emergency response': '网络与信息安全突发事件应急响应',
  'Password:login': '密码',
  'Leaders': '组长',
  'Members': '成员',
  'Contacts': '联系方式',
  'Head': '负责人',
  'needs activation': '需启动预案',
  'routed by': '分派依据',
  'asset owner': '资产归属',
  'needs approval': '需审批',
  'e.g. unknown links on the home page': '例：学校官网首页出现不明链接',
  'How it was found, where (address, what the screenshot shows)': '如何发现、在哪里看到（网址、截图说明）',
  'The token is shown only now; keep it:': '令牌只显示这一次，请立即保存：',
  'disabled': '已停用',
  'Enable': '启用',
  'Disable': '停用',
  'revoked': '已吊销',
  'Revoke': '吊销',
  'chart unavailable': '图表不可用',
  'Monitors': '监测', 'monitors': '个监测', 'up': '正常', 'down': '不可用', 'not checked yet': '尚未检查',
  'Monitor': '监测项', 'Since': '持续自', 'Response': '响应', '24 h': '24 小时', '7 d': '7 天', '30 d': '30 天',
  'Last problem': '最近问题', 'Last check': '最近检查', 'Certificate ends': '证书到期', 'days left': '天后', 'deployment window until': '维护窗口至', 'Uptime': '可用率',
  'Interval': '检查间隔', 'Response time by hour': '每小时响应时间', 'Changes': '状态变化',
  'failed': '失败', 'mean': '平均', 'max': '最大',
  'Web guard': '网页防护', 'baseline': '基线', 'no baseline yet': '尚无基线', 'files': '个文件', 'Latest findings': '最近发现',
  'This host': '本机资源', 'CPU': 'CPU 使用率', 'Memory': '内存使用率', 'Load': '系统负载', 'Disk': '磁盘空间', 'Network': '网络流量', 'limit': '阈值',
  'No monitors are configured (monitors: in yingji.yaml)': '尚未配置监测（yingji.yaml 的 monitors:）',
  'Situation': '态势', 'Incidents': '事件', 'Report': '上报事件', 'Plan': '预案', 'Duty': '值班',
  'Users': '用户', 'Audit': '审计', 'Log out': '退出', 'Password': '修改密码', 'Log in': '登录',
  'User name': '用户名', 'Log in to the emergency desk': '登录应急响应平台',
  'Open incidents': '未结事件', 'Overdue': '已超时', 'Due soon': '即将到期', 'Latest incidents': '最新事件', 'Latest signals': '最新信号',
  'By level': '按级别', 'By class': '按类别', 'By unit': '按责任单位', '30-day trend': '近 30 天趋势',
  'Deadlines': '时限', 'Live': '实时', 'No open incidents': '当前没有未结事件',
  'Number': '编号', 'Title': '标题', 'Type': '类型', 'Level': '级别', 'Status': '状态', 'Unit': '责任单位',
  'Reported': '上报时间', 'Updated': '更新时间', 'Search': '搜索', 'All': '全部', 'Sort': '排序',
  'Newest first': '最新上报', 'Oldest first': '最早上报', 'Recently changed': '最近更新', 'Most severe': '最严重',
  'Next page': '下一页', 'First page': '第一页', 'No incidents match': '没有符合条件的事件', 'Drill': '演练',
  'Classification': '分类', 'Routing': '处置分工', 'Timeline': '时间线', 'Tasks': '处置任务', 'Notes': '备注',
  'Notifications': '通知', 'Upward report': '向上级报告', 'Actions': '操作', 'Acknowledge': '接报确认',
  'Activate the plan': '启动预案', 'Decided by': '决策人', 'Reason': '理由', 'Record decision': '记录决定',
  'Assessment': '风险评估', 'Save assessment': '保存评估', 'Move to': '转为', 'Add note': '添加备注',
  'Done': '完成', 'Start': '开始', 'Skip': '跳过', 'Approve': '批准', 'Reject': '驳回', 'Awaiting approval': '待审批',
  'Submitted to': '报送单位', 'Record submission': '记录已报送', 'Missing items': '待补报事项',
  'Source': '信息来源', 'Scope': '影响范围和危害', 'Nature': '事件性质', 'Trend': '发展态势',
  'Measures': '已采取措施', 'Cause': '原因', 'Loss': '损失', 'Lessons': '经验教训', 'Clues': '溯源线索',
  'Support': '拟采取措施及需支援事项', 'Scene': '现场保护情况', 'Asset': '涉及系统', 'Attachment': '截图附件',
  'Submit report': '提交上报', 'Reported as': '已上报，编号', 'What happened': '事件概况',
  'Occurred at': '发生时间', 'optional': '可选', 'Old password': '原密码', 'New password': '新密码',
  'Change password': '修改密码', 'Set a password of your own before you go on': '首次登录或密码被重置后，须先设置您自己的密码才能继续', 'Password changed; log in again': '密码已修改，请重新登录',
  'Organisation': '组织机构', 'Groups': '领导与工作机构', 'Units': '单位', 'People': '人员', 'Types': '事件类型',
  'Levels': '事件级别', 'Playbook': '处置流程', 'National level': '国家分级', 'On duty now': '当前值班',
  'Role': '角色', 'Name': '名称', 'Tokens': 'API 令牌', 'Create': '创建', 'Verify': '校验', 'Audit chain intact': '审计链完整',
  'Audit chain broken': '审计链被篡改', 'head signed': '签名有效', 'When': '时间', 'Who': '操作人', 'What': '操作', 'Object': '对象',
  'due': '截止', 'overdue by': '已超时', 'left': '剩余', 'met': '已完成', 'met late': '逾期完成', 'waived': '已豁免', 'missed': '未完成（已逾期）',
  'Waive': '豁免', 'Why is this report not owed?': '豁免理由（领导小组决定，记入审计）', 'Waived': '已豁免', 'Saved': '已保存',
  'Signals': '信号数', 'Reporter': '上报人', 'Dismiss': '排除', 'Plan activated': '已启动预案',
  'admin': '管理员', 'leader': '领导小组', 'responder': '应急救援', 'officer': '信息员', 'duty': '值班员',
  'auditor': '审计员', 'Deadline': '时限', 'Owner': '负责', 'Connection lost; retrying': '连接中断，正在重连',
};
const statusZh = { reported: '已上报', assessing: '研判中', responding: '处置中', recovering: '恢复中',
  reviewing: '总结评估', closed: '已关闭', dismissed: '已排除' };
const deadlineZh = { report: '事件报告', acknowledge: '接报确认', assessment: '风险评估', activation: '启动预案决策',
  upward_report: '向上级报告', supplement: '补报', summary_report: '处置总结报告', new: '新事件通知' };
const taskZh = { todo: '待办', doing: '进行中', done: '已完成', skipped: '已跳过' };

export function lang() { return localStorage.getItem('yj.lang') === 'en' ? 'en' : 'zh'; }
export function setLang(l) { localStorage.setItem('yj.lang', l); }
export function t(key) { return lang() === 'en' ? key.replace(/:.*$/, '') : (zh[key] || key); }
export function tStatus(s) { return lang() === 'en' ? s : (statusZh[s] || s); }
export function tDeadline(k) {
  if (k && k.startsWith('task:')) return lang() === 'en' ? 'task' : '处置任务';
  return lang() === 'en' ? k.replace('_', ' ') : (deadlineZh[k] || k);
}
export function tTask(s) { return lang() === 'en' ? s : (taskZh[s] || s); }
