/* SPDX-License-Identifier: MIT */
/* The diagnosis' inputs from the time-series store (seed-inventory.md §d.1, I1-I9, I11):
 * PromQL over the gateway's own series (http_request_duration_seconds,
 * http_requests_total, http_request_errors_total, upstream_request_duration_seconds) and
 * the collectors' (node_*, pg_*, redis_*, probe_*), at one time, into a struct
 * tg_diag_input. The change markers (I10) and what only the running configuration knows
 * (routes, features, scaling) are the caller's to add. Control thread; never the request
 * path. */
#ifndef TG_DIAGNOSE_GATHER_H
#define TG_DIAGNOSE_GATHER_H

#include <stdint.h>

#include "config/diagnosis.h"
#include "core/err.h"
#include "diagnose/diagnosis.h"
#include "tsdb/query.h"

/* The input and the memory it points into. */
struct tg_diag_gathered {
    struct tg_diag_input in;
    double *series_mem; /* neps x nseries */
};

struct tg_diag_window {
    int64_t now_ms;
    int64_t window_ms, baseline_ms, lookback_ms, step_ms;
    int64_t scrape_ms; /* the store's scrape interval: the series' rate window is at least
                        * four of them, so each point has samples to work from */
};

/* The window of `cfg` at `now_ms` (the store's scrape interval `scrape_ms`). */
void tg_diag_window_from(const struct tg_cfg_diagnosis *cfg, int64_t now_ms, int64_t scrape_ms,
                         struct tg_diag_window *w);

/* Fills `g` (zeroed first). 0, or a negative code with `eb` naming the query that failed
 * (the store's error, or TG_ELIMIT past the sample limit); `g` is freed on error. A
 * series the store does not have is not an error: that input stays NaN / absent.
 * `deadline_us` (monotonic, 0 = none) bounds the whole gathering. */
int tg_diag_gather(const struct tg_queryable *q, const struct tg_diag_window *w,
                   int64_t deadline_us, struct tg_diag_gathered *g, struct tg_errbuf *eb);

void tg_diag_gathered_free(struct tg_diag_gathered *g); /* accepts a zeroed one */

#endif
