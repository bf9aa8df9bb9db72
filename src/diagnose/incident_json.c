/* SPDX-License-Identifier: MIT */
/* The incident as the API's JSON object (incidents.h; docs/api.md). Times are RFC3339
 * UTC with milliseconds; what is not set is null. */
#include "diagnose/incident.h"

#include <string.h>

static json_t *time_or_null(int64_t us)
{
    char buf[32];
    return us ? json_string(tg_incident_time(us, buf, sizeof buf)) : json_null();
}

static json_t *sev_json(enum tg_incident_sev s)
{
    const char *n = tg_incident_sev_name(s);
    return n ? json_string(n) : json_null();
}

static const char *level_name(int level)
{
    static const char *const names[] = {"L1", "L2", "L3"};
    return names[level >= 1 && level <= 3 ? level - 1 : 0];
}

/* Seed 002: a P1 (SEV-2) or worse must be responded to within the deadline. */
static int64_t ack_deadline_us(const struct tg_incident *inc, const struct tg_incidents_opts *o)
{
    return inc->severity >= TG_SEV_2 ? inc->opened_at_us + o->ack_deadline_us : 0;
}

static json_t *alerts_json(const struct tg_incident *inc)
{
    json_t *v = json_array();
    for (size_t i = 0; v && i < inc->nalerts; i++) {
        const struct tg_incident_alert *a = &inc->alerts[i];
        json_t *labels = json_loads(a->labels_json, 0, NULL);
        json_array_append_new(v, json_pack("{s:s, s:o, s:s, s:o, s:o}", "alertname",
                                           a->alertname, "labels",
                                           labels ? labels : json_object(), "state",
                                           a->firing ? "firing" : "resolved", "fired_at",
                                           time_or_null(a->fired_at_us), "resolved_at",
                                           time_or_null(a->resolved_at_us)));
    }
    return v;
}

static size_t firing_count(const struct tg_incident *inc)
{
    size_t n = 0;
    for (size_t i = 0; i < inc->nalerts; i++)
        n += inc->alerts[i].firing;
    return n;
}

json_t *tg_incident_summary(const struct tg_incident *inc, const struct tg_incidents_opts *o)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:I, s:I}", "id",
                     (json_int_t)inc->id, "title", inc->title, "status",
                     tg_incident_status_name(inc->status), "severity", sev_json(inc->severity),
                     "opened_at", time_or_null(inc->opened_at_us), "resolved_at",
                     time_or_null(inc->resolved_at_us), "closed_at",
                     time_or_null(inc->closed_at_us), "opened_by",
                     inc->opened_by_api ? "api" : "alert", "escalation_level",
                     level_name(inc->escalation), "ack_deadline",
                     time_or_null(ack_deadline_us(inc, o)), "alerts_total",
                     (json_int_t)inc->nalerts, "alerts_firing", (json_int_t)firing_count(inc));
}

/* Duration so far is the report's business; here the span once it has one. The request
 * and error counts of the window come from the time-series store (the report). */
static json_t *impact_json(const struct tg_incident *inc)
{
    if (!inc->resolved_at_us)
        return json_null();
    return json_pack("{s:f, s:n, s:n}", "duration_s",
                     (double)(inc->resolved_at_us - inc->opened_at_us) / 1e6, "requests",
                     "errors");
}

json_t *tg_incident_json(const struct tg_incident *inc, const struct tg_incidents_opts *o,
                         json_t *timeline, json_t *actions)
{
    json_t *j = tg_incident_summary(inc, o);
    if (!j) {
        json_decref(timeline);
        json_decref(actions);
        return NULL;
    }
    json_object_del(j, "alerts_total");
    json_object_del(j, "alerts_firing");
    json_object_set_new(j, "alerts", alerts_json(inc));
    json_object_set_new(j, "timeline", timeline ? timeline : json_array());
    json_object_set_new(j, "actions_taken", actions ? actions : json_array());
    static const char *const copied[] = {"diagnosis",         "affected_endpoints", "root_cause",
                                         "lessons_learned",   "prevention_measures",
                                         "follow_up",         "checklist",
                                         "communications"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        json_t *v = json_object_get(inc->fields, copied[i]);
        json_object_set_new(j, copied[i], v ? json_deep_copy(v) : json_null());
    }
    json_object_set_new(j, "impact", impact_json(inc));
    return j;
}
