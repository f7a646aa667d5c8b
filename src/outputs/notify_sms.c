/* notify_sms.c: SMS through an HTTP gateway. The channel's `body` is the gateway's request with
 * {phone} and {text} filled in (JSON-escaped when the body is JSON); the secret, if any, goes as
 * a bearer token. A 2xx answer counts as handed over. */
#include "../base/common.h"
#include "../base/err.h"
#include "../plan/config.h"
#include "notify.h"

#include <jansson.h>

/* value as it may stand inside the template: JSON string contents when the body is JSON. */
static char *escaped(const char *value, bool json)
{
    if (!json)
        return xstrdup(value);
    json_t *s = json_string(value);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    size_t n = strlen(q);
    memmove(q, q + 1, n - 2); /* drop the quotes */
    q[n - 2] = 0;
    return q;
}

static char *fill(const char *tmpl, const char *phone, const char *text)
{
    bool json = tmpl[strspn(tmpl, " \t\r\n")] == '{';
    char *p = escaped(phone, json), *t = escaped(text, json);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (const char *c = tmpl; *c; c++) {
        if (strncmp(c, "{phone}", 7) == 0) {
            fputs(p, f);
            c += 6;
        } else if (strncmp(c, "{text}", 6) == 0) {
            fputs(t, f);
            c += 5;
        } else {
            fputc(*c, f);
        }
    }
    fclose(f);
    free(p);
    free(t);
    return out;
}

int notify_sms(const struct config_channel *ch, const char *secret, const struct notify_message *m,
               struct yj_err *err)
{
    if (!m->to.mobile)
        return yj_err_set(err, YJ_EINVAL, "%s has no mobile number in the plan", m->to.name ? m->to.name : m->to.id);
    /* A text message carries the subject: the details are a click away. */
    char *body = fill(ch->body, m->to.mobile, m->subject);
    bool json = ch->body[strspn(ch->body, " \t\r\n")] == '{';
    char auth[600];
    const char *headers[2] = {json ? "Content-Type: application/json; charset=utf-8"
                                   : "Content-Type: application/x-www-form-urlencoded",
                              NULL};
    size_t n = 1;
    if (secret && *secret) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
        headers[n++] = auth;
    }
    long status = 0;
    int rc = notify_http_post(ch->url, headers, n, body, ch->timeout, &status, NULL, err);
    free(body);
    if (rc == 0 && (status < 200 || status > 299))
        rc = yj_err_set(err, YJ_EIO, "the SMS gateway answered HTTP %ld", status);
    return rc;
}
