/* notify_email.c: email through SMTP with libcurl: smtps:// (TLS from the start) or smtp:// with
 * STARTTLS required — unless the channel says `plain: true` (a relay on the local network that
 * speaks no TLS). The subject is RFC 2047 encoded; the body is UTF-8 text. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "notify.h"

#include <curl/curl.h>
#include <sodium.h>
#include <time.h>

struct source {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct source *s = ud;
    size_t room = size * nmemb, left = s->len - s->off;
    size_t n = left < room ? left : room;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return n;
}

int notify_email(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                 struct yj_err *err)
{
    if (!m->to.email)
        return yj_err_set(err, YJ_EINVAL, "%s has no email address in the plan", m->to.name ? m->to.name : m->to.id);
    size_t sl = strlen(m->subject);
    char *b64 = xmalloc(sodium_base64_ENCODED_LEN(sl, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(sl, sodium_base64_VARIANT_ORIGINAL),
                      (const unsigned char *)m->subject, sl, sodium_base64_VARIANT_ORIGINAL);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char *message = xasprintf("Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: =?UTF-8?B?%s?=\r\nMessage-ID: <%s@yingji>\r\n"
                              "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
                              date, ch->from, m->to.email, b64, m->key, m->body);
    free(b64);
    CURL *c = curl_easy_init();
    if (!c) {
        free(message);
        return yj_err_set(err, YJ_EIO, "cannot start an SMTP client");
    }
    struct curl_slist *rcpt = curl_slist_append(NULL, m->to.email);
    struct source src = {message, strlen(message), 0};
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, ch->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)(ch->plain ? CURLUSESSL_NONE : CURLUSESSL_ALL));
    if (ch->user)
        curl_easy_setopt(c, CURLOPT_USERNAME, ch->user);
    if (secret && *secret)
        curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, ch->from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(ch->timeout > 0 ? ch->timeout : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    free(message);
    if (rc != CURLE_OK)
        return yj_err_set(err, YJ_EIO, "SMTP: %s", detail[0] ? detail : curl_easy_strerror(rc));
    return 0;
}
