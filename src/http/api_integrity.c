/* api_integrity.c: baselines people accept — the watched web roots (GET /api/v1/integrity, POST
 * /api/v1/integrity/{id}/accept) and the guarded pages (GET /api/v1/sites, POST
 * /api/v1/sites/{id}/accept), each accept audited with its reason. The watching threads take the
 * baselines; this only asks for them. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "http.h"

#include <jansson.h>
#include <sys/stat.h>

static void count_file(const struct store_integrity_file *f, void *ud)
{
    (void)f;
    (*(size_t *)ud)++;
}

void api_integrity_list(struct request *r)
{
    const struct yj_config *cfg = server_config(r->srv);
    json_t *items = json_array();
    struct yj_err err = {0};
    for (size_t i = 0; i < cfg->n_integrity; i++) {
        const struct config_integrity *w = &cfg->integrity[i];
        size_t files = 0;
        int64_t taken = 0;
        if (store_integrity_get(r->ctx.store, w->id, count_file, &files, &taken, &err) < 0) {
            json_decref(items);
            reply_error(r, &err);
            return;
        }
        json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "id", w->id, "path", w->path, "files",
                              (json_int_t)files, "baseline_at", taken ? yj_json_time(taken) : json_null());
        json_object_set_new(o, "asset", w->asset ? json_string(w->asset) : json_null());
        json_object_set_new(o, "unit", w->unit ? json_string(w->unit) : json_null());
        int64_t until = server_integrity_maintenance_until(r->srv, w->id);
        json_object_set_new(o, "maintenance_until", until ? yj_json_time(until) : json_null());
        json_array_append_new(items, o);
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* The accept of both kinds: a reason is required, the decision audited, then the watcher asked. */
static void accept_baseline(struct request *r, bool known, const char *what, const char *action,
                            const char *why_hint, void (*ask)(struct server *, const char *))
{
    static const struct json_field fields[] = {{"reason", JSON_STRING, true}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (!known) {
        reply_problem(r, 404, "not_found", "id", "no %s %s", what, r->params[0]);
    } else if (!*reason) {
        reply_problem(r, 400, "invalid_field", "reason", "%s", why_hint);
    } else if (auth_audit(r, r->id.actor, action, r->params[0], json_pack("{s:s}", "reason", reason)) == 0) {
        ask(r->srv, r->params[0]);
        reply_json(r, 202, json_pack("{s:s, s:b}", "id", r->params[0], "accepted", 1));
    }
    json_decref(b);
}

void api_integrity_accept(struct request *r)
{
    const struct yj_config *cfg = server_config(r->srv);
    bool known = false;
    for (size_t i = 0; i < cfg->n_integrity; i++)
        known |= strcmp(cfg->integrity[i].id, r->params[0]) == 0;
    accept_baseline(r, known, "integrity watch", "integrity.accept",
                    "say why what is there now is right (a deployment, ...)", server_integrity_accept);
}

/* POST /api/v1/integrity/{id}/maintenance {minutes, reason}: a deployment window (audited); at
 * its end the watcher takes a new baseline. minutes 0 ends a window now. */
void api_integrity_maintenance(struct request *r)
{
    static const struct json_field fields[] = {{"minutes", JSON_INTEGER, true},
                                               {"reason", JSON_STRING, true}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    const struct yj_config *cfg = server_config(r->srv);
    bool known = false;
    for (size_t i = 0; i < cfg->n_integrity; i++)
        known |= strcmp(cfg->integrity[i].id, r->params[0]) == 0;
    json_int_t minutes = json_integer_value(json_object_get(b, "minutes"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (!known) {
        reply_problem(r, 404, "not_found", "id", "no integrity watch %s", r->params[0]);
    } else if (minutes < 0 || minutes > 24 * 60) {
        reply_problem(r, 400, "invalid_field", "minutes", "a window is 0 (end it now) to 1440 minutes");
    } else if (!*reason) {
        reply_problem(r, 400, "invalid_field", "reason", "say what is being deployed");
    } else {
        int64_t until = minutes ? yj_now_ms() + (int64_t)minutes * 60000 : 0;
        if (auth_audit(r, r->id.actor, "integrity.maintenance", r->params[0],
                       json_pack("{s:I, s:s}", "minutes", minutes, "reason", reason)) == 0) {
            server_integrity_maintenance(r->srv, r->params[0], until);
            json_t *o = json_pack("{s:s}", "id", r->params[0]);
            json_object_set_new(o, "until", until ? yj_json_time(until) : json_null());
            reply_json(r, 202, o);
        }
    }
    json_decref(b);
}

/* GET /api/v1/sites: the guarded pages with their baselines. */
void api_sites_list(struct request *r)
{
    const struct yj_config *cfg = server_config(r->srv);
    json_t *items = json_array();
    for (size_t i = 0; i < cfg->n_sites; i++) {
        const struct config_site *w = &cfg->sites[i];
        char *path = xasprintf("%s/%s.html", server_sites_dir(r->srv), w->id);
        struct stat st;
        bool have = stat(path, &st) == 0;
        free(path);
        json_t *o = json_pack("{s:s, s:s, s:I}", "id", w->id, "url", w->url, "interval_ms",
                              (json_int_t)(w->interval > 0 ? w->interval : 300000));
        json_object_set_new(o, "baseline_at", have ? yj_json_time((int64_t)st.st_mtime * 1000) : json_null());
        json_object_set_new(o, "baseline_bytes", have ? json_integer((json_int_t)st.st_size) : json_null());
        json_t *dyn = json_array();
        for (size_t k = 0; k < w->n_dynamic; k++)
            json_array_append_new(dyn, json_string(w->dynamic[k]));
        json_object_set_new(o, "dynamic", dyn);
        json_array_append_new(items, o);
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* POST /api/v1/sites/{id}/accept {reason}: the page as it is now becomes the baseline (audited). */
void api_sites_accept(struct request *r)
{
    const struct yj_config *cfg = server_config(r->srv);
    bool known = false;
    for (size_t i = 0; i < cfg->n_sites; i++)
        known |= strcmp(cfg->sites[i].id, r->params[0]) == 0;
    accept_baseline(r, known, "site", "site.accept",
                    "say why the page as it is now is right (a redesign, ...)", server_site_accept);
}
