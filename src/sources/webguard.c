/* webguard.c: one page through libxml2's HTML parser (recovering from broken markup, no network),
 * a walk that carries "hidden" down the tree, and Hyperscan over the normalised text. */
#include "../base/common.h"
#include "../base/embed.h"
#include "../base/err.h"
#include "../base/selector.h"
#include "../base/text.h"
#include "webguard.h"

#include <ctype.h>
#include <dirent.h>
#include <hs/hs.h>
#include <opencc/opencc.h>
#include <pthread.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <strings.h>

#define EVIDENCE_MAX 400
#define DIFF_LINES 30

struct webguard_words {
    hs_database_t *db;
    char **words;      /* normalised and simplified, by id */
    char **categories; /* by id */
    size_t n;
    opencc_t t2s;      /* traditional → simplified (OpenCC's t2s); NULL when its data is missing */
    pthread_mutex_t t2s_lock; /* one converter, not meant for two threads at once */
};

/* s (len bytes) in simplified characters, for matching 繁體 text against lists kept in 简体;
 * takes ownership of s and returns the text to use (s itself when there is no converter). */
static char *simplified(struct webguard_words *w, char *s, size_t *len)
{
    if (!w || !w->t2s || !*len)
        return s;
    pthread_mutex_lock(&w->t2s_lock);
    char *c = opencc_convert_utf8(w->t2s, s, *len);
    pthread_mutex_unlock(&w->t2s_lock);
    if (!c)
        return s;
    free(s);
    char *out = xstrdup(c);
    opencc_convert_utf8_free(c);
    *len = strlen(out);
    return out;
}

/* ---- normalisation ---- */

#define NOT_A_CHARACTER UINT32_MAX

/* One character; NOT_A_CHARACTER for a byte that does not start a well-formed one (dropped, so the
 * normalised text is never longer than the input). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    *cp = NOT_A_CHARACTER;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n = s[0] >= 0xF8 ? 0 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || n > len)
        return 1;
    uint32_t c = s[0] & (0xFF >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 1;
    *cp = c;
    return n;
}

static size_t utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

char *webguard_normalize(const char *s, size_t len, size_t *out_len)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        i += utf8_decode((const unsigned char *)s + i, len - i, &c);
        if (c == NOT_A_CHARACTER)
            continue;
        if (c >= 0xFF01 && c <= 0xFF5E) /* full-width ASCII */
            c -= 0xFEE0;
        if (c == 0x3000 || c == 0x200B || c == 0x200C || c == 0x200D || c == 0xFEFF || c == 0xB7 || c == 0x30FB ||
            (c < 0x80 && (isspace((int)c) || strchr("*-_.|/\\", (int)c))))
            continue; /* spaces, zero-width characters and separators put between characters */
        if (c < 0x80)
            c = (uint32_t)tolower((int)c);
        o += utf8_encode(c, out + o);
    }
    out[o] = 0;
    if (out_len)
        *out_len = o;
    return out;
}

/* ---- word lists ---- */

static void add_list(struct webguard_words *w, const char *name, const char *text, size_t len)
{
    char category[64];
    const char *base = strrchr(name, '/');
    snprintf(category, sizeof(category), "%.*s", (int)strcspn(base ? base + 1 : name, "."), base ? base + 1 : name);
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        if (n > 11 && strncmp(p, "# category:", 11) == 0) {
            const char *v = p + 11;
            while (*v == ' ')
                v++;
            snprintf(category, sizeof(category), "%.*s", (int)(n - (size_t)(v - p)), v);
        } else if (n && p[0] != '#') {
            size_t nl_len;
            char *norm = simplified(w, webguard_normalize(p, n, &nl_len), &nl_len);
            if (nl_len) {
                w->words = xrealloc(w->words, (w->n + 1) * sizeof(char *));
                w->categories = xrealloc(w->categories, (w->n + 1) * sizeof(char *));
                w->words[w->n] = norm;
                w->categories[w->n] = xstrdup(category);
                w->n++;
            } else {
                free(norm);
            }
        }
        p = nl ? nl + 1 : end;
    }
}

