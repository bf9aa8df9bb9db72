/* SPDX-License-Identifier: MIT */
/* Worker threads: one event loop each, their own SO_REUSEPORT listener, client
 * connections and per-snapshot views (upstream pools, balancer state). The control
 * thread talks to a worker only through atomics plus tg_loop_wake(): a new snapshot,
 * a drain request, a stop request, a retire request (a resize removed the worker: see
 * resize.c), and the inbox of connections handed over from retiring workers. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"

#define ACCEPT_PAUSE_US 100000 /* how long accepting stops after running out of fds */

/* splitmix64: cheap, good enough for load balancing choices and request ids. */
uint64_t tg__worker_rand(struct tg_worker *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static struct wk_snap *view_new(struct tg_snapshot *s)
{
    struct wk_snap *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->servers = calloc(s->nservers_total ? s->nservers_total : 1, sizeof *ws->servers);
    if (!ws->servers) {
        free(ws);
        return NULL;
    }
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++)
        for (uint32_t i = 0; i < s->cfg->upstreams[u].nservers; i++)
        {
            ws->servers[s->ups[u].first_server + i].rt = &s->ups[u].servers[i];
            ws->servers[s->ups[u].first_server + i].ucfg = s->ups[u].cfg;
        }
    tg__snapshot_ref(s);
    ws->snap = s;
    return ws;
}

static void view_free(struct tg_worker *w, struct wk_snap *ws)
{
    tg__worker_pool_drop(w, ws);
    tg__snapshot_unref(ws->snap);
    free(ws->servers);
    free(ws);
}

struct wk_snap *tg__worker_view_get(struct tg_worker *w)
{
    w->cur->users++;
    return w->cur;
}

void tg__worker_view_put(struct tg_worker *w, struct wk_snap *ws)
{
    ws->users--;
    if (ws == w->cur || ws->users)
        return;
    for (struct wk_snap **pp = &w->retired; *pp; pp = &(*pp)->next) {
        if (*pp == ws) {
            *pp = ws->next;
            view_free(w, ws);
            return;
        }
    }
}

/* Moves to the gateway's current snapshot if it changed. Allocation failure keeps the
 * old view (and retries at the next wake): stale config beats a dead worker. */
static void switch_snapshot(struct tg_worker *w)
{
    struct tg_snapshot *s = atomic_load_explicit(&w->gw->snap, memory_order_acquire);
    if (w->cur && w->cur->snap == s)
        return;
    struct wk_snap *ws = view_new(s);
    if (!ws) {
        tg_log(TG_LOG_ERROR, "proxy", "snapshot-switch-failed worker=%u err=ENOMEM", w->id);
        return;
    }
    struct wk_snap *old = w->cur;
    w->cur = ws;
    tg__queue_switch(w);
    if (!old)
        return;
    /* Idle pooled connections belong to the old view; new requests never use them. */
    tg__worker_pool_drop(w, old);
    if (old->users) {
        old->next = w->retired;
        w->retired = old;
    } else {
        view_free(w, old);
    }
}

/* Stops accepting. The socket stays open: it is the gateway's, and closing it would
 * reset the connections in its accept queue (resize.c keeps it as a spare). */
static void stop_listening(struct tg_worker *w)
{
    tg_timer_stop(w->loop, &w->accept_timer);
    tg_io_stop(w->loop, &w->lio);
    w->lfd = -1;
}

static bool idle(const struct cconn *c)
{
    return c->state == C_READ_HEAD && !c->closing && tg_buf_len(&c->in) == 0;
}

static void close_all(struct tg_worker *w)
{
    /* Requests waiting for a slot get an answer, not a silent close. */
    tg__queue_refuse_all(w);
    struct cconn *c = w->conns, *next;
    for (; c; c = next) {
        next = c->next;
        tg__client_close(c);
    }
}

static void start_drain(struct tg_worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    stop_listening(w);
    struct cconn *c = w->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (idle(c))
            tg__client_close(c);
        else
            c->close_after = true;
    }
}

/* A connection left: a retiring worker exits with its last one. */
static void conn_left(struct tg_worker *w)
{
    atomic_fetch_sub_explicit(&w->nconns, 1, memory_order_relaxed);
    if (w->retiring && !w->conns)
        tg_loop_stop(w->loop);
}

void tg__worker_conn_gone(struct tg_worker *w)
{
    atomic_fetch_sub_explicit(&w->gw->total_conns, 1, memory_order_relaxed);
    conn_left(w);
}

void tg__worker_conn_moved(struct tg_worker *w)
{
    conn_left(w);
}

/* timeouts.drain after the retire request: requests that long (a tunnel, a stalled
 * upload) are cut, as a drain cuts them. */
static void retire_timeout(struct tg_timer *t)
{
    close_all(t->data);
}

