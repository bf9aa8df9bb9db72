/* SPDX-License-Identifier: MIT */
/* Worker threads: one event loop each, their own SO_REUSEPORT listener, client
 * connections and per-snapshot views (upstream pools, balancer state). The control
 * thread talks to a worker only through atomics plus tg_loop_wake(): a new snapshot,
 * a drain request, a stop request. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
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

static void close_listener(struct tg_worker *w)
{
    tg_timer_stop(w->loop, &w->accept_timer);
    if (w->lfd == -1)
        return;
    tg_io_stop(w->loop, &w->lio);
    close(w->lfd);
    w->lfd = -1;
}

static void start_drain(struct tg_worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    close_listener(w);
    struct cconn *c = w->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->state == C_READ_HEAD && tg_buf_len(&c->in) == 0)
            tg__client_close(c);
        else
            c->close_after = true;
    }
}

static void on_wake(struct tg_loop *loop, void *data)
{
    struct tg_worker *w = data;
    switch_snapshot(w);
    if (atomic_load(&w->drain_req))
        start_drain(w);
    if (atomic_load(&w->stop_req)) {
        close_listener(w);
        struct cconn *c = w->conns, *next;
        for (; c; c = next) {
            next = c->next;
            tg__client_close(c);
        }
        tg_loop_stop(loop);
    }
}

void tg__worker_conn_gone(struct tg_worker *w)
{
    atomic_fetch_sub_explicit(&w->nconns, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->gw->total_conns, 1, memory_order_relaxed);
}

static void on_accept(struct tg_io *io, unsigned events);

static void accept_resume(struct tg_timer *t)
{
    struct tg_worker *w = t->data;
    if (w->lfd == -1 || w->draining)
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
            if (errno != EAGAIN && errno != EWOULDBLOCK)
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
        tg__client_accept(w, fd, &ss);
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
    return NULL;
}

int tg__worker_init(struct tg_worker *w, struct tg_gateway *gw, uint32_t id, int lfd)
{
    memset(w, 0, sizeof *w);
    w->gw = gw;
    w->id = id;
    w->lfd = lfd;
    w->shard = gw->shards[id];
    w->rng = (uint64_t)tg_clock_wall_us() ^ ((uint64_t)id << 48) ^ (uint64_t)(uintptr_t)w;
    tg_bufpool_init(&w->bufs, gw->buf_block, 1024);
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
        close_listener(w);
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
    } else if (w->lfd != -1) {
        close(w->lfd);
    }
    tg__access_log_flush(w);
    free(w->alog);
    w->alog = NULL;
    tg_tracering_free(w->traces);
    w->traces = NULL;
    tg_active_free(w->inflight);
    w->inflight = NULL;
    tg_bufpool_deinit(&w->bufs);
}
