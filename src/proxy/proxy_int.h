/* SPDX-License-Identifier: MIT */
/* Proxy internals shared by the files of src/proxy/: the snapshot with its shared server
 * state, the worker, and the two connection objects with the exchange that ties them.
 *
 * Ownership: a worker owns its client connections (struct cconn) and upstream
 * connections (struct uconn). While an exchange is in flight the client owns the uconn
 * it uses (c->u, u->client); otherwise a uconn sits on its server's idle list. Both are
 * closed through *_close(), which unregisters the fd at once and frees the memory at the
 * end of the loop turn (tg_loop_defer), so a callback higher up never sees freed memory.
 *
 * Snapshots: the gateway publishes a struct tg_snapshot through an atomic pointer; each
 * worker keeps a struct wk_snap (its local view: idle pools, EWMA, round-robin state) and
 * counts locally how many exchanges still use it, so switching costs no atomic per
 * request. The snapshot's refcount is one per worker still holding it, plus the gateway.
 *
 * Workers come and go while the gateway runs (resize.c). A worker thread knows only its
 * own struct tg_worker, which never moves; the gateway's tables of workers and listeners
 * are read and written by the control thread alone. */
#ifndef TG_PROXY_PROXY_INT_H
#define TG_PROXY_PROXY_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/loop.h"
#include "http/http1.h"
#include "metrics/agg.h"
#include "metrics/shard.h"
#include "metrics/trace.h"
#include "proxy/active.h"
#include "proxy/endpoints.h"
#include "proxy/gateway.h"
#include "proxy/route.h"
#include "protect/chain.h"
#include "protect/outlier.h"
#include "protect/state.h"

/* ---------------------------------------------------------------- shared state */

/* One upstream server as every worker sees it. Written with relaxed atomics only. */
struct tg_server_rt {
    const struct tg_cfg_server *cfg;
    uint32_t key; /* id in the gateway's server registry ("upstream/address") */
    atomic_int healthy;              /* active health checks: 1 up, 0 down */
    /* Passive ejection and slow start: server `idx` of its upstream's outlier state. */
    struct tg_outlier *outlier;
    const struct tg_outlier_params *op;
    uint32_t idx;
    /* Requests in flight to this address, all workers and every snapshot still in use:
     * the gateway's counter for the server key, so it carries across reloads and a
     * server just removed from the pool can be watched until its last request ends. */
    atomic_int *inflight;
    /* health checker's state (control thread only: the checker writes, admin reads) */
    uint32_t hc_ok_run, hc_fail_run;
    int64_t hc_last_wall_us;    /* when the last probe ended, 0 = never */
    int64_t hc_last_latency_us; /* how long it took */
    const char *hc_last_error;  /* static string, NULL when it succeeded */
};

struct tg_upstream_rt {
    const struct tg_cfg_upstream *cfg;
    struct tg_server_rt *servers;
    struct tg_outlier *outlier; /* passive ejection of its servers, shared by workers */
    struct tg_outlier_params op;
    uint32_t first_server; /* index of servers[0] in the flattened per-worker array */
};

struct tg_snapshot {
    atomic_int refs;
    struct tg_protect_chain *protect; /* the protections of this configuration */
    uint64_t gen;
    struct tg_config *cfg;
    struct tg_route_table *routes;
    struct tg_upstream_rt *ups;
    uint32_t nservers_total;
    uint32_t *route_endpoint; /* endpoint id of each route (its name, interned) */
};

/* Takes `cfg` (also on failure). 0, or a negative code with `eb` filled. */
int tg__snapshot_new(struct tg_config *cfg, uint64_t gen, const struct tg_snapshot *prev,
                     struct tg_endpoints *endpoints, struct tg_endpoints *servers,
                     atomic_int *inflight_by_key,
                     struct tg_protect_state *pstate, int64_t now_us, struct tg_snapshot **out,
                     struct tg_errbuf *eb);
void tg__snapshot_ref(struct tg_snapshot *s);
void tg__snapshot_unref(struct tg_snapshot *s);

/* ---------------------------------------------------------------- hand-off */

/* A client connection on its way from one worker to another. A worker that a resize
 * removes hands over its keep-alive connections between requests; they pass through the
 * control thread, which alone knows which workers stay (resize.c). Only the descriptor
 * moves: bytes the client sends meanwhile wait in the socket. */
struct tg_handoff {
    struct tg_handoff *next;
    int fd;
    uint32_t requests; /* requests the connection has carried, 0 = nothing read yet */
};

