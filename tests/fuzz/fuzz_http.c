/* libFuzzer harness for the request line and headers as the server sees them: the input goes
 * down a socket into a real libmicrohttpd daemon whose handler applies the server's own checks
 * (edge_check_request, with the target as sent from the request-line callback), and the answer
 * is read back. Besides crashes under the sanitizers it checks that a target holding %00 is
 * never let through. */
#include "base/common.h"
#include "http/edge.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct req {
    char *raw;
    bool seen;
};

static void *on_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct req *r = xcalloc(1, sizeof(*r));
    r->raw = xstrdup(uri ? uri : "");
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)upload;
    struct req *r = *con_cls;
    if (!r->seen) {
        r->seen = true;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    const char *code = NULL;
    char why[160];
    unsigned status = edge_check_request(conn, r->raw, version, &code, why, sizeof(why));
    /* The invariant: what the server lets through never carries a NUL in its target. */
    if (!status && strstr(r->raw, "%00"))
        abort();
    struct MHD_Response *resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_queue_response(conn, status ? status : 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *r = *con_cls;
    if (r) {
        free(r->raw);
        free(r);
    }
    *con_cls = NULL;
}

static struct MHD_Daemon *daemon_once(void)
{
    static struct MHD_Daemon *d;
    if (!d)
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC, 0, NULL, NULL,
                             on_request, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_line, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                             on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 2u, MHD_OPTION_END);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Daemon *d = daemon_once();
    int sv[2];
    if (!d || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    if (MHD_add_connection(d, sv[1], (struct sockaddr *)&peer, sizeof(peer)) != MHD_YES) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    for (size_t off = 0; off < size;) {
        ssize_t n = write(sv[0], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);
    char buf[4096];
    struct pollfd p = {.fd = sv[0], .events = POLLIN};
    while (poll(&p, 1, 3000) > 0 && read(sv[0], buf, sizeof(buf)) > 0)
        ;
    close(sv[0]);
    return 0;
}
