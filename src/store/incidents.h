/* SPDX-License-Identifier: MIT */
/* Incidents: one row per incident (its state and its editable fields as one JSON
 * object), the alerts attached to it, its timeline and the actions taken. The store does
 * not interpret states or fields: diagnose/incidents.h owns their meaning. One call
 * writes every change of one step (the row, alerts, new timeline entries, new actions,
 * and the audit row of an API edit) in one transaction, so after a crash a step is on
 * disk whole or not at all. Retention: the newest TG_STORE_INCIDENTS_MAX_ROWS incidents
 * and every one not closed are kept (older closed ones go, with everything attached),
 * and at most
 * TG_STORE_INCIDENT_MAX_ENTRIES timeline entries and actions per incident (the oldest
 * go first: a flapping alert cannot grow one without bound); dropped rows are counted
 * (tg_store_stats). Control thread only. */
#ifndef TG_STORE_INCIDENTS_H
#define TG_STORE_INCIDENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/audit.h"
#include "store/store.h"

#define TG_STORE_INCIDENTS_MAX_ROWS 10000
#define TG_STORE_INCIDENT_MAX_ENTRIES 10000
#define TG_STORE_INCIDENTS_LIST_DEFAULT 100
#define TG_STORE_INCIDENTS_LIST_MAX 1000

/* Times are wall-clock µs since the epoch; 0 means not set (NULL in the file). */
struct tg_store_incident {
    int64_t id; /* 0 on the first write: the store gives one */
    const char *title, *status, *severity /* NULL: none */, *opened_by, *escalation;
    int64_t opened_at_us, resolved_at_us, closed_at_us, quiet_since_us, updated_at_us;
    const char *fields_json; /* a JSON object */
};

struct tg_store_incident_alert {
    const char *alertname, *labels_json, *state;
    int64_t fired_at_us, resolved_at_us;
};

struct tg_store_incident_note {
    int64_t ts_us;
    const char *kind, *text, *data_json; /* data: JSON or NULL */
};

struct tg_store_incident_action {
    int64_t id; /* set by the store */
    int64_t ts_us;
    const char *op, *method, *path, *body_json /* JSON or NULL */, *by;
    const char *verdict;  /* NULL: none yet */
    int64_t undone_at_us; /* 0: not undone */
    int64_t audit_id;     /* the audit row it came from; 0: a manual entry */
};

/* One step: the incident row (inserted when its id is 0, else replaced), alerts upserted
 * by (name, labels), notes and actions appended, an optional audit row. */
struct tg_store_incident_write {
    const struct tg_store_incident *inc;
    const struct tg_store_incident_alert *alerts;
    size_t nalerts;
    const struct tg_store_incident_note *notes;
    size_t nnotes;
    const struct tg_store_incident_action *actions;
    size_t nactions;
    const struct tg_store_audit *audit; /* NULL: none */
};

/* Writes `w` in one transaction and sets *id to the incident's id. 0, -EINVAL (a
 * required string missing), TG_ENOTFOUND (no incident with the id given) or TG_ESTORE;
 * nothing is written on error. Cost: one fsync. */
int tg_store_incident_write(struct tg_store *s, const struct tg_store_incident_write *w,
                            int64_t *id, struct tg_errbuf *eb);

/* Sets the verdict (when not NULL) and the undo time (when not 0) of the actions of
 * incident `incident_id` that came from audit row `audit_id`. 0 (also when none
 * matched) or TG_ESTORE. */
int tg_store_incident_action_update(struct tg_store *s, int64_t incident_id, int64_t audit_id,
                                    const char *verdict, int64_t undone_at_us,
                                    struct tg_errbuf *eb);

/* Readers. Strings are valid during the callback only; a non-zero return stops the
 * listing and is returned. Callbacks must not call the same store. */
typedef int tg_store_incident_fn(void *ctx, const struct tg_store_incident *inc);
typedef int tg_store_incident_alert_fn(void *ctx, const struct tg_store_incident_alert *a);
typedef int tg_store_incident_note_fn(void *ctx, const struct tg_store_incident_note *n);
typedef int tg_store_incident_action_fn(void *ctx, const struct tg_store_incident_action *a);

/* Incident `id`: 0 (or the callback's value), TG_ENOTFOUND, TG_ESTORE. */
int tg_store_incident_get(struct tg_store *s, int64_t id, tg_store_incident_fn *cb, void *ctx,
                          struct tg_errbuf *eb);

struct tg_store_incidents_filter {
    const char *status; /* exact; NULL: any */
    bool not_closed;    /* only incidents whose status is not "closed" */
    unsigned limit;     /* 0: TG_STORE_INCIDENTS_LIST_DEFAULT; capped at _MAX */
};

/* Incidents matching `f`, newest (highest id) first. */
int tg_store_incidents_list(struct tg_store *s, const struct tg_store_incidents_filter *f,
                            tg_store_incident_fn *cb, void *ctx, struct tg_errbuf *eb);

/* An incident's alerts (by firing time), timeline and actions (in order of addition). */
int tg_store_incident_alerts(struct tg_store *s, int64_t id, tg_store_incident_alert_fn *cb,
                             void *ctx, struct tg_errbuf *eb);
int tg_store_incident_timeline(struct tg_store *s, int64_t id, tg_store_incident_note_fn *cb,
                               void *ctx, struct tg_errbuf *eb);
int tg_store_incident_actions(struct tg_store *s, int64_t id, tg_store_incident_action_fn *cb,
                              void *ctx, struct tg_errbuf *eb);

#endif
