/* cli_block.c: `yingji block list` and `yingji block release ADDRESS` — the addresses the built-in
 * block_ip action holds in nftables, and unblocking one before its time (audited). */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../outputs/act.h"
#include "../store/store.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

static const char block_usage[] =
    "usage: yingji [--config FILE] block list [--all] [--json]\n"
    "       yingji [--config FILE] block release ADDRESS [--note TEXT]\n"
    "\n"
    "list: the addresses blocked by the block_ip action (with --all also those released or expired).\n"
    "release: unblocks ADDRESS now: it leaves the nftables set of the config's block_ip action, and\n"
    "the incident's timeline and the audit log record who released it and why.\n";

static int block_list(struct cli *c, bool all)
{
    static struct store_block bs[ACT_RESTORE_MAX];
    size_t n = 0;
    struct yj_err err = {0};
    if (store_block_list(c->store, !all, bs, YJ_ARRAY_LEN(bs), &n, &err) < 0)
        return cli_fail(err.code, err.msg);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_block *b = &bs[i];
        char at[32], until[32], rel[32] = "";
        yj_time_local(b->blocked_at, at, sizeof(at));
        yj_time_local(b->expires_at, until, sizeof(until));
        if (b->released_at)
            yj_time_local(b->released_at, rel, sizeof(rel));
        if (c->json) {
            json_array_append_new(items, act_block_json(b));
        } else {
            printf("%-40s %-20s %s → %s", b->address, b->incident, at, until);
            if (b->released_at)
                printf("  %s %s (%s)", b->release_reason, rel, b->released_by);
            putchar('\n');
        }
    }
    if (c->json)
        cli_print_json(json_pack("{s:o}", "items", items));
    else {
        json_decref(items);
        if (n == 0)
            printf("no address is blocked\n");
    }
    return 0;
}

int cli_block(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'}, {"note", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(block_usage, stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "release") != 0))
        return cli_usage("usage: yingji block list [--all] | block release ADDRESS [--note TEXT]");
    bool all = false;
    const char *note = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
        if (ch == 'a')
            all = true;
        else if (ch == 'n')
            note = optarg;
        else
            return cli_usage("block: unknown or incomplete option %s", argv[optind]);
    }
    bool release = strcmp(argv[1], "release") == 0;
    if (optind != argc - 1 - release)
        return cli_usage("usage: yingji block list [--all] | block release ADDRESS [--note TEXT]");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    if (!release)
        return block_list(c, all);
    const char *address = argv[optind + 1];
    struct yj_err err = {0};
    if (act_release_block(&c->ctx, c->cfg.actions, c->cfg.n_actions, address, note, &err) < 0)
        return cli_fail(err.code, err.msg);
    if (c->json)
        cli_print_json(json_pack("{s:s, s:b}", "address", address, "released", 1));
    else
        printf("%s released\n", address);
    return 0;
}