int webguard_words_load(const char *dir, struct webguard_words **out, struct yj_err *err)
{
    struct webguard_words *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->t2s_lock, NULL);
    w->t2s = opencc_open("t2s.json");
    if (w->t2s == (opencc_t)-1)
        w->t2s = NULL; /* without OpenCC's data: traditional text is matched only by traditional words */
    if (!dir) {
        for (size_t i = 0; i < yj_embedded_count; i++) {
            const struct yj_embed *e = &yj_embedded[i];
            size_t nl = strlen(e->name);
            if (strncmp(e->name, "rules/words/", 12) == 0 && nl > 4 && strcmp(e->name + nl - 4, ".txt") == 0)
                add_list(w, e->name, (const char *)e->data, yj_embed_len(e));
        }
    } else {
        DIR *d = opendir(dir);
        if (!d) {
            int saved = errno;
            webguard_words_free(w);
            return yj_err_set(err, YJ_EIO, "%s: cannot read the word lists: %s", dir, strerror(saved));
        }
        for (struct dirent *de; (de = readdir(d));) {
            size_t nl = strlen(de->d_name);
            if (nl < 5 || strcmp(de->d_name + nl - 4, ".txt") != 0)
                continue;
            char *path = xasprintf("%s/%s", dir, de->d_name);
            FILE *f = fopen(path, "rb");
            char *buf = xmalloc(1 << 20);
            size_t n = f ? fread(buf, 1, (1 << 20) - 1, f) : 0;
            if (f)
                fclose(f);
            add_list(w, path, buf, n);
            free(buf);
            free(path);
        }
        closedir(d);
    }
    if (w->n) {
        unsigned *ids = xcalloc(w->n, sizeof(unsigned)), *flags = xcalloc(w->n, sizeof(unsigned));
        size_t *lens = xcalloc(w->n, sizeof(size_t));
        for (size_t i = 0; i < w->n; i++) {
            ids[i] = (unsigned)i;
            flags[i] = HS_FLAG_SINGLEMATCH;
            lens[i] = strlen(w->words[i]);
        }
        hs_compile_error_t *ce = NULL;
        if (hs_compile_lit_multi((const char *const *)w->words, flags, ids, lens, (unsigned)w->n, HS_MODE_BLOCK, NULL,
                                 &w->db, &ce) != HS_SUCCESS) {
            yj_err_set(err, YJ_EINVAL, "word lists: %s", ce ? ce->message : "Hyperscan refused them");
            hs_free_compile_error(ce);
            free(ids);
            free(flags);
            free(lens);
            webguard_words_free(w);
            return YJ_EINVAL;
        }
        free(ids);
        free(flags);
        free(lens);
    }
    *out = w;
    return 0;
}

void webguard_words_free(struct webguard_words *w)
{
    if (!w)
        return;
    hs_free_database(w->db);
    if (w->t2s)
        opencc_close(w->t2s);
    pthread_mutex_destroy(&w->t2s_lock);
    for (size_t i = 0; i < w->n; i++) {
        free(w->words[i]);
        free(w->categories[i]);
    }
    free(w->words);
    free(w->categories);
    free(w);
}

/* ---- the page ---- */

struct page {
    char host[256];
    char *text;          /* visible text, one line per block */
    size_t text_len, text_cap;
    char *all_text;      /* every text node, hidden ones too (for words) */
    size_t all_len, all_cap;
    char **srcs;         /* script and iframe sources */
    size_t n_srcs;
    char **hidden_classes;
    size_t n_hidden_classes;
    struct webguard_report *report;
};

static void grow_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
}

static void add_finding(struct webguard_report *r, const char *kind, const char *category, char *detail,
                        const char *evidence)
{
    r->items = xrealloc(r->items, (r->n + 1) * sizeof(*r->items));
    struct webguard_finding *f = &r->items[r->n++];
    f->kind = kind;
    snprintf(f->category, sizeof(f->category), "%s", category);
    f->detail = detail;
    size_t n = strlen(evidence ? evidence : "");
    if (n > EVIDENCE_MAX) { /* cut at a character boundary */
        n = EVIDENCE_MAX;
        while (n && ((unsigned char)evidence[n] & 0xC0) == 0x80)
            n--;
    }
    f->evidence = xstrndup(evidence ? evidence : "", n);
}