/* A lock-free stack: any thread pushes, one thread takes every node at once. Nothing is
 * ever popped alone, so the ABA problem of such stacks cannot arise. */
static inline void tg__handoff_push(_Atomic(struct tg_handoff *) *stack, struct tg_handoff *h)
{
    struct tg_handoff *top = atomic_load_explicit(stack, memory_order_relaxed);
    do
        h->next = top;
    while (!atomic_compare_exchange_weak_explicit(stack, &top, h, memory_order_release,
                                                  memory_order_relaxed));
}

static inline struct tg_handoff *tg__handoff_take(_Atomic(struct tg_handoff *) *stack)
{
    return atomic_exchange_explicit(stack, NULL, memory_order_acquire);
}

/* ---------------------------------------------------------------- worker */

struct uconn;
struct cconn;

struct wk_server {
    struct tg_server_rt *rt;
    const struct tg_cfg_upstream *ucfg;
    struct uconn *idle;   /* pooled keep-alive connections, LIFO */
    uint32_t nidle;
    double ewma_us;       /* latency EWMA for p2c_ewma (this worker's view) */
    int32_t rr_current;   /* smooth weighted round robin state */
    uint32_t local_inflight;
};

struct wk_snap {
    struct tg_snapshot *snap;
    struct wk_server *servers; /* snap->nservers_total entries */
    uint32_t users;            /* exchanges of this worker using this view */
    struct wk_snap *next;      /* retired views still in use */
};

struct tg_gateway;
struct tg_hclient;

/* One slot of a worker's rate-limit log (protect.c): a (client, rule) pair is logged at
 * most once a minute, the refusals in between counted. */
struct tg__rl_log {
    uint64_t key;     /* hash of client and rule; 0 = free */
    int64_t last_us;  /* when it was last logged */
    uint32_t quiet;   /* refusals since, not logged */
};
#define TG__RL_LOG_SLOTS 64
/* One worker's waiters for one upstream's concurrency limiter (queue.c). */
struct wk_queue {
    struct tg_conclimit *cl; /* NULL: the upstream has no limiter */
    struct tg_conclimit_queue q;
};

struct tg_worker {
    struct tg_gateway *gw;
    uint32_t id;
    pthread_t thread;
    bool thread_started;
    struct tg_loop *loop;
    int lfd; /* its listener while it accepts, else -1; the gateway owns the socket */
    struct tg_io lio;
    struct tg_bufpool bufs;
    struct wk_snap *cur;
    struct wk_snap *retired;
    struct cconn *conns; /* all client connections (doubly linked) */
    atomic_ullong nconns;
    atomic_ullong active;  /* exchanges in flight (written by this worker only) */
    atomic_llong lag_us;   /* worst loop turn of the last LAG_TICKS stats ticks */
#define LAG_TICKS 10       /* stats ticks are 0.5 s apart: the last 5 s */
    int64_t lag_ring[LAG_TICKS];
    unsigned lag_next;
    atomic_ullong turns;   /* loop turns, published by the stats timer: a quiescent point */
    atomic_ullong accept_errors; /* accept() failures other than an empty queue */
    atomic_ullong conns_refused; /* connections answered 503 at limits.max_connections */
    struct tg_timer accept_timer; /* resumes accepting after a pause (worker.c) */
    int64_t accept_warned_us;
    uint64_t rng;
    bool draining;
    bool retiring; /* a resize removed it: hand connections over, finish, exit */
    atomic_bool drain_req, stop_req, retire_req;
    atomic_bool exited; /* its loop has returned (the thread's last store) */
    bool joined;        /* control thread: joined; freed after its shard's last collect */
    int64_t retired_us; /* control thread: when the resize removed it (monotonic) */
    _Atomic(struct tg_handoff *) inbox; /* connections handed to it (control thread) */
    struct tg_timer retire_timer;       /* timeouts.drain: what is left then is closed */
    uint64_t next_reqid;
    struct tg_mshard *shard; /* this worker's metrics (written here, collected by control) */
    struct tg_timer stats_timer;
    struct tg_tracering *traces;
    struct tg_active *inflight; /* the requests in flight, for requests/active */
    char *alog;          /* access-log buffer (NULL without an access log) */
    uint32_t alog_len;
    struct tg_http_msg scratch; /* parse target; fields copied out before next parse */
    struct tg_http_msg scratch_req; /* the upstream request head re-read for the cache */
    struct tg__rl_log rl_log[TG__RL_LOG_SLOTS];
    /* Requests waiting for a concurrency slot (queue.c): one queue per upstream of the
     * current view, indexed like its configuration's upstreams. */
    struct wk_queue *queues;
    uint32_t nqueues;
    atomic_uint parked;          /* requests waiting (written here, read by the control thread) */
    uint32_t queue_releases;     /* slots given back this turn while requests waited */
    uint32_t queue_grants;       /* waiters granted this turn */
    struct tg_timer queue_timer; /* the next queue deadline, or the next periodic poll */
    struct tg_defer queue_defer; /* a poll at the end of the turn */
};

