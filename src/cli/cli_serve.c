/* cli_serve.c: `yingji serve` — migrate, make sure someone can log in, then run the server.
 * On the very first start it creates the administrator with a random one-time password and
 * prints it once; it never prints a password again. */
#include "../base/common.h"
#include "../engine/account.h"
#include "../http/http.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <sodium.h>

static const char serve_usage[] =
    "usage: yingji serve [--listen ADDR:PORT] [--config FILE] [--data DIR] [--plan FILE]\n"
    "\n"
    "Runs the HTTP API (and later the console) until SIGTERM or SIGINT; SIGHUP reloads the plan\n"
    "(a plan with errors is refused and the old one stays). Defaults: 127.0.0.1:8080, ./data,\n"
    "the built-in university plan; see yingji.example.yaml for every setting.\n";

/* First start: an administrator with a random password, which must be changed after login. */
static int ensure_admin(struct cli *c)
{
    struct yj_err err = {0};
    int64_t users = 0;
    if (store_user_count(c->store, &users, &err) < 0)
        return cli_fail(err.code, err.msg);
    if (users > 0)
        return 0;
    /* 16 characters from an alphabet without look-alikes (0/O, 1/l/I): ~90 bits, easy to type. */
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    char password[17];
    if (sodium_init() < 0)
        return cli_fail(YJ_ESTORE, "libsodium could not initialise");
    for (size_t i = 0; i < 16; i++)
        password[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    password[16] = 0;
    c->ctx.actor = "system:first-start";
    if (account_create(&c->ctx, "admin", "admin", NULL, password, true, NULL, &err) < 0)
        return cli_fail(err.code, err.msg);
    c->ctx.actor = c->actor;
    printf("yingji: first start: created the administrator account\n"
           "  user:     admin\n"
           "  password: %s   (shown only now; you set your own at the first login)\n",
           password);
    sodium_memzero(password, sizeof(password));
    fflush(stdout);
    return 0;
}

int cli_serve(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
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
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    if ((rc = ensure_admin(c)) != 0)
        return rc;
    /* The server opens its own connections per thread and loads its own plan reference. */
    cli_close(c);
    /* data_dir and plan_path may point into cfg itself: copy before replacing. */
    char *data = xstrdup(c->data_dir), *plan = xstrdup(c->plan_path);
    config_set(&c->cfg.data, data);
    config_set(&c->cfg.plan, plan);
    free(data);
    free(plan);
    c->data_dir = c->cfg.data;
    c->plan_path = c->cfg.plan;
    struct server_options opt = {.cfg = &c->cfg};
    return server_run(&opt);
}
