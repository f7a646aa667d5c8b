/* upward.c: the upward report as Markdown, from the incident and the plan alone. Items follow
 * 网络安全事件报告管理办法 第六条 in order; nothing is invented: an empty item says 待补报. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../engine/ctx.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "upward.h"

#include <jansson.h>

#define TBD "（待补报）"

static const char *or_tbd(const char *s)
{
    return s && *s ? s : TBD;
}

static void when(FILE *f, const char *label, int64_t ms)
{
    char buf[32];
    if (ms) {
        yj_time_local(ms, buf, sizeof(buf));
        fprintf(f, "%s%s", label, buf);
    } else {
        fprintf(f, "%s%s", label, TBD);
    }
}

static const char *national_name(int level)
{
    static const char *const names[] = {"", "特别重大（I级）", "重大（II级）", "较大（III级）", "一般（IV级）"};
    return level >= 1 && level <= 4 ? names[level] : "";
}

char *report_upward_markdown(const struct yj_ctx *ctx, const struct store_incident *inc)
{
    const struct plan *p = ctx->plan;
    const struct plan_type *type = plan_type(p, inc->type);
    const struct plan_level *level = plan_level(p, inc->level);
    const struct plan_unit *unit = plan_unit(p, inc->unit);
    const struct gbt_category *cat = NULL;
    const struct gbt_subcategory *sub = inc->gbt_subcategory ? plan_gbt(p, inc->gbt_subcategory, &cat) : NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    char now[32];
    yj_time_local(yj_ctx_now(ctx), now, sizeof(now));

    fprintf(f, "# 网络安全事件报告\n\n");
    fprintf(f, "- 报告单位：%s\n", p->meta.organization ? p->meta.organization : p->meta.name);
    fprintf(f, "- 事件编号：%s%s\n", inc->number, inc->drill ? "（演练）" : "");
    fprintf(f, "- 报告时间：%s\n", now);
    fprintf(f, "- 事件级别：%s（本预案：%s）\n", national_name((int)inc->national_level),
            level ? level->name : inc->level);
    fprintf(f, "- 事件分类：%s%s%s（GB/T 20986-2023）\n\n", cat ? cat->name : "", sub ? " / " : "",
            sub ? sub->name : (inc->gbt_subcategory ? inc->gbt_subcategory : ""));

    fprintf(f, "## 一、事发单位名称及发生事件的设施、平台、系统\n\n");
    fprintf(f, "责任单位：%s\n\n", unit ? unit->name : or_tbd(inc->unit));
    json_t *assets = inc->assets ? json_loads(inc->assets, 0, NULL) : NULL;
    if (json_array_size(assets) > 0) {
        fprintf(f, "涉及设施、平台、系统：\n\n");
        for (size_t i = 0; i < json_array_size(assets); i++) {
            const char *id = json_string_value(json_array_get(assets, i));
            const struct plan_asset *a = id ? plan_asset(p, id) : NULL;
            fprintf(f, "- %s%s%s%s\n", a ? a->name : (id ? id : ""), a && a->address ? "（" : "",
                    a && a->address ? a->address : "", a && a->address ? "）" : "");
        }
        fprintf(f, "\n");
    } else {
        fprintf(f, "涉及设施、平台、系统：%s\n\n", TBD);
    }
    json_decref(assets);

    fprintf(f, "## 二、事件发生时间、地点、类型、影响和危害，已采取的应急处置措施及效果\n\n");
    when(f, "- 发生时间：", inc->occurred_at);
    when(f, "\n- 发现时间：", inc->detected_at);
    fprintf(f, "\n- 事件类型：%s\n", type ? type->name : inc->type);
    fprintf(f, "- 事件概况：%s\n", inc->title);
    fprintf(f, "- 信息来源：%s\n", or_tbd(inc->source));
    fprintf(f, "- 影响范围和危害：%s\n", or_tbd(inc->scope));
    fprintf(f, "- 事件性质：%s\n", or_tbd(inc->nature));
    fprintf(f, "- 已采取的措施及效果：%s\n", or_tbd(inc->measures));
    if (inc->loss && *inc->loss)
        fprintf(f, "- 损失情况：%s\n", inc->loss);
    if (inc->activated_at) {
        char at[32];
        yj_time_local(inc->activated_at, at, sizeof(at));
        fprintf(f, "- 应急预案启动：%s 由 %s 决定启动，理由：%s\n", at, or_tbd(inc->activated_by),
                or_tbd(inc->activation_reason));
    }
    fprintf(f, "- 勒索类事件的赎金金额、支付方式、日期：%s\n\n", "（如适用，待补报）");

    fprintf(f, "## 三、事件发展态势及可能进一步造成的影响和危害\n\n%s\n\n", or_tbd(inc->trend));
    fprintf(f, "## 四、初步判定的事件原因\n\n%s\n\n", or_tbd(inc->cause));
    fprintf(f, "## 五、掌握的攻击者信息、攻击路径、存在漏洞等溯源线索\n\n%s\n\n", TBD);
    fprintf(f, "## 六、拟进一步采取的应对措施以及需要支援的事项\n\n%s\n\n", TBD);
    fprintf(f, "## 七、事件现场保护情况\n\n%s\n\n", TBD);
    fprintf(f, "## 八、其他应当报告的情况\n\n");
    if (inc->signal_count > 0)
        fprintf(f, "自动检测累计告警 %lld 次。", (long long)inc->signal_count);
    fprintf(f, "涉嫌违法犯罪的，同时报告公安机关。\n\n");
    fprintf(f, "---\n标注“待补报”的内容尚未掌握，按规定在查明后补报。\n");
    fclose(f);
    return out;
}
