/* http.h: what the server's files share — the server, one request, its caller's identity and
 * the response being built. Handlers (api_*.c) fill r->resp through the reply_* helpers and
 * never touch libmicrohttpd; httpd.c is the only file that does. */
#ifndef YJ_HTTP_H
#define YJ_HTTP_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../engine/ctx.h"
#include "../plan/config.h"

struct plan;
struct store;
struct store_incident;
struct MHD_Connection;
struct MHD_Response;
struct yj_err;
struct cached_body;
struct detector;

/* Roles (DESIGN §7) as bits, for route access tables. */
enum {
    ROLE_ADMIN = 1,
    ROLE_LEADER = 2,
    ROLE_RESPONDER = 4,
    ROLE_OFFICER = 8,
    ROLE_DUTY = 16,
    ROLE_AUDITOR = 32,
    ROLE_ANY = 63
};

/* API token scopes as bits. */
enum { SCOPE_READ = 1, SCOPE_WRITE = 2, SCOPE_INGEST = 4, SCOPE_ADMIN = 8 };

/* A loaded plan shared by requests; SIGHUP swaps in a new one while old requests finish. */
struct plan_ref {
    struct plan *plan;
    atomic_int refs;
    uint64_t generation; /* distinct for every plan loaded, for cache stamps */
};

enum { ID_NONE = 0, ID_SESSION = 1, ID_TOKEN = 2 };

struct identity {
    int kind;
    int64_t user_id;
    char name[128];
    char role[16];
    unsigned role_bit;
    char unit[64]; /* "" when none */
    char person[64]; /* the plan person the account is, "" when none (tokens: none) */
    bool must_change;
    int64_t session_id;
    char csrf[65];
    int64_t token_id;
    unsigned scopes;
    bool touch; /* last_seen/last_used is due to be written once the request's reads are done */
    char actor[160]; /* "user:NAME" or "token:NAME": what the timeline and audit record */
    char credential[65]; /* the hash of the session or token it came with (streams re-check it) */
};

struct response {
    unsigned status;
    char *body; /* owned */
    size_t len;
    const char *type;
    char etag[48];
    char location[160];
    char *cookie;  /* Set-Cookie value, owned */
    char *cookie2; /* a second one (the login's yj_device), owned */
    int retry_after;
    struct MHD_Response *stream; /* a prepared streaming response (SSE), owned until queued */
    struct cached_body *shared;  /* a cached body sent without copying; one reference held */
    const char *persistent;      /* an embedded file sent as is (never freed) */
    const char *cache;           /* Cache-Control; NULL: no-store */
    char disposition[96];        /* Content-Disposition (a download's file name), "" for none */
};

struct server;

struct request {
    struct server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;     /* unescaped, as MHD gives it */
    char *raw_uri;       /* the target as sent, owned */
    bool started;        /* the head has been seen by on_request */
    char *body;
    size_t body_len;
    bool body_too_large;
    size_t body_limit; /* bytes this route takes (router_body_limit) */
    bool done; /* a response was queued */
    int64_t started_ns;
    int route; /* index into the route table, -1 when none matched */
    const char *params[3];
    char param_buf[3][128];
    char address[64];
    const char *lang; /* "zh" or "en", from Accept-Language */
    struct identity id;
    struct plan_ref *plan;
    struct store *store;
    struct yj_ctx ctx;
    struct yj_decider decider; /* ctx.decider: the person the account is, 代录 (on_behalf) per request */
    struct response resp;
};

/* ---- the daemon (src/server/) and its HTTP front (httpd.c) ---- */

struct server_options {
    struct yj_config *cfg; /* listen, data, plan, limits, TLS */
    /* Called once the server listens, before it says so and before any source starts (the first
     * start creates its administrator here, so that a port in use cannot swallow the one-time
     * password). A nonzero return stops the server with that exit status. May be NULL. */
    int (*listening)(void *arg);
    void *arg;
};

/* Runs the server until SIGTERM/SIGINT; SIGHUP reloads the plan. Returns an exit status. */
int server_run(const struct server_options *opt);

