/* libFuzzer harness for the web page checks: any bytes as the page (and the first half as the
 * baseline), with the built-in word lists; and the normaliser, whose output must never grow. */
#include "base/common.h"
#include "base/err.h"
#include "sources/webguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct webguard_words *words;
    struct yj_err err;
    if (!words && webguard_words_load(NULL, &words, &err) < 0)
        abort();
    size_t n;
    char *norm = webguard_normalize((const char *)data, size, &n);
    if (n > size)
        abort();
    free(norm);
    struct webguard_report r;
    if (webguard_check("http://www.example.edu.cn/", (const char *)data, size, (const char *)data, size / 2, words, &r,
                       &err) == 0)
        webguard_report_release(&r);
    return 0;
}
