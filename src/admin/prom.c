/* SPDX-License-Identifier: MIT */
/* Prometheus exposition of the gateway's metrics; see prom.h. Counters come from the
 * since-start totals of the aggregate, so they only go up (a reload keeps them: endpoint
 * and server ids survive reloads). An endpoint removed for idleness
 * (`endpoints.idle_timeout`) simply has no series any more, which Prometheus marks stale;
 * if its name comes back, its counters start again from zero, as a new series. The
 * request-duration histogram's `le` buckets are derived from the log-linear histogram at
 * fixed boundaries covering 5 ms to 120 s (the runbooks' targets go up to 120 s); a
 * boundary is matched to the nearest histogram bucket, so a count may include values up
 * to 0.8 % above it. The whole document is built in memory: at the default bound of 1000
 * endpoints this is a few MB at worst; a streaming writer with a cursor is the next step
 * if that hurts. */
#include "admin/prom.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "admin/procmem.h"
#include "admin/text.h"
#include "config/config.h"
#include "control/control.h"
#include "http/http1.h"
#include "http/server.h"
#include "metrics/agg.h"
#include "metrics/registry.h"
#include "proxy/gateway.h"

static const double duration_bounds_s[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                           0.25,  0.3,  0.5,   0.75, 1,     1.5, 2,    2.5,
                                           5,     7.5,  10,    30,   60,    120};
#define NBOUNDS (sizeof duration_bounds_s / sizeof duration_bounds_s[0])

static const char *const phases[TG_PHASE_COUNT] = {"queue", "connect", "upstream_first_byte",
                                                   "transfer"};


static void labels_ep(struct tg_text *t, struct tg_gateway *gw, uint32_t key)
{
    tg_text_put(t, "endpoint=\"", 10);
    tg_text_label_value(t, tg_gateway_endpoint_name(gw, key / TG_GATEWAY_METHODS));
    tg_text_printf(t, "\",method=\"%s\"",
                   tg_http_method_name((enum tg_http_method)(key % TG_GATEWAY_METHODS)));
}

static void fixed_hist(struct tg_text *t, const char *name, const struct tg_fixed_hist *h,
                       void (*labels)(struct tg_text *, const void *), const void *ctx)
{
    const int64_t *b = tg_fixed_bounds_us();
    uint64_t cum = 0;
    for (unsigned i = 0; i < TG_FIXED_BUCKETS; i++) {
        cum += h->counts[i];
        tg_text_printf(t, "%s_bucket{", name);
        labels(t, ctx);
        tg_text_printf(t, ",le=\"%g\"} %llu\n", (double)b[i] / 1e6, (unsigned long long)cum);
    }
    tg_text_printf(t, "%s_bucket{", name);
    labels(t, ctx);
    tg_text_printf(t, ",le=\"+Inf\"} %llu\n%s_sum{", (unsigned long long)h->count, name);
    labels(t, ctx);
    tg_text_printf(t, "} %.6f\n%s_count{", (double)h->sum_us / 1e6, name);
    labels(t, ctx);
    tg_text_printf(t, "} %llu\n", (unsigned long long)h->count);
}

struct ep_phase {
    struct tg_gateway *gw;
    uint32_t key;
    const char *phase;
};

static void ep_phase_labels(struct tg_text *t, const void *ctx)
{
    const struct ep_phase *e = ctx;
    labels_ep(t, e->gw, e->key);
    tg_text_printf(t, ",phase=\"%s\"", e->phase);
}

