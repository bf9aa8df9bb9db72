/* SPDX-License-Identifier: MIT */
/* The gateway: N worker threads, each with its own event loop, SO_REUSEPORT listener,
 * client connections and upstream connection pools, all reading one immutable
 * configuration snapshot. This header is what the process orchestration (admin/) uses:
 * start, reload (SIGHUP), resizing the set of workers, drain and stop (SIGTERM), and the
 * health checks and connection hand-offs that run on the control thread's loop. All
 * functions here are for the control thread. */
#ifndef TG_PROXY_GATEWAY_H
#define TG_PROXY_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "metrics/agg.h"
#include "metrics/trace.h"
#include "protect/adaptive.h"
#include "protect/breaker.h"
#include "protect/conclimit.h"
#include "protect/cache.h"
#include "protect/outlier.h"
#include "protect/ratelimit.h"
#include "protect/retry.h"

struct tg_gateway;

/* Creates a gateway for `cfg` (takes ownership, also on failure). Binds nothing yet. */
int tg_gateway_new(struct tg_gateway **out, struct tg_config *cfg, struct tg_errbuf *eb);

/* Binds one SO_REUSEPORT listener per worker and starts the worker threads (`workers`,
 * 0 meaning one per core). Returns 0, or -errno with `eb` naming the address that could
 * not be bound. */
int tg_gateway_start(struct tg_gateway *gw, struct tg_errbuf *eb);

/* Publishes `cfg` (takes ownership; validated, with tg_config_keep_restart_only already
 * applied) as the new snapshot. Workers switch at their next loop turn; requests in
 * flight finish on the snapshot they started with. Health state of servers with the same
 * upstream name and address carries over. Tracing switches at once; the access log is
 * reopened (log rotation) and may change path, format, on or off. A new `workers` count
 * resizes the set of workers (tg_gateway_resize). What cannot change without a restart
 * is kept at its running value and reported through `kept` (may be NULL): a
 * limits.max_header_bytes beyond the worker buffers, an access log that cannot be
 * opened, workers that could not be started. */
int tg_gateway_reload(struct tg_gateway *gw, struct tg_config *cfg, tg_config_kept_fn *kept,
                      void *ctx, struct tg_errbuf *eb);

/* The configuration now in force. Control thread only; valid until the next reload. */
const struct tg_config *tg_gateway_config(struct tg_gateway *gw);

/* Starts the gateway's work on `loop` (the control thread's): the health checks of the
 * current snapshot, and the hand-off of connections between workers that a resize needs. */
void tg_gateway_health_attach(struct tg_gateway *gw, struct tg_loop *loop);

/* Changes the number of worker threads to `n` (1..TG_CFG_MAX_WORKERS) without dropping a
 * connection or a request. New workers start with their own loop, listener, metrics
 * shard, trace ring and buffers; removed ones (the highest ids) stop accepting at once,
 * hand their keep-alive connections to the others between requests, finish their
 * requests in flight (up to timeouts.drain) and exit. Returns when the new workers run
 * and the removed ones were told to go, in a few milliseconds. Needs a started gateway
 * attached to the control loop. 0, or a negative code with `eb` filled: then as many
 * workers as could be started run. tg_gateway_reload calls it when `workers` changes. */
int tg_gateway_resize(struct tg_gateway *gw, uint32_t n, struct tg_errbuf *eb);

/* Workers serving now, and workers a resize removed that are still finishing. */
void tg_gateway_worker_counts(struct tg_gateway *gw, uint32_t *running, uint32_t *retiring);

/* The since-start accept_errors and conns_refused of workers a resize removed, which
 * tg_gateway_foreach_worker no longer lists: added to its sums, totals never go down. */
void tg_gateway_retired_counters(struct tg_gateway *gw, uint64_t *accept_errors,
                                 uint64_t *conns_refused);

/* Graceful stop, step one: close listeners, answer in-flight requests with
 * "Connection: close", close idle keep-alive connections. */