/* A resize removed this worker. Its listener is already steered around and watched by
 * the control thread (resize.c), so it stops accepting at once; idle connections are
 * handed over now, busy ones when their exchange ends (client.c), and the loop stops
 * with the last one. */
static void retire(struct tg_worker *w)
{
    if (w->retiring)
        return;
    w->retiring = true;
    stop_listening(w);
    int64_t now = tg_loop_now_us(w->loop);
    tg_timer_start(w->loop, &w->retire_timer, now + w->cur->snap->cfg->drain_timeout_us,
                   retire_timeout, w);
    struct cconn *c = w->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (idle(c) && !w->draining)
            tg__client_handoff(c);
    }
    if (!w->conns)
        tg_loop_stop(w->loop);
}

/* A connection handed over: served here like a new one, unless this worker stops too. */
static void adopt(struct tg_worker *w, struct tg_handoff *h)
{
    int fd = h->fd;
    uint32_t requests = h->requests;
    if (w->retiring && !w->draining) {
        tg__resize_handoff(w->gw, h); /* pass it on */
        return;
    }
    free(h);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (w->draining || getpeername(fd, (struct sockaddr *)&ss, &sl) == -1) {
        /* Going down, or the client reset it on the way. */
        close(fd);
        atomic_fetch_sub_explicit(&w->gw->total_conns, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed);
    tg__client_accept(w, fd, &ss, requests);
}

static void on_wake(struct tg_loop *loop, void *data)
{
    struct tg_worker *w = data;
    switch_snapshot(w);
    if (atomic_load(&w->drain_req))
        start_drain(w);
    /* The retire request before the inbox: what the control thread handed over before
     * it asked is in the inbox by now, and nothing is handed over after. */
    if (atomic_load(&w->retire_req))
        retire(w);
    struct tg_handoff *h = tg__handoff_take(&w->inbox), *next;
    for (; h; h = next) {
        next = h->next;
        adopt(w, h);
    }
    tg__queue_poll(w); /* a nudge: another worker gave back a slot */
    if (atomic_load(&w->stop_req)) {
        stop_listening(w);
        close_all(w);
        tg_loop_stop(loop);
    }
}

static void on_accept(struct tg_io *io, unsigned events);

static void accept_resume(struct tg_timer *t)
{
    struct tg_worker *w = t->data;
    if (w->lfd == -1 || w->draining || w->retiring)
        return;
    if (tg_io_start_listener(w->loop, &w->lio, w->lfd, on_accept, w) != 0)
        tg_timer_start(w->loop, t, tg_loop_now_us(w->loop) + ACCEPT_PAUSE_US, accept_resume, w);
}

/* accept() failed for a reason other than an empty queue. Out of file descriptors (or
 * kernel memory) the connection stays queued and the level-triggered listener would wake
 * us at once, forever: stop listening for a moment instead (nginx's accept_mutex_delay
 * idea), so the connections we have can finish and free descriptors. Counted, and
 * logged at most once a second. */
static void accept_failed(struct tg_worker *w, int err)
{
    atomic_fetch_add_explicit(&w->accept_errors, 1, memory_order_relaxed);
    int64_t now = tg_loop_now_us(w->loop);
    if (now - w->accept_warned_us >= 1000000) {
        w->accept_warned_us = now;
        tg_log(TG_LOG_WARN, "proxy", "accept-failed worker=%u err=%s pause_ms=%d", w->id,
               strerror(err), ACCEPT_PAUSE_US / 1000);
    }
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        tg_io_stop(w->loop, &w->lio);
        tg_timer_start(w->loop, &w->accept_timer, now + ACCEPT_PAUSE_US, accept_resume, w);
    }
}

static void on_accept(struct tg_io *io, unsigned events)
{
    struct tg_worker *w = io->data;
    (void)events;
    uint32_t max = w->cur->snap->cfg->max_connections;
    /* Bounded batch: the listener is level-triggered, so leftovers wake us again and
     * a connection storm cannot starve the requests already in flight. */
    for (int i = 0; i < 64 && w->lfd != -1; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EINVAL) /* the gateway shut the listener down: a drain */
                stop_listening(w);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                accept_failed(w, errno);
            return;
        }
        if (max && atomic_load_explicit(&w->gw->total_conns, memory_order_relaxed) >= max) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Retry-After: 1\r\nConnection: close\r\n\r\n";
            ssize_t r = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)r;
            close(fd);
            atomic_fetch_add_explicit(&w->conns_refused, 1, memory_order_relaxed);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&w->gw->total_conns, 1, memory_order_relaxed);
        tg__client_accept(w, fd, &ss, 0);
    }
}

