/* SPDX-License-Identifier: MIT */
/* Gateway lifecycle: snapshot publication, worker threads, drain and stop, and the
 * control thread's reads of the workers. See gateway.h. The workers and their listeners
 * (one SO_REUSEPORT socket per worker, so the kernel spreads connections without a shared
 * accept queue) are started, resized and stopped by resize.c. */
#include "proxy/gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/proxy_int.h"

_Static_assert(TG_CFG_MAX_HEADERS_LIMIT == TG_HTTP_MAX_HEADERS,
               "config's header limit must match the parser's array");

/* Bytes the request-head rewrite may add (X-Forwarded-For, Via, X-Request-Id...). */
#define HEAD_SLACK 4096

/* Opens `path` for the access log ("-" = stderr). -errno or a descriptor. */
static int access_log_open(const char *path, struct tg_errbuf *eb)
{
    int fd = strcmp(path, "-") == 0 ? fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)
                                    : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        int err = errno;
        return tg_errbuf_set(eb, -err, "access_log: cannot open %s: %s", path, strerror(err));
    }
    return fd;
}

/* Makes the access log what `cfg` says: reopens the file on every call (so a SIGHUP after
 * log rotation moves to the new file, as nginx's USR1 does), switches the format, turns
 * it on or off. On failure the log stays as it was. */
static int access_log_apply(struct tg_gateway *gw, const struct tg_config *cfg,
                            struct tg_errbuf *eb)
{
    atomic_store(&gw->access_format, (int)cfg->access_log_format);
    if (!cfg->access_log[0]) {
        atomic_store(&gw->access_on, false);
        return 0;
    }
    int fd = access_log_open(cfg->access_log, eb);
    if (fd < 0)
        return fd;
    int cur = atomic_load(&gw->access_fd);
    if (cur < 0) {
        atomic_store(&gw->access_fd, fd);
    } else {
        if (dup2(fd, cur) == -1) {
            int err = errno;
            close(fd);
            return tg_errbuf_set(eb, -err, "access_log: %s", strerror(err));
        }
        close(fd);
    }
    atomic_store(&gw->access_on, true);
    return 0;
}

/* Keys the rate limiters' hashes, so clients cannot pick addresses that collide. */
static uint64_t seed(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (uint64_t)tg_clock_wall_us() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    return v;
}