void tg_gateway_drain(struct tg_gateway *gw);

/* Client connections still open, summed over workers (racy read, for drain polling). */
uint64_t tg_gateway_open_connections(struct tg_gateway *gw);

/* Stops the workers (closing whatever is left) and joins them. */
void tg_gateway_stop(struct tg_gateway *gw);

/* Frees everything; accepts NULL. Stops first if still running. */
void tg_gateway_free(struct tg_gateway *gw);

/* True when at least one server of the default upstream is usable (for /health). */
bool tg_gateway_any_healthy(struct tg_gateway *gw);

/* ---- Request metrics (control thread). A metric key is endpoint * TG_GATEWAY_METHODS +
 * method (enum tg_http_method); endpoints and servers are named by the registries below. */
#define TG_GATEWAY_METHODS 10
#define TG_GATEWAY_MAX_SERVER_KEYS 1024
#define TG_GATEWAY_WINDOW_S 900 /* longest monitoring window: 15 minutes */

/* Collects the workers' shards into the aggregate; call once a second. */
void tg_gateway_metrics_tick(struct tg_gateway *gw, int64_t now_s);

/* The aggregate (totals and windows), valid for the gateway's lifetime. */
struct tg_magg *tg_gateway_metrics(struct tg_gateway *gw);

/* Endpoint names by id (0 = "other"), and how many ids the traffic uses (routes and
 * templates, bounded by endpoints.max; not TG_ENDPOINT_REJECTED). Ids are not necessarily
 * 1..count: ids of endpoints that aged out are reused. */
const char *tg_gateway_endpoint_name(struct tg_gateway *gw, uint32_t id);
uint32_t tg_gateway_endpoint_count(struct tg_gateway *gw);

/* The endpoint name of a trace (metrics/trace.h). Its id may have been reused since the
 * endpoint aged out; then the name is rebuilt from the trace's path into buf[0..cap)
 * (the path's template: what the name was, unless the path was cut). */
const char *tg_gateway_trace_endpoint(struct tg_gateway *gw, const struct tg_reqtrace *t,
                                      char *buf, size_t cap);

/* The id of endpoint `name`, or UINT32_MAX if there is none ("other" is 0). */
uint32_t tg_gateway_endpoint_find(struct tg_gateway *gw, const char *name);

/* Upstream server names ("upstream/address") by metric server key, and their count. */
const char *tg_gateway_server_name(struct tg_gateway *gw, uint32_t key);
uint32_t tg_gateway_server_count(struct tg_gateway *gw);

/* Label value of cause code `c` (how a request ended), NULL past the last one. Causes
 * "ok", "retried", "cache_hit" and "cache_fallback" (a stored answer given instead of a
 * failing upstream's) are successes; the others are errors. */
const char *tg_gateway_cause_name(unsigned c);
bool tg_gateway_cause_is_error(unsigned c);
/* The rate-limit scope ("global", "client_ip", "route") of a 429 cause, else NULL. */
const char *tg_gateway_cause_rate_scope(unsigned c);

/* Tracing: on/off and the random sample rate (0..1), changeable at run time (a reload
 * sets them from the file). Any thread. */
void tg_gateway_set_tracing(struct tg_gateway *gw, bool enabled, double sample_rate);
void tg_gateway_get_tracing(struct tg_gateway *gw, bool *enabled, double *sample_rate);

/* Calls `fn` for every trace kept by every worker (newest first per worker). */
void tg_gateway_foreach_trace(struct tg_gateway *gw, tg_tracering_fn *fn, void *ctx);

/* One request in flight, as requests/active lists it. Strings valid during the call. */
struct tg_gateway_active_info {
    uint32_t worker;
    int64_t age_us;
    const char *endpoint;
    const char *method;
    const char *path;
    const char *request_id;
};
typedef void tg_gateway_active_fn(const struct tg_gateway_active_info *a, void *ctx);

/* Calls `fn` for every listed in-flight request of every worker. */
void tg_gateway_foreach_active(struct tg_gateway *gw, tg_gateway_active_fn *fn, void *ctx);

