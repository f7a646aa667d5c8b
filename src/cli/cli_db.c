/* cli_db.c: `yingji db migrate`, `yingji db backup PATH` and `yingji audit verify`. */
#include "../base/common.h"
#include "../engine/audit.h"
#include "../store/store.h"
#include "cli.h"

#include <jansson.h>

static const char db_usage[] = "usage: yingji db migrate\n"
                               "       yingji db backup PATH\n"
                               "\n"
                               "migrate  applies pending migrations to the store in the data directory\n"
                               "backup   writes a consistent copy of the store to PATH (never overwrites),\n"
                               "         safe while the server or other commands are using the store\n";

static int audit_record(struct cli *c, const char *action, json_t *detail)
{
    struct yj_err err = {0};
    char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    int rc = store_begin(c->store, &err);
    if (rc == 0)
        rc = audit_append(c->store, yj_ctx_now(&c->ctx), c->actor, action, store_path(c->store), d, &err);
    if (rc == 0)
        rc = store_commit(c->store, &err);
    else
        store_rollback(c->store);
    free(d);
    return rc < 0 ? cli_fail(rc, err.msg) : 0;
}

int cli_db(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(db_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct yj_err err = {0};
    const char *sub = argv[1];
    if (strcmp(sub, "migrate") == 0) {
        if (argc != 2)
            return cli_usage("usage: yingji db migrate");
        int rc = cli_open(c, false);
        if (rc)
            return rc;
        if (store_open(c->data_dir, &c->store, &err) < 0)
            return cli_fail(err.code, err.msg);
        c->ctx.store = c->store;
        int applied = 0, current = 0, latest = 0;
        if (store_migrate(c->store, &applied, &err) < 0 ||
            store_schema_version(c->store, &current, &latest, &err) < 0)
            return cli_fail(err.code, err.msg);
        if (applied && (rc = audit_record(c, "db.migrate", json_pack("{s:i, s:i}", "applied", applied, "version",
                                                                       current))) != 0)
            return rc;
        if (c->json)
            cli_print_json(json_pack("{s:i, s:i, s:s}", "version", current, "applied", applied, "store",
                                     store_path(c->store)));
        else
            printf("%s: schema version %d (%d migration%s applied)\n", store_path(c->store), current, applied,
                   applied == 1 ? "" : "s");
        return 0;
    }
    if (strcmp(sub, "backup") == 0) {
        if (argc != 3)
            return cli_usage("usage: yingji db backup PATH");
        int rc = cli_open(c, true);
        if (rc)
            return rc;
        if (store_backup(c->store, argv[2], &err) < 0)
            return cli_fail(err.code, err.msg);
        if ((rc = audit_record(c, "db.backup", json_pack("{s:s}", "path", argv[2]))) != 0)
            return rc;
        if (c->json)
            cli_print_json(json_pack("{s:s, s:b}", "backup", argv[2], "ok", 1));
        else
            printf("backup written to %s\n", argv[2]);
        return 0;
    }
    return cli_usage("unknown db command \"%s\" (migrate, backup)", sub);
}

int cli_audit(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs("usage: yingji audit verify\n\nChecks the hash chain of the audit log: exits 0 when intact, 1 naming "
              "the first bad row.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "verify") != 0 || argc != 2)
        return cli_usage("usage: yingji audit verify");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct audit_result res;
    struct yj_err err = {0};
    if (audit_verify(c->store, &res, &err) < 0)
        return cli_fail(err.code, err.msg);
    if (c->json)
        cli_print_json(json_pack("{s:b, s:I, s:o, s:o, s:o}", "ok", res.bad_id == 0, "rows", (json_int_t)res.rows,
                                 "bad_row", res.bad_id ? json_integer(res.bad_id) : json_null(), "reason",
                                 res.bad_id ? json_string(res.reason) : json_null(), "head",
                                 res.bad_id ? json_null() : json_string(res.head_hash)));
    if (res.bad_id) {
        fprintf(stderr, "yingji: audit chain broken at row %lld: %s\n", (long long)res.bad_id, res.reason);
        return 1;
    }
    if (!c->json)
        printf("audit chain intact: %lld rows, head %s\n", (long long)res.rows, res.rows ? res.head_hash : "(empty)");
    return 0;
}
