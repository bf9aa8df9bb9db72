/* SPDX-License-Identifier: MIT */
/* The exchange: one request proxied from a client connection to an upstream connection
 * and its response back. Bodies stream through the two connections' input buffers and
 * are never held whole: a body byte is forwarded as soon as its framing is known, and a
 * side is read only while the buffer holding its bytes has room, which is the
 * backpressure that keeps a 1 GiB transfer in a few buffers of memory. Each write sends
 * the pending head and the body bytes that follow it in one sendmsg (head + body, no
 * copy). Failures before any response byte reached the client become 502/504 (with a
 * retry on another server when nothing irrevocable happened); after that, the only
 * honest signal left is closing the client connection. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"


static const char *const cause_msg[TG_CAUSE_COUNT] = {
    [TG_CAUSE_OK] = "ok",
    [TG_CAUSE_UPSTREAM_CONNECT] = "upstream connect failed",
    [TG_CAUSE_UPSTREAM_TIMEOUT] = "upstream timeout",
    [TG_CAUSE_UPSTREAM_RESET] = "upstream connection reset",
    [TG_CAUSE_UPSTREAM_BAD] = "invalid upstream response",
    [TG_CAUSE_NO_SERVER] = "no upstream server available",
    [TG_CAUSE_CLIENT_ABORT] = "client aborted",
    [TG_CAUSE_BAD_REQUEST] = "bad request",
};

const char *const tg_cause_names[TG_CAUSE_COUNT] = {
    [TG_CAUSE_OK] = "ok",
    [TG_CAUSE_UPSTREAM_CONNECT] = "upstream_connect_failure",
    [TG_CAUSE_UPSTREAM_TIMEOUT] = "upstream_timeout",
    [TG_CAUSE_UPSTREAM_RESET] = "upstream_reset",
    [TG_CAUSE_UPSTREAM_BAD] = "upstream_bad_response",
    [TG_CAUSE_NO_SERVER] = "no_upstream_server",
    [TG_CAUSE_CLIENT_ABORT] = "client_abort",
    [TG_CAUSE_BAD_REQUEST] = "bad_request",
    [TG_CAUSE_RETRIED] = "retried",
    [TG_CAUSE_RATE_LIMITED] = "rate_limited",
    [TG_CAUSE_BREAKER_OPEN] = "breaker_open",
    [TG_CAUSE_SHED] = "shed",
    [TG_CAUSE_CACHE_HIT] = "cache_hit",
    [TG_CAUSE_HEADER_TIMEOUT] = "header_timeout",
    [TG_CAUSE_BODY_TIMEOUT] = "body_timeout",
    [TG_CAUSE_HEAD_TOO_LARGE] = "head_too_large",
    [TG_CAUSE_URI_TOO_LONG] = "uri_too_long",
    [TG_CAUSE_MISSING_HOST] = "missing_host",
    [TG_CAUSE_NOT_IMPLEMENTED] = "not_implemented",
    [TG_CAUSE_VERSION] = "version_not_supported",
    [TG_CAUSE_METHOD] = "method_not_allowed",
    [TG_CAUSE_BODY_TOO_LARGE] = "body_too_large",
    [TG_CAUSE_FEATURE_DISABLED] = "feature_disabled",
    [TG_CAUSE_RATE_LIMITED_IP] = "rate_limited_ip",
    [TG_CAUSE_RATE_LIMITED_ROUTE] = "rate_limited_route",
    [TG_CAUSE_CONCURRENCY] = "concurrency_limit",
    [TG_CAUSE_CACHE_FALLBACK] = "cache_fallback",
    [TG_CAUSE_ONLY_IF_CACHED] = "only_if_cached",
    [TG_CAUSE_QUEUE_TIMEOUT] = "queue_timeout",
};

static int64_t now_of(struct cconn *c)
{
    return tg_loop_now_us(c->w->loop);
}

/* Arms the connection timer for the earliest of the exchange's times: its deadline, the
 * per-try timeout of the try under way, the end of a backoff. The timer only ever moves
 * earlier: a later time is just recorded, and a timer that fires before it re-arms
 * itself (tg__forward_timer), so the progress of a streaming body costs no timer work. */
static void arm_next(struct cconn *c)
{
    struct exchange *x = &c->x;
    int64_t due = x->deadline_us;
    if (x->try_due_us && (!due || x->try_due_us < due))
        due = x->try_due_us;
    if (x->retry_at_us && (!due || x->retry_at_us < due))
        due = x->retry_at_us;
    if (x->timer_due_us && due >= x->timer_due_us)
        return;
    x->timer_due_us = due;
    tg__client_arm_deadline(c, due);
}

static void arm_deadline(struct cconn *c, int64_t due_us)
{
    c->x.deadline_us = due_us;
    arm_next(c);
}

bool tg__client_deadline_passed(struct cconn *c)
{
    struct exchange *x = &c->x;
    if (x->deadline_us <= now_of(c))
        return true;
    x->timer_due_us = 0;
    arm_next(c);
    return false;
}

static int64_t route_timeout_us(const struct tg_config *cfg, int route)
{
    if (route >= 0) {
        const struct tg_cfg_route *r = &cfg->routes[route];
        if (r->timeout_us)
            return r->timeout_us;
        if (r->cls == TG_CLASS_CRITICAL)
            return cfg->critical_timeout_us;
    }
    return cfg->default_timeout_us;
}

/* The per-try timeout of the exchange's route, 0 for none. */
static int64_t per_try_us(const struct tg_config *cfg, int route)
{
    if (route >= 0 && cfg->routes[route].per_try_timeout_us)
        return cfg->routes[route].per_try_timeout_us;
    return cfg->per_try_timeout_us;
}

