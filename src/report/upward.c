/* upward.c: the upward report as Markdown, from the incident and the plan alone. Items follow
 * 网络安全事件报告管理办法 第六条 in order; nothing is invented: an empty item says 待补报. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../base/text.h"
#include "../engine/ctx.h"
#include "../engine/incident.h"
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
    static const char *const names[] = {"", "特别重大（I级）", "重大（II级）", "较大（III级）",
                                        "一般（IV级）"};
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
        /* The person by name and post (黄裕萍（分管信息化副校长）), never the plan's id. */
        const struct plan_person *who = inc->activated_by ? plan_person(ctx->plan, inc->activated_by) : NULL;
        fprintf(f, "- 应急预案启动：%s 由 %s%s%s%s 决定启动，理由：%s\n", at,
                who ? who->name : or_tbd(inc->activated_by), who && who->title ? "（" : "",
                who && who->title ? who->title : "", who && who->title ? "）" : "",
                or_tbd(inc->activation_reason));
    }
    fprintf(f, "- 勒索类事件的赎金金额、支付方式、日期：%s\n\n", "（如适用，待补报）");

    fprintf(f, "## 三、事件发展态势及可能进一步造成的影响和危害\n\n%s\n\n", or_tbd(inc->trend));
    fprintf(f, "## 四、初步判定的事件原因\n\n%s\n\n", or_tbd(inc->cause));
    fprintf(f, "## 五、掌握的攻击者信息、攻击路径、存在漏洞等溯源线索\n\n%s\n\n", or_tbd(inc->clues));
    fprintf(f, "## 六、拟进一步采取的应对措施以及需要支援的事项\n\n%s\n\n", or_tbd(inc->support));
    fprintf(f, "## 七、事件现场保护情况\n\n%s\n\n", or_tbd(inc->scene));
    fprintf(f, "## 八、其他应当报告的情况\n\n");
    if (inc->signal_count > 0)
        fprintf(f, "自动检测累计告警 %lld 次。", (long long)inc->signal_count);
    fprintf(f, "涉嫌违法犯罪的，同时报告公安机关。\n\n");
    fprintf(f, "---\n标注“待补报”的内容尚未掌握，按规定在查明后补报。\n");
    fclose(f);
    return out;
}

static bool known(const char *s)
{
    return s && *s;
}

size_t report_upward_missing(const struct store_incident *inc, const char **out, size_t max)
{
    /* The items the report marks 待补报, in report order (the ransom line applies to few). */
    json_t *assets = inc->assets ? json_loads(inc->assets, 0, NULL) : NULL;
    const struct {
        bool have;
        const char *name;
    } items[] = {
        {json_array_size(assets) > 0, "涉及设施、平台、系统"},
        {inc->occurred_at != 0, "发生时间"},
        {known(inc->source), "信息来源"},
        {known(inc->scope), "影响范围和危害"},
        {known(inc->nature), "事件性质"},
        {known(inc->measures), "已采取的措施及效果"},
        {known(inc->trend), "事件发展态势"},
        {known(inc->cause), "初步判定的事件原因"},
        {known(inc->clues), "溯源线索"},
        {known(inc->support), "拟采取的措施及需要支援的事项"},
        {known(inc->scene), "事件现场保护情况"},
    };
    json_decref(assets);
    size_t n = 0;
    for (size_t i = 0; i < YJ_ARRAY_LEN(items) && n < max; i++)
        if (!items[i].have)
            out[n++] = items[i].name;
    return n;
}

int report_upward_submit(struct yj_ctx *ctx, const char *ref, const char *to, void **out, struct yj_err *err)
{
    if (to && yj_text_check("to", to, 200, YJ_TEXT_SINGLE_LINE | YJ_TEXT_NONEMPTY, err) < 0)
        return YJ_EINVAL;
    struct store_incident inc;
    int rc = incident_find(ctx, ref, &inc, err);
    if (rc < 0)
        return rc;
    if (strcmp(inc.status, "dismissed") == 0) {
        rc = yj_err_set(err, YJ_ESTATE, "%s was dismissed: there is nothing to report upward", inc.number);
        store_incident_release(&inc);
        return rc;
    }
    struct store_deadline ds[32];
    size_t nd = 0;
    if ((rc = store_deadline_list(ctx->store, inc.id, ds, YJ_ARRAY_LEN(ds), &nd, err)) < 0) {
        store_incident_release(&inc);
        return rc;
    }
    const struct store_deadline *first = NULL, *later = NULL;
    for (size_t i = 0; i < nd; i++) {
        if (strcmp(ds[i].kind, "upward_report") == 0)
            first = &ds[i];
        if (strcmp(ds[i].kind, "supplement") == 0)
            later = &ds[i];
    }
    /* The first report, unless it was made already: then this is a 补报. */
    bool supplement = first ? first->met_at != 0 : later != NULL;
    const char *missing[16];
    size_t n_missing = report_upward_missing(&inc, missing, YJ_ARRAY_LEN(missing));
    const struct plan_level *level = plan_level(ctx->plan, inc.level);
    int64_t now = yj_ctx_now(ctx), due = 0;
    if (n_missing)
        due = now + (level && level->deadlines.supplement >= 0 ? level->deadlines.supplement
                                                               : REPORT_SUPPLEMENT_MS);
    json_t *miss = json_array();
    for (size_t i = 0; i < n_missing; i++)
        json_array_append_new(miss, json_string(missing[i]));
    json_t *body = json_pack("{s:s, s:s?, s:o, s:o?}", "round", supplement ? "supplement" : "report", "to",
                             to, "missing", miss, "supplement_due_at", due ? yj_json_time(due) : NULL);
    if ((rc = store_begin(ctx->store, err)) == 0) {
        rc = store_deadline_meet(ctx->store, inc.id, supplement ? "supplement" : "upward_report", now, err);
        if (rc == 0)
            rc = store_escalation_stop_all(ctx->store, inc.id, supplement ? "supplement" : "upward_report",
                                           now, "reported", err);
        if (rc == 0 && n_missing)
            rc = store_deadline_reopen(ctx->store, inc.id, "supplement", due, err);
        if (rc == 0)
            rc = incident_record(ctx, inc.id, "upward_report", body, err);
        if (rc == 0)
            rc = store_commit(ctx->store, err);
        else
            store_rollback(ctx->store);
    }
    if (rc == 0 && out) {
        json_object_set_new(body, "incident", json_string(inc.number));
        *out = json_incref(body);
    }
    json_decref(body);
    store_incident_release(&inc);
    return rc;
}
