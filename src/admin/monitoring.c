/* SPDX-License-Identifier: MIT */
/* Monitoring endpoints; see monitoring.h. Windows: `window` query parameter ("30s", "5m",
 * or seconds; up to 15 minutes), default 60 s for latency and request rates and 300 s for
 * the per-endpoint table. Numbers are rounded to 3 decimals so jansson prints them in
 * plain notation ("%.12g" would use an exponent only below 1e-4, which rounding rules
 * out). */
#include "admin/monitoring.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/health.h"
#include "admin/query.h"
#include "admin/traces.h"
#include "metrics/agg.h"
#include "metrics/process.h"
#include "proxy/gateway.h"

static json_t *num3(double v)
{
    double r = round(v * 1000.0) / 1000.0;
    if (r == 0 || !isfinite(r))
        return json_integer(0);
    if (r == floor(r) && fabs(r) < 1e15)
        return json_integer((json_int_t)r);
    return json_real(r);
}

static json_t *ms(int64_t us)
{
    return num3((double)us / 1000.0);
}

/* {"p50_ms",...} for one window. */
static json_t *latency_obj(const struct tg_winstats *w)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:i}", "p50_ms", ms(w->p50_us), "p90_ms",
                     ms(w->p90_us), "p95_ms", ms(w->p95_us), "p99_ms", ms(w->p99_us), "max_ms",
                     ms(w->max_us), "mean_ms", num3(w->mean_us / 1000.0), "count",
                     (json_int_t)w->count, "window_s", w->window_s);
}

static json_t *status_obj(const struct tg_winstats *w)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "1xx", (json_int_t)w->status_class[1],
                     "2xx", (json_int_t)w->status_class[2], "3xx",
                     (json_int_t)w->status_class[3], "4xx", (json_int_t)w->status_class[4],
                     "5xx", (json_int_t)w->status_class[5], "other",
                     (json_int_t)w->status_class[0]);
}

static const char *method_of(uint32_t key)
{
    return tg_http_method_name((enum tg_http_method)(key % TG_GATEWAY_METHODS));
}

/* One row of the endpoint table over `seconds`. */
static json_t *endpoint_row(struct tg_gateway *gw, uint32_t key, const struct tg_winstats *w)
{
    json_t *row = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "endpoint",
        tg_gateway_endpoint_name(gw, key / TG_GATEWAY_METHODS), "method", method_of(key),
        "requests", (json_int_t)w->count, "count", (json_int_t)w->count, "rps", num3(w->rps),
        "avg_latency_ms", num3(w->mean_us / 1000.0), "p50_ms", ms(w->p50_us), "p90_ms",
        ms(w->p90_us), "p95_ms", ms(w->p95_us), "p99_ms", ms(w->p99_us), "max_ms", ms(w->max_us),
        "error_rate", num3(w->error_rate), "status", status_obj(w));
    return row;
}

/* Calls `fn` for every key with requests in the last `seconds`. */
static void each_key(struct tg_gateway *gw, uint32_t seconds, uint32_t only_endpoint,
                     void (*fn)(struct tg_gateway *, uint32_t, const struct tg_winstats *, void *),
                     void *ctx)
{
    struct tg_magg *a = tg_gateway_metrics(gw);
    uint32_t nkeys = tg_magg_nkeys(a);
    for (uint32_t k = 0; k < nkeys; k++) {
        if (only_endpoint != UINT32_MAX && k / TG_GATEWAY_METHODS != only_endpoint)
            continue;
        if (!tg_magg_total(a, k))
            continue;
        struct tg_winstats w;
        tg_magg_window(a, k, seconds, &w);
        if (w.count)
            fn(gw, k, &w, ctx);
    }
}

static void add_row(struct tg_gateway *gw, uint32_t key, const struct tg_winstats *w, void *ctx)
{
    json_array_append_new(ctx, endpoint_row(gw, key, w));
}