static bool is_idempotent(enum tg_http_method m)
{
    return m == TG_HTTP_GET || m == TG_HTTP_HEAD || m == TG_HTTP_PUT || m == TG_HTTP_DELETE ||
           m == TG_HTTP_OPTIONS || m == TG_HTTP_TRACE;
}

static void set_reqid(struct cconn *c, const struct tg_http_msg *req)
{
    struct exchange *x = &c->x;
    if (req && req->reqid_idx >= 0) {
        struct tg_str v = req->headers[req->reqid_idx].value;
        bool ok = v.len > 0 && v.len < sizeof x->reqid;
        for (uint32_t i = 0; ok && i < v.len; i++)
            ok = v.p[i] > 0x20 && v.p[i] < 0x7f && v.p[i] != '"' && v.p[i] != '\\';
        if (ok) {
            memcpy(x->reqid, v.p, v.len);
            x->reqid_len = v.len;
            return;
        }
    }
    uint64_t a = tg__worker_rand(c->w), b = tg__worker_rand(c->w);
    x->reqid_len = (uint32_t)snprintf(x->reqid, sizeof x->reqid, "%016llx%016llx",
                                      (unsigned long long)a, (unsigned long long)b);
}

/* Picks a server (avoiding `avoid`) and gets a connection to it. */
static void connect_next(struct cconn *c, const struct wk_server *avoid)
{
    struct exchange *x = &c->x;
    struct wk_server *srv = tg__balance_pick(c->w, x->ws, x->upstream, now_of(c), avoid);
    if (!srv) {
        if (tg__cache_fallback(c, TG_CAUSE_NO_SERVER))
            return;
        x->cause = TG_CAUSE_NO_SERVER;
        tg__client_error(c, 502, cause_msg[x->cause]);
        return;
    }
    x->tries++;
    x->srv = srv;
    x->server_key = srv->rt->key;
    x->dispatch_us = now_of(c);
    atomic_fetch_add_explicit(srv->rt->inflight, 1, memory_order_relaxed);
    srv->local_inflight++;
    bool fresh = x->fresh_conn;
    x->fresh_conn = false;
    if (tg__upstream_acquire(c, srv, fresh) != 0) {
        tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_CONNECT);
        return;
    }
    x->new_conn = c->u->state == U_CONNECTING;
    if (!x->new_conn)
        x->connected_us = x->dispatch_us;
}

/* Puts the request in the worker's in-flight table (what requests/active lists). An
 * unmatched request shows under its template if that is already a known endpoint. */
static void list_in_flight(struct cconn *c)
{
    struct exchange *x = &c->x;
    struct tg_active_entry e = {
        .start_wall_us = x->start_wall_us,
        .start_mono_us = x->start_us,
        .endpoint = x->route >= 0 ? x->endpoint
                                  : tg_endpoints_find(c->w->gw->endpoints, x->tmpl, x->tmpl_len),
        .method = (uint32_t)x->method,
    };
    memcpy(e.path, x->path, x->path_len < sizeof e.path ? x->path_len : sizeof e.path - 1);
    memcpy(e.reqid, x->reqid, x->reqid_len < sizeof e.reqid ? x->reqid_len : sizeof e.reqid - 1);
    x->active_slot = tg_active_add(c->w->inflight, &e);
}

/* Starts the accounting of one request: its clock, its place in the in-flight count and
 * its id. `req` may be a head the parser refused part-way: what it did read (method,
 * path, X-Request-Id) is used, the rest is left out. tg__forward_record ends it. */
/* The route's timeout, or a breaker's when it is shorter: the breaker counts a call
 * slower than that as failed, and cuts it there. */
static int64_t call_timeout_us(const struct exchange *x, const struct tg_config *cfg)
{
    int64_t t = route_timeout_us(cfg, x->route);
    int64_t cut = x->pticket.breaker ? tg__protect_cut_us(cfg, x->route, x->upstream) : 0;
    return cut && cut < t ? cut : t;
}