uint64_t tg__worker_rand(struct tg_worker *w);

struct tg_health;

/* One SO_REUSEPORT listener of the proxy port. */
struct tg_listener {
    struct tg_gateway *gw;
    int fd;
    struct tg_io io; /* the control thread's watch while no worker owns it (a spare) */
};

struct tg_gateway {
    _Atomic(struct tg_snapshot *) snap;
    uint64_t gen;
    /* The workers: tables with a slot for as many as the configuration allows, so they
     * never move, and each worker allocated on its own, so a worker's struct never moves
     * either. Only the control thread reads or writes the tables (the admin handlers,
     * the metrics tick, aging and resizing all run there) and a worker thread never reads
     * them, so they need no lock and no grace period: a retired worker is freed only
     * after its thread is joined and its shard collected one last time (resize.c). */
    struct tg_worker *workers[TG_CFG_MAX_WORKERS];  /* serving, ids 0..nworkers-1 */
    uint32_t nworkers;
    struct tg_worker *retiring[TG_CFG_MAX_WORKERS]; /* removed: finishing, or joined */
    uint32_t nretiring;
    struct tg_mshard *tick_shards[2 * TG_CFG_MAX_WORKERS]; /* metrics tick scratch */
    /* Listeners in the order they joined the port's group: lsn[i] is worker i's while
     * i < nworkers, the rest are spares (resize.c). */
    struct tg_listener *lsn;
    uint32_t nlsn;
    struct tg_loop *ctl_loop;                /* the control thread's, once attached */
    int notify_fd;                           /* eventfd: workers wake the control thread */
    struct tg_io notify_io;
    _Atomic(struct tg_handoff *) handoffs;   /* from retiring workers to the control thread */
    uint32_t next_target;                    /* round robin over serving workers */
    bool draining;
    uint64_t retired_accept_errors, retired_refused, retired_dropped; /* of freed workers */
    struct tg_addr listen;
    bool started;
    atomic_uint total_conns; /* client connections, all workers (max_connections) */
    struct tg_endpoints *endpoints; /* process-wide, survives reloads */
    uint32_t rejected_endpoint;     /* "(rejected)": requests refused before routing */
    struct tg_endpoints *servers;   /* "upstream/address" names of upstream servers */
    atomic_int server_inflight[TG_GATEWAY_MAX_SERVER_KEYS]; /* by server key */
    struct tg_magg *agg;            /* control thread: totals and windows */
    atomic_llong live_p99_us;       /* gateway p99 over the last minute (control thread) */
    atomic_uint trace_rate_ppm;     /* tracing sample rate, parts per million */
    atomic_bool tracing;            /* tracing on */
    /* The access log. The descriptor, once opened, is never closed while workers run: a
     * reload points it at the new file with dup2, so a worker's write can never land in
     * a descriptor number that was reused for something else. */
    _Atomic int access_fd;          /* -1 until an access log was first configured */
    atomic_bool access_on;          /* access_log configured now */
    _Atomic int access_format;      /* enum tg_access_format */
    uint32_t buf_block;             /* worker buffer size (holds a whole request head) */
    struct tg_health *health;
    struct tg_aging *aging; /* control thread: removal of idle endpoints */
    struct tg__quiesce *breaker_grace; /* control thread: replaced breaker windows' grace */
    struct tg_protect_state *protect; /* breakers and rate limits, across snapshots */
    /* Cache warming (warm.c): fetches under way on the control loop. */
    struct tg_loop *warm_loop; /* the control loop, once attached */
    struct tg_hclient *warm_client; /* created on the first warm */
    /* What the adaptive limits' feed saw of each server's totals (protect.c), by server
     * key; control thread. */
    struct tg_gateway_seen {
        uint64_t count, sum_us;
    } *seen;
    /* A worker gave back a concurrency slot it could not hand to a waiter of its own:
     * the control thread wakes the workers holding waiters (queue.c). */
    atomic_bool queue_nudge;
};

/* Every worker with a struct still: those serving, then those retiring. Control thread. */
static inline uint32_t tg__gateway_nlive(const struct tg_gateway *gw)
{
    return gw->nworkers + gw->nretiring;
}

