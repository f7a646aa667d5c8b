/* api_directory.c: the directory, the shift swaps and the channels as the console edits them —
 * PUT/DELETE /api/v1/people/{id}, /api/v1/rotations/{id}, /api/v1/channels/{id}, GET
 * /api/v1/channels, GET/POST /api/v1/swaps, POST /api/v1/swaps/{id}/{answer}. The rules are in
 * engine/directory.c and outputs/channels.c; here the bodies are checked and the plan put in force. */
#include "../base/common.h"
#include "../base/err.h"
#include "../engine/directory.h"
#include "../outputs/channels.h"
#include "../plan/plan.h"
#include "../plan/plan_json.h"
#include "http.h"

#include <jansson.h>
#include <sodium.h>

/* After an edit the plan is loaded anew; if that fails the edit is stored but not in force, and
 * the admin must hear it. */
static bool put_in_force(struct request *r)
{
    struct yj_err err = {0};
    if (server_plan_reload(r->srv, &err) == 0)
        return true;
    reply_problem(r, 500, "internal", NULL, "the edit is stored but the plan did not load: %s", err.msg);
    return false;
}

/* The person as GET /api/v1/plan shows them. */
static json_t *person_json(const struct plan *p, const char *id)
{
    json_t *all = plan_json(p), *v, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(all, "people"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
            found = json_incref(v);
    }
    json_decref(all);
    return found ? found : json_null();
}

/* A form's body without its empty boxes (nested objects too): "" is "not given". */
static json_t *given(json_t *b)
{
    json_t *out = json_object(), *v;
    const char *key;
    json_object_foreach(b, key, v) {
        if (json_is_object(v))
            json_object_set_new(out, key, given(v));
        else if (!json_is_string(v) || *json_string_value(v))
            json_object_set(out, key, v);
    }
    return out;
}

static bool valid_id(struct request *r, const char *id)
{
    size_t n = strlen(id);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-';
    if (!ok)
        reply_problem(r, 400, "invalid_field", "id", "an id is 1-64 of a-z, 0-9, _ and -");
    return ok;
}

void api_people_put(struct request *r)
{
    static const struct json_field fields[] = {{"name", JSON_STRING, true},
                                               {"title", JSON_STRING, false},
                                               {"unit", JSON_STRING, true},
                                               {"contacts", JSON_OBJECT, false}};
    static const struct json_field contact_fields[] = {{"phone", JSON_STRING, false},
                                                       {"mobile", JSON_STRING, false},
                                                       {"email", JSON_STRING, false},
                                                       {"wecom", JSON_STRING, false},
                                                       {"dingtalk", JSON_STRING, false}};
    const char *id = r->params[0];
    if (!valid_id(r, id))
        return;
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    json_t *c = json_object_get(b, "contacts");
    if (c && !request_check_at(r, "contacts", c, contact_fields, YJ_ARRAY_LEN(contact_fields))) {
        json_decref(b);
        return;
    }
    /* Empty boxes in the form are "not given". */
    json_t *edit = given(b);
    json_object_set_new(edit, "id", json_string(id));
    json_decref(b);
    char *text = json_dumps(edit, JSON_COMPACT);
    json_decref(edit);
    struct yj_err err = {0};
    if (directory_put(&r->ctx, server_config(r->srv)->plan, "person", id, text, &err) < 0)
        reply_error(r, &err);
    else if (put_in_force(r)) {
        struct plan_ref *pr = server_plan_acquire(r->srv);
        reply_json(r, 200, person_json(pr->plan, id));
        server_plan_release(pr);
    }
    free(text);
}

static void remove_edit(struct request *r, const char *kind)
{
    struct yj_err err = {0};
    if (directory_remove(&r->ctx, server_config(r->srv)->plan, kind, r->params[0], &err) < 0)
        reply_error(r, &err);
    else if (put_in_force(r))
        reply_json(r, 200, json_pack("{s:s, s:b}", "id", r->params[0], "removed", 1));
}

void api_people_remove(struct request *r)
{
    remove_edit(r, "person");
}

