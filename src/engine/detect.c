/* detect.c: signals → incidents. Serialised by one mutex, because the window counts and the
 * "find the open incident or open one" step must not interleave between threads. Expected load:
 * thousands of signals per second, most of which match no rule and cost one Hyperscan pass. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "ctx.h"
#include "detect.h"
#include "incident.h"
#include "../base/logline.h"
#include "rules.h"
#include "window.h"

#include <jansson.h>
#include <pthread.h>

struct detector {
    struct rules *rules;
    struct rules_scratch *scratch;
    struct window **windows;
    pthread_mutex_t lock;
    struct logline_clock clock;
};

static int check_plan(const struct rules *rules, const struct plan *plan, struct yj_err *err)
{
    for (size_t i = 0; i < rules_count(rules); i++) {
        const struct rule_def *r = rules_get(rules, i);
        const struct plan_type *t = plan_type(plan, r->raise.type);
        if (!t || (r->raise.level && !plan_type_has_level(t, r->raise.level)))
            return yj_err_set(err, YJ_EINVAL, "rule %s raises %s %s, which the plan %s does not have", r->id,
                              t ? "level" : "type", t ? r->raise.level : r->raise.type, plan->meta.id);
        if (r->gbt && !plan_gbt(plan, r->gbt, NULL))
            return yj_err_set(err, YJ_EINVAL, "rule %s names GB/T 20986 subcategory %s, which does not exist",
                              r->id, r->gbt);
    }
    return 0;
}

int detector_check_plan(const struct detector *d, const struct plan *plan, struct yj_err *err)
{
    return check_plan(d->rules, plan, err);
}

int detector_new(const char *rules_dir, const struct plan *plan, size_t max_keys, struct detector **out,
                 struct plan_diags *diags, struct yj_err *err)
{
    struct rules *rules = NULL;
    int rc = rules_load(rules_dir, NULL, 0, &rules, diags, err);
    if (rc < 0)
        return rc;
    if ((rc = check_plan(rules, plan, err)) < 0) {
        rules_free(rules);
        return rc;
    }
    struct detector *d = xcalloc(1, sizeof(*d));
    d->rules = rules;
    d->scratch = rules_scratch_new(rules);
    d->windows = xcalloc(rules_count(rules) ? rules_count(rules) : 1, sizeof(struct window *));
    for (size_t i = 0; i < rules_count(rules); i++) {
        const struct rule_def *r = rules_get(rules, i);
        if (r->threshold.count > 0)
            d->windows[i] = window_new(r->threshold.count, r->threshold.within, max_keys);
    }
    pthread_mutex_init(&d->lock, NULL);
    logline_clock_init(&d->clock, yj_now_ms());
    *out = d;
    return 0;
}

const char *detector_rule_description(const struct detector *d, const char *id)
{
    for (size_t i = 0; d && id && i < rules_count(d->rules); i++) {
        const struct rule_def *def = rules_get(d->rules, i);
        if (strcmp(def->id, id) == 0)
            return def->description;
    }
    return NULL;
}

void detector_free(struct detector *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < rules_count(d->rules); i++)
        window_free(d->windows[i]);
    free(d->windows);
    rules_scratch_free(d->scratch);
    rules_free(d->rules);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int detector_store(struct yj_ctx *ctx, struct store_signal *sigs, size_t n, const struct store_logpos *pos,
                   size_t n_pos, struct yj_err *err)
{
    /* Without the write lock: on PostgreSQL the next batch is stored while the detector's
     * incidents hold it (each of theirs waited for the other's before). */
    int rc = store_begin_unordered(ctx->store, err);
    if (rc == 0)
        rc = store_signals_insert(ctx->store, sigs, n, err);
    for (size_t i = 0; rc == 0 && i < n_pos; i++)
        rc = store_logpos_put(ctx->store, &pos[i], yj_ctx_now(ctx), err);
    if (rc == 0)
        return store_commit(ctx->store, err);
    store_rollback(ctx->store);
    return rc;
}