/* Publishes the loop's counters for the monitoring API twice a second: the worst turn
 * (how long a ready event may have waited behind others) of the last LAG_TICKS ticks,
 * and the turn count. Readers only read, so the threads view and a /metrics scrape
 * cannot reset each other's figure. */
static void stats_tick(struct tg_timer *t)
{
    struct tg_worker *w = t->data;
    struct tg_loop_stats st;
    tg_loop_stats(w->loop, &st, true);
    w->lag_ring[w->lag_next++ % LAG_TICKS] = st.max_lag_us;
    int64_t worst = 0;
    for (unsigned i = 0; i < LAG_TICKS; i++)
        worst = w->lag_ring[i] > worst ? w->lag_ring[i] : worst;
    atomic_store_explicit(&w->lag_us, worst, memory_order_relaxed);
    /* Also the quiescent point of endpoint aging: the release store and the fence are
     * what aging.c's argument needs. */
    atomic_store_explicit(&w->turns, st.turns, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    tg__access_log_flush(w);
    tg_timer_start(w->loop, t, tg_loop_now_us(w->loop) + 500000, stats_tick, w);
}

static void *worker_main(void *arg)
{
    struct tg_worker *w = arg;
    int rc = tg_loop_run(w->loop);
    if (rc)
        tg_log(TG_LOG_ERROR, "proxy", "loop-failed worker=%u err=%s", w->id, strerror(-rc));
    /* The control thread joins a retired worker once it sees `exited`: the join waits for
     * this function to return, so `w` is still ours until then. */
    bool retiring = w->retiring;
    atomic_store_explicit(&w->exited, true, memory_order_release);
    if (retiring)
        tg__resize_notify(w->gw);
    return NULL;
}

int tg__worker_init(struct tg_worker *w, struct tg_gateway *gw, uint32_t id, int lfd)
{
    memset(w, 0, sizeof *w);
    w->gw = gw;
    w->id = id;
    w->lfd = lfd;
    w->rng = (uint64_t)tg_clock_wall_us() ^ ((uint64_t)id << 48) ^ (uint64_t)(uintptr_t)w;
    tg_bufpool_init(&w->bufs, gw->buf_block, 1024);
    if (tg_mshard_new(tg_magg_nkeys(gw->agg), TG_GATEWAY_MAX_SERVER_KEYS, &w->shard) != 0)
        return -ENOMEM;
    int rc = tg_loop_new(&w->loop, on_wake, w);
    if (rc)
        return rc;
    switch_snapshot(w);
    if (!w->cur)
        return -ENOMEM;
    const struct tg_config *cfg = w->cur->snap->cfg;
    if (tg_active_new(1024, &w->inflight) != 0)
        return -ENOMEM;
    /* The ring exists even with tracing off: the control API may turn it on later. */
    if (tg_tracering_new(cfg->trace_buffer, &w->traces) != 0)
        return -ENOMEM;
    tg_timer_start(w->loop, &w->stats_timer, tg_loop_now_us(w->loop) + 500000, stats_tick, w);
    return tg_io_start_listener(w->loop, &w->lio, lfd, on_accept, w);
}

int tg__worker_start(struct tg_worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc)
        return -rc;
    w->thread_started = true;
    return 0;
}

void tg__worker_deinit(struct tg_worker *w)
{
    if (w->thread_started) {
        atomic_store(&w->stop_req, true);
        tg_loop_wake(w->loop);
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
    if (w->loop) {
        stop_listening(w);
        tg_timer_stop(w->loop, &w->retire_timer);
        tg_timer_stop(w->loop, &w->queue_timer);
        /* Connections closed by the stop request are freed by deferred work. */
        while (w->retired) {
            struct wk_snap *ws = w->retired;
            w->retired = ws->next;
            view_free(w, ws);
        }
        if (w->cur)
            view_free(w, w->cur);
        w->cur = NULL;
        tg_timer_stop(w->loop, &w->stats_timer);
        tg_loop_flush_deferred(w->loop); /* the pooled connections closed just now */
        tg_loop_free(w->loop);
        w->loop = NULL;
    }
    /* Connections handed over that it never took: nobody serves them now. */
    struct tg_handoff *h = tg__handoff_take(&w->inbox), *next;
    for (; h; h = next) {
        next = h->next;
        close(h->fd);
        atomic_fetch_sub_explicit(&w->gw->total_conns, 1, memory_order_relaxed);
        free(h);
    }
    tg_mshard_free(w->shard);
    w->shard = NULL;
    tg__access_log_flush(w);
    free(w->alog);
    w->alog = NULL;
    tg_tracering_free(w->traces);
    w->traces = NULL;
    tg_active_free(w->inflight);
    w->inflight = NULL;
    tg__queue_free(w);
    tg_bufpool_deinit(&w->bufs);
}