int tg_gateway_new(struct tg_gateway **out, struct tg_config *cfg, struct tg_errbuf *eb)
{
    struct tg_gateway *gw = calloc(1, sizeof *gw);
    if (!gw) {
        tg_config_free(cfg);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    gw->listen = cfg->listen;
    gw->notify_fd = -1;
    atomic_init(&gw->access_fd, -1);
    atomic_init(&gw->tracing, cfg->tracing_enabled);
    atomic_init(&gw->trace_rate_ppm, (unsigned)(cfg->trace_sample_rate * 1e6 + 0.5));
    /* A block must hold a whole request head plus what the rewrite adds to it. */
    gw->buf_block = cfg->max_head_bytes + HEAD_SLACK > 16384 ? cfg->max_head_bytes + HEAD_SLACK
                                                             : 16384;
    int rc = access_log_apply(gw, cfg, eb);
    if (rc) {
        tg_config_free(cfg);
        free(gw);
        return rc;
    }
    struct tg_snapshot *s;
    /* One more than endpoints.max: "(rejected)" is the gateway's own, not a label the
     * traffic chose, so it does not use up the bound. */
    rc = tg_endpoints_new(cfg->max_endpoints + 1, &gw->endpoints);
    if (rc) {
        tg_config_free(cfg);
        free(gw);
        return tg_errbuf_set(eb, rc, "out of memory");
    }
    /* Interned first, so it has an id even when route names fill the registry. */
    gw->rejected_endpoint = tg_endpoints_intern_pinned(gw->endpoints, TG_ENDPOINT_REJECTED,
                                                       sizeof TG_ENDPOINT_REJECTED - 1);
    uint32_t nkeys = (cfg->max_endpoints + 2) * TG_GATEWAY_METHODS;
    if (tg_endpoints_new(TG_GATEWAY_MAX_SERVER_KEYS - 1, &gw->servers) != 0 ||
        tg_magg_new(nkeys, TG_GATEWAY_MAX_SERVER_KEYS, TG_GATEWAY_WINDOW_S, &gw->agg) != 0 ||
        tg__aging_new(cfg->max_endpoints + 1, &gw->aging) != 0 ||
        !(gw->breaker_grace = calloc(1, sizeof *gw->breaker_grace)) ||
        tg_protect_state_new(seed(), &gw->protect) != 0 ||
        (gw->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
        tg_config_free(cfg);
        tg_gateway_free(gw);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    tg_magg_set_apart(gw->agg, gw->rejected_endpoint * TG_GATEWAY_METHODS,
                      (gw->rejected_endpoint + 1) * TG_GATEWAY_METHODS);
    rc = tg__snapshot_new(cfg, ++gw->gen, NULL, gw->endpoints, gw->servers,
                          gw->server_inflight, gw->protect,
                          tg_clock_mono_us(), &s, eb);
    if (rc) {
        tg_gateway_free(gw);
        return rc;
    }
    atomic_init(&gw->snap, s);
    *out = gw;
    return 0;
}

int tg_gateway_start(struct tg_gateway *gw, struct tg_errbuf *eb)
{
    int rc = tg__resize_grow(gw, tg__resize_wanted(tg_gateway_config(gw)), eb);
    if (rc)
        return rc;
    gw->started = true;
    tg_log(TG_LOG_INFO, "proxy", "listening addr=%s workers=%u", gw->listen.text, gw->nworkers);
    return 0;
}

/* A new worker count: resized before the snapshot is built, so that a count the gateway
 * could not reach is what the configuration says (and is reported like a setting kept). */
static void apply_workers(struct tg_gateway *gw, struct tg_config *cfg, tg_config_kept_fn *kept,
                          void *ctx)
{
    uint32_t want = tg__resize_wanted(cfg);
    if (!gw->started || gw->draining || want == gw->nworkers)
        return;
    struct tg_errbuf reb = {0};
    if (tg_gateway_resize(gw, want, &reb) == 0)
        return;
    char running[16], wanted[16];
    snprintf(running, sizeof running, "%u", gw->nworkers);
    snprintf(wanted, sizeof wanted, "%u", cfg->workers);
    cfg->workers = gw->nworkers;
    if (kept)
        kept("workers", running, wanted, reb.msg, ctx);
}

int tg_gateway_reload(struct tg_gateway *gw, struct tg_config *cfg, tg_config_kept_fn *kept,
                      void *ctx, struct tg_errbuf *eb)
{
    struct tg_snapshot *old = atomic_load(&gw->snap);
    apply_workers(gw, cfg, kept, ctx);
    /* Worker buffers are sized at start; a larger head limit than they hold waits for a
     * restart (a smaller one, or one that still fits, applies at once). */
    if (cfg->max_head_bytes + HEAD_SLACK > gw->buf_block) {
        char was[24], wanted[24];
        snprintf(was, sizeof was, "%u", old->cfg->max_head_bytes);
        snprintf(wanted, sizeof wanted, "%u", cfg->max_head_bytes);
        cfg->max_head_bytes = old->cfg->max_head_bytes;
        if (kept)
            kept("limits.max_header_bytes", was, wanted, "the worker buffers", ctx);
    }
    struct tg_errbuf aeb = {0};
    if (access_log_apply(gw, cfg, &aeb) != 0 && kept)
        kept("access_log.path", "(unchanged)", cfg->access_log, aeb.msg, ctx);
    struct tg_snapshot *s;
    int rc = tg__snapshot_new(cfg, ++gw->gen, old, gw->endpoints, gw->servers,
                          gw->server_inflight, gw->protect,
                              tg_clock_mono_us(), &s, eb);
    if (rc)
        return rc;
    tg_gateway_set_tracing(gw, cfg->tracing_enabled, cfg->trace_sample_rate);
    atomic_store_explicit(&gw->snap, s, memory_order_release);
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++)
        tg_loop_wake(tg__gateway_live(gw, i)->loop);
    tg__health_snapshot_changed(gw->health);
    /* Breaker windows the new parameters replaced are freed once no worker can still be
     * counting into them (see reclaim_breakers). */
    tg__quiesce_start(gw->breaker_grace, gw);
    tg__snapshot_unref(old);
    tg_log(TG_LOG_INFO, "proxy", "config-reloaded generation=%llu", (unsigned long long)gw->gen);
    return 0;
}

const struct tg_config *tg_gateway_config(struct tg_gateway *gw)
{
    return atomic_load(&gw->snap)->cfg;
}

void tg_gateway_health_attach(struct tg_gateway *gw, struct tg_loop *loop)
{
    gw->warm_loop = loop;
    if (!gw->health && tg__health_new(gw, loop, &gw->health) != 0)
        tg_log(TG_LOG_ERROR, "proxy", "health-checks-disabled err=ENOMEM");
    tg__resize_attach(gw, loop);
}

void tg_gateway_drain(struct tg_gateway *gw)
{
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++) {
        struct tg_worker *w = tg__gateway_live(gw, i);
        atomic_store(&w->drain_req, true);
        tg_loop_wake(w->loop);
    }
    tg__resize_drain(gw);
}

uint64_t tg_gateway_open_connections(struct tg_gateway *gw)
{
    return atomic_load_explicit(&gw->total_conns, memory_order_relaxed);
}

void tg_gateway_stop(struct tg_gateway *gw)
{
    tg__resize_stop(gw);
    gw->started = false;
}

void tg_gateway_free(struct tg_gateway *gw)
{
    if (!gw)
        return;
    tg_gateway_stop(gw);
    if (gw->ctl_loop)
        tg_io_stop(gw->ctl_loop, &gw->notify_io);
    if (gw->notify_fd != -1)
        close(gw->notify_fd);
    tg__warm_stop_all(gw);
    tg__health_free(gw->health);
    tg__snapshot_unref(atomic_load(&gw->snap));
    tg_endpoints_free(gw->endpoints);
    tg_endpoints_free(gw->servers);
    tg_magg_free(gw->agg);
    tg__aging_free(gw->aging);
    free(gw->breaker_grace);
    tg_protect_state_free(gw->protect);
    free(gw->seen);
    if (atomic_load(&gw->access_fd) >= 0)
        close(atomic_load(&gw->access_fd));
    free(gw);
}

bool tg_gateway_any_healthy(struct tg_gateway *gw)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    if (s->cfg->nupstreams == 0)
        return false;
    const struct tg_upstream_rt *ur = &s->ups[s->cfg->default_upstream];
    for (uint32_t i = 0; i < ur->cfg->nservers; i++)
        if (atomic_load_explicit(&ur->servers[i].healthy, memory_order_relaxed))
            return true;
    return false;
}

