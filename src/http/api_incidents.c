/* api_incidents.c: /api/v1/incidents — report, list, read, move, assess, timeline, notes.
 * Thin over engine/incident.c: parse and check the body, call the engine, shape the answer.
 * A caller who may not see an incident gets the same 404 as for one that does not exist. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/text.h"
#include "../report/upward.h"
#include "../base/timeutil.h"
#include "../engine/detect.h"
#include "../engine/incident.h"
#include "../engine/incident_json.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "cache.h"
#include "http.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void set_etag(struct request *r, const struct store_incident *inc)
{
    snprintf(r->resp.etag, sizeof(r->resp.etag), "\"%lld-%lld\"", (long long)inc->id,
             (long long)inc->version);
}

/* The cache key part that depends on who asks: informants see a filtered world. */
static void visibility_key(const struct request *r, char *buf, size_t size)
{
    if (r->id.kind == ID_SESSION && r->id.role_bit == ROLE_OFFICER)
        snprintf(buf, size, "o|%s|%s", r->id.unit, r->id.actor);
    else
        snprintf(buf, size, "all");
}

/* The stamp a cached read must still match: no incident event since, same plan. */
static bool current_stamp(struct request *r, struct cache_stamp *st)
{
    struct yj_err err = {0};
    st->plan = (uintptr_t)r->plan->generation;
    st->valid_until = INT64_MAX;
    return store_event_last(r->store, &st->event_id, &err) == 0;
}

/* Answers from the cache when it can; returns true when it did. */
static bool from_cache(struct request *r, const char *key, const struct cache_stamp *st)
{
    struct cached_body *b = response_cache_get(server_cache(r->srv), key, st, yj_now_ms());
    if (!b)
        return false;
    snprintf(r->resp.etag, sizeof(r->resp.etag), "%s", b->etag);
    const char *inm = request_header(r, "If-None-Match");
    if (b->etag[0] && inm && strcmp(inm, b->etag) == 0) {
        cached_body_release(b);
        r->resp.status = 304;
    } else {
        r->resp.shared = b;
        r->resp.status = 200;
        r->resp.type = "application/json";
    }
    return true;
}

/* Names for the timeline's actors that the console cannot find in the plan: a detection rule's
 * description (actor "rule:ID"), the person an account is (actor "user:NAME"). */
static void name_actors(struct request *r, json_t *incident)
{
    json_t *tl = json_object_get(incident, "timeline");
    json_t *people = json_object(); /* account name → its person's name, or null */
    size_t i;
    json_t *e;
    json_array_foreach(tl, i, e) {
        const char *actor = json_string_value(json_object_get(e, "actor"));
        const char *name = NULL;
        if (actor && strncmp(actor, "rule:", 5) == 0) {
            name = detector_rule_description(server_detector(r->srv), actor + 5);
        } else if (actor && strncmp(actor, "user:", 5) == 0) {
            json_t *known = json_object_get(people, actor + 5);
            if (!known) {
                struct store_user u = {0};
                struct yj_err err = {0};
                const struct plan_person *p = NULL;
                if (store_user_get(r->ctx.store, 0, actor + 5, &u, &err) == 0 && u.person)
                    p = plan_person(r->ctx.plan, u.person);
                known = p ? json_string(p->name) : json_null();
                json_object_set_new(people, actor + 5, known);
                store_user_release(&u);
            }
            name = json_string_value(known);
        }
        if (name)
            json_object_set_new(e, "actor_name", json_string(name));
    }
    json_decref(people);
}

/* Replies with the incident in the shape of `yingji incident show --json`; *until (may be NULL)
 * learns when that JSON goes stale by the clock alone. */
static void reply_incident_until(struct request *r, unsigned status, const struct store_incident *inc,
                                 int64_t *until)
{
    struct yj_err err = {0};
    json_t *j = incident_json(&r->ctx, inc, INCIDENT_FULL_TIMELINE, until, &err);
    if (!j) {
        reply_error(r, &err);
        return;
    }
    name_actors(r, j);
    reply_json(r, status, j);
    set_etag(r, inc);
}

static void reply_incident(struct request *r, unsigned status, const struct store_incident *inc)
{
    reply_incident_until(r, status, inc, NULL);
}

/* Loads the incident named in the path, or replies 404 (also when the caller may not see it). */
static bool load(struct request *r, struct store_incident *inc)
{
    struct yj_err err = {0};
    if (incident_find(&r->ctx, r->params[0], inc, &err) < 0) {
        if (err.code == YJ_EINVAL)
            err.code = YJ_ENOTFOUND;
        reply_error(r, &err);
        return false;
    }
    if (!auth_can_see(r, inc)) {
        store_incident_release(inc);
        reply_problem(r, 404, "not_found", NULL, "no incident %s", r->params[0]);
        return false;
    }
    return true;
}

