/* SPDX-License-Identifier: MIT */
/* The incident model's state changes: opening, alert transitions, the quiet period,
 * escalation and severity (see incident.h). The PUT rules and the JSON form are in
 * incident_put.c and incident_json.c. */
#include "diagnose/incident.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diagnose/incident_int.h"

const char *const tg_incident__follow_up[TG_INCIDENT__NFOLLOW] = {
    "monitoring improvements", "update runbooks", "code improvements",
    "infrastructure optimizations", "team training updates",
};

const char *const tg_incident__phases[TG_INCIDENT__NPHASES] = {
    "investigation", "resolution", "verification", "post_resolution",
};

/* Seed 003's "Performance Checklist", phase by phase, in its words. */
const char *const tg_incident__checklist[TG_INCIDENT__NPHASES][TG_INCIDENT__NITEMS] = {
    {"Performance issue identified and classified", "Initial metrics collected",
     "Root cause analysis initiated", "Impact assessment completed", "Resolution plan developed"},
    {"Immediate fixes applied", "Performance optimizations implemented",
     "Resource limits adjusted", "Monitoring enhanced", "Performance testing completed"},
    {"Performance benchmarks met", "Response times improved", "Resource usage optimized",
     "User experience verified", "Monitoring alerts configured"},
    {"Performance analysis completed", "Optimization recommendations documented",
     "Team debrief completed", "Documentation updated", "Follow-up monitoring scheduled"},
};

void tg_incident__note(struct tg_incident_out *out, int64_t ts_us, const char *kind,
                       const char *fmt, ...)
{
    if (!out || out->n == TG_INCIDENT_OUT_MAX)
        return;
    struct tg_incident_note *n = &out->v[out->n++];
    n->ts_us = ts_us;
    n->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
}

const char *tg_incident_time(int64_t us, char *buf, size_t cap)
{
    time_t sec = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
    return buf;
}

int tg_incident__communicate(json_t *fields, int64_t ts_us, const char *kind, const char *text)
{
    char ts[32];
    json_t *c = json_pack("{s:s, s:s, s:s}", "ts", tg_incident_time(ts_us, ts, sizeof ts), "kind",
                          kind, "text", text);
    return c && json_array_append_new(json_object_get(fields, "communications"), c) == 0
               ? 0
               : -ENOMEM;
}

static json_t *new_fields(void)
{
    json_t *f = json_pack("{s:s, s:s, s:[], s:[], s:{}, s:[], s:[], s:n}", "root_cause", "",
                          "lessons_learned", "", "prevention_measures", "follow_up", "checklist",
                          "communications", "affected_endpoints", "diagnosis");
    if (!f)
        return NULL;
    json_t *fu = json_object_get(f, "follow_up"), *cl = json_object_get(f, "checklist");
    for (int i = 0; i < TG_INCIDENT__NFOLLOW; i++)
        if (json_array_append_new(fu, json_pack("{s:s, s:n}", "item", tg_incident__follow_up[i],
                                                "state")))
            goto fail;
    for (int p = 0; p < TG_INCIDENT__NPHASES; p++) {
        json_t *items = json_array();
        if (json_object_set_new(cl, tg_incident__phases[p], items))
            goto fail;
        for (int i = 0; i < TG_INCIDENT__NITEMS; i++)
            if (json_array_append_new(items, json_pack("{s:s, s:n}", "item",
                                                       tg_incident__checklist[p][i], "state")))
                goto fail;
    }
    return f;
fail:
    json_decref(f);
    return NULL;
}

int tg_incident_init(struct tg_incident *inc, const char *title, bool by_api, int64_t now_us,
                     struct tg_incident_out *out)
{
    memset(inc, 0, sizeof *inc);
    inc->opened_by_api = by_api;
    inc->escalation = 1;
    inc->opened_at_us = now_us;
    if (!(inc->title = strdup(title)) || !(inc->fields = new_fields()))
        return -ENOMEM;
    char text[400];
    snprintf(text, sizeof text, "Performance issue detected: %s", title);
    if (tg_incident__communicate(inc->fields, now_us, "detected", text))
        return -ENOMEM;
    tg_incident__note(out, now_us, "status", "incident opened: %s", title);
    return 0;
}

