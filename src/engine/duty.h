/* duty.h: the duty roster (值班表) of the plan, evaluated at a moment: who is on duty, on which
 * rotation, from when to when. Pure computation over the plan; the process's TZ is the plan's. */
#ifndef YJ_DUTY_H
#define YJ_DUTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct plan;

struct duty_shift {
    const char *rotation; /* rotation id (points into the plan) */
    const char *person;   /* person id (points into the plan) */
    int64_t from, to;     /* the shift, UTC ms */
    const char *reason;   /* the override's reason (换班 #N for a swap), or NULL */
    bool holiday;         /* the shift falls on a holiday */
    bool overridden;      /* an override put this person here */
};

/* Fills out (up to cap) with the shifts under way at `at`, one per applicable rotation, and
 * returns how many there are (which may exceed cap). A rotation that has not started yet has no
 * shift. */
size_t duty_now(const struct plan *plan, int64_t at, struct duty_shift *out, size_t cap);

/* {"at": T, "shifts": [{"rotation", "rotation_name", "person", "name", "unit", "phone",
 * "mobile", "from", "to", "holiday", "overridden", "reason"}]}: the one JSON shape of "who is on duty",
 * for the CLI and the API. Returns a new reference (a json_t *). */
void *duty_json(const struct plan *plan, int64_t at);

#endif
