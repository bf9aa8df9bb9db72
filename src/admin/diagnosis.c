/* SPDX-License-Identifier: MIT */
/* The diagnosis endpoint; see diagnosis.h. */
#include <string.h>

#include "admin/diagnosis.h"
#include "admin/query.h"
#include "control/scrape.h"
#include "core/clock.h"
#include "proxy/gateway.h"
#include "tsdb/tsdb.h"

#define WEEK_S (7u * 86400)
#define QUERY_BUDGET_US (10 * 1000000LL)

struct param {
    const char *name;
    int64_t *us;
    uint32_t max_s;
};

bool tg_admin_diagnosis(const struct tg_admin_diag_ctx *c, const struct tg_http_msg *req,
                        struct tg_admin_resp *r)
{
    static const char path[] = "/api/v1/monitoring/diagnosis";
    if (req->path.len != sizeof path - 1 || memcmp(req->path.p, path, req->path.len) != 0)
        return false;
    if (req->method != TG_HTTP_GET && req->method != TG_HTTP_HEAD) {
        tg_admin_resp_error(r, 405, "method not allowed", NULL);
        return true;
    }
    const struct tg_config *cfg = tg_gateway_config(c->gw);
    if (!cfg->diagnosis.enabled) {
        tg_admin_resp_error(r, 404, "the diagnosis is disabled (diagnosis.enabled: false)", NULL);
        return true;
    }
    if (!c->scrape) {
        tg_admin_resp_error(r, 503, "no time-series store", NULL);
        return true;
    }
    struct tg_cfg_diagnosis d = cfg->diagnosis;
    struct param ps[] = {
        {"window", &d.window_us, WEEK_S},
        {"baseline", &d.baseline_us, WEEK_S},
        {"lookback", &d.lookback_us, WEEK_S},
        {"step", &d.step_us, 3600},
        {"change_window", &d.change_window_us, WEEK_S},
    };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint32_t s;
        uint32_t def = (uint32_t)(*ps[i].us / 1000000);
        if (!tg_admin_query_seconds(req->query, ps[i].name, def ? def : 1, ps[i].max_s, &s)) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s must be a duration from 1s to %us", ps[i].name,
                     ps[i].max_s);
            tg_admin_resp_error(r, 400, msg, ps[i].name);
            return true;
        }
        if (s != def)
            *ps[i].us = (int64_t)s * 1000000;
    }
    uint64_t minreq;
    if (!tg_admin_query_uint(req->query, "min_requests", d.min_requests, 1000000, &minreq) ||
        minreq == 0) {
        tg_admin_resp_error(r, 400, "min_requests must be an integer from 1 to 1000000",
                            "min_requests");
        return true;
    }
    d.min_requests = (uint32_t)minreq;
    if (d.step_us > d.lookback_us) {
        tg_admin_resp_error(r, 400, "step is longer than lookback", "step");
        return true;
    }
    if (d.lookback_us / d.step_us > 11000) {
        tg_admin_resp_error(r, 400, "lookback / step is above 11000 points", "step");
        return true;
    }
    struct tg_queryable q;
    tg_tsdb_queryable(tg_scrape_tsdb(c->scrape), &q);
    struct tg_diag_env env = {.q = &q,
                              .cfg = cfg,
                              .store = c->store,
                              .deadline_us = tg_clock_mono_us() + QUERY_BUDGET_US};
    json_t *out = NULL;
    struct tg_errbuf eb = {0};
    if (tg_diag_run(&env, &d, tg_clock_wall_us() / 1000, &out, NULL, &eb) != 0) {
        tg_admin_resp_error(r, 503, eb.msg, NULL);
        return true;
    }
    tg_admin_resp_json(r, 200, out);
    return true;
}
