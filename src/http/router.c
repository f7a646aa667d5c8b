/* router.c: the route table — every endpoint with who may call it — and the one dispatch path
 * that authenticates, authorises (roles for people, scopes for tokens, CSRF for cookie writes)
 * and runs the handler. Access rules live only here, so the role matrix is one table to read. */
#include "../base/common.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "http.h"

#include <microhttpd.h>
#include <strings.h>

/* Who may do what, as the plans say (docs/server.md has the table):
 * - anyone but the auditor reports, notes and attaches (早发现、早报告: 部门信息员 included);
 * - duty (值班) also acknowledges (接报确认) and works the tasks it is given;
 * - the emergency team (应急救援小组, responder) assesses (研判), moves an incident through
 *   response and recovery, approves gated steps, dismisses a false alarm and reports upward;
 * - the leading group (领导小组, leader) besides decides: activates the plan (启动预案) and closes;
 * - admin runs the system and may do everything; auditor reads, and reads the audit log.
 * A token acts with its role, within its scopes. */
#define WRITERS (ROLE_ADMIN | ROLE_LEADER | ROLE_RESPONDER | ROLE_DUTY)
#define REPORTERS (WRITERS | ROLE_OFFICER)
#define TEAM (ROLE_ADMIN | ROLE_LEADER | ROLE_RESPONDER)
#define DECIDERS (ROLE_ADMIN | ROLE_LEADER)

/* The query parameters of each route that takes some. */
/* "open": every status but closed and dismissed (the dashboard's question). */
static const char *const statuses[] = {"reported", "assessing", "responding", "recovering", "reviewing",
                                       "closed",   "dismissed", "open",       NULL};
static const char *const booleans[] = {"true", "false", NULL};
static const char *const sorts[] = {"-reported_at", "reported_at", "-updated_at", "severity", NULL};
static const char *const zero_one[] = {"0", "1", NULL};
static const struct query_param q_incidents[] = {
    {"status", Q_ENUM, 0, 0, statuses}, {"type", Q_TEXT, 0, 64, NULL},
    {"level", Q_TEXT, 0, 64, NULL},     {"unit", Q_TEXT, 0, 64, NULL},
    {"text", Q_TEXT, 0, 200, NULL},     {"drill", Q_ENUM, 0, 0, booleans},
    {"sort", Q_ENUM, 0, 0, sorts},      {"limit", Q_INT, 1, 500, NULL},
    {"cursor", Q_TEXT, 0, 64, NULL},    {"assignee", Q_TEXT, 0, 64, NULL},
    {"from", Q_TEXT, 0, 40, NULL},      {"to", Q_TEXT, 0, 40, NULL},
    {NULL, 0, 0, 0, NULL}};
/* The export takes the list's filters, without paging. */
static const struct query_param q_export[] = {
    {"status", Q_ENUM, 0, 0, statuses}, {"type", Q_TEXT, 0, 64, NULL},   {"level", Q_TEXT, 0, 64, NULL},
    {"unit", Q_TEXT, 0, 64, NULL},      {"text", Q_TEXT, 0, 200, NULL},  {"drill", Q_ENUM, 0, 0, booleans},
    {"sort", Q_ENUM, 0, 0, sorts},      {"assignee", Q_TEXT, 0, 64, NULL}, {"from", Q_TEXT, 0, 40, NULL},
    {"to", Q_TEXT, 0, 40, NULL},        {NULL, 0, 0, 0, NULL}};