/* If-Match: "ID-VERSION" (weak or strong). Returns the version, 0 when absent, -1 when it names
 * another incident or cannot be read (then 412 is the answer). */
static int64_t if_match(struct request *r, const struct store_incident *inc)
{
    const char *h = request_header(r, "If-Match");
    if (!h)
        return 0;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    long long id = 0, version = 0;
    char tail;
    if (sscanf(h, "\"%lld-%lld\"%c", &id, &version, &tail) != 2 || id != inc->id || version <= 0)
        return -1;
    return version;
}

static const char *string_at(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void api_incidents_create(struct request *r)
{
    static const struct json_field fields[] = {
        {"type", JSON_STRING, true},         {"title", JSON_STRING, true},
        {"level", JSON_STRING, false},       {"asset", -1, false},
        {"source", JSON_STRING, false},      {"scope", JSON_STRING, false},
        {"nature", JSON_STRING, false},      {"trend", JSON_STRING, false},
        {"measures", JSON_STRING, false},    {"drill", JSON_TRUE, false},
        {"occurred_at", JSON_STRING, false}, {"detected_at", JSON_STRING, false},
    };
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)))
        goto out;
    const char *assets[INCIDENT_ASSETS_MAX];
    struct incident_report_req req = {
        .type = string_at(b, "type"),
        .title = string_at(b, "title"),
        .level = string_at(b, "level"),
        .source = string_at(b, "source"),
        .scope = string_at(b, "scope"),
        .nature = string_at(b, "nature"),
        .trend = string_at(b, "trend"),
        .measures = string_at(b, "measures"),
        .drill = json_is_true(json_object_get(b, "drill")),
        .assets = assets,
    };
    /* "asset" is one string or a list of them, like the CLI's repeatable --asset. */
    json_t *a = json_object_get(b, "asset");
    if (json_is_string(a)) {
        assets[req.n_assets++] = json_string_value(a);
    } else if (json_is_array(a)) {
        if (json_array_size(a) > INCIDENT_ASSETS_MAX) {
            reply_problem(r, 400, "invalid_field", "asset", "at most %d assets", INCIDENT_ASSETS_MAX);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!json_is_string(json_array_get(a, i))) {
                reply_problem(r, 400, "invalid_field", "asset",
                              "asset must be a string or a list of strings");
                goto out;
            }
            assets[req.n_assets++] = json_string_value(json_array_get(a, i));
        }
    } else if (a && !json_is_null(a)) {
        reply_problem(r, 400, "invalid_field", "asset", "asset must be a string or a list of strings");
        goto out;
    }
    static const char *const times[] = {"occurred_at", "detected_at"};
    for (size_t i = 0; i < 2; i++) {
        const char *t = string_at(b, times[i]);
        struct yj_err err = {0};
        int64_t *slot = i == 0 ? &req.occurred_at : &req.detected_at;
        if (t && yj_time_parse(t, slot, &err) < 0) {
            reply_problem(r, 400, "invalid_field", times[i], "%s: %s", times[i], err.msg);
            goto out;
        }
    }
    /* An informant reports for the own unit's concerns; routing still follows the plan, and the
     * report stays visible to its author through the reporter field. */
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_report(&r->ctx, &req, &inc, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    reply_incident(r, 201, &inc);
    snprintf(r->resp.location, sizeof(r->resp.location), "/api/v1/incidents/%lld", (long long)inc.id);
    store_incident_release(&inc);
    server_wake_streams(r->srv);
    server_poke_clock(r->srv); /* the new-incident notifications go out now, not at the next second */
out:
    json_decref(b);
}

struct list_state {
    struct request *r;
    json_t *items;
    int count;
    int limit;
    enum store_sort sort;
    int64_t last_key, last_id;
    int64_t until;
    struct yj_err err;
    bool failed;
};

static int list_row(const struct store_incident *inc, void *ud)
{
    struct list_state *s = ud;
    if (s->count == s->limit)
        return 1; /* the one extra row only says there is a next page */
    json_t *j = incident_json(&s->r->ctx, inc, INCIDENT_SUMMARY, &s->until, &s->err);
    if (!j) {
        s->failed = true;
        return 1;
    }
    json_array_append_new(s->items, j);
    s->count++;
    s->last_key = store_incident_sort_key(inc, s->sort);
    s->last_id = inc->id;
    return 0;
}