void tg__exchange_begin(struct cconn *c, const struct tg_http_msg *req, int64_t start_us)
{
    struct exchange *x = &c->x;
    x->method = req->method;
    x->minor = req->minor;
    x->start_us = start_us;
    x->start_wall_us = tg_clock_wall_us() - (now_of(c) - start_us);
    x->path_len = req->path.len < sizeof x->path - 1 ? req->path.len : sizeof x->path - 1;
    memcpy(x->path, req->path.p, x->path_len);
    x->active_slot = -1;
    x->server_key = UINT32_MAX;
    x->bytes_in = req->head_len;
    atomic_store_explicit(&c->w->active,
                          atomic_load_explicit(&c->w->active, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    set_reqid(c, req);
}

void tg__forward_start(struct cconn *c, const struct tg_http_msg *req)
{
    struct tg_worker *w = c->w;
    struct exchange *x = &c->x;
    tg__exchange_begin(c, req, now_of(c));
    x->client_keepalive = (req->flags & TG_HTTP_F_KEEPALIVE) && !c->hup;
    x->upgrade = (req->flags & TG_HTTP_F_UPGRADE) != 0;
    x->req_body = req->body;
    x->req_left = req->body == TG_HTTP_BODY_LENGTH ? req->content_length : 0;
    x->expect_continue = (req->flags & TG_HTTP_F_EXPECT_100) != 0;
    x->ws = tg__worker_view_get(w);
    const struct tg_config *cfg = x->ws->snap->cfg;
    x->route = tg_route_match(x->ws->snap->routes, req->method, req->path);
    if (x->route >= 0) {
        x->endpoint = x->ws->snap->route_endpoint[x->route];
    } else {
        x->tmpl_len = (uint32_t)tg_route_template(req->path, x->tmpl, sizeof x->tmpl);
    }
    list_in_flight(c);
    if (cfg->max_body_bytes && req->body == TG_HTTP_BODY_LENGTH &&
        req->content_length > cfg->max_body_bytes) {
        x->cause = TG_CAUSE_BODY_TOO_LARGE;
        tg__client_error(c, 413, "request body too large");
        return;
    }
    x->upstream = x->route >= 0 ? cfg->routes[x->route].upstream : cfg->default_upstream;
    if (tg__protect_admit(c, req) == TG__ADMIT_GO)
        tg__forward_dispatch(c, req);
}

void tg__forward_dispatch(struct cconn *c, const struct tg_http_msg *req)
{
    struct tg_worker *w = c->w;
    struct exchange *x = &c->x;
    const struct tg_config *cfg = x->ws->snap->cfg;
    const struct tg_cfg_upstream *ucfg = &cfg->upstreams[x->upstream];
    /* The head is still in c->in on these two paths: the connection cannot go on. */
    if (!tg_buf_reserve(&x->uhead, &w->bufs)) {
        c->close_after = true;
        tg__client_error(c, 503, "out of memory");
        return;
    }
    const char *host = ucfg->nservers ? ucfg->servers[0].addr.text : "localhost";
    if (tg__headers_request(&x->uhead, req, c->ip, x->reqid, x->reqid_len, host) != 0) {
        c->close_after = true;
        x->cause = TG_CAUSE_HEAD_TOO_LARGE;
        tg__client_error(c, 431, "request header fields too large");
        return;
    }
    tg_buf_consume(&c->in, req->head_len);
    /* The upstream's time counts from here: a wait for a concurrency slot is not its. */
    x->admitted_us = now_of(c);
    x->up_progress_us = x->admitted_us;
    arm_deadline(c, x->admitted_us + call_timeout_us(x, cfg));
    connect_next(c, NULL);
}

static int64_t span(int64_t from, int64_t to)
{
    return from && to && to >= from ? to - from : -1;
}

void tg__forward_record(struct cconn *c)
{
    struct exchange *x = &c->x;
    if (x->recorded || !x->start_us)
        return;
    x->recorded = true;
    tg_active_remove(c->w->inflight, x->active_slot);
    x->active_slot = -1;
    atomic_store_explicit(&c->w->active,
                          atomic_load_explicit(&c->w->active, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    int64_t now = now_of(c);
    if (x->route < 0 && x->tmpl_len) {
        struct tg_endpoints *e = c->w->gw->endpoints;
        int64_t window_s = c->w->cur->snap->cfg->endpoint_idle_timeout_us / 1000000;
        x->endpoint = x->status == 404 ? tg_endpoints_find(e, x->tmpl, x->tmpl_len)
                                       : tg_endpoints_admit(e, x->tmpl, x->tmpl_len,
                                                            now / 1000000, window_s);
    }
    if (x->cause == TG_CAUSE_OK && x->tries > 1)
        x->cause = TG_CAUSE_RETRIED;
    struct tg_reqsample smp = {
        .duration_us = now - x->start_us,
        .phase_us = {span(x->start_us, x->dispatch_us),
                     x->new_conn ? span(x->dispatch_us, x->connected_us) : -1,
                     span(x->sent_us, x->head_us), span(x->head_us, now)},
        .status = x->status,
        .cause = x->cause,
        .bytes_in = x->bytes_in,
        .bytes_out = x->bytes_out,
    };
    tg__protect_outcome(c, now);
    if (x->retry_held) {
        /* The retry in progress ended another way (an answer, a late failure, the client
         * leaving, the deadline): its budget place goes back. */
        tg_retry_cancel(x->retry_held);
        x->retry_held = NULL;
    }
    uint32_t key = x->endpoint * TG_GATEWAY_METHODS + (uint32_t)x->method;
    bool server_error = tg_gateway_cause_is_error((unsigned)x->cause);
    server_error = server_error || x->status >= 500;
    int64_t upstream_us = x->sent_us ? now - x->sent_us : -1;
    if (!c->w->cur->snap->cfg->metrics_enabled)
        return; /* only for measuring what recording costs (bench/proxy.sh) */
    tg_mshard_record(c->w->shard, key, &smp, upstream_us >= 0 ? x->server_key : UINT32_MAX,
                     upstream_us, server_error);
    tg__observe(c, &smp, key);
}

/* Requests in flight to the upstream of the exchange, every worker (the budget's base). */
static uint32_t upstream_inflight(const struct exchange *x)
{
    const struct tg_upstream_rt *u = &x->ws->snap->ups[x->upstream];
    uint32_t n = 0;
    for (uint32_t i = 0; i < u->cfg->nservers; i++)
        n += (uint32_t)atomic_load_explicit(u->servers[i].inflight, memory_order_relaxed);
    return n;
}

/* Ends the try under way: its connection is closed, never pooled (it failed, or its
 * response is dropped), and its server has one request fewer in flight. */
static void end_try(struct cconn *c)
{
    struct exchange *x = &c->x;
    struct uconn *u = c->u;
    if (u) {
        c->u = NULL;
        u->client = NULL;
        tg__upstream_release(u, false);
    }
    if (x->srv) {
        atomic_fetch_sub_explicit(x->srv->rt->inflight, 1, memory_order_relaxed);
        x->srv->local_inflight--;
        x->srv = NULL;
    }
    x->try_due_us = 0;
}

/* Asks the retry policy about the try that ended with `f` (`status`: the response's,
 * for TG_RETRY_OK). A retry holds a place in the upstream's budget from here until its
 * own try ends (tg__forward_record gives it back if the exchange ends another way). True
 * when one is granted; retry_start then starts it. `avoid` is the server that failed,
 * NULL when the failure says nothing about it. */
static bool retry_granted(struct cconn *c, enum tg_retry_failure f, int status,
                          const struct wk_server *avoid)
{
    struct exchange *x = &c->x;
    const struct tg_config *cfg = x->ws->snap->cfg;
    int64_t now = now_of(c);
    /* Nothing irrevocable yet: no body byte went out (bodies are streamed, not kept to
     * send again) and nothing of the response reached the client. */
    bool possible = !x->resp_started && !x->req_body_started;
    /* Where a retry would go: to another server when one is usable; with none, to the
     * same one only after a backoff. A server restarting refuses connections or answers
     * 503 for a moment, and the wait is its chance to come back; at once, the retry would
     * only meet the same failure, and the failure is reported as what it is. */
    bool other = possible && tg__balance_any(x->ws, x->upstream, now, avoid);
    bool target = other || (possible && cfg->retries.base_delay_ms > 0);
    if (!target && !x->retry_held)
        return false;
    const struct tg_cfg_route *r = x->route >= 0 ? &cfg->routes[x->route] : NULL;
    struct tg_retry_try t = {
        .attempt = (uint32_t)x->tries,
        /* With nowhere to go, the decision only gives back a retry's place. */
        .failure = target ? f : TG_RETRY_LATE_FAILURE,
        .status = status,
        .idempotent = is_idempotent(x->method) || (r && r->retry_non_idempotent),
        .replayable = true,
        .other_server = other,
        .inflight = upstream_inflight(x),
        .prev_delay_us = x->retry_delay_us,
        .deadline_us = x->deadline_us,
    };
    struct tg_retry_decision d;
    tg_protect_retry(x->ws->snap->protect, x->upstream, &t, now, tg__worker_rand(c->w), &d);
    x->retry_held = d.verdict == TG_RETRY_AGAIN
                        ? tg_protect_retry_of(x->ws->snap->protect, x->upstream)
                        : NULL;
    if (!x->retry_held)
        return false;
    x->retry_avoid = other ? avoid : NULL;
    x->retry_delay_us = d.delay_us;
    return true;
}

/* Starts the granted retry (after end_try): at once, or once its backoff is over, when
 * the connection timer fires (tg__forward_timer). While it waits the exchange holds no
 * upstream connection and no server, only its view of the snapshot (which keeps the
 * server it avoids alive); a client that leaves meanwhile ends it (tg__forward_step). */
static void retry_start(struct cconn *c, bool fresh_conn)
{
    struct exchange *x = &c->x;
    /* Back to "nothing sent": the head goes out again, and body bytes that were only
     * scanned (never sent, or req_body_started would be set) are scanned again. */
    x->uhead_off = 0;
    x->req_ready = 0;
    x->req_done = false;
    x->req_chunk = (struct tg_http_chunked){0};
    x->req_chunk_done = false;
    x->sent_us = 0;
    x->fresh_conn = fresh_conn;
    if (x->retry_delay_us > 0) {
        x->retry_at_us = now_of(c) + x->retry_delay_us;
        arm_next(c);
        return;
    }
    connect_next(c, x->retry_avoid);
}

enum tg__fwd_timer tg__forward_timer(struct cconn *c)
{
    struct exchange *x = &c->x;
    int64_t now = now_of(c);
    x->timer_due_us = 0; /* it fired */
    if (x->deadline_us <= now)
        return TG__FWD_DEADLINE;
    if (x->retry_at_us && x->retry_at_us <= now) {
        x->retry_at_us = 0;
        connect_next(c, x->retry_avoid);
        return TG__FWD_ACTED;
    }
    if (x->try_due_us && x->try_due_us <= now) {
        /* No response head within the per-try timeout: this try is abandoned. */
        tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_TIMEOUT);
        return TG__FWD_ACTED;
    }
    arm_next(c);
    return TG__FWD_NOT_YET;
}

void tg__forward_upstream_failed(struct cconn *c, enum tg_cause cause)
{
    struct exchange *x = &c->x;
    bool reused = c->u && c->u->reused;
    struct wk_server *srv = x->srv;
    if (srv && cause != TG_CAUSE_UPSTREAM_BAD) {
        struct tg_outlier_result r = {
            .kind = cause == TG_CAUSE_UPSTREAM_CONNECT   ? TG_OUTLIER_CONNECT
                    : cause == TG_CAUSE_UPSTREAM_TIMEOUT ? TG_OUTLIER_TIMEOUT
                                                         : TG_OUTLIER_RESET,
        };
        tg__balance_result(srv, &r, now_of(c));
    }
    end_try(c);
    /* Retry what the upstream cannot have acted on, or may act on twice without harm: a
     * failed connect; or, for an idempotent request (RFC 9110 §9.2.2, or a route with
     * retry_non_idempotent) whose body has not started, a connection closed or reset
     * before any of the response arrived (a server restarting, or a pooled keep-alive
     * connection the server closed under us: a race every pooling proxy meets), or a try
     * past its per-try timeout. This is nginx's proxy_next_upstream default; a request
     * that kills its server ("query of death") is tried at most retries.max_attempts
     * times, and retries in flight stay within the upstream's retry budget. */
    enum tg_retry_failure f = cause == TG_CAUSE_UPSTREAM_CONNECT ? TG_RETRY_CONNECT
                              : cause == TG_CAUSE_UPSTREAM_RESET ? TG_RETRY_RESET
                              : cause == TG_CAUSE_UPSTREAM_TIMEOUT ? TG_RETRY_TIMEOUT
                                                                   : TG_RETRY_LATE_FAILURE;
    if (x->resp_head_done)
        f = TG_RETRY_LATE_FAILURE;
    /* A reused connection that failed says nothing about the server, so it may be tried
     * again, on a new connection: the rest of its pool may be as stale as that one. */
    const struct wk_server *avoid = cause == TG_CAUSE_UPSTREAM_RESET && reused ? NULL : srv;
    if (retry_granted(c, f, 0, avoid)) {
        retry_start(c, reused);
        return;
    }
    if (tg__cache_fallback(c, cause))
        return;
    x->cause = cause;
    tg__client_error(c, cause == TG_CAUSE_UPSTREAM_TIMEOUT ? 504 : 502, cause_msg[cause]);
}

/* A response head with `status` came from the try's server: the balancer's latency
 * average and passive ejection learn of it. The server's own time is from the request's
 * last byte sent to the response head. */
static void response_result(struct cconn *c, int status)
{
    struct exchange *x = &c->x;
    struct tg_outlier_result r = {
        .kind = TG_OUTLIER_RESPONSE,
        .status = status,
        .latency_us = now_of(c) - (x->sent_us ? x->sent_us : x->start_us),
    };
    tg__balance_result(x->srv, &r, now_of(c));
}

/* The runbooks' app-specific paths (the agent pool lives in the application) are sent
 * to the application; one that has no such thing answers 404, and the runbook's caller
 * gets 501 "unsupported" instead, which says that this deployment does not have the
 * component rather than that the path is mistyped (seed-inventory M8). The 404 and its
 * connection are dropped. True when it answered. */
static bool app_unsupported(struct cconn *c)
{
    struct exchange *x = &c->x;
    const struct tg_config *cfg = x->ws->snap->cfg;
    if (x->route < 0 || !cfg->routes[x->route].app_path)
        return false;
    static const char body[] =
        "{\"status\":\"unsupported\",\"component\":\"agents\",\"error\":\"the "
        "application does not implement this app-specific path (it answered 404)\"}\n";
    response_result(c, 404);
    end_try(c);
    tg__client_respond(c, 501, "", "application/json", body, sizeof body - 1);
    return true;
}

/* A response head with a status listed in retries.statuses, none of it sent yet: the
 * retry is decided before anything is dropped, because when it is refused (attempts
 * exhausted, the budget spent, no time left) this response is what the client gets. On
 * a retry the response goes with its connection. True when a retry took over. */
static bool status_retry(struct cconn *c, int status)
{
    struct exchange *x = &c->x;
    const struct tg_cfg_retries *rc = &x->ws->snap->cfg->retries;
    bool listed = false;
    for (uint32_t i = 0; i < rc->nstatuses && !listed; i++)
        listed = rc->statuses[i] == status;
    if (!listed || x->upgrade)
        return false;
    struct wk_server *srv = x->srv;
    if (!retry_granted(c, TG_RETRY_OK, status, srv))
        return false; /* forwarded: response_head goes on, and reports it to the balancer */
    response_result(c, status);
    end_try(c);
    retry_start(c, false);
    return true;
}

/* Clears request body bytes in c->in for forwarding. Returns false on a framing error
 * (the exchange has been ended). */
static bool request_ready(struct cconn *c)
{
    struct exchange *x = &c->x;
    uint32_t avail = tg_buf_len(&c->in);
    switch (x->req_body) {
    case TG_HTTP_BODY_LENGTH:
        x->req_ready = x->req_left < avail ? (uint32_t)x->req_left : avail;
        break;
    case TG_HTTP_BODY_CHUNKED:
        if (!x->req_chunk_done && avail > x->req_ready) {
            bool done = false;
            long r = tg_http1_chunked_scan(&x->req_chunk, c->in.data + c->in.head + x->req_ready,
                                           avail - x->req_ready, &done);
            if (r < 0) {
                c->close_after = true;
                x->cause = TG_CAUSE_BAD_REQUEST;
                tg__client_error(c, 400, "malformed chunked body");
                return false;
            }
            x->req_ready += (uint32_t)r;
            x->req_chunk_done = done;
            const struct tg_config *cfg = x->ws->snap->cfg;
            if (cfg->max_body_bytes && x->req_chunk.body_bytes > cfg->max_body_bytes) {
                c->close_after = true;
                tg__client_error(c, 413, "request body too large");
                return false;
            }
        }
        break;
    default:
        x->req_ready = 0;
        break;
    }
    return true;
}

static bool request_complete(const struct exchange *x)
{
    if (x->uhead_off < tg_buf_len(&x->uhead))
        return false;
    switch (x->req_body) {
    case TG_HTTP_BODY_LENGTH:
        return x->req_left == 0;
    case TG_HTTP_BODY_CHUNKED:
        return x->req_chunk_done && x->req_ready == 0;
    default:
        return true;
    }
}

/* Body pacing: the client is charged only while the gateway waits to read from it. */
static void client_wait_begin(struct cconn *c)
{
    struct exchange *x = &c->x;
    if (x->wait_client)
        return;
    x->wait_client = true;
    x->wait_since_us = now_of(c);
}

static void client_wait_end(struct cconn *c)
{
    struct exchange *x = &c->x;
    if (!x->wait_client)
        return;
    x->wait_client = false;
    x->client_wait_us += now_of(c) - x->wait_since_us;
}

/* When the current wait for body bytes runs out: `timeouts.request_body` after the wait
 * began, or earlier once the whole time waited exceeds that first budget plus one second
 * per `min_request_body_rate` bytes read (Apache mod_reqtimeout's MinRate). */
static int64_t body_deadline(const struct cconn *c, const struct tg_config *cfg)
{
    const struct exchange *x = &c->x;
    int64_t gap = cfg->body_timeout_us;
    if (cfg->min_body_rate) {
        double earned = (double)x->body_read / (double)cfg->min_body_rate * 1e6;
        double left = (double)cfg->body_timeout_us + earned - (double)x->client_wait_us;
        if (left < (double)gap)
            gap = left > 0 ? (int64_t)left : 0;
    }
    return x->wait_since_us + gap;
}

/* The deadline while the request is still going out: the client's, while we wait for
 * its body; else the route timeout since the upstream last took bytes. */
static void request_deadline(struct cconn *c)
{
    struct exchange *x = &c->x;
    const struct tg_config *cfg = x->ws->snap->cfg;
    arm_deadline(c, x->wait_client ? body_deadline(c, cfg)
                                   : x->up_progress_us + call_timeout_us(x, cfg));
}

/* Client -> upstream. Returns true on progress. */
static bool pump_request(struct cconn *c, struct uconn *u)
{
    struct exchange *x = &c->x;
    bool progress = false;
    if (!request_ready(c))
        return true;
    uint32_t head_left = tg_buf_len(&x->uhead) - x->uhead_off;
    if (u->state == U_ACTIVE && u->writable && (head_left || x->req_ready)) {
        struct iovec iov[2];
        int n = 0;
        if (head_left)
            iov[n++] = (struct iovec){x->uhead.data + x->uhead.head + x->uhead_off, head_left};
        if (x->req_ready)
            iov[n++] = (struct iovec){c->in.data + c->in.head, x->req_ready};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(u->fd, &mh, MSG_NOSIGNAL);
        if (w == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                u->writable = false;
            } else if (errno != EINTR) {
                tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_RESET);
                return true;
            }
        } else {
            uint32_t sent = (uint32_t)w;
            uint32_t h = sent < head_left ? sent : head_left;
            x->uhead_off += h;
            sent -= h;
            if (sent) {
                x->bytes_in += sent;
                x->req_body_started = true;
                tg_buf_consume(&c->in, sent);
                x->req_ready -= sent;
                if (x->req_body == TG_HTTP_BODY_LENGTH)
                    x->req_left -= sent;
            }
            x->up_progress_us = now_of(c);
            progress = true;
        }
    }
    if (request_complete(x)) {
        client_wait_end(c);
        x->req_done = true;
        x->sent_us = now_of(c);
        /* The response deadline, and the try's own, count from the moment the request is
         * fully sent. */
        int64_t per_try = per_try_us(x->ws->snap->cfg, x->route);
        x->try_due_us = per_try ? x->sent_us + per_try : 0;
        arm_deadline(c, now_of(c) + call_timeout_us(x, x->ws->snap->cfg));
        return true;
    }
    /* More body needed: read the client while its buffer has room. Until then the
     * upstream is the one holding things up, and so it is while a client that asked for
     * "100 Continue" has not had it and has sent nothing (RFC 9110 §10.1.1). */
    if (x->req_ready == 0 && x->req_body != TG_HTTP_BODY_NONE &&
        tg_buf_len(&x->uhead) == x->uhead_off) {
        if (!x->expect_continue || x->body_read)
            client_wait_begin(c);
        int r = tg__client_read(c);
        if (r < 0) {
            x->cause = TG_CAUSE_CLIENT_ABORT;
            tg__client_close(c);
            return false;
        }
        if (r > 0) {
            progress = true;
            x->body_read += (uint64_t)r;
            client_wait_end(c);
        }
    } else {
        client_wait_end(c);
    }
    request_deadline(c);
    return progress;
}

/* Parses the response head in u->in and writes the client's version into c->out.
 * Returns true on progress. */
static bool response_head(struct cconn *c, struct uconn *u)
{
    struct exchange *x = &c->x;
    struct tg_http_msg *m = &c->w->scratch;
    struct tg_http_limits lim = {u->in.cap, 0};
    int r = tg_http1_parse_response(u->in.data + u->in.head, tg_buf_len(&u->in), &lim, x->method,
                                    m, NULL);
    if (r == TG_AGAIN) {
        if (tg_buf_len(&u->in) >= u->in.cap)
            tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_BAD);
        return false;
    }
    if (r < 0) {
        tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_BAD);
        return true;
    }
    if (!tg_buf_reserve(&c->out, &c->w->bufs)) {
        tg__client_error(c, 503, "out of memory");
        return true;
    }
    if (m->status < 200 && m->status != 101) {
        /* Interim response (100 Continue, 103 Early Hints): passed on with its fields
         * (103's Link is the point of it) to HTTP/1.1 clients, dropped for HTTP/1.0
         * ones (RFC 9110 §15.2). If it does not fit beside what is still unsent, wait
         * for the client to take that first. */
        if (m->status == 100)
            x->expect_continue = false; /* from here on the body is the client's to send */
        if (x->minor >= 1) {
            uint32_t mark = c->out.tail;
            if (tg__headers_response(&c->out, m, true, false, false, x->reqid, x->reqid_len)) {
                c->out.tail = mark;
                if (tg_buf_len(&c->out) == 0) {
                    tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_BAD);
                    return true;
                }
                return false;
            }
        }
        tg_buf_consume(&u->in, (uint32_t)r);
        return true;
    }
    if (m->status == 101 && !x->upgrade) {
        tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_BAD);
        return true;
    }
    x->try_due_us = 0; /* the try has its answer */
    if (m->status == 404 && app_unsupported(c))
        return true;
    if (status_retry(c, m->status))
        return true;
    x->status = m->status;
    x->resp_body = m->body;
    x->resp_left = m->body == TG_HTTP_BODY_LENGTH ? m->content_length : 0;
    x->upstream_keepalive = (m->flags & TG_HTTP_F_KEEPALIVE) != 0;
    x->dechunk = x->minor == 0 && m->body == TG_HTTP_BODY_CHUNKED;
    bool close_delimited = m->body == TG_HTTP_BODY_EOF || x->dechunk;
    if (close_delimited || c->w->draining)
        c->close_after = true;
    bool keep = x->client_keepalive && !c->close_after;
    if (tg__headers_response(&c->out, m, keep, x->minor == 0, x->dechunk, x->reqid,
                             x->reqid_len) != 0) {
        tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_BAD);
        return true;
    }
    tg_buf_consume(&u->in, (uint32_t)r);
    x->resp_head_done = true;
    x->head_us = now_of(c);
    response_result(c, m->status);
    /* A 5xx is the upstream failing: with fallback on, a stored answer replaces it (the
     * head just written to c->out has not been sent). */
    if (m->status >= 500 && tg__cache_fallback(c, TG_CAUSE_UPSTREAM_BAD))
        return true;
    tg__cache_offer(c, m);
    if (m->status == 101) {
        tg__forward_record(c); /* the exchange ends here; the tunnel is not a request */
        c->state = C_TUNNEL;
    }
    return true;
}

