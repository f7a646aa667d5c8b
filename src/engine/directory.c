/* directory.c: the console's edits of the plan's directory and the shift swaps (directory.h). An
 * edit is checked the only way that cannot drift from the loader: by loading the plan with it. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "audit.h"
#include "ctx.h"
#include "directory.h"
#include "duty.h"

#include <jansson.h>
#include <time.h>

/* ---- the edits laid over the file ---- */

struct edits {
    struct plan_edit *list;
    char **texts; /* owned, one per list entry */
    size_t n, cap;
    const char *skip_kind, *skip_key; /* the stored edit a trial replaces or takes back */
    int64_t handover_minutes;
};

static void edits_push(struct edits *e, enum plan_edit_kind kind, char *json)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->list = xrealloc(e->list, e->cap * sizeof(*e->list));
        e->texts = xrealloc(e->texts, e->cap * sizeof(*e->texts));
    }
    e->texts[e->n] = json;
    e->list[e->n++] = (struct plan_edit){kind, json};
}

static void edits_release(struct edits *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->texts[i]);
    free(e->texts);
    free(e->list);
}

static int take_edit(const struct store_edit *se, void *ud)
{
    struct edits *e = ud;
    bool person = strcmp(se->kind, "person") == 0;
    if (!person && strcmp(se->kind, "rotation") != 0)
        return 0; /* channels are the outbox's */
    if (e->skip_kind && strcmp(e->skip_kind, se->kind) == 0 && strcmp(e->skip_key, se->key) == 0)
        return 0;
    edits_push(e, person ? PLAN_EDIT_PERSON : PLAN_EDIT_ROTATION, xstrdup(se->body));
    return 0;
}

/* "YYYY-MM-DD HH:MM" of a date's handover, and of the next day's. */
static void shift_bounds(const char *date, int handover, char *from, char *to, size_t size)
{
    int y = 0, m = 0, d = 0;
    (void)yj_date_parse(date, &y, &m, &d);
    struct tm next = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1, .tm_hour = 12};
    mktime(&next);
    snprintf(from, size, "%s %02d:%02d", date, handover / 60, handover % 60);
    snprintf(to, size, "%04d-%02d-%02d %02d:%02d", next.tm_year + 1900, next.tm_mon + 1, next.tm_mday,
             handover / 60, handover % 60);
}

static void push_override(struct edits *e, const char *rotation, const char *person, const char *date,
                          const char *reason)
{
    char from[64], to[64];
    shift_bounds(date, (int)e->handover_minutes, from, to, sizeof(from));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "rotation", rotation, "person", person, "from", from, "to",
                          to, "reason", reason);
    edits_push(e, PLAN_EDIT_OVERRIDE, json_dumps(o, JSON_COMPACT));
    json_decref(o);
}

static int take_swap(const struct store_swap *w, void *ud)
{
    struct edits *e = ud;
    char reason[256];
    snprintf(reason, sizeof(reason), "换班 #%lld", (long long)w->id);
    push_override(e, w->rotation, w->taker, w->date, reason);
    if (w->back_date)
        push_override(e, w->rotation, w->requester, w->back_date, reason);
    return 0;
}

/* The stored edits (without the one being replaced), then the accepted swaps. */
static int collect(struct store *st, const struct plan *file_plan, struct edits *e, struct yj_err *err)
{
    e->handover_minutes = plan_handover_minutes(file_plan);
    int rc = store_edit_list(st, NULL, take_edit, e, err);
    if (rc == 0)
        rc = store_swap_list(st, "accepted", take_swap, e, err);
    return rc;
}

