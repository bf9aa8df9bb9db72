/* SPDX-License-Identifier: MIT */
/* One diagnosis, start to end: the inputs from the store (gather.h), the change markers
 * (events.h: posted events and the audit log's control changes), what the running configuration knows
 * (which endpoints are routes, the feature switches), the decision (diagnosis.h) and its
 * JSON. Used by GET /api/v1/monitoring/diagnosis and by the incidents when an alert
 * fires. Control thread. */
#ifndef TG_DIAGNOSE_RUN_H
#define TG_DIAGNOSE_RUN_H

#include <jansson.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"
#include "diagnose/diagnosis.h"
#include "tsdb/query.h"

struct tg_store;

/* The change markers of [from_ms, to_ms] for the correlation, appended to `out` (at most
 * TG_DIAG_MAX_EVENTS in all, newest kept). Provided by whoever owns the events. */
typedef void tg_diag_events_fn(void *ctx, int64_t from_ms, int64_t to_ms, struct tg_diag_event *out,
                               size_t *n);

struct tg_diag_env {
    const struct tg_queryable *q;
    const struct tg_config *cfg; /* its diagnosis:, routes, features, tsdb.scrape_interval */
    struct tg_store *store;      /* the change markers (events.h); NULL: none */
    int64_t deadline_us; /* monotonic; 0 = none */
};

/* Runs the diagnosis at `now_ms` with `dcfg` (cfg->diagnosis, or a copy with the
 * request's windows). On success *out is the JSON (a new reference) and, when `res` is
 * not NULL, the decision. 0 or a negative code with `eb` filled (a store query failed). */
int tg_diag_run(const struct tg_diag_env *env, const struct tg_cfg_diagnosis *dcfg, int64_t now_ms,
                json_t **out, struct tg_diag_result *res, struct tg_errbuf *eb);

#endif