bool incidents_filter(struct request *r, struct store_incident_filter *f)
{
    *f = (struct store_incident_filter){.drill = -1};
    f->status = request_query(r, "status");
    f->type = request_query(r, "type");
    f->level = request_query(r, "level");
    f->unit = request_query(r, "unit");
    f->text = request_query(r, "text");
    /* "mine": given to the caller's account. */
    f->assignee = request_query(r, "assignee");
    if (f->assignee && strcmp(f->assignee, "me") == 0)
        f->assignee = r->id.name;
    /* A date range of reported_at: from (inclusive) and to (exclusive), times or dates (a date is
     * its midnight in the plan's zone), as the route checked them. */
    static const char *const ends[] = {"from", "to"};
    for (size_t i = 0; i < YJ_ARRAY_LEN(ends); i++) {
        const char *v = request_query(r, ends[i]);
        int64_t ms = 0;
        int y, m, d;
        struct yj_err err = {0};
        if (v && yj_date_parse(v, &y, &m, &d) == 0)
            ms = yj_local_to_ms(y, m, d, 0);
        else if (v && yj_time_parse(v, &ms, &err) < 0) {
            reply_problem(r, 400, "invalid_field", ends[i], "%s must be a date (2026-12-01) or a time", ends[i]);
            return false;
        }
        *(i ? &f->reported_to : &f->reported_from) = ms;
    }
    /* The values were checked against the route's parameters (router.c). */
    const char *drill = request_query(r, "drill");
    if (drill)
        f->drill = strcmp(drill, "true") == 0;
    static const struct {
        const char *name;
        enum store_sort sort;
    } sorts[] = {{"-reported_at", STORE_SORT_NEWEST},
                 {"reported_at", STORE_SORT_OLDEST},
                 {"-updated_at", STORE_SORT_UPDATED},
                 {"severity", STORE_SORT_SEVERITY}};
    const char *sort = request_query(r, "sort");
    for (size_t i = 0; sort && i < YJ_ARRAY_LEN(sorts); i++)
        if (strcmp(sorts[i].name, sort) == 0)
            f->sort = sorts[i].sort;
    /* The cursor is "SORT_KEY.ID" of the last row of the previous page. */
    const char *cursor = request_query(r, "cursor");
    if (cursor) {
        long long k, id;
        char tail;
        if (sscanf(cursor, "%lld.%lld%c", &k, &id, &tail) != 2) {
            reply_problem(r, 400, "invalid_field", "cursor",
                          "cursor must be the \"next\" value of a previous page");
            return false;
        }
        f->has_cursor = true;
        f->cursor_key = k;
        f->cursor_id = id;
    }
    if (r->id.kind == ID_SESSION && r->id.role_bit == ROLE_OFFICER) {
        f->visible_unit = r->id.unit[0] ? r->id.unit : NULL;
        f->visible_reporter = r->id.actor;
    }
    return true;
}

void api_incidents_list(struct request *r)
{
    struct store_incident_filter f;
    if (!incidents_filter(r, &f))
        return;
    int limit = (int)request_query_int(r, "limit", 50);
    /* Same question, same caller's view, nothing changed since: the same answer. */
    char vis[256], *key;
    visibility_key(r, vis, sizeof(vis));
    {
        static const char *const params[] = {"status", "type",   "level",    "unit", "text", "drill",
                                             "sort",   "limit",  "cursor",   "from", "to"};
        char *k = NULL;
        size_t kl = 0;
        FILE *kf = open_memstream(&k, &kl);
        fprintf(kf, "list|%s|assignee=%s", vis, f.assignee ? f.assignee : "\x01");
        for (size_t i = 0; i < YJ_ARRAY_LEN(params); i++) {
            const char *v = request_query(r, params[i]);
            fprintf(kf, "|%s=%s", params[i], v ? v : "\x01");
        }
        fclose(kf);
        key = k;
    }
    struct cache_stamp stamp;
    bool cacheable = current_stamp(r, &stamp);
    if (cacheable && from_cache(r, key, &stamp)) {
        free(key);
        return;
    }
    f.limit = limit + 1;
    struct list_state s = {.r = r, .items = json_array(), .limit = limit, .sort = f.sort, .until = INT64_MAX};
    if (store_incident_list(r->store, &f, list_row, &s, &s.err) < 0 || s.failed) {
        json_decref(s.items);
        reply_error(r, &s.err);
        free(key);
        return;
    }
    json_t *next = json_null();
    if (s.count == limit && json_array_size(s.items) == (size_t)limit) {
        /* Ask for one more than shown: if it came, there is a next page. */
        char buf[64];
        snprintf(buf, sizeof(buf), "%lld.%lld", (long long)s.last_key, (long long)s.last_id);
        json_decref(next);
        next = json_string(buf);
    }
    reply_json(r, 200, json_pack("{s:o, s:o}", "items", s.items, "next", next));
    if (cacheable) {
        stamp.valid_until = s.until;
        response_cache_put(server_cache(r->srv), key, &stamp, r->resp.body, r->resp.len, "");
    }
    free(key);
}