static inline struct tg_worker *tg__gateway_live(const struct tg_gateway *gw, uint32_t i)
{
    return i < gw->nworkers ? gw->workers[i] : gw->retiring[i - gw->nworkers];
}

/* resize.c: the set of workers and their listeners. Control thread unless stated. */
uint32_t tg__resize_wanted(const struct tg_config *cfg); /* `workers`, 0 resolved to cores */
int tg__resize_grow(struct tg_gateway *gw, uint32_t n, struct tg_errbuf *eb);
void tg__resize_attach(struct tg_gateway *gw, struct tg_loop *loop);
void tg__resize_drain(struct tg_gateway *gw);
void tg__resize_stop(struct tg_gateway *gw);
/* After a metrics collect: frees the workers joined before it. */
void tg__resize_reap(struct tg_gateway *gw);
/* Worker threads: pass a connection to the control thread, which gives it to a serving
 * worker (takes `h`); wake the control thread. */
void tg__resize_handoff(struct tg_gateway *gw, struct tg_handoff *h);
void tg__resize_notify(struct tg_gateway *gw);
/* warm.c: ends the warming fetches under way (gateway free). */
void tg__warm_stop_all(struct tg_gateway *gw);

/* quiesce.c: grace periods over the workers' loop turns (control thread). */
struct tg__qmark {
    struct tg_worker *w; /* NULL once the worker is gone */
    uint64_t turns;      /* its `turns` when the grace period started */
};
struct tg__quiesce {
    struct tg__qmark marks[2 * TG_CFG_MAX_WORKERS]; /* every live worker at the start */
    uint32_t n;
    bool armed; /* for the caller: a grace period was started and not yet used */
};
/* Starts a grace period for what was unlinked before the call. */
void tg__quiesce_start(struct tg__quiesce *q, struct tg_gateway *gw);
/* True once every marked worker has completed a loop turn since the start, or exited. */
bool tg__quiesce_over(const struct tg__quiesce *q);
/* Worker `w` is about to be freed: stop waiting for it. */
void tg__quiesce_worker_gone(struct tg__quiesce *q, struct tg_worker *w);

/* aging.c: removal of idle endpoints, from the control thread's metrics tick. */
struct tg_aging;
int tg__aging_new(uint32_t max_endpoints, struct tg_aging **out);
void tg__aging_free(struct tg_aging *ag);
/* Worker `w` is about to be freed: aging stops waiting for it. */
void tg__aging_worker_gone(struct tg_aging *ag, struct tg_worker *w);
/* True when removed endpoints are waiting and every worker has passed a quiescent
 * point since; call before the tick's collect and pass the answer to tg__aging_tick. */
bool tg__aging_grace_over(struct tg_aging *ag, struct tg_gateway *gw);
/* After the tick's collect: finishes removals whose grace is over, removes idle ones. */
void tg__aging_tick(struct tg_aging *ag, struct tg_gateway *gw, int64_t now_s, bool grace_over);

/* health.c */
int tg__health_new(struct tg_gateway *gw, struct tg_loop *loop, struct tg_health **out);
void tg__health_free(struct tg_health *h);
void tg__health_snapshot_changed(struct tg_health *h);

/* ---------------------------------------------------------------- connections */

enum cstate {
    C_READ_HEAD = 0, /* waiting for / parsing a request head */
    C_EXCHANGE,      /* a request is being proxied */
    C_TUNNEL,        /* after 101 Switching Protocols: raw bytes both ways */
    C_FLUSH_CLOSE,   /* writing a final (error) response, then close */
    C_PARKED,        /* the request waits for a concurrency slot (queue.c); its head
                      * stays in c->in, nothing more is parsed */
};

