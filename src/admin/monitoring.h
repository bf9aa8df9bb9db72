/* SPDX-License-Identifier: MIT */
/* The runbooks' monitoring API (API.md "Monitoring", seed-inventory.md §a.1): latency,
 * request rates, per-endpoint statistics, workers and external services, from the
 * gateway's sliding windows. Every latency is in milliseconds as a plain decimal with
 * at most 3 decimals (the runbooks feed `.current.p95` to bc, which cannot read 1e-05). */
#ifndef TG_ADMIN_MONITORING_H
#define TG_ADMIN_MONITORING_H

#include "admin/resp.h"
#include "http/http1.h"

struct tg_cset;
struct tg_gateway;

/* Answers `req` if its path is under /api/v1/monitoring/ and returns true; else false.
 * `collectors` (may be NULL) adds the probed services to external-services. */
bool tg_admin_monitoring(struct tg_gateway *gw, const struct tg_cset *collectors,
                         const struct tg_http_msg *req, struct tg_admin_resp *r);

#endif
