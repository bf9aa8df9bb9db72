/* SPDX-License-Identifier: MIT */
/* The upstream and worker collectors: per-server histograms and the same timings summed
 * per upstream (external_api_duration_seconds: the "service" the runbooks' dashboards
 * name, since the gateway sees the API's dependencies as its upstreams), then the
 * scrape-time gauges of servers (health, ejection, slow-start weight, latency average,
 * load, errors) and workers (requests and connections in flight, accept queues, loop
 * lag). Servers and workers come and go with reloads and resizes, so their lists are
 * walked afresh at each scrape, one family per walk, as the text format wants each
 * family's series together; a gauge family with no series is left out. */
#include "proxy/collect.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "metrics/agg.h"
#include "proxy/collect_int.h"
#include "proxy/gateway.h"

static const char *const srv_names[] = {"upstream", "server"};

struct srv_ctx {
    struct tg_gateway *gw;
    const struct tg_mvisitor *v;
    int step;
    bool announced;
};

static void on_server_hist(const struct tg_gateway_server_info *s, void *vctx)
{
    struct srv_ctx *c = vctx;
    const struct tg_srvstats *st = tg_magg_server_total(tg_gateway_metrics(c->gw), s->key);
    const char *values[] = {s->upstream, s->address};
    if (st)
        tg_proxy__fixed_hist(c->v, &(struct tg_mlabels){srv_names, values, 2}, &st->latency);
}

struct svc_ctx {
    struct tg_gateway *gw;
    const struct tg_mvisitor *v;
    char name[64];
    struct tg_fixed_hist sum;
    bool any;
};

