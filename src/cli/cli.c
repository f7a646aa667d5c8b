/* cli.c: global options, dispatch to the command groups, and the shared open/close of the
 * plan and store. Commands never print errors themselves below this level: they return a
 * code and a message, and the message is printed here or in the group, once. */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../engine/audit.h"
#include "../engine/directory.h"
#include "../engine/plan_identity.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "cli.h"

#include <curl/curl.h>

#include <jansson.h>
#include <locale.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static const char usage_text[] =
    "usage: yingji [--config FILE] [--data DIR] [--store URL] [--plan FILE] [--json] COMMAND ...\n"
    "\n"
    "Network and information security emergency response (网络与信息安全应急).\n"
    "\n"
    "Commands:\n"
    "  plan check FILE             validate a plan file; errors as FILE:LINE:COLUMN: message\n"
    "  plan show [FILE]            show the plan in force (or FILE)\n"
    "  incident report ...         report an incident; prints its number\n"
    "  incident list [...]         list incidents, newest first\n"
    "  incident show ID            one incident with its deadlines and timeline\n"
    "  incident move ID STATUS     move an incident along its lifecycle\n"
    "  incident note ID TEXT       add a note to an incident's timeline\n"
    "  incident ack ID             acknowledge an incident (接报确认); stops its escalation\n"
    "  incident activate ID        record the leading group's decision to activate the plan (启动预案)\n"
    "  incident tasks ID           the incident's playbook tasks\n"
    "  incident task ID TASK STATE check off (done), start (doing) or skip (--reason) a task\n"
    "  incident approve ID TASK    approve (or --reject --reason) a task that needs approval\n"
    "  db migrate                  apply pending store migrations (SQLite or PostgreSQL)\n"
    "  db backup PATH              consistent copy of the store while it is in use\n"
    "  audit verify                check the audit record: chain, signed head, incidents, checkpoints\n"
    "  audit checkpoint            print and keep the audit chain's signed head\n"
    "  serve [--listen ADDR:PORT]  run the HTTP API\n"
    "  logscan [--rule ID] FILE... run the detection rules over log files offline\n"
    "  logscan --test CORPUS...    check the rules on annotated logs and against log injection\n"
    "  user add|passwd|list        accounts for the API and console\n"
    "  duty now [--at TIME]        who is on duty (值班) by the plan's roster\n"
    "  notify test CHANNEL_ID      send a test message through a channel of the config\n"
    "  probe URL-or-HOST:PORT      check once whether a page or a port is up (exit 0 up, 1 down)\n"
    "  webguard check URL          hidden links, injected scripts, tamper, prohibited words of a page\n"
    "  block list [--all]          addresses blocked by the block_ip action (nftables)\n"
    "  block release ADDRESS       unblock an address before its time (audited)\n"
    "  report upward ID            the incident's upward report (向上级报告), Markdown\n"
    "  version                     print the version\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --config FILE deployment config (yingji.example.yaml shows every key)\n"
    "  --data DIR    data directory (default: the config's, else $YINGJI_DATA, else ./data)\n"
    "  --store URL   sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: the config's store,\n"
    "                else sqlite:DIR/yingji.db in the data directory); the password from\n"
    "                PGPASSWORD, ~/.pgpass or the config's password_file, never in the URL\n"
    "  --plan FILE   plan file, or builtin:university / builtin:county-bureau (default builtin:university)\n"
    "  --json        machine-readable output\n"
    "\n"
    "Run 'yingji COMMAND --help' for a command's options.\n";