int directory_plan(const char *path, struct store *st, struct plan **out, char **edits_error,
                   struct plan_diags *diags, struct yj_err *err)
{
    *edits_error = NULL;
    struct plan *file_plan = NULL;
    int rc = plan_load(path, &file_plan, diags, err);
    if (rc < 0)
        return rc;
    struct edits e = {0};
    if ((rc = collect(st, file_plan, &e, err)) < 0 || e.n == 0) {
        edits_release(&e);
        if (rc < 0)
            plan_free(file_plan);
        else
            *out = file_plan;
        return rc;
    }
    struct plan *edited = NULL;
    struct yj_err why = {0};
    if (plan_load_edited(path, e.list, e.n, &edited, NULL, &why) < 0) {
        *edits_error = xstrdup(why.msg);
        *out = file_plan;
    } else {
        plan_free(file_plan);
        *out = edited;
    }
    edits_release(&e);
    return 0;
}

/* The plan with the stored edits, one of them replaced by (or, body NULL, without) kind/key. */
static int trial(struct yj_ctx *ctx, const char *plan_path, const char *kind, const char *key, const char *body,
                 struct plan **out, struct yj_err *err)
{
    struct plan *file_plan = NULL;
    int rc = plan_load(plan_path, &file_plan, NULL, err);
    if (rc < 0)
        return rc;
    struct edits e = {.skip_kind = kind, .skip_key = key};
    rc = collect(ctx->store, file_plan, &e, err);
    plan_free(file_plan);
    if (rc == 0 && body) {
        /* In the order they apply: a swap's override comes after every directory edit. */
        size_t at = 0;
        while (at < e.n && e.list[at].kind != PLAN_EDIT_OVERRIDE)
            at++;
        edits_push(&e, strcmp(kind, "person") == 0 ? PLAN_EDIT_PERSON : PLAN_EDIT_ROTATION, xstrdup(body));
        struct plan_edit last = e.list[e.n - 1];
        char *text = e.texts[e.n - 1];
        memmove(&e.list[at + 1], &e.list[at], (e.n - 1 - at) * sizeof(*e.list));
        memmove(&e.texts[at + 1], &e.texts[at], (e.n - 1 - at) * sizeof(*e.texts));
        e.list[at] = last;
        e.texts[at] = text;
    }
    if (rc == 0) {
        struct yj_err why = {0};
        if (plan_load_edited(plan_path, e.list, e.n, out, NULL, &why) < 0) {
            rc = yj_err_set(err, YJ_EINVAL, "%s", why.msg);
            yj_err_zh(err, "修改后的预案无法通过检查：%s", why.msg);
        }
    }
    edits_release(&e);
    return rc;
}

int directory_put(struct yj_ctx *ctx, const char *plan_path, const char *kind, const char *key, const char *body,
                  struct yj_err *err)
{
    bool person = strcmp(kind, "person") == 0;
    if (!person && strcmp(kind, "rotation") != 0)
        return yj_err_set(err, YJ_EINVAL, "an edit is of a person or a rotation, not \"%s\"", kind);
    json_error_t jerr;
    json_t *doc = json_loads(body, 0, &jerr);
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!json_is_object(doc) || !id || strcmp(id, key) != 0) {
        json_decref(doc);
        return yj_err_set(err, YJ_EINVAL, "the edit's id must be \"%s\"", key);
    }
    int rc = store_begin(ctx->store, err);
    if (rc < 0) {
        json_decref(doc);
        return rc;
    }
    struct plan *edited = NULL;
    if ((rc = trial(ctx, plan_path, kind, key, body, &edited, err)) == 0)
        rc = store_edit_put(ctx->store, kind, key, body, NULL, yj_ctx_now(ctx), ctx->actor, err);
    char object[200];
    snprintf(object, sizeof(object), "%s:%s", kind, key);
    plan_free(edited);
    return audit_commit(ctx, rc, person ? "directory.person" : "directory.rotation", object,
                        json_pack("{s:s, s:o}", "id", key, "edit", doc), err);
}

