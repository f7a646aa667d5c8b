/* libFuzzer harness for the plan loader: any bytes must give a plan or diagnostics, never a
 * crash, leak or hang. Seed corpus: the shipped plan files. */
#include "base/common.h"
#include "plan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plan *p = NULL;
    struct plan_diags d = {0};
    struct yj_err err;
    if (plan_load_buffer("fuzz.yaml", (const char *)data, size, &p, &d, &err) == 0)
        plan_free(p);
    plan_diags_release(&d);
    return 0;
}