/* The configured `le` bounds of the request-duration histogram (µs) into out[0..cap);
 * returns how many, 0 when the built-in list applies. */
unsigned tg_gateway_duration_buckets(struct tg_gateway *gw, int64_t *out, unsigned cap);

/* Samples dropped by worker shards (allocation failure), summed. */
uint64_t tg_gateway_metrics_dropped(struct tg_gateway *gw);

/* One upstream server as the admin API shows it. Strings are valid during the call. */
struct tg_gateway_server_info {
    const char *upstream;
    const char *address;
    uint32_t key; /* metric server key (tg_gateway_server_name) */
    uint32_t weight;
    bool healthy;              /* active checks say up (always true without checks) */
    bool checked;              /* the upstream has active health checks */
    bool ejected;              /* passive ejection in force now */
    int64_t ejected_for_us;    /* how much longer it lasts, 0 when not ejected */
    uint32_t times_ejected;    /* ejections counted toward the next one's length */
    uint32_t weight_permille;  /* slow-start multiplier of its weight: 1000 outside a ramp */
    int64_t latency_ewma_us;   /* its time to response head, averaged (ejection's view) */
    uint32_t latency_samples;  /* responses in that average (saturates at 65535) */
    int inflight;              /* requests in flight to it, all workers */
    int64_t last_check_wall_us; /* 0 = no probe has ended yet */
    int64_t last_check_latency_us;
    const char *last_error;    /* NULL when the last probe succeeded */
};
typedef void tg_gateway_server_fn(const struct tg_gateway_server_info *s, void *ctx);

/* Requests in flight to server `address` of `upstream`, all workers, also those that
 * started on an earlier snapshot: after a reload removed the server from the pool, this
 * falls to 0 once its last request ended (a drain's end). 0 for a server never seen.
 * Beyond TG_GATEWAY_MAX_SERVER_KEYS names, servers share one counter. */
int tg_gateway_server_inflight(struct tg_gateway *gw, const char *upstream, const char *address);

/* Calls `fn` for every server of every upstream of the current snapshot. */
void tg_gateway_foreach_server(struct tg_gateway *gw, tg_gateway_server_fn *fn, void *ctx);

/* Passive ejection of one upstream's servers, as metrics show it. */
struct tg_gateway_outlier_info {
    const char *upstream;
    struct tg_outlier_stats stats;
};
typedef void tg_gateway_outlier_fn(const struct tg_gateway_outlier_info *o, void *ctx);

/* Takes `server` ("host:port" as configured) of `upstream` out of rotation for `len_us`
 * (tg_outlier_eject_for: under the upstream's ejection cap, slow start on return).
 * Control thread. 0, TG_ENOTFOUND, -EBUSY (the cap) or -EALREADY, with `eb` filled. */
int tg_gateway_eject(struct tg_gateway *gw, const char *upstream, const char *server,
                     int64_t len_us, struct tg_errbuf *eb);

/* Calls `fn` for every upstream of the current snapshot. */
void tg_gateway_foreach_outlier(struct tg_gateway *gw, tg_gateway_outlier_fn *fn, void *ctx);

struct tg_gateway_worker_info {
    uint32_t id;
    uint64_t connections;
    uint64_t active;     /* requests in flight */
    int64_t loop_lag_us; /* worst time one loop turn took in the last 5 s */
    uint64_t loop_turns;
    uint64_t accept_errors; /* accept() failures (fds or memory exhausted), since start */
    uint64_t conns_refused; /* connections turned away at limits.max_connections */
    uint32_t queue_depth; /* connections in its listener's accept queue, not yet accepted */
    uint32_t queue_limit; /* that queue's limit (the backlog, capped by somaxconn); both 0
                           * once the worker is draining or stopping */
    uint32_t waiting;     /* its requests waiting for a concurrency slot (concurrency.queue) */
};
typedef void tg_gateway_worker_fn(const struct tg_gateway_worker_info *w, void *ctx);

