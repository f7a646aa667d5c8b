/* api_signals.c: POST /api/v1/signals — machines (sensors in the machine room, other tools, log
 * shippers) hand signals to the engine. A 202 means the whole batch is durable in the store; it
 * is then processed at once (and again at the next start if the process dies in between). */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/logline.h"
#include "../base/timeutil.h"
#include "../engine/detect.h"
#include "../store/store.h"
#include "http.h"

#define SIGNALS_MAX 1000

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void api_signals_create(struct request *r)
{
    static const struct json_field top[] = {{"signals", JSON_ARRAY, true}};
    static const struct json_field one[] = {
        {"source", JSON_STRING, true},  {"time", -1, false},           {"message", JSON_STRING, true},
        {"program", JSON_STRING, false}, {"host", JSON_STRING, false}, {"asset", JSON_STRING, false},
        {"fields", JSON_OBJECT, false},
    };
    json_t *b = request_json(r);
    struct store_signal *sigs = NULL;
    char **fields_text = NULL;
    char **texts = NULL; /* per signal: program, message, host split from a whole line */
    size_t n = 0;
    if (!b || !request_check(r, b, top, YJ_ARRAY_LEN(top)))
        goto out;
    json_t *arr = json_object_get(b, "signals");
    n = json_array_size(arr);
    if (n == 0 || n > SIGNALS_MAX) {
        reply_problem(r, n ? 413 : 400, n ? "payload_too_large" : "invalid_field", "signals",
                      "a batch holds 1 to %d signals", SIGNALS_MAX);
        n = 0;
        goto out;
    }
    sigs = xcalloc(n, sizeof(*sigs));
    fields_text = xcalloc(n, sizeof(char *));
    texts = xcalloc(3 * n, sizeof(char *));
    int64_t now = yj_now_ms();
    struct logline_clock clock;
    logline_clock_init(&clock, now);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        char where[48];
        snprintf(where, sizeof(where), "signals[%zu]", i);
        if (!json_is_object(s)) {
            reply_problem(r, 400, "invalid_field", where, "%s must be an object", where);
            goto out;
        }
        /* The field is named with its place in the batch: signals[3].message. */
        if (!request_check_at(r, where, s, one, YJ_ARRAY_LEN(one)))
            goto out;
        struct store_signal *x = &sigs[i];
        x->received_at = now;
        x->source = str(s, "source");
        x->message = str(s, "message");
        x->program = str(s, "program");
        x->host = str(s, "host");
        x->asset = str(s, "asset");
        json_t *t = json_object_get(s, "time");
        x->time = now;
        if (json_is_integer(t)) {
            x->time = json_integer_value(t);
            if (!yj_time_in_range(x->time)) {
                char named[64];
                snprintf(named, sizeof(named), "%s.time", where);
                reply_problem(r, 400, "invalid_field", named, "time is out of range: after 1970 and before the year 10000");
                goto out;
            }
        } else if (json_is_string(t)) {
            struct yj_err err = {0};
            if (yj_time_parse(json_string_value(t), &x->time, &err) < 0) {
                char named[64];
                snprintf(named, sizeof(named), "%s.time", where);
                reply_problem(r, 400, "invalid_field", named, "%s", err.msg);
                goto out;
            }
        } else if (t && !json_is_null(t)) {
            char named[64];
            snprintf(named, sizeof(named), "%s.time", where);
            reply_problem(r, 400, "invalid_field", named, "time is RFC 3339 text or epoch milliseconds");
            goto out;
        }
        /* A whole syslog line ("<38>Dec  3 08:00:00 web1 sshd[7]: Failed ...") is split by the same
         * parser as the receiver and the log files: the rules read the program's message. What
         * the sender gave beside it (host, time) stands; the line's program is the program. */
        struct logline ll;
        logline_parse(x->message, strlen(x->message), &clock, &ll);
        if (ll.program) {
            char **own = &texts[3 * i];
            x->program = own[0] = xstrndup(ll.program, ll.program_len);
            x->message = own[1] = xstrndup(ll.msg, ll.msg_len);
            if (!x->host && ll.host_len)
                x->host = own[2] = xstrndup(ll.host, ll.host_len);
            if ((!t || json_is_null(t)) && ll.time)
                x->time = ll.time;
        }
        json_t *fields = json_object_get(s, "fields");
        /* As the schema says: up to 32 named strings (what a sensor or shipper knows beside the
         * line: ip, user, sensor, value ...). */
        if (fields && json_object_size(fields) > 32) {
            char named[64];
            snprintf(named, sizeof(named), "%s.fields", where);
            reply_problem(r, 400, "invalid_field", named, "%s holds at most 32 fields", named);
            goto out;
        }
        for (void *it = fields ? json_object_iter(fields) : NULL; it; it = json_object_iter_next(fields, it)) {
            json_t *v = json_object_iter_value(it);
            const char *k = json_object_iter_key(it);
            if (!json_is_string(v) || strlen(k) > 64 || json_string_length(v) > 4096) {
                char named[160];
                snprintf(named, sizeof(named), "%s.fields.%.64s", where, k);
                reply_problem(r, 400, "invalid_field", named,
                              "%s must be a string of at most 4096 bytes (names at most 64)", named);
                goto out;
            }
        }
        fields_text[i] = fields ? json_dumps(fields, JSON_COMPACT) : NULL;
        x->fields = fields_text[i];
    }
    struct yj_err err = {0};
    if (detector_store(&r->ctx, sigs, n, NULL, 0, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    /* Durable now. Processing failures are logged and retried at the next start; they do not
     * turn an accepted batch into an error. */
    size_t done = 0;
    struct detector *d = server_detector(r->srv);
    if (d && detector_process_pending(d, &r->ctx, &done, &err) < 0)
        server_count_store_error(r->srv);
    reply_json(r, 202, json_pack("{s:I}", "accepted", (json_int_t)n));
    server_wake_streams(r->srv);
    server_poke_clock(r->srv);
out:
    for (size_t i = 0; fields_text && i < n; i++)
        free(fields_text[i]);
    free(fields_text);
    for (size_t i = 0; texts && i < 3 * n; i++)
        free(texts[i]);
    free(texts);
    free(sigs);
    json_decref(b);
}

/* fields: what the signal is about — the rule's extraction when a rule read it, else what the
 * sender gave; sent_fields: the sender's own, when a rule's extraction stands in for them. */
static int add_signal(const struct store_signal *s, void *ud)
{
    json_t *sent = s->fields ? json_loads(s->fields, 0, NULL) : NULL;
    json_t *extracted = s->extracted ? json_loads(s->extracted, 0, NULL) : NULL;
    if (!sent)
        sent = json_object();
    json_t *o = json_pack("{s:I, s:o, s:o, s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:s?}", "id", (json_int_t)s->id,
                          "time", yj_json_time(s->time), "received_at", yj_json_time(s->received_at), "source",
                          s->source, "program", s->program, "host", s->host, "asset", s->asset, "message",
                          s->message, "rule", s->rule, "incident", s->incident);
    if (extracted) {
        json_object_set_new(o, "fields", extracted);
        if (json_object_size(sent))
            json_object_set(o, "sent_fields", sent);
        json_decref(sent);
    } else {
        json_object_set_new(o, "fields", sent);
    }
    json_array_append_new(ud, o);
    return 0;
}

void api_signals_list(struct request *r)
{
    int64_t limit = request_query_int(r, "limit", 20);
    const char *source = request_query(r, "source");
    json_t *items = json_array();
    struct yj_err err = {0};
    if (store_signal_latest(r->ctx.store, source, (int)limit, add_signal, items, &err) < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}
