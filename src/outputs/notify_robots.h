/* notify_robots.h: what the group-chat robots (WeCom, DingTalk, Feishu) share: their replies are
 * JSON with a numeric code that must be 0. */
#ifndef YJ_NOTIFY_ROBOTS_H
#define YJ_NOTIFY_ROBOTS_H

struct yj_err;

/* Posts the JSON body to url and checks the robot's reply: HTTP 2xx and reply[code_key] == 0
 * (code_key: "errcode" for WeCom/DingTalk, "code" for Feishu). Takes ownership of body. */
int notify_robot_post(const char *robot, const char *url, char *body, long long timeout_ms, const char *code_key,
                      struct yj_err *err);

#endif