/* ---- Protections (control thread). */

/* One circuit breaker: "upstream/<name>" or "route/<name>". `active` is false for a
 * breaker the running configuration no longer enables (its state is kept). */
struct tg_gateway_breaker_info {
    const char *name;
    const char *upstream; /* the upstream's name, or "" for a route's breaker */
    const char *route;    /* the route's name, or "" for an upstream's breaker */
    bool active;
    struct tg_breaker_stats stats;
};
typedef void tg_gateway_breaker_fn(const struct tg_gateway_breaker_info *b, void *ctx);
void tg_gateway_foreach_breaker(struct tg_gateway *gw, tg_gateway_breaker_fn *fn, void *ctx);

/* One rate limit: "rate_limit/<scope>" or "rule/<n>:<prefix>". */
struct tg_gateway_ratelimit_info {
    const char *name;
    bool active;
    struct tg_ratelimit_stats stats;
};
typedef void tg_gateway_ratelimit_fn(const struct tg_gateway_ratelimit_info *r, void *ctx);
void tg_gateway_foreach_ratelimit(struct tg_gateway *gw, tg_gateway_ratelimit_fn *fn, void *ctx);

/* One upstream's retries: "upstream/<name>". */
struct tg_gateway_retry_info {
    const char *upstream;
    bool active;
    struct tg_retry_stats stats;
};
typedef void tg_gateway_retry_fn(const struct tg_gateway_retry_info *r, void *ctx);
void tg_gateway_foreach_retry(struct tg_gateway *gw, tg_gateway_retry_fn *fn, void *ctx);
/* One upstream's concurrency limiter. `active` is false for one the running configuration
 * no longer limits (its counters are kept). The adaptive figures are filled when the
 * adaptive limit is on. */
struct tg_gateway_conclimit_info {
    const char *upstream;
    bool active;
    struct tg_conclimit_stats stats;
    bool adaptive;
    struct tg_adaptive_stats adaptive_stats;
};
typedef void tg_gateway_conclimit_fn(const struct tg_gateway_conclimit_info *c, void *ctx);
void tg_gateway_foreach_conclimit(struct tg_gateway *gw, tg_gateway_conclimit_fn *fn, void *ctx);

/* The response cache: NULL until a configuration turned it on (then it stays, with its
 * counters, across every later change). The control API purges and trims it directly
 * (protect/cache.h). */
struct tg_cache *tg_gateway_cache(struct tg_gateway *gw);
/* The cache when the running configuration has it on (rules or fallback), else NULL. */
struct tg_cache *tg_gateway_cache_active(struct tg_gateway *gw);

/* Warming one path ("/api/products?page=1"): unless the cache already holds an entry
 * that stays fresh for `min_fresh_us` more, a GET of it goes through the gateway's own
 * listener (asynchronously, on the control loop given to tg_gateway_health_attach), and
 * the proxy stores its answer as it would any other. Returns one of the values below, or
 * -EBUSY with TG_GATEWAY_WARM_MAX fetches under way, -EAGAIN before the control loop is
 * attached, -errno when the fetch could not start. */
#define TG_GATEWAY_WARM_MAX 256
enum {
    TG_GATEWAY_WARM_STARTED = 0,
    TG_GATEWAY_WARM_FRESH = 1,      /* a fresh entry is there: nothing to do */
    TG_GATEWAY_WARM_NOT_CACHED = 2, /* no cache rule matches and fallback is off */
};
int tg_gateway_cache_warm(struct tg_gateway *gw, const char *path, int64_t min_fresh_us);

/* Calls `fn` for every worker serving now, ids 0..n-1 (racy reads of per-worker
 * counters; the accept queue is read from the kernel, one getsockopt per worker). Workers
 * a resize removed are not listed, even while they finish their last requests. */
void tg_gateway_foreach_worker(struct tg_gateway *gw, tg_gateway_worker_fn *fn, void *ctx);

#endif
