/* SPDX-License-Identifier: MIT */
/* Change markers for the diagnosis: the events users post (`POST /api/v1/events`: a
 * deploy, a migration, any free type) and every control change of the audit log, read
 * as one list, newest first. The diagnosis correlates a degradation's onset with them
 * (seed-inventory §d.2 "deployment", "config_change"); the admin API lists them. Audit
 * rows that record incident edits and posted events are not changes of the gateway and
 * are left out (their events are listed from the events table). Control thread only
 * (the store's thread). */
#ifndef TG_DIAGNOSE_EVENTS_H
#define TG_DIAGNOSE_EVENTS_H

#include <stdint.h>

#include "core/err.h"

struct tg_store;

/* One marker. Strings are valid during the callback only; NULL when absent. */
struct tg_event {
    int64_t id;        /* the event's id; for source "audit" the audit row's id */
    int64_t ts_us;     /* wall clock, µs since the Unix epoch */
    const char *type;  /* [a-z0-9_.-]+; "config_change" for audit rows */
    const char *service, *version, *text;
    const char *labels_json; /* a JSON object, or NULL */
    const char *source;      /* "event" or "audit" */
    int64_t audit_id;        /* source "audit": the audit row's id; else 0 */
    /* Source "audit" only: the row's fields ("PUT /api/v1/system/circuit-breaker",
     * "circuit_breaker", JSON text or NULL). */
    const char *actor, *action, *target, *old_json, *new_json;
};

/* Called per marker, newest first. Return 0 to go on; anything else stops the listing
 * and is returned by it. It must not call the store. */
typedef int tg_event_fn(void *ctx, const struct tg_event *ev);

/* Bounds of one listing. */
#define TG_EVENTS_LIST_DEFAULT 100
#define TG_EVENTS_LIST_MAX 1000

struct tg_events_filter {
    int64_t since_us; /* markers with ts_us >= since_us; 0: all */
    int64_t until_us; /* markers with ts_us <= until_us; 0: no bound */
    const char *type; /* exact type ("config_change" selects the audit rows); NULL: any */
    unsigned limit;   /* 0: TG_EVENTS_LIST_DEFAULT; capped at TG_EVENTS_LIST_MAX */
};

/* Streams the markers matching `f` to `cb`, events and audit rows merged, newest first
 * (time, then id). 0, the callback's value, -ENOMEM or TG_ESTORE with `eb` filled. */
int tg_events_query(struct tg_store *s, const struct tg_events_filter *f, tg_event_fn *cb,
                    void *ctx, struct tg_errbuf *eb);

/* tg_events_query with since/until only and the largest page (TG_EVENTS_LIST_MAX): what
 * the diagnosis reads around an onset. */
int tg_events_list(struct tg_store *s, int64_t since_us, int64_t until_us, tg_event_fn *cb,
                   void *ctx, struct tg_errbuf *eb);

#endif
