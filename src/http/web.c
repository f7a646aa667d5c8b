/* web.c: the console's static files, embedded into the binary from web/ at build (no CDN: the
 * console works on an isolated intranet). Every page of the console is a real path answered with
 * web/index.html (a link in a WeCom message opens /incidents/YJ-2026-0001 in one tap); everything
 * else the console needs is under a few fixed paths, and anything else outside /api/ is 404. The
 * Content-Security-Policy that goes with every response is set in httpd.c. */
#include "../base/common.h"
#include "../base/embed.h"
#include "http.h"

#include <sodium.h>

/* URL prefix → embedded directory. ECharts is vendored in web/vendor (scripts/vendor-web.sh). */
static const struct {
    const char *url, *dir;
} mounts[] = {
    {"/vendor/echarts.min.js", "web/vendor/echarts/echarts.min.js"},
    {"/", "web/public/"},
};

/* The console's pages: the same list as the router in web/public/js/app.js. "NAME/" also takes
 * one path segment after it (an incident's number, a monitor's id). */
static const char *const console_pages[] = {"/",         "/incidents", "/incidents/", "/report",   "/password",
                                            "/plan",     "/duty",      "/monitors",    "/monitors/", "/users",
                                            "/audit",    "/ack/",      "/directory",   "/channels"};

static bool console_page(const char *url)
{
    for (size_t i = 0; i < YJ_ARRAY_LEN(console_pages); i++) {
        const char *p = console_pages[i];
        size_t n = strlen(p);
        if (strcmp(url, p) == 0 && (n == 1 || p[n - 1] != '/'))
            return true;
        if (n > 1 && p[n - 1] == '/' && strncmp(url, p, n) == 0 && url[n] && !strchr(url + n, '/'))
            return true;
    }
    return false;
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},    {".svg", "image/svg+xml"},
        {".png", "image/png"},                  {".json", "application/json"},
        {".ico", "image/x-icon"},               {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < YJ_ARRAY_LEN(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

bool web_serve(struct request *r)
{
    if (strncmp(r->url, "/api/", 5) == 0 || strcmp(r->url, "/healthz") == 0 || strcmp(r->url, "/metrics") == 0)
        return false;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return false;
    char name[256] = "";
    if (console_page(r->url))
        snprintf(name, sizeof(name), "web/public/index.html");
    for (size_t i = 0; i < YJ_ARRAY_LEN(mounts) && !name[0]; i++) {
        size_t n = strlen(mounts[i].url);
        if (mounts[i].url[n - 1] != '/') {
            if (strcmp(r->url, mounts[i].url) == 0)
                snprintf(name, sizeof(name), "%s", mounts[i].dir);
        } else if (strncmp(r->url, mounts[i].url, n) == 0) {
            const char *rest = r->url + n;
            /* No way out of the directory, no hidden files. */
            if (strstr(rest, "..") || strstr(rest, "//") || rest[0] == '.' || strlen(rest) > 200)
                break;
            snprintf(name, sizeof(name), "%s%s", mounts[i].dir, *rest ? rest : "index.html");
        }
    }
    const struct yj_embed *e = name[0] ? yj_embed_find(name) : NULL;
    if (!e) {
        reply_problem(r, 404, "not_found", NULL, "no such page: %s", r->url);
        return true;
    }
    /* Revalidated each time (Cache-Control: no-cache), answered 304 when unchanged: a new binary
     * never meets a stale script, and the 1 MiB of ECharts is not sent again. */
    unsigned char h[8];
    crypto_generichash(h, sizeof(h), e->data, yj_embed_len(e), NULL, 0);
    char hex[2 * sizeof(h) + 1], etag[sizeof(hex) + 2];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(etag, sizeof(etag), "\"%s\"", hex);
    snprintf(r->resp.etag, sizeof(r->resp.etag), "%s", etag);
    r->resp.cache = "no-cache";
    const char *inm = request_header(r, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        reply_static(r, 304, NULL, "", 0);
        return true;
    }
    reply_static(r, 200, content_type(name), (const char *)e->data, yj_embed_len(e));
    return true;
}
