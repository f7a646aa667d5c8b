/* cli_notify.c: `yingji notify test CHANNEL_ID` — sends a test message through one channel of the
 * deployment config, so an operator knows it works before an incident depends on it. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../outputs/channels.h"
#include "../outputs/notify.h"
#include "../plan/config.h"
#include "../plan/plan.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <unistd.h>

static const char notify_usage[] =
    "usage: yingji [--config FILE] notify test CHANNEL_ID [--to PERSON]\n"
    "\n"
    "Sends a test message through the channel CHANNEL_ID of the config's `channels:` or made in the\n"
    "console (通知通道). With --to, the\n"
    "message is addressed to that person of the plan (mentioned by mobile in group robots). Exits 0\n"
    "when the channel took it, 1 with the reason when delivery failed, 2 for a bad command.\n";

int cli_notify(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"to", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(notify_usage, stdout);
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "test") != 0)
        return cli_usage("usage: yingji notify test CHANNEL_ID [--to PERSON]");
    const char *to = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
        if (ch == 't')
            to = optarg;
        else
            return cli_usage("notify test: unknown or incomplete option %s", argv[optind]);
    }
    if (optind != argc - 2)
        return cli_usage("usage: yingji notify test CHANNEL_ID [--to PERSON]");
    const char *id = argv[optind + 1];
    /* With a store: the channels made in the console count, and so do the phone numbers and
     * addresses an admin gave there. */
    bool have_store = strncmp(c->store_url, "sqlite:", 7) != 0 || access(c->store_url + 7, F_OK) == 0;
    int rc = cli_open(c, have_store);
    if (rc)
        return rc;
    struct channel_set set = {0};
    struct yj_err lerr = {0};
    if (have_store && channels_load(&c->cfg, c->store, &set, &lerr) < 0)
        return cli_fail(lerr.code, lerr.msg);
    const struct config_channel *channel = NULL;
    for (size_t i = 0; i < set.n; i++)
        if (strcmp(set.all[i].id, id) == 0)
            channel = &set.all[i];
    for (size_t i = 0; !have_store && i < c->cfg.n_channels; i++)
        if (strcmp(c->cfg.channels[i].id, id) == 0)
            channel = &c->cfg.channels[i];
    if (!channel) {
        channels_release(&set);
        return cli_usage("no channel \"%s\" in %s or made in the console", id,
                         c->config_path ? c->config_path : "the config (give --config)");
    }
    struct notify_recipient who = {.id = "test"};
    if (to) {
        const struct plan_person *p = plan_person(c->plan, to);
        if (!p) {
            channels_release(&set);
            return cli_usage("--to: no person \"%s\" in the plan", to);
        }
        who = (struct notify_recipient){.id = to, .name = p->name, .mobile = p->contacts.mobile,
                                        .email = p->contacts.email};
    }
    char key[48], when[32];
    unsigned char nonce[8];
    randombytes_buf(nonce, sizeof(nonce));
    snprintf(key, sizeof(key), "test:");
    sodium_bin2hex(key + 5, sizeof(key) - 5, nonce, sizeof(nonce));
    int64_t now = yj_now_ms();
    yj_time_local(now, when, sizeof(when));
    char *body = xasprintf("这是应急系统（Yingji）通过通道 %s 发出的测试消息，发送时间 %s。收到即说明通道可用，无需处理。",
                           id, when);
    struct notify_message m = {.key = key, .subject = "【应急】通道测试", .body = body, .created_at = now, .to = who};
    struct yj_err err = {0};
    rc = notify_send(channel, &m, &err);
    channels_release(&set);
    free(body);
    if (c->json)
        cli_print_json(json_pack("{s:s, s:b, s:s?}", "channel", id, "delivered", rc == 0, "error",
                                 rc == 0 ? NULL : err.msg));
    if (rc < 0) {
        fprintf(stderr, "yingji: channel %s: %s\n", id, err.msg);
        return rc == YJ_EINVAL ? 2 : 1;
    }
    if (!c->json)
        printf("channel %s: delivered\n", id);
    return 0;
}
