/* SPDX-License-Identifier: MIT */
/* The diagnosis' inputs from the store (gather.h): one PromQL query per signal, each
 * written out below as an operator would type it, evaluated at the same time. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/gather.h"
#include "diagnose/pattern_stats_int.h"
#include "promql/eval.h"
#include "promql/parse.h"

#define DAY_MS (86400LL * 1000)

struct run {
    const struct tg_queryable *q;
    const struct tg_diag_window *w;
    struct tg_promql_opts opts;
    struct tg_diag_gathered *g;
    size_t cap_eps, cap_servers, cap_deps;
    struct tg_errbuf *eb;
};

void tg_diag_window_from(const struct tg_cfg_diagnosis *cfg, int64_t now_ms, int64_t scrape_ms,
                         struct tg_diag_window *w)
{
    w->now_ms = now_ms;
    w->window_ms = cfg->window_us / 1000;
    w->baseline_ms = cfg->baseline_us / 1000;
    w->lookback_ms = cfg->lookback_us / 1000;
    w->step_ms = cfg->step_us / 1000 > 0 ? cfg->step_us / 1000 : 1;
    w->scrape_ms = scrape_ms;
}

/* Formats `fmt` where %W, %B, %R stand for the window, the baseline and the series' rate
 * window as PromQL durations. */
static void expand(const struct tg_diag_window *w, const char *fmt, char *out, size_t cap)
{
    size_t n = 0;
    int64_t rate_ms = w->step_ms > 4 * w->scrape_ms ? w->step_ms : 4 * w->scrape_ms;
    for (const char *p = fmt; *p && n + 1 < cap; p++) {
        int64_t d = -1;
        if (p[0] == '%' && p[1] == 'W')
            d = w->window_ms;
        else if (p[0] == '%' && p[1] == 'B')
            d = w->baseline_ms;
        else if (p[0] == '%' && p[1] == 'R')
            d = rate_ms;
        if (d < 0) {
            out[n++] = *p;
            continue;
        }
        n += tg_promql_format_duration(d, out + n, cap - n);
        if (n >= cap)
            n = cap - 1;
        p++;
    }
    out[n] = '\0';
}

typedef void sample_fn(struct run *r, const struct tg_labels *ls, double v);

/* Evaluates `fmt` (expanded) at `t_ms`; calls `fn` per sample of an instant vector. */
static int instant(struct run *r, int64_t t_ms, const char *fmt, sample_fn *fn)
{
    char qs[1024];
    expand(r->w, fmt, qs, sizeof qs);
    struct tg_promql_node *expr = NULL;
    int rc = tg_promql_parse(qs, strlen(qs), &expr, r->eb);
    if (rc == 0) {
        struct tg_promql_result res = {0};
        rc = tg_promql_eval_instant(r->q, expr, t_ms, &r->opts, &res, r->eb);
        if (rc == 0 && res.value.type == TG_PROMQL_VVECTOR) {
            for (size_t i = 0; i < res.value.vec.n; i++)
                fn(r, &res.value.vec.v[i].labels, res.value.vec.v[i].v);
        } else if (rc == 0 && res.value.type == TG_PROMQL_VSCALAR) {
            struct tg_labels none = {0};
            fn(r, &none, res.value.scalar);
        }
        tg_promql_result_free(&res);
    }
    tg_promql_node_free(expr);
    if (rc) {
        char msg[TG_ERRBUF_MSG];
        snprintf(msg, sizeof msg, "%s", r->eb->msg);
        tg_errbuf_set(r->eb, rc, "diagnosis query %s: %s", qs, msg);
    }
    return rc;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(p, c * size);
    if (q)
        *cap = c;
    return q;
}

static struct tg_diag_ep *ep_of(struct run *r, const struct tg_labels *ls)
{
    const char *e = tg_labels_get(ls, "endpoint"), *m = tg_labels_get(ls, "method");
    struct tg_diag_input *in = &r->g->in;
    for (size_t i = 0; i < in->neps; i++)
        if (strcmp(in->eps[i].endpoint, e) == 0 && strcmp(in->eps[i].method, m) == 0)
            return &in->eps[i];
    if (in->neps == TG_DIAG_MAX_ENDPOINTS)
        return NULL;
    struct tg_diag_ep *v = grow(in->eps, &r->cap_eps, in->neps, sizeof *v);
    if (!v)
        return NULL;
    in->eps = v;
    struct tg_diag_ep *n = &v[in->neps++];
    memset(n, 0, sizeof *n);
    snprintf(n->endpoint, sizeof n->endpoint, "%s", e);
    snprintf(n->method, sizeof n->method, "%s", m);
    n->p95_s = n->p99_s = n->baseline_p95_s = n->day_p95_s = NAN;
    n->rps = n->baseline_rps = n->error_ratio = NAN;
    return n;
}