/* Clears response body bytes in u->in for the client. Returns false on a framing error. */
static bool response_ready(struct cconn *c, struct uconn *u)
{
    struct exchange *x = &c->x;
    uint32_t avail = tg_buf_len(&u->in);
    switch (x->resp_body) {
    case TG_HTTP_BODY_LENGTH:
        x->resp_ready = x->resp_left < avail ? (uint32_t)x->resp_left : avail;
        return true;
    case TG_HTTP_BODY_EOF:
        x->resp_ready = avail;
        return true;
    case TG_HTTP_BODY_CHUNKED:
        break;
    default:
        x->resp_ready = 0;
        return true;
    }
    if (x->resp_chunk_done || avail <= x->resp_ready)
        return true;
    char *p = u->in.data + u->in.head + x->resp_ready;
    size_t in_len = avail - x->resp_ready;
    bool done = false;
    long r;
    if (x->dechunk) {
        size_t out_len = 0;
        r = tg_http1_chunked_decode(&x->resp_chunk, p, in_len, p, &out_len, &done);
        if (r >= 0) {
            /* Payload now sits at p[0..out_len); close the gap left by the framing. */
            memmove(p + out_len, p + r, in_len - (size_t)r);
            u->in.tail -= (uint32_t)((size_t)r - out_len);
            x->resp_ready += (uint32_t)out_len;
        }
    } else {
        r = tg_http1_chunked_scan(&x->resp_chunk, p, in_len, &done);
        if (r >= 0)
            x->resp_ready += (uint32_t)r;
    }
    if (r < 0)
        return false;
    x->resp_chunk_done = done;
    return true;
}

