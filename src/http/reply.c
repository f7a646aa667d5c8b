/* reply.c: building responses — JSON, problem+json in the caller's language — and reading
 * JSON request bodies within the configured limits. Never trusts a body: depth, string length,
 * NUL characters, unknown and mistyped fields are all refused with the field named. */
#include "../base/common.h"
#include "../base/text.h"
#include "../store/store.h"
#include "http.h"

#include <strings.h>

void reply_bytes(struct request *r, unsigned status, const char *type, const char *data, size_t len)
{
    free(r->resp.body);
    r->resp.body = xmalloc(len + 1);
    memcpy(r->resp.body, data, len);
    r->resp.body[len] = 0;
    r->resp.len = len;
    r->resp.status = status;
    r->resp.type = type;
}

void reply_static(struct request *r, unsigned status, const char *type, const char *data, size_t len)
{
    free(r->resp.body);
    r->resp.body = NULL;
    r->resp.persistent = data;
    r->resp.len = len;
    r->resp.status = status;
    r->resp.type = type;
}

void reply_json(struct request *r, unsigned status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    free(r->resp.body);
    r->resp.body = s ? s : xstrdup("null");
    r->resp.len = strlen(r->resp.body);
    r->resp.status = status;
    r->resp.type = "application/json";
}

/* Titles of the stable problem codes, in English and Chinese. */
static const struct {
    const char *code;
    const char *en;
    const char *zh;
} titles[] = {
    {"bad_request", "The request is malformed (RFC 9112)", "请求格式不符合 HTTP 规范"},
    {"not_implemented", "Not implemented", "不支持的请求"},
    {"invalid_json", "The body is not valid JSON", "请求体不是有效的 JSON"},
    {"invalid_field", "A field is missing or invalid", "字段缺失或无效"},
    {"unknown_field", "Unknown field", "未知字段"},
    {"payload_too_large", "Request body too large", "请求体过大"},
    {"unsupported_media_type", "Send application/json", "请使用 application/json"},
    {"unauthorized", "Log in first", "请先登录"},
    {"bad_credentials", "Wrong user name or password", "用户名或密码错误"},
    {"rate_limited", "Too many attempts; wait and retry", "尝试次数过多，请稍后再试"},
    {"forbidden", "Not allowed for your role", "您的角色无权执行此操作"},
    {"password_change_required", "Change your password first", "请先修改密码"},
    {"last_admin", "At least one enabled administrator must remain", "系统须保留至少一名可用的管理员"},
    {"csrf", "Missing or wrong X-CSRF-Token header", "缺少或错误的 X-CSRF-Token 请求头"},
    {"not_found", "Not found", "未找到"},
    {"method_not_allowed", "Method not allowed", "不允许的请求方法"},
    {"invalid_transition", "That status change is not allowed now", "当前状态不允许此变更"},
    {"conflict", "Changed by someone else meanwhile", "已被他人修改"},
    {"precondition_failed", "The incident changed since you read it (If-Match)",
     "事件在您读取后已被修改（If-Match）"},
    {"store_unavailable", "The store failed; nothing was changed", "存储故障，未做任何修改"},
    {"shutting_down", "The server is shutting down", "服务器正在关闭"},
    {"internal", "Internal error", "内部错误"},
};

/* detail_zh: the detail for a Chinese reader, or NULL: then the Chinese title leads the detail. */
static void problem(struct request *r, unsigned status, const char *code, const char *field,
                    const char *detail, const char *detail_zh)
{
    const char *title = code;
    bool zh = r->lang && strcmp(r->lang, "zh") == 0;
    for (size_t i = 0; i < YJ_ARRAY_LEN(titles); i++)
        if (strcmp(titles[i].code, code) == 0)
            title = zh ? titles[i].zh : titles[i].en;
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title, "status",
                          (int)status, "code", code);
    /* The detail carries the specifics (names, limits, values); in Chinese it is led by the
     * Chinese title so a reader who skips the English still knows what went wrong. */
    if (zh && detail_zh && *detail_zh) {
        json_object_set_new(p, "detail", json_string(detail_zh));
    } else if (!*detail) { /* the title says it all */
        json_object_set_new(p, "detail", json_string(title));
    } else if (zh) {
        char both[1400];
        snprintf(both, sizeof(both), "%s：%s", title, detail);
        json_object_set_new(p, "detail", json_string(both));
    } else {
        json_object_set_new(p, "detail", json_string(detail));
    }
    if (field && *field)
        json_object_set_new(p, "field", json_string(field));
    reply_json(r, status, p);
    r->resp.type = "application/problem+json";
}

