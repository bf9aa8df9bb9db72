/* SPDX-License-Identifier: MIT */
/* Internal to src/diagnose/: what incident.c shares with incident_put.c and
 * incident_json.c (the fixed item lists, notes, communications, resolution). */
#ifndef TG_DIAGNOSE_INCIDENT_INT_H
#define TG_DIAGNOSE_INCIDENT_INT_H

#include <stdarg.h>

#include "diagnose/incident.h"

#define TG_INCIDENT__NFOLLOW 5
#define TG_INCIDENT__NPHASES 4
#define TG_INCIDENT__NITEMS 5

/* Seed 001's follow-up actions; seed 003's checklist phases and their items. */
extern const char *const tg_incident__follow_up[TG_INCIDENT__NFOLLOW];
extern const char *const tg_incident__phases[TG_INCIDENT__NPHASES];
extern const char *const tg_incident__checklist[TG_INCIDENT__NPHASES][TG_INCIDENT__NITEMS];

/* Adds a timeline entry to `out` (dropped past TG_INCIDENT_OUT_MAX). */
void tg_incident__note(struct tg_incident_out *out, int64_t ts_us, const char *kind,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends {ts, kind, text} to fields.communications. 0 or -ENOMEM. */
int tg_incident__communicate(json_t *fields, int64_t ts_us, const char *kind, const char *text);

/* Marks the incident resolved at `now_us` (the "resolved" communication, a note). */
int tg_incident__resolve(struct tg_incident *inc, int64_t now_us, const char *why,
                         struct tg_incident_out *out);

struct tg_incident_alert *tg_incident__find(const struct tg_incident *inc, const char *alertname,
                                            const char *labels_json);

#endif
