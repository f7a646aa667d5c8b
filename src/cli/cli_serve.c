/* cli_serve.c: `yingji serve` — lock the data directory, migrate, check the data's plan, run the
 * server, and on the very first start create the administrator with a random one-time password
 * and print it once (never again). The account is made only once the server listens: a start
 * that fails on a port in use must not leave an account whose password nobody saw. */
#include "../base/common.h"
#include "../base/dirlock.h"
#include "../engine/account.h"
#include "../http/http.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <sodium.h>

static const char serve_usage[] =
    "usage: yingji serve [--listen ADDR:PORT] [--config FILE] [--data DIR] [--plan FILE] [--plan-change]\n"
    "\n"
    "Runs the HTTP API and the console until SIGTERM or SIGINT; SIGHUP reloads the plan (a plan\n"
    "with errors is refused and the old one stays). Defaults: 127.0.0.1:8080, ./data, the built-in\n"
    "university plan; see yingji.example.yaml for every setting. One server per data directory.\n"
    "\n"
    "  --plan-change  the data were made with another plan (another plan.id): move them to this one\n"
    "                 (recorded in the audit log; incidents keep the names they were made with)\n";

/* First start: an administrator with a random password, which must be changed after login.
 * Called by the server once it listens (c still holds the store cli_open opened). */
static int create_admin(void *arg)
{
    struct cli *c = arg;
    struct yj_err err = {0};
    char password[ACCOUNT_ONE_TIME_SIZE] = "";
    int rc = 0;
    if (account_one_time_password(password, &err) < 0) {
        rc = cli_fail(err.code, err.msg);
        goto out;
    }
    c->ctx.actor = "system:first-start";
    rc = account_create(&c->ctx, "admin", "admin", NULL, NULL, password, true, NULL, &err);
    c->ctx.actor = c->actor;
    if (rc < 0) {
        rc = cli_fail(err.code, err.msg);
        goto out;
    }
    printf("yingji: first start: created the administrator account\n"
           "  user:     admin\n"
           "  password: %s   (shown only now; you set your own at the first login)\n",
           password);
    fflush(stdout);
out:
    sodium_memzero(password, sizeof(password));
    cli_close(c);
    return rc;
}

int cli_serve(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"plan-change", no_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(serve_usage, stdout);
        return 0;
    }
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'l')
            config_set(&c->cfg.listen, optarg);
        else if (ch == 'c')
            c->plan_change = true;
        else if (ch == ':')
            return cli_usage("%s needs a value", argv[optind - 1]);
        else
            return cli_usage("unknown option %s for serve", argv[optind - 1]);
    }
    if (optind != argc)
        return cli_usage("unexpected argument \"%s\"", argv[optind]);
    /* Block the stop and reload signals before any thread exists, so that every thread inherits
     * the mask and the server takes them with sigwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Before anything touches the data: a second server would run the clock twice. */
    struct dirlock *lock = NULL;
    struct yj_err err = {0};
    char *what = xasprintf("yingji serve on %s", c->cfg.listen);
    int rc = dirlock_take(c->data_dir, what, &lock, &err);
    free(what);
    if (rc < 0)
        return cli_fail(rc, err.msg);
    if ((rc = cli_open(c, true)) != 0) {
        cli_close(c);
        dirlock_release(lock);
        return rc;
    }
    int64_t users = 0;
    if (store_user_count(c->store, &users, &err) < 0) {
        rc = cli_fail(err.code, err.msg);
        cli_close(c);
        dirlock_release(lock);
        return rc;
    }
    /* The server opens its own connections per thread and loads its own plan reference; the
     * first start keeps this one until the administrator is made. */
    if (users > 0)
        cli_close(c);
    /* data_dir and plan_path may point into cfg itself: copy before replacing. */
    char *data = xstrdup(c->data_dir), *plan = xstrdup(c->plan_path);
    config_set(&c->cfg.data, data);
    config_set(&c->cfg.plan, plan);
    free(data);
    free(plan);
    c->data_dir = c->cfg.data;
    c->plan_path = c->cfg.plan;
    struct server_options opt = {.cfg = &c->cfg, .listening = users > 0 ? NULL : create_admin, .arg = c};
    rc = server_run(&opt);
    cli_close(c); /* when the server stopped before it listened */
    dirlock_release(lock);
    return rc;
}