/* The host of an absolute http(s) URL, lower-cased; "" for a relative one. */
static void host_of(const char *url, char *host, size_t cap)
{
    host[0] = 0;
    const char *p = NULL;
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "//", 2) == 0)
        p = url + 2;
    if (!p)
        return;
    size_t n = strcspn(p, "/:?#");
    snprintf(host, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    for (char *c = host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
}

static bool outside(const struct page *pg, const char *url)
{
    char h[256];
    host_of(url, h, sizeof(h));
    return h[0] && strcmp(h, pg->host) != 0;
}

/* The style's declarations without spaces, lower-cased. */
static char *squeeze(const char *s)
{
    char *o = xmalloc(strlen(s) + 1), *q = o;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            *q++ = (char)tolower((unsigned char)*s);
    *q = 0;
    return o;
}

/* Why a style hides what it applies to, or NULL. */
static const char *hides(const char *style)
{
    if (!style)
        return NULL;
    char *s = squeeze(style);
    const char *why = NULL;
    const char *p;
    if (strstr(s, "display:none"))
        why = "display:none";
    else if (strstr(s, "visibility:hidden"))
        why = "visibility:hidden";
    else if ((p = strstr(s, "font-size:0")) && !isdigit((unsigned char)p[11]) && p[11] != '.')
        why = "font-size:0";
    else if ((p = strstr(s, "opacity:0")) && (p[9] == ';' || p[9] == 0 || p[9] == '!'))
        why = "opacity:0";
    else if ((strstr(s, "height:0") || strstr(s, "width:0") || strstr(s, "height:1px") || strstr(s, "width:1px")) &&
             strstr(s, "overflow:hidden"))
        why = "零尺寸的框";
    else {
        static const char *const offs[] = {"left:-", "top:-", "text-indent:-", "margin-left:-", "margin-top:-"};
        for (size_t i = 0; i < YJ_ARRAY_LEN(offs) && !why; i++)
            if ((p = strstr(s, offs[i])) && strtol(p + strlen(offs[i]), NULL, 10) >= 500)
                why = "移出屏幕之外";
    }
    if (!why) {
        /* The text in the background's own colour. */
        const char *c = strstr(s, ";color:") ? strstr(s, ";color:") + 1 : strncmp(s, "color:", 6) == 0 ? s : NULL;
        const char *b = strstr(s, "background-color:") ? strstr(s, "background-color:") + 17
                        : strstr(s, "background:")     ? strstr(s, "background:") + 11
                                                       : NULL;
        if (c && b) {
            c += 6;
            size_t cl = strcspn(c, ";"), bl = strcspn(b, ";");
            if (cl && cl == bl && strncmp(c, b, cl) == 0)
                why = "与背景同色";
        }
    }
    free(s);
    return why;
}

/* Class names that <style> rules hide (".x{display:none}"), so class="x" hides too. */
static void collect_hidden_classes(struct page *pg, const char *css)
{
    for (const char *p = css; (p = strchr(p, '{'));) {
        const char *close = strchr(p, '}');
        if (!close)
            break;
        char *body = xstrndup(p + 1, (size_t)(close - p - 1));
        if (hides(body)) {
            /* the selectors before '{' back to the previous '}' */
            const char *sel = p;
            while (sel > css && sel[-1] != '}')
                sel--;
            for (const char *d = sel; d < p; d++) {
                if (*d != '.')
                    continue;
                size_t n = 0;
                while (d + 1 + n < p && (isalnum((unsigned char)d[1 + n]) || d[1 + n] == '-' || d[1 + n] == '_'))
                    n++;
                if (n) {
                    pg->hidden_classes = xrealloc(pg->hidden_classes, (pg->n_hidden_classes + 1) * sizeof(char *));
                    pg->hidden_classes[pg->n_hidden_classes++] = xstrndup(d + 1, n);
                }
            }
        }
        free(body);
        p = close;
    }
}

static const char *class_hides(const struct page *pg, const char *cls)
{
    if (!cls)
        return NULL;
    for (size_t i = 0; i < pg->n_hidden_classes; i++) {
        const char *c = cls;
        size_t n = strlen(pg->hidden_classes[i]);
        while ((c = strstr(c, pg->hidden_classes[i]))) {
            bool starts = c == cls || isspace((unsigned char)c[-1]), ends = !c[n] || isspace((unsigned char)c[n]);
            if (starts && ends)
                return "页面样式隐藏的 class";
            c += n;
        }
    }
    return NULL;
}

static char *attr(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *s = v ? xstrdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static bool is_block(const char *tag)
{
    static const char *const blocks[] = {"p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                                         "article", "header", "footer", "title", "td", "th", "dd", "dt", "ul", "ol"};
    for (size_t i = 0; i < YJ_ARRAY_LEN(blocks); i++)
        if (strcasecmp(tag, blocks[i]) == 0)
            return true;
    return false;
}

/* Links written into the page by a script: document.write("<a href=…>"). */
static void script_links(struct page *pg, const char *code)
{
    if (!strstr(code, "document.write") && !strstr(code, "innerHTML"))
        return;
    for (const char *p = code; (p = strstr(p, "href="));) {
        p += 5;
        while (*p == '\\' || *p == '"' || *p == '\'')
            p++;
        size_t n = strcspn(p, "\"'\\ >");
        char *url = xstrndup(p, n);
        if (outside(pg, url))
            add_finding(pg->report, "hidden_link", "暗链植入",
                        xasprintf("脚本向页面写入指向外部站点 %s 的链接", url), code);
        free(url);
        p += n;
    }
}

static void walk(struct page *pg, xmlNodePtr node, const char *hidden)
{
    for (xmlNodePtr n = node; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            const char *t = (const char *)n->content;
            if (!t)
                continue;
            size_t len = strlen(t);
            grow_append(&pg->all_text, &pg->all_len, &pg->all_cap, t, len);
            if (!hidden)
                grow_append(&pg->text, &pg->text_len, &pg->text_cap, t, len);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *tag = (const char *)n->name;
        if (strcasecmp(tag, "style") == 0) {
            xmlChar *css = xmlNodeGetContent(n);
            if (css)
                collect_hidden_classes(pg, (const char *)css);
            xmlFree(css);
            continue;
        }
        char *style = attr(n, "style"), *cls = attr(n, "class");
        const char *why = hidden;
        if (!why)
            why = hides(style);
        if (!why)
            why = class_hides(pg, cls);
        if (!why && xmlHasProp(n, (const xmlChar *)"hidden"))
            why = "hidden 属性";
        if (!why && strcasecmp(tag, "marquee") == 0) {
            char *h = attr(n, "height"), *w = attr(n, "width"), *amount = attr(n, "scrollamount");
            if ((h && strtol(h, NULL, 10) <= 2) || (w && strtol(w, NULL, 10) <= 2) ||
                (amount && strtol(amount, NULL, 10) >= 500))
                why = "过小或滚动过快的 marquee";
            free(h);
            free(w);
            free(amount);
        }
        if (!why && strcasecmp(tag, "iframe") == 0) { /* <iframe width=0 height=0>: no style needed */
            char *h = attr(n, "height"), *w = attr(n, "width");
            if ((h && strtol(h, NULL, 10) <= 1) || (w && strtol(w, NULL, 10) <= 1))
                why = "零尺寸的框架";
            free(h);
            free(w);
        }
        if (strcasecmp(tag, "script") == 0 || strcasecmp(tag, "iframe") == 0) {
            char *src = attr(n, "src");
            if (src) {
                pg->srcs = xrealloc(pg->srcs, (pg->n_srcs + 1) * sizeof(char *));
                pg->srcs[pg->n_srcs++] = xstrdup(src);
                if (strcasecmp(tag, "iframe") == 0 && why && outside(pg, src))
                    add_finding(pg->report, "injected_script", "网页篡改",
                                xasprintf("隐藏的框架加载外部页面 %s（%s）", src, why), src);
            }
            if (strcasecmp(tag, "script") == 0) {
                xmlChar *code = xmlNodeGetContent(n);
                if (code)
                    script_links(pg, (const char *)code);
                xmlFree(code);
            }
            free(src);
            free(style);
            free(cls);
            continue;
        }
        if (strcasecmp(tag, "noscript") == 0) {
            free(style);
            free(cls);
            continue;
        }
        if (strcasecmp(tag, "a") == 0) {
            char *href = attr(n, "href");
            if (href && why && outside(pg, href)) {
                xmlChar *text = xmlNodeGetContent(n);
                char *ev = xasprintf("<a href=\"%s\"%s%s%s>%s</a>", href, style ? " style=\"" : "", style ? style : "",
                                     style ? "\"" : "", text ? (const char *)text : "");
                char h[256];
                host_of(href, h, sizeof(h));
                add_finding(pg->report, "hidden_link", "暗链植入",
                            xasprintf("指向外部站点 %s 的链接被隐藏（%s）", h, why), ev);
                free(ev);
                xmlFree(text);
            }
            free(href);
        }
        walk(pg, n->children, why);
        if (is_block(tag) && !hidden)
            grow_append(&pg->text, &pg->text_len, &pg->text_cap, "\n", 1);
        grow_append(&pg->all_text, &pg->all_len, &pg->all_cap, "\n", 1);
        free(style);
        free(cls);
    }
}

static void page_release(struct page *pg)
{
    free(pg->text);
    free(pg->all_text);
    for (size_t i = 0; i < pg->n_srcs; i++)
        free(pg->srcs[i]);
    free(pg->srcs);
    for (size_t i = 0; i < pg->n_hidden_classes; i++)
        free(pg->hidden_classes[i]);
    free(pg->hidden_classes);
}

/* Removes from doc what the dynamic regions select (so that their changes are not tamper). */
static void drop_regions(htmlDocPtr doc, const char *const *regions, size_t n)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    if (!ctx)
        return;
    for (size_t i = 0; i < n; i++) {
        char xp[512];
        if (yj_selector_xpath(regions[i], xp, sizeof(xp)) < 0)
            continue;
        xmlXPathObjectPtr res = xmlXPathEvalExpression((const xmlChar *)xp, ctx);
        if (res && res->nodesetval) {
            for (int k = 0; k < res->nodesetval->nodeNr; k++) {
                xmlNodePtr node = res->nodesetval->nodeTab[k];
                if (node->type != XML_ELEMENT_NODE)
                    continue;
                res->nodesetval->nodeTab[k] = NULL; /* freed here, not by the node set */
                xmlUnlinkNode(node);
                xmlFreeNode(node);
            }
        }
        xmlXPathFreeObject(res);
    }
    xmlXPathFreeContext(ctx);
}

static int parse(const char *url, const char *html, size_t len, struct page *pg, struct webguard_report *report,
                 const char *const *regions, size_t n_regions)
{
    memset(pg, 0, sizeof(*pg));
    host_of(url, pg->host, sizeof(pg->host));
    pg->report = report;
    htmlDocPtr doc = htmlReadMemory(html, (int)(len > INT32_MAX ? INT32_MAX : len), url, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (!doc)
        return -1;
    walk(pg, xmlDocGetRootElement(doc), NULL);
    if (n_regions) {
        /* Hidden links and words are looked for everywhere; the text and the scripts compared with
         * the baseline leave the dynamic regions out. */
        drop_regions(doc, regions, n_regions);
        struct webguard_report ignored = {0};
        struct page fixed = {.report = &ignored};
        snprintf(fixed.host, sizeof(fixed.host), "%s", pg->host);
        walk(&fixed, xmlDocGetRootElement(doc), NULL);
        webguard_report_release(&ignored);
        free(pg->text);
        pg->text = fixed.text;
        pg->text_len = fixed.text_len;
        pg->text_cap = fixed.text_cap;
        fixed.text = NULL;
        for (size_t i = 0; i < pg->n_srcs; i++)
            free(pg->srcs[i]);
        free(pg->srcs);
        pg->srcs = fixed.srcs;
        pg->n_srcs = fixed.n_srcs;
        fixed.srcs = NULL;
        fixed.n_srcs = 0;
        page_release(&fixed);
    }
    xmlFreeDoc(doc);
    if (!pg->text)
        pg->text = xstrdup("");
    if (!pg->all_text)
        pg->all_text = xstrdup("");
    return 0;
}

/* The visible text as trimmed, non-empty lines. */
static size_t lines_of(char *text, char ***out)
{
    size_t n = 0;
    char **v = NULL;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        while (isspace((unsigned char)*l))
            l++;
        size_t k = strlen(l);
        while (k && isspace((unsigned char)l[k - 1]))
            l[--k] = 0;
        if (!k)
            continue;
        v = xrealloc(v, (n + 1) * sizeof(char *));
        v[n++] = l;
    }
    *out = v;
    return n;
}

static bool has_line(char **v, size_t n, const char *l)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], l) == 0)
            return true;
    return false;
}