static void on_requests(struct run *r, const struct tg_labels *ls, double v)
{
    struct tg_diag_ep *e = ep_of(r, ls);
    if (e) {
        e->requests = v;
        e->rps = v / ((double)r->w->window_ms / 1000);
    }
}

/* The quantiles fill endpoints that have requests (found first); others are ignored. */
static struct tg_diag_ep *known_ep(struct run *r, const struct tg_labels *ls)
{
    const char *e = tg_labels_get(ls, "endpoint"), *m = tg_labels_get(ls, "method");
    struct tg_diag_input *in = &r->g->in;
    for (size_t i = 0; i < in->neps; i++)
        if (strcmp(in->eps[i].endpoint, e) == 0 && strcmp(in->eps[i].method, m) == 0)
            return &in->eps[i];
    return NULL;
}

#define EP_SETTER(name, field)                                                                     \
    static void name(struct run *r, const struct tg_labels *ls, double v)                          \
    {                                                                                              \
        struct tg_diag_ep *e = known_ep(r, ls);                                                    \
        if (e)                                                                                     \
            e->field = v;                                                                          \
    }
EP_SETTER(on_p95, p95_s)
EP_SETTER(on_p99, p99_s)
EP_SETTER(on_base_p95, baseline_p95_s)
EP_SETTER(on_day_p95, day_p95_s)
EP_SETTER(on_base_rps, baseline_rps)
EP_SETTER(on_errors, error_ratio)
EP_SETTER(on_timeouts, timeouts)

#define TOTAL_SETTER(name, field)                                                                  \
    static void name(struct run *r, const struct tg_labels *ls, double v)                          \
    {                                                                                              \
        (void)ls;                                                                                  \
        r->g->in.field = v;                                                                        \
    }
TOTAL_SETTER(on_rps, rps)
TOTAL_SETTER(on_base_total, baseline_rps)
TOTAL_SETTER(on_err_total, error_ratio)
TOTAL_SETTER(on_timeouts_total, timeouts)
TOTAL_SETTER(on_cpu, cpu_ratio)
TOTAL_SETTER(on_mem, memory_ratio)
TOTAL_SETTER(on_cache, cache_hit_ratio)

static void on_breakers(struct run *r, const struct tg_labels *ls, double v)
{
    (void)ls;
    r->g->in.breakers_open = v > 0 ? (uint32_t)v : 0;
}

static struct tg_diag_server *server_of(struct run *r, const struct tg_labels *ls, bool add)
{
    const char *u = tg_labels_get(ls, "upstream"), *s = tg_labels_get(ls, "server");
    struct tg_diag_input *in = &r->g->in;
    for (size_t i = 0; i < in->nservers; i++)
        if (strcmp(in->servers[i].upstream, u) == 0 && strcmp(in->servers[i].server, s) == 0)
            return &in->servers[i];
    if (!add || in->nservers == TG_DIAG_MAX_SERVERS)
        return NULL;
    struct tg_diag_server *v = grow(in->servers, &r->cap_servers, in->nservers, sizeof *v);
    if (!v)
        return NULL;
    in->servers = v;
    struct tg_diag_server *n = &v[in->nservers++];
    memset(n, 0, sizeof *n);
    snprintf(n->upstream, sizeof n->upstream, "%s", u);
    snprintf(n->server, sizeof n->server, "%s", s);
    n->p95_s = NAN;
    return n;
}

static void on_server_requests(struct run *r, const struct tg_labels *ls, double v)
{
    struct tg_diag_server *s = server_of(r, ls, true);
    if (s)
        s->requests = v;
}

static void on_server_p95(struct run *r, const struct tg_labels *ls, double v)
{
    struct tg_diag_server *s = server_of(r, ls, false);
    if (s)
        s->p95_s = v;
}

static void on_server_ejected(struct run *r, const struct tg_labels *ls, double v)
{
    struct tg_diag_server *s = server_of(r, ls, true);
    if (s)
        s->ejected = v > 0;
}