static bool response_complete(const struct cconn *c, const struct uconn *u)
{
    const struct exchange *x = &c->x;
    if (!x->resp_head_done || tg_buf_len(&c->out) || x->resp_ready)
        return false;
    switch (x->resp_body) {
    case TG_HTTP_BODY_LENGTH:
        return x->resp_left == 0;
    case TG_HTTP_BODY_CHUNKED:
        return x->resp_chunk_done;
    case TG_HTTP_BODY_EOF:
        return x->resp_eof && tg_buf_len(&u->in) == 0;
    default:
        return true;
    }
}

/* Upstream -> client. Returns true on progress. */
static bool pump_response(struct cconn *c, struct uconn *u)
{
    struct exchange *x = &c->x;
    bool progress = false;
    bool body_done = x->resp_head_done &&
                     ((x->resp_body == TG_HTTP_BODY_LENGTH && x->resp_left == x->resp_ready) ||
                      (x->resp_body == TG_HTTP_BODY_CHUNKED && x->resp_chunk_done) ||
                      x->resp_body == TG_HTTP_BODY_NONE);
    bool want_more = !body_done && (!x->resp_head_done || x->resp_ready == 0);
    if (want_more && !x->resp_eof && u->state == U_ACTIVE) {
        int r = tg__upstream_read(u);
        if (r > 0) {
            progress = true;
            if (x->resp_head_done)
                arm_deadline(c, now_of(c) + call_timeout_us(x, x->ws->snap->cfg));
        } else if (r < 0) {
            if (x->resp_head_done && x->resp_body == TG_HTTP_BODY_EOF) {
                x->resp_eof = true;
            } else if (!x->resp_head_done) {
                tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_RESET);
                return true;
            } else {
                /* Truncated body: forward what we have, then cut the client off. */
                x->resp_eof = true;
                x->cause = TG_CAUSE_UPSTREAM_RESET;
                c->close_after = true;
                if (tg_buf_len(&u->in) == 0 && tg_buf_len(&c->out) == 0) {
                    tg__client_close(c);
                    return false;
                }
            }
            progress = true;
        }
    }
    while (!x->resp_head_done && tg_buf_len(&u->in) && c->state == C_EXCHANGE) {
        if (!response_head(c, u))
            break; /* an incomplete head, or interim responses waiting to be written */
        if (c->u != u)
            return true;
        progress = true;
    }
    if (c->u != u || c->closing)
        return true;
    if (x->resp_head_done && !response_ready(c, u)) {
        /* Broken body framing. While nothing of the response has reached the client, the
         * head waiting in c->out is dropped and the client gets an honest 502; after
         * that, closing is the only signal left (the client sees a truncated body). */
        if (!x->resp_started) {
            x->resp_head_done = false;
            x->status = 0;
            tg__forward_upstream_failed(c, TG_CAUSE_UPSTREAM_BAD);
            return true;
        }
        x->cause = TG_CAUSE_UPSTREAM_BAD;
        c->close_after = true;
        tg__client_close(c);
        return false;
    }
    uint32_t out_len = tg_buf_len(&c->out);
    if (c->writable && (out_len || x->resp_ready)) {
        struct iovec iov[2];
        int n = 0;
        if (out_len)
            iov[n++] = (struct iovec){c->out.data + c->out.head, out_len};
        if (x->resp_ready)
            iov[n++] = (struct iovec){u->in.data + u->in.head, x->resp_ready};
        long w = tg__client_writev(c, iov, n);
        if (w == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                x->cause = TG_CAUSE_CLIENT_ABORT;
                tg__client_close(c);
                return false;
            }
        } else {
            uint32_t sent = (uint32_t)w;
            uint32_t h = sent < out_len ? sent : out_len;
            tg_buf_consume(&c->out, h);
            sent -= h;
            if (x->resp_head_done)
                x->resp_started = true;
            x->bytes_out += (uint64_t)w;
            if (sent) {
                tg__cache_fill(c, u->in.data + u->in.head, sent);
                tg_buf_consume(&u->in, sent);
                x->resp_ready -= sent;
                if (x->resp_body == TG_HTTP_BODY_LENGTH)
                    x->resp_left -= sent;
            }
            progress = true;
        }
    }
    if (c->state == C_EXCHANGE && response_complete(c, u)) {
        x->resp_done = true;
        if (x->resp_eof || tg_buf_len(&u->in))
            x->upstream_keepalive = false; /* EOF-delimited, or stray bytes after it */
        if (!x->req_done)
            c->close_after = true; /* answered before the body finished: cannot reuse */
        tg__cache_response_done(c);
        tg__client_exchange_done(c);
        return true;
    }
    return progress;
}