/* The calling thread's store connection (each server thread has its own). NULL on failure. */
struct store *server_store(struct server *srv, struct yj_err *err);
struct plan_ref *server_plan_acquire(struct server *srv);
void server_plan_release(struct plan_ref *ref);
const struct yj_config *server_config(const struct server *srv);
/* The detection engine (rules, windows), or NULL when detection is off. */
struct detector *server_detector(struct server *srv);
/* Verifies the audit chain from where this server last found it intact (and its signed head),
 * so that reading the audit log costs the rows written since, not the whole chain. */
struct audit_result;
int server_audit_verify(struct server *srv, struct store *st, struct audit_result *res, struct yj_err *err);
/* The last sample of the host's resources: true and *out, or false when none is watched yet. */
struct host_sample;
bool server_host_sample(struct server *srv, struct host_sample *out);
/* Asks the website guard to save site id's page as it is now as its baseline. */
void server_site_accept(struct server *srv, const char *id);
/* Where the sites' baselines are (DATA/sites). */
const char *server_sites_dir(struct server *srv);
/* The server's own watchers (watchers.c). */
/* Whether this node holds the work lease (runs the clock, the outbox, actions, the scheduled
 * watchers); always on a single node. */
bool server_is_leader(struct server *srv);
struct watchers *server_watchers(struct server *srv);
/* Stores a batch of signals (durable, with the log positions reached) and processes it, on the
 * calling source's thread; wakes live streams and the clock. 0 or a YJ_E* code. */
struct store_signal;
struct store_logpos;
int server_deliver(struct server *srv, const char *actor, struct store_signal *sigs, size_t n,
                   const struct store_logpos *pos, size_t n_pos);
/* Asks the integrity watcher for a new baseline of watch id (no-op when none runs). */
void server_integrity_accept(struct server *srv, const char *id);
/* A deployment window for watch id until until_ms (0: end it now). */
void server_integrity_maintenance(struct server *srv, const char *id, int64_t until_ms);
int64_t server_integrity_maintenance_until(struct server *srv, const char *id); /* 0: none */
/* Recently served incident reads (cache.h). */
struct response_cache *server_cache(struct server *srv);
/* Wakes live streams so they look for new events now rather than at the next tick. */
void server_wake_streams(struct server *srv);
/* Runs the clock now (a new incident: its notifications should not wait for the next tick). */
void server_poke_clock(struct server *srv);
/* Wakes the outbox: notifications were queued. */
void server_poke_outbox(struct server *srv);
/* Puts a plan in force: refused, and p freed, when the config or the rules do not fit it. */
int server_plan_install(struct server *srv, struct plan *p, struct yj_err *err);
/* Loads the plan anew (the file with the console's edits) and puts it in force, as SIGHUP does;
 * the console calls it after an edit of the directory. */
int server_plan_reload(struct server *srv, struct yj_err *err);
/* The console changed a channel: the outbox reloads them before its next round. */
void server_channels_changed(struct server *srv);
bool server_stopping(const struct server *srv);
/* Request header value or NULL. */
const char *request_header(struct request *r, const char *name);
/* Query-string argument or NULL. */
const char *request_query(struct request *r, const char *name);
/* Metrics text for /metrics (Prometheus). Caller frees. */
char *server_metrics_text(struct server *srv, struct request *r);
/* Counts a store failure for /metrics. */
void server_count_store_error(struct server *srv);
/* Prepares a streaming response for SSE (api_events.c provides the reader). */
struct MHD_Response *server_stream_response(struct request *r, void *stream,
                                            ssize_t (*reader)(void *stream, uint64_t pos, char *buf, size_t max),
                                            void (*free_fn)(void *stream));
/* From inside a stream reader: park the connection until the next wake-up. */
void server_stream_park(struct server *srv, struct MHD_Connection *conn);
/* Connection of the request a stream serves. */
bool server_is_tls(const struct server *srv);

/* ---- reply.c: building responses ---- */

/* 2xx/other JSON response; steals v. */
void reply_json(struct request *r, unsigned status, json_t *v);
/* application/problem+json with a stable code; detail in the request's language.
 * field may be NULL. */