static void request_families(struct tg_text *t, struct tg_gateway *gw)
{
    struct tg_magg *a = tg_gateway_metrics(gw);
    uint32_t nkeys = tg_magg_nkeys(a);

    tg_text_family(t, "http_requests_total", "counter", "Requests answered, by endpoint, method and status.");
    for (uint32_t k = 0; k < nkeys; k++) {
        const struct tg_reqstats *s = tg_magg_total(a, k);
        if (!s)
            continue;
        for (unsigned i = 0; i < TG_STATUS_SLOTS && s->codes[i]; i++) {
            tg_text_put(t, "http_requests_total{", 20);
            labels_ep(t, gw, k);
            tg_text_printf(t, ",status=\"%u\"} %llu\n", s->codes[i],
                           (unsigned long long)s->code_counts[i]);
        }
        if (s->other_status) {
            tg_text_put(t, "http_requests_total{", 20);
            labels_ep(t, gw, k);
            tg_text_printf(t, ",status=\"other\"} %llu\n", (unsigned long long)s->other_status);
        }
    }

    int64_t bounds_us[TG_CFG_MAX_BUCKETS];
    unsigned nb = tg_gateway_duration_buckets(gw, bounds_us, TG_CFG_MAX_BUCKETS);
    if (nb == 0)
        for (; nb < NBOUNDS; nb++)
            bounds_us[nb] = (int64_t)(duration_bounds_s[nb] * 1e6 + 0.5);
    tg_text_family(t, "http_request_duration_seconds", "histogram",
           "Request duration at the gateway, from the request head to the last response byte.");
    for (uint32_t k = 0; k < nkeys; k++) {
        const struct tg_reqstats *s = tg_magg_total(a, k);
        if (!s)
            continue;
        for (unsigned i = 0; i < nb; i++) {
            tg_text_put(t, "http_request_duration_seconds_bucket{", 37);
            labels_ep(t, gw, k);
            uint64_t n = tg_phist_count_le(&s->latency, bounds_us[i]);
            tg_text_printf(t, ",le=\"%g\"} %llu\n", (double)bounds_us[i] / 1e6,
                           (unsigned long long)n);
        }
        tg_text_put(t, "http_request_duration_seconds_bucket{", 37);
        labels_ep(t, gw, k);
        tg_text_printf(t, ",le=\"+Inf\"} %llu\n", (unsigned long long)s->latency.count);
        tg_text_put(t, "http_request_duration_seconds_sum{", 34);
        labels_ep(t, gw, k);
        tg_text_printf(t, "} %.6f\n", (double)s->latency.sum_us / 1e6);
        tg_text_put(t, "http_request_duration_seconds_count{", 36);
        labels_ep(t, gw, k);
        tg_text_printf(t, "} %llu\n", (unsigned long long)s->latency.count);
    }

    tg_text_family(t, "http_request_errors_total", "counter",
           "Requests that failed at or behind the gateway, by endpoint, method and cause.");
    for (uint32_t k = 0; k < nkeys; k++) {
        const struct tg_reqstats *s = tg_magg_total(a, k);
        if (!s)
            continue;
        for (unsigned c = 0; c < TG_CAUSE_SLOTS && tg_gateway_cause_name(c); c++) {
            if (!s->causes[c] || !tg_gateway_cause_is_error(c))
                continue;
            tg_text_put(t, "http_request_errors_total{", 26);
            labels_ep(t, gw, k);
            tg_text_printf(t, ",cause=\"%s\"} %llu\n", tg_gateway_cause_name(c),
                           (unsigned long long)s->causes[c]);
        }
    }

    tg_text_family(t, "rate_limit_hits_total", "counter",
           "Requests refused with 429 by a rate limit, by endpoint, method and scope "
           "(global, client_ip, route).");
    for (uint32_t k = 0; k < nkeys; k++) {
        const struct tg_reqstats *s = tg_magg_total(a, k);
        for (unsigned c = 0; s && c < TG_CAUSE_SLOTS && tg_gateway_cause_name(c); c++) {
            const char *scope = tg_gateway_cause_rate_scope(c);
            if (!s->causes[c] || !scope)
                continue;
            tg_text_put(t, "rate_limit_hits_total{", 22);
            labels_ep(t, gw, k);
            tg_text_printf(t, ",scope=\"%s\"} %llu\n", scope, (unsigned long long)s->causes[c]);
        }
    }

    tg_text_family(t, "tailguard_request_causes_total", "counter",
           "How requests ended (Envoy-style response flags), by endpoint, method and cause.");
    for (uint32_t k = 0; k < nkeys; k++) {
        const struct tg_reqstats *s = tg_magg_total(a, k);
        for (unsigned c = 0; s && c < TG_CAUSE_SLOTS && tg_gateway_cause_name(c); c++) {
            if (!s->causes[c])
                continue;
            tg_text_put(t, "tailguard_request_causes_total{", 31);
            labels_ep(t, gw, k);
            tg_text_printf(t, ",cause=\"%s\"} %llu\n", tg_gateway_cause_name(c),
                           (unsigned long long)s->causes[c]);
        }
    }

    tg_text_family(t, "tailguard_request_phase_seconds", "histogram",
           "Where request time went: gateway queue, upstream connect, upstream time to first "
           "byte, transfer.");
    for (uint32_t k = 0; k < nkeys; k++) {
        const struct tg_reqstats *s = tg_magg_total(a, k);
        for (unsigned p = 0; s && p < TG_PHASE_COUNT; p++) {
            if (!s->phases[p].count)
                continue;
            struct ep_phase ctx = {gw, k, phases[p]};
            fixed_hist(t, "tailguard_request_phase_seconds", &s->phases[p], ep_phase_labels, &ctx);
        }
    }
}

