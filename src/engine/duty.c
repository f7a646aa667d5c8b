/* duty.c: who is on duty at a moment, from the plan's roster. A shift runs from one handover to
 * the next; its date is the local date of its first handover. Notifications to "duty" resolve
 * through here at the time they are sent, so a handover in between is honoured. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "duty.h"

#include <jansson.h>
#include <time.h>

static bool is_holiday(const struct plan_roster *r, int y, int m, int d)
{
    char date[40];
    snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
    for (size_t i = 0; i < r->n_holidays; i++)
        if (strcmp(r->holidays[i], date) == 0)
            return true;
    return false;
}

size_t duty_now(const struct plan *plan, int64_t at, struct duty_shift *out, size_t cap)
{
    const struct plan_roster *r = &plan->roster;
    if (r->n_rotations == 0)
        return 0;
    int handover = plan_handover_minutes(plan);
    /* The shift's date: today's if today's handover has passed, else yesterday's. */
    time_t t = (time_t)(at / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
    int64_t from = yj_local_to_ms(y, m, d, handover);
    if (at < from) {
        struct tm prev = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday - 1, .tm_hour = 12};
        mktime(&prev);
        y = prev.tm_year + 1900, m = prev.tm_mon + 1, d = prev.tm_mday;
        from = yj_local_to_ms(y, m, d, handover);
    }
    struct tm next = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1, .tm_hour = 12};
    mktime(&next);
    int64_t to = yj_local_to_ms(next.tm_year + 1900, next.tm_mon + 1, next.tm_mday, handover);
    bool holiday = is_holiday(r, y, m, d);
    bool have_holiday_rotation = false;
    for (size_t i = 0; i < r->n_rotations; i++)
        have_holiday_rotation |= r->rotations[i].holidays;
    int64_t today = yj_days_from_civil(y, m, d);

    size_t n = 0;
    for (size_t i = 0; i < r->n_rotations; i++) {
        const struct plan_rotation *rot = &r->rotations[i];
        /* On a holiday the holiday rotations stand in for the others (when there are any). */
        if (holiday && have_holiday_rotation ? !rot->holidays : rot->holidays)
            continue;
        int sy, sm, sd;
        if (yj_date_parse(rot->start, &sy, &sm, &sd) < 0 || rot->n_people == 0)
            continue;
        int64_t days = today - yj_days_from_civil(sy, sm, sd);
        if (days < 0)
            continue;
        int64_t turn = strcmp(rot->every, "weekly") == 0 ? days / 7 : days;
        struct duty_shift s = {.rotation = rot->id,
                               .person = rot->people[turn % (int64_t)rot->n_people],
                               .from = from,
                               .to = to,
                               .holiday = holiday};
        for (size_t k = 0; k < r->n_overrides; k++) {
            const struct plan_override *o = &r->overrides[k];
            int64_t of, ot;
            if (strcmp(o->rotation, rot->id) == 0 && yj_local_datetime_parse(o->from, &of) == 0 &&
                yj_local_datetime_parse(o->to, &ot) == 0 && of <= at && at < ot) {
                s.person = o->person;
                s.from = of;
                s.to = ot;
                s.overridden = true;
                s.reason = o->reason;
            }
        }
        if (n < cap)
            out[n] = s;
        n++;
    }
    return n;
}

void *duty_json(const struct plan *plan, int64_t at)
{
    struct duty_shift shifts[64];
    size_t n = duty_now(plan, at, shifts, YJ_ARRAY_LEN(shifts));
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < YJ_ARRAY_LEN(shifts); i++) {
        const struct duty_shift *s = &shifts[i];
        const struct plan_person *who = plan_person(plan, s->person);
        const struct plan_rotation *rot = plan_rotation(plan, s->rotation);
        const char *rot_name = rot ? rot->name : NULL;
        json_t *o = json_pack("{s:s, s:s?, s:s, s:s?, s:s?, s:o, s:o, s:b, s:b}", "rotation", s->rotation,
                              "rotation_name", rot_name, "person", s->person, "name", who ? who->name : NULL,
                              "unit", who ? who->unit : NULL, "from", yj_json_time(s->from), "to",
                              yj_json_time(s->to), "holiday", (int)s->holiday, "overridden", (int)s->overridden);
        if (s->reason)
            json_object_set_new(o, "reason", json_string(s->reason));
        if (who && who->contacts.phone)
            json_object_set_new(o, "phone", json_string(who->contacts.phone));
        if (who && who->contacts.mobile)
            json_object_set_new(o, "mobile", json_string(who->contacts.mobile));
        json_array_append_new(list, o);
    }
    return json_pack("{s:o, s:o}", "at", yj_json_time(at), "shifts", list);
}
