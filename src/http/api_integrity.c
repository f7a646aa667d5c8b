/* api_integrity.c: the watched web roots (GET /api/v1/integrity) and accepting what is there now
 * as the new baseline after a deployment (POST /api/v1/integrity/{id}/accept, audited with the
 * reason). The watching thread takes the baseline; this only asks for it. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "http.h"

#include <jansson.h>

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
        json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "id", w->id, "path", w->path, "files", (json_int_t)files,
                              "baseline_at", taken ? yj_json_time(taken) : json_null());
        json_object_set_new(o, "asset", w->asset ? json_string(w->asset) : json_null());
        json_object_set_new(o, "unit", w->unit ? json_string(w->unit) : json_null());
        json_array_append_new(items, o);
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_integrity_accept(struct request *r)
{
    static const struct json_field fields[] = {{"reason", JSON_STRING, true}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    const struct yj_config *cfg = server_config(r->srv);
    bool known = false;
    for (size_t i = 0; i < cfg->n_integrity; i++)
        known |= strcmp(cfg->integrity[i].id, r->params[0]) == 0;
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (!known) {
        reply_problem(r, 404, "not_found", "id", "no integrity watch %s", r->params[0]);
    } else if (!*reason) {
        reply_problem(r, 400, "invalid_field", "reason", "say why what is there now is right (a deployment, ...)");
    } else if (auth_audit(r, r->id.actor, "integrity.accept", r->params[0], json_pack("{s:s}", "reason", reason)) == 0) {
        server_integrity_accept(r->srv, r->params[0]);
        reply_json(r, 202, json_pack("{s:s, s:b}", "id", r->params[0], "accepted", 1));
    }
    json_decref(b);
}
