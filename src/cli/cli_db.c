/* cli_db.c: `yingji db migrate`, `yingji db backup PATH`, `yingji db copy --to URL` and
 * `yingji audit verify`. */
#include "../base/common.h"
#include "../base/dirlock.h"
#include "../base/timeutil.h"
#include "../engine/audit.h"
#include "../store/store.h"
#include "cli.h"

#include <jansson.h>

static const char db_usage[] = "usage: yingji db migrate\n"
                               "       yingji db backup PATH\n"
                               "       yingji db copy --to URL\n"
                               "\n"
                               "migrate  applies pending migrations to the store (--store, the config's store:, else\n"
                               "         the SQLite file in the data directory), SQLite or PostgreSQL\n"
                               "copy     copies the whole store into a new, empty one at URL (postgresql://... or\n"
                               "         sqlite:PATH): incidents, timeline, audit chain, signals, outbox, accounts,\n"
                               "         baselines. Stop the server first (the data directory is locked meanwhile);\n"
                               "         the copy's audit chain is verified with the data directory's key. The\n"
                               "         target's password comes from PGPASSWORD or ~/.pgpass\n"
                               "backup   writes a consistent copy of the store to PATH (never overwrites),\n"
                               "         safe while the server or other commands are using the store, and the\n"
                               "         audit chain's signed head beside it as PATH.checkpoint\n";

static const char audit_usage[] =
    "usage: yingji audit verify [--key FILE] [--checkpoint FILE]...\n"
    "       yingji audit checkpoint [--to FILE]\n"
    "\n"
    "verify      checks the audit record as a whole: the hash chain, the head's signature (with the\n"
    "            key, default DATA/audit.key or the config's audit.key; a public key file will do),\n"
    "            every incident's rows against the state its last audit row recorded, and every\n"
    "            checkpoint (the config's audit.checkpoints file, default DATA/audit.checkpoints,\n"
    "            and each --checkpoint FILE: a backup's PATH.checkpoint, the daily message's line).\n"
    "            Exits 0 when intact, 1 naming the first bad row.\n"
    "checkpoint  prints the signed head as one JSON line and appends it to FILE (default the\n"
    "            checkpoints file): keep copies where the store's administrators cannot write.\n";

static int audit_record(struct cli *c, const char *action, json_t *detail)
{
    struct yj_err err = {0};
    char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    int rc = store_begin(c->store, &err);
    if (rc == 0)
        rc = audit_append(c->store, yj_ctx_now(&c->ctx), c->actor, action, store_path(c->store), d, 0, &err);
    if (rc == 0)
        rc = store_commit(c->store, &err);
    else
        store_rollback(c->store);
    free(d);
    return rc < 0 ? cli_fail(rc, err.msg) : 0;
}

static void copy_progress(const char *table, int64_t rows, void *ud)
{
    struct cli *c = ud;
    if (!c->json && rows)
        printf("  %-20s %lld\n", table, (long long)rows);
}