static void latency(struct tg_gateway *gw, struct tg_str q, struct tg_admin_resp *r)
{
    uint32_t win;
    if (!tg_admin_query_seconds(q, "window", 60, TG_GATEWAY_WINDOW_S, &win)) {
        tg_admin_resp_error(r, 400, "window must be a duration from 1s to 15m", "window");
        return;
    }
    char name[256];
    uint32_t only = UINT32_MAX;
    int rc = tg_admin_query_get(q, "endpoint", name, sizeof name);
    if (rc == TG_EPARSE) {
        tg_admin_resp_error(r, 400,
                            "endpoint must be an endpoint name, percent-encoded, at most 255 "
                            "bytes, without %00",
                            "endpoint");
        return;
    }
    if (rc == 0) {
        only = tg_gateway_endpoint_find(gw, name);
        if (only == UINT32_MAX) {
            tg_admin_resp_error(r, 404, "unknown endpoint", "endpoint");
            return;
        }
    }
    struct tg_winstats all;
    if (only == UINT32_MAX) {
        tg_magg_window(tg_gateway_metrics(gw), TG_MAGG_ALL, win, &all);
    } else {
        /* One endpoint, all its methods: merge through the aggregate's per-key windows. */
        memset(&all, 0, sizeof all);
        all.window_s = win;
        struct tg_magg *a = tg_gateway_metrics(gw);
        for (uint32_t m = 0; m < TG_GATEWAY_METHODS; m++) {
            struct tg_winstats w;
            tg_magg_window(a, only * TG_GATEWAY_METHODS + m, win, &w);
            if (w.count > all.count)
                all = w; /* the busiest method represents the endpoint */
        }
    }
    json_t *rows = json_array();
    each_key(gw, win, only, add_row, rows);
    json_t *v = json_pack("{s:o, s:o, s:o, s:o, s:o}", "current", latency_obj(&all), "p50",
                          ms(all.p50_us), "p95", ms(all.p95_us), "p99", ms(all.p99_us),
                          "endpoints", rows);
    /* .current.p95 in ms, the short name the runbook's autoscale script reads. */
    json_object_set_new(json_object_get(v, "current"), "p50", ms(all.p50_us));
    json_object_set_new(json_object_get(v, "current"), "p95", ms(all.p95_us));
    json_object_set_new(json_object_get(v, "current"), "p99", ms(all.p99_us));
    tg_admin_resp_json(r, 200, v);
}

static json_t *rate_window(struct tg_gateway *gw, uint32_t seconds)
{
    struct tg_winstats w;
    tg_magg_window(tg_gateway_metrics(gw), TG_MAGG_ALL, seconds, &w);
    return json_pack("{s:i, s:I, s:o, s:o, s:o, s:I, s:I, s:o}", "window_s", seconds, "requests",
                     (json_int_t)w.count, "requests_per_second", num3(w.rps), "error_rate",
                     num3(w.error_rate), "errors_per_second", num3((double)w.errors / seconds),
                     "errors_5xx", (json_int_t)w.status_class[5], "errors_4xx",
                     (json_int_t)w.status_class[4], "by_status", status_obj(&w));
}

static void requests(struct tg_gateway *gw, struct tg_admin_resp *r)
{
    json_t *m1 = rate_window(gw, 60), *m5 = rate_window(gw, 300);
    json_t *v = json_pack("{s:O, s:O, s:O, s:o, s:o}", "requests_per_second",
                          json_object_get(m1, "requests_per_second"), "error_rate",
                          json_object_get(m1, "error_rate"), "by_status",
                          json_object_get(m1, "by_status"), "1m", m1, "5m", m5);
    tg_admin_resp_json(r, 200, v);
}

static void endpoints_stats(struct tg_gateway *gw, struct tg_str q, struct tg_admin_resp *r)
{
    uint32_t win;
    if (!tg_admin_query_seconds(q, "window", 300, TG_GATEWAY_WINDOW_S, &win)) {
        tg_admin_resp_error(r, 400, "window must be a duration from 1s to 15m", "window");
        return;
    }
    json_t *rows = json_array();
    each_key(gw, win, UINT32_MAX, add_row, rows);
    tg_admin_resp_json(r, 200, json_pack("{s:i, s:o}", "window_s", win, "endpoints", rows));
}

struct threads_view {
    json_t *rows;
    uint64_t workers, busy, connections, queue_depth, waiting;
};

/* One row per worker and the sums, from one read of each worker (so they agree). */
static void add_worker(const struct tg_gateway_worker_info *w, void *ctx)
{
    struct threads_view *v = ctx;
    json_array_append_new(
        v->rows, json_pack("{s:i, s:I, s:I, s:o, s:I, s:I, s:I, s:I}", "id", w->id,
                           "connections", (json_int_t)w->connections, "active_requests",
                           (json_int_t)w->active, "loop_lag_ms", ms(w->loop_lag_us),
                           "loop_turns", (json_int_t)w->loop_turns, "queue_depth",
                           (json_int_t)w->queue_depth, "queue_limit",
                           (json_int_t)w->queue_limit, "waiting_requests",
                           (json_int_t)w->waiting));
    v->workers++;
    v->busy += w->active;
    v->connections += w->connections;
    v->queue_depth += w->queue_depth;
    v->waiting += w->waiting;
}