void api_incidents_get(struct request *r)
{
    char vis[256], key[512];
    visibility_key(r, vis, sizeof(vis));
    snprintf(key, sizeof(key), "one|%s|%s", vis, r->params[0]);
    struct cache_stamp stamp;
    bool cacheable = current_stamp(r, &stamp);
    if (cacheable && from_cache(r, key, &stamp))
        return;
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    char etag[48];
    snprintf(etag, sizeof(etag), "\"%lld-%lld\"", (long long)inc.id, (long long)inc.version);
    const char *inm = request_header(r, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        r->resp.status = 304;
        set_etag(r, &inc);
    } else {
        int64_t until = INT64_MAX;
        reply_incident_until(r, 200, &inc, &until);
        stamp.valid_until = until;
        if (cacheable && r->resp.status == 200)
            response_cache_put(server_cache(r->srv), key, &stamp, r->resp.body, r->resp.len, r->resp.etag);
    }
    store_incident_release(&inc);
}

/* Turns {"k": "v", ...} into incident fields; false (after replying) on a non-string value. */
static bool to_fields(struct request *r, json_t *obj, struct incident_field *out, size_t max, size_t *n)
{
    *n = 0;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            reply_problem(r, 400, "invalid_field", k, "%s must be a string", k);
            return false;
        }
        if (*n == max) {
            reply_problem(r, 400, "invalid_field", k, "too many fields");
            return false;
        }
        out[(*n)++] = (struct incident_field){k, json_string_value(v)};
    }
    return true;
}

void api_incidents_move(struct request *r)
{
    static const struct json_field fields[] = {
        {"status", JSON_STRING, true},
        {"reason", JSON_STRING, false},
        {"fields", JSON_OBJECT, false},
        {"on_behalf", JSON_STRING, false}};
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    json_t *b = request_json(r);
    struct incident_field fs[32];
    size_t n = 0;
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)) ||
        !to_fields(r, json_object_get(b, "fields"), fs, YJ_ARRAY_LEN(fs), &n))
        goto out;
    if (!router_may_move(&r->id, string_at(b, "status"))) {
        /* Closing is the leading group's decision (领导小组): the team may not. */
        reply_problem(r, 403, "forbidden", "status", "the %s role may not move an incident to %s", r->id.role,
                      string_at(b, "status"));
        goto out;
    }
    int64_t version = if_match(r, &inc);
    if (version < 0) {
        reply_problem(r, 412, "precondition_failed", NULL,
                      "If-Match does not name this incident's current ETag");
        goto out;
    }
    struct store_incident moved;
    struct yj_err err = {0};
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
    r->decider.on_behalf = string_at(b, "on_behalf");
    if (incident_move(&r->ctx, ref, string_at(b, "status"), string_at(b, "reason"), fs, n, version, &moved,
                      &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    reply_incident(r, 200, &moved);
    store_incident_release(&moved);
    server_wake_streams(r->srv);
out:
    json_decref(b);
    store_incident_release(&inc);
}

void api_incidents_assess(struct request *r)
{
    static const struct json_field fields[] = {
        {"source", JSON_STRING, false}, {"scope", JSON_STRING, false},    {"nature", JSON_STRING, false},
        {"trend", JSON_STRING, false},  {"measures", JSON_STRING, false}, {"level", JSON_STRING, false},
        {"clues", JSON_STRING, false},  {"support", JSON_STRING, false},  {"scene", JSON_STRING, false}};
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    json_t *b = request_json(r);
    struct incident_field fs[8];
    size_t n = 0;
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)) ||
        !to_fields(r, b, fs, YJ_ARRAY_LEN(fs), &n))
        goto out;
    int64_t version = if_match(r, &inc);
    if (version < 0) {
        reply_problem(r, 412, "precondition_failed", NULL,
                      "If-Match does not name this incident's current ETag");
        goto out;
    }
    struct store_incident done;
    struct yj_err err = {0};
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
    if (incident_assess(&r->ctx, ref, fs, n, version, &done, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    reply_incident(r, 200, &done);
    store_incident_release(&done);
    server_wake_streams(r->srv);
out:
    json_decref(b);
    store_incident_release(&inc);
}

struct timeline_state {
    json_t *items;
    const char *only; /* kind filter, NULL for all */
};

static int timeline_row(const struct store_timeline_entry *e, void *ud)
{
    struct timeline_state *s = ud;
    if (s->only && strcmp(e->kind, s->only) != 0)
        return 0;
    char at[40];
    yj_time_rfc3339(e->at, at, sizeof(at));
    json_t *body = json_loads(e->body, 0, NULL);
    json_array_append_new(s->items,
                          json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)e->id, "at", at, "actor",
                                    e->actor, "kind", e->kind, "body", body ? body : json_object()));
    return 0;
}

static void timeline_of(struct request *r, const char *only)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    struct timeline_state s = {.items = json_array(), .only = only};
    struct yj_err err = {0};
    if (store_timeline_list(r->store, inc.id, timeline_row, &s, &err) < 0) {
        json_decref(s.items);
        reply_error(r, &err);
    } else {
        reply_json(r, 200, json_pack("{s:o}", "items", s.items));
    }
    store_incident_release(&inc);
}