static int db_copy(struct cli *c, int argc, char **argv)
{
    const char *to = NULL;
    if (argc == 4 && strcmp(argv[2], "--to") == 0)
        to = argv[3];
    else if (argc == 3 && strncmp(argv[2], "--to=", 5) == 0)
        to = argv[2] + 5;
    if (!to || !*to)
        return cli_usage("usage: yingji db copy --to URL");
    /* No server may write while the copy reads: it holds the data directory. */
    struct dirlock *lock = NULL;
    struct yj_err err = {0};
    int rc = dirlock_take(c->data_dir, "yingji db copy", &lock, &err);
    if (rc < 0)
        return cli_fail(rc, err.msg);
    struct store *target = NULL;
    if ((rc = cli_open(c, true)) != 0)
        goto out;
    if (store_open(to, NULL, &target, &err) < 0 || store_migrate(target, NULL, &err) < 0) {
        rc = cli_fail(err.code, err.msg);
        goto out;
    }
    if (strcmp(store_path(target), store_path(c->store)) == 0) {
        rc = cli_usage("the copy's target is the store itself");
        goto out;
    }
    /* Refused copies leave no record: the checks come before the audit row. */
    if (store_copy_check(c->store, target, &err) < 0) {
        rc = cli_fail(err.code, err.msg);
        goto out;
    }
    /* Recorded in the source first, so the copy carries the row that says where it came from. */
    if ((rc = audit_record(c, "db.copy", json_pack("{s:s, s:s}", "to", store_path(target), "engine",
                                                   store_engine(target)))) != 0)
        goto out;
    int64_t t0 = yj_now_ms();
    if (!c->json)
        printf("copying %s (%s) to %s (%s)\n", store_path(c->store), store_engine(c->store), store_path(target),
               store_engine(target));
    if (store_copy(c->store, target, copy_progress, c, &err) < 0) {
        rc = cli_fail(err.code, err.msg);
        goto out;
    }
    struct audit_result res = {0};
    struct audit_verify_opts opts = {.key = c->audit_key, .states = true};
    if (audit_verify(target, &opts, &res, &err) < 0) {
        rc = cli_fail(err.code, err.msg);
        goto out;
    }
    int64_t ms = yj_now_ms() - t0;
    if (c->json)
        cli_print_json(json_pack("{s:s, s:s, s:b, s:I, s:I}", "to", store_path(target), "engine",
                                 store_engine(target), "audit_ok", res.bad_id == 0, "audit_rows", (json_int_t)res.rows,
                                 "ms", (json_int_t)ms));
    else if (res.bad_id == 0)
        printf("copied in %.1f s; the copy's audit chain verifies (%lld rows)\n", (double)ms / 1000.0,
               (long long)res.rows);
    if (res.bad_id != 0) {
        fprintf(stderr, "yingji: the copy's audit chain does not verify at row %lld: %s\n", (long long)res.bad_id,
                res.reason);
        rc = 1;
    }
out:
    store_free(target);
    dirlock_release(lock);
    return rc;
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
        if (store_open(c->store_url, c->cfg.store_password, &c->store, &err) < 0)
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
        /* The head as it stands after the backup's own row: a restore of this copy must still
         * hold it, and a store that no longer does was rolled back or rewritten. */
        struct audit_checkpoint cp;
        char *beside = xasprintf("%s.checkpoint", argv[2]);
        if (audit_checkpoint_take(c->store, yj_ctx_now(&c->ctx), &cp, &err) < 0 ||
            audit_checkpoint_append(beside, &cp, &err) < 0) {
            free(beside);
            return cli_fail(err.code, err.msg);
        }
        free(beside);
        if (c->json)
            cli_print_json(json_pack("{s:s, s:b}", "backup", argv[2], "ok", 1));
        else
            printf("backup written to %s\n", argv[2]);
        return 0;
    }
    if (strcmp(sub, "copy") == 0)
        return db_copy(c, argc, argv);
    return cli_usage("unknown db command \"%s\" (migrate, backup, copy)", sub);
}

static int audit_checkpoint_cmd(struct cli *c, int argc, char **argv)
{
    const char *to = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else
            return cli_usage("usage: yingji audit checkpoint [--to FILE]");
    }
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct audit_checkpoint cp;
    struct yj_err err = {0};
    char *path = to ? xstrdup(to) : audit_checkpoints_path(c->data_dir, c->cfg.audit.checkpoints);
    if (audit_checkpoint_take(c->store, yj_ctx_now(&c->ctx), &cp, &err) < 0 ||
        audit_checkpoint_append(path, &cp, &err) < 0) {
        free(path);
        return cli_fail(err.code, err.msg);
    }
    char *line = audit_checkpoint_json(&cp);
    puts(line);
    free(line);
    free(path);
    return 0;
}