static void compare(struct page *now, struct page *before, struct webguard_report *r)
{
    char **a = NULL, **b = NULL;
    size_t na = lines_of(before->text, &a), nb = lines_of(now->text, &b);
    char *diff = NULL;
    size_t dl = 0, dc = 0, changed = 0;
    for (size_t i = 0; i < na; i++)
        if (!has_line(b, nb, a[i]) && changed++ < DIFF_LINES) {
            grow_append(&diff, &dl, &dc, "- ", 2);
            grow_append(&diff, &dl, &dc, a[i], strlen(a[i]));
            grow_append(&diff, &dl, &dc, "\n", 1);
        }
    for (size_t i = 0; i < nb; i++)
        if (!has_line(a, na, b[i]) && changed++ < DIFF_LINES) {
            grow_append(&diff, &dl, &dc, "+ ", 2);
            grow_append(&diff, &dl, &dc, b[i], strlen(b[i]));
            grow_append(&diff, &dl, &dc, "\n", 1);
        }
    if (changed)
        add_finding(r, "tamper", "网页篡改", xasprintf("与基线相比有 %zu 行文字不同", changed), diff);
    free(diff);
    free(a);
    free(b);
    for (size_t i = 0; i < now->n_srcs; i++) {
        bool known = false;
        for (size_t k = 0; k < before->n_srcs && !known; k++)
            known = strcmp(now->srcs[i], before->srcs[k]) == 0;
        for (size_t k = 0; k < r->n && !known; k++) /* already reported as a hidden frame */
            known = strcmp(r->items[k].kind, "injected_script") == 0 && strcmp(r->items[k].evidence, now->srcs[i]) == 0;
        if (!known)
            add_finding(r, "injected_script", "网页篡改",
                        xasprintf("基线中没有的脚本或框架：%s", now->srcs[i]), now->srcs[i]);
    }
}

