/* upward.h: the upward report (向上级报告 / 通报上级) of an incident, with the eight items the
 * CAC's 网络安全事件报告管理办法 (2025) requires, as Markdown; what is not known yet is marked to
 * be supplemented (待补报), as the measures allow. */
#ifndef YJ_UPWARD_H
#define YJ_UPWARD_H

struct yj_ctx;
struct store_incident;

/* The report of inc, as of now. Caller frees. */
char *report_upward_markdown(const struct yj_ctx *ctx, const struct store_incident *inc);

#endif
