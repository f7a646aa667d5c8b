/* incident_json.h: the one JSON shape of an incident, shared by `yingji incident show --json`
 * and (later) the HTTP API, so the two can never disagree. */
#ifndef YJ_INCIDENT_JSON_H
#define YJ_INCIDENT_JSON_H

#include <jansson.h>
#include <stdbool.h>

struct yj_ctx;
struct yj_err;
struct store_incident;

/* Builds the object (caller json_decref's it): id, number, title, type, class, level,
 * national_level, gbt_category, gbt_subcategory, status, unit, deadlines, ... and, with
 * with_timeline, the timeline. NULL with err set when the store fails. The output depends on the
 * clock only through each deadline's "overdue": when changes_at is non-NULL it is lowered to the
 * first time one of them will flip, so a cached copy knows when it goes stale. */
json_t *incident_json(struct yj_ctx *ctx, const struct store_incident *inc, bool with_timeline,
                      int64_t *changes_at, struct yj_err *err);

/* "III" for 3. */
const char *incident_national_roman(int national_level);

#endif
