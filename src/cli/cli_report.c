/* cli_report.c: `yingji report upward ID` — the upward report of an incident (Markdown) — and
 * `--submitted`: recording that it (or a 补报) went to the authority. */
#include "../base/common.h"
#include "../engine/incident.h"
#include "../report/upward.h"
#include "../store/store.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

static const char report_usage[] =
    "usage: yingji report upward ID [--submitted [--to RECIPIENT]]\n"
    "\n"
    "Prints the incident's upward report (向上级报告) as Markdown: the eight items of\n"
    "网络安全事件报告管理办法, with what is not known yet marked 待补报. With --json:\n"
    "{\"incident\", \"markdown\"}.\n"
    "\n"
    "--submitted records that the report went to RECIPIENT (e.g. 市委网信办): the first time it meets\n"
    "the upward-report deadline, later times the 补报 deadline; while items are still missing a 补报\n"
    "deadline is set. Prints the items still missing. With --json: {\"incident\", \"round\", \"to\",\n"
    "\"missing\", \"supplement_due_at\"}.\n";

static int submitted(struct cli *c, const char *ref, const char *to)
{
    struct yj_err err = {0};
    void *out = NULL;
    if (report_upward_submit(&c->ctx, ref, to, &out, &err) < 0)
        return cli_fail(err.code, err.msg);
    json_t *r = out;
    if (c->json) {
        cli_print_json(r);
        return 0;
    }
    printf("%s: %s recorded%s%s\n", json_string_value(json_object_get(r, "incident")),
           strcmp(json_string_value(json_object_get(r, "round")), "report") == 0 ? "upward report" : "补报",
           to ? " to " : "", to ? to : "");
    json_t *missing = json_object_get(r, "missing");
    if (json_array_size(missing)) {
        printf("still to be supplemented (待补报), due %s:\n",
               json_string_value(json_object_get(r, "supplement_due_at")));
        for (size_t i = 0; i < json_array_size(missing); i++)
            printf("  - %s\n", json_string_value(json_array_get(missing, i)));
    }
    json_decref(r);
    return 0;
}

int cli_report(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"submitted", no_argument, NULL, 's'}, {"to", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(report_usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "upward") != 0)
        return cli_usage("usage: yingji report upward ID [--submitted [--to RECIPIENT]]");
    bool submit = false;
    const char *to = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
        if (ch == 's')
            submit = true;
        else if (ch == 't')
            to = optarg;
        else
            return cli_usage("report upward: unknown or incomplete option %s", argv[optind]);
    }
    if (optind != argc - 2 || (to && !submit))
        return cli_usage("usage: yingji report upward ID [--submitted [--to RECIPIENT]]");
    const char *ref = argv[optind + 1];
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    if (submit)
        return submitted(c, ref, to);
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_find(&c->ctx, ref, &inc, &err) < 0)
        return cli_fail(err.code, err.msg);
    char *md = report_upward_markdown(&c->ctx, &inc);
    if (c->json)
        cli_print_json(json_pack("{s:s, s:s}", "incident", inc.number, "markdown", md));
    else
        fputs(md, stdout);
    free(md);
    store_incident_release(&inc);
    return 0;
}