static struct tg_diag_dep *dep_of(struct run *r, enum tg_diag_dep_kind k,
                                  const struct tg_labels *ls, bool add)
{
    const char *inst = tg_labels_get(ls, "instance");
    struct tg_diag_input *in = &r->g->in;
    for (size_t i = 0; i < in->ndeps; i++)
        if (in->deps[i].kind == k && strcmp(in->deps[i].instance, inst) == 0)
            return &in->deps[i];
    if (!add || in->ndeps == TG_DIAG_MAX_DEPS)
        return NULL;
    struct tg_diag_dep *v = grow(in->deps, &r->cap_deps, in->ndeps, sizeof *v);
    if (!v)
        return NULL;
    in->deps = v;
    struct tg_diag_dep *n = &v[in->ndeps++];
    memset(n, 0, sizeof *n);
    n->kind = k;
    snprintf(n->instance, sizeof n->instance, "%s", inst);
    n->oldest_query_s = n->backends = n->mean_ms = n->hit_ratio = n->memory_ratio = n->latency_s =
        NAN;
    return n;
}

#define DEP_UP(name, kind)                                                                         \
    static void name(struct run *r, const struct tg_labels *ls, double v)                          \
    {                                                                                              \
        struct tg_diag_dep *d = dep_of(r, kind, ls, true);                                         \
        if (d)                                                                                     \
            d->up = v > 0;                                                                         \
    }
DEP_UP(on_pg_up, TG_DIAG_DEP_POSTGRES)
DEP_UP(on_redis_up, TG_DIAG_DEP_REDIS)
DEP_UP(on_probe_up, TG_DIAG_DEP_PROBE)

#define DEP_SETTER(name, kind, field)                                                              \
    static void name(struct run *r, const struct tg_labels *ls, double v)                          \
    {                                                                                              \
        struct tg_diag_dep *d = dep_of(r, kind, ls, false);                                        \
        if (d)                                                                                     \
            d->field = v;                                                                          \
    }
DEP_SETTER(on_pg_oldest, TG_DIAG_DEP_POSTGRES, oldest_query_s)
DEP_SETTER(on_pg_backends, TG_DIAG_DEP_POSTGRES, backends)
DEP_SETTER(on_pg_mean, TG_DIAG_DEP_POSTGRES, mean_ms)
DEP_SETTER(on_redis_hits, TG_DIAG_DEP_REDIS, hit_ratio)
DEP_SETTER(on_redis_mem, TG_DIAG_DEP_REDIS, memory_ratio)
DEP_SETTER(on_probe_latency, TG_DIAG_DEP_PROBE, latency_s)

struct query {
    const char *expr;
    sample_fn *fn;
    int64_t offset_ms; /* evaluated this long before now */
};

/* In order: the request counts come first, since they decide which endpoints exist. */
static const struct query queries[] = {
    {"sum by (endpoint, method) (increase(http_requests_total[%W]))", on_requests, 0},
    {"histogram_quantile(0.95, sum by (endpoint, method, le) "
     "(rate(http_request_duration_seconds_bucket[%W])))",
     on_p95, 0},
    {"histogram_quantile(0.99, sum by (endpoint, method, le) "
     "(rate(http_request_duration_seconds_bucket[%W])))",
     on_p99, 0},
    {"histogram_quantile(0.95, sum by (endpoint, method, le) "
     "(rate(http_request_duration_seconds_bucket[%B] offset %W)))",
     on_base_p95, 0},
    {"histogram_quantile(0.95, sum by (endpoint, method, le) "
     "(rate(http_request_duration_seconds_bucket[%W])))",
     on_day_p95, DAY_MS},
    {"sum by (endpoint, method) (rate(http_requests_total[%B] offset %W))", on_base_rps, 0},
    {"sum by (endpoint, method) (rate(http_requests_total{status=~\"5..\"}[%W])) / "
     "sum by (endpoint, method) (rate(http_requests_total[%W]))",
     on_errors, 0},
    {"sum by (endpoint, method) "
     "(increase(http_request_errors_total{cause=\"upstream_timeout\"}[%W]))",
     on_timeouts, 0},
    {"sum(rate(http_requests_total[%W]))", on_rps, 0},
    {"sum(rate(http_requests_total[%B] offset %W))", on_base_total, 0},
    {"sum(rate(http_requests_total{status=~\"5..\"}[%W])) / sum(rate(http_requests_total[%W]))",
     on_err_total, 0},
    {"sum(increase(http_request_errors_total{cause=\"upstream_timeout\"}[%W]))", on_timeouts_total,
     0},
    {"sum by (upstream, server) (increase(upstream_request_duration_seconds_count[%W]))",
     on_server_requests, 0},
    {"histogram_quantile(0.95, sum by (upstream, server, le) "
     "(rate(upstream_request_duration_seconds_bucket[%W])))",
     on_server_p95, 0},
    {"tailguard_upstream_server_ejected", on_server_ejected, 0},
    {"count(circuit_breaker_state == 1)", on_breakers, 0},
    {"sum(rate(cache_hits_total[%W])) / (sum(rate(cache_hits_total[%W])) + "
     "sum(rate(cache_misses_total[%W])))",
     on_cache, 0},
    {"1 - avg(rate(node_cpu_seconds_total{mode=\"idle\"}[%W]))", on_cpu, 0},
    {"1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)", on_mem, 0},
    {"max by (instance) (pg_up{job=\"postgres\"})", on_pg_up, 0},
    {"max by (instance) (pg_stat_activity_max_tx_duration{job=\"postgres\",state=\"active\"})",
     on_pg_oldest, 0},
    {"sum by (instance) (pg_stat_database_numbackends{job=\"postgres\"})", on_pg_backends, 0},
    {"max by (instance) (pg_stat_statements_mean_time_ms{job=\"postgres\"})", on_pg_mean, 0},
    {"max by (instance) (redis_up{job=\"redis\"})", on_redis_up, 0},
    {"sum by (instance) (rate(redis_keyspace_hits_total[%W])) / (sum by (instance) "
     "(rate(redis_keyspace_hits_total[%W])) + sum by (instance) "
     "(rate(redis_keyspace_misses_total[%W])))",
     on_redis_hits, 0},
    {"max by (instance) (redis_memory_used_bytes) / max by (instance) "
     "(redis_memory_max_bytes > 0)",
     on_redis_mem, 0},
    {"max by (instance) (probe_success{job=\"probes\"})", on_probe_up, 0},
    {"max by (instance) (probe_duration_seconds{job=\"probes\"})", on_probe_latency, 0},
};