void reply_problem(struct request *r, unsigned status, const char *code, const char *field, const char *fmt,
                   ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    problem(r, status, code, field, detail, NULL);
}

void reply_error(struct request *r, const struct yj_err *err)
{
    static const struct {
        int code;
        unsigned status;
        const char *problem;
    } map[] = {{YJ_EINVAL, 400, "invalid_field"},      {YJ_ENOTFOUND, 404, "not_found"},
               {YJ_ESTATE, 409, "invalid_transition"}, {YJ_ECONFLICT, 412, "precondition_failed"},
               {YJ_EDENIED, 403, "forbidden"},         {YJ_ELIMIT, 429, "rate_limited"}};
    const char *field = err->field[0] ? err->field : NULL;
    for (size_t i = 0; i < YJ_ARRAY_LEN(map); i++)
        if (map[i].code == err->code) {
            problem(r, map[i].status, map[i].problem, field, err->msg, err->zh);
            return;
        }
    server_count_store_error(r->srv);
    problem(r, 503, "store_unavailable", NULL, err->msg, err->zh);
}

/* Nesting depth of a JSON text, counted outside strings, so a hostile body cannot make the
 * parser or the checks below recurse without bound. */
static int json_depth(const char *s, size_t len)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *request_json(struct request *r)
{
    const struct yj_config *cfg = server_config(r->srv);
    const char *ct = request_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        reply_problem(r, 415, "unsupported_media_type", NULL, "Content-Type must be application/json");
        return NULL;
    }
    if (!r->body || r->body_len == 0) {
        reply_problem(r, 400, "invalid_json", NULL, "the request body is empty; send a JSON object");
        return NULL;
    }
    if (!yj_utf8_valid(r->body, r->body_len)) {
        reply_problem(r, 400, "invalid_json", NULL, "the body is not valid UTF-8");
        return NULL;
    }
    if (json_depth(r->body, r->body_len) > cfg->limits.json_depth) {
        reply_problem(r, 400, "invalid_json", NULL, "JSON nested deeper than %lld levels",
                      (long long)cfg->limits.json_depth);
        return NULL;
    }
    json_error_t e;
    json_t *v = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (!v) {
        reply_problem(r, 400, "invalid_json", NULL, "line %d, column %d: %s", e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        reply_problem(r, 400, "invalid_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return v;
}

static const char *type_name(int t)
{
    switch (t) {
    case JSON_STRING:
        return "a string";
    case JSON_TRUE:
        return "true or false";
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_INTEGER:
        return "an integer";
    default:
        return "a value";
    }
}

static bool string_ok(struct request *r, const char *name, json_t *v)
{
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (strlen(s) != len) {
        reply_problem(r, 400, "invalid_field", name, "%s contains a NUL character", name);
        return false;
    }
    if ((int64_t)yj_utf8_len(s) > server_config(r->srv)->limits.string) {
        reply_problem(r, 400, "invalid_field", name, "%s is longer than %lld characters", name,
                      (long long)server_config(r->srv)->limits.string);
        return false;
    }
    return true;
}

bool request_check_at(struct request *r, const char *where, json_t *obj, const struct json_field *fields,
                      size_t n)
{
    char name[160];
#define NAME(k) (where ? (snprintf(name, sizeof(name), "%s.%s", where, (k)), name) : (k))
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(fields[i].key, key) == 0)
                break;
        if (i == n) {
            reply_problem(r, 400, "unknown_field", NAME(key), "unknown field \"%s\"", key);
            return false;
        }
        int want = fields[i].type;
        bool ok = want < 0 || (want == JSON_TRUE ? json_is_boolean(v) : (int)json_typeof(v) == want);
        if (json_is_null(v) && !fields[i].required)
            ok = true;
        if (!ok) {
            reply_problem(r, 400, "invalid_field", NAME(key), "%s must be %s", key, type_name(want));
            return false;
        }
        if (json_is_string(v) && !string_ok(r, NAME(key), v))
            return false;
    }
    for (size_t i = 0; i < n; i++)
        if (fields[i].required && !json_object_get(obj, fields[i].key)) {
            reply_problem(r, 400, "invalid_field", NAME(fields[i].key), "%s is required", fields[i].key);
            return false;
        }
#undef NAME
    return true;
}

bool request_check(struct request *r, json_t *obj, const struct json_field *fields, size_t n)
{
    return request_check_at(r, NULL, obj, fields, n);
}

int64_t request_query_int(struct request *r, const char *name, int64_t dflt)
{
    const char *q = request_query(r, name);
    return q ? strtoll(q, NULL, 10) : dflt;
}
