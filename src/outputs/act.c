/* act.c: the action runner. A program is started with posix_spawn (no shell), the incident and
 * task in its environment, stdout and stderr captured (first ACT_OUTPUT_MAX bytes) and killed at
 * its timeout; an HTTP action POSTs the same facts as JSON. Must never run an action twice: the
 * outcome is stored before the next task is looked at. */
#include "../base/cidr.h"
#include "../base/common.h"
#include "../base/err.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../engine/ctx.h"
#include "../engine/incident.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "act.h"
#include "nft.h"
#include "notify.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int record_release(struct yj_ctx *ctx, const struct store_block *b, const char *reason, const char *note,
                          struct yj_err *err);

static const struct config_action *config_for(const struct config_action *as, size_t n, const char *kind)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(as[i].kind, kind) == 0)
            return &as[i];
    return NULL;
}

/* Runs argv with env; fills out (NUL-terminated, bounded). 0 when it exited 0. */
static int run_program(char *const *argv, char *const *env, int64_t timeout_ms, char *out, size_t cap,
                       char *why, size_t why_cap)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(why, why_cap, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        snprintf(why, why_cap, "cannot start %s: %s", argv[0], strerror(rc));
        return -1;
    }
    size_t len = 0;
    int64_t deadline = yj_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
    bool timed_out = false;
    for (;;) {
        int64_t left = deadline - yj_now_ms();
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char buf[1024];
        ssize_t n = read(fds[0], buf, sizeof(buf));
        if (n <= 0)
            break; /* the program closed its output: it is ending */
        size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
        memcpy(out + len, buf, take);
        len += take;
    }
    out[len] = 0;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        snprintf(why, why_cap, "timed out after %lld ms and was killed", (long long)(timeout_ms > 0 ? timeout_ms : 30000));
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(why, why_cap, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(why, why_cap, "ended by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

/* The incident and task as environment variables (and JSON for HTTP actions). */
static json_t *facts(const struct store_incident *inc, const struct store_task *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:s, s:s}", "incident", inc->number, "title", inc->title,
                     "type", inc->type, "level", inc->level, "unit", inc->unit, "assets", inc->assets, "task",
                     (json_int_t)t->id, "task_title", t->title, "action", t->action);
}

static int64_t block_ms(const struct config_action *cfg)
{
    return cfg->duration > 0 ? cfg->duration : ACT_BLOCK_DEFAULT_MS;
}

/* Never blocked whatever the config says: this host talking to itself. */
static const char *const never_block[] = {"127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104"};

/* The range of the allow-list (the config's, then never_block) holding address, or NULL. */
static const char *allowed_by(const struct config_action *cfg, const char *address)
{
    unsigned char a[16];
    int family = yj_ip_parse(address, strlen(address), a);
    for (size_t i = 0; i < cfg->n_allow + YJ_ARRAY_LEN(never_block); i++) {
        const char *range = i < cfg->n_allow ? cfg->allow[i] : never_block[i - cfg->n_allow];
        struct yj_cidr c;
        if (yj_cidr_parse(range, &c) && yj_cidr_contains(&c, family, a))
            return range;
    }
    return NULL;
}

/* block_ip: which of the incident's source addresses may be blocked (into targets, malloc'd),
 * and why the others may not (appended to why). */
static int block_targets(struct yj_ctx *ctx, const struct config_action *cfg, int64_t incident_id, char **targets,
                         size_t max, size_t *n, char *why, size_t why_cap, struct yj_err *err)
{
    char *found[ACT_MAX_ADDRESSES];
    size_t n_found = 0, len = strlen(why);
    *n = 0;
    int rc = store_incident_addresses(ctx->store, incident_id, found, YJ_ARRAY_LEN(found), &n_found, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n_found; i++) {
        unsigned char a[16];
        const char *range = NULL;
        if (!yj_ip_parse(found[i], strlen(found[i]), a)) {
            len += (size_t)snprintf(why + len, len < why_cap ? why_cap - len : 0, "%s\"%.64s\" is not an address",
                                    len ? "; " : "", found[i]);
        } else if ((range = allowed_by(cfg, found[i]))) {
            len += (size_t)snprintf(why + len, len < why_cap ? why_cap - len : 0, "%snot blocking %s: allow-listed (%s)",
                                    len ? "; " : "", found[i], range);
        } else if (*n < max) {
            targets[(*n)++] = found[i];
            found[i] = NULL;
        }
        free(found[i]);
    }
    if (len >= why_cap && why_cap > 4)
        memcpy(why + why_cap - 4, "...", 4);
    if (n_found == 0)
        snprintf(why, why_cap, "no address to block: the incident's signals carry none");
    return 0;
}