int directory_remove(struct yj_ctx *ctx, const char *plan_path, const char *kind, const char *key,
                     struct yj_err *err)
{
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    struct plan *edited = NULL;
    if ((rc = store_edit_delete(ctx->store, kind, key, err)) == 0)
        rc = trial(ctx, plan_path, kind, key, NULL, &edited, err);
    plan_free(edited);
    char object[200], action[64];
    snprintf(object, sizeof(object), "%s:%s", kind, key);
    snprintf(action, sizeof(action), "directory.%s.remove", kind);
    return audit_commit(ctx, rc, action, object, json_pack("{s:s}", "id", key), err);
}

/* ---- shift swaps ---- */

/* Who holds rotation's shift of date, and when it ends; YJ_EINVAL for a bad date, YJ_ENOTFOUND
 * when the rotation has no shift that day. */
static int holder(const struct plan *p, const char *rotation, const char *date, const char **person,
                  int64_t *ends, struct yj_err *err)
{
    int y, m, d;
    if (!date || yj_date_parse(date, &y, &m, &d) < 0) {
        yj_err_set(err, YJ_EINVAL, "date \"%s\": expected YYYY-MM-DD", date ? date : "");
        yj_err_zh(err, "日期应写作 YYYY-MM-DD");
        return YJ_EINVAL;
    }
    struct duty_shift shifts[64];
    size_t n = duty_now(p, yj_local_to_ms(y, m, d, plan_handover_minutes(p)) + 60000, shifts, YJ_ARRAY_LEN(shifts));
    for (size_t i = 0; i < n && i < YJ_ARRAY_LEN(shifts); i++)
        if (strcmp(shifts[i].rotation, rotation) == 0) {
            *person = shifts[i].person;
            *ends = shifts[i].to;
            return 0;
        }
    yj_err_set(err, YJ_ENOTFOUND, "rotation %s has no shift on %s", rotation, date);
    yj_err_zh(err, "%s 当天没有这个班次", date);
    return YJ_ENOTFOUND;
}

/* The shift of date is who's and not over at now. */
static int check_holder(const struct yj_ctx *ctx, const char *rotation, const char *date, const char *who,
                        const char *field, struct yj_err *err)
{
    const char *held = NULL;
    int64_t ends = 0;
    int rc = holder(ctx->plan, rotation, date, &held, &ends, err);
    if (rc == 0 && strcmp(held, who) != 0) {
        rc = yj_err_set(err, YJ_ESTATE, "the shift of %s is %s's, not %s's", date, held, who);
        yj_err_zh(err, "%s 的班是%s的，不是%s的", date, plan_person_name(ctx->plan, held),
                  plan_person_name(ctx->plan, who));
    } else if (rc == 0 && ends <= yj_ctx_now(ctx)) {
        rc = yj_err_set(err, YJ_ESTATE, "the shift of %s is over", date);
        yj_err_zh(err, "%s 的班已经结束", date);
    }
    if (rc < 0)
        yj_err_field(err, field);
    return rc;
}

struct open_swap {
    const char *rotation, *date;
    int64_t found;
};

static int find_open(const struct store_swap *w, void *ud)
{
    struct open_swap *o = ud;
    if (strcmp(w->rotation, o->rotation) == 0 && strcmp(w->date, o->date) == 0)
        o->found = w->id;
    return o->found != 0;
}

