/* notify_dingtalk.c: a DingTalk (钉钉) group robot. With a secret ("加签"), the URL carries
 * timestamp (ms) and sign = URL-encoded base64 HMAC-SHA256(secret, TIMESTAMP "\n" SECRET), as
 * DingTalk's robot documentation specifies; the message @-mentions the recipient's mobile. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "notify.h"
#include "notify_robots.h"

#include <curl/curl.h>
#include <jansson.h>

int notify_dingtalk(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                    struct yj_err *err)
{
    char *url;
    if (secret && *secret) {
        long long ts = (long long)yj_now_ms();
        char *to_sign = xasprintf("%lld\n%s", ts, secret);
        char sign[45];
        notify_hmac_base64(secret, to_sign, strlen(to_sign), sign);
        free(to_sign);
        /* Base64's + / = must be escaped in a query string. */
        char *escaped = curl_easy_escape(NULL, sign, 0);
        url = xasprintf("%s%ctimestamp=%lld&sign=%s", ch->url, strchr(ch->url, '?') ? '&' : '?', ts,
                        escaped ? escaped : sign);
        curl_free(escaped);
    } else {
        url = xstrdup(ch->url);
    }
    char *text = notify_text(m);
    json_t *mentions = json_array();
    if (m->to.mobile)
        json_array_append_new(mentions, json_string(m->to.mobile));
    json_t *o = json_pack("{s:s, s:{s:s}, s:{s:o, s:b}}", "msgtype", "text", "text", "content", text, "at",
                          "atMobiles", mentions, "isAtAll", 0);
    free(text);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = notify_robot_post("DingTalk", url, body, ch->timeout, "errcode", err);
    free(url);
    return rc;
}