/* Blocks each target in the kernel; the blocked ones stay in targets[0..*n_blocked). */
static int block_with_nftables(const struct config_action *cfg, char **targets, size_t n, size_t *n_blocked,
                               char *why, size_t why_cap)
{
    struct yj_err e = {0};
    size_t k = 0, len = 0;
    if (nft_block_setup(cfg->nftables, &e) < 0) {
        snprintf(why, why_cap, "%.300s", e.msg);
        for (size_t i = 0; i < n; i++)
            free(targets[i]);
        *n_blocked = 0;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (nft_block_add(cfg->nftables, targets[i], block_ms(cfg) / 1000, &e) < 0) {
            if (len < why_cap)
                len += (size_t)snprintf(why + len, why_cap - len, "%s%.64s: %.200s", len ? "; " : "", targets[i],
                                        e.msg);
            free(targets[i]);
            continue;
        }
        targets[k++] = targets[i];
    }
    *n_blocked = k;
    return k == n ? 0 : -1;
}

/* A program or HTTP endpoint given the facts f; 0 on success, out and why filled. */
static int run_external(const struct config_action *cfg, json_t *f, char *out, size_t out_cap, char *why,
                        size_t why_cap)
{
    int ok;
    if (cfg->n_run) {
        /* PATH, LANG and TZ from our environment; the facts as YINGJI_* (lists space-separated). */
        char *env[20];
        size_t ne = 0;
        const char *keep[] = {"PATH", "LANG", "TZ"};
        for (size_t k = 0; k < YJ_ARRAY_LEN(keep); k++)
            if (getenv(keep[k]))
                env[ne++] = xasprintf("%s=%s", keep[k], getenv(keep[k]));
        for (void *it = json_object_iter(f); it && ne < YJ_ARRAY_LEN(env) - 1; it = json_object_iter_next(f, it)) {
            json_t *v = json_object_iter_value(it);
            char name[64];
            snprintf(name, sizeof(name), "YINGJI_%s", json_object_iter_key(it));
            for (char *c = name; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            if (json_is_integer(v)) {
                env[ne++] = xasprintf("%s=%lld", name, (long long)json_integer_value(v));
            } else if (json_is_array(v)) {
                size_t len = strlen(name) + 1;
                for (size_t i = 0; i < json_array_size(v); i++)
                    len += strlen(json_string_value(json_array_get(v, i))) + 1;
                char *e = env[ne++] = xmalloc(len + 1);
                size_t at = (size_t)snprintf(e, len + 1, "%s=", name);
                for (size_t i = 0; i < json_array_size(v); i++)
                    at += (size_t)snprintf(e + at, len + 1 - at, "%s%s", i ? " " : "",
                                           json_string_value(json_array_get(v, i)));
            } else {
                env[ne++] = xasprintf("%s=%s", name, json_is_string(v) ? json_string_value(v) : "");
            }
        }
        env[ne] = NULL;
        char **argv = xcalloc(cfg->n_run + 1, sizeof(char *));
        for (size_t k = 0; k < cfg->n_run; k++)
            argv[k] = cfg->run[k];
        ok = run_program(argv, env, cfg->timeout, out, out_cap, why, why_cap);
        free(argv);
        for (size_t k = 0; k < ne; k++)
            free(env[k]);
        return ok;
    }
    char *body = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
    static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
    long code = 0;
    char *reply = NULL;
    struct yj_err e = {0};
    ok = notify_http_post(cfg->url, headers, 1, body, cfg->timeout, &code, &reply, &e);
    if (ok == 0 && (code < 200 || code > 299)) {
        snprintf(why, why_cap, "the endpoint answered HTTP %ld", code);
        ok = -1;
    } else if (ok < 0) {
        snprintf(why, why_cap, "%.200s", e.msg);
    }
    snprintf(out, out_cap, "%s", reply ? reply : "");
    free(reply);
    free(body);
    return ok;
}


static int run_one(struct yj_ctx *ctx, const struct config_action *cfg, const struct act_restore_source *restore,
                   const struct store_task *t, struct act_result *res, struct yj_err *err)
{
    struct store_incident inc;
    int rc = store_incident_get(ctx->store, t->incident_id, NULL, &inc, err);
    if (rc < 0)
        return rc;
    /* why: what went wrong; refused: addresses not blocked and why; out: the action's output. */
    char out[ACT_OUTPUT_MAX] = "", why[512] = "", refused[1024] = "";
    const char *status;
    bool block = strcmp(t->action, "block_ip") == 0;
    char *targets[ACT_MAX_ADDRESSES];
    size_t n_targets = 0;
    if (cfg && block && (rc = block_targets(ctx, cfg, inc.id, targets, YJ_ARRAY_LEN(targets), &n_targets, refused,
                                            sizeof(refused), err)) < 0) {
        store_incident_release(&inc);
        return rc;
    }
    int ok = -1;
    if (!cfg) {
        status = "unconfigured";
        snprintf(why, sizeof(why), "no `actions:` entry for %s in the config: to be carried out by hand", t->action);
        res->unconfigured++;
    } else {
        if (block && n_targets == 0) {
            snprintf(why, sizeof(why), "nothing blocked");
        } else if (cfg->integrity) {
            ok = act_restore_files(ctx, inc.id, restore, out, sizeof(out), why, sizeof(why));
        } else if (cfg->nftables) {
            ok = block_with_nftables(cfg, targets, n_targets, &n_targets, why, sizeof(why));
            size_t len = 0;
            for (size_t i = 0; i < n_targets && len < sizeof(out); i++)
                len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? ", " : "", targets[i]);
            if (n_targets && len < sizeof(out))
                snprintf(out + len, sizeof(out) - len, " blocked for %llds (nftables table inet %s)",
                         (long long)(block_ms(cfg) / 1000), cfg->nftables);
        } else {
            json_t *f = facts(&inc, t);
            if (block) {
                json_t *addresses = json_array();
                for (size_t i = 0; i < n_targets; i++)
                    json_array_append_new(addresses, json_string(targets[i]));
                json_object_set_new(f, "addresses", addresses);
                json_object_set_new(f, "duration", json_integer(block_ms(cfg) / 1000));
            }
            ok = run_external(cfg, f, out, sizeof(out), why, sizeof(why));
            json_decref(f);
        }
        status = ok == 0 ? "succeeded" : "failed";
        if (ok == 0)
            res->succeeded++;
        else
            res->failed++;
    }
    int64_t now = yj_ctx_now(ctx);
    char *recorded = xasprintf("%s%s%s%s%s", why, why[0] && refused[0] ? "\n" : "", refused,
                               (why[0] || refused[0]) && out[0] ? "\n" : "", out);
    if ((rc = store_begin(ctx->store, err)) == 0) {
        rc = store_task_action_result(ctx->store, t->id, status, recorded, now, err);
        /* What the kernel holds now is recorded with the outcome, so expiry can be reported. */
        for (size_t i = 0; rc == 0 && cfg && cfg->nftables && i < n_targets; i++) {
            struct store_block b = {.incident_id = inc.id, .task_id = t->id, .blocked_at = now,
                                    .expires_at = now + block_ms(cfg)};
            snprintf(b.address, sizeof(b.address), "%s", targets[i]);
            rc = store_block_insert(ctx->store, &b, err);
        }
        json_t *body = json_pack("{s:I, s:s, s:s, s:s, s:s}", "task", (json_int_t)t->id, "title", t->title, "action",
                                 t->action, "result", status, "output", recorded);
        if (block && cfg) {
            json_t *addresses = json_array();
            for (size_t i = 0; i < n_targets; i++)
                json_array_append_new(addresses, json_string(targets[i]));
            json_object_set_new(body, "addresses", addresses);
        }
        if (rc == 0)
            rc = incident_record(ctx, inc.id, "action", body, err);
        json_decref(body);
        if (rc == 0)
            rc = store_commit(ctx->store, err);
        else
            store_rollback(ctx->store);
    }
    for (size_t i = 0; i < n_targets; i++)
        free(targets[i]);
    free(recorded);
    store_incident_release(&inc);
    return rc;
}

