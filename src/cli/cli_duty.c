/* cli_duty.c: `yingji duty now` — who is on duty (值班) by the plan's roster, now or at --at. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../engine/duty.h"
#include "../plan/plan.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

static const char duty_usage[] = "usage: yingji duty now [--at TIME]\n"
                                 "\n"
                                 "Prints who is on duty by the plan's roster (rotations, holidays, overrides), now or\n"
                                 "at TIME (RFC 3339, e.g. 2026-11-22T20:00:00+08:00). With --json one object\n"
                                 "{\"at\", \"shifts\": [{\"rotation\", \"person\", \"name\", \"from\", \"to\", ...}]}.\n";

int cli_duty(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"at", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(duty_usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "now") != 0)
        return cli_usage("usage: yingji duty now [--at TIME]");
    int64_t at = yj_now_ms();
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
        struct yj_err err;
        if (ch == 'a') {
            if (yj_time_parse(optarg, &at, &err) < 0)
                return cli_fail(YJ_EINVAL, err.msg);
        } else {
            return cli_usage("duty now: unknown option %s", argv[optind]);
        }
    }
    if (optind < argc - 1)
        return cli_usage("duty now: unexpected argument \"%s\"", argv[optind + 1]);
    int rc = cli_open(c, false);
    if (rc)
        return rc;
    json_t *j = duty_json(c->plan, at);
    if (c->json) {
        cli_print_json(j);
        return 0;
    }
    json_t *shifts = json_object_get(j, "shifts");
    char when[64];
    yj_time_local(at, when, sizeof(when));
    if (json_array_size(shifts) == 0)
        printf("%s: nobody is on duty (the plan has no roster, or no rotation has started)\n", when);
    else
        printf("值班 on duty at %s\n", when);
    for (size_t i = 0; i < json_array_size(shifts); i++) {
        json_t *s = json_array_get(shifts, i);
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *rot = json_string_value(json_object_get(s, "rotation_name"));
        const char *phone = json_string_value(json_object_get(s, "mobile"));
        if (!phone)
            phone = json_string_value(json_object_get(s, "phone"));
        printf("  ");
        cli_print_padded(rot ? rot : json_string_value(json_object_get(s, "rotation")), 18);
        printf("%s (%s)%s%s%s%s\n", name ? name : "", json_string_value(json_object_get(s, "person")),
               phone ? "  " : "", phone ? phone : "", json_is_true(json_object_get(s, "holiday")) ? "  节假日" : "",
               json_is_true(json_object_get(s, "overridden")) ? "  调班" : "");
    }
    json_decref(j);
    return 0;
}
