/* SPDX-License-Identifier: MIT */
/* GET /api/v1/monitoring/diagnosis[?window=5m&baseline=1h&lookback=1h&step=1m&
 * change_window=30m&min_requests=10]: the decision tree run now over the gateway's
 * time-series store (diagnose/run.h), every window a parameter with the configuration's
 * value (diagnosis:, the seeds' defaults) when absent. */
#ifndef TG_ADMIN_DIAGNOSIS_H
#define TG_ADMIN_DIAGNOSIS_H

#include <stdbool.h>

#include "admin/resp.h"
#include "diagnose/run.h"
#include "http/http1.h"

struct tg_gateway;
struct tg_scrape;

struct tg_admin_diag_ctx {
    struct tg_gateway *gw;
    struct tg_scrape *scrape; /* NULL: no store, 503 */
    struct tg_store *store;   /* the change markers (events, control changes), or NULL */
};

/* Answers `req` if it is the diagnosis path and returns true; else false. */
bool tg_admin_diagnosis(const struct tg_admin_diag_ctx *c, const struct tg_http_msg *req,
                        struct tg_admin_resp *r);

#endif