int tg_gateway_server_inflight(struct tg_gateway *gw, const char *upstream, const char *address)
{
    char name[TG_ENDPOINT_NAME_MAX];
    int n = snprintf(name, sizeof name, "%s/%s", upstream, address);
    if (n < 0 || (size_t)n >= sizeof name)
        return 0;
    uint32_t key = tg_endpoints_find(gw->servers, name, (size_t)n);
    if (key == TG_ENDPOINT_OTHER)
        return 0;
    return atomic_load_explicit(&gw->server_inflight[key], memory_order_relaxed);
}

void tg_gateway_foreach_server(struct tg_gateway *gw, tg_gateway_server_fn *fn, void *ctx)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    int64_t now = tg_clock_mono_us();
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++) {
        const struct tg_upstream_rt *ur = &s->ups[u];
        for (uint32_t i = 0; i < ur->cfg->nservers; i++) {
            const struct tg_server_rt *rt = &ur->servers[i];
            struct tg_gateway_server_info info = {
                .upstream = ur->cfg->name,
                .address = rt->cfg->addr.text,
                .key = rt->key,
                .weight = rt->cfg->weight,
                .healthy = atomic_load_explicit(&rt->healthy, memory_order_relaxed),
                .checked = ur->cfg->health.enabled,
                .ejected = !tg_outlier_usable(rt->outlier, rt->idx, now),
                .inflight = atomic_load_explicit(rt->inflight, memory_order_relaxed),
                .last_check_wall_us = rt->hc_last_wall_us,
                .last_check_latency_us = rt->hc_last_latency_us,
                .last_error = rt->hc_last_error,
            };
            struct tg_outlier_server_stats os;
            tg_outlier_read_server(rt->outlier, rt->op, rt->idx, now, &os);
            info.weight_permille = os.weight_permille;
            info.times_ejected = os.times_ejected;
            info.ejected_for_us = os.ejected ? os.ejected_until_us - now : 0;
            info.latency_ewma_us = os.ewma_us;
            info.latency_samples = os.samples;
            fn(&info, ctx);
        }
    }
}

/* The accept queue of worker `w`'s listener: for a listening TCP socket the kernel reports
 * its current length in tcpi_unacked and its limit in tcpi_sacked (the same length that
 * /proc/net/tcp shows as rx_queue). The socket is the gateway's and stays open until the
 * gateway stops; a drain (this thread's doing) shuts it down. */
