/* notify_feishu.c: a Feishu (飞书) group robot. With a secret ("签名校验"), the body carries
 * timestamp (seconds) and sign = base64 HMAC-SHA256 keyed with TIMESTAMP "\n" SECRET over an
 * empty message, as Feishu's custom-bot documentation specifies. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "notify.h"
#include "notify_robots.h"

#include <jansson.h>

int notify_feishu(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                  struct yj_err *err)
{
    char *text = notify_text(m);
    json_t *o = json_pack("{s:s, s:{s:s}}", "msg_type", "text", "content", "text", text);
    free(text);
    if (secret && *secret) {
        long long ts = (long long)(yj_now_ms() / 1000);
        char *key = xasprintf("%lld\n%s", ts, secret);
        char sign[45], stamp[32];
        notify_hmac_base64(key, "", 0, sign);
        free(key);
        snprintf(stamp, sizeof(stamp), "%lld", ts);
        json_object_set_new(o, "timestamp", json_string(stamp));
        json_object_set_new(o, "sign", json_string(sign));
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return notify_robot_post("Feishu", ch->url, body, ch->timeout, "code", err);
}