/* Why a request ended the way it did (the cause code of the observability issue). */
enum tg_cause {
    TG_CAUSE_OK = 0,
    TG_CAUSE_UPSTREAM_CONNECT, /* connect refused / failed / timed out */
    TG_CAUSE_UPSTREAM_TIMEOUT, /* no (complete) response before the deadline */
    TG_CAUSE_UPSTREAM_RESET,   /* upstream closed or reset mid-exchange */
    TG_CAUSE_UPSTREAM_BAD,     /* unparsable response */
    TG_CAUSE_NO_SERVER,        /* every server down or ejected */
    TG_CAUSE_CLIENT_ABORT,
    TG_CAUSE_BAD_REQUEST,
    TG_CAUSE_RETRIED,      /* answered, after a failed first try */
    TG_CAUSE_RATE_LIMITED, /* the protections of the control issue fill these in */
    TG_CAUSE_BREAKER_OPEN,
    TG_CAUSE_SHED,
    TG_CAUSE_CACHE_HIT,
    /* Requests refused by the gateway itself, most before routing (endpoint "(rejected)"). */
    TG_CAUSE_HEADER_TIMEOUT,  /* 408: the head did not arrive in time (slowloris) */
    TG_CAUSE_BODY_TIMEOUT,    /* 408: the body stalled or crawled below its minimum rate */
    TG_CAUSE_HEAD_TOO_LARGE,  /* 431 */
    TG_CAUSE_URI_TOO_LONG,    /* 414 */
    TG_CAUSE_MISSING_HOST,    /* 400: HTTP/1.1 without Host */
    TG_CAUSE_NOT_IMPLEMENTED, /* 501: a transfer coding we do not implement */
    TG_CAUSE_VERSION,         /* 505 */
    TG_CAUSE_METHOD,          /* 405: CONNECT */
    TG_CAUSE_BODY_TOO_LARGE,  /* 413 */
    /* Refused by a protection (src/protect/), after routing. */
    TG_CAUSE_FEATURE_DISABLED, /* 503: the route's feature is switched off */
    TG_CAUSE_RATE_LIMITED_IP,    /* 429: a per-client rate limit (RATE_LIMITED: global) */
    TG_CAUSE_RATE_LIMITED_ROUTE, /* 429: a per-route rate limit */
    TG_CAUSE_CONCURRENCY,        /* 503: the upstream's concurrency limit (SHED: over the
                                  * soft limit, a sheddable route) */
    /* Answered from the response cache instead of the upstream, which failed (connect,
     * reset, 5xx, timeout, no server) or whose breaker is open (CACHE_HIT: fresh). */
    TG_CAUSE_CACHE_FALLBACK,
    TG_CAUSE_ONLY_IF_CACHED, /* 504: only-if-cached, and the cache has nothing usable */
    TG_CAUSE_QUEUE_TIMEOUT,  /* 503: waited concurrency.queue_timeout_ms for a slot */
    TG_CAUSE_COUNT,
};

_Static_assert(TG_CAUSE_COUNT <= TG_CAUSE_SLOTS, "every cause code needs a per-endpoint slot");

/* Cause codes as metric label values, indexed by enum tg_cause. */
extern const char *const tg_cause_names[TG_CAUSE_COUNT];

struct exchange {
    enum tg_http_method method;
    int minor;
    bool client_keepalive;
    bool upgrade;
    int route;          /* index into cfg->routes, -1 for the default upstream */
    struct wk_server *srv; /* server of the current (or last) try */
    uint32_t upstream;  /* index into cfg->upstreams */
    struct wk_snap *ws; /* the view this exchange started on */
    int64_t start_us, deadline_us;
    int64_t admitted_us; /* when the protections let it go on (after any wait for a slot) */
    int tries;
    /* While parked (C_PARKED): its place in the worker's queue and its head's length. */
    struct tg_conclimit_waiter qwait;
    uint32_t parked_head_len;

    struct tg_buf uhead; /* rewritten request head for the upstream */
    uint32_t uhead_off;
    enum tg_http_body req_body;
    uint64_t req_left;        /* LENGTH: bytes still to forward */
    struct tg_http_chunked req_chunk;
    uint32_t req_ready;       /* bytes at the head of c->in cleared for forwarding */
    bool req_done;            /* whole request forwarded */
    bool req_body_started;    /* body bytes already sent upstream: no retry */
    bool req_chunk_done;      /* the chunked scanner saw the end of the body */
    bool resp_chunk_done;
    bool resp_eof;            /* upstream closed (ends an EOF-delimited body) */
    int64_t timer_due_us;     /* what c->timer is armed for (it only moves earlier) */
    /* Request body pacing (timeouts.request_body, limits.min_request_body_rate): time is
     * charged to the client only while the gateway waits to read from it. */
    bool wait_client;         /* waiting for body bytes the gateway has room for */
    int64_t wait_since_us;    /* when the current wait began */
    int64_t client_wait_us;   /* waits that ended, summed */
    uint64_t body_read;       /* request body bytes read so far */
    int64_t up_progress_us;   /* last time the upstream took request bytes */
    bool fresh_conn;          /* the next try must open a new connection */
    bool expect_continue;     /* the client waits for "100 Continue" before its body */