static void accept_queue(struct tg_gateway *gw, struct tg_worker *w,
                         struct tg_gateway_worker_info *info)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (!gw->started || gw->draining || atomic_load(&w->stop_req) ||
        getsockopt(gw->lsn[w->id].fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
        return;
    info->queue_depth = ti.tcpi_unacked;
    info->queue_limit = ti.tcpi_sacked;
}

void tg_gateway_foreach_worker(struct tg_gateway *gw, tg_gateway_worker_fn *fn, void *ctx)
{
    for (uint32_t i = 0; i < gw->nworkers; i++) {
        struct tg_worker *w = gw->workers[i];
        struct tg_gateway_worker_info info = {
            .id = i,
            .connections = atomic_load_explicit(&w->nconns, memory_order_relaxed),
            .active = atomic_load_explicit(&w->active, memory_order_relaxed),
            .loop_lag_us = atomic_load_explicit(&w->lag_us, memory_order_relaxed),
            .loop_turns = atomic_load_explicit(&w->turns, memory_order_relaxed),
            .accept_errors = atomic_load_explicit(&w->accept_errors, memory_order_relaxed),
            .conns_refused = atomic_load_explicit(&w->conns_refused, memory_order_relaxed),
            .waiting = atomic_load_explicit(&w->parked, memory_order_relaxed),
        };
        accept_queue(gw, w, &info);
        fn(&info, ctx);
    }
}

static void reclaim_one(const char *name, struct tg_breaker *b, bool active, void *ctx)
{
    (void)name, (void)active, (void)ctx;
    tg_breaker_reclaim(b);
}

/* A breaker whose window changed shape (a new window_seconds or window_requests) keeps its
 * old window until every worker has passed a loop turn since the change: a worker holds
 * the window only within one call. Without this, each such change would keep its old
 * window until the gateway stops. */
static void reclaim_breakers(struct tg_gateway *gw)
{
    if (!gw->breaker_grace->armed || !tg__quiesce_over(gw->breaker_grace))
        return;
    gw->breaker_grace->armed = false;
    tg_protect_state_foreach_breaker(gw->protect, reclaim_one, NULL);
}

void tg_gateway_metrics_tick(struct tg_gateway *gw, int64_t now_s)
{
    if (!gw->started)
        return;
    /* Read before the collect, so the collect gets what workers recorded before their
     * quiescent points (aging.c). */
    bool grace_over = tg__aging_grace_over(gw->aging, gw);
    /* Retired workers' shards too: a worker joined since the last tick is collected a
     * last time here, then freed. */
    uint32_t n = tg__gateway_nlive(gw);
    for (uint32_t i = 0; i < n; i++)
        gw->tick_shards[i] = tg__gateway_live(gw, i)->shard;
    tg_magg_tick(gw->agg, gw->tick_shards, n, now_s);
    tg__aging_tick(gw->aging, gw, now_s, grace_over);
    tg__resize_reap(gw);
    /* The trace rule "slower than the live p99" reads this; with too few samples for a
     * p99 to mean anything, every request is "slow" until there are. */
    struct tg_winstats w;
    tg_magg_window(gw->agg, TG_MAGG_ALL, 60, &w);
    atomic_store_explicit(&gw->live_p99_us, w.count >= 100 ? w.p99_us : 0,
                          memory_order_relaxed);
    tg__protect_feed(gw, now_s * 1000000);
    tg__protect_sweep_outliers(gw, tg_clock_mono_us());
    reclaim_breakers(gw);
}

void tg_gateway_set_tracing(struct tg_gateway *gw, bool enabled, double sample_rate)
{
    atomic_store(&gw->tracing, enabled);
    atomic_store(&gw->trace_rate_ppm, (unsigned)(sample_rate * 1e6 + 0.5));
}

void tg_gateway_get_tracing(struct tg_gateway *gw, bool *enabled, double *sample_rate)
{
    *enabled = atomic_load(&gw->tracing);
    *sample_rate = atomic_load(&gw->trace_rate_ppm) / 1e6;
}

void tg_gateway_foreach_trace(struct tg_gateway *gw, tg_tracering_fn *fn, void *ctx)
{
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++)
        if (tg__gateway_live(gw, i)->traces)
            tg_tracering_each(tg__gateway_live(gw, i)->traces, fn, ctx);
}

struct tg_magg *tg_gateway_metrics(struct tg_gateway *gw)
{
    return gw->agg;
}

const char *tg_gateway_endpoint_name(struct tg_gateway *gw, uint32_t id)
{
    return tg_endpoints_name(gw->endpoints, id);
}

