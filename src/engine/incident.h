/* incident.h: the incident lifecycle the plans prescribe.
 *
 *   reported → assessing → responding → recovering → reviewing → closed
 *   reported / assessing → dismissed (误报, with a reason)
 *
 * Classification (class, plan level, national level, GB/T 20986 category), routing (谁主管、
 * 谁负责) and deadlines are derived from the plan when the incident is reported and stored with
 * it. Each change is one store transaction that also appends to the timeline and the audit
 * chain, so a failure leaves nothing half-written. */
#ifndef YJ_INCIDENT_H
#define YJ_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

#include <jansson.h>

struct yj_ctx;
struct yj_err;

/* Statuses as stored and shown. Values are append-only. */
/* A report deadline of 0s (report at once, 立即报告) is met within this of detection. */
#define INCIDENT_REPORT_AT_ONCE_MS INT64_C(60000)

#define INCIDENT_REPORTED "reported"
#define INCIDENT_ASSESSING "assessing"
#define INCIDENT_RESPONDING "responding"
#define INCIDENT_RECOVERING "recovering"
#define INCIDENT_REVIEWING "reviewing"
#define INCIDENT_CLOSED "closed"
#define INCIDENT_DISMISSED "dismissed"

/* Limits on what people type, in characters. */
#define INCIDENT_TITLE_MAX 200
#define INCIDENT_TEXT_MAX 4000
#define INCIDENT_ASSETS_MAX 32

struct incident_report_req {
    const char *type;  /* plan type id, required */
    const char *title; /* required */
    const char *level; /* plan level id; default: the type's default, else its first level */
    const char *source, *scope, *nature, *trend, *measures;
    const char *const *assets;
    size_t n_assets;
    bool drill;
    int64_t occurred_at; /* 0 = unknown */
    int64_t detected_at; /* 0 = now */
    /* From detection: what makes later signals of the same kind attach to this incident, and
     * how many signals it starts with. NULL/0 for people's reports. */
    const char *fingerprint;
    int64_t signal_count;
    /* A GB/T 20986 subcategory more precise than the type's (a rule's `gbt`); NULL: the type's. */
    const char *gbt;
    /* The plan unit in charge when the source knows it better than the type's routing (a monitor
     * configured with its owner); NULL: route by type or asset. */
    const char *unit;
};

/* The cause of open incident inc went away by itself (a monitored service answers again): a
 * `recovered` timeline entry with note, and the escalations still running for it stop — nobody
 * needs paging any more. The incident stays open for people to assess and close. */
int incident_recovered(struct yj_ctx *ctx, const struct store_incident *inc, const char *note, int64_t at,
                       struct yj_err *err);

/* A KEY=VALUE given with a transition. Known keys: source scope nature trend measures level
 * clues support scene (the upward report's tracing clues, further measures and support requested,
 * scene protection) activated_by activation_reason cause loss lessons. */
struct incident_field {
    const char *key;
    const char *value;
};

/* Reports a new incident. On success *out holds it (release with store_incident_release). */
int incident_report(struct yj_ctx *ctx, const struct incident_report_req *req, struct store_incident *out,
                    struct yj_err *err);

/* Finds an incident by numeric id or by number ("YJ-2026-0001"). */
int incident_find(struct yj_ctx *ctx, const char *ref, struct store_incident *out, struct yj_err *err);

/* Moves an incident to `status`, applying fields first and checking the guard. reason is
 * required for dismissed. if_version > 0 refuses with YJ_ECONFLICT unless the incident is still
 * at that version (HTTP If-Match). On success *out (may be NULL) holds the updated incident. */
int incident_move(struct yj_ctx *ctx, const char *ref, const char *status, const char *reason,
                  const struct incident_field *fields, size_t n_fields, int64_t if_version,
                  struct store_incident *out, struct yj_err *err);

/* Records (parts of) the risk assessment — source, scope, nature, trend, measures, level — and
 * what the upward report asks later (clues, support, scene) without changing the status; allowed
 * until the incident is closed or dismissed. */
int incident_assess(struct yj_ctx *ctx, const char *ref, const struct incident_field *fields, size_t n_fields,
                    int64_t if_version, struct store_incident *out, struct yj_err *err);

/* Counts one more signal for an open incident (dedup by fingerprint): signal_count and
 * last_signal_at move on, the version does not (a person's edit never conflicts with a signal).
 * The 1st, 2nd, 4th, 8th ... signal is kept in the timeline as evidence; an audit row and a live
 * event are written at those and at most once a second otherwise, so a flood adds a few entries,
 * not one per signal. inc's signal_count (and updated_at when published) are refreshed. */