void api_incidents_timeline(struct request *r)
{
    timeline_of(r, NULL);
}

void api_incidents_notes_list(struct request *r)
{
    timeline_of(r, "note");
}

void api_incidents_notes_add(struct request *r)
{
    static const struct json_field fields[] = {{"text", JSON_STRING, true}};
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)))
        goto out;
    struct yj_err err = {0};
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
    if (incident_note(&r->ctx, ref, string_at(b, "text"), &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    struct store_incident now;
    if (incident_find(&r->ctx, ref, &now, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    reply_incident(r, 201, &now);
    store_incident_release(&now);
    server_wake_streams(r->srv);
out:
    json_decref(b);
    store_incident_release(&inc);
}

void api_incidents_ack(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    struct yj_err err = {0};
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
    struct store_incident now;
    if (incident_ack(&r->ctx, ref, &now, &err) < 0) {
        reply_error(r, &err);
    } else {
        reply_incident(r, 200, &now);
        store_incident_release(&now);
        server_wake_streams(r->srv);
    }
    store_incident_release(&inc);
}

/* A change to an incident from a JSON body: load and check, change (ref is the incident's id),
 * then answer with the incident as it is now. */
typedef int (*incident_change_fn)(struct request *r, const char *ref, json_t *body, struct store_incident *now,
                                  struct yj_err *err);

static void change_incident(struct request *r, const struct json_field *fields, size_t n_fields,
                            incident_change_fn change)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    json_t *b = request_json(r);
    if (b && request_check(r, b, fields, n_fields)) {
        struct yj_err err = {0};
        char ref[32];
        snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
        struct store_incident now;
        if (change(r, ref, b, &now, &err) < 0) {
            reply_error(r, &err);
        } else {
            reply_incident(r, 200, &now);
            store_incident_release(&now);
            server_wake_streams(r->srv);
        }
    }
    json_decref(b);
    store_incident_release(&inc);
}

static int activate(struct request *r, const char *ref, json_t *b, struct store_incident *now, struct yj_err *err)
{
    /* Without "by" it is the logged-in person's own decision. */
    const char *by = json_string_value(json_object_get(b, "by"));
    r->decider.on_behalf = string_at(b, "on_behalf");
    return incident_activate(&r->ctx, ref, by ? by : r->id.person, string_at(b, "reason"), now, err);
}

void api_incidents_activate(struct request *r)
{
    static const struct json_field fields[] = {
        {"by", JSON_STRING, false}, {"reason", JSON_STRING, true}, {"on_behalf", JSON_STRING, false}};
    change_incident(r, fields, YJ_ARRAY_LEN(fields), activate);
}

static int waive(struct request *r, const char *ref, json_t *b, struct store_incident *now, struct yj_err *err)
{
    int rc = incident_waive(&r->ctx, ref, r->params[1], string_at(b, "reason"), err);
    return rc < 0 ? rc : store_incident_get(r->store, strtoll(ref, NULL, 10), NULL, now, err);
}

void api_incidents_waive(struct request *r)
{
    static const struct json_field fields[] = {{"reason", JSON_STRING, true}};
    change_incident(r, fields, YJ_ARRAY_LEN(fields), waive);
}

static int add_notification(const struct store_notification *n, void *ud)
{
    json_array_append_new(ud,
                          json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:I, s:s?, s:o?}", "id",
                                    (json_int_t)n->id, "created_at", yj_json_time(n->created_at), "recipient",
                                    n->recipient, "target", n->target, "subject", n->subject, "body", n->body,
                                    "status", n->status, "attempts", (json_int_t)n->attempts, "last_error",
                                    n->last_error, "sent_at", n->sent_at ? yj_json_time(n->sent_at) : NULL));
    return 0;
}

void api_incidents_notifications(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    json_t *items = json_array();
    struct yj_err err = {0};
    if (store_notification_list(r->ctx.store, inc.id, add_notification, items, &err) < 0) {
        json_decref(items);
        reply_error(r, &err);
    } else {
        reply_json(r, 200, json_pack("{s:o}", "items", items));
    }
    store_incident_release(&inc);
}

void api_incidents_upward_report(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    char *md = report_upward_markdown(&r->ctx, &inc);
    reply_bytes(r, 200, "text/markdown; charset=utf-8", md, strlen(md));
    free(md);
    store_incident_release(&inc);
}

void api_incidents_upward_submit(struct request *r)
{
    static const struct json_field fields[] = {{"to", JSON_STRING, false}};
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    json_t *b = r->body_len ? request_json(r) : json_object();
    if (b && request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        struct yj_err err = {0};
        char ref[32];
        snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
        void *out = NULL;
        if (report_upward_submit(&r->ctx, ref, json_string_value(json_object_get(b, "to")), &out, &err) < 0) {
            reply_error(r, &err);
        } else {
            reply_json(r, 200, out);
            server_wake_streams(r->srv);
        }
    }
    json_decref(b);
    store_incident_release(&inc);
}