static void server_labels(struct tg_text *t, const void *ctx)
{
    const struct tg_gateway_server_info *s = ctx;
    tg_text_put(t, "upstream=\"", 10);
    tg_text_label_value(t, s->upstream);
    tg_text_put(t, "\",server=\"", 10);
    tg_text_label_value(t, s->address);
    tg_text_put(t, "\"", 1);
}

static void service_labels(struct tg_text *t, const void *ctx)
{
    tg_text_put(t, "service=\"", 9);
    tg_text_label_value(t, ctx);
    tg_text_put(t, "\"", 1);
}

/* The scrape-time families that are plain counters and gauges, kept in the series
 * registry (created on the first scrape, refreshed on each). */
struct gauges {
    struct tg_family *up, *ejected, *weight, *ewma, *inflight, *errors, *active, *cpu, *rss, *vsize, *fds, *max_fds,
        *start, *build, *endpoints, *dropped, *accept_errors, *refused, *reload_ok, *reload_ts,
        *restart_pending, *accept_queue, *admin_conns, *admin_conn_results, *admin_refusals,
        *admin_requests, *admin_closes, *admin_accept_errors, *task_runs, *task_overruns,
        *task_duration, *conns, *loop_lag;
};

static int define(struct tg_registry *reg, struct gauges *g)
{
    static const char *const srv[] = {"upstream", "server"};
    static const char *const ver[] = {"version"};
    static const char *const result[] = {"result"};
    static const char *const status[] = {"status"};
    static const char *const reason[] = {"reason"};
    static const char *const worker[] = {"worker"};
    static const char *const task[] = {"task"};
    struct {
        struct tg_family **f;
        const char *name, *help;
        enum tg_metric_type type;
        const char *const *labels;
        size_t n;
    } defs[] = {
        {&g->up, "upstream_server_up", "1 when the server takes traffic (healthy, not ejected).",
         TG_METRIC_GAUGE, srv, 2},
        {&g->ejected, "tailguard_upstream_server_ejected",
         "1 while passive ejection keeps the server out of rotation.", TG_METRIC_GAUGE, srv, 2},
        {&g->weight, "tailguard_upstream_server_weight_ratio",
         "Share of its configured weight the server gets: below 1 during a slow start.",
         TG_METRIC_GAUGE, srv, 2},
        {&g->ewma, "tailguard_upstream_server_latency_ewma_seconds",
         "The server's time to response head, averaged over its last responses (what "
         "passive ejection compares with its peers).",
         TG_METRIC_GAUGE, srv, 2},
        {&g->inflight, "upstream_server_in_flight", "Requests in flight to the server.",
         TG_METRIC_GAUGE, srv, 2},
        {&g->errors, "upstream_request_errors_total",
         "Upstream failures (connect, timeout, reset, bad response) and 5xx answers.",
         TG_METRIC_COUNTER, srv, 2},
        {&g->active, "http_requests_active", "Requests in flight through the gateway.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->cpu, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         TG_METRIC_COUNTER, NULL, 0},
        {&g->rss, "process_resident_memory_bytes", "Resident memory size in bytes.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->vsize, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->fds, "process_open_fds", "Number of open file descriptors.", TG_METRIC_GAUGE, NULL,
         0},
        {&g->max_fds, "process_max_fds", "Maximum number of open file descriptors.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->start, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", TG_METRIC_GAUGE, NULL, 0},
        {&g->build, "tailguard_build_info", "Build information (always 1).", TG_METRIC_GAUGE,
         ver, 1},
        {&g->endpoints, "tailguard_endpoints",
         "Endpoint names in use (bounded by endpoints.max, the rest count as \"other\"; "
         "path templates idle for endpoints.idle_timeout are removed).",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->dropped, "tailguard_metrics_dropped_total",
         "Request samples dropped for lack of memory.", TG_METRIC_COUNTER, NULL, 0},
        {&g->accept_errors, "tailguard_accept_errors_total",
         "Failed accept() calls on the proxy listeners (e.g. out of file descriptors).",
         TG_METRIC_COUNTER, NULL, 0},
        {&g->refused, "tailguard_connections_refused_total",
         "Client connections answered 503 and closed at limits.max_connections.",
         TG_METRIC_COUNTER, NULL, 0},
        {&g->reload_ok, "tailguard_config_last_reload_successful",
         "1 when the last configuration reload was applied, 0 when it was refused.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->reload_ts, "tailguard_config_last_reload_success_timestamp_seconds",
         "When a configuration was last applied (start or reload), since unix epoch.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->restart_pending, "tailguard_config_restart_pending",
         "Settings of the applied configuration file that only take effect after a restart.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->accept_queue, "tailguard_accept_queue_depth",
         "Connections waiting in the worker's listen queue, not yet accepted.", TG_METRIC_GAUGE,
         worker, 1},
        {&g->admin_conns, "tailguard_admin_connections",
         "Connections open on the admin listener.", TG_METRIC_GAUGE, NULL, 0},
        {&g->admin_conn_results, "tailguard_admin_connections_total",
         "Connections to the admin listener: accepted, or refused at its connection cap.",
         TG_METRIC_COUNTER, result, 1},
        {&g->admin_refusals, "tailguard_admin_refused_requests_total",
         "Requests the admin listener refused itself (malformed, too large, too slow...).",
         TG_METRIC_COUNTER, status, 1},
        {&g->admin_requests, "tailguard_admin_requests_total",
         "Requests handed to the admin API.", TG_METRIC_COUNTER, NULL, 0},
        {&g->admin_closes, "tailguard_admin_closed_connections_total",
         "Admin connections closed by the listener: idle, a client not reading its answer, "
         "or evicted at the cap (idle or slow head).",
         TG_METRIC_COUNTER, reason, 1},
        {&g->admin_accept_errors, "tailguard_admin_accept_errors_total",
         "Failed accept() calls on the admin listener (accepting pauses for 100 ms).",
         TG_METRIC_COUNTER, NULL, 0},
        {&g->task_runs, "tailguard_control_task_runs_total",
         "Runs of each periodic task of the control thread.", TG_METRIC_COUNTER, task, 1},
        {&g->task_overruns, "tailguard_control_task_overruns_total",
         "Runs of each control-thread task that ended after its next tick was due (the "
         "ticks missed are skipped, not queued).",
         TG_METRIC_COUNTER, task, 1},
        {&g->task_duration, "tailguard_control_task_duration_seconds",
         "How long the last run of each control-thread task took.", TG_METRIC_GAUGE, task, 1},
        {&g->conns, "http_connections_active", "Client connections open on the proxy listener.",
         TG_METRIC_GAUGE, NULL, 0},
        {&g->loop_lag, "tailguard_eventloop_lag_seconds",
         "The longest turn of the worker's event loop in the last 5 seconds: how late a "
         "ready connection can be served.",
         TG_METRIC_GAUGE, worker, 1},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        int rc = tg_registry_family(reg, defs[i].name, defs[i].help, defs[i].type,
                                    defs[i].labels, defs[i].n, defs[i].f);
        if (rc)
            return rc;
    }
    return 0;
}

struct srv_ctx {
    struct tg_gateway *gw;
    struct gauges *g;
    struct tg_text *t;
};

static void on_server(const struct tg_gateway_server_info *s, void *vctx)
{
    struct srv_ctx *c = vctx;
    const char *const labels[] = {s->upstream, s->address};
    const struct tg_srvstats *st = tg_magg_server_total(tg_gateway_metrics(c->gw), s->key);
    tg_family_set(c->g->up, labels, s->healthy && !s->ejected);
    tg_family_set(c->g->ejected, labels, s->ejected);
    tg_family_set(c->g->weight, labels, s->weight_permille / 1000.0);
    if (s->latency_samples) /* none yet, or judged afresh after an ejection */
        tg_family_set(c->g->ewma, labels, (double)s->latency_ewma_us / 1e6);
    tg_family_set(c->g->inflight, labels, s->inflight);
    tg_family_set(c->g->errors, labels, st ? (double)st->errors : 0);
}

static void on_server_hist(const struct tg_gateway_server_info *s, void *vctx)
{
    struct srv_ctx *c = vctx;
    const struct tg_srvstats *st = tg_magg_server_total(tg_gateway_metrics(c->gw), s->key);
    if (st)
        fixed_hist(c->t, "upstream_request_duration_seconds", &st->latency, server_labels, s);
}

/* external_api_duration_seconds: the same upstream timings summed per upstream (the
 * "service" the runbooks' dashboards name), since the gateway sees the API's
 * dependencies as its upstreams. */
struct svc_ctx {
    struct tg_gateway *gw;
    char name[64];
    struct tg_fixed_hist sum;
    bool any;
    struct tg_text *t;
};

static void flush_service(struct svc_ctx *c)
{
    if (c->any)
        fixed_hist(c->t, "external_api_duration_seconds", &c->sum, service_labels, c->name);
    memset(&c->sum, 0, sizeof c->sum);
    c->any = false;
}

static void on_service(const struct tg_gateway_server_info *s, void *vctx)
{
    struct svc_ctx *c = vctx;
    if (strcmp(c->name, s->upstream) != 0) {
        flush_service(c);
        snprintf(c->name, sizeof c->name, "%s", s->upstream);
    }
    const struct tg_srvstats *st = tg_magg_server_total(tg_gateway_metrics(c->gw), s->key);
    if (st) {
        tg_fixed_hist_merge(&c->sum, &st->latency);
        c->any = true;
    }
}

static void histogram_families(struct tg_text *t, struct tg_gateway *gw)
{
    tg_text_family(t, "upstream_request_duration_seconds", "histogram",
           "Upstream time per request, from the request sent to the response complete.");
    struct srv_ctx c = {gw, NULL, t};
    tg_gateway_foreach_server(gw, on_server_hist, &c);
    tg_text_family(t, "external_api_duration_seconds", "histogram",
           "Time spent in each upstream service (all its servers), per request.");
    struct svc_ctx sc = {.gw = gw, .t = t};
    tg_gateway_foreach_server(gw, on_service, &sc);
    flush_service(&sc);
}

struct worker_ctx {
    struct gauges *g;
    uint64_t active, accept_errors, refused, conns;
};

static void on_worker(const struct tg_gateway_worker_info *w, void *ctx)
{
    struct worker_ctx *c = ctx;
    char id[16];
    snprintf(id, sizeof id, "%u", (unsigned)w->id);
    const char *const labels[] = {id};
    c->active += w->active;
    c->accept_errors += w->accept_errors;
    c->refused += w->conns_refused;
    c->conns += w->connections;
    tg_family_set(c->g->accept_queue, labels, w->queue_depth);
    tg_family_set(c->g->loop_lag, labels, (double)w->loop_lag_us / 1e6);
}

static void on_task(const struct tg_control_task_info *t, void *vg)
{
    struct gauges *g = vg;
    const char *const labels[] = {t->name};
    tg_family_set(g->task_runs, labels, (double)t->stats.runs);
    tg_family_set(g->task_overruns, labels, (double)t->stats.overruns);
    tg_family_set(g->task_duration, labels, (double)t->stats.last_us / 1e6);
}

/* The admin listener's own counters (the HTTP server engine's). */
static void admin_listener(struct gauges *g, const struct tg_hsrv_stats *hs)
{
    tg_family_set(g->admin_conns, NULL, hs->conns);
    tg_family_set(g->admin_conn_results, (const char *const[]){"accepted"}, (double)hs->accepted);
    tg_family_set(g->admin_conn_results, (const char *const[]){"refused"},
                  (double)hs->rejected_cap);
    const struct {
        const char *status;
        uint64_t n;
    } refused[] = {{"400", hs->status_400}, {"405", hs->status_405}, {"408", hs->status_408},
                   {"413", hs->status_413}, {"414", hs->status_414}, {"431", hs->status_431},
                   {"501", hs->status_501}, {"505", hs->status_505}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        tg_family_set(g->admin_refusals, &refused[i].status, (double)refused[i].n);
    tg_family_set(g->admin_requests, NULL, (double)hs->requests);
    const struct {
        const char *reason;
        uint64_t n;
    } closed[] = {{"idle", hs->timeouts_idle},
                  {"write_timeout", hs->timeouts_write},
                  {"evicted_idle", hs->evicted_idle},
                  {"evicted_slow", hs->evicted_slow}};
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
        tg_family_set(g->admin_closes, &closed[i].reason, (double)closed[i].n);
    tg_family_set(g->admin_accept_errors, NULL, (double)hs->accept_errors);
}

static void refresh(struct tg_gateway *gw, const struct tg_control *ctl, struct gauges *g,
                    int64_t start_wall_us, const struct tg_admin_reload *rl,
                    const struct tg_hsrv_stats *hs)
{
    admin_listener(g, hs);
    if (ctl)
        tg_control_foreach_task(ctl, on_task, g);
    tg_family_set(g->reload_ok, NULL, rl->ok);
    tg_family_set(g->reload_ts, NULL, (double)(rl->success_wall_us / 1000) / 1e3);
    tg_family_set(g->restart_pending, NULL, rl->restart_pending);
    /* Servers come and go with reloads: rebuild their series each time. */
    tg_family_clear(g->up);
    tg_family_clear(g->ejected);
    tg_family_clear(g->weight);
    tg_family_clear(g->ewma);
    tg_family_clear(g->inflight);
    tg_family_clear(g->errors);
    struct srv_ctx c = {gw, g, NULL};
    tg_gateway_foreach_server(gw, on_server, &c);

    /* Workers come and go with resizes: only the serving ones have series. */
    tg_family_clear(g->accept_queue);
    tg_family_clear(g->loop_lag);
    struct worker_ctx wc = {.g = g};
    tg_gateway_retired_counters(gw, &wc.accept_errors, &wc.refused);
    tg_gateway_foreach_worker(gw, on_worker, &wc);
    tg_family_set(g->active, NULL, (double)wc.active);
    tg_family_set(g->accept_errors, NULL, (double)wc.accept_errors);
    tg_family_set(g->refused, NULL, (double)wc.refused);
    tg_family_set(g->conns, NULL, (double)wc.conns);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    tg_family_set(g->cpu, NULL,
                  (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    int64_t rss, vsize;
    tg_admin_procmem(&rss, &vsize);
    tg_family_set(g->rss, NULL, (double)rss);
    tg_family_set(g->vsize, NULL, (double)vsize);
    long fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory stream's own descriptor */
    }
    tg_family_set(g->fds, NULL, (double)fds);
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0)
        tg_family_set(g->max_fds, NULL, (double)nofile.rlim_cur);
    tg_family_set(g->start, NULL, (double)(start_wall_us / 1000) / 1e3);
    const char *const version[] = {TG_VERSION};
    tg_family_set(g->build, version, 1);
    tg_family_set(g->endpoints, NULL, tg_gateway_endpoint_count(gw));
    tg_family_set(g->dropped, NULL, (double)tg_gateway_metrics_dropped(gw));
}

static void put_text(void *ctx, const char *s, size_t n)
{
    tg_text_put(ctx, s, n);
}

void tg_admin_prom_metrics(struct tg_gateway *gw, const struct tg_control *ctl,
                           struct tg_store *store, struct tg_registry *reg, int64_t start_wall_us,
                           const struct tg_admin_reload *rl, const struct tg_hsrv_stats *admin,
                           struct tg_admin_resp *r)
{
    struct gauges g;
    if (define(reg, &g) != 0) {
        tg_admin_resp_error(r, 500, "metrics registry: out of memory", NULL);
        return;
    }
    refresh(gw, ctl, &g, start_wall_us, rl, admin);
    struct tg_text t = {0};
    request_families(&t, gw);
    histogram_families(&t, gw);
    tg_admin_prom_protect(&t, gw);
    if (store)
        tg_admin_prom_store(&t, store);
    tg_registry_expose(reg, put_text, &t);
    if (t.oom) {
        tg_text_free(&t);
        tg_admin_resp_error(r, 500, "out of memory", NULL);
        return;
    }
    free(r->body);
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = tg_text_take(&t, &r->body_len);
}
