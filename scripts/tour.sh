#!/usr/bin/env bash
# The five-minute tour `make run` walks until the server exists: the built-in university plan,
# one incident reported and taken through its whole life, and the audit chain verified.
# Everything happens in a temporary data directory that is removed at the end.
set -euo pipefail
YJ=${1:-build/yingji}
DATA=$(mktemp -d /tmp/yingji-tour.XXXXXX)
trap 'rm -rf "$DATA"' EXIT
y() { printf '\n\033[1m$ yingji %s\033[0m\n' "$*" >&2; "$YJ" --data "$DATA" "$@"; }

y plan check builtin:university
y plan check builtin:county-bureau
y plan show | sed -n '1,40p'
N=$(y incident report --type website_tamper --title "学校官网首页被篡改" --asset main_site \
      --source "值班人员巡检发现" --scope "官网首页" --occurred "$(date -d '-40 min' --iso-8601=seconds)" | tail -n 1)
y duty now
y incident ack "$N"
y incident tasks "$N"
y incident task "$N" 1 done --note "被篡改页面与日志已保存"
y incident task "$N" 2 skipped --reason "站点已由运维下线"
y report upward "$N"
y report upward "$N" --submitted --to 市委网信办
y incident move "$N" assessing
y incident task "$N" 3 done --note "入侵途径：CMS 后台弱口令"
y incident activate "$N" --by vp_it --reason "官网为学校门户，影响声誉"
y incident move "$N" responding \
  --field nature="网页篡改，疑似CMS漏洞" --field trend="可能扩散至新闻网" \
  --field measures="切换维护页，封禁来源IP" --field level=important \
  --field cause="CMS后台弱口令" --field clues="来源地址见访问日志" --field support="无需支援" \
  --field scene="已保存被篡改页面与日志"
y report upward "$N" --submitted --to 市委网信办   # 补报: every item is known now
y incident approve "$N" 4
y incident task "$N" 4 done --note "已在防火墙封禁来源地址"
y incident note "$N" "已从可信备份恢复首页"
y incident move "$N" recovering
y incident approve "$N" 5
y incident task "$N" 5 done --note "首页已从可信备份恢复"
y incident task "$N" 6 done --note "已修补CMS，全盘查杀无木马"
y incident move "$N" reviewing
y incident move "$N" closed --field cause="CMS未及时升级" --field loss="首页被篡改约40分钟，无数据泄露" \
  --field lessons="建立补丁周检与网页防篡改"
y incident show "$N"
y incident list
y audit verify
y db backup "$DATA/backup.db"
printf '\nThe tour used a temporary data directory (%s), now removed.\n' "$DATA"
printf 'Try it yourself: %s --data ./data incident report --type intrusion --title "..."\n' "$YJ"