void api_incidents_tasks(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    struct store_task ts[64];
    size_t n = 0;
    struct yj_err err = {0};
    if (store_task_list(r->ctx.store, inc.id, ts, YJ_ARRAY_LEN(ts), &n, &err) < 0) {
        reply_error(r, &err);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(items, task_json(&ts[i]));
            store_task_release(&ts[i]);
        }
        reply_json(r, 200, json_pack("{s:o}", "items", items));
    }
    store_incident_release(&inc);
}

/* What a task route does to the task, with the request's checked body. */
typedef int (*task_change_fn)(struct request *r, const char *ref, int64_t task_id, json_t *body,
                              struct store_task *out, struct yj_err *err);

/* The shared shape of the task routes: the incident (visible to the caller), the body, the task
 * number from the path, the change, the task as the answer. */
/* b: the body, parsed once by the caller (which owns it). */
static void change_task(struct request *r, json_t *b, const struct json_field *fields, size_t n_fields,
                        task_change_fn change)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    char *end = NULL;
    long long task_id = strtoll(r->params[1], &end, 10);
    struct yj_err err = {0};
    struct store_task t;
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", (long long)inc.id);
    if (!request_check(r, b, fields, n_fields)) {
        /* request_check has answered */
    } else if (!end || *end || task_id <= 0) {
        reply_problem(r, 404, "not_found", NULL, "no task %s", r->params[1]);
    } else if (change(r, ref, task_id, b, &t, &err) < 0) {
        reply_error(r, &err);
    } else {
        reply_json(r, 200, task_json(&t));
        store_task_release(&t);
        server_wake_streams(r->srv);
    }
    store_incident_release(&inc);
}

static int update_task(struct request *r, const char *ref, int64_t task_id, json_t *b, struct store_task *out,
                       struct yj_err *err)
{
    return incident_task_update(&r->ctx, ref, task_id, string_at(b, "status"), string_at(b, "reason"),
                                string_at(b, "note"), out, err);
}

static int assign_task(struct request *r, const char *ref, int64_t task_id, json_t *b, struct store_task *out,
                       struct yj_err *err)
{
    int rc = incident_assign(&r->ctx, ref, task_id, string_at(b, "assignee"), NULL, err);
    return rc < 0 ? rc : store_task_get(r->ctx.store, task_id, out, err);
}

void api_incidents_task_update(struct request *r)
{
    /* Either a change of state or a change of hands ({"assignee": NAME or null}). */
    static const struct json_field state[] = {
        {"status", JSON_STRING, true}, {"reason", JSON_STRING, false}, {"note", JSON_STRING, false}};
    static const struct json_field hands[] = {{"assignee", JSON_STRING, false}};
    json_t *b = request_json(r);
    if (!b)
        return;
    if (json_object_get(b, "assignee") && !json_object_get(b, "status"))
        change_task(r, b, hands, YJ_ARRAY_LEN(hands), assign_task);
    else
        change_task(r, b, state, YJ_ARRAY_LEN(state), update_task);
    json_decref(b);
}

static int assign(struct request *r, const char *ref, json_t *b, struct store_incident *now, struct yj_err *err)
{
    return incident_assign(&r->ctx, ref, 0, string_at(b, "assignee"), now, err);
}

void api_incidents_assign(struct request *r)
{
    static const struct json_field fields[] = {{"assignee", JSON_STRING, false}};
    change_incident(r, fields, YJ_ARRAY_LEN(fields), assign);
}

static int add_assignee(const struct store_user *u, void *ud)
{
    struct request *r = ((void **)ud)[0];
    json_t *items = ((void **)ud)[1];
    if (u->disabled)
        return 0;
    const struct plan_person *p = u->person ? plan_person(r->ctx.plan, u->person) : NULL;
    json_array_append_new(items, json_pack("{s:s, s:s, s:o, s:o}", "name", u->name, "role", u->role, "person",
                                           u->person ? json_string(u->person) : json_null(), "person_name",
                                           p ? json_string(p->name) : json_null()));
    return 0;
}