/* "{ip} 在 10 分钟内…" with the hit's fields. */
static char *expand_title(const char *tmpl, const struct rule_hit *hit)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (const char *p = tmpl; *p; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (close && close - p < 64) {
            char name[64], value[256];
            memcpy(name, p + 1, (size_t)(close - p - 1));
            name[close - p - 1] = 0;
            fputs(rule_hit_field(hit, name, value, sizeof(value)), f);
            p = close;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    /* Titles are one line of at most 200 characters; cut at a character boundary. */
    size_t chars = 0, i = 0;
    for (; out[i] && chars < 200; i++)
        if (((unsigned char)out[i] & 0xC0) != 0x80)
            chars++;
    while (out[i] && ((unsigned char)out[i] & 0xC0) == 0x80)
        i++;
    out[i] = 0;
    return out;
}

/* The fields a rule read from the message, as a JSON object (malloc'd): what the signal is
 * about from now on, whatever the sender put beside the line. */
static char *hit_fields_json(const struct rule_hit *hit)
{
    json_t *o = json_object();
    for (size_t i = 0; i < hit->n_fields; i++)
        json_object_set_new(o, hit->names[i], json_stringn(hit->values[i], hit->lens[i]));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

struct processing {
    struct detector *d;
    struct yj_ctx *ctx;
    const struct store_signal *sig;
    const char *rule;    /* the first rule that matched */
    char *extracted;     /* the fields it read from the message, as a JSON object (malloc'd) */
    int64_t incident_id; /* what the signal went to */
    size_t processed;    /* signals processed so far (detector_process_pending) */
    int rc;
    struct yj_err *err;
    bool warm; /* only refill windows: no incident effects */
};

static void on_hit(const struct rule_hit *hit, void *ud)
{
    struct processing *p = ud;
    if (p->rc < 0 || hit->allowed)
        return;
    if (!p->rule) {
        p->rule = hit->rule->id;
        if (!p->warm)
            p->extracted = hit_fields_json(hit);
    }
    struct detector *d = p->d;
    size_t idx = rules_index(d->rules, hit->rule);
    char key[512];
    size_t kl = rule_hit_key(hit, key, sizeof(key));
    if (p->warm) {
        if (d->windows[idx])
            window_add(d->windows[idx], key, kl, p->sig->time);
        return;
    }
    char *fingerprint = xasprintf("%s:%.*s", hit->rule->id, (int)kl, key);
    for (char *c = fingerprint; *c; c++)
        if (*c == 0x1f)
            *c = '|';
    struct yj_ctx ctx = *p->ctx;
    char actor[96];
    snprintf(actor, sizeof(actor), "rule:%s", hit->rule->id);
    ctx.actor = actor;
    struct store_incident open;
    int rc = store_incident_open_by_fingerprint(ctx.store, fingerprint, &open, p->err);
    if (rc == 0) {
        /* The same thing again: count it on the incident already open. */
        rc = incident_attach_signal(&ctx, &open, p->sig->time, hit->rule->id, p->sig->message, p->err);
        if (rc == 0)
            p->incident_id = open.id;
        store_incident_release(&open);
    } else if (rc == YJ_ENOTFOUND) {
        rc = 0;
        bool fire = !d->windows[idx] || window_add(d->windows[idx], key, kl, p->sig->time);
        if (fire) {
            char *title = expand_title(hit->rule->raise.title, hit);
            char *source =
                xasprintf("自动检测：规则 %s%s%s（%s）", hit->rule->id, hit->rule->description ? "，" : "",
                          hit->rule->description ? hit->rule->description : "", p->sig->source);
            const char *assets[1] = {p->sig->asset ? p->sig->asset : p->sig->host};
            struct incident_report_req req = {
                .type = hit->rule->raise.type,
                .title = title,
                .level = hit->rule->raise.level,
                .source = source,
                .assets = assets,
                .n_assets = assets[0] ? 1 : 0,
                .detected_at = p->sig->time,
                .fingerprint = fingerprint,
                .signal_count = hit->rule->threshold.count > 0 ? hit->rule->threshold.count : 1,
                .gbt = hit->rule->gbt,
            };
            struct store_incident made;
            rc = incident_report(&ctx, &req, &made, p->err);
            if (rc == 0) {
                p->incident_id = made.id;
                store_incident_release(&made);
            }
            free(title);
            free(source);
        }
    }
    free(fingerprint);
    if (rc < 0)
        p->rc = rc;
}

static void run(struct detector *d, struct processing *p)
{
    const struct store_signal *s = p->sig;
    struct logline ll;
    if (s->program) {
        ll = (struct logline){.program = s->program,
                              .program_len = strlen(s->program),
                              .msg = s->message,
                              .msg_len = strlen(s->message)};
    } else {
        /* A raw syslog line: the same prefix parsing as a log file. */
        logline_parse(s->message, strlen(s->message), &d->clock, &ll);
    }
    rules_match(d->rules, d->scratch, ll.program, ll.program_len, ll.msg, ll.msg_len, on_hit, p);
}

static const char *text_of(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && *v ? v : NULL;
}

/* A signal that says what it means, decided by the configuration of the source that made it (a
 * monitor knows which plan type its outage is): fields.incident = {type, title, key, level?,
 * unit?, gbt?} opens the incident keyed "signal:KEY" or counts on it while it is open;
 * fields.recovered = {key, note} records on that open incident that its cause went away. */
static void structured(struct processing *p)
{
    const char *f = p->sig->fields;
    if (!f || (!strstr(f, "\"incident\"") && !strstr(f, "\"recovered\"")))
        return;
    json_t *j = json_loads(f, 0, NULL);
    json_t *raise = json_object_get(j, "incident"), *rec = json_object_get(j, "recovered");
    json_t *which = json_is_object(raise) ? raise : rec;
    const char *key = text_of(which, "key");
    if (!json_is_object(which) || !key) {
        json_decref(j);
        return;
    }
    char *fingerprint = xasprintf("signal:%s", key);
    struct store_incident open;
    int rc = store_incident_open_by_fingerprint(p->ctx->store, fingerprint, &open, p->err);
    if (rc == 0) {
        if (which == raise)
            rc = incident_attach_signal(p->ctx, &open, p->sig->time, key, p->sig->message, p->err);
        else
            rc = incident_recovered(p->ctx, &open, text_of(rec, "note"), p->sig->time, p->err);
        if (rc == 0)
            p->incident_id = open.id;
        store_incident_release(&open);
    } else if (rc == YJ_ENOTFOUND) {
        rc = 0;
        if (which == raise) {
            const char *assets[1] = {p->sig->asset ? p->sig->asset : p->sig->host};
            struct incident_report_req req = {
                .type = text_of(raise, "type"),
                .title = text_of(raise, "title"),
                .level = text_of(raise, "level"),
                .unit = text_of(raise, "unit"),
                .gbt = text_of(raise, "gbt"),
                .source = p->sig->message,
                .assets = assets,
                .n_assets = assets[0] ? 1 : 0,
                .detected_at = p->sig->time,
                .fingerprint = fingerprint,
                .signal_count = 1,
            };
            struct store_incident made;
            struct yj_err why = {0};
            /* A type or unit the plan lost since the source was configured: the signal stays
             * stored, unattached, and the reason is logged once per signal. */
            if (!req.type || !req.title)
                yj_log_warn("signal %lld: fields.incident needs type and title", (long long)p->sig->id);
            else if (incident_report(p->ctx, &req, &made, &why) == 0) {
                p->incident_id = made.id;
                store_incident_release(&made);
            } else if (why.code == YJ_EINVAL)
                yj_log_warn("signal %lld: %s", (long long)p->sig->id, why.msg);
            else {
                rc = why.code ? why.code : YJ_ESTORE;
                if (p->err)
                    *p->err = why;
            }
        }
        /* recovered with nothing open: the incident was closed already; nothing to record. */
    }
    free(fingerprint);
    json_decref(j);
    if (rc < 0)
        p->rc = rc;
}

static int process_one(const struct store_signal *s, void *ud)
{
    struct processing *base = ud;
    struct processing p = {.d = base->d, .ctx = base->ctx, .sig = s, .err = base->err};
    run(base->d, &p);
    if (p.rc == 0 && !p.rule && !base->warm)
        structured(&p);
    if (p.rc < 0) {
        free(p.extracted);
        base->rc = p.rc;
        return 1;
    }
    int rc = store_signal_processed(base->ctx->store, s->id, yj_ctx_now(base->ctx), p.rule, p.extracted,
                                    p.incident_id, base->err);
    free(p.extracted);
    if (rc < 0) {
        base->rc = rc;
        return 1;
    }
    base->processed++;
    return 0;
}

int detector_process_pending(struct detector *d, struct yj_ctx *ctx, size_t *processed, struct yj_err *err)
{
    pthread_mutex_lock(&d->lock);
    struct processing base = {.d = d, .ctx = ctx, .err = err};
    int rc = 0;
    size_t before;
    /* A page of signals per transaction: one WAL sync for the page instead of one per signal;
     * each incident change inside is still all-or-nothing on its own (a savepoint). */
    do {
        before = base.processed;
        if ((rc = store_begin(ctx->store, err)) < 0)
            break;
        rc = store_signal_unprocessed(ctx->store, 250, process_one, &base, err);
        if (rc == 0 && base.rc == 0)
            rc = store_commit(ctx->store, err);
        else
            store_rollback(ctx->store);
    } while (rc == 0 && base.rc == 0 && base.processed > before);
    pthread_mutex_unlock(&d->lock);
    if (processed)
        *processed = base.processed;
    return rc < 0 ? rc : base.rc;
}

size_t detector_evictions(struct detector *d, struct detector_eviction **out)
{
    size_t n = 0;
    struct detector_eviction *ev = xcalloc(rules_count(d->rules) + 1, sizeof(*ev));
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < rules_count(d->rules); i++)
        if (d->windows[i])
            ev[n++] = (struct detector_eviction){rules_get(d->rules, i)->id, window_evictions(d->windows[i])};
    pthread_mutex_unlock(&d->lock);
    *out = ev;
    return n;
}

static int warm_one(const struct store_signal *s, void *ud)
{
    struct processing *base = ud;
    struct processing p = {.d = base->d, .ctx = base->ctx, .sig = s, .err = base->err, .warm = true};
    run(base->d, &p);
    return 0;
}

int detector_warm(struct detector *d, struct yj_ctx *ctx, struct yj_err *err)
{
    int64_t longest = 0;
    for (size_t i = 0; i < rules_count(d->rules); i++)
        if (rules_get(d->rules, i)->threshold.within > longest)
            longest = rules_get(d->rules, i)->threshold.within;
    if (longest == 0)
        return 0;
    pthread_mutex_lock(&d->lock);
    struct processing base = {.d = d, .ctx = ctx, .err = err};
    int rc = store_signal_recent(ctx->store, yj_ctx_now(ctx) - longest, warm_one, &base, err);
    pthread_mutex_unlock(&d->lock);
    return rc;
}