void tg_incident_deinit(struct tg_incident *inc)
{
    for (size_t i = 0; i < inc->nalerts; i++) {
        free(inc->alerts[i].alertname);
        free(inc->alerts[i].labels_json);
    }
    free(inc->alerts);
    free(inc->title);
    json_decref(inc->fields);
    memset(inc, 0, sizeof *inc);
}

bool tg_incident_is_open(const struct tg_incident *inc)
{
    return inc->status == TG_INCIDENT_OPEN || inc->status == TG_INCIDENT_MITIGATED;
}

struct tg_incident_alert *tg_incident__find(const struct tg_incident *inc, const char *alertname,
                                            const char *labels_json)
{
    for (size_t i = 0; i < inc->nalerts; i++)
        if (strcmp(inc->alerts[i].alertname, alertname) == 0 &&
            strcmp(inc->alerts[i].labels_json, labels_json) == 0)
            return &inc->alerts[i];
    return NULL;
}

long tg_incident_pick(struct tg_incident *const *v, size_t n, const char *alertname,
                      const char *labels_json, int64_t now_us, const struct tg_incidents_opts *o)
{
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (tg_incident_is_open(v[i]) && (best < 0 || v[i]->opened_at_us > v[best]->opened_at_us ||
                                          (v[i]->opened_at_us == v[best]->opened_at_us &&
                                           v[i]->id > v[best]->id)))
            best = (long)i;
    if (best >= 0)
        return best;
    for (size_t i = 0; i < n; i++) {
        const struct tg_incident *inc = v[i];
        if (inc->status == TG_INCIDENT_RESOLVED && now_us - inc->resolved_at_us < o->quiet_period_us &&
            tg_incident__find(inc, alertname, labels_json) &&
            (best < 0 || inc->resolved_at_us > v[best]->resolved_at_us))
            best = (long)i;
    }
    return best;
}

enum tg_incident_sev tg_incident_sev_of_label(const char *label)
{
    if (label && strcmp(label, "critical") == 0)
        return TG_SEV_1;
    if (label && strcmp(label, "warning") == 0)
        return TG_SEV_2;
    return TG_SEV_3;
}

enum tg_incident_sev tg_incident_sev_parse(const char *s)
{
    static const char *const names[] = {"SEV-3", "SEV-2", "SEV-1"};
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return (enum tg_incident_sev)(TG_SEV_3 + i);
    return TG_SEV_NONE;
}

const char *tg_incident_sev_name(enum tg_incident_sev s)
{
    switch (s) {
    case TG_SEV_1:
        return "SEV-1";
    case TG_SEV_2:
        return "SEV-2";
    case TG_SEV_3:
        return "SEV-3";
    case TG_SEV_NONE:
        break;
    }
    return NULL;
}

const char *tg_incident_status_name(enum tg_incident_status s)
{
    static const char *const names[] = {"open", "mitigated", "resolved", "closed"};
    return names[s];
}

bool tg_incident_raise(struct tg_incident *inc, enum tg_incident_sev sev)
{
    if (sev <= inc->severity)
        return false;
    inc->severity = sev;
    return true;
}

static enum tg_incident_sev sev_of_labels(const char *labels_json)
{
    json_t *l = json_loads(labels_json, 0, NULL);
    enum tg_incident_sev s = tg_incident_sev_of_label(json_string_value(json_object_get(l, "severity")));
    json_decref(l);
    return s;
}

static struct tg_incident_alert *attach(struct tg_incident *inc, const char *alertname,
                                        const char *labels_json)
{
    struct tg_incident_alert *v = realloc(inc->alerts, (inc->nalerts + 1) * sizeof *v);
    if (!v)
        return NULL;
    inc->alerts = v;
    struct tg_incident_alert *a = &v[inc->nalerts];
    memset(a, 0, sizeof *a);
    a->alertname = strdup(alertname);
    a->labels_json = strdup(labels_json);
    if (!a->alertname || !a->labels_json) {
        free(a->alertname);
        free(a->labels_json);
        return NULL;
    }
    inc->nalerts++;
    return a;
}