int incident_attach_signal(struct yj_ctx *ctx, struct store_incident *inc, int64_t at, const char *rule,
                           const char *sample, struct yj_err *err);

/* Acknowledges an incident (someone has it in hand): acknowledged_at, the acknowledge deadline
 * met and its escalation stopped, a timeline entry. Acknowledging again is a no-op;
 * a closed or dismissed incident is YJ_ESTATE. *out (may be NULL) as for incident_report. */
int incident_ack(struct yj_ctx *ctx, const char *ref, struct store_incident *out, struct yj_err *err);

/* Records the leading group's decision to activate the plan (启动预案): who decided (a leader or
 * deputy of the leading group), why, when; meets the activation deadline and stops its
 * escalation; timeline `activation`, audit incident.activate. Once per incident; only while
 * reported, assessing or responding (YJ_ESTATE otherwise). A level that needs
 * activation can then move to responding without activated_by/activation_reason fields. */
int incident_activate(struct yj_ctx *ctx, const char *ref, const char *by, const char *reason,
                      struct store_incident *out, struct yj_err *err);

/* For the clock: records that a deadline passed unmet (timeline, audit, event) and, when start
 * is given, starts its escalation — in one transaction. */
int incident_overdue(struct yj_ctx *ctx, struct store_incident *inc, const char *kind, int64_t due_at,
                     struct store_escalation *start, struct yj_err *err);
/* For the clock: writes an escalation's new state, queues its notifications and records body (a
 * json_t *, borrowed; may be NULL) in the timeline — in one transaction. */
int incident_escalate(struct yj_ctx *ctx, struct store_incident *inc, const struct store_escalation *e,
                      struct store_notification *notes, size_t n, json_t *body, struct yj_err *err);

/* For machine outputs (notification deliveries, actions): a timeline entry of `kind` with body
 * (borrowed), its audit row and live event, without touching the incident itself. */
int incident_record(struct yj_ctx *ctx, int64_t id, const char *kind, json_t *body, struct yj_err *err);

/* Moves a playbook task of the incident to todo, doing, done or skipped (which needs a reason),
 * with an optional evidence note; a timeline entry records it. *out (may be NULL) gets the task
 * (release with store_task_release). YJ_ENOTFOUND when the task is not the incident's. */
int incident_task_update(struct yj_ctx *ctx, const char *ref, int64_t task_id, const char *status,
                         const char *reason, const char *note, struct store_task *out, struct yj_err *err);
/* Approves or rejects (with a reason) a task the plan marks as needing approval — an automated
 * action such as switching a site to its maintenance page. Until approved, the task cannot be
 * started or done. YJ_ESTATE when it needs none or was decided already. Audited. */
int incident_task_approve(struct yj_ctx *ctx, const char *ref, int64_t task_id, bool approve, const char *reason,
                          struct store_task *out, struct yj_err *err);
/* For the clock: a task past due — recorded once, and its escalation started when given. */
int incident_task_overdue(struct yj_ctx *ctx, const struct store_task *task, struct store_escalation *start,
                          struct yj_err *err);

/* Appends a note to the timeline (the incident's version moves on). */
/* A status in Chinese (研判中 ...), the words the console and the exports use; unknown: itself. */
const char *incident_status_zh(const char *status);
int incident_note(struct yj_ctx *ctx, const char *ref, const char *text, struct yj_err *err);
/* Gives the incident (task_id 0) or one of its tasks to an account, by name (NULL or "": to nobody);
 * the account must exist and be enabled. Timeline (assigned, task_assigned), audit, live event.
 * *out (may be NULL) receives the incident as it is now. */
/* Acknowledges through a one-time link from a notification (token as the message carried it): as
 * the person it was sent to (who: "person:ID"), once. YJ_ENOTFOUND for an unknown, used or expired
 * link. *out (may be NULL) receives the incident. */
int incident_ack_by_link(struct yj_ctx *ctx, const char *token, struct store_incident *out, char *who,
                         size_t who_size, struct yj_err *err);
int incident_assign(struct yj_ctx *ctx, const char *ref, int64_t task_id, const char *assignee,
                    struct store_incident *out, struct yj_err *err);

/* True for the known statuses. */
bool incident_status_valid(const char *status);

/* The statuses reachable from `from` (NULL-terminated, static). */
const char *const *incident_next_statuses(const char *from);

/* The leading group excuses an owed report (upward_report, supplement, summary_report) with a
 * reason: the deadline is settled as waived, its escalation stops, the timeline says why. */
int incident_waive(struct yj_ctx *ctx, const char *ref, const char *kind, const char *reason, struct yj_err *err);

#endif
