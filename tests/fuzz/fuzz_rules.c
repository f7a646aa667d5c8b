/* libFuzzer harness for rule files (YAML, then PCRE2 and Hyperscan compilation) and for the
 * matching of a log line against the built-in rules: never a crash, leak or hang. */
#include "base/common.h"
#include "base/logline.h"
#include "engine/rules.h"
#include "plan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(const struct rule_hit *hit, void *ud)
{
    char buf[64];
    (void)ud;
    rule_hit_field(hit, "ip", buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rules *builtin;
    static struct rules_scratch *scratch;
    struct yj_err err;
    if (!builtin) {
        setenv("YINGJI_CACHE_DIR", "", 1); /* every input is a new rule set: cache none of them */
        if (rules_load(NULL, NULL, 0, &builtin, NULL, &err) < 0)
            abort();
        scratch = rules_scratch_new(builtin);
    }
    /* The bytes as a log line. */
    struct logline ll;
    struct logline_clock clock = {.year = 2026};
    logline_parse((const char *)data, size, &clock, &ll);
    rules_match(builtin, scratch, ll.program, ll.program_len, ll.msg, ll.msg_len, ignore, NULL);
    /* The bytes as a rule file. */
    struct rules *r = NULL;
    struct plan_diags d = {0};
    if (rules_load_buffer("fuzz.yaml", (const char *)data, size, &r, &d, &err) == 0)
        rules_free(r);
    plan_diags_release(&d);
    return 0;
}
