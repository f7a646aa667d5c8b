/* channels.c: the channels in force, the config's and the console's (channels.h). A console
 * channel is parsed and checked by the config's own code (config_channel_parse), so the two
 * cannot differ in what they accept. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/jsonutil.h"
#include "../base/log.h"
#include "../engine/audit.h"
#include "../engine/ctx.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "channels.h"

#include <jansson.h>
#include <sodium.h>

struct loading {
    struct channel_set *set;
    size_t cap;
};

static int take(const struct store_edit *e, void *ud)
{
    struct loading *l = ud;
    struct config_channel ch;
    struct yj_err err = {0};
    if (config_channel_parse(e->body, e->secret && *e->secret ? e->secret : NULL, &ch, &err) < 0) {
        yj_log_warn("channel %s made in the console is left out: %s", e->key, err.msg);
        return 0;
    }
    struct channel_set *s = l->set;
    if (s->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        s->all = xrealloc(s->all, l->cap * sizeof(*s->all));
    }
    s->all[s->n++] = ch;
    return 0;
}

int channels_load(const struct yj_config *cfg, struct store *st, struct channel_set *out, struct yj_err *err)
{
    *out = (struct channel_set){0};
    struct loading l = {out, cfg->n_channels + 8};
    out->all = xcalloc(l.cap, sizeof(*out->all));
    for (size_t i = 0; i < cfg->n_channels; i++)
        out->all[out->n++] = cfg->channels[i];
    out->n_config = out->n;
    int rc = store_edit_list(st, "channel", take, &l, err);
    if (rc < 0)
        channels_release(out);
    return rc;
}

void channels_release(struct channel_set *set)
{
    for (size_t i = set->n_config; i < set->n; i++)
        config_channel_release(&set->all[i]);
    free(set->all);
    *set = (struct channel_set){0};
}

static int count(const struct store_edit *e, void *ud)
{
    (void)e;
    (*(size_t *)ud)++;
    return 0;
}

int channels_count(const struct yj_config *cfg, struct store *st, size_t *n, struct yj_err *err)
{
    *n = cfg->n_channels;
    return store_edit_list(st, "channel", count, n, err);
}

static bool in_config(const struct yj_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_channels; i++)
        if (strcmp(cfg->channels[i].id, id) == 0)
            return true;
    return false;
}

static int refuse_config(const struct yj_config *cfg, const char *id, struct yj_err *err)
{
    if (!in_config(cfg, id))
        return 0;
    yj_err_set(err, YJ_ESTATE, "channel %s is configured in %s: change it there", id,
               cfg->file ? cfg->file : "the config file");
    yj_err_zh(err, "通道 %s 写在配置文件中，请在配置文件里修改", id);
    return YJ_ESTATE;
}

static int audited(struct yj_ctx *ctx, int rc, const char *action, const char *id, json_t *detail,
                   struct yj_err *err)
{
    char object[160];
    snprintf(object, sizeof(object), "channel:%s", id);
    return audit_commit(ctx, rc, action, object, detail, err);
}

int channels_put(struct yj_ctx *ctx, const struct yj_config *cfg, const char *id, const char *body,
                 const char *secret, struct yj_err *err)
{
    int rc = refuse_config(cfg, id, err);
    if (rc < 0)
        return rc;
    json_t *doc = json_loads(body, 0, NULL);
    const char *given = json_string_value(json_object_get(doc, "id"));
    if (!json_is_object(doc) || !given || strcmp(given, id) != 0) {
        json_decref(doc);
        return yj_err_set(err, YJ_EINVAL, "the channel's id must be \"%s\"", id);
    }
    struct config_channel ch;
    if ((rc = config_channel_parse(body, secret && *secret ? secret : NULL, &ch, err)) < 0) {
        json_decref(doc);
        return rc;
    }
    config_channel_release(&ch);
    if ((rc = store_begin(ctx->store, err)) < 0) {
        json_decref(doc);
        return rc;
    }
    rc = store_edit_put(ctx->store, "channel", id, body, secret, yj_ctx_now(ctx), ctx->actor, err);
    /* What changed, without the secret: only that one was given. */
    return audited(ctx, rc, "channel.put", id, json_pack("{s:o, s:b}", "channel", doc, "secret_given", secret != NULL),
                   err);
}

int channels_remove(struct yj_ctx *ctx, const struct yj_config *cfg, const char *id, struct yj_err *err)
{
    int rc = refuse_config(cfg, id, err);
    if (rc < 0 || (rc = store_begin(ctx->store, err)) < 0)
        return rc;
    rc = store_edit_delete(ctx->store, "channel", id, err);
    return audited(ctx, rc, "channel.remove", id, json_pack("{s:s}", "id", id), err);
}

static json_t *channel_json(const struct config_channel *ch, const char *source)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b, s:s?, s:s, s:b}", "id", ch->id, "type", ch->type, "url",
                          ch->url, "user", ch->user, "from", ch->from, "plain", (int)ch->plain, "body", ch->body,
                          "source", source, "secret_set",
                          ch->secret != NULL || ch->secret_file != NULL || ch->secret_env != NULL);
    json_object_set_new(o, "timeout", ch->timeout > 0 ? json_integer(ch->timeout) : json_null());
    return o;
}

struct listing {
    json_t *list;
};

static int list_stored(const struct store_edit *e, void *ud)
{
    struct listing *l = ud;
    struct config_channel ch;
    struct yj_err err = {0};
    json_t *o;
    if (config_channel_parse(e->body, e->secret && *e->secret ? e->secret : NULL, &ch, &err) == 0) {
        o = channel_json(&ch, "console");
        config_channel_release(&ch);
    } else {
        /* Shown, so that an admin sees why it carries nothing. */
        o = json_pack("{s:s, s:s, s:s}", "id", e->key, "source", "console", "error", err.msg);
    }
    json_object_set_new(o, "updated_at", yj_json_time(e->updated_at));
    json_object_set_new(o, "updated_by", json_string(e->updated_by));
    json_array_append_new(l->list, o);
    return 0;
}

void *channels_json(const struct yj_config *cfg, struct store *st, struct yj_err *err)
{
    struct listing l = {json_array()};
    for (size_t i = 0; i < cfg->n_channels; i++)
        json_array_append_new(l.list, channel_json(&cfg->channels[i], "config"));
    if (store_edit_list(st, "channel", list_stored, &l, err) < 0) {
        json_decref(l.list);
        return NULL;
    }
    return json_pack("{s:o}", "channels", l.list);
}