/* The baseline p95 of each endpoint: the median of its series over the baseline window
 * (the points before `window`), which a degradation that began inside the baseline
 * window does not move unless it covers half of it, where the quantile of the whole
 * baseline window's rate (the query above) is pulled up by any slow minute. Kept from
 * that query when the series has fewer than three points there. */
static void robust_baselines(struct tg_diag_input *in, const struct tg_diag_window *w)
{
    size_t last = in->nseries - 1;
    size_t wpts = (size_t)(w->window_ms / w->step_ms);
    size_t bpts = (size_t)(w->baseline_ms / w->step_ms);
    if (wpts > last)
        return;
    size_t end = last - wpts; /* the last point before the window */
    size_t start = end + 1 > bpts ? end + 1 - bpts : 0;
    double *tmp = malloc((end - start + 1) * sizeof *tmp);
    if (!tmp)
        return;
    for (size_t i = 0; i < in->neps; i++) {
        size_t k = 0;
        for (size_t j = start; j <= end; j++)
            if (!isnan(in->eps[i].series[j]))
                tmp[k++] = in->eps[i].series[j];
        if (k < 3)
            continue;
        in->eps[i].baseline_p95_s = tg_pattern__median_inplace(tmp, k);
    }
    free(tmp);
}

/* The baseline request rate as the median of the total rate over the baseline window,
 * step by step: a baseline window reaching back before the gateway (or its traffic)
 * started would otherwise average in the empty time and make steady traffic look like a
 * rise. Kept from the window's average when there are fewer than three points. */
static void robust_rate(struct run *r, int64_t start, size_t n)
{
    struct tg_diag_input *in = &r->g->in;
    const struct tg_diag_window *w = r->w;
    /* Ten scrape intervals: over four, scrape jitter alone moves a steady rate by a
     * third (26.7, 40, 53.3 req/s at 40 req/s and 1 s scrapes). */
    char qs[128];
    int64_t rw = 10 * w->scrape_ms > w->step_ms ? 10 * w->scrape_ms : w->step_ms;
    snprintf(qs, sizeof qs, "sum(rate(http_requests_total[%lldms]))", (long long)rw);
    struct tg_promql_node *expr = NULL;
    struct tg_errbuf eb = {0};
    struct tg_promql_result res = {0};
    size_t wpts = (size_t)(w->window_ms / w->step_ms), bpts = (size_t)(w->baseline_ms / w->step_ms);
    if (wpts >= n || tg_promql_parse(qs, strlen(qs), &expr, &eb) != 0)
        return;
    size_t end = n - 1 - wpts, first = end + 1 > bpts ? end + 1 - bpts : 0;
    double *v = malloc((end - first + 1) * sizeof *v);
    size_t k = 0;
    if (v &&
        tg_promql_eval_range(r->q, expr, start, w->now_ms, w->step_ms, &r->opts, &res, &eb) == 0 &&
        res.value.mat.n == 1) {
        const struct tg_promql_series *s = &res.value.mat.v[0];
        for (size_t j = 0; j < s->n; j++) {
            int64_t idx = (s->s[j].t - start) / w->step_ms;
            if (idx >= (int64_t)first && idx <= (int64_t)end && !isnan(s->s[j].v))
                v[k++] = s->s[j].v;
        }
    }
    if (k >= 3)
        in->baseline_rps = tg_pattern__median_inplace(v, k);
    free(v);
    tg_promql_result_free(&res);
    tg_promql_node_free(expr);
}

