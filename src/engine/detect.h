/* detect.h: the engine's detection path — signals in, incidents out (DESIGN §1). A signal is
 * stored first; processing runs the rules over it, counts threshold windows per key, and either
 * attaches it to the open incident with the same fingerprint (rule + key) or, when the threshold
 * is reached, reports a new incident classified and routed by the plan. Detectors (log files,
 * syslog, the ingest API) only ever call detector_store and detector_process_pending. */
#ifndef YJ_DETECT_H
#define YJ_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

struct yj_ctx;
struct yj_err;
struct plan_diags;
struct plan;
struct detector;

/* Loads the rules (dir NULL: built-in) and checks that what each raises exists in the plan. Each
 * rule's threshold window remembers at most max_keys keys. */
int detector_new(const char *rules_dir, const struct plan *plan, size_t max_keys, struct detector **out,
                 struct plan_diags *diags, struct yj_err *err);
void detector_free(struct detector *d);
/* The description of rule id (what people read instead of the id), or NULL. */
const char *detector_rule_description(const struct detector *d, const char *id);
/* Whether a (new) plan still has every type and level the rules raise. */
int detector_check_plan(const struct detector *d, const struct plan *plan, struct yj_err *err);

/* Stores a batch of signals in one transaction: all of them or none (their ids are not read back:
 * processing reads them from the store). With them, the positions of the log files they were read
 * from (pos may be NULL when n_pos is 0), so that what is stored and where reading resumes can
 * never disagree. */
int detector_store(struct yj_ctx *ctx, struct store_signal *sigs, size_t n, const struct store_logpos *pos,
                   size_t n_pos, struct yj_err *err);

/* Processes every stored signal not yet processed, oldest first. Safe from many threads (one at
 * a time). *processed (may be NULL) counts them. */
int detector_process_pending(struct detector *d, struct yj_ctx *ctx, size_t *processed, struct yj_err *err);

/* Keys each rule's window forgot because it was full (rules with a threshold only): the number of
 * entries in *out, which the caller frees; the ids point into the detector's rules. */
struct detector_eviction {
    const char *rule;
    uint64_t evictions;
};
size_t detector_evictions(struct detector *d, struct detector_eviction **out);

/* Refills the threshold windows from the signals of the longest window, after a restart. */
int detector_warm(struct detector *d, struct yj_ctx *ctx, struct yj_err *err);

#endif