void api_rotations_put(struct request *r)
{
    static const struct json_field fields[] = {{"people", JSON_ARRAY, true}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    json_t *people = json_object_get(b, "people"), *v;
    size_t i;
    json_array_foreach(people, i, v) {
        if (!json_is_string(v)) {
            json_decref(b);
            reply_problem(r, 400, "invalid_field", "people", "people is a list of person ids, in duty order");
            return;
        }
    }
    json_object_set_new(b, "id", json_string(r->params[0]));
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct yj_err err = {0};
    if (directory_put(&r->ctx, server_config(r->srv)->plan, "rotation", r->params[0], text, &err) < 0)
        reply_error(r, &err);
    else if (put_in_force(r)) {
        struct plan_ref *pr = server_plan_acquire(r->srv);
        json_t *all = plan_json(pr->plan);
        reply_json(r, 200, json_pack("{s:O}", "roster", json_object_get(all, "roster")));
        json_decref(all);
        server_plan_release(pr);
    }
    free(text);
}

void api_rotations_remove(struct request *r)
{
    remove_edit(r, "rotation");
}

/* ---- swaps ---- */

void api_swaps_list(struct request *r)
{
    struct yj_err err = {0};
    json_t *j = directory_swaps_json(&r->ctx, request_query(r, "status"), &err);
    if (!j)
        reply_error(r, &err);
    else
        reply_json(r, 200, j);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void reply_swap(struct request *r, int64_t id)
{
    struct yj_err err = {0};
    json_t *one = directory_swap_json(&r->ctx, id, &err);
    if (one)
        reply_json(r, 200, one);
    else
        reply_error(r, &err);
}

void api_swaps_create(struct request *r)
{
    static const struct json_field fields[] = {{"rotation", JSON_STRING, true},  {"date", JSON_STRING, true},
                                               {"with", JSON_STRING, true},      {"back_date", JSON_STRING, false},
                                               {"reason", JSON_STRING, false},   {"requester", JSON_STRING, false},
                                               {"on_behalf", JSON_STRING, false}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    r->decider.on_behalf = str(b, "on_behalf");
    struct directory_swap_ask ask = {.rotation = str(b, "rotation"),
                                     .date = str(b, "date"),
                                     .requester = str(b, "requester"),
                                     .taker = str(b, "with"),
                                     .back_date = str(b, "back_date"),
                                     .reason = str(b, "reason")};
    struct yj_err err = {0};
    int64_t id = 0;
    if (directory_swap_ask(&r->ctx, &ask, &id, &err) < 0)
        reply_error(r, &err);
    else
        reply_swap(r, id);
    r->decider.on_behalf = NULL;
    json_decref(b);
}

void api_swaps_answer(struct request *r)
{
    static const struct json_field fields[] = {{"on_behalf", JSON_STRING, false}};
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    if (*end || id <= 0) {
        reply_problem(r, 404, "not_found", NULL, "no shift swap %s", r->params[0]);
        return;
    }
    const char *answer = r->params[1];
    if (strcmp(answer, "accept") != 0 && strcmp(answer, "decline") != 0 && strcmp(answer, "withdraw") != 0) {
        reply_problem(r, 404, "not_found", NULL, "a swap is answered with accept, decline or withdraw");
        return;
    }
    /* The body is optional: only an administrator's 代录 needs one. */
    json_t *b = r->body_len ? request_json(r) : json_object();
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    r->decider.on_behalf = str(b, "on_behalf");
    struct yj_err err = {0};
    if (directory_swap_answer(&r->ctx, server_config(r->srv)->plan, id, answer, &err) < 0)
        reply_error(r, &err);
    else if (strcmp(answer, "accept") != 0 || put_in_force(r))
        reply_swap(r, id);
    r->decider.on_behalf = NULL;
    json_decref(b);
}

/* ---- channels ---- */

void api_channels_list(struct request *r)
{
    struct yj_err err = {0};
    json_t *j = channels_json(server_config(r->srv), r->store, &err);
    if (!j)
        reply_error(r, &err);
    else
        reply_json(r, 200, j);
}

void api_channels_put(struct request *r)
{
    static const struct json_field fields[] = {
        {"type", JSON_STRING, true},   {"url", JSON_STRING, true},   {"secret", JSON_STRING, false},
        {"user", JSON_STRING, false},  {"from", JSON_STRING, false}, {"plain", JSON_TRUE, false},
        {"body", JSON_STRING, false},  {"timeout", JSON_STRING, false}};
    const char *id = r->params[0];
    if (!valid_id(r, id))
        return;
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    /* The secret is kept apart from the body (never shown again); empty boxes are "not given". */
    char *secret = str(b, "secret") ? xstrdup(str(b, "secret")) : NULL;
    json_object_del(b, "secret");
    json_t *body = given(b);
    json_object_set_new(body, "id", json_string(id));
    json_decref(b);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct yj_err err = {0};
    if (channels_put(&r->ctx, server_config(r->srv), id, text, secret, &err) < 0) {
        reply_error(r, &err);
    } else {
        server_channels_changed(r->srv);
        api_channels_list(r);
    }
    if (secret) {
        sodium_memzero(secret, strlen(secret));
        free(secret);
    }
    free(text);
}

void api_channels_remove(struct request *r)
{
    struct yj_err err = {0};
    if (channels_remove(&r->ctx, server_config(r->srv), r->params[0], &err) < 0) {
        reply_error(r, &err);
        return;
    }
    server_channels_changed(r->srv);
    api_channels_list(r);
}