    bool resp_head_done;
    int status;
    enum tg_http_body resp_body;
    uint64_t resp_left;
    struct tg_http_chunked resp_chunk;
    bool dechunk;             /* HTTP/1.0 client, chunked response: strip the framing */
    uint32_t resp_ready;      /* bytes at the head of u->in cleared for the client */
    bool resp_done;
    bool resp_started;        /* response bytes reached the client: errors can only close */
    bool upstream_keepalive;
    enum tg_cause cause;
    char reqid[64];
    uint32_t reqid_len;
    /* Endpoint accounting: a routed request counts under its route's endpoint; an
     * unmatched one under the template of its path, looked up only once the status is
     * known and added only at its second sighting (tg_endpoints_admit), so 404 noise and
     * one-off paths cannot fill the registry. */
    uint32_t endpoint;
    char tmpl[TG_ENDPOINT_NAME_MAX];
    uint32_t tmpl_len;
    /* Timing for the metrics (loop clock, µs; 0 = did not happen) and byte counts. */
    int64_t dispatch_us, connected_us, sent_us, head_us;
    struct tg_protect_ticket pticket; /* what the outcome report owes the chain */
    /* The response cache (cache.c). `fill` receives a response being stored while it
     * streams to the client (`fill_chunk` strips chunked framing from the copy);
     * `served` is an entry being written to the client instead, held by its reference
     * until the last byte is out. `upstream_cause` keeps why the upstream failed when
     * fallback answered, for the breaker's outcome report. */
    struct tg_cache_fill fill;
    struct tg_http_chunked fill_chunk;
    struct tg_cache_entry *served;
    const char *served_body;
    size_t served_len, served_off;
    enum tg_cause upstream_cause;
    /* The retry budget a granted retry holds a place in (NULL: none). The budget lives in
     * the gateway's protection state, not in the snapshot, so it outlives the view the
     * exchange gives back when it answers early. */
    struct tg_retry *retry_held;
    /* Retries (forward.c). While `retry_at_us` is set the exchange waits out a backoff:
     * no upstream connection, no server, only the client connection and its timer. */
    int64_t retry_at_us;    /* when the retry starts; 0 = not waiting */
    int64_t retry_delay_us; /* the last backoff (decorrelated jitter grows from it) */
    const struct wk_server *retry_avoid; /* the server the retry avoids, NULL = none */
    int64_t try_due_us; /* the per-try timeout of the try under way; 0 = none */
    bool new_conn;
    bool recorded;
    uint32_t server_key; /* the server registry id of x->srv, UINT32_MAX if none */
    int64_t start_wall_us;
    int active_slot;     /* index in the worker's in-flight table, -1 if not listed */
    char path[128];      /* request path (cut), for traces and the access log */
    uint32_t path_len;
    uint64_t bytes_in, bytes_out;
};

struct cconn {
    struct tg_worker *w;
    struct cconn *prev, *next;
    struct tg_io io;
    int fd;
    enum cstate state;
    bool readable, writable, hup, closing;
    bool rdhup;       /* the poller reported the peer's FIN: keep reading until EOF */
    bool close_after; /* close once the current response is written */
    struct tg_timer timer;
    struct tg_defer defer;  /* frees the connection at the end of the turn it closed in */
    struct tg_defer resume; /* continues a drive cut short at DRIVE_STEPS (client.c) */
    struct tg_buf in;  /* bytes from the client */
    struct tg_buf out; /* bytes we generate for the client (heads, error pages) */
    struct uconn *u;
    struct exchange x;
    uint32_t requests;
    int64_t head_start_us; /* first byte of the request head being read (loop clock) */
    char ip[48];
    uint8_t ip16[16]; /* the same, as protect/clientip.h keeps addresses */
};

enum ustate {
    U_CONNECTING = 0,
    U_ACTIVE,
    U_IDLE,
};

struct uconn {
    struct tg_worker *w;
    struct wk_snap *ws;
    struct wk_server *srv;
    struct tg_io io;
    int fd;
    enum ustate state;
    bool readable, writable, hup, reused, closing;
    struct tg_timer timer;
    struct tg_defer defer;
    struct tg_buf in; /* bytes from the upstream */
    struct cconn *client;
    struct uconn *next_idle;
};

/* client.c */
/* Takes `fd`, a new connection or one handed over after `requests` requests. */
void tg__client_accept(struct tg_worker *w, int fd, const struct sockaddr_storage *ss,
                       uint32_t requests);
