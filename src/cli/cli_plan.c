/* cli_plan.c: `yingji plan check FILE` and `yingji plan show [FILE]`. Read-only. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../plan/plan_json.h"
#include "cli.h"

#include <jansson.h>

static const char plan_usage[] = "usage: yingji plan check FILE\n"
                                 "       yingji plan show [FILE] [--json]\n"
                                 "\n"
                                 "check  validates FILE and prints every error as FILE:LINE:COLUMN: message\n"
                                 "show   prints the organisation, levels, types and duties of the plan in force\n"
                                 "FILE may be builtin:university or builtin:county-bureau.\n";

static int check(struct cli *c, const char *file)
{
    struct plan *p = NULL;
    struct plan_diags diags = {0};
    struct yj_err err = {0};
    if (plan_load(file, &p, &diags, &err) < 0) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.lines[i]);
        if (!diags.n)
            fprintf(stderr, "yingji: %s\n", err.msg);
        if (c->json) {
            json_t *errors = json_array();
            for (size_t i = 0; i < diags.n; i++)
                json_array_append_new(errors, json_string(diags.lines[i]));
            if (!diags.n)
                json_array_append_new(errors, json_string(err.msg));
            cli_print_json(json_pack("{s:b, s:s, s:o}", "ok", 0, "file", file, "errors", errors));
        }
        plan_diags_release(&diags);
        return yj_err_exit_status(err.code);
    }
    if (c->json)
        cli_print_json(json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I}", "ok", 1, "file", file, "id", p->meta.id,
                                 "units", (json_int_t)p->n_units, "types", (json_int_t)p->n_types, "levels",
                                 (json_int_t)p->n_levels, "duties", (json_int_t)p->n_duties));
    else
        printf("%s: ok — %s: %zu units, %zu people, %zu groups, %zu types, %zu levels, %zu duties\n", file,
               p->meta.name, p->n_units, p->n_people, p->n_groups, p->n_types, p->n_levels, p->n_duties);
    plan_free(p);
    return 0;
}

static const char *unit_name(const struct plan *p, const char *id)
{
    const struct plan_unit *u = plan_unit(p, id);
    return u ? u->name : id;
}

static void show_text(const struct plan *p)
{
    printf("%s\n", p->meta.name);
    if (p->meta.version)
        printf("  版本 version: %s\n", p->meta.version);
    printf("  时区 timezone: %s   上报时限类别 operator type: %s\n\n", p->meta.timezone, p->meta.operator_type);
    printf("组织 Organisation\n");
    for (size_t i = 0; i < p->n_groups; i++) {
        const struct plan_group *g = &p->groups[i];
        printf("  [%s] %s (%s)\n", g->id, g->name, g->kind);
        for (size_t k = 0; k < g->n_leaders; k++) {
            const struct plan_person *x = plan_person(p, g->leaders[k]);
            printf("      组长 leader: %s%s%s\n", x->name, x->title ? " " : "", x->title ? x->title : "");
        }
        for (size_t k = 0; k < g->n_deputies; k++)
            printf("      副组长 deputy: %s\n", plan_person(p, g->deputies[k])->name);
        if (g->n_member_units) {
            printf("      成员单位 units:");
            for (size_t k = 0; k < g->n_member_units; k++)
                printf(" %s", unit_name(p, g->member_units[k]));
            printf("\n");
        }
        if (g->duties)
            printf("      职责 duties: %s\n", g->duties);
    }
    printf("\n单位 Units (%zu)\n", p->n_units);
    for (size_t i = 0; i < p->n_units; i++)
        printf("  %-20s %s\n", p->units[i].id, p->units[i].name);
    printf("\n级别 Levels\n");
    for (size_t i = 0; i < p->n_levels; i++) {
        const struct plan_level *l = &p->levels[i];
        char a[32], u[32] = "-";
        yj_duration_format(l->deadlines.assessment, a, sizeof(a));
        int64_t up = plan_upward_deadline(p, l);
        if (up >= 0)
            yj_duration_format(up, u, sizeof(u));
        printf("  %-18s %s → 国家 %s %s (%s)  研判 %s  上报上级 %s%s\n", l->id, l->name, l->national,
               plan_national_name(l->national_level), plan_national_color(l->national_level), a, u,
               l->activation ? "  需启动预案" : "");
    }
    printf("\n事件类型 Types\n");
    for (size_t i = 0; i < p->n_types; i++) {
        const struct plan_type *t = &p->types[i];
        const struct gbt_category *cat = NULL;
        const struct gbt_subcategory *sub = plan_gbt(p, t->gbt, &cat);
        printf("  %-20s %s\n      类别 %s · 责任单位 %s · GB/T 20986 %s/%s · %zu 步处置\n", t->id, t->name,
               plan_class(p, t->class_id)->name, unit_name(p, t->owner), cat->name, sub->name, t->n_steps);
    }
    if (p->n_duties) {
        printf("\n常态工作 Recurring duties\n");
        for (size_t i = 0; i < p->n_duties; i++) {
            const struct plan_duty *d = &p->duties[i];
            printf("  %-22s %-8s %s%s%s  (%s)\n", d->id, d->every, d->at ? d->at : "", d->at ? " " : "", d->title,
                   unit_name(p, d->owner_unit));
        }
    }
    if (p->n_contacts) {
        printf("\n外部联系 Contacts\n");
        for (size_t i = 0; i < p->n_contacts; i++)
            printf("  %-18s %s (%s)%s%s\n", p->contacts[i].id, p->contacts[i].name, p->contacts[i].kind,
                   p->contacts[i].phone ? " " : "", p->contacts[i].phone ? p->contacts[i].phone : "");
    }
}

int cli_plan(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(plan_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "check") == 0) {
        if (argc != 3)
            return cli_usage("usage: yingji plan check FILE");
        return check(c, argv[2]);
    }
    if (strcmp(sub, "show") == 0) {
        if (argc > 3)
            return cli_usage("usage: yingji plan show [FILE]");
        if (argc == 3)
            c->plan_path = argv[2];
        int rc = cli_open(c, false);
        if (rc)
            return rc;
        if (c->json)
            cli_print_json(plan_json(c->plan));
        else
            show_text(c->plan);
        return 0;
    }
    return cli_usage("unknown plan command \"%s\" (check, show)", sub);
}