static const struct query_param q_audit_export[] = {{"from", Q_TEXT, 0, 40, NULL}, {"to", Q_TEXT, 0, 40, NULL},
                                                    {"actor", Q_TEXT, 0, 160, NULL}, {"action", Q_TEXT, 0, 64, NULL},
                                                    {"object", Q_TEXT, 0, 64, NULL}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_daily[] = {{"days", Q_INT, 1, 366, NULL}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_signals[] = {
    {"limit", Q_INT, 1, 200, NULL}, {"source", Q_TEXT, 0, 64, NULL}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_audit[] = {
    {"after", Q_INT, 0, INT64_MAX, NULL}, {"limit", Q_INT, 1, 1000, NULL}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_blocks[] = {{"all", Q_ENUM, 0, 0, zero_one}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_events[] = {{"last_event_id", Q_INT, 0, INT64_MAX, NULL},
                                              {NULL, 0, 0, 0, NULL}};
static const char *const swap_statuses[] = {"proposed", "accepted", "declined", "withdrawn", NULL};
static const struct query_param q_swaps[] = {{"status", Q_ENUM, 0, 0, swap_statuses}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_duty[] = {{"at", Q_TIME, 0, 0, NULL}, {NULL, 0, 0, 0, NULL}};
static const struct query_param q_attach[] = {{"name", Q_TEXT, 0, 200, NULL}, {NULL, 0, 0, 0, NULL}};

const struct route routes[] = {
    {"POST", "/api/v1/session", api_session_create, ROLE_ANY, 0, ROUTE_PUBLIC, "session.create", NULL},
    {"GET", "/api/v1/session", api_session_get, ROLE_ANY,
     SCOPE_READ | SCOPE_WRITE | SCOPE_INGEST | SCOPE_ADMIN, ROUTE_PASSWORD, "session.get", NULL},
    {"DELETE", "/api/v1/session", api_session_delete, ROLE_ANY, 0, ROUTE_PASSWORD, "session.delete", NULL},
    {"POST", "/api/v1/session/password", api_session_password, ROLE_ANY, 0, ROUTE_PASSWORD,
     "session.password", NULL},
    {"PUT", "/api/v1/session/password", api_session_password, ROLE_ANY, 0, ROUTE_PASSWORD, "session.password",
     NULL},
    {"POST", "/api/v1/signals", api_signals_create, ROLE_ADMIN, SCOPE_INGEST, 0, "signals.create", NULL},
    {"GET", "/api/v1/signals", api_signals_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "signals.list",
     q_signals},
    {"GET", "/api/v1/incidents", api_incidents_list, ROLE_ANY, SCOPE_READ, 0, "incidents.list", q_incidents},
    {"GET", "/api/v1/incidents.csv", api_export_incidents, ROLE_ANY, SCOPE_READ, 0, "incidents.export", q_export},
    {"POST", "/api/v1/incidents/{id}/assignee", api_incidents_assign, WRITERS, SCOPE_WRITE, 0, "incidents.assign",
     NULL},
    {"GET", "/api/v1/stats/daily", api_stats_daily, ROLE_ANY, SCOPE_READ, 0, "stats.daily", q_daily},
    {"GET", "/api/v1/assignees", api_assignees_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "assignees.list", NULL},
    {"POST", "/api/v1/incidents", api_incidents_create, REPORTERS, SCOPE_WRITE, 0, "incidents.create", NULL},
    {"GET", "/api/v1/incidents/{id}", api_incidents_get, ROLE_ANY, SCOPE_READ, 0, "incidents.get", NULL},
    {"POST", "/api/v1/incidents/{id}/move", api_incidents_move, TEAM, SCOPE_WRITE, 0, "incidents.move", NULL},
    {"PUT", "/api/v1/incidents/{id}/assessment", api_incidents_assess, TEAM, SCOPE_WRITE, 0,
     "incidents.assess", NULL},
    {"GET", "/api/v1/incidents/{id}/timeline", api_incidents_timeline, ROLE_ANY, SCOPE_READ, 0,
     "incidents.timeline", NULL},
    {"POST", "/api/v1/incidents/{id}/ack", api_incidents_ack, WRITERS, SCOPE_WRITE, 0, "incidents.ack", NULL},
    {"POST", "/api/v1/incidents/{id}/activation", api_incidents_activate, DECIDERS, SCOPE_WRITE, 0,
     "incidents.activate", NULL},
    {"POST", "/api/v1/incidents/{id}/deadlines/{kind}/waiver", api_incidents_waive, DECIDERS, SCOPE_WRITE, 0,
     "incidents.waive", NULL},
    {"GET", "/api/v1/incidents/{id}/notifications", api_incidents_notifications, ROLE_ANY, SCOPE_READ, 0,
     "incidents.notifications", NULL},
    {"GET", "/api/v1/incidents/{id}/tasks", api_incidents_tasks, ROLE_ANY, SCOPE_READ, 0, "incidents.tasks",
     NULL},
    {"PATCH", "/api/v1/incidents/{id}/tasks/{task}", api_incidents_task_update, WRITERS, SCOPE_WRITE, 0,
     "incidents.task_update", NULL},
    {"POST", "/api/v1/incidents/{id}/tasks/{task}/approval", api_incidents_task_approval, TEAM, SCOPE_WRITE,
     0, "incidents.task_approval", NULL},
    {"GET", "/api/v1/incidents/{id}/upward-report", api_incidents_upward_report, ROLE_ANY, SCOPE_READ, 0,
     "incidents.upward_report", NULL},
    {"POST", "/api/v1/incidents/{id}/upward-report", api_incidents_upward_submit, TEAM, SCOPE_WRITE, 0,
     "incidents.upward_submit", NULL},
    {"POST", "/api/v1/incidents/{id}/attachments", api_incidents_attach, REPORTERS, SCOPE_WRITE, ROUTE_UPLOAD,
     "incidents.attach", q_attach},
    {"GET", "/api/v1/incidents/{id}/attachments", api_incidents_attachments, ROLE_ANY, SCOPE_READ, 0,
     "incidents.attachments", NULL},
    {"GET", "/api/v1/incidents/{id}/attachments/{attachment}", api_incidents_attachment, ROLE_ANY, SCOPE_READ,
     0, "incidents.attachment", NULL},
    {"GET", "/api/v1/incidents/{id}/notes", api_incidents_notes_list, ROLE_ANY, SCOPE_READ, 0,
     "incidents.notes", NULL},
    {"POST", "/api/v1/incidents/{id}/notes", api_incidents_notes_add, REPORTERS, SCOPE_WRITE, 0,
     "incidents.note", NULL},
    {"GET", "/api/v1/plan", api_plan_get, ROLE_ANY, SCOPE_READ, 0, "plan.get", NULL},
    {"GET", "/api/v1/plan/{part}", api_plan_part, ROLE_ANY, SCOPE_READ, 0, "plan.part", NULL},
    {"GET", "/api/v1/duty", api_duty_now, ROLE_ANY, SCOPE_READ, 0, "duty.now", q_duty},
    /* 换班: asked by the one whose shift it is, answered by the one who takes it (the engine
     * checks the persons; an administrator records either with a reason). */
    {"GET", "/api/v1/swaps", api_swaps_list, ROLE_ANY, SCOPE_READ, 0, "swaps.list", q_swaps},
    {"POST", "/api/v1/swaps", api_swaps_create, ROLE_ANY, SCOPE_WRITE, 0, "swaps.create", NULL},
    {"POST", "/api/v1/swaps/{id}/{answer}", api_swaps_answer, ROLE_ANY, SCOPE_WRITE, 0, "swaps.answer", NULL},
    /* The directory and the channels, edited in the console by an administrator. */
    {"PUT", "/api/v1/people/{id}", api_people_put, ROLE_ADMIN, SCOPE_ADMIN, 0, "people.put", NULL},
    {"DELETE", "/api/v1/people/{id}", api_people_remove, ROLE_ADMIN, SCOPE_ADMIN, 0, "people.remove", NULL},
    {"PUT", "/api/v1/rotations/{id}", api_rotations_put, ROLE_ADMIN, SCOPE_ADMIN, 0, "rotations.put", NULL},
    {"DELETE", "/api/v1/rotations/{id}", api_rotations_remove, ROLE_ADMIN, SCOPE_ADMIN, 0, "rotations.remove",
     NULL},
    {"GET", "/api/v1/channels", api_channels_list, ROLE_ADMIN, SCOPE_ADMIN, 0, "channels.list", NULL},
    {"PUT", "/api/v1/channels/{id}", api_channels_put, ROLE_ADMIN, SCOPE_ADMIN, 0, "channels.put", NULL},
    {"DELETE", "/api/v1/channels/{id}", api_channels_remove, ROLE_ADMIN, SCOPE_ADMIN, 0, "channels.remove",
     NULL},
    {"GET", "/api/v1/host", api_host_get, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "host.get", NULL},
    {"GET", "/api/v1/monitors", api_monitors_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "monitors.list",
     NULL},
    {"GET", "/api/v1/monitors/{id}", api_monitors_get, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "monitors.get",
     NULL},
    {"GET", "/api/v1/sites", api_sites_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "sites.list", NULL},
    {"POST", "/api/v1/sites/{id}/accept", api_sites_accept, TEAM, SCOPE_WRITE, 0, "sites.accept", NULL},
    {"POST", "/api/v1/integrity/{id}/maintenance", api_integrity_maintenance, TEAM, SCOPE_WRITE, 0,
     "integrity.maintenance", NULL},
    {"GET", "/api/v1/integrity", api_integrity_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "integrity.list",
     NULL},
    {"POST", "/api/v1/integrity/{id}/accept", api_integrity_accept, TEAM, SCOPE_WRITE, 0, "integrity.accept",
     NULL},
    {"GET", "/api/v1/blocks", api_blocks_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "blocks.list",
     q_blocks},
    {"POST", "/api/v1/blocks/{address}/release", api_blocks_release, TEAM, SCOPE_WRITE, 0, "blocks.release",
     NULL},
    {"GET", "/api/v1/users", api_users_list, ROLE_ADMIN, SCOPE_ADMIN, 0, "users.list", NULL},
    {"POST", "/api/v1/users", api_users_create, ROLE_ADMIN, SCOPE_ADMIN, 0, "users.create", NULL},
    {"PATCH", "/api/v1/users/{id}", api_users_update, ROLE_ADMIN, SCOPE_ADMIN, 0, "users.update", NULL},
    {"POST", "/api/v1/users/{id}/password-reset", api_users_password_reset, ROLE_ADMIN, SCOPE_ADMIN, 0,
     "users.password_reset", NULL},
    {"GET", "/api/v1/tokens", api_tokens_list, ROLE_ADMIN, SCOPE_ADMIN, 0, "tokens.list", NULL},
    {"POST", "/api/v1/tokens", api_tokens_create, ROLE_ADMIN, SCOPE_ADMIN, 0, "tokens.create", NULL},
    {"DELETE", "/api/v1/tokens/{id}", api_tokens_revoke, ROLE_ADMIN, SCOPE_ADMIN, 0, "tokens.revoke", NULL},
    {"GET", "/api/v1/audit", api_audit_list, ROLE_ADMIN | ROLE_AUDITOR, SCOPE_ADMIN, 0, "audit.list",
     q_audit},
    {"GET", "/api/v1/audit.csv", api_export_audit, ROLE_ADMIN | ROLE_AUDITOR, SCOPE_ADMIN, 0, "audit.export",
     q_audit_export},
    {"GET", "/api/v1/events", api_events, ROLE_ANY, SCOPE_READ, 0, "events", q_events},
    {"GET", "/api/v1/openapi.yaml", api_openapi, ROLE_ANY, 0, ROUTE_PUBLIC, "openapi", NULL},
    /* The one-time link of a notification: the link is the credential (192 random bits, once). */
    {"GET", "/api/v1/ack/{token}", api_ack_get, ROLE_ANY, 0, ROUTE_PUBLIC, "ack.get", NULL},
    {"POST", "/api/v1/ack/{token}", api_ack_post, ROLE_ANY, 0, ROUTE_PUBLIC, "ack.post", NULL},
    {"GET", "/healthz", api_healthz, ROLE_ANY, 0, ROUTE_PUBLIC, "healthz", NULL},
    {"GET", "/metrics", api_metrics, ROLE_ANY, 0, ROUTE_PUBLIC, "metrics", NULL},
};
const size_t n_routes = sizeof(routes) / sizeof(routes[0]);

/* Moving an incident: who may bring it to which status (the move route admits the team). */
static const struct {
    const char *status;
    unsigned roles;
} moves[] = {{"closed", DECIDERS}};

json_t *router_permissions(const struct identity *id)
{
    json_t *may = json_array();
    for (size_t i = 0; i < n_routes; i++) {
        const struct route *rt = &routes[i];
        if (rt->flags & ROUTE_PUBLIC || !(rt->roles & id->role_bit))
            continue;
        if (id->kind == ID_TOKEN && !(rt->scopes & id->scopes))
            continue;
        /* Each name once (a route may answer two methods). */
        bool seen = false;
        for (size_t k = 0; k < json_array_size(may) && !seen; k++)
            seen = strcmp(json_string_value(json_array_get(may, k)), rt->name) == 0;
        if (!seen)
            json_array_append_new(may, json_string(rt->name));
    }
    for (size_t i = 0; i < YJ_ARRAY_LEN(moves); i++)
        if (moves[i].roles & id->role_bit) {
            char name[64];
            snprintf(name, sizeof(name), "incidents.move:%s", moves[i].status);
            json_array_append_new(may, json_string(name));
        }
    return may;
}

bool router_may_move(const struct identity *id, const char *status)
{
    for (size_t i = 0; i < YJ_ARRAY_LEN(moves); i++)
        if (strcmp(moves[i].status, status) == 0)
            return (moves[i].roles & id->role_bit) != 0;
    return (TEAM & id->role_bit) != 0;
}

/* Matches path against pattern, capturing {params} into r. */
static bool match(struct request *r, const char *pattern, const char *path)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (!close || n == 0 || n >= sizeof(r->param_buf[0]) || np >= 3)
                return false;
            memcpy(r->param_buf[np], s, n);
            r->param_buf[np][n] = 0;
            r->params[np] = r->param_buf[np];
            np++;
            p = close + 1;
            s += n;
        } else if (*p++ != *s++) {
            return false;
        }
    }
    return *p == 0 && *s == 0;
}

size_t router_body_limit(const struct yj_config *cfg, const char *method, const char *url)
{
    struct request probe = {0};
    for (size_t i = 0; i < n_routes; i++)
        if ((routes[i].flags & ROUTE_UPLOAD) && strcmp(routes[i].method, method) == 0 &&
            match(&probe, routes[i].pattern, url))
            return (size_t)cfg->limits.attachment;
    return (size_t)cfg->limits.body;
}

struct query_check {
    struct request *r;
    const struct query_param *params;
    bool bad;
    unsigned seen; /* bit per declared parameter */
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct query_check *q = cls;
    if (q->bad || !key)
        return MHD_YES;
    const struct query_param *p = q->params;
    size_t i = 0;
    for (; p && p[i].name && strcmp(p[i].name, key) != 0; i++)
        ;
    struct request *r = q->r;
    const char *v = value ? value : "";
    struct yj_err err = {0};
    if (!p || !p[i].name) {
        reply_problem(r, 400, "unknown_field", key, "unknown query parameter \"%.64s\"", key);
    } else if (q->seen & (1u << i)) {
        reply_problem(r, 400, "invalid_field", key, "%s is given twice", key);
    } else if (p[i].kind == Q_INT) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (!*v || *end || errno || n < p[i].min || n > p[i].max)
            reply_problem(r, 400, "invalid_field", key, "%s must be a whole number from %lld to %lld", key,
                          (long long)p[i].min, (long long)p[i].max);
    } else if (p[i].kind == Q_ENUM) {
        size_t k = 0;
        for (; p[i].values[k] && strcmp(p[i].values[k], v) != 0; k++)
            ;
        if (!p[i].values[k]) {
            char list[200] = "";
            for (size_t j = 0, len = 0; p[i].values[j] && len < sizeof(list); j++)
                len +=
                    (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", j ? ", " : "", p[i].values[j]);
            reply_problem(r, 400, "invalid_field", key, "%s must be one of %s", key, list);
        }
    } else if (p[i].kind == Q_TEXT) {
        if (yj_text_check(key, v, (size_t)p[i].max, YJ_TEXT_SINGLE_LINE | YJ_TEXT_NONEMPTY, &err) < 0)
            reply_problem(r, 400, "invalid_field", key, "%s", err.msg);
    } else if (p[i].kind == Q_TIME) {
        int64_t t;
        if (yj_time_parse(v, &t, &err) < 0)
            reply_problem(r, 400, "invalid_field", key, "%s", err.msg);
    }
    if (r->resp.status)
        q->bad = true;
    if (p && p[i].name)
        q->seen |= 1u << i;
    return MHD_YES;
}

static const char *language(struct request *r)
{
    const char *al = request_header(r, "Accept-Language");
    if (!al)
        return "zh";
    /* The first listed language decides; Chinese is the default for anything else unknown. */
    while (*al == ' ')
        al++;
    return strncasecmp(al, "en", 2) == 0 ? "en" : "zh";
}

void router_dispatch(struct request *r)
{
    r->lang = language(r);
    if (web_serve(r))
        return;
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    bool path_known = false;
    size_t i;
    for (i = 0; i < n_routes; i++) {
        if (!match(r, routes[i].pattern, r->url))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0)
            break;
    }
    if (i == n_routes) {
        if (path_known)
            reply_problem(r, 405, "method_not_allowed", NULL, "%s is not supported on %s", r->method, r->url);
        else
            reply_problem(r, 404, "not_found", NULL, "no such endpoint: %s", r->url);
        return;
    }
    /* Re-match to capture the params of the route chosen (a later pattern may have run). */
    match(r, routes[i].pattern, r->url);
    const struct route *rt = &routes[i];
    r->route = (int)i;

    struct yj_err err = {0};
    if (!(r->store = server_store(r->srv, &err))) {
        reply_error(r, &err);
        return;
    }
    r->plan = server_plan_acquire(r->srv);
    /* A read sees one consistent snapshot, authentication included, and SQLite takes its locks
     * once rather than per statement. Streams are excluded: they read long after this returns;
     * and so is /healthz, which tries a write. */
    bool snapshot =
        strcmp(method, "GET") == 0 && rt->fn != api_events && rt->fn != api_healthz &&
        store_read_begin(r->store, &err) == 0;
    if (!(rt->flags & ROUTE_PUBLIC)) {
        if (auth_identify(r) < 0)
            goto out;
        if (r->id.kind == ID_NONE) {
            reply_problem(r, 401, "unauthorized", NULL,
                          "log in (POST /api/v1/session) or send a bearer token");
            goto out;
        }
        if (r->id.kind == ID_SESSION) {
            if (r->id.must_change && !(rt->flags & ROUTE_PASSWORD)) {
                reply_problem(r, 403, "password_change_required", NULL,
                              "change the password first (POST /api/v1/session/password)");
                goto out;
            }
            if (!(rt->roles & r->id.role_bit)) {
                reply_problem(r, 403, "forbidden", NULL, "the %s role may not do this", r->id.role);
                goto out;
            }
            if (strcmp(method, "GET") != 0 && !(rt->flags & ROUTE_NO_CSRF)) {
                const char *t = request_header(r, "X-CSRF-Token");
                if (!t || strcmp(t, r->id.csrf) != 0) {
                    reply_problem(r, 403, "csrf", NULL, "send the X-CSRF-Token header returned at login");
                    goto out;
                }
            }
        } else if (!(rt->scopes & r->id.scopes)) {
            reply_problem(r, 403, "forbidden", NULL, "this token lacks the scope this needs");
            goto out;
        } else if (rt->scopes != SCOPE_INGEST && !(rt->roles & r->id.role_bit)) {
            /* Handing in signals is a machine's own job; everything else a token does, it does
             * as its role would. */
            reply_problem(r, 403, "forbidden", NULL, "the %s role of this token may not do this", r->id.role);
            goto out;
        }
    }
    /* Who may call it first (a caller refused learns nothing of the parameters), then what it takes. */
    struct query_check q = {.r = r, .params = rt->query};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &q);
    if (q.bad)
        goto out;
    /* Decisions the plan gives to people are the logged-in person's own; an administrator may
     * record another's as 代录 (the handler takes on_behalf from the body). */
    r->decider = (struct yj_decider){.person = r->id.person, .may_record_for_others = r->id.role_bit == ROLE_ADMIN};
    r->ctx = (struct yj_ctx){.plan = r->plan->plan,
                             .store = r->store,
                             .actor = r->id.actor[0] ? r->id.actor : "anonymous",
                             .public_url = server_config(r->srv)->public_url,
                             .decider = &r->decider};
    rt->fn(r);
out:
    if (snapshot)
        store_rollback(r->store);
    auth_touch(r);
}
