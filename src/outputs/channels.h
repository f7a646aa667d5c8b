/* channels.h: the notification channels in force — the config file's, then those an admin made in
 * the console (kept in the store as edits of kind "channel", their secrets beside them). The
 * outbox reloads the set when the console changes it, so a new channel carries the next message
 * without a restart. */
#ifndef YJ_CHANNELS_H
#define YJ_CHANNELS_H

#include <stddef.h>

struct config_channel;
struct store;
struct yj_config;
struct yj_ctx;
struct yj_err;

struct channel_set {
    struct config_channel *all; /* the config's (copies pointing into it), then the console's (owned) */
    size_t n;
    size_t n_config;
};

/* The config's channels and the store's. A stored channel that no longer parses is left out and
 * logged (an upgrade that tightened a check must not stop every other channel). */
int channels_load(const struct yj_config *cfg, struct store *st, struct channel_set *out, struct yj_err *err);
void channels_release(struct channel_set *set);
/* How many channels there are, the config's and the store's. */
int channels_count(const struct yj_config *cfg, struct store *st, size_t *n, struct yj_err *err);

/* Stores a console channel: body is the JSON of one `channels:` entry (the config's keys and
 * checks; its id must be id), secret its key or password (NULL: keep the stored one; "": none).
 * The config's channels are refused (they are edited in the file). Audited (channel.put). */
int channels_put(struct yj_ctx *ctx, const struct yj_config *cfg, const char *id, const char *body,
                 const char *secret, struct yj_err *err);
/* Removes a console channel (channel.remove); its queued deliveries are skipped as for a channel
 * taken out of the config. */
int channels_remove(struct yj_ctx *ctx, const struct yj_config *cfg, const char *id, struct yj_err *err);

/* {"channels": [{id, type, url, user, from, plain, body, timeout, source, secret_set, updated_at,
 * updated_by}]}: secrets are never shown, only whether one is set. A new json_t *, or NULL. */
void *channels_json(const struct yj_config *cfg, struct store *st, struct yj_err *err);

#endif
