/* act_restore.c: the built-in restore_files action (网页防篡改) — the files an incident's integrity
 * signals name go back to their baseline content from the watcher's copies; files that were added
 * go to a quarantine, kept as evidence. Must never write outside a watched root: paths come from
 * signals, which an ingest token can also make. */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../engine/ctx.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "act.h"

#include <fcntl.h>
#include <stdarg.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

struct restore_run {
    const struct act_restore_source *src;
    int64_t incident_id;
    char *out;
    size_t cap, len;
    size_t restored, quarantined, refused;
};

static void say(struct restore_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct restore_run *r, const char *fmt, ...)
{
    if (r->len >= r->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->out + r->len, r->cap - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len += (size_t)n;
}

/* True when path (absolute) lies inside root and every directory on the way is a real directory,
 * not a link that leads elsewhere. */
static bool inside(const char *root, const char *path)
{
    char *dir = xstrdup(path);
    char *parent = realpath(dirname(dir), NULL);
    char *base = realpath(root, NULL);
    bool ok = parent && base && strncmp(parent, base, strlen(base)) == 0 &&
              (parent[strlen(base)] == 0 || parent[strlen(base)] == '/');
    free(parent);
    free(base);
    free(dir);
    return ok;
}

static bool plain_relative(const char *p)
{
    if (!*p || *p == '/')
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if ((n == 2 && strncmp(s, "..", 2) == 0) || (n == 1 && *s == '.') || n == 0)
            return false;
        s += n;
        if (*s == '/')
            s++;
    }
    return true;
}

/* Puts the baseline copy over path (the copies are at most 8 MiB: read whole). */
static int put_back(const char *copy, const char *path)
{
    size_t len = 0;
    char *data = yj_read_file(copy, (size_t)8 << 20, &len);
    if (!data)
        return -1;
    int rc = yj_write_file_atomic(path, data, len, 0644);
    free(data);
    return rc;
}

static void one(const char *watch, const char *rel, const char *change, const char *old_hash, void *ud)
{
    struct restore_run *r = ud;
    const struct config_integrity *w = NULL;
    for (size_t i = 0; i < r->src->n_watches; i++)
        if (strcmp(r->src->watches[i].id, watch) == 0)
            w = &r->src->watches[i];
    if (!w || !plain_relative(rel)) {
        r->refused++;
        say(r, "refused %s/%s: not a file of a watched root\n", watch, rel);
        return;
    }
    char *path = xasprintf("%s/%s", w->path, rel);
    if (*old_hash) {
        /* Changed or deleted: its baseline content back. Directories deleted with it come back. */
        char *copy = xasprintf("%s/%s", r->src->copies, old_hash);
        char *dir = xstrdup(path);
        char *d = dirname(dir);
        for (char *p = d + strlen(w->path) + 1; *p; p++)
            if (*p == '/') {
                *p = 0;
                mkdir(d, 0755);
                *p = '/';
            }
        mkdir(d, 0755);
        free(dir);
        if (inside(w->path, path) && put_back(copy, path) == 0) {
            r->restored++;
            say(r, "restored %s (%s)\n", rel, change);
        } else {
            r->refused++;
            say(r, "could not restore %s: %s\n", rel,
                access(copy, R_OK) == 0 ? strerror(errno) : "no baseline copy");
        }
        free(copy);
    } else if (strcmp(change, "added") == 0) {
        struct stat st;
        if (lstat(path, &st) < 0) {
            say(r, "%s is gone already\n", rel);
        } else if (inside(w->path, path)) {
            char *q = xasprintf("%s/quarantine", r->src->copies);
            mkdir(q, 0700);
            char *name = xstrdup(rel);
            for (char *c = name; *c; c++)
                if (*c == '/')
                    *c = '_';
            char *to = xasprintf("%s/%lld-%s-%s", q, (long long)r->incident_id, watch, name);
            if (rename(path, to) == 0) {
                r->quarantined++;
                say(r, "moved %s to the quarantine (%s)\n", rel, to);
            } else {
                r->refused++;
                say(r, "could not move %s away: %s\n", rel, strerror(errno));
            }
            free(to);
            free(name);
            free(q);
        } else {
            r->refused++;
            say(r, "refused %s/%s: outside its root\n", watch, rel);
        }
    }
    free(path);
}

int act_restore_files(struct yj_ctx *ctx, int64_t incident_id, const struct act_restore_source *src,
                      char *out, size_t out_cap, char *why, size_t why_cap)
{
    out[0] = 0;
    if (!src || !src->copies) {
        snprintf(why, why_cap, "no integrity watch is configured (integrity: in the config)");
        return -1;
    }
    struct restore_run r = {.src = src, .incident_id = incident_id, .out = out, .cap = out_cap};
    struct yj_err err = {0};
    if (store_integrity_changes(ctx->store, incident_id, one, &r, &err) < 0) {
        snprintf(why, why_cap, "%s", err.msg);
        return -1;
    }
    if (r.restored + r.quarantined + r.refused == 0) {
        snprintf(why, why_cap, "the incident names no changed file of a watched root");
        return -1;
    }
    if (r.refused) {
        snprintf(why, why_cap, "%zu files could not be put back", r.refused);
        return -1;
    }
    return 0;
}