/* `queue_depth`: connections the kernel has accepted that no worker has taken yet, the
 * runbook's "requests waiting for a thread" (in-flight requests are `busy`);
 * `waiting_requests`: requests parked for a concurrency slot (part of `busy`). */
static void threads(struct tg_gateway *gw, struct tg_admin_resp *r)
{
    struct threads_view v = {.rows = json_array()};
    tg_gateway_foreach_worker(gw, add_worker, &v);
    tg_admin_resp_json(r, 200,
                       json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "workers",
                                 (json_int_t)v.workers, "busy", (json_int_t)v.busy,
                                 "connections", (json_int_t)v.connections, "queue_depth",
                                 (json_int_t)v.queue_depth, "waiting_requests",
                                 (json_int_t)v.waiting, "threads", v.rows));
}

struct ext_ctx {
    struct tg_gateway *gw;
    json_t *arr;
    json_t *breakers; /* upstream name -> its breaker's state */
};

static void add_breaker(const struct tg_gateway_breaker_info *b, void *vctx)
{
    struct ext_ctx *c = vctx;
    if (b->active && b->upstream[0])
        json_object_set_new(c->breakers, b->upstream,
                            json_string(tg_breaker_state_name(b->stats.state)));
}

static void add_service(const struct tg_gateway_server_info *s, void *vctx)
{
    struct ext_ctx *c = vctx;
    const struct tg_srvstats *st = tg_magg_server_total(tg_gateway_metrics(c->gw), s->key);
    uint64_t n = st ? st->latency.count : 0;
    json_array_append_new(
        c->arr,
        json_pack("{s:s, s:s, s:s, s:b, s:i, s:I, s:o, s:o, s:s*}", "name", s->upstream,
                  "server", s->address, "status",
                  !s->healthy ? "down" : s->ejected ? "ejected" : "up",
                  "healthy", s->healthy && !s->ejected, "in_flight", s->inflight, "requests",
                  (json_int_t)n, "avg_latency_ms",
                  num3(n ? (double)st->latency.sum_us / (double)n / 1000.0 : 0), "error_rate",
                  num3(n ? (double)st->errors / (double)n : 0), "last_error", s->last_error));
    json_t *b = json_object_get(c->breakers, s->upstream);
    json_t *o = json_array_get(c->arr, json_array_size(c->arr) - 1);
    json_object_set_new(o, "circuit_breaker", b ? json_incref(b) : json_string("off"));
    json_object_set_new(o, "type", json_string("upstream"));
}

/* The upstreams as the gateway sees them, then the probed external services
 * (health.h's tg_admin_health_probes), told apart by "type". */
static void external_services(struct tg_gateway *gw, const struct tg_cset *collectors,
                              struct tg_admin_resp *r)
{
    struct ext_ctx c = {gw, json_array(), json_object()};
    tg_gateway_foreach_breaker(gw, add_breaker, &c);
    tg_gateway_foreach_server(gw, add_service, &c);
    json_decref(c.breakers);
    tg_admin_health_probes(collectors, c.arr);
    tg_admin_resp_json(r, 200, json_pack("{s:o}", "services", c.arr));
}

struct active_view {
    json_t *by_endpoint;
    json_t *list;
    int64_t oldest_us;
};

static void add_active_req(const struct tg_gateway_active_info *a, void *ctx)
{
    struct active_view *v = ctx;
    json_t *n = json_object_get(v->by_endpoint, a->endpoint);
    json_object_set_new(v->by_endpoint, a->endpoint,
                        json_integer((n ? json_integer_value(n) : 0) + 1));
    if (a->age_us > v->oldest_us)
        v->oldest_us = a->age_us;
    json_array_append_new(v->list, json_pack("{s:s, s:s, s:s, s:s, s:o, s:i}", "request_id",
                                             a->request_id, "endpoint", a->endpoint, "method",
                                             a->method, "path", a->path, "age_ms", ms(a->age_us),
                                             "worker", a->worker));
}

static void sum_active(const struct tg_gateway_worker_info *w, void *ctx)
{
    *(uint64_t *)ctx += w->active;
}

