/* api_export.c: the incident list and the audit log as CSV, for the office's spreadsheet and the
 * inspector's records (filtered as the list is: by status, type, unit, dates ...). UTF-8 with a
 * byte-order mark, so that Excel opens the Chinese right; every cell quoted by libcsv; a cell that
 * a spreadsheet would take for a formula (= + - @ at its start) is led by an apostrophe (OWASP's
 * CSV injection advice): a title is an informant's text. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../engine/incident.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "http.h"

#include <csv.h>

#define EXPORT_MAX_ROWS 100000

static void cell(FILE *f, const char *v, bool last)
{
    v = v ? v : "";
    if (*v == '=' || *v == '+' || *v == '-' || *v == '@' || *v == '\t' || *v == '\r') {
        char *safe = xasprintf("'%s", v);
        csv_fwrite(f, safe, strlen(safe));
        free(safe);
    } else {
        csv_fwrite(f, v, strlen(v));
    }
    fputs(last ? "\r\n" : ",", f);
}

static void time_cell(FILE *f, int64_t ms, bool last)
{
    char buf[40] = "";
    if (ms)
        yj_time_local(ms, buf, sizeof(buf));
    cell(f, buf, last);
}

static void header(FILE *f, const char *const *names, size_t n)
{
    fputs("\xEF\xBB\xBF", f);
    for (size_t i = 0; i < n; i++)
        cell(f, names[i], i + 1 == n);
}

struct incident_rows {
    FILE *f;
    const struct plan *plan;
    size_t n;
};

static int incident_row(const struct store_incident *inc, void *ud)
{
    struct incident_rows *x = ud;
    const struct plan_type *t = plan_type(x->plan, inc->type);
    const struct plan_level *l = plan_level(x->plan, inc->level);
    const struct plan_unit *u = plan_unit(x->plan, inc->unit);
    FILE *f = x->f;
    cell(f, inc->number, false);
    cell(f, inc->title, false);
    cell(f, t ? t->name : inc->type, false);
    cell(f, l ? l->name : inc->level, false);
    cell(f, plan_national_name((int)inc->national_level), false);
    cell(f, incident_status_zh(inc->status), false);
    cell(f, u ? u->name : inc->unit, false);
    cell(f, inc->assignee, false);
    cell(f, inc->reporter, false);
    time_cell(f, inc->reported_at, false);
    time_cell(f, inc->acknowledged_at, false);
    time_cell(f, inc->closed_at, false);
    cell(f, inc->drill ? "是" : "否", true);
    return ++x->n >= EXPORT_MAX_ROWS;
}

static void reply_csv(struct request *r, char *data, size_t len, const char *name)
{
    reply_bytes(r, 200, "text/csv; charset=utf-8", data, len);
    char day[16];
    yj_time_local(yj_now_ms(), day, sizeof(day));
    day[10] = 0;
    snprintf(r->resp.disposition, sizeof(r->resp.disposition), "attachment; filename=\"%s-%s.csv\"", name, day);
}

void api_export_incidents(struct request *r)
{
    struct store_incident_filter f;
    if (!incidents_filter(r, &f))
        return;
    f.has_cursor = false;
    char *data = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&data, &len);
    static const char *const head[] = {"编号",     "标题",   "事件类型",     "预案级别", "国家分级",
                                       "状态",     "责任单位", "负责人",       "上报人",   "上报时间",
                                       "接报确认时间", "结束时间", "演练"};
    header(mf, head, YJ_ARRAY_LEN(head));
    struct incident_rows x = {.f = mf, .plan = r->ctx.plan};
    struct yj_err err = {0};
    int rc = store_incident_list(r->store, &f, incident_row, &x, &err);
    fclose(mf);
    if (rc < 0)
        reply_error(r, &err);
    else
        reply_csv(r, data, len, "incidents");
    free(data);
}

struct audit_rows {
    FILE *f;
    int64_t from, to;
    const char *actor, *action, *object;
    int64_t last;
    size_t n;
};

static int audit_row(const struct store_audit_row *row, void *ud)
{
    struct audit_rows *x = ud;
    x->last = row->id;
    if ((x->from && row->at < x->from) || (x->to && row->at >= x->to) ||
        (x->actor && strcmp(x->actor, row->actor) != 0) || (x->action && strcmp(x->action, row->action) != 0) ||
        (x->object && strcmp(x->object, row->object) != 0))
        return 0;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)row->id);
    cell(x->f, id, false);
    time_cell(x->f, row->at, false);
    cell(x->f, row->actor, false);
    cell(x->f, row->action, false);
    cell(x->f, row->object, false);
    cell(x->f, row->detail, false);
    cell(x->f, row->hash, true);
    x->n++;
    return 0;
}

static bool time_param(struct request *r, const char *name, int64_t *out)
{
    const char *v = request_query(r, name);
    int y, m, d;
    struct yj_err err = {0};
    *out = 0;
    if (!v)
        return true;
    if (yj_date_parse(v, &y, &m, &d) == 0) {
        *out = yj_local_to_ms(y, m, d, 0);
        return true;
    }
    if (yj_time_parse(v, out, &err) == 0)
        return true;
    reply_problem(r, 400, "invalid_field", name, "%s must be a date (2026-12-01) or a time", name);
    return false;
}

void api_export_audit(struct request *r)
{
    struct audit_rows x = {.actor = request_query(r, "actor"),
                           .action = request_query(r, "action"),
                           .object = request_query(r, "object")};
    if (!time_param(r, "from", &x.from) || !time_param(r, "to", &x.to))
        return;
    char *data = NULL;
    size_t len = 0;
    x.f = open_memstream(&data, &len);
    static const char *const head[] = {"序号", "时间", "操作人", "操作", "对象", "详情", "哈希"};
    header(x.f, head, YJ_ARRAY_LEN(head));
    struct yj_err err = {0};
    int rc = 0;
    /* Page through the chain in order; the rows outside the filter are read and left out. */
    for (int64_t before = -1; rc == 0 && x.last != before && x.n < EXPORT_MAX_ROWS;) {
        before = x.last;
        rc = store_audit_page(r->store, x.last, 1000, audit_row, &x, &err);
    }
    fclose(x.f);
    if (rc < 0)
        reply_error(r, &err);
    else
        reply_csv(r, data, len, "audit");
    free(data);
}