int directory_swap_ask(struct yj_ctx *ctx, const struct directory_swap_ask *ask, int64_t *id, struct yj_err *err)
{
    const struct plan *p = ctx->plan;
    const char *requester = ask->requester && *ask->requester ? ask->requester
                            : ctx->decider && ctx->decider->person && *ctx->decider->person ? ctx->decider->person
                                                                                             : NULL;
    if (!ask->rotation || !plan_rotation(p, ask->rotation)) {
        yj_err_set(err, YJ_EINVAL, "rotation \"%s\" is not in the roster", ask->rotation ? ask->rotation : "");
        yj_err_zh(err, "值班表中没有这个班组");
        yj_err_field(err, "rotation");
        return YJ_EINVAL;
    }
    if (!requester || !plan_person(p, requester)) {
        yj_err_set(err, YJ_EINVAL, "requester: no such person of the plan (the account is no person; name one)");
        yj_err_zh(err, "本账号未关联预案中的人员，无法申请换班");
        yj_err_field(err, "requester");
        return YJ_EINVAL;
    }
    if (!ask->taker || !plan_person(p, ask->taker) || strcmp(ask->taker, requester) == 0) {
        yj_err_set(err, YJ_EINVAL, "with: another person of the plan takes the shift");
        yj_err_zh(err, "请选择接班的另一位人员");
        yj_err_field(err, "with");
        return YJ_EINVAL;
    }
    json_t *proxy = NULL;
    int rc = yj_decider_check(ctx, requester, &proxy, err);
    if (rc == 0)
        rc = check_holder(ctx, ask->rotation, ask->date, requester, "date", err);
    if (rc == 0 && ask->back_date && *ask->back_date)
        rc = check_holder(ctx, ask->rotation, ask->back_date, ask->taker, "back_date", err);
    struct open_swap open = {ask->rotation, ask->date, 0};
    if (rc == 0 && (rc = store_swap_list(ctx->store, "proposed", find_open, &open, err)) == 0 && open.found) {
        rc = yj_err_set(err, YJ_ESTATE, "swap %lld for that shift waits for an answer", (long long)open.found);
        yj_err_zh(err, "这个班已有一项换班申请在等待答复");
    }
    if (rc < 0) {
        json_decref(proxy);
        return rc;
    }
    const char *behalf = proxy ? json_string_value(json_object_get(proxy, "reason")) : NULL;
    struct store_swap w = {.rotation = (char *)ask->rotation,
                           .date = (char *)ask->date,
                           .requester = (char *)requester,
                           .taker = (char *)ask->taker,
                           .back_date = ask->back_date && *ask->back_date ? (char *)ask->back_date : NULL,
                           .reason = ask->reason && *ask->reason ? (char *)ask->reason : NULL,
                           .created_at = yj_ctx_now(ctx),
                           .created_by = (char *)(ctx->actor ? ctx->actor : ""),
                           .on_behalf = (char *)behalf};
    if ((rc = store_begin(ctx->store, err)) < 0) {
        json_decref(proxy);
        return rc;
    }
    rc = store_swap_insert(ctx->store, &w, id, err);
    char object[64];
    snprintf(object, sizeof(object), "swap:%lld", (long long)(rc == 0 ? *id : 0));
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:o?}", "rotation", w.rotation, "date", w.date,
                               "requester", w.requester, "taker", w.taker, "back_date", w.back_date, "reason",
                               w.reason, "on_behalf", proxy);
    return audit_commit(ctx, rc, "duty.swap.ask", object, detail, err);
}

