/* act.c: the action runner. A program is started with posix_spawn (no shell), the incident and
 * task in its environment, stdout and stderr captured (first ACT_OUTPUT_MAX bytes) and killed at
 * its timeout; an HTTP action POSTs the same facts as JSON. Must never run an action twice: the
 * outcome is stored before the next task is looked at. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/timeutil.h"
#include "../engine/ctx.h"
#include "../engine/incident.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "act.h"
#include "notify.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

static int run_one(struct yj_ctx *ctx, const struct config_action *cfg, const struct store_task *t,
                   struct act_result *res, struct yj_err *err)
{
    struct store_incident inc;
    int rc = store_incident_get(ctx->store, t->incident_id, NULL, &inc, err);
    if (rc < 0)
        return rc;
    char out[ACT_OUTPUT_MAX] = "", why[256] = "";
    const char *status;
    if (!cfg) {
        status = "unconfigured";
        snprintf(why, sizeof(why), "no `actions:` entry for %s in the config: to be carried out by hand", t->action);
        res->unconfigured++;
    } else {
        json_t *f = facts(&inc, t);
        int ok;
        if (cfg->n_run) {
            /* PATH and LANG from our environment; the facts as YINGJI_*. */
            char *env[16];
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
                env[ne++] = json_is_integer(v) ? xasprintf("%s=%lld", name, (long long)json_integer_value(v))
                                               : xasprintf("%s=%s", name, json_is_string(v) ? json_string_value(v) : "");
            }
            env[ne] = NULL;
            char **argv = xcalloc(cfg->n_run + 1, sizeof(char *));
            for (size_t k = 0; k < cfg->n_run; k++)
                argv[k] = cfg->run[k];
            ok = run_program(argv, env, cfg->timeout, out, sizeof(out), why, sizeof(why));
            free(argv);
            for (size_t k = 0; k < ne; k++)
                free(env[k]);
        } else {
            char *body = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
            static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
            long code = 0;
            char *reply = NULL;
            struct yj_err e = {0};
            ok = notify_http_post(cfg->url, headers, 1, body, cfg->timeout, &code, &reply, &e);
            if (ok == 0 && (code < 200 || code > 299)) {
                snprintf(why, sizeof(why), "the endpoint answered HTTP %ld", code);
                ok = -1;
            } else if (ok < 0) {
                snprintf(why, sizeof(why), "%.200s", e.msg);
            }
            snprintf(out, sizeof(out), "%s", reply ? reply : "");
            free(reply);
            free(body);
        }
        json_decref(f);
        status = ok == 0 ? "succeeded" : "failed";
        if (ok == 0)
            res->succeeded++;
        else
            res->failed++;
    }
    int64_t now = yj_ctx_now(ctx);
    char *recorded = why[0] ? xasprintf("%s%s%s", why, out[0] ? "\n" : "", out) : xstrdup(out);
    if ((rc = store_begin(ctx->store, err)) == 0) {
        rc = store_task_action_result(ctx->store, t->id, status, recorded, now, err);
        json_t *body = json_pack("{s:I, s:s, s:s, s:s, s:s}", "task", (json_int_t)t->id, "title", t->title, "action",
                                 t->action, "result", status, "output", recorded);
        if (rc == 0)
            rc = incident_record(ctx, inc.id, "action", body, err);
        json_decref(body);
        if (rc == 0)
            rc = store_commit(ctx->store, err);
        else
            store_rollback(ctx->store);
    }
    free(recorded);
    store_incident_release(&inc);
    return rc;
}

int act_run(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, struct act_result *out,
            struct yj_err *err)
{
    struct act_result res = {0};
    struct store_task ts[8];
    size_t n = 0;
    int rc = store_task_action_due(ctx->store, ts, YJ_ARRAY_LEN(ts), &n, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = run_one(ctx, config_for(actions, n_actions, ts[i].action), &ts[i], &res, err);
        store_task_release(&ts[i]);
    }
    if (out)
        *out = res;
    return rc;
}