/* The p95 series of every endpoint over the lookback (and the baseline window), one
 * range query. */
static int series(struct run *r)
{
    struct tg_diag_input *in = &r->g->in;
    const struct tg_diag_window *w = r->w;
    /* The series covers the baseline window too: the baseline is its median there. */
    int64_t span = w->lookback_ms > w->window_ms + w->baseline_ms ? w->lookback_ms
                                                                  : w->window_ms + w->baseline_ms;
    size_t n = (size_t)(span / w->step_ms) + 1;
    in->step_ms = w->step_ms;
    in->nseries = n;
    if (in->neps == 0)
        return 0;
    r->g->series_mem = malloc(in->neps * n * sizeof(double));
    if (!r->g->series_mem)
        return tg_errbuf_set(r->eb, -ENOMEM, "out of memory");
    for (size_t i = 0; i < in->neps * n; i++)
        r->g->series_mem[i] = NAN;
    for (size_t i = 0; i < in->neps; i++)
        in->eps[i].series = r->g->series_mem + i * n;
    char qs[512];
    expand(w,
           "histogram_quantile(0.95, sum by (endpoint, method, le) "
           "(rate(http_request_duration_seconds_bucket[%R])))",
           qs, sizeof qs);
    struct tg_promql_node *expr = NULL;
    int rc = tg_promql_parse(qs, strlen(qs), &expr, r->eb);
    int64_t start = w->now_ms - (int64_t)(n - 1) * w->step_ms;
    struct tg_promql_result res = {0};
    if (rc == 0)
        rc = tg_promql_eval_range(r->q, expr, start, w->now_ms, w->step_ms, &r->opts, &res, r->eb);
    for (size_t s = 0; rc == 0 && s < res.value.mat.n; s++) {
        const struct tg_promql_series *ps = &res.value.mat.v[s];
        struct tg_diag_ep *e = known_ep(r, &ps->labels);
        for (size_t k = 0; e && k < ps->n; k++) {
            int64_t idx = (ps->s[k].t - start) / w->step_ms;
            if (idx >= 0 && (size_t)idx < n)
                ((double *)e->series)[idx] = ps->s[k].v;
        }
    }
    tg_promql_result_free(&res);
    tg_promql_node_free(expr);
    if (rc == 0) {
        robust_baselines(in, w);
        robust_rate(r, start, n);
    }
    return rc;
}

int tg_diag_gather(const struct tg_queryable *q, const struct tg_diag_window *w,
                   int64_t deadline_us, struct tg_diag_gathered *g, struct tg_errbuf *eb)
{
    memset(g, 0, sizeof *g);
    struct run r = {.q = q, .w = w, .opts = {.deadline_us = deadline_us}, .g = g, .eb = eb};
    struct tg_diag_input *in = &g->in;
    in->now_ms = w->now_ms;
    in->rps = in->baseline_rps = in->error_ratio = in->cpu_ratio = in->memory_ratio =
        in->cache_hit_ratio = NAN;
    in->timeouts = 0;
    int rc = 0;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0] && rc == 0; i++)
        rc = instant(&r, w->now_ms - queries[i].offset_ms, queries[i].expr, queries[i].fn);
    if (rc == 0)
        rc = series(&r);
    if (rc == 0)
        in->host = !isnan(in->cpu_ratio);
    /* No 5xx series at all is a ratio of 0 where there was traffic, not "no data". */
    for (size_t i = 0; rc == 0 && i < in->neps; i++)
        if (isnan(in->eps[i].error_ratio) && in->eps[i].requests > 0)
            in->eps[i].error_ratio = 0;
    if (rc == 0 && isnan(in->error_ratio) && in->rps > 0)
        in->error_ratio = 0;
    if (rc)
        tg_diag_gathered_free(g);
    return rc;
}

void tg_diag_gathered_free(struct tg_diag_gathered *g)
{
    free(g->in.eps);
    free(g->in.servers);
    free(g->in.deps);
    free(g->series_mem);
    memset(g, 0, sizeof *g);
}
