/* cli_webguard.c: `yingji webguard check URL` — a one-shot check of one page (hidden links,
 * injected scripts, tamper against a baseline, prohibited words), for trying a page before it goes
 * into the config. Exit 0 when nothing was found, 1 with findings, 2 for a bad command or a page
 * that cannot be fetched. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/fileio.h"
#include "../base/selector.h"
#include "../sources/probe.h"
#include "../sources/webguard.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

static const char webguard_usage[] =
    "usage: yingji webguard check URL [--baseline FILE] [--dynamic SELECTOR]... [--words DIR] [--ca FILE]\n"
    "                              [--json]\n"
    "\n"
    "Fetches the page and reports: links to outside sites that are hidden (暗链), scripts or frames\n"
    "that are not in the baseline (or hidden frames), text changed against the baseline (a saved\n"
    "copy of the page, FILE), and words of the prohibited lists (built in, or the *.txt of DIR).\n"
    "--dynamic leaves a region out of the comparison with the baseline, as `dynamic:` of a site in\n"
    "the config does: XPath (//div[@class='date']) or #id, .class, tag, tag#id, tag.class.\n"
    "With --json: {\"url\", \"findings\": [{\"kind\": tamper|hidden_link|injected_script|prohibited,\n"
    "\"detail\", \"category\", \"evidence\"}]}. Exit 0 clean, 1 findings, 2 bad command or unreachable.\n";

int cli_webguard(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"baseline", required_argument, NULL, 'b'},
                                         {"words", required_argument, NULL, 'w'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"dynamic", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(webguard_usage, stdout);
        return 0;
    }
    const char *baseline_path = NULL, *words_dir = NULL, *ca = NULL;
    const char *regions[32];
    size_t n_regions = 0;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'b')
            baseline_path = optarg;
        else if (ch == 'w')
            words_dir = optarg;
        else if (ch == 'c')
            ca = optarg;
        else if (ch == 'd' && n_regions < YJ_ARRAY_LEN(regions)) {
            char xp[512];
            if (yj_selector_xpath(optarg, xp, sizeof(xp)) < 0)
                return cli_usage("webguard: --dynamic \"%s\" is neither XPath that compiles nor a selector #id, .class, "
                                 "tag, tag#id or tag.class",
                                 optarg);
            regions[n_regions++] = optarg;
        }
        else if (ch == 'd')
            return cli_usage("webguard: at most %zu --dynamic regions", YJ_ARRAY_LEN(regions));
        else
            return cli_usage("webguard: unknown or incomplete option %s", argv[optind - 1]);
    }
    if (argc - optind != 2 || strcmp(argv[optind], "check") != 0)
        return cli_usage("usage: yingji webguard check URL [--baseline FILE] [--dynamic SELECTOR]... [--json]");
    const char *url = argv[optind + 1];
    size_t blen = 0;
    char *baseline = NULL;
    if (baseline_path && !(baseline = yj_read_file(baseline_path, PROBE_BODY_MAX, &blen)))
        return cli_usage("webguard: cannot read the baseline %s: %s", baseline_path, strerror(errno));
    struct yj_err err = {0};
    struct webguard_words *words = NULL;
    if (webguard_words_load(words_dir, &words, &err) < 0) {
        free(baseline);
        return cli_fail(err.code, err.msg);
    }
    char *page = NULL, final[512], why[300];
    size_t len = 0;
    int rc = 0;
    if (probe_fetch(url, 15000, ca, NULL, &page, &len, final, sizeof(final), why, sizeof(why)) < 0) {
        fprintf(stderr, "yingji: %s: %s\n", url, why);
        rc = 2;
    } else {
        struct webguard_report r;
        if (webguard_check_regions(final, page, len, baseline, blen, words, regions, n_regions, &r, &err) < 0) {
            rc = cli_fail(err.code, err.msg);
        } else {
            if (c->json) {
                json_t *items = json_array();
                for (size_t i = 0; i < r.n; i++)
                    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s}", "kind", r.items[i].kind, "detail",
                                                           r.items[i].detail, "category", r.items[i].category,
                                                           "evidence", r.items[i].evidence));
                cli_print_json(json_pack("{s:s, s:o}", "url", url, "findings", items));
            } else if (r.n == 0) {
                printf("%s: nothing found\n", url);
            } else {
                for (size_t i = 0; i < r.n; i++)
                    printf("%-16s %-10s %s\n    %s\n", r.items[i].kind, r.items[i].category, r.items[i].detail,
                           r.items[i].evidence);
            }
            rc = r.n ? 1 : 0;
            webguard_report_release(&r);
        }
    }
    free(page);
    free(baseline);
    webguard_words_free(words);
    return rc;
}