void tg__client_close(struct cconn *c);
/* Hands an idle connection (between requests, nothing buffered) to another worker. */
void tg__client_handoff(struct cconn *c);
void tg__client_drive(struct cconn *c);
void tg__client_error(struct cconn *c, int status, const char *msg);
/* Answers the request with a page of the gateway's own: `headers` (NULL or CRLF-ended
 * lines such as "Retry-After: 5\r\n"), content type and body, which must fit one buffer
 * with the head (protections' answers are a few hundred bytes). As tg__client_error. */
/* protect.c: the protection seam. Called once the route is known: GO to forward it,
 * ANSWERED when the chain answered it (the head is consumed, the response queued), PARKED
 * when it waits for a concurrency slot (queue.c takes it from there). */
enum tg__admit { TG__ADMIT_GO = 0, TG__ADMIT_ANSWERED, TG__ADMIT_PARKED };
enum tg__admit tg__protect_admit(struct cconn *c, const struct tg_http_msg *req);
/* A parked request got its slot of `cl` (NULL: its limiter went away): the rest of the
 * chain. True when that answered it (as for ANSWERED). */
bool tg__protect_resume(struct cconn *c, const struct tg_http_msg *req, struct tg_conclimit *cl);
/* Builds the chain of a new snapshot from its configuration over the gateway's carried
 * protection state. 0 or a negative code with `eb` filled. Control thread. */
int tg__protect_build(const struct tg_config *cfg, struct tg_protect_state *st, int64_t now_us,
                      struct tg_protect_chain **out, struct tg_errbuf *eb);
/* The route breakers' latency rule, fed from the metrics tick. Control thread. */
void tg__protect_feed(struct tg_gateway *gw, int64_t now_us);
/* Passive ejection's latency rule and the return of ejected servers. Control thread. */
void tg__protect_sweep_outliers(struct tg_gateway *gw, int64_t now_us);
/* Reports the exchange's outcome to the chain, once (from tg__forward_record). */
void tg__protect_outcome(struct cconn *c, int64_t now_us);
/* The breaker timeout that cuts calls of this route, 0 when no breaker applies. */
int64_t tg__protect_cut_us(const struct tg_config *cfg, int route, uint32_t upstream);

void tg__client_respond(struct cconn *c, int status, const char *headers, const char *ctype,
                        const char *body, size_t blen);
/* Ends the exchange's hold on its upstream connection, snapshot view, cache entry and
 * fill (an unfinished fill is dropped). */
void tg__client_exchange_release(struct cconn *c, bool upstream_reusable);
void tg__client_exchange_done(struct cconn *c);
int tg__client_read(struct cconn *c);
void tg__client_arm_deadline(struct cconn *c, int64_t due_us);
struct iovec;
long tg__client_writev(struct cconn *c, const struct iovec *iov, int n);

/* forward.c */
void tg__exchange_begin(struct cconn *c, const struct tg_http_msg *req, int64_t start_us);
void tg__forward_start(struct cconn *c, const struct tg_http_msg *req);
/* The admitted request `req` goes to its upstream (from forward_start, or when a parked
 * one gets its slot). */
void tg__forward_dispatch(struct cconn *c, const struct tg_http_msg *req);
bool tg__client_deadline_passed(struct cconn *c);
/* The connection timer fired during an exchange: NOT_YET (re-armed), ACTED (a backoff
 * ended or a try timed out, and the exchange moved on: drive the connection) or
 * DEADLINE (the exchange's deadline passed: the caller answers it). */
enum tg__fwd_timer {
    TG__FWD_NOT_YET = 0,
    TG__FWD_ACTED,
    TG__FWD_DEADLINE,
};
enum tg__fwd_timer tg__forward_timer(struct cconn *c);
bool tg__forward_step(struct cconn *c);
void tg__forward_upstream_failed(struct cconn *c, enum tg_cause cause);
void tg__forward_record(struct cconn *c);
bool tg__tunnel_step(struct cconn *c);

/* cache.c: the proxy's side of the response cache (protect/cache.h). */
/* The request as the cache sees it, from a parsed head; `f` has room for `cap` fields. */
void tg__cache_req(const struct tg_http_msg *m, struct tg_cache_req *rq, struct tg_cache_field *f,
                   uint32_t cap);
/* Answers the exchange with the entry of `hit` (takes its reference): the stored head,
 * Content-Length, Age (and Warning when stale), then the body, written from the entry
 * with no copy (forward.c); or 304 when the request `rq` (NULL: none) already holds the
 * representation (protect/cache_cond.h). `cause` labels the request. */
void tg__cache_serve(struct cconn *c, const struct tg_cache_hit *hit, const struct tg_cache_req *rq,
                     bool revalidation_failed, enum tg_cause cause);
