/* SPDX-License-Identifier: MIT */
/* The Prometheus HTTP API (/api/v1/query, query_range, series, labels, label values,
 * metadata, targets, status/..., format_query, query_exemplars) over the gateway's own
 * time-series store, with Prometheus 2.42's parameters, answers, error types and status
 * codes, so that its clients (promtool, Grafana, scripts) read tailguard as a Prometheus.
 * Queries run synchronously on the control thread, which owns the store: a query holds
 * up the admin listener, the scrape and everything else on that thread while it runs,
 * for at most its timeout (default 2 minutes, as Prometheus's query.timeout). */
#ifndef TG_ADMIN_PROMAPI_H
#define TG_ADMIN_PROMAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin/resp.h"
#include "http/http1.h"

struct tg_mcollectors;
struct tg_cset;
struct tg_scrape;

/* Prometheus's default query.timeout. */
#define TG_ADMIN_PROMAPI_TIMEOUT_US (2 * 60 * 1000000LL)

/* What the handlers read, all borrowed. */
struct tg_admin_promapi_ctx {
    struct tg_scrape *scrape;  /* the store and its target; NULL: none (answers 503) */
    struct tg_mcollectors *cs; /* the series enumeration, for metadata */
    int64_t start_wall_us;     /* process start, for runtimeinfo */
    int64_t timeout_us;        /* the query timeout's cap; 0: the default */
    const struct tg_cset *collectors; /* the collector targets, for /api/v1/targets */
};

/* Answers `req` when its path is one of the API's (true), else returns false and leaves
 * `resp` alone. `body` is the request body (a form when Content-Type says so). */
bool tg_admin_promapi(const struct tg_admin_promapi_ctx *c, const struct tg_http_msg *req,
                      const char *body, size_t body_len, struct tg_admin_resp *resp);

#endif