int cli_audit(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(audit_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "checkpoint") == 0)
        return audit_checkpoint_cmd(c, argc, argv);
    if (strcmp(argv[1], "verify") != 0)
        return cli_usage("unknown audit command \"%s\" (verify, checkpoint)", argv[1]);
    const char *key_path = NULL;
    const char **extra = xcalloc((size_t)argc, sizeof(char *));
    size_t n_extra = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key_path = argv[++i];
        } else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) {
            extra[n_extra++] = argv[++i];
        } else {
            free(extra);
            return cli_usage("usage: yingji audit verify [--key FILE] [--checkpoint FILE]...");
        }
    }
    c->audit_key_optional = true;
    int rc = cli_open(c, true);
    struct yj_err err = {0};
    struct audit_key *given = NULL;
    struct audit_checkpoint *cps = NULL;
    size_t n_cps = 0;
    if (rc == 0 && key_path && audit_key_load(key_path, false, &given, NULL, &err) < 0)
        rc = cli_fail(err.code, err.msg);
    /* The checkpoints file, then each one given. */
    char *own = audit_checkpoints_path(c->data_dir, c->cfg.audit.checkpoints);
    for (size_t i = 0; rc == 0 && i <= n_extra; i++) {
        struct audit_checkpoint *more = NULL;
        size_t n_more = 0;
        if (audit_checkpoints_read(i == 0 ? own : extra[i - 1], &more, &n_more, &err) < 0) {
            rc = cli_fail(err.code, err.msg);
            break;
        }
        if (i > 0 && n_more == 0) {
            free(more);
            rc = cli_fail(YJ_EINVAL, "a checkpoint file given holds no checkpoint");
            break;
        }
        cps = xrealloc(cps, (n_cps + n_more + 1) * sizeof(*cps));
        if (n_more > 0) /* an empty file gives no array at all */
            memcpy(cps + n_cps, more, n_more * sizeof(*cps));
        n_cps += n_more;
        free(more);
    }
    free(own);
    free(extra);
    const struct audit_key *key = given ? given : c->audit_key;
    struct audit_result res = {0};
    struct audit_verify_opts opts = {.key = key, .checkpoints = cps, .n_checkpoints = n_cps, .states = true};
    if (rc == 0 && audit_verify(c->store, &opts, &res, &err) < 0)
        rc = cli_fail(err.code, err.msg);
    free(cps);
    audit_key_free(given);
    if (rc)
        return rc;
    /* Without a key the head's signature cannot be checked: that is a failure too, since a
     * chain recomputed after an edit would pass. */
    bool unsigned_ok = res.rows == 0 && res.bad_id == 0;
    if (c->json)
        cli_print_json(json_pack("{s:b, s:I, s:o, s:o, s:o, s:b, s:I, s:I, s:I}", "ok",
                                 res.bad_id == 0 && (res.signature_checked || unsigned_ok), "rows",
                                 (json_int_t)res.rows, "bad_row", res.bad_id ? json_integer(res.bad_id) : json_null(),
                                 "reason", res.bad_id ? json_string(res.reason) : json_null(), "head",
                                 res.bad_id ? json_null() : json_string(res.head_hash), "signed",
                                 res.signature_checked, "incidents", (json_int_t)res.incidents, "unbound",
                                 (json_int_t)res.unbound, "checkpoints", (json_int_t)res.checkpoints));
    if (res.bad_id) {
        fprintf(stderr, "yingji: audit chain broken at row %lld: %s\n", (long long)res.bad_id, res.reason);
        return 1;
    }
    if (!res.signature_checked && !unsigned_ok) {
        char *path = audit_key_path(c->data_dir, c->cfg.audit.key);
        fprintf(stderr, "yingji: the head's signature was not checked: no audit key at %s (give --key FILE)\n", path);
        free(path);
        return 1;
    }
    if (!c->json) {
        printf("audit chain intact: %lld rows, head %s\n", (long long)res.rows, res.rows ? res.head_hash : "(empty)");
        printf("  head signed by the audit key; %lld incidents match their recorded state",
               (long long)(res.incidents - res.unbound));
        if (res.unbound)
            printf(", %lld recorded before states were bound (chain only)", (long long)res.unbound);
        printf("; %zu checkpoint%s held\n", res.checkpoints, res.checkpoints == 1 ? "" : "s");
    }
    return 0;
}
