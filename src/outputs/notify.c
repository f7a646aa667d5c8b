/* notify.c: the dispatch over channel kinds, and what they share: one HTTP POST through
 * libcurl (no redirects followed, bounded reply, a timeout per attempt) and HMAC-SHA256
 * signatures (libsodium). Must never log a secret. */
#include "../base/common.h"
#include "../base/err.h"
#include "../plan/config.h"
#include "notify.h"
#include "notify_robots.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#define REPLY_MAX (64 * 1024)

struct reply_buf {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct reply_buf *b = ud;
    size_t n = size * nmemb, room = REPLY_MAX - b->len;
    size_t take = n < room ? n : room;
    if (take) {
        b->data = xrealloc(b->data, b->len + take + 1);
        memcpy(b->data + b->len, ptr, take);
        b->len += take;
        b->data[b->len] = 0;
    }
    return n; /* what does not fit is read and dropped, not an error */
}

/* A handle the calling thread keeps between calls (the outbox's senders), so connections to the
 * same receiver are reused; NULL: one handle per call. */
static __thread CURL *kept;

void notify_keep_connections(void *curl_handle)
{
    kept = curl_handle;
}

int notify_http_post(const char *url, const char *const *headers, size_t n_headers, const char *body,
                     int64_t timeout_ms, long *status, char **reply, struct yj_err *err)
{
    CURL *c = kept ? kept : curl_easy_init();
    if (!c)
        return yj_err_set(err, YJ_EIO, "cannot start an HTTP client");
    if (kept)
        curl_easy_reset(c); /* options back to defaults; the connection cache stays */
    /* No "Expect: 100-continue": libcurl before 8.2 adds it to bodies over 1 KiB (a Chinese
     * message is) and then waits up to a second for a 100 that many receivers never send. */
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < n_headers; i++)
        h = curl_slist_append(h, headers[i]);
    struct reply_buf b = {0};
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 && timeout_ms < 5000 ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "yingji");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    if (!kept)
        curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(b.data);
        /* The URL may carry a robot's token: name the host's failure, not the URL. */
        return yj_err_set(err, YJ_EIO, "%s", detail[0] ? detail : curl_easy_strerror(rc));
    }
    *status = code;
    if (reply)
        *reply = b.data;
    else
        free(b.data);
    return 0;
}

static void hmac(const char *key, const char *msg, size_t msg_len, unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, msg_len);
    crypto_auth_hmacsha256_final(&st, out);
}

void notify_hmac_hex(const char *key, const char *msg, size_t msg_len, char out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac(key, msg, msg_len, mac);
    sodium_bin2hex(out, 65, mac, sizeof(mac));
}

void notify_hmac_base64(const char *key, const char *msg, size_t msg_len, char out[45])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac(key, msg, msg_len, mac);
    sodium_bin2base64(out, 45, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
}

char *notify_text(const struct notify_message *m)
{
    return xasprintf("%s\n\n%s", m->subject, m->body);
}

int notify_send(const struct config_channel *ch, const struct notify_message *m, struct yj_err *err)
{
    char secret[512];
    int rc = config_channel_secret(ch, secret, sizeof(secret), err);
    if (rc < 0)
        return YJ_EIO; /* the file may come back: retry */
    if (strcmp(ch->type, "webhook") == 0)
        rc = notify_webhook(ch, secret, m, err);
    else if (strcmp(ch->type, "wecom") == 0)
        rc = notify_wecom(ch, secret, m, err);
    else if (strcmp(ch->type, "dingtalk") == 0)
        rc = notify_dingtalk(ch, secret, m, err);
    else if (strcmp(ch->type, "feishu") == 0)
        rc = notify_feishu(ch, secret, m, err);
    else if (strcmp(ch->type, "email") == 0)
        rc = notify_email(ch, secret, m, err);
    else if (strcmp(ch->type, "sms") == 0)
        rc = notify_sms(ch, secret, m, err);
    else
        rc = yj_err_set(err, YJ_EINVAL, "channel type %s is not known", ch->type);
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

int notify_robot_post(const char *robot, const char *url, char *body, long long timeout_ms, const char *code_key,
                      struct yj_err *err)
{
    static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
    long status = 0;
    char *reply = NULL;
    int rc = notify_http_post(url, headers, 1, body, timeout_ms, &status, &reply, err);
    free(body);
    if (rc < 0)
        return rc;
    json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
    json_t *code = r ? json_object_get(r, code_key) : NULL;
    if (!code && r)
        code = json_object_get(r, "StatusCode"); /* Feishu's older replies */
    if (status < 200 || status > 299)
        rc = yj_err_set(err, YJ_EIO, "the %s robot answered HTTP %ld", robot, status);
    else if (!json_is_integer(code))
        rc = yj_err_set(err, YJ_EIO, "the %s robot's reply has no %s", robot, code_key);
    else if (json_integer_value(code) != 0) {
        const char *msg = json_string_value(json_object_get(r, "errmsg"));
        if (!msg)
            msg = json_string_value(json_object_get(r, "msg"));
        rc = yj_err_set(err, YJ_EIO, "the %s robot refused it: %s %lld%s%s", robot, code_key,
                        (long long)json_integer_value(code), msg ? ": " : "", msg ? msg : "");
    }
    json_decref(r);
    free(reply);
    return rc;
}
