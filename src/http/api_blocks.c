/* api_blocks.c: the addresses the block_ip action holds (GET /api/v1/blocks) and unblocking one
 * before its time (POST /api/v1/blocks/{address}/release). */
#include "../base/common.h"
#include "../outputs/act.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "http.h"

#include <jansson.h>

void api_blocks_list(struct request *r)
{
    enum { MAX = 500 };
    struct store_block *bs = xcalloc(MAX, sizeof(*bs));
    const char *all = request_query(r, "all");
    size_t n = 0;
    struct yj_err err = {0};
    json_t *items = json_array();
    int rc = store_block_list(r->ctx.store, !(all && strcmp(all, "1") == 0), bs, MAX, &n, &err); /* all: 0 or 1 */
    for (size_t i = 0; rc == 0 && i < n; i++)
        json_array_append_new(items, act_block_json(&bs[i]));
    free(bs);
    if (rc < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_blocks_release(struct request *r)
{
    static const struct json_field fields[] = {{"note", JSON_STRING, false}};
    json_t *b = r->body_len ? request_json(r) : json_object();
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    struct yj_err err = {0};
    const struct yj_config *cfg = server_config(r->srv);
    if (act_release_block(&r->ctx, cfg->actions, cfg->n_actions, r->params[0],
                          json_string_value(json_object_get(b, "note")), &err) < 0) {
        reply_error(r, &err);
    } else {
        reply_json(r, 200, json_pack("{s:s, s:b}", "address", r->params[0], "released", 1));
        server_wake_streams(r->srv);
    }
    json_decref(b);
}