/* Blocks whose time ran out: the kernel let them go; the timeline says so. */
static int expire_blocks(struct yj_ctx *ctx, struct yj_err *err)
{
    struct store_block bs[16];
    size_t n = 0;
    int64_t now = yj_ctx_now(ctx);
    int rc = store_block_expired(ctx->store, now, bs, YJ_ARRAY_LEN(bs), &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = record_release(ctx, &bs[i], "expired", NULL, err);
    return rc;
}

int act_run(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions,
            const struct act_restore_source *restore, struct act_result *out, struct yj_err *err)
{
    struct act_result res = {0};
    struct store_task ts[8];
    size_t n = 0;
    int rc = expire_blocks(ctx, err);
    if (rc == 0)
        rc = store_task_action_due(ctx->store, ts, YJ_ARRAY_LEN(ts), &n, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = run_one(ctx, config_for(actions, n_actions, ts[i].action), restore, &ts[i], &res, err);
        store_task_release(&ts[i]);
    }
    if (out)
        *out = res;
    return rc;
}

/* Records the end of a block in the store and on the incident's timeline, in one transaction. */
static int record_release(struct yj_ctx *ctx, const struct store_block *b, const char *reason, const char *note,
                          struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    rc = store_block_release(ctx->store, b->id, now, ctx->actor, reason, err);
    json_t *body = json_pack("{s:s, s:s, s:I, s:I, s:s?}", "address", b->address, "reason", reason, "blocked_at",
                             (json_int_t)b->blocked_at, "expires_at", (json_int_t)b->expires_at, "note", note);
    if (rc == 0)
        rc = incident_record(ctx, b->incident_id, "unblocked", body, err);
    json_decref(body);
    if (rc == 0)
        return store_commit(ctx->store, err);
    store_rollback(ctx->store);
    return rc;
}

int act_restore_blocks(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, size_t *restored,
                       struct yj_err *err)
{
    const struct config_action *cfg = config_for(actions, n_actions, "block_ip");
    *restored = 0;
    if (!cfg || !cfg->nftables)
        return 0;
    int rc = nft_block_setup(cfg->nftables, err);
    if (rc < 0)
        return rc;
    struct store_block bs[ACT_RESTORE_MAX];
    size_t n = 0;
    if ((rc = store_block_list(ctx->store, true, bs, YJ_ARRAY_LEN(bs), &n, err)) < 0)
        return rc;
    int64_t now = yj_ctx_now(ctx);
    for (size_t i = 0; i < n; i++) {
        int64_t left = (bs[i].expires_at - now + 999) / 1000;
        if (left <= 0)
            continue; /* expire_blocks reports it */
        if ((rc = nft_block_add(cfg->nftables, bs[i].address, left, err)) < 0)
            return rc;
        (*restored)++;
    }
    return 0;
}

int act_release_block(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, const char *address,
                      const char *note, struct yj_err *err)
{
    struct store_block bs[ACT_RESTORE_MAX];
    size_t n = 0;
    int rc = store_block_list(ctx->store, true, bs, YJ_ARRAY_LEN(bs), &n, err);
    if (rc < 0)
        return rc;
    unsigned char want[16], have[16];
    int family = yj_ip_parse(address, strlen(address), want);
    if (!family)
        return yj_err_set(err, YJ_EINVAL, "\"%.64s\" is not an IP address", address);
    for (size_t i = 0; i < n; i++) {
        if (yj_ip_parse(bs[i].address, strlen(bs[i].address), have) != family ||
            memcmp(want, have, family == AF_INET ? 4 : 16) != 0)
            continue;
        const struct config_action *cfg = config_for(actions, n_actions, "block_ip");
        if (cfg && cfg->nftables && (rc = nft_block_del(cfg->nftables, bs[i].address, err)) < 0)
            return rc;
        return record_release(ctx, &bs[i], "released", note, err);
    }
    return yj_err_set(err, YJ_ENOTFOUND, "%s is not blocked", address);
}

void *act_block_json(const struct store_block *b)
{
    /* (jansson's "?" applies to strings and objects only: an "I?" made every block fail to pack.) */
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o?, s:s?, s:s?}", "id", (json_int_t)b->id, "address",
                     b->address, "incident", b->incident, "task",
                     b->task_id ? json_integer((json_int_t)b->task_id) : json_null(), "blocked_at",
                     yj_json_time(b->blocked_at), "expires_at", yj_json_time(b->expires_at), "released_at",
                     b->released_at ? yj_json_time(b->released_at) : NULL, "released_by",
                     b->released_at ? b->released_by : NULL, "release_reason",
                     b->released_at ? b->release_reason : NULL);
}