struct word_hits {
    const struct webguard_words *w;
    const char *text;
    size_t len;
    struct webguard_report *r;
};

static int on_word(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ud)
{
    (void)from;
    (void)flags;
    struct word_hits *h = ud;
    size_t wl = strlen(h->w->words[id]);
    size_t start = to >= wl ? (size_t)to - wl : 0;
    /* Some characters of context either side, on character boundaries. */
    size_t a = start > 30 ? start - 30 : 0, b = (size_t)to + 30 < h->len ? (size_t)to + 30 : h->len;
    while (a > 0 && ((unsigned char)h->text[a] & 0xC0) == 0x80)
        a--;
    while (b < h->len && ((unsigned char)h->text[b] & 0xC0) == 0x80)
        b++;
    char *ev = xstrndup(h->text + a, b - a);
    add_finding(h->r, "prohibited", h->w->categories[id],
                xasprintf("页面含有“%s”（%s）", h->w->words[id], h->w->categories[id]), ev);
    free(ev);
    return 0;
}

int webguard_check(const char *url, const char *html, size_t len, const char *baseline, size_t baseline_len,
                   const struct webguard_words *words, struct webguard_report *out, struct yj_err *err)
{
    return webguard_check_regions(url, html, len, baseline, baseline_len, words, NULL, 0, out, err);
}

