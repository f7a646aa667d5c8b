/* router.c: the route table — every endpoint with who may call it — and the one dispatch path
 * that authenticates, authorises (roles for people, scopes for tokens, CSRF for cookie writes)
 * and runs the handler. Access rules live only here, so the role matrix is one table to read. */
#include "../base/common.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "http.h"

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

const struct route routes[] = {
    {"POST", "/api/v1/session", api_session_create, ROLE_ANY, 0, ROUTE_PUBLIC, "session.create"},
    {"GET", "/api/v1/session", api_session_get, ROLE_ANY, SCOPE_READ | SCOPE_WRITE | SCOPE_INGEST | SCOPE_ADMIN,
     ROUTE_PASSWORD, "session.get"},
    {"DELETE", "/api/v1/session", api_session_delete, ROLE_ANY, 0, ROUTE_PASSWORD, "session.delete"},
    {"POST", "/api/v1/session/password", api_session_password, ROLE_ANY, 0, ROUTE_PASSWORD, "session.password"},
    {"PUT", "/api/v1/session/password", api_session_password, ROLE_ANY, 0, ROUTE_PASSWORD, "session.password"},
    {"POST", "/api/v1/signals", api_signals_create, ROLE_ADMIN, SCOPE_INGEST, 0, "signals.create"},
    {"GET", "/api/v1/signals", api_signals_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "signals.list"},
    {"GET", "/api/v1/incidents", api_incidents_list, ROLE_ANY, SCOPE_READ, 0, "incidents.list"},
    {"POST", "/api/v1/incidents", api_incidents_create, REPORTERS, SCOPE_WRITE, 0, "incidents.create"},
    {"GET", "/api/v1/incidents/{id}", api_incidents_get, ROLE_ANY, SCOPE_READ, 0, "incidents.get"},
    {"POST", "/api/v1/incidents/{id}/move", api_incidents_move, TEAM, SCOPE_WRITE, 0, "incidents.move"},
    {"PUT", "/api/v1/incidents/{id}/assessment", api_incidents_assess, TEAM, SCOPE_WRITE, 0, "incidents.assess"},
    {"GET", "/api/v1/incidents/{id}/timeline", api_incidents_timeline, ROLE_ANY, SCOPE_READ, 0,
     "incidents.timeline"},
    {"POST", "/api/v1/incidents/{id}/ack", api_incidents_ack, WRITERS, SCOPE_WRITE, 0, "incidents.ack"},
    {"POST", "/api/v1/incidents/{id}/activation", api_incidents_activate, DECIDERS, SCOPE_WRITE, 0,
     "incidents.activate"},
    {"POST", "/api/v1/incidents/{id}/deadlines/{kind}/waiver", api_incidents_waive, DECIDERS, SCOPE_WRITE, 0,
     "incidents.waive"},
    {"GET", "/api/v1/incidents/{id}/notifications", api_incidents_notifications, ROLE_ANY, SCOPE_READ, 0,
     "incidents.notifications"},
    {"GET", "/api/v1/incidents/{id}/tasks", api_incidents_tasks, ROLE_ANY, SCOPE_READ, 0, "incidents.tasks"},
    {"PATCH", "/api/v1/incidents/{id}/tasks/{task}", api_incidents_task_update, WRITERS, SCOPE_WRITE, 0,
     "incidents.task_update"},
    {"POST", "/api/v1/incidents/{id}/tasks/{task}/approval", api_incidents_task_approval, TEAM, SCOPE_WRITE, 0,
     "incidents.task_approval"},
    {"GET", "/api/v1/incidents/{id}/upward-report", api_incidents_upward_report, ROLE_ANY, SCOPE_READ, 0,
     "incidents.upward_report"},
    {"POST", "/api/v1/incidents/{id}/upward-report", api_incidents_upward_submit, TEAM, SCOPE_WRITE, 0,
     "incidents.upward_submit"},
    {"POST", "/api/v1/incidents/{id}/attachments", api_incidents_attach, REPORTERS, SCOPE_WRITE, ROUTE_UPLOAD,
     "incidents.attach"},
    {"GET", "/api/v1/incidents/{id}/attachments", api_incidents_attachments, ROLE_ANY, SCOPE_READ, 0,
     "incidents.attachments"},
    {"GET", "/api/v1/incidents/{id}/attachments/{attachment}", api_incidents_attachment, ROLE_ANY, SCOPE_READ, 0,
     "incidents.attachment"},
    {"GET", "/api/v1/incidents/{id}/notes", api_incidents_notes_list, ROLE_ANY, SCOPE_READ, 0, "incidents.notes"},
    {"POST", "/api/v1/incidents/{id}/notes", api_incidents_notes_add, REPORTERS, SCOPE_WRITE, 0,
     "incidents.note"},
    {"GET", "/api/v1/plan", api_plan_get, ROLE_ANY, SCOPE_READ, 0, "plan.get"},
    {"GET", "/api/v1/plan/{part}", api_plan_part, ROLE_ANY, SCOPE_READ, 0, "plan.part"},
    {"GET", "/api/v1/duty", api_duty_now, ROLE_ANY, SCOPE_READ, 0, "duty.now"},
    {"GET", "/api/v1/host", api_host_get, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "host.get"},
    {"GET", "/api/v1/monitors", api_monitors_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "monitors.list"},
    {"GET", "/api/v1/monitors/{id}", api_monitors_get, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "monitors.get"},
    {"GET", "/api/v1/sites", api_sites_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "sites.list"},
    {"POST", "/api/v1/sites/{id}/accept", api_sites_accept, TEAM, SCOPE_WRITE, 0, "sites.accept"},
    {"POST", "/api/v1/integrity/{id}/maintenance", api_integrity_maintenance, TEAM, SCOPE_WRITE, 0,
     "integrity.maintenance"},
    {"GET", "/api/v1/integrity", api_integrity_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "integrity.list"},
    {"POST", "/api/v1/integrity/{id}/accept", api_integrity_accept, TEAM, SCOPE_WRITE, 0,
     "integrity.accept"},
    {"GET", "/api/v1/blocks", api_blocks_list, WRITERS | ROLE_AUDITOR, SCOPE_READ, 0, "blocks.list"},
    {"POST", "/api/v1/blocks/{address}/release", api_blocks_release, TEAM, SCOPE_WRITE, 0,
     "blocks.release"},
    {"GET", "/api/v1/users", api_users_list, ROLE_ADMIN, SCOPE_ADMIN, 0, "users.list"},
    {"POST", "/api/v1/users", api_users_create, ROLE_ADMIN, SCOPE_ADMIN, 0, "users.create"},
    {"PATCH", "/api/v1/users/{id}", api_users_update, ROLE_ADMIN, SCOPE_ADMIN, 0, "users.update"},
    {"GET", "/api/v1/tokens", api_tokens_list, ROLE_ADMIN, SCOPE_ADMIN, 0, "tokens.list"},
    {"POST", "/api/v1/tokens", api_tokens_create, ROLE_ADMIN, SCOPE_ADMIN, 0, "tokens.create"},
    {"DELETE", "/api/v1/tokens/{id}", api_tokens_revoke, ROLE_ADMIN, SCOPE_ADMIN, 0, "tokens.revoke"},
    {"GET", "/api/v1/audit", api_audit_list, ROLE_ADMIN | ROLE_AUDITOR, SCOPE_ADMIN, 0, "audit.list"},
    {"GET", "/api/v1/events", api_events, ROLE_ANY, SCOPE_READ, 0, "events"},
    {"GET", "/api/v1/openapi.yaml", api_openapi, ROLE_ANY, 0, ROUTE_PUBLIC, "openapi"},
    {"GET", "/healthz", api_healthz, ROLE_ANY, 0, ROUTE_PUBLIC, "healthz"},
    {"GET", "/metrics", api_metrics, ROLE_ANY, 0, ROUTE_PUBLIC, "metrics"},
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
     * once rather than per statement. Streams are excluded: they read long after this returns. */
    bool snapshot = strcmp(method, "GET") == 0 && rt->fn != api_events && store_read_begin(r->store, &err) == 0;
    if (!(rt->flags & ROUTE_PUBLIC)) {
        if (auth_identify(r) < 0)
            goto out;
        if (r->id.kind == ID_NONE) {
            reply_problem(r, 401, "unauthorized", NULL, "log in (POST /api/v1/session) or send a bearer token");
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
    r->ctx = (struct yj_ctx){.plan = r->plan->plan,
                             .store = r->store,
                             .actor = r->id.actor[0] ? r->id.actor : "anonymous",
                             .public_url = server_config(r->srv)->public_url};
    rt->fn(r);
out:
    if (snapshot)
        store_rollback(r->store);
    auth_touch(r);
}