static void flush_service(struct svc_ctx *c)
{
    static const char *const names[] = {"service"};
    const char *values[] = {c->name};
    if (c->any)
        tg_proxy__fixed_hist(c->v, &(struct tg_mlabels){names, values, 1}, &c->sum);
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

int tg_gateway_collect_upstreams(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    struct tg_gateway *gw = data;
    if (cur->step == 0) {
        v->family(v->ctx, &(struct tg_mfamily){
                              "upstream_request_duration_seconds",
                              "Upstream time per request, from the request sent to the response "
                              "complete.",
                              "seconds", TG_METRIC_HISTOGRAM});
        struct srv_ctx c = {gw, v, 0, false};
        tg_gateway_foreach_server(gw, on_server_hist, &c);
        tg_mcursor_next(cur);
        if (tg_mvisit_full(v))
            return TG_AGAIN;
    }
    v->family(v->ctx, &(struct tg_mfamily){
                          "external_api_duration_seconds",
                          "Time spent in each upstream service (all its servers), per request.",
                          "seconds", TG_METRIC_HISTOGRAM});
    struct svc_ctx sc = {.gw = gw, .v = v};
    tg_gateway_foreach_server(gw, on_service, &sc);
    flush_service(&sc);
    return TG_DONE;
}

/* ---- gauges ------------------------------------------------------------------------ */

enum gstep {
    G_UP = 0,
    G_EJECTED,
    G_WEIGHT,
    G_EWMA,
    G_INFLIGHT,
    G_ERRORS,
    G_WORKERS, /* the sums over workers, each one unlabelled series */
    G_QUEUE,
    G_LAG,
    G_COUNT
};

static const struct tg_mfamily gfams[G_COUNT] = {
    [G_UP] = {"upstream_server_up", "1 when the server takes traffic (healthy, not ejected).", NULL,
              TG_METRIC_GAUGE},
    [G_EJECTED] = {"tailguard_upstream_server_ejected",
                   "1 while passive ejection keeps the server out of rotation.", NULL,
                   TG_METRIC_GAUGE},
    [G_WEIGHT] = {"tailguard_upstream_server_weight_ratio",
                  "Share of its configured weight the server gets: below 1 during a slow start.",
                  "ratio", TG_METRIC_GAUGE},
    [G_EWMA] = {"tailguard_upstream_server_latency_ewma_seconds",
                "The server's time to response head, averaged over its last responses (what "
                "passive ejection compares with its peers).",
                "seconds", TG_METRIC_GAUGE},
    [G_INFLIGHT] = {"upstream_server_in_flight", "Requests in flight to the server.", NULL,
                    TG_METRIC_GAUGE},
    [G_ERRORS] = {"upstream_request_errors_total",
                  "Upstream failures (connect, timeout, reset, bad response) and 5xx answers.",
                  NULL, TG_METRIC_COUNTER},
    [G_QUEUE] = {"tailguard_accept_queue_depth",
                 "Connections waiting in the worker's listen queue, not yet accepted.", NULL,
                 TG_METRIC_GAUGE},
    [G_LAG] = {"tailguard_eventloop_lag_seconds",
               "The longest turn of the worker's event loop in the last 5 seconds: how late a "
               "ready connection can be served.",
               "seconds", TG_METRIC_GAUGE},
};

static void on_server(const struct tg_gateway_server_info *s, void *vctx)
{
    struct srv_ctx *c = vctx;
    const struct tg_srvstats *st = tg_magg_server_total(tg_gateway_metrics(c->gw), s->key);
    double x;
    switch ((enum gstep)c->step) {
    case G_UP:
        x = s->healthy && !s->ejected;
        break;
    case G_EJECTED:
        x = s->ejected;
        break;
    case G_WEIGHT:
        x = s->weight_permille / 1000.0;
        break;
    case G_EWMA:
        if (!s->latency_samples) /* none yet, or judged afresh after an ejection */
            return;
        x = (double)s->latency_ewma_us / 1e6;
        break;
    case G_INFLIGHT:
        x = s->inflight;
        break;
    default:
        x = st ? (double)st->errors : 0;
        break;
    }
    if (!c->announced)
        c->v->family(c->v->ctx, &gfams[c->step]);
    c->announced = true;
    const char *values[] = {s->upstream, s->address};
    c->v->value(c->v->ctx, &(struct tg_mlabels){srv_names, values, 2}, x);
}

struct worker_ctx {
    const struct tg_mvisitor *v;
    int step;
    bool announced;
    uint64_t active, accept_errors, refused, conns;
};

static void on_worker(const struct tg_gateway_worker_info *w, void *vctx)
{
    static const char *const names[] = {"worker"};
    struct worker_ctx *c = vctx;
    c->active += w->active;
    c->accept_errors += w->accept_errors;
    c->refused += w->conns_refused;
    c->conns += w->connections;
    if (c->step == G_WORKERS)
        return;
    char id[16];
    snprintf(id, sizeof id, "%u", (unsigned)w->id);
    const char *values[] = {id};
    if (!c->announced)
        c->v->family(c->v->ctx, &gfams[c->step]);
    c->announced = true;
    c->v->value(c->v->ctx, &(struct tg_mlabels){names, values, 1},
                c->step == G_QUEUE ? w->queue_depth : (double)w->loop_lag_us / 1e6);
}

static void worker_sums(struct tg_gateway *gw, const struct tg_mvisitor *v)
{
    struct worker_ctx wc = {.v = v, .step = G_WORKERS};
    tg_gateway_retired_counters(gw, &wc.accept_errors, &wc.refused);
    tg_gateway_foreach_worker(gw, on_worker, &wc);
    tg_proxy__one(v, "http_requests_active", TG_METRIC_GAUGE,
                  "Requests in flight through the gateway.", (double)wc.active);
    tg_proxy__one(v, "http_connections_active", TG_METRIC_GAUGE,
                  "Client connections open on the proxy listener.", (double)wc.conns);
    tg_proxy__one(v, "tailguard_accept_errors_total", TG_METRIC_COUNTER,
                  "Failed accept() calls on the proxy listeners (e.g. out of file descriptors).",
                  (double)wc.accept_errors);
    tg_proxy__one(v, "tailguard_connections_refused_total", TG_METRIC_COUNTER,
                  "Client connections answered 503 and closed at limits.max_connections.",
                  (double)wc.refused);
    tg_proxy__one(v, "tailguard_endpoints", TG_METRIC_GAUGE,
                  "Endpoint names in use (bounded by endpoints.max, the rest count as \"other\"; "
                  "path templates idle for endpoints.idle_timeout are removed).",
                  tg_gateway_endpoint_count(gw));
    tg_proxy__one(v, "tailguard_metrics_dropped_total", TG_METRIC_COUNTER,
                  "Request samples dropped for lack of memory.",
                  (double)tg_gateway_metrics_dropped(gw));
}

int tg_gateway_collect_gauges(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    struct tg_gateway *gw = data;
    for (; cur->step < G_COUNT; tg_mcursor_next(cur)) {
        if (tg_mvisit_full(v))
            return TG_AGAIN;
        if (cur->step < G_WORKERS) {
            struct srv_ctx c = {gw, v, (int)cur->step, false};
            tg_gateway_foreach_server(gw, on_server, &c);
        } else if (cur->step == G_WORKERS) {
            worker_sums(gw, v);
        } else {
            struct worker_ctx wc = {.v = v, .step = (int)cur->step};
            tg_gateway_foreach_worker(gw, on_worker, &wc);
        }
    }
    return TG_DONE;
}
