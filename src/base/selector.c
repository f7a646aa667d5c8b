/* selector.c: the regions of a page an operator marks dynamic, as XPath for libxml2. Checked
 * when the config is read (and by the command line), so a typo is an error at FILE:LINE:COL, not
 * a region silently never left out. */
#include "common.h"
#include "selector.h"

#include <ctype.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

static void quiet(void *ud, xmlErrorPtr e)
{
    (void)ud;
    (void)e;
}

/* libxml2 reports a syntax error on stderr by default; here the caller says what is wrong. */
static bool xpath_compiles(const char *xpath)
{
    xmlSetStructuredErrorFunc(NULL, quiet); /* per thread */
    xmlXPathCompExprPtr comp = xmlXPathCompile((const xmlChar *)xpath);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlXPathFreeCompExpr(comp);
    return comp != NULL;
}

int yj_selector_xpath(const char *region, char *out, size_t cap)
{
    const char *r = region;
    while (*r == ' ')
        r++;
    if (*r == '/' || *r == '(')
        return snprintf(out, cap, "%s", r) < (int)cap && xpath_compiles(r) ? 0 : -1;
    /* The simple selectors: #id, .class, tag, tag#id, tag.class. */
    char tag[64] = "*", name[200] = "";
    char kind = 0;
    size_t t = strcspn(r, "#.");
    if (t >= sizeof(tag) || strlen(r) - t >= sizeof(name))
        return -1;
    if (t)
        snprintf(tag, sizeof(tag), "%.*s", (int)t, r);
    if (r[t]) {
        kind = r[t];
        snprintf(name, sizeof(name), "%s", r + t + 1);
    }
    for (const char *c = tag; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '*' && *c != '-')
            return -1;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return -1;
    if ((kind && !*name) || (!kind && t == 0))
        return -1;
    int n = kind == '#'   ? snprintf(out, cap, "//%s[@id='%s']", tag, name)
            : kind == '.' ? snprintf(out, cap, "//%s[contains(concat(' ', normalize-space(@class), ' '), ' %s ')]", tag, name)
                          : snprintf(out, cap, "//%s", tag);
    return n < (int)cap ? 0 : -1;
}
