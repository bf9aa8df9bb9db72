/* SPDX-License-Identifier: MIT */
/* The incident manager (issue 11, seed-inventory §d.3): one incident per ongoing problem.
 * It is fed by the alert transitions of the rule engine, by every control change of the
 * audit log, by a periodic tick (escalation by age, resolution after a quiet period) and
 * by the notes other parts add (diagnosis runs, playbook actions and verdicts, scaling
 * steps). The decisions are the pure model of diagnose/incident.h; this layer persists
 * every change through the store (store/incidents.h) before it is visible, loads the
 * incidents that are not closed at start and carries on with them. Control thread only:
 * every function here runs on the thread that owns the store. */
#ifndef TG_DIAGNOSE_INCIDENTS_H
#define TG_DIAGNOSE_INCIDENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct tg_store;
struct tg_incidents;

/* The `incidents:` settings (config/config.h); times in µs. */
struct tg_incidents_opts {
    bool enabled;                /* false: alerts open no incident (the API still works) */
    int64_t quiet_period_us;     /* all alerts resolved this long: resolved (default 5 min) */
    int64_t escalation_l2_us;    /* age at which L2 starts (default 30 min) */
    int64_t escalation_l3_us;    /* age at which L3 starts (default 60 min) */
    int64_t ack_deadline_us;     /* SEV-2 and above must be acknowledged within (15 min) */
};

/* Fills `o` with the defaults above. */
void tg_incidents_opts_default(struct tg_incidents_opts *o);

/* Loads the incidents that are not closed from `store` (borrowed; it must outlive the
 * manager). 0, -ENOMEM or TG_ESTORE with `eb` filled. */
int tg_incidents_new(struct tg_store *store, const struct tg_incidents_opts *o,
                     struct tg_incidents **out, struct tg_errbuf *eb);
void tg_incidents_free(struct tg_incidents *m); /* accepts NULL */

/* New settings (a reload); they apply from the next tick. */
void tg_incidents_configure(struct tg_incidents *m, const struct tg_incidents_opts *o);

/* An alert instance fired or resolved. `labels_json` is its label set as a JSON object
 * (alertname included); its "severity" label gives the incident's severity when no
 * diagnosis did. A firing alert joins the open incident, reopens the resolved incident
 * it belonged to within the quiet period, or opens a new one (when enabled). Failures
 * are logged and counted; the next transition is handled normally. */
void tg_incidents_alert(struct tg_incidents *m, int64_t now_us, const char *alertname,
                        const char *labels_json, bool firing);

/* An audit row was committed (store/audit.h's hook): a control change becomes a
 * "control_change" entry of every open incident's timeline and an entry of its
 * actions_taken; incident edits and posted events are not control changes. */
void tg_incidents_audit(struct tg_incidents *m, int64_t audit_id);

/* The periodic step: escalation levels by age (an "escalation" entry when one changes),
 * resolution of incidents whose alerts have all been resolved for the quiet period. */
void tg_incidents_tick(struct tg_incidents *m, int64_t now_us);

/* THE shared way to add to the timelines: appends {now, kind, text, data} to every
 * incident that is open (status "open" or "mitigated"). `kind` is one of "alert",
 * "diagnosis", "mitigation", "verdict", "rollback", "undo", "control_change",
 * "escalation", "scale", "note", "status"; `data_json` is a JSON object or NULL.
 * A "verdict" note whose data carries {"audit_id": n, "verdict": "helped"|"no_effect"|
 * "worse"|"inconclusive"} also sets that action's verdict; an "undo" or "rollback" note
 * whose data carries {"audit_id": n} sets its undone_at. Returns 0 (also when no incident
 * is open), -EINVAL (unknown kind, data not a JSON object), -ENOMEM or TG_ESTORE. */
int tg_incidents_note(struct tg_incidents *m, int64_t now_us, const char *kind, const char *text,
                      const char *data_json);

