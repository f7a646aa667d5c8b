/* cli_probe.c: `yingji probe URL-or-HOST:PORT` — a one-shot availability check, for trying a
 * target before it goes into the config's monitors. Exit 0 when up, 1 when down (saying why). */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../sources/probe.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

static const char probe_usage[] =
    "usage: yingji probe URL-or-HOST:PORT [--timeout DURATION] [--keyword TEXT] [--absent TEXT]\n"
    "                    [--ca FILE] [--cert-days N] [--expect ADDRESS]... [--json]\n"
    "\n"
    "Checks once whether a web page (http:// or https://: the status after redirects, the keyword\n"
    "present or absent, the TLS certificate's end), a TCP port (HOST:PORT: the connection), a host\n"
    "(icmp:HOST: an echo reply) or a name (dns:NAME: it resolves, to exactly the --expect addresses\n"
    "when given) is up.\n"
    "Exit 0 when up (a certificate ending within --cert-days, default 14, is reported as a warning),\n"
    "1 when down with the reason, 2 for a bad command.\n";

int cli_probe(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
                                         {"keyword", required_argument, NULL, 'k'},
                                         {"absent", required_argument, NULL, 'a'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"cert-days", required_argument, NULL, 'd'},
                                         {"expect", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(probe_usage, stdout);
        return 0;
    }
    struct probe_target t = {0};
    const char *expect[32];
    size_t n_expect = 0;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        struct yj_err err;
        char *end;
        switch (ch) {
        case 't':
            if (yj_duration_parse(optarg, &t.timeout_ms, &err) < 0 || t.timeout_ms < 100 || t.timeout_ms > 600000)
                return cli_usage("probe: --timeout must be a duration from 100ms to 10m");
            break;
        case 'k':
            t.keyword = optarg;
            break;
        case 'a':
            t.absent = optarg;
            break;
        case 'c':
            t.ca_file = optarg;
            break;
        case 'd':
            t.cert_warn_days = (int)strtol(optarg, &end, 10);
            if (*end || t.cert_warn_days < 1 || t.cert_warn_days > 365)
                return cli_usage("probe: --cert-days must be a number from 1 to 365");
            break;
        case 'e':
            if (n_expect == YJ_ARRAY_LEN(expect))
                return cli_usage("probe: at most %zu --expect addresses", YJ_ARRAY_LEN(expect));
            expect[n_expect++] = optarg;
            break;
        default:
            return cli_usage("probe: unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage("usage: yingji probe URL-or-HOST:PORT [--json]");
    t.target = argv[optind];
    t.expect = expect;
    t.n_expect = n_expect;
    if (n_expect && strncmp(t.target, "dns:", 4) != 0)
        return cli_usage("probe: --expect is for dns:NAME targets");
    struct probe_result r;
    if (probe_run(&t, &r) < 0)
        return cli_usage("probe: %s", r.reason);
    if (c->json) {
        json_t *o = json_pack("{s:s, s:s, s:b, s:s?, s:I}", "target", t.target, "kind", r.kind, "up", r.up, "reason",
                              r.reason[0] ? r.reason : NULL, "response_ms", (json_int_t)r.elapsed_ms);
        if (strcmp(r.kind, "dns") == 0) {
            json_t *answers = json_array();
            for (char *save = NULL, *a = strtok_r(r.final_url, " ", &save); a; a = strtok_r(NULL, " ", &save))
                json_array_append_new(answers, json_string(a));
            json_object_set_new(o, "answers", answers);
        }
        if (strcmp(r.kind, "http") == 0) {
            json_object_set_new(o, "status", r.status ? json_integer(r.status) : json_null());
            json_object_set_new(o, "redirects", json_integer(r.redirects));
            json_object_set_new(o, "final_url", r.final_url[0] ? json_string(r.final_url) : json_null());
            json_object_set_new(o, "certificate", r.cert_expires_at
                                                      ? json_pack("{s:o, s:I}", "expires_at",
                                                                  yj_json_time(r.cert_expires_at), "days_left",
                                                                  (json_int_t)r.cert_days_left)
                                                      : json_null());
        }
        cli_print_json(o);
    } else if (r.up) {
        printf("%s is up (%s", t.target, r.kind);
        if (r.status)
            printf(", HTTP %ld", r.status);
        printf(", %lld ms", (long long)r.elapsed_ms);
        if (r.redirects)
            printf(", %ld redirects to %s", r.redirects, r.final_url);
        if (strcmp(r.kind, "dns") == 0)
            printf(", %s", r.final_url);
        if (r.cert_expires_at) {
            char when[32];
            yj_time_local(r.cert_expires_at, when, sizeof(when));
            printf(", certificate until %s", when);
        }
        printf(")%s%s\n", r.reason[0] ? "; warning: " : "", r.reason);
    } else {
        fprintf(stderr, "yingji: %s is down: %s\n", t.target, r.reason);
    }
    return r.up ? 0 : 1;
}