uint32_t tg_gateway_endpoint_count(struct tg_gateway *gw)
{
    return tg_endpoints_count(gw->endpoints) - 1; /* "(rejected)" is not counted */
}

const char *tg_gateway_server_name(struct tg_gateway *gw, uint32_t key)
{
    return tg_endpoints_name(gw->servers, key);
}

uint32_t tg_gateway_server_count(struct tg_gateway *gw)
{
    return tg_endpoints_count(gw->servers);
}

uint64_t tg_gateway_metrics_dropped(struct tg_gateway *gw)
{
    uint64_t n = gw->retired_dropped;
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++)
        n += tg_mshard_dropped(tg__gateway_live(gw, i)->shard);
    return n;
}

const char *tg_gateway_cause_name(unsigned c)
{
    return c < TG_CAUSE_COUNT ? tg_cause_names[c] : NULL;
}

const char *tg_gateway_cause_rate_scope(unsigned c)
{
    switch (c) {
    case TG_CAUSE_RATE_LIMITED:
        return "global";
    case TG_CAUSE_RATE_LIMITED_IP:
        return "client_ip";
    case TG_CAUSE_RATE_LIMITED_ROUTE:
        return "route";
    default:
        return NULL;
    }
}

bool tg_gateway_cause_is_error(unsigned c)
{
    return c < TG_CAUSE_COUNT && c != TG_CAUSE_OK && c != TG_CAUSE_RETRIED &&
           c != TG_CAUSE_CACHE_HIT && c != TG_CAUSE_CACHE_FALLBACK;
}

const char *tg_gateway_trace_endpoint(struct tg_gateway *gw, const struct tg_reqtrace *t,
                                      char *buf, size_t cap)
{
    uint32_t id = t->key / TG_GATEWAY_METHODS;
    if (tg_endpoints_gen(gw->endpoints, id) == t->endpoint_gen)
        return tg_endpoints_name(gw->endpoints, id);
    /* Only names made from paths age out (route names are pinned), so the template of
     * the trace's own path is the name it was counted under. */
    tg_route_template((struct tg_str){t->path, (uint32_t)strnlen(t->path, sizeof t->path)}, buf,
                      cap);
    return buf;
}

uint32_t tg_gateway_endpoint_find(struct tg_gateway *gw, const char *name)
{
    if (strcmp(name, "other") == 0)
        return TG_ENDPOINT_OTHER;
    uint32_t id = tg_endpoints_find(gw->endpoints, name, strlen(name));
    return id == TG_ENDPOINT_OTHER ? UINT32_MAX : id;
}

struct active_ctx {
    struct tg_gateway *gw;
    uint32_t worker;
    int64_t now_us;
    tg_gateway_active_fn *fn;
    void *ctx;
};

static void on_active(const struct tg_active_entry *e, void *vctx)
{
    struct active_ctx *c = vctx;
    struct tg_gateway_active_info info = {
        .worker = c->worker,
        .age_us = c->now_us - e->start_mono_us,
        .endpoint = tg_endpoints_name(c->gw->endpoints, e->endpoint),
        .method = tg_http_method_name((enum tg_http_method)e->method),
        .path = e->path,
        .request_id = e->reqid,
    };
    c->fn(&info, c->ctx);
}

void tg_gateway_foreach_active(struct tg_gateway *gw, tg_gateway_active_fn *fn, void *ctx)
{
    struct active_ctx c = {gw, 0, tg_clock_mono_us(), fn, ctx};
    /* Retiring workers' too: their requests are still in flight. */
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++) {
        struct tg_worker *w = tg__gateway_live(gw, i);
        if (!w->inflight)
            continue;
        c.worker = w->id;
        tg_active_each(w->inflight, on_active, &c);
    }
}

unsigned tg_gateway_duration_buckets(struct tg_gateway *gw, int64_t *out, unsigned cap)
{
    const struct tg_config *cfg = atomic_load(&gw->snap)->cfg;
    unsigned n = cfg->nbuckets < cap ? cfg->nbuckets : cap;
    for (unsigned i = 0; i < n; i++)
        out[i] = cfg->buckets_us[i];
    return n;
}

struct tg_cache *tg_gateway_cache(struct tg_gateway *gw)
{
    return tg_protect_state_cache_get(gw->protect);
}

struct tg_cache *tg_gateway_cache_active(struct tg_gateway *gw)
{
    return tg_protect_cache(atomic_load(&gw->snap)->protect);
}