/* Whom a thing may be given to: the enabled accounts, with the person each is. */
void api_assignees_list(struct request *r)
{
    json_t *items = json_array();
    void *ud[2] = {r, items};
    struct yj_err err = {0};
    if (store_user_list(r->store, add_assignee, ud, &err) < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static int approve_task(struct request *r, const char *ref, int64_t task_id, json_t *b,
                        struct store_task *out, struct yj_err *err)
{
    return incident_task_approve(&r->ctx, ref, task_id, json_is_true(json_object_get(b, "approve")),
                                 string_at(b, "reason"), out, err);
}

void api_incidents_task_approval(struct request *r)
{
    static const struct json_field fields[] = {{"approve", JSON_TRUE, true}, {"reason", JSON_STRING, false}};
    json_t *b = request_json(r);
    if (!b)
        return;
    change_task(r, b, fields, YJ_ARRAY_LEN(fields), approve_task);
    json_decref(b);
}

/* ---- attachments: an informant's screenshot, evidence ---- */

/* The image types accepted, each recognised by its first bytes (the Content-Type alone is the
 * client's word). */
static const char *image_type(const unsigned char *b, size_t n)
{
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return "image/jpeg";
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

static json_t *attachment_json(const struct store_incident *inc, const struct store_attachment *a)
{
    char *url = xasprintf("/api/v1/incidents/%lld/attachments/%lld", (long long)inc->id, (long long)a->id);
    json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:s, s:o, s:s, s:s}", "id", (json_int_t)a->id, "name",
                          a->name, "type", a->type, "size", (json_int_t)a->size, "sha256", a->sha256,
                          "created_at", yj_json_time(a->created_at), "created_by", a->created_by, "url", url);
    free(url);
    return j;
}

/* Writes the bytes to DATA/attachments/SHA256 (once per content): a temporary file, synced,
 * renamed, the directory synced — so a committed row never names missing bytes. */
static int save_bytes(const char *data_dir, const char *sha, const char *body, size_t len, struct yj_err *err)
{
    char *dir = xasprintf("%s/attachments", data_dir), *path = xasprintf("%s/%s", dir, sha),
         *tmp = xasprintf("%s/.%s.tmp", dir, sha);
    int rc = 0;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        rc = yj_err_set(err, YJ_EIO, "cannot create %s: %s", dir, strerror(errno));
    } else if (access(path, F_OK) != 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        size_t off = 0;
        while (fd >= 0 && off < len) {
            ssize_t w = write(fd, body + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (fd < 0 || off < len || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
            rc = yj_err_set(err, YJ_EIO, "cannot store the attachment: %s", strerror(errno ? errno : EIO));
            unlink(tmp);
        } else {
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    free(dir);
    free(path);
    free(tmp);
    return rc;
}

void api_incidents_attach(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    struct yj_err err = {0};
    const char *name = request_query(r, "name");
    const char *type = image_type((const unsigned char *)r->body, r->body_len);
    if (r->body_too_large) {
        reply_problem(r, 413, "payload_too_large", NULL, "an attachment is at most %lld bytes",
                      (long long)server_config(r->srv)->limits.attachment);
    } else if (!type) {
        reply_problem(r, 415, "unsupported_media_type", NULL,
                      "send a PNG, JPEG, GIF or WebP image as the body");
    } else if (yj_text_check("name", name ? name : "screenshot", 200, YJ_TEXT_SINGLE_LINE | YJ_TEXT_NONEMPTY,
                             &err) < 0 ||
               (name && strpbrk(name, "/\\"))) {
        reply_problem(r, 400, "invalid_field", "name", "%s",
                      err.msg[0] ? err.msg : "name: a file name without / or \\");
    } else {
        unsigned char h[32];
        crypto_hash_sha256(h, (const unsigned char *)r->body, r->body_len);
        struct store_attachment a = {
            .incident_id = inc.id, .size = (int64_t)r->body_len, .created_at = yj_ctx_now(&r->ctx)};
        sodium_bin2hex(a.sha256, sizeof(a.sha256), h, sizeof(h));
        snprintf(a.name, sizeof(a.name), "%s", name ? name : "screenshot");
        snprintf(a.type, sizeof(a.type), "%s", type);
        snprintf(a.created_by, sizeof(a.created_by), "%s", r->ctx.actor);
        int rc = save_bytes(server_config(r->srv)->data, a.sha256, r->body, r->body_len, &err);
        if (rc == 0 && (rc = store_begin(r->ctx.store, &err)) == 0) {
            rc = store_attachment_insert(r->ctx.store, &a, &err);
            json_t *body = json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)a.id, "name", a.name, "type",
                                     a.type, "size", (json_int_t)a.size);
            if (rc == 0)
                rc = incident_record(&r->ctx, inc.id, "attachment", body, &err);
            json_decref(body);
            if (rc == 0)
                rc = store_commit(r->ctx.store, &err);
            else
                store_rollback(r->ctx.store);
        }
        if (rc < 0) {
            reply_error(r, &err);
        } else {
            reply_json(r, 201, attachment_json(&inc, &a));
            server_wake_streams(r->srv);
        }
    }
    store_incident_release(&inc);
}

void api_incidents_attachments(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    struct store_attachment as[64];
    size_t n = 0;
    struct yj_err err = {0};
    if (store_attachment_list(r->ctx.store, inc.id, as, YJ_ARRAY_LEN(as), &n, &err) < 0) {
        reply_error(r, &err);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(items, attachment_json(&inc, &as[i]));
        reply_json(r, 200, json_pack("{s:o}", "items", items));
    }
    store_incident_release(&inc);
}

void api_incidents_attachment(struct request *r)
{
    struct store_incident inc;
    if (!load(r, &inc))
        return;
    struct store_attachment a;
    struct yj_err err = {0};
    char *end = NULL;
    long long id = strtoll(r->params[1], &end, 10);
    if (*end || store_attachment_get(r->ctx.store, id, &a, &err) < 0 || a.incident_id != inc.id) {
        reply_problem(r, 404, "not_found", NULL, "no attachment %s of this incident", r->params[1]);
    } else {
        char *path = xasprintf("%s/attachments/%s", server_config(r->srv)->data, a.sha256);
        FILE *f = fopen(path, "rb");
        char *buf = xmalloc((size_t)a.size + 1);
        size_t got = f ? fread(buf, 1, (size_t)a.size, f) : 0;
        if (f)
            fclose(f);
        if (got != (size_t)a.size) {
            reply_problem(r, 500, "internal", NULL, "the attachment's bytes are missing from %s", path);
        } else {
            /* The response outlives `a`: its type must be one of the static literals. */
            static const char *const types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};
            const char *type = "application/octet-stream";
            for (size_t i = 0; i < YJ_ARRAY_LEN(types); i++)
                if (strcmp(a.type, types[i]) == 0)
                    type = types[i];
            reply_bytes(r, 200, type, buf, got);
            r->resp.cache = "private, max-age=86400";
        }
        free(buf);
        free(path);
    }
    store_incident_release(&inc);
}

/* ---- acknowledging from the message: the one-time link ---- */

static json_t *ack_json(struct request *r, const struct store_incident *inc, const char *who)
{
    const struct plan_person *p = strncmp(who, "person:", 7) == 0 ? plan_person(r->ctx.plan, who + 7) : NULL;
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "number", inc->number, "title", inc->title, "person_name",
                     p ? json_string(p->name) : json_null(), "acknowledged_at", yj_json_time(inc->acknowledged_at),
                     "status", json_string(inc->status));
}

