/* upward.h: the upward report (向上级报告 / 通报上级) of an incident, with the eight items the
 * CAC's 网络安全事件报告管理办法 (2025) requires, as Markdown; what is not known yet is marked to
 * be supplemented (待补报), as the measures allow. */
#ifndef YJ_UPWARD_H
#define YJ_UPWARD_H

#include <stddef.h>
#include <stdint.h>

struct yj_ctx;
struct store_incident;
struct yj_err;

/* The report of inc, as of now. Caller frees. */
char *report_upward_markdown(const struct yj_ctx *ctx, const struct store_incident *inc);

/* The items the report still marks 待补报 (short Chinese names, static), at most max. */
size_t report_upward_missing(const struct store_incident *inc, const char **out, size_t max);

/* When items are missing, the 补报 is due this long after a report unless the level's
 * deadlines say `supplement:` (standard practice; the measures ask for it "after it is known"). */
#define REPORT_SUPPLEMENT_MS (INT64_C(24) * 3600 * 1000)

/* Records that the upward report was submitted (to: the recipient, e.g. 市委网信办; may be NULL):
 * the first time it meets the `upward_report` deadline, later ones (补报) the `supplement`
 * deadline; if items are still missing, a `supplement` deadline is set (again). Timeline
 * `upward_report` with the round, recipient and missing items; audited. *out (may be NULL) gets a
 * json_t * {incident, round, to, missing, supplement_due_at}. */
int report_upward_submit(struct yj_ctx *ctx, const char *ref, const char *to, void **out, struct yj_err *err);

#endif
