/* SPDX-License-Identifier: MIT */
/* The gateway's series as collectors (metrics/collect.h), read where the data is: the
 * request aggregates (http_requests_total, http_request_duration_seconds, causes, phases
 * by endpoint and method), the upstream servers and workers (their histograms, health and
 * load gauges), and the protections (circuit breakers, rate limits, retries, concurrency
 * limits, passive ejection, the cache). Counters come from since-start totals, so they
 * only go up; an endpoint or server that goes away simply has no series any more, which
 * Prometheus marks stale. Control thread. */
#ifndef TG_PROXY_COLLECT_H
#define TG_PROXY_COLLECT_H

#include "metrics/collect.h"

struct tg_gateway;

/* Adds the gateway's collectors to `cs`, in the order /metrics shows them (requests,
 * upstream histograms, protections, servers and workers), each with `gw` (borrowed) as
 * its data. 0 or -ENOSPC. */
int tg_gateway_collectors_add(struct tg_mcollectors *cs, struct tg_gateway *gw);

/* The collectors themselves (tg_mcollect_fn; `data` is the struct tg_gateway). The
 * request collector pauses between endpoint keys; the others between families. */
int tg_gateway_collect_requests(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);
int tg_gateway_collect_upstreams(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);
int tg_gateway_collect_protect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);
int tg_gateway_collect_gauges(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

#endif
