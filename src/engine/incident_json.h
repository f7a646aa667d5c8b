/* incident_json.h: the one JSON shape of an incident, shared by `yingji incident show --json`
 * and (later) the HTTP API, so the two can never disagree. */
#ifndef YJ_INCIDENT_JSON_H
#define YJ_INCIDENT_JSON_H

#include <jansson.h>
#include <stdbool.h>

struct yj_ctx;
struct yj_err;
struct store_incident;

enum incident_view {
    /* What a list row needs: identity, classification, routing, status, when it was reported and
     * last changed, and the deadlines. Pages stay small enough for a phone. */
    INCIDENT_SUMMARY = 0,
    /* Everything stored: the report content, the decisions, every time, the deadlines. */
    INCIDENT_FULL = 1,
    /* FULL plus the timeline: `incident show --json` and GET /api/v1/incidents/{id}. */
    INCIDENT_FULL_TIMELINE = 2
};

/* Builds the object (caller json_decref's it); every view has id, number, title, type, class,
 * level, national_level, gbt_category, gbt_subcategory, status, unit and deadlines. NULL with err
 * set when the store fails. The output depends on the clock only through each deadline's
 * "overdue": when changes_at is non-NULL it is lowered to the first time one of them will flip,
 * so a cached copy knows when it goes stale. */
json_t *incident_json(struct yj_ctx *ctx, const struct store_incident *inc, enum incident_view view,
                      int64_t *changes_at, struct yj_err *err);

/* "III" for 3. */
const char *incident_national_roman(int national_level);

/* A playbook task as JSON (the API's and the CLI's shape). New reference. */
json_t *task_json(const struct store_task *t);

#endif