static int oldest_first(const void *a, const void *b)
{
    double x = json_number_value(json_object_get(*(json_t *const *)a, "age_ms"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "age_ms"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* In-flight requests: the count (every request), and the listed ones (up to 1024 per
 * worker) by endpoint, oldest first, with the age of the oldest. */
static void active(struct tg_gateway *gw, struct tg_str q, struct tg_admin_resp *r)
{
    uint64_t limit;
    if (!tg_admin_query_uint(q, "limit", 100, 10000, &limit)) {
        tg_admin_resp_error(r, 400, "limit must be from 0 to 10000", "limit");
        return;
    }
    struct active_view v = {json_object(), json_array(), 0};
    uint64_t total = 0;
    tg_gateway_foreach_worker(gw, sum_active, &total);
    tg_gateway_foreach_active(gw, add_active_req, &v);
    size_t n = json_array_size(v.list);
    json_t **items = n ? malloc(n * sizeof *items) : NULL;
    json_t *sorted = json_array();
    if (items) {
        for (size_t i = 0; i < n; i++)
            items[i] = json_array_get(v.list, i);
        qsort(items, n, sizeof *items, oldest_first);
        for (size_t i = 0; i < n && i < limit; i++)
            json_array_append(sorted, items[i]);
        free(items);
    }
    json_decref(v.list);
    tg_admin_resp_json(r, 200,
                       json_pack("{s:I, s:o, s:o, s:o}", "active", (json_int_t)total,
                                 "by_endpoint", v.by_endpoint, "oldest_ms",
                                 n ? ms(v.oldest_us) : json_integer(0), "requests", sorted));
}

/* GET /api/v1/monitoring/gc: the runbook asks a Python app for its garbage collector;
 * the gateway answers with its own memory (API.md: "tailguard's own view"). */
static void gc_view(struct tg_gateway *gw, struct tg_admin_resp *r)
{
    int64_t rss, vsize;
    tg_process_memory(&rss, &vsize);
    tg_admin_resp_json(r, 200,
                       json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "component", "tailguard",
                                 "resident_bytes", (json_int_t)rss, "virtual_bytes",
                                 (json_int_t)vsize, "endpoints",
                                 (json_int_t)tg_gateway_endpoint_count(gw), "metrics_dropped",
                                 (json_int_t)tg_gateway_metrics_dropped(gw), "note",
                                 "tailguard has no garbage collector; this is its memory"));
}

bool tg_admin_monitoring(struct tg_gateway *gw, const struct tg_cset *collectors,
                         const struct tg_http_msg *req, struct tg_admin_resp *r)
{
    static const char prefix[] = "/api/v1/monitoring/";
    struct tg_str p = req->path;
    if (p.len < sizeof prefix - 1 || memcmp(p.p, prefix, sizeof prefix - 1) != 0)
        return false;
    if (req->method != TG_HTTP_GET && req->method != TG_HTTP_HEAD) {
        tg_admin_resp_error(r, 405, "method not allowed", NULL);
        return true;
    }
    struct tg_str rest = {p.p + sizeof prefix - 1, p.len - (uint32_t)(sizeof prefix - 1)};
#define IS(s) (rest.len == sizeof(s) - 1 && memcmp(rest.p, s, rest.len) == 0)
    if (IS("metrics/latency"))
        latency(gw, req->query, r);
    else if (IS("metrics/requests"))
        requests(gw, r);
    else if (IS("endpoints/stats"))
        endpoints_stats(gw, req->query, r);
    else if (IS("threads"))
        threads(gw, r);
    else if (IS("external-services"))
        external_services(gw, collectors, r);
    else if (IS("traces"))
        tg_admin_traces(gw, req->query, r);
    else if (IS("slow-queries"))
        tg_admin_slow_queries(gw, req->query, r);
    else if (IS("requests/active"))
        active(gw, req->query, r);
    else if (IS("gc"))
        gc_view(gw, r);
    else if (IS("agents/pool") || (rest.len > 7 && memcmp(rest.p, "agents/", 7) == 0))
        /* App-specific (the agent pool lives in the upstream app): say so plainly. */
        tg_admin_resp_json(r, 501,
                           json_pack("{s:s, s:s, s:s}", "status", "unsupported", "component",
                                     "agents", "reason",
                                     "the agent pool is inside the application: ask it on the "
                                     "proxy port (with admin.mount_on_proxy these paths go to "
                                     "the default upstream)"));
    else
        tg_admin_resp_error(r, 404, "not found", NULL);
#undef IS
    return true;
}
