/* SPDX-License-Identifier: MIT */
/* The request collector: the gateway's per-(endpoint, method) families from the since-start
 * totals of the aggregate, one family after the other, pausing between keys. The
 * request-duration histogram's `le` buckets are derived from the log-linear histogram at
 * the configured boundaries, by default 5 ms to 120 s (the runbooks' targets go up to
 * 120 s); a boundary is matched to the nearest histogram bucket, so a count may include
 * values up to 0.8 % above it. An endpoint removed for idleness (`endpoints.idle_timeout`)
 * has no series any more; if its name comes back, its counters start again from zero. */
#include "proxy/collect.h"

#include <stdio.h>

#include "config/config.h"
#include "core/err.h"
#include "http/http1.h"
#include "metrics/agg.h"
#include "metrics/buckets.h"
#include "proxy/collect_int.h"
#include "proxy/gateway.h"

static const char *const phases[TG_PHASE_COUNT] = {"queue", "connect", "upstream_first_byte",
                                                   "transfer"};

enum step { S_REQUESTS = 0, S_DURATION, S_ERRORS, S_RATE, S_CAUSES, S_PHASES, S_COUNT };

static const struct tg_mfamily families[S_COUNT] = {
    [S_REQUESTS] = {"http_requests_total", "Requests answered, by endpoint, method and status.",
                    NULL, TG_METRIC_COUNTER},
    [S_DURATION] = {"http_request_duration_seconds",
                    "Request duration at the gateway, from the request head to the last "
                    "response byte.",
                    "seconds", TG_METRIC_HISTOGRAM},
    [S_ERRORS] = {"http_request_errors_total",
                  "Requests that failed at or behind the gateway, by endpoint, method and cause.",
                  NULL, TG_METRIC_COUNTER},
    [S_RATE] = {"rate_limit_hits_total",
                "Requests refused with 429 by a rate limit, by endpoint, method and scope "
                "(global, client_ip, route).",
                NULL, TG_METRIC_COUNTER},
    [S_CAUSES] = {"tailguard_request_causes_total",
                  "How requests ended (Envoy-style response flags), by endpoint, method and "
                  "cause.",
                  NULL, TG_METRIC_COUNTER},
    [S_PHASES] = {"tailguard_request_phase_seconds",
                  "Where request time went: gateway queue, upstream connect, upstream time to "
                  "first byte, transfer.",
                  "seconds", TG_METRIC_HISTOGRAM},
};

void tg_proxy__fixed_hist(const struct tg_mvisitor *v, const struct tg_mlabels *l,
                          const struct tg_fixed_hist *h)
{
    const int64_t *b = tg_fixed_bounds_us();
    double le[TG_FIXED_BUCKETS];
    uint64_t cum[TG_FIXED_BUCKETS], n = 0;
    for (unsigned i = 0; i < TG_FIXED_BUCKETS; i++) {
        n += h->counts[i];
        cum[i] = n;
        le[i] = (double)b[i] / 1e6;
    }
    struct tg_mhist mh = {le, cum, TG_FIXED_BUCKETS, h->count, (double)h->sum_us / 1e6};
    v->hist(v->ctx, l, &mh);
}

void tg_proxy__one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                   const char *help, double x)
{
    static const struct tg_mlabels none = {NULL, NULL, 0};
    v->family(v->ctx, &(struct tg_mfamily){name, help, NULL, type});
    v->value(v->ctx, &none, x);
}

/* The request-duration bounds in force: the configured ones, else the built-in list. */
struct bounds {
    double le[TG_CFG_MAX_BUCKETS];
    int64_t us[TG_CFG_MAX_BUCKETS];
    unsigned n;
};

static void duration_bounds(struct tg_gateway *gw, struct bounds *b)
{
    b->n = tg_gateway_duration_buckets(gw, b->us, TG_CFG_MAX_BUCKETS);
    if (b->n == 0)
        for (; b->n < TG_MBUCKETS_DURATION_N; b->n++)
            b->us[b->n] = (int64_t)(tg_mbuckets_duration_s[b->n] * 1e6 + 0.5);
    for (unsigned i = 0; i < b->n; i++)
        b->le[i] = (double)b->us[i] / 1e6;
}

