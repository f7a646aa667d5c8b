/* notify_wecom.c: a WeCom (企业微信) group robot: a text message that @-mentions the recipient by
 * mobile number when the plan has it. The robot's key is in its URL; WeCom has no signature. */
#include "../base/common.h"
#include "../plan/config.h"
#include "notify.h"
#include "notify_robots.h"

#include <jansson.h>

int notify_wecom(const struct config_channel *ch, const char *secret, const struct notify_message *m,
                 struct yj_err *err)
{
    (void)secret;
    char *text = notify_text(m);
    json_t *mentions = json_array();
    if (m->to.mobile)
        json_array_append_new(mentions, json_string(m->to.mobile));
    json_t *o = json_pack("{s:s, s:{s:s, s:o}}", "msgtype", "text", "text", "content", text, "mentioned_mobile_list",
                          mentions);
    free(text);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return notify_robot_post("WeCom", ch->url, body, ch->timeout, "errcode", err);
}
