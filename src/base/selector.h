/* selector.h: dynamic regions of a web page, as XPath. */
#ifndef YJ_SELECTOR_H
#define YJ_SELECTOR_H

#include <stddef.h>

/* A region of a page as XPath into out: XPath itself (starting with / or '(', which must compile)
 * or a simple CSS selector (#id, .class, tag, tag#id, tag.class). 0, or -1 for a selector it does
 * not understand. */
int yj_selector_xpath(const char *region, char *out, size_t cap);

#endif