/* The upstream failed with `cause` and nothing reached the client: true if fallback
 * answered from the cache instead (then the exchange is being answered). */
bool tg__cache_fallback(struct cconn *c, enum tg_cause cause);
/* The response head `m` arrived: offers it to the cache when the chain said so. */
void tg__cache_offer(struct cconn *c, const struct tg_http_msg *m);
/* `n` response bytes at `p` (as forwarded: with chunked framing unless dechunked) reached
 * the client: copied into the open fill. */
void tg__cache_fill(struct cconn *c, const char *p, size_t n);
/* The response reached the client whole: commits the fill, or for a write answered
 * below 400, purges the entries of its path (RFC 9111 §4.4). */
void tg__cache_response_done(struct cconn *c);
/* Drops the exchange's fill and gives back its served entry. */
void tg__cache_exchange_end(struct cconn *c);

/* observe.c: traces and the access log for one finished request */
void tg__observe(struct cconn *c, const struct tg_reqsample *smp, uint32_t key);
void tg__access_log_flush(struct tg_worker *w);

/* upstream.c */
/* Gives `c` a connection to `srv`: the warmest pooled one, or (always with `fresh`) a new
 * one being connected. 0 or -errno. */
int tg__upstream_acquire(struct cconn *c, struct wk_server *srv, bool fresh);
void tg__upstream_release(struct uconn *u, bool reusable);
void tg__upstream_close(struct uconn *u);
int tg__upstream_read(struct uconn *u);
void tg__worker_pool_drop(struct tg_worker *w, struct wk_snap *ws);

/* balance.c */
struct wk_server *tg__balance_pick(struct tg_worker *w, struct wk_snap *ws, uint32_t upstream,
                                   int64_t now_us, const struct wk_server *avoid);
bool tg__balance_any(struct wk_snap *ws, uint32_t upstream, int64_t now_us,
                     const struct wk_server *avoid);
/* How a try to `s` ended: feeds the worker's latency EWMA and passive ejection (the
 * outlier state), and logs an ejection. */
void tg__balance_result(struct wk_server *s, const struct tg_outlier_result *r, int64_t now_us);

/* headers.c */
int tg__headers_request(struct tg_buf *out, const struct tg_http_msg *req, const char *client_ip,
                        const char *reqid, uint32_t reqid_len, const char *host_fallback);
int tg__headers_response(struct tg_buf *out, const struct tg_http_msg *resp, bool keepalive,
                         bool client_http10, bool dechunk, const char *reqid, uint32_t reqid_len);

/* queue.c: requests waiting for a concurrency slot, on their connection's worker. */
/* This worker's queue for `upstream` of its current view, NULL when it has no limiter. */
struct tg_conclimit_queue *tg__queue_of(struct tg_worker *w, uint32_t upstream);
/* The chain parked the request of `c` (its head of `head_len` bytes still in c->in). */
void tg__queue_park(struct cconn *c, uint32_t head_len);
/* The client of a parked request went away: its place is given up (not a timeout). */
void tg__queue_cancel(struct cconn *c);
/* What a parked connection does when the poller reports it: reads (not parses) what the
 * client sends, to see it leave. True on progress. */
bool tg__queue_step(struct cconn *c);
/* A slot was given back while requests wait: poll at the end of the turn. */
void tg__queue_kick(struct tg_worker *w);
/* Polls this worker's queues now (wake-ups, the queue timer). */
void tg__queue_poll(struct tg_worker *w);
/* The worker moved to a new view: its queues follow the limiters they wait on. 0 or
 * -ENOMEM (then every waiter has been let go and the worker queues nothing). */
int tg__queue_switch(struct tg_worker *w);
/* The worker stops: every parked request is answered 503. Then the table is freed. */
void tg__queue_refuse_all(struct tg_worker *w);
void tg__queue_free(struct tg_worker *w);
/* Control thread, on a nudge: wakes the workers that hold waiters. */
void tg__queue_nudge_all(struct tg_gateway *gw);

/* worker.c: the view a new exchange should use (and its accounting). */
struct wk_snap *tg__worker_view_get(struct tg_worker *w);
void tg__worker_view_put(struct tg_worker *w, struct wk_snap *ws);
void tg__worker_conn_gone(struct tg_worker *w);  /* a connection was closed */
void tg__worker_conn_moved(struct tg_worker *w); /* a connection was handed off */
int tg__worker_init(struct tg_worker *w, struct tg_gateway *gw, uint32_t id, int lfd);
int tg__worker_start(struct tg_worker *w);
void tg__worker_deinit(struct tg_worker *w);

#endif
