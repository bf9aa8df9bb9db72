/* SPDX-License-Identifier: MIT */
/* One incident as a pure model (no clock, no I/O): which incident an alert transition
 * belongs to, the quiet period before resolution and the reopening within it, the
 * escalation level by age (L1/L2/L3, seed 001) with seed 002's 30-minute step, the ack
 * deadline, the highest severity seen, the editable fields of seed-inventory §d.3
 * (follow-up items, the 20-item checklist of seed 003, communications) and the close
 * rule. Each step takes `now_us` and reports the timeline entries it produced in a
 * struct tg_incident_out; the manager (incidents.h) persists them. Unit-tested in
 * tests/unit/diagnose/test_incident.c. */
#ifndef TG_DIAGNOSE_INCIDENT_H
#define TG_DIAGNOSE_INCIDENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "diagnose/incidents.h"

enum tg_incident_status {
    TG_INCIDENT_OPEN = 0,
    TG_INCIDENT_MITIGATED,
    TG_INCIDENT_RESOLVED,
    TG_INCIDENT_CLOSED,
};

/* Ordered by seriousness, so the highest seen is a max. */
enum tg_incident_sev {
    TG_SEV_NONE = 0,
    TG_SEV_3,
    TG_SEV_2,
    TG_SEV_1,
};

struct tg_incident_alert {
    char *alertname, *labels_json; /* owned; the pair identifies the alert instance */
    bool firing;
    int64_t fired_at_us, resolved_at_us;
    bool dirty; /* changed since the manager last wrote it */
    bool restored; /* firing when loaded at start, not seen firing since (not stored) */
};

struct tg_incident {
    int64_t id; /* 0 until first written */
    char *title;
    enum tg_incident_status status;
    enum tg_incident_sev severity;
    bool opened_by_api;
    int escalation; /* 1..3 */
    int64_t opened_at_us, resolved_at_us, closed_at_us;
    int64_t quiet_since_us; /* all alerts resolved since then; 0 while one fires */
    struct tg_incident_alert *alerts;
    size_t nalerts;
    /* root_cause, lessons_learned, prevention_measures, follow_up, checklist,
     * communications, affected_endpoints, diagnosis: the API's spelling. Owned. */
    json_t *fields;
    size_t ntimeline, nactions; /* entries on record, for the close rule */
};

/* Timeline entries a step produced, in order. */
#define TG_INCIDENT_OUT_MAX 4
struct tg_incident_note {
    int64_t ts_us;
    const char *kind; /* static */
    char text[320];
};
struct tg_incident_out {
    struct tg_incident_note v[TG_INCIDENT_OUT_MAX];
    size_t n;
};

/* A new incident opened at `now_us` with `title`; its fields hold the five follow-up
 * items and the twenty checklist items unmarked and the "detected" communication. 0 or
 * -ENOMEM (then deinit it). */
int tg_incident_init(struct tg_incident *inc, const char *title, bool by_api, int64_t now_us,
                     struct tg_incident_out *out);
void tg_incident_deinit(struct tg_incident *inc); /* accepts a zeroed one */

/* Which of `v[0..n)` the firing alert (`alertname`, `labels_json`) goes to: the newest
 * open (or mitigated) incident; else the newest resolved one that had this alert and
 * was resolved less than the quiet period ago (it reopens); -1: a new incident. */
long tg_incident_pick(struct tg_incident *const *v, size_t n, const char *alertname,
                      const char *labels_json, int64_t now_us, const struct tg_incidents_opts *o);

/* The alert fired into `inc`: attached (or firing again), the quiet period cancelled, a
 * resolved incident reopened, the severity raised from its "severity" label. 0 or
 * -ENOMEM. */
int tg_incident_alert_fired(struct tg_incident *inc, const char *alertname,
                            const char *labels_json, int64_t now_us, struct tg_incident_out *out);

/* The alert resolved. false when it is not attached to `inc`. When it was the last one
 * firing, the quiet period starts. */
bool tg_incident_alert_resolved(struct tg_incident *inc, const char *alertname,
                                const char *labels_json, int64_t now_us,
                                struct tg_incident_out *out);

/* Escalation by age and resolution after the quiet period. */
void tg_incident_tick(struct tg_incident *inc, int64_t now_us, const struct tg_incidents_opts *o,
                      struct tg_incident_out *out);

/* Raises the severity to `sev` if higher. true when it changed. */
bool tg_incident_raise(struct tg_incident *inc, enum tg_incident_sev sev);

/* "critical" -> SEV-1, "warning" -> SEV-2, anything else -> SEV-3 (an alert's label). */
enum tg_incident_sev tg_incident_sev_of_label(const char *label);
/* "SEV-1".. -> the level; TG_SEV_NONE for anything else. */
enum tg_incident_sev tg_incident_sev_parse(const char *s);
const char *tg_incident_sev_name(enum tg_incident_sev s); /* NULL for NONE */
const char *tg_incident_status_name(enum tg_incident_status s);
bool tg_incident_is_open(const struct tg_incident *inc); /* open or mitigated */

/* Appends to `missing` (a JSON array) what the close rule (§d.3) still needs, one string
 * each, and every alert still firing; returns how many. */
size_t tg_incident_close_missing(const struct tg_incident *inc, json_t *missing);

/* Applies a PUT body (a JSON object) to `inc` at `now_us`, all of it or nothing.
 * Manual actions_taken entries are appended to `actions` (a JSON array) for the manager
 * to write. Returns 0; TG_EPARSE with `eb` naming the field (a 400); -EBUSY with
 * `missing` filled (a 409: the close or resolution rule; or the incident is closed);
 * -ENOMEM. */
int tg_incident_put(struct tg_incident *inc, json_t *body, int64_t now_us, json_t *actions,
                    json_t *missing, struct tg_incident_out *out, struct tg_errbuf *eb);

/* Formats wall-clock µs as RFC3339 UTC with milliseconds ("2026-11-30T16:40:01.250Z")
 * into buf (32 bytes suffice); returns buf. */
const char *tg_incident_time(int64_t us, char *buf, size_t cap);

/* The API's object (incidents.h, docs/api.md). `timeline` and `actions` (JSON arrays,
 * stolen) come from the store. NULL when out of memory. */
json_t *tg_incident_json(const struct tg_incident *inc, const struct tg_incidents_opts *o,
                         json_t *timeline, json_t *actions);
/* The list's summary of one incident. */
json_t *tg_incident_summary(const struct tg_incident *inc, const struct tg_incidents_opts *o);

#endif
