/* notify_webhook.c: a generic webhook. The JSON body carries the message, its idempotency key and
 * the recipient; with a secret, X-Yingji-Signature is "sha256=" HMAC-SHA256(secret, TIMESTAMP "."
 * BODY) in hex and X-Yingji-Timestamp the seconds, so a receiver can check both origin and age. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "notify.h"

#include <jansson.h>

int notify_webhook(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                   struct yj_err *err)
{
    json_t *o = json_pack("{s:s, s:s?, s:s, s:s, s:I, s:{s:s, s:s?, s:s?, s:s?}}", "key", m->key, "incident",
                          m->incident, "subject", m->subject, "body", m->body, "created_at",
                          (json_int_t)m->created_at, "recipient", "id", m->to.id, "name", m->to.name, "mobile",
                          m->to.mobile, "email", m->to.email);
    char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char ts[32], sig_header[128], key_header[300];
    snprintf(ts, sizeof(ts), "%lld", (long long)(yj_now_ms() / 1000));
    snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", m->key);
    char ts_header[64];
    snprintf(ts_header, sizeof(ts_header), "X-Yingji-Timestamp: %s", ts);
    const char *headers[4] = {"Content-Type: application/json; charset=utf-8", key_header, ts_header, NULL};
    size_t n_headers = 3;
    if (secret && *secret) {
        char *signed_text = xasprintf("%s.%s", ts, body);
        char hex[65];
        notify_hmac_hex(secret, signed_text, strlen(signed_text), hex);
        free(signed_text);
        snprintf(sig_header, sizeof(sig_header), "X-Yingji-Signature: sha256=%s", hex);
        headers[n_headers++] = sig_header;
    }
    long status = 0;
    int rc = notify_http_post(ch->url, headers, n_headers, body, ch->timeout, &status, NULL, err);
    free(body);
    if (rc == 0 && (status < 200 || status > 299))
        rc = yj_err_set(err, YJ_EIO, "the webhook answered HTTP %ld", status);
    return rc;
}