bool tg__forward_step(struct cconn *c)
{
    struct exchange *x = &c->x;
    struct uconn *u = c->u;
    if (x->retry_at_us) {
        /* Waiting out a backoff. A client that leaves (its FIN, as nginx reads it) ends
         * the exchange: the retry is not made, and tg__forward_record gives its budget
         * place back. */
        if (c->rdhup || c->hup) {
            x->cause = TG_CAUSE_CLIENT_ABORT;
            tg__client_close(c);
        }
        return false;
    }
    if (!u) {
        /* A local response (error page, or a cache entry after its head) is being
         * written; then the cycle goes on. */
        bool progress = false;
        uint32_t out_len = tg_buf_len(&c->out);
        size_t body_left = x->served_len - x->served_off;
        if ((out_len || body_left) && c->writable) {
            struct iovec iov[2];
            int n = 0;
            if (out_len)
                iov[n++] = (struct iovec){c->out.data + c->out.head, out_len};
            if (body_left)
                iov[n++] = (struct iovec){(void *)(x->served_body + x->served_off), body_left};
            long w = tg__client_writev(c, iov, n);
            if (w > 0) {
                uint32_t h = (uint64_t)w < out_len ? (uint32_t)w : out_len;
                tg_buf_consume(&c->out, h);
                x->served_off += (size_t)w - h;
                progress = true;
                if (x->served) {
                    x->bytes_out += (uint64_t)w;
                    arm_deadline(c, now_of(c) + c->w->cur->snap->cfg->idle_timeout_us);
                }
            } else if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                if (x->served)
                    x->cause = TG_CAUSE_CLIENT_ABORT;
                tg__client_close(c);
                return false;
            }
        }
        if (tg_buf_len(&c->out) == 0 && x->served_off == x->served_len && x->resp_done) {
            tg__client_exchange_done(c);
            return true;
        }
        return progress;
    }
    bool progress = false;
    if (!x->req_done)
        progress |= pump_request(c, u);
    if (c->closing || c->u != u || c->state != C_EXCHANGE)
        return !c->closing;
    progress |= pump_response(c, u);
    return progress && !c->closing;
}