int cli_fail(int code, const char *msg)
{
    fprintf(stderr, "yingji: %s\n", msg);
    return yj_err_exit_status(code);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("yingji: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    return 2;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

void cli_print_padded(const char *s, int columns)
{
    wchar_t wide[256];
    size_t n = mbstowcs(wide, s, YJ_ARRAY_LEN(wide) - 1);
    int w = n == (size_t)-1 ? (int)strlen(s) : wcswidth(wide, n);
    if (w < 0)
        w = (int)strlen(s);
    printf("%s%*s", s, columns > w ? columns - w : 1, "");
}

void cli_print_json(void *v)
{
    json_t *j = v;
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s) {
        fputs(s, stdout);
        fputs("\n", stdout);
    }
    free(s);
    json_decref(j);
}

int cli_open(struct cli *c, bool with_store)
{
    struct yj_err err = {0};
    struct plan_diags diags = {0};
    if (plan_load(c->plan_path, &c->plan, &diags, &err) < 0) {
        if (diags.n) {
            for (size_t i = 0; i < diags.n; i++)
                fprintf(stderr, "%s\n", diags.lines[i]);
            plan_diags_release(&diags);
            return 2;
        }
        return cli_fail(err.code, err.msg);
    }
    /* Display times in the plan's zone; storage stays UTC. */
    setenv("TZ", c->plan->meta.timezone, 1);
    tzset();
    c->ctx.plan = c->plan;
    c->ctx.actor = c->actor;
    if (!with_store)
        return 0;
    /* The data directory holds the audit key, caches and baselines whatever the store is: the
     * service's own (it is also the SQLite store's). */
    if (yj_mkdirs(c->data_dir, 0700) < 0) {
        yj_err_set(&err, YJ_EIO, "cannot create data directory %s: %s", c->data_dir, strerror(errno));
        return cli_fail(err.code, err.msg);
    }
    if (store_open(c->store_url, c->cfg.store_password, &c->store, &err) < 0)
        return cli_fail(err.code, err.msg);
    int applied = 0;
    if (store_migrate(c->store, &applied, &err) < 0)
        return cli_fail(err.code, err.msg);
    c->ctx.store = c->store;
    /* The console's edits of the directory (phone numbers, rotations, swaps) count here too. */
    struct plan *edited = NULL;
    char *edits_error = NULL;
    if (directory_plan(c->plan_path, c->store, &edited, &edits_error, NULL, &err) < 0)
        return cli_fail(err.code, err.msg);
    if (edits_error)
        fprintf(stderr, "yingji: the console's edits of the directory no longer fit the plan and are not applied: %s\n",
                edits_error);
    free(edits_error);
    plan_free(c->plan);
    c->plan = edited;
    c->ctx.plan = edited;
    char *key = audit_key_path(c->data_dir, c->cfg.audit.key);
    int rc = 0;
    if (c->audit_key_optional) {
        rc = audit_key_load(key, false, &c->audit_key, NULL, &err);
        if (rc == YJ_ENOTFOUND)
            rc = 0;
    } else {
        rc = audit_key_open(c->store, key, yj_ctx_now(&c->ctx), c->actor, &c->audit_key, &err);
    }
    free(key);
    if (rc < 0)
        return cli_fail(rc, err.msg);
    if (c->audit_key_optional) /* reading only */
        return 0;
    bool changed = false;
    if ((rc = plan_identity_check(&c->ctx, c->plan_change, &changed, &err)) < 0)
        return cli_fail(rc, err.msg);
    if (changed)
        printf("yingji: these data now follow the plan \"%s\" (id %s); the change is in the audit log\n",
               c->plan->meta.name, c->plan->meta.id);
    return 0;
}

void cli_close(struct cli *c)
{
    store_free(c->store);
    audit_key_free(c->audit_key);
    plan_free(c->plan);
    c->store = NULL;
    c->audit_key = NULL;
    c->plan = NULL;
}

static void set_actor(struct cli *c)
{
    const char *who = getenv("SUDO_USER");
    struct passwd *pw = who ? NULL : getpwuid(geteuid());
    if (!who)
        who = pw && pw->pw_name ? pw->pw_name : "unknown";
    snprintf(c->actor, sizeof(c->actor), "cli:%s", who);
}

/* The store's password from the config's password_file: its first line. */
static int read_store_password(struct yj_config *cfg)
{
    size_t len = 0;
    char *pw = yj_read_file(cfg->password_file, 4096, &len);
    if (!pw) {
        fprintf(stderr, "yingji: password_file %s: %s\n", cfg->password_file,
                errno == EFBIG ? "larger than 4 KiB, not a password" : strerror(errno));
        return -1;
    }
    pw[strcspn(pw, "\r\n")] = 0;
    if (!*pw) {
        fprintf(stderr, "yingji: password_file %s: empty\n", cfg->password_file);
        free(pw);
        return -1;
    }
    cfg->store_password = pw;
    return 0;
}

/* Takes the global options out of argv wherever they stand (before "--"), so each command
 * sees only its own. Returns 0 or an exit status. */
static int take_globals(struct cli *c, int *argc, char **argv)
{
    int out = 1;
    bool rest = false;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        const char *val = NULL;
        if (!rest && strcmp(a, "--") == 0) {
            rest = true;
        } else if (!rest && strcmp(a, "--json") == 0) {
            c->json = true;
            continue;
        } else if (!rest && (strcmp(a, "--data") == 0 || strcmp(a, "--plan") == 0 || strcmp(a, "--config") == 0 ||
                             strcmp(a, "--store") == 0)) {
            target = a[2] == 'd' ? &c->data_dir : a[2] == 'p' ? &c->plan_path : a[2] == 's' ? &c->store_url
                                                                                           : &c->config_path;
            if (i + 1 >= *argc)
                return cli_usage("%s needs a value", a);
            val = argv[++i];
        } else if (!rest && (strncmp(a, "--data=", 7) == 0 || strncmp(a, "--plan=", 7) == 0)) {
            target = a[2] == 'd' ? &c->data_dir : &c->plan_path;
            val = a + 7;
        } else if (!rest && (strncmp(a, "--config=", 9) == 0 || strncmp(a, "--store=", 8) == 0)) {
            target = a[2] == 'c' ? &c->config_path : &c->store_url;
            val = a + (a[2] == 'c' ? 9 : 8);
        }
        if (target) {
            if (!*val)
                return cli_usage("%.6s needs a non-empty value", a);
            *target = val;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int cli_main(int argc, char **argv)
{
    /* Before any thread exists: libcurl's global set-up is not thread-safe. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct cli c = {.prog = "yingji"};
    /* Character widths for aligned Chinese output; everything else stays in the C locale. */
    setlocale(LC_CTYPE, "C.UTF-8");
    set_actor(&c);
    config_defaults(&c.cfg);
    int rc = take_globals(&c, &argc, argv);
    if (rc == 0 && c.config_path) {
        struct plan_diags diags = {0};
        struct yj_err err = {0};
        if (config_load(c.config_path, &c.cfg, &diags, &err) < 0) {
            for (size_t i = 0; i < diags.n; i++)
                fprintf(stderr, "%s\n", diags.lines[i]);
            rc = diags.n ? 2 : cli_fail(err.code, err.msg);
            plan_diags_release(&diags);
        }
    }
    if (rc) {
        config_release(&c.cfg);
        return rc;
    }
    /* Flags win, then an explicit config file, then the environment, then the defaults. */
    const char *env = getenv("YINGJI_DATA");
    if (!c.data_dir)
        c.data_dir = env && *env && !c.config_path ? env : c.cfg.data;
    if (!c.plan_path)
        c.plan_path = c.cfg.plan;
    /* The store: --store, else the config's, else the SQLite file in the data directory; kept in
     * the config, which the server opens its connections from. */
    if (c.store_url) {
        config_set(&c.cfg.store, c.store_url);
    } else if (!c.cfg.store) {
        c.cfg.store = store_url_of_dir(c.data_dir);
    }
    c.store_url = c.cfg.store;
    if (rc == 0 && c.cfg.password_file && read_store_password(&c.cfg) < 0)
        rc = 2;
    if (rc) {
        config_release(&c.cfg);
        return rc;
    }
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        config_release(&c.cfg);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (c.json)
            cli_print_json(json_pack("{s:s}", "version", YJ_VERSION));
        else
            printf("yingji %s\n", YJ_VERSION);
        config_release(&c.cfg);
        return 0;
    }
    if (strcmp(cmd, "plan") == 0)
        rc = cli_plan(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "incident") == 0)
        rc = cli_incident(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "db") == 0)
        rc = cli_db(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "audit") == 0)
        rc = cli_audit(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "serve") == 0)
        rc = cli_serve(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "user") == 0)
        rc = cli_user(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "report") == 0)
        rc = cli_report(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "notify") == 0)
        rc = cli_notify(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "webguard") == 0)
        rc = cli_webguard(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "probe") == 0)
        rc = cli_probe(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "block") == 0)
        rc = cli_block(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "duty") == 0)
        rc = cli_duty(&c, argc - 1, argv + 1);
    else if (strcmp(cmd, "logscan") == 0)
        rc = cli_logscan(&c, argc - 1, argv + 1);
    else
        rc = cli_usage("unknown command \"%s\" (see 'yingji --help')", cmd);
    cli_close(&c);
    config_release(&c.cfg);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "yingji: cannot write output: %s\n", strerror(errno));
        return rc ? rc : 1;
    }
    return rc;
}
