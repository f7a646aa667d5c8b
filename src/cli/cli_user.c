/* cli_user.c: `yingji user add|passwd|list` — scripted account set-up. Passwords come on
 * standard input (--password-stdin), never on the command line where `ps` would show them. */
#include "../base/common.h"
#include "../engine/account.h"
#include "../store/store.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <sodium.h>

static const char user_usage[] = "usage: yingji user add NAME --role ROLE [--unit UNIT] --password-stdin\n"
                                 "       yingji user passwd NAME --password-stdin\n"
                                 "       yingji user list\n"
                                 "\n"
                                 "ROLE is admin, leader, responder, officer (needs --unit), duty or auditor.\n"
                                 "The password is the first line of standard input (10 to 512 characters).\n";

static int read_password(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin))
        return cli_usage("--password-stdin: nothing on standard input");
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    if (n && buf[n - 1] == '\r')
        buf[--n] = 0;
    return 0;
}

static int add(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"person", required_argument, NULL, 'P'},
                                         {"password-stdin", no_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *role = NULL, *unit = NULL, *person = NULL;
    bool from_stdin = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': role = optarg; break;
        case 'u': unit = optarg; break;
        case 'P': person = optarg; break;
        case 'p': from_stdin = true; break;
        case ':': return cli_usage("%s needs a value", argv[optind - 1]);
        default: return cli_usage("unknown option %s for user add", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage("usage: yingji user add NAME --role ROLE [--unit UNIT] [--person ID] --password-stdin");
    if (!role)
        return cli_usage("--role is required");
    if (!from_stdin)
        return cli_usage("--password-stdin is required (passwords never go on the command line)");
    char password[ACCOUNT_PASSWORD_MAX + 2];
    int rc = read_password(password, sizeof(password));
    if (rc == 0)
        rc = cli_open(c, true);
    if (rc == 0) {
        struct yj_err err = {0};
        if (account_create(&c->ctx, argv[optind], role, unit, person, password, false, NULL, &err) < 0)
            rc = cli_fail(err.code, err.msg);
        else if (c->json)
            cli_print_json(json_pack("{s:s, s:s, s:o, s:o}", "name", argv[optind], "role", role, "unit",
                                     unit ? json_string(unit) : json_null(), "person",
                                     person ? json_string(person) : json_null()));
        else
            printf("user %s added (%s%s%s)\n", argv[optind], role, unit ? ", " : "", unit ? unit : "");
    }
    sodium_memzero(password, sizeof(password));
    return rc;
}

static int passwd(struct cli *c, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[2], "--password-stdin") != 0)
        return cli_usage("usage: yingji user passwd NAME --password-stdin");
    char password[ACCOUNT_PASSWORD_MAX + 2];
    int rc = read_password(password, sizeof(password));
    if (rc == 0)
        rc = cli_open(c, true);
    if (rc == 0) {
        struct yj_err err = {0};
        if (account_set_password(&c->ctx, argv[1], password, false, &err) < 0)
            rc = cli_fail(err.code, err.msg);
        else if (!c->json)
            printf("password of %s changed; its sessions have ended\n", argv[1]);
        else
            cli_print_json(json_pack("{s:s, s:b}", "name", argv[1], "changed", 1));
    }
    sodium_memzero(password, sizeof(password));
    return rc;
}

static int print_user(const struct store_user *u, void *ud)
{
    json_t *items = ud;
    if (items)
        json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:o, s:o, s:b}", "id", (json_int_t)u->id, "name",
                                               u->name, "role", u->role, "unit",
                                               u->unit ? json_string(u->unit) : json_null(), "person",
                                               u->person ? json_string(u->person) : json_null(), "disabled",
                                               (int)u->disabled));
    else
        printf("%-20s %-10s %-16s %-16s %s\n", u->name, u->role, u->unit ? u->unit : "-", u->person ? u->person : "-",
               u->disabled ? "disabled" : "");
    return 0;
}

int cli_user(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(user_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return add(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "passwd") == 0)
        return passwd(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0) {
        int rc = cli_open(c, true);
        if (rc)
            return rc;
        struct yj_err err = {0};
        json_t *items = c->json ? json_array() : NULL;
        if (store_user_list(c->store, print_user, items, &err) < 0) {
            json_decref(items);
            return cli_fail(err.code, err.msg);
        }
        if (items)
            cli_print_json(json_pack("{s:o}", "items", items));
        return 0;
    }
    return cli_usage("unknown user command \"%s\" (add, passwd, list)", argv[1]);
}