/* tg_incidents_note for incident `id` alone, whatever its status but closed (a closed
 * incident is no longer loaded): the playbooks' undo after an incident resolved. 0 also
 * when no such incident is loaded, -EINVAL, -ENOMEM or TG_ESTORE. */
int tg_incidents_note_to(struct tg_incidents *m, int64_t id, int64_t now_us, const char *kind,
                         const char *text, const char *data_json);

/* The alerts that were firing when the incidents were loaded at start and have not been
 * seen firing since (the rule engine keeps no alert state across a restart: one whose
 * condition ended while the gateway was down never sends its "resolved"). The caller
 * asks the rule engine about each and resolves, through tg_incidents_alert, those it does
 * not hold as pending or firing. */
typedef void tg_incidents_restored_fn(void *ctx, const char *alertname, const char *labels_json);
void tg_incidents_foreach_restored(struct tg_incidents *m, tg_incidents_restored_fn *fn,
                                   void *ctx);

/* Called when an incident opens (`alertname` NULL when opened through the API) and each
 * time an alert fires into an open one: the diagnosis runs itself from here. One
 * callback; a second registration replaces the first, NULL removes it. The callback may
 * call tg_incidents_note and tg_incidents_set_diagnosis. */
typedef void tg_incidents_open_fn(void *ctx, int64_t incident_id, const char *alertname);
void tg_incidents_on_open(struct tg_incidents *m, tg_incidents_open_fn *fn, void *ctx);

/* Attaches `diagnosis_json` (the diagnosis object, GET /api/v1/monitoring/diagnosis) to
 * incident `id` (open or resolved) as its latest diagnosis: its severity raises the
 * incident's (the highest seen), its affected endpoints become the incident's, and a
 * "diagnosis" entry summing it up joins the timeline (no note of one's own is needed).
 * 0, TG_ENOTFOUND, TG_EPARSE, -ENOMEM or TG_ESTORE. */
int tg_incidents_set_diagnosis(struct tg_incidents *m, int64_t id, const char *diagnosis_json);

/* The ids of the open incidents, newest first, into `ids` (at most `cap`); returns how
 * many there are (may exceed `cap`). */
size_t tg_incidents_open_ids(const struct tg_incidents *m, int64_t *ids, size_t cap);

/* Incident `id` as the API's JSON object (docs/api.md, "Incidents and events"; the
 * report renders from it): a new reference, or NULL with `eb` filled and eb->code
 * TG_ENOTFOUND, TG_ESTORE or -ENOMEM. */
json_t *tg_incidents_get_json(struct tg_incidents *m, int64_t id, struct tg_errbuf *eb);

/* ------------------------------------------------------------ the admin API */

/* GET /api/v1/incidents: summaries newest first ({"incidents": [...]}), `status` NULL
 * for any, `limit` as the store's. NULL with `eb` filled. */
json_t *tg_incidents_list_json(struct tg_incidents *m, const char *status, unsigned limit,
                               struct tg_errbuf *eb);

/* POST /api/v1/incidents: opens an incident by hand (`severity` and `text` may be NULL;
 * `text` becomes a "note" entry), with the audit row of `actor`. Sets *id. 0, -ENOMEM or
 * TG_ESTORE. */
int tg_incidents_create(struct tg_incidents *m, int64_t now_us, const char *title,
                        const char *severity, const char *text, const char *actor, int64_t *id,
                        struct tg_errbuf *eb);

/* PUT /api/v1/incidents/<id> with `body` (a JSON object; see diagnose/incident.h
 * tg_incident_put), audited as `actor`. 0; TG_ENOTFOUND; TG_EPARSE (eb->file names the
 * field); -EBUSY with `missing` filled (409); -ENOMEM or TG_ESTORE. */
int tg_incidents_put(struct tg_incidents *m, int64_t id, int64_t now_us, json_t *body,
                     const char *actor, json_t *missing, struct tg_errbuf *eb);

#endif
