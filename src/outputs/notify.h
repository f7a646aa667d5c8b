/* notify.h: delivering one notification through one channel of the deployment config
 * (`channels:`). One file per channel kind; they share the HTTP client (libcurl) and the
 * signing helpers here. Blocking, bounded by the channel's timeout: the outbox calls it from a
 * thread of its own, never from a request or the clock. */
#ifndef YJ_NOTIFY_H
#define YJ_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct yj_err;
struct config_channel;

struct notify_recipient {
    const char *id;     /* person:ID or user:NAME */
    const char *name;   /* may be NULL */
    const char *mobile; /* may be NULL: group robots then mention nobody, sms skips */
    const char *email;  /* may be NULL: email skips */
};

struct notify_message {
    const char *key;      /* the idempotency key: receivers may drop repeats by it */
    const char *incident; /* number, may be NULL (a test message) */
    const char *subject;
    const char *body;
    int64_t created_at;
    struct notify_recipient to;
};

/* Sends m through ch. 0: handed over (the receiver said yes). YJ_EIO: failed, worth retrying
 * (err says why: connection refused, HTTP 502, the robot's errcode). YJ_EINVAL: this channel
 * cannot carry this message (no email address, no mobile): not retried. */
int notify_send(const struct config_channel *ch, const struct notify_message *m, struct yj_err *err);

/* The calling thread's HTTP requests go through curl_handle (a CURL *, owned by the caller) from
 * now on, reusing its connections; NULL: a fresh handle per request. */
void notify_keep_connections(void *curl_handle);

/* ---- for the channel files ---- */

/* POSTs body to url with the headers ("Name: value"). *status gets the HTTP status and *reply
 * (caller frees, may be NULL) the response body, at most 64 KiB. YJ_EIO on transport errors. */
int notify_http_post(const char *url, const char *const *headers, size_t n_headers, const char *body,
                     int64_t timeout_ms, long *status, char **reply, struct yj_err *err);
/* HMAC-SHA256(key, msg) as lowercase hex (65 bytes) or standard base64 (45 bytes). */
void notify_hmac_hex(const char *key, const char *msg, size_t msg_len, char out[65]);
void notify_hmac_base64(const char *key, const char *msg, size_t msg_len, char out[45]);
/* The text a chat robot posts: subject, a blank line, body. Caller frees. */
char *notify_text(const struct notify_message *m);

int notify_webhook(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                   struct yj_err *err);
int notify_wecom(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                 struct yj_err *err);
int notify_dingtalk(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                    struct yj_err *err);
int notify_feishu(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                  struct yj_err *err);
int notify_email(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                 struct yj_err *err);
int notify_sms(const struct config_channel *ch, const char *secret, const struct notify_message *m,
               struct yj_err *err);

#endif