int tg_incident_alert_fired(struct tg_incident *inc, const char *alertname,
                            const char *labels_json, int64_t now_us, struct tg_incident_out *out)
{
    struct tg_incident_alert *a = tg_incident__find(inc, alertname, labels_json);
    bool again = a != NULL;
    if (!a && !(a = attach(inc, alertname, labels_json)))
        return -ENOMEM;
    a->firing = true;
    a->restored = false;
    a->fired_at_us = now_us;
    a->resolved_at_us = 0;
    a->dirty = true;
    inc->quiet_since_us = 0;
    if (inc->status == TG_INCIDENT_RESOLVED) {
        inc->status = TG_INCIDENT_OPEN;
        inc->resolved_at_us = 0;
        tg_incident__note(out, now_us, "status",
                          "reopened: %s fired again within the quiet period", alertname);
    }
    enum tg_incident_sev sev = sev_of_labels(labels_json);
    bool raised = tg_incident_raise(inc, sev);
    tg_incident__note(out, now_us, "alert", "%s %s%s%s", alertname,
                      again ? "fired again" : "firing", raised ? "; severity " : "",
                      raised ? tg_incident_sev_name(sev) : "");
    return 0;
}

static bool all_resolved(const struct tg_incident *inc)
{
    for (size_t i = 0; i < inc->nalerts; i++)
        if (inc->alerts[i].firing)
            return false;
    return true;
}

bool tg_incident_alert_resolved(struct tg_incident *inc, const char *alertname,
                                const char *labels_json, int64_t now_us,
                                struct tg_incident_out *out)
{
    struct tg_incident_alert *a = tg_incident__find(inc, alertname, labels_json);
    if (!a || !a->firing)
        return a != NULL;
    a->firing = false;
    a->resolved_at_us = now_us;
    a->dirty = true;
    bool last = all_resolved(inc);
    if (last && tg_incident_is_open(inc))
        inc->quiet_since_us = now_us;
    tg_incident__note(out, now_us, "alert", "%s resolved%s", alertname,
                      last && tg_incident_is_open(inc)
                          ? "; every alert resolved, the quiet period starts"
                          : "");
    return true;
}

int tg_incident__resolve(struct tg_incident *inc, int64_t now_us, const char *why,
                         struct tg_incident_out *out)
{
    char text[200];
    snprintf(text, sizeof text, "Resolved: %s", why);
    if (tg_incident__communicate(inc->fields, now_us, "resolved", text))
        return -ENOMEM;
    inc->status = TG_INCIDENT_RESOLVED;
    inc->resolved_at_us = now_us;
    inc->quiet_since_us = 0;
    tg_incident__note(out, now_us, "status", "resolved: %s", why);
    return 0;
}

/* Seed 001's levels; seed 002's steps at 30 minutes unresolved. */
static const char *const escalation_text[] = {
    "",
    "escalated to L2 (senior engineer): notify #incidents, consider posting on call, prepare "
    "the rollback plan",
    "escalated to L3 (engineering manager): decide on service degradation, coordinate the "
    "teams, communicate with stakeholders",
};

void tg_incident_tick(struct tg_incident *inc, int64_t now_us, const struct tg_incidents_opts *o,
                      struct tg_incident_out *out)
{
    if (!tg_incident_is_open(inc))
        return;
    int64_t age = now_us - inc->opened_at_us;
    int level = age >= o->escalation_l3_us ? 3 : age >= o->escalation_l2_us ? 2 : 1;
    if (level > inc->escalation) {
        inc->escalation = level;
        tg_incident__note(out, now_us, "escalation", "unresolved after %lld min: %s",
                          (long long)(age / 60000000), escalation_text[level - 1]);
    }
    if (inc->nalerts && inc->quiet_since_us && all_resolved(inc) &&
        now_us - inc->quiet_since_us >= o->quiet_period_us)
        (void)tg_incident__resolve(inc, now_us, "every alert resolved for the quiet period", out);
}
