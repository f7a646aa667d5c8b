/* api_meta.c: /healthz (is the store reachable), /metrics (Prometheus text) and the OpenAPI
 * document. Public: they reveal no incident content. */
#include "../base/common.h"
#include "../base/embed.h"
#include "../store/store.h"
#include "http.h"

void api_healthz(struct request *r)
{
    int current = 0, latest = 0;
    struct yj_err err = {0};
    /* Can this node write? A balancer moves traffic away on 503: reads it could still serve are
     * not worth a desk on which nobody can report. */
    if (store_schema_version(r->store, &current, &latest, &err) < 0 || store_writable(r->store, &err) < 0) {
        server_count_store_error(r->srv);
        reply_json(r, 503, json_pack("{s:s, s:s}", "status", "unavailable", "store", err.msg));
        return;
    }
    reply_json(r, 200, json_pack("{s:s, s:s, s:i, s:s, s:b}", "status", "ok", "store", "ok", "schema", current,
                                 "engine", store_engine(r->store), "leader", server_is_leader(r->srv)));
}

void api_metrics(struct request *r)
{
    char *text = server_metrics_text(r->srv, r);
    reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    free(text);
}

void api_openapi(struct request *r)
{
    const struct yj_embed *e = yj_embed_find("docs/api/openapi.yaml");
    if (!e) {
        reply_problem(r, 404, "not_found", NULL, "the API description is not built in");
        return;
    }
    reply_bytes(r, 200, "application/yaml; charset=utf-8", (const char *)e->data, yj_embed_len(e));
}