/* What the link would acknowledge (opening it changes nothing: a chat app's preview opens it too). */
void api_ack_get(struct request *r)
{
    char hash[65], who[160];
    int64_t id = 0;
    struct yj_err err = {0};
    auth_token_hash(r->params[0], hash);
    struct store_incident inc;
    if (store_ack_link_get(r->store, hash, yj_now_ms(), &id, who, sizeof(who), &err) < 0 ||
        store_incident_get(r->store, id, NULL, &inc, &err) < 0) {
        yj_err_zh(&err, "链接无效、已使用或已过期，请登录应急响应平台确认");
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, ack_json(r, &inc, who));
    store_incident_release(&inc);
}

void api_ack_post(struct request *r)
{
    char who[160] = "";
    struct yj_err err = {0};
    struct store_incident inc;
    if (incident_ack_by_link(&r->ctx, r->params[0], &inc, who, sizeof(who), &err) < 0) {
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, ack_json(r, &inc, who));
    store_incident_release(&inc);
    server_wake_streams(r->srv);
}

/* The dashboard's trend: incidents reported per day over the last `days` days (today included) in
 * the plan's zone, by national level, drills left out; an officer's as the list shows them. One
 * indexed count per day, whatever the size of the store. */
void api_stats_daily(struct request *r)
{
    int days = (int)request_query_int(r, "days", 30);
    const char *unit = NULL, *reporter = NULL;
    if (r->id.kind == ID_SESSION && r->id.role_bit == ROLE_OFFICER) {
        unit = r->id.unit[0] ? r->id.unit : NULL;
        reporter = r->id.actor;
    }
    time_t now = (time_t)(yj_now_ms() / 1000);
    struct tm tm;
    localtime_r(&now, &tm);
    json_t *items = json_array();
    struct yj_err err = {0};
    for (int k = days - 1; k >= 0; k--) {
        /* mktime normalises the day count (and any change of offset) for us. */
        struct tm d0 = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday - k, .tm_isdst = -1};
        struct tm d1 = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday - k + 1, .tm_isdst = -1};
        time_t a = mktime(&d0), b = mktime(&d1);
        int64_t counts[5];
        if (store_incident_count_levels(r->store, (int64_t)a * 1000, (int64_t)b * 1000, unit, reporter, counts,
                                        &err) < 0) {
            json_decref(items);
            reply_error(r, &err);
            return;
        }
        char day[48];
        snprintf(day, sizeof(day), "%04d-%02d-%02d", d0.tm_year + 1900, d0.tm_mon + 1, d0.tm_mday);
        json_array_append_new(items, json_pack("{s:s, s:[I, I, I, I]}", "day", day, "by_national_level",
                                               (json_int_t)counts[1], (json_int_t)counts[2], (json_int_t)counts[3],
                                               (json_int_t)counts[4]));
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}