void reply_problem(struct request *r, unsigned status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Maps an engine/store error to the right status and code. */
void reply_error(struct request *r, const struct yj_err *err);
/* Plain bytes (copied). */
void reply_bytes(struct request *r, unsigned status, const char *type, const char *data, size_t len);

/* Parses the request body as a JSON object within the configured limits, replying 400/413/415
 * itself on failure (then returns NULL). Caller json_decref's the result. */
json_t *request_json(struct request *r);

/* An embedded file (static for the process's life) as the response, not copied. */
void reply_static(struct request *r, unsigned status, const char *type, const char *data, size_t len);

/* ---- web.c ---- */

/* Serves the console's static files for GET/HEAD outside /api/; false when the URL is not its. */
bool web_serve(struct request *r);

struct json_field {
    const char *key;
    int type; /* JSON_STRING, JSON_TRUE (any boolean), JSON_OBJECT, JSON_ARRAY */
    bool required;
};
/* Checks an object against fields: unknown keys, missing keys, wrong types, NUL in strings and
 * over-long strings get a 400 naming the field; returns false then. */
bool request_check(struct request *r, json_t *obj, const struct json_field *fields, size_t n);
/* The same for an object nested at `where` ("signals[3]"): errors name "signals[3].message". */
bool request_check_at(struct request *r, const char *where, json_t *obj, const struct json_field *fields, size_t n);

/* A whole-number query parameter (its range checked by the router's table), or dflt. */
int64_t request_query_int(struct request *r, const char *name, int64_t dflt);

/* ---- auth.c ---- */

/* Resolves the caller from the session cookie or the bearer token into r->id. Returns 0 (maybe
 * ID_NONE) or replies itself (401) and returns -1 on an invalid/expired credential. */
int auth_identify(struct request *r);
/* Role name → bit, 0 for unknown. */
unsigned auth_role_bit(const char *role);
/* The value of cookie `name` in a Cookie header into out: false when absent or too long. */
bool auth_cookie(const char *cookie, const char *name, char *out, size_t size);
/* What the caller may do, from the role matrix: the names of the routes its role (and scopes)
 * admit, and "incidents.move:STATUS" for each status kept to fewer roles. For the console. */
json_t *router_permissions(const struct identity *id);
/* True when the caller's role may move an incident to status (the role matrix in router.c). */
bool router_may_move(const struct identity *id, const char *status);
/* True while the credential a stream was opened with still stands as it was: the session not
 * ended or expired, the account not disabled, its role, unit and password duty unchanged; the
 * token not revoked nor changed. */
bool auth_still_valid(struct server *srv, struct store *st, const struct identity *id);
/* Scope names → bits from a JSON array; 0 on an unknown scope (name in *bad). */
unsigned auth_scopes(json_t *arr, const char **bad);
/* Appends to the audit chain in its own transaction (auth events, account changes); steals
 * detail. Returns 0 or replies 503 itself and returns -1. */
int auth_audit(struct request *r, const char *actor, const char *action, const char *object, json_t *detail);
/* Writes the session's or token's last-use time when auth_identify found it due. */
void auth_touch(struct request *r);
/* True when the caller may see this incident (officers: own unit or own reports). */
bool auth_can_see(const struct request *r, const struct store_incident *inc);
/* Generates n random bytes as URL-safe base64 into out. */
void auth_random_token(char *out, size_t size, size_t nbytes);
/* BLAKE2b-256 hex of a token. */
void auth_token_hash(const char *token, char out[65]);

/* ---- handlers ---- */



typedef void (*handler_fn)(struct request *r);

void api_session_create(struct request *r);
void api_session_get(struct request *r);
void api_session_delete(struct request *r);
void api_session_password(struct request *r);
void api_signals_create(struct request *r);
void api_incidents_create(struct request *r);
void api_incidents_list(struct request *r);
void api_incidents_assign(struct request *r);
void api_ack_get(struct request *r);
void api_ack_post(struct request *r);
void api_assignees_list(struct request *r);
void api_stats_daily(struct request *r);
void api_incidents_get(struct request *r);
void api_incidents_move(struct request *r);
void api_incidents_assess(struct request *r);
void api_incidents_timeline(struct request *r);
void api_incidents_notes_list(struct request *r);
void api_incidents_notes_add(struct request *r);
void api_incidents_ack(struct request *r);
void api_incidents_waive(struct request *r);
void api_incidents_notifications(struct request *r);
void api_incidents_upward_report(struct request *r);
void api_incidents_tasks(struct request *r);
void api_incidents_task_update(struct request *r);
void api_incidents_task_approval(struct request *r);
void api_plan_get(struct request *r);
void api_plan_part(struct request *r);
void api_duty_now(struct request *r);
/* api_directory.c */
void api_people_put(struct request *r);
void api_people_remove(struct request *r);
void api_rotations_put(struct request *r);
void api_rotations_remove(struct request *r);
void api_swaps_list(struct request *r);
void api_swaps_create(struct request *r);
void api_swaps_answer(struct request *r);
void api_channels_list(struct request *r);
void api_channels_put(struct request *r);
void api_channels_remove(struct request *r);
void api_incidents_activate(struct request *r);
void api_incidents_attach(struct request *r);
void api_incidents_attachments(struct request *r);
void api_incidents_attachment(struct request *r);
void api_incidents_upward_submit(struct request *r);
void api_integrity_list(struct request *r);
void api_integrity_maintenance(struct request *r);
void api_sites_list(struct request *r);
void api_sites_accept(struct request *r);
void api_integrity_accept(struct request *r);
void api_monitors_list(struct request *r);
void api_host_get(struct request *r);
void api_monitors_get(struct request *r);
void api_blocks_list(struct request *r);
void api_signals_list(struct request *r);
void api_blocks_release(struct request *r);
void api_users_list(struct request *r);
void api_users_create(struct request *r);
void api_users_update(struct request *r);
void api_users_password_reset(struct request *r);
/* ---- api_export.c ---- */
void api_export_incidents(struct request *r);
void api_export_audit(struct request *r);
/* The incident list's filters from the query (api_incidents.c): false after replying 400. */
struct store_incident_filter;
bool incidents_filter(struct request *r, struct store_incident_filter *f);
void api_tokens_list(struct request *r);
void api_tokens_create(struct request *r);
void api_tokens_revoke(struct request *r);
void api_audit_list(struct request *r);
void api_events(struct request *r);
void api_healthz(struct request *r);
void api_metrics(struct request *r);
void api_openapi(struct request *r);

/* ---- router.c ---- */

/* ROUTE_PASSWORD: open to a session that must change its password first (the change itself, who
 * am I, logging out); every other route answers it 403. */
enum { ROUTE_PUBLIC = 1, ROUTE_NO_CSRF = 2, ROUTE_UPLOAD = 4 /* body up to limits.attachment */, ROUTE_PASSWORD = 8 };

/* The largest body the route for method and url takes: limits.attachment for upload routes,
 * limits.body otherwise (decided before the body is read). */
size_t router_body_limit(const struct yj_config *cfg, const char *method, const char *url);

/* A query parameter a route takes: the router refuses any other, and any value out of kind,
 * before the handler runs (one validation for every route). */
enum query_kind { Q_INT = 1, Q_ENUM, Q_TEXT, Q_TIME };
struct query_param {
    const char *name;
    enum query_kind kind;
    int64_t min, max;            /* Q_INT: the range; Q_TEXT: max characters */
    const char *const *values;   /* Q_ENUM, NULL-terminated */
};

struct route {
    const char *method;
    const char *pattern; /* "/api/v1/incidents/{id}" */
    handler_fn fn;
    unsigned roles;  /* who may call it with a session */
    unsigned scopes; /* which token scope it needs (0: no token may) */
    unsigned flags;
    const char *name; /* for metrics */
    const struct query_param *query; /* the parameters it takes, ending with {NULL}; NULL: none */
};

extern const struct route routes[];
extern const size_t n_routes;

/* Matches, authenticates, authorises and runs the handler for r. */
void router_dispatch(struct request *r);

#endif