/* One key's series of one family: labels endpoint, method and (except for the
 * duration histogram) one more, named `extra`. */
struct key {
    const char *names[3];
    const char *values[3];
};

static void key_series(struct tg_gateway *gw, enum step step, uint32_t k,
                       const struct tg_reqstats *s, const struct bounds *b,
                       const struct tg_mvisitor *v)
{
    struct key key = {{"endpoint", "method", NULL},
                      {tg_gateway_endpoint_name(gw, k / TG_GATEWAY_METHODS),
                       tg_http_method_name((enum tg_http_method)(k % TG_GATEWAY_METHODS)), NULL}};
    struct tg_mlabels l = {key.names, key.values, 3};
    char num[16];
    switch (step) {
    case S_REQUESTS:
        key.names[2] = "status";
        for (unsigned i = 0; i < TG_STATUS_SLOTS && s->codes[i]; i++) {
            snprintf(num, sizeof num, "%u", s->codes[i]);
            key.values[2] = num;
            v->value(v->ctx, &l, (double)s->code_counts[i]);
        }
        key.values[2] = "other";
        if (s->other_status)
            v->value(v->ctx, &l, (double)s->other_status);
        break;
    case S_DURATION: {
        uint64_t cum[TG_CFG_MAX_BUCKETS];
        for (unsigned i = 0; i < b->n; i++)
            cum[i] = tg_phist_count_le(&s->latency, b->us[i]);
        struct tg_mhist h = {b->le, cum, b->n, s->latency.count, (double)s->latency.sum_us / 1e6};
        l.n = 2;
        v->hist(v->ctx, &l, &h);
        break;
    }
    case S_ERRORS:
    case S_RATE:
    case S_CAUSES:
        key.names[2] = step == S_RATE ? "scope" : "cause";
        for (unsigned c = 0; c < TG_CAUSE_SLOTS && tg_gateway_cause_name(c); c++) {
            const char *scope = tg_gateway_cause_rate_scope(c);
            bool want = step == S_ERRORS ? tg_gateway_cause_is_error(c)
                        : step == S_RATE ? scope != NULL
                                         : true;
            if (!s->causes[c] || !want)
                continue;
            key.values[2] = step == S_RATE ? scope : tg_gateway_cause_name(c);
            v->value(v->ctx, &l, (double)s->causes[c]);
        }
        break;
    case S_PHASES:
        key.names[2] = "phase";
        for (unsigned p = 0; p < TG_PHASE_COUNT; p++) {
            if (!s->phases[p].count)
                continue;
            key.values[2] = phases[p];
            tg_proxy__fixed_hist(v, &l, &s->phases[p]);
        }
        break;
    case S_COUNT:
        break;
    }
}

int tg_gateway_collect_requests(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    struct tg_gateway *gw = data;
    struct tg_magg *a = tg_gateway_metrics(gw);
    uint32_t nkeys = tg_magg_nkeys(a);
    struct bounds b;
    duration_bounds(gw, &b);
    for (; cur->step < S_COUNT; tg_mcursor_next(cur)) {
        tg_mcursor_family(cur, v, &families[cur->step]);
        for (; cur->item < nkeys; cur->item++) {
            const struct tg_reqstats *s = tg_magg_total(a, cur->item);
            if (!s)
                continue;
            if (tg_mvisit_full(v))
                return TG_AGAIN;
            key_series(gw, (enum step)cur->step, cur->item, s, &b, v);
        }
    }
    return TG_DONE;
}

int tg_gateway_collectors_add(struct tg_mcollectors *cs, struct tg_gateway *gw)
{
    int rc = tg_mcollectors_add(cs, "requests", tg_gateway_collect_requests, gw);
    if (!rc)
        rc = tg_mcollectors_add(cs, "upstreams", tg_gateway_collect_upstreams, gw);
    if (!rc)
        rc = tg_mcollectors_add(cs, "protect", tg_gateway_collect_protect, gw);
    if (!rc)
        rc = tg_mcollectors_add(cs, "gateway", tg_gateway_collect_gauges, gw);
    return rc;
}
