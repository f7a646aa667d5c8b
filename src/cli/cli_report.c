/* cli_report.c: `yingji report upward ID` — the upward report of an incident (Markdown). */
#include "../base/common.h"
#include "../engine/incident.h"
#include "../report/upward.h"
#include "../store/store.h"
#include "cli.h"

#include <jansson.h>

static const char report_usage[] = "usage: yingji report upward ID\n"
                                   "\n"
                                   "Prints the incident's upward report (向上级报告) as Markdown: the eight items of\n"
                                   "网络安全事件报告管理办法, with what is not known yet marked 待补报. With --json:\n"
                                   "{\"incident\", \"markdown\"}.\n";

int cli_report(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(report_usage, stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "upward") != 0)
        return cli_usage("usage: yingji report upward ID");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_find(&c->ctx, argv[2], &inc, &err) < 0)
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