int webguard_check_regions(const char *url, const char *html, size_t len, const char *baseline, size_t baseline_len,
                           const struct webguard_words *words, const char *const *regions, size_t n_regions,
                           struct webguard_report *out, struct yj_err *err)
{
    memset(out, 0, sizeof(*out));
    struct page now;
    if (parse(url, html, len, &now, out, regions, n_regions) < 0)
        return yj_err_set(err, YJ_EINVAL, "%s: not an HTML page libxml2 can read", url);
    if (baseline) {
        struct webguard_report ignored = {0}; /* the baseline's own hidden links are not news */
        struct page before;
        if (parse(url, baseline, baseline_len, &before, &ignored, regions, n_regions) == 0) {
            compare(&now, &before, out);
            page_release(&before);
        }
        webguard_report_release(&ignored);
    }
    if (words && words->db) {
        size_t nl;
        char *norm = simplified((struct webguard_words *)words, webguard_normalize(now.all_text, now.all_len, &nl), &nl);
        hs_scratch_t *scratch = NULL;
        if (hs_alloc_scratch(words->db, &scratch) == HS_SUCCESS) {
            struct word_hits h = {words, norm, nl, out};
            hs_scan(words->db, norm, (unsigned)nl, 0, scratch, on_word, &h);
            hs_free_scratch(scratch);
        }
        free(norm);
    }
    page_release(&now);
    return 0;
}

void webguard_report_release(struct webguard_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].detail);
        free(r->items[i].evidence);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}