/* After 101 Switching Protocols: copy bytes both ways until either side closes. */
bool tg__tunnel_step(struct cconn *c)
{
    struct uconn *u = c->u;
    if (!u) {
        tg__client_close(c);
        return false;
    }
    bool progress = false;
    /* upstream -> client (the 101 head may still be in c->out) */
    uint32_t out_len = tg_buf_len(&c->out), in_len = tg_buf_len(&u->in);
    if (c->writable && (out_len || in_len)) {
        struct iovec iov[2];
        int n = 0;
        if (out_len)
            iov[n++] = (struct iovec){c->out.data + c->out.head, out_len};
        if (in_len)
            iov[n++] = (struct iovec){u->in.data + u->in.head, in_len};
        long w = tg__client_writev(c, iov, n);
        if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            tg__client_close(c);
            return false;
        }
        if (w > 0) {
            uint32_t sent = (uint32_t)w, h = sent < out_len ? sent : out_len;
            tg_buf_consume(&c->out, h);
            tg_buf_consume(&u->in, sent - h);
            progress = true;
        }
    }
    /* client -> upstream */
    if (u->writable && tg_buf_len(&c->in)) {
        ssize_t w = send(u->fd, c->in.data + c->in.head, tg_buf_len(&c->in), MSG_NOSIGNAL);
        if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            tg__client_close(c);
            return false;
        }
        if (w == -1 && errno != EINTR)
            u->writable = false;
        if (w > 0) {
            tg_buf_consume(&c->in, (uint32_t)w);
            progress = true;
        }
    }
    if (tg_buf_len(&u->in) == 0 && u->readable) {
        int r = tg__upstream_read(u);
        if (r < 0 && tg_buf_len(&c->out) == 0) {
            tg__client_close(c);
            return false;
        }
        progress |= r > 0;
    }
    if (tg_buf_len(&c->in) == 0 && c->readable) {
        int r = tg__client_read(c);
        if (r < 0) {
            tg__client_close(c);
            return false;
        }
        progress |= r > 0;
    }
    if (progress)
        arm_deadline(c, now_of(c) + c->w->cur->snap->cfg->idle_timeout_us);
    return progress;
}
