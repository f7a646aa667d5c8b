/* api_events.c: GET /api/v1/events, a Server-Sent Events stream of incident events, filtered
 * by what the caller may see. Events come from the durable `events` table, so a client that
 * reconnects with Last-Event-ID gets everything it missed, whichever process wrote it. A stream
 * with nothing to send parks its connection (no thread waits) until a write or the 1 s tick. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../store/store.h"
#include "http.h"

#include <microhttpd.h>

#define KEEPALIVE_MS (15 * YJ_MS_PER_SEC)
#define RECHECK_MS (5 * YJ_MS_PER_SEC)

struct sse {
    struct server *srv;
    struct MHD_Connection *conn;
    struct identity id;
    int64_t last_id;
    char *buf; /* formatted, not yet sent */
    size_t len, off;
    int64_t last_write;
    int64_t last_check; /* when the credential was last found still standing */
};

/* A stream lives only as long as what opened it: logging out, an ended or expired session, a
 * disabled account, a changed role or unit, a revoked token end it — checked before any event
 * goes out and every few seconds meanwhile. An open console counts as use of its session. */
static bool still_allowed(struct sse *s, struct store *st, bool sending)
{
    int64_t now = yj_now_ms();
    if (!sending && now - s->last_check < RECHECK_MS)
        return true;
    if (!auth_still_valid(s->srv, st, &s->id))
        return false;
    if (s->id.kind == ID_SESSION && now - s->last_check >= YJ_MS_PER_MIN) {
        struct yj_err err = {0};
        if (store_session_touch(st, s->id.session_id, now, &err) < 0)
            server_count_store_error(s->srv);
    }
    s->last_check = now;
    return true;
}

static bool visible(const struct sse *s, const struct store_event *e)
{
    if (s->id.kind != ID_SESSION || s->id.role_bit != ROLE_OFFICER)
        return true;
    return (s->id.unit[0] && e->unit && strcmp(e->unit, s->id.unit) == 0) ||
           (e->reporter && strcmp(e->reporter, s->id.actor) == 0);
}

struct fill {
    struct sse *s;
    FILE *out;
};

static int add_event(const struct store_event *e, void *ud)
{
    struct fill *f = ud;
    f->s->last_id = e->id;
    if (visible(f->s, e))
        fprintf(f->out, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)e->id, e->kind, e->payload);
    return 0;
}

static ssize_t copy_out(struct sse *s, char *buf, size_t max)
{
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    if (s->off == s->len) {
        free(s->buf);
        s->buf = NULL;
        s->len = s->off = 0;
    }
    s->last_write = yj_now_ms();
    return (ssize_t)n;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct sse *s = cls;
    if (s->buf)
        return copy_out(s, buf, max);
    if (server_stopping(s->srv))
        return MHD_CONTENT_READER_END_OF_STREAM;
    struct yj_err err = {0};
    struct store *st = server_store(s->srv, &err);
    if (!st)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (!still_allowed(s, st, false))
        return MHD_CONTENT_READER_END_OF_STREAM;
    struct fill f = {.s = s};
    f.out = open_memstream(&s->buf, &s->len);
    int rc = store_event_list(st, s->last_id, 200, add_event, &f, &err);
    fclose(f.out);
    if (rc < 0) {
        server_count_store_error(s->srv);
        free(s->buf);
        s->buf = NULL;
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->len) {
        if (!still_allowed(s, st, true))
            return MHD_CONTENT_READER_END_OF_STREAM;
        return copy_out(s, buf, max);
    }
    free(s->buf);
    s->buf = NULL;
    if (yj_now_ms() - s->last_write >= KEEPALIVE_MS) {
        /* A comment line keeps proxies from closing an idle stream and finds dead clients. */
        static const char ka[] = ": keepalive\n\n";
        s->buf = xstrdup(ka);
        s->len = sizeof(ka) - 1;
        return copy_out(s, buf, max);
    }
    server_stream_park(s->srv, s->conn);
    return 0;
}

static void sse_free(void *cls)
{
    struct sse *s = cls;
    free(s->buf);
    free(s);
}

void api_events(struct request *r)
{
    struct sse *s = xcalloc(1, sizeof(*s));
    s->srv = r->srv;
    s->conn = r->conn;
    s->id = r->id;
    struct yj_err err = {0};
    const char *last = request_header(r, "Last-Event-ID");
    if (!last)
        last = request_query(r, "last_event_id");
    if (last) {
        char *end;
        long long v = strtoll(last, &end, 10);
        if (*end || v < 0) {
            free(s);
            reply_problem(r, 400, "invalid_field", "Last-Event-ID", "Last-Event-ID must be an event id");
            return;
        }
        s->last_id = v;
    } else if (store_event_last(r->store, &s->last_id, &err) < 0) {
        free(s);
        reply_error(r, &err);
        return;
    }
    /* Tell the browser how soon to reconnect, first thing. */
    s->buf = xstrdup("retry: 2000\n\n");
    s->len = strlen(s->buf);
    s->last_write = s->last_check = yj_now_ms();
    r->resp.stream = server_stream_response(r, s, sse_read, sse_free);
    if (!r->resp.stream) {
        sse_free(s);
        reply_problem(r, 500, "internal", NULL, "cannot open the stream");
        return;
    }
    r->resp.status = 200;
    r->resp.type = "text/event-stream";
}