int directory_swap_answer(struct yj_ctx *ctx, const char *plan_path, int64_t id, const char *answer,
                          struct yj_err *err)
{
    static const char *const answers[][2] = {{"accept", "accepted"}, {"decline", "declined"}, {"withdraw", "withdrawn"}};
    const char *status = NULL;
    for (size_t i = 0; i < YJ_ARRAY_LEN(answers); i++)
        if (strcmp(answer, answers[i][0]) == 0)
            status = answers[i][1];
    if (!status)
        return yj_err_set(err, YJ_EINVAL, "answer \"%s\": accept, decline or withdraw", answer);
    struct store_swap w = {0};
    int rc = store_swap_get(ctx->store, id, &w, err);
    if (rc < 0)
        return rc;
    json_t *proxy = NULL;
    if (strcmp(w.status, "proposed") != 0) {
        rc = yj_err_set(err, YJ_ESTATE, "swap %lld is %s already", (long long)id, w.status);
        yj_err_zh(err, "这项换班申请已经处理过了");
    } else {
        /* The taker says yes or no; the one who asked may take it back. */
        const char *who = strcmp(status, "withdrawn") == 0 ? w.requester : w.taker;
        rc = yj_decider_check(ctx, who, &proxy, err);
    }
    if (rc == 0 && strcmp(status, "accepted") == 0) {
        /* The roster may have changed since it was asked. */
        rc = check_holder(ctx, w.rotation, w.date, w.requester, "date", err);
        if (rc == 0 && w.back_date)
            rc = check_holder(ctx, w.rotation, w.back_date, w.taker, "back_date", err);
    }
    const char *behalf = proxy ? json_string_value(json_object_get(proxy, "reason")) : NULL;
    bool began = false;
    if (rc == 0 && (rc = store_begin(ctx->store, err)) == 0) {
        began = true;
        rc = store_swap_answer(ctx->store, id, status, yj_ctx_now(ctx), ctx->actor ? ctx->actor : "", behalf, err);
    }
    if (rc == 0 && strcmp(status, "accepted") == 0) {
        char *edits_error = NULL;
        struct plan *edited = NULL;
        rc = directory_plan(plan_path, ctx->store, &edited, &edits_error, NULL, err);
        if (rc == 0 && edits_error)
            rc = yj_err_set(err, YJ_EINVAL, "the roster with this swap does not load: %s", edits_error);
        plan_free(edited);
        free(edits_error);
    }
    char object[64], action[64];
    snprintf(object, sizeof(object), "swap:%lld", (long long)id);
    snprintf(action, sizeof(action), "duty.swap.%s", answer);
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o?}", "rotation", w.rotation, "date", w.date,
                               "requester", w.requester, "taker", w.taker, "back_date", w.back_date, "on_behalf",
                               proxy);
    store_swap_release(&w);
    if (!began) {
        json_decref(detail);
        return rc;
    }
    return audit_commit(ctx, rc, action, object, detail, err);
}

struct swaps_json {
    const struct plan *plan;
    json_t *list;
};

static json_t *named(const struct plan *p, const char *id)
{
    return id ? json_string(plan_person_name(p, id)) : json_null();
}

static json_t *swap_json(const struct plan *p, const struct store_swap *w)
{
    const struct plan_rotation *rot = plan_rotation(p, w->rotation);
    return json_pack(
        "{s:I, s:s, s:s?, s:s, s:s, s:o, s:s, s:o, s:s?, s:s?, s:s, s:o, s:s, s:s?, s:o, s:s?, s:s?}", "id",
        (json_int_t)w->id, "rotation", w->rotation, "rotation_name", rot ? rot->name : NULL, "date", w->date,
        "requester", w->requester, "requester_name", named(p, w->requester), "taker", w->taker, "taker_name",
        named(p, w->taker), "back_date", w->back_date, "reason", w->reason, "status", w->status,
        "created_at", yj_json_time(w->created_at), "created_by", w->created_by, "on_behalf", w->on_behalf,
        "answered_at", w->answered_at ? yj_json_time(w->answered_at) : json_null(), "answered_by", w->answered_by,
        "answer_on_behalf", w->answer_on_behalf);
}

static int add_swap(const struct store_swap *w, void *ud)
{
    struct swaps_json *s = ud;
    json_array_insert_new(s->list, 0, swap_json(s->plan, w));
    return 0;
}

void *directory_swap_json(struct yj_ctx *ctx, int64_t id, struct yj_err *err)
{
    struct store_swap w = {0};
    if (store_swap_get(ctx->store, id, &w, err) < 0)
        return NULL;
    json_t *o = swap_json(ctx->plan, &w);
    store_swap_release(&w);
    return o;
}

void *directory_swaps_json(struct yj_ctx *ctx, const char *status, struct yj_err *err)
{
    struct swaps_json s = {ctx->plan, json_array()};
    if (store_swap_list(ctx->store, status, add_swap, &s, err) < 0) {
        json_decref(s.list);
        return NULL;
    }
    return json_pack("{s:o}", "swaps", s.list);
}
