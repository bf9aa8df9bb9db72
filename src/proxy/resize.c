/* SPDX-License-Identifier: MIT */
/* The set of worker threads and their listeners, and changing it while the gateway runs
 * (tg_gateway_resize, called by tg_gateway_reload when `workers` changes). Everything here
 * runs on the control thread, except tg__resize_handoff and tg__resize_notify. The
 * notify descriptor also carries the concurrency queues' nudges (queue.c).
 *
 * Listeners. Each worker accepts on its own SO_REUSEPORT socket and the kernel spreads
 * new connections over the sockets of the port's group. Closing one of them resets the
 * connections still in its accept queue (Linux moves them to another socket only with
 * net.ipv4.tcp_migrate_req, off by default), and a handshake under way towards it fails
 * too, so a resize never closes a listener: a removed worker's socket stays open as a
 * spare, and the next worker started takes it back. The group keeps its sockets in the
 * order they began to listen and only appends while none closes, so lsn[i] is socket i
 * of the group; worker i always owns lsn[i] (a resize removes the highest ids and starts
 * the lowest free ones), so the spares are the tail, and steer.c's program keeps new
 * connections on sockets 0..nworkers-1 while there are any. A connection that reaches a
 * spare all the same (its SYN came before the program changed; another process joined
 * the group) is accepted here and handed to a worker: the program makes the spares quiet,
 * this watch makes them safe.
 *
 * Retiring. A removed worker stops accepting, hands each keep-alive connection over as
 * soon as it is idle (between requests, nothing buffered), lets its requests in flight
 * finish (for up to timeouts.drain, then closes what is left) and exits with its last
 * connection (worker.c, client.c). Hand-offs pass through this thread, which alone knows
 * which workers stay: the worker pushes the connection on gw->handoffs and writes to
 * gw->notify_fd, and this thread puts it in a serving worker's inbox.
 *
 * Reaping. A worker that has exited is joined here when it says so (notify_fd); the next
 * metrics tick collects its shard one last time and then frees it (tg__resize_reap), so
 * every request it served is in the totals. Its per-worker figures leave the monitoring
 * API and /metrics as soon as it stops serving; its since-start counters are carried in
 * the gateway's `retired_*` sums. */
#include "proxy/gateway.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/proxy_int.h"
#include "proxy/steer_int.h"

uint32_t tg__resize_wanted(const struct tg_config *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t n = cfg->workers ? cfg->workers : (uint32_t)(cores > 0 ? cores : 1);
    return n < TG_CFG_MAX_WORKERS ? n : TG_CFG_MAX_WORKERS;
}

static int bind_listener(struct tg_addr *a, struct tg_errbuf *eb)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return tg_errbuf_set(eb, -errno, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a->ss, a->len) == -1 || listen(fd, 4096) == -1) {
        int err = errno;
        close(fd);
        return tg_errbuf_set(eb, -err, "cannot listen on %s: %s", a->text, strerror(err));
    }
    /* Port 0: learn the port so the other workers' sockets join the same group. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        memcpy(&a->ss, &ss, sl);
    return fd;
}

/* Gives `h` to a serving worker, round robin; with none (a drain), closes it. */
static void route(struct tg_gateway *gw, struct tg_handoff *h)
{
    if (gw->draining || gw->nworkers == 0) {
        close(h->fd);
        atomic_fetch_sub_explicit(&gw->total_conns, 1, memory_order_relaxed);
        free(h);
        return;
    }
    struct tg_worker *w = gw->workers[gw->next_target++ % gw->nworkers];
    tg__handoff_push(&w->inbox, h);
    tg_loop_wake(w->loop);
}

static void route_all(struct tg_gateway *gw, struct tg_handoff *h)
{
    for (struct tg_handoff *next; h; h = next) {
        next = h->next;
        route(gw, h);
    }
}

static void unwatch_spare(struct tg_gateway *gw, struct tg_listener *l)
{
    if (gw->ctl_loop)
        tg_io_stop(gw->ctl_loop, &l->io);
}

/* A connection reached a spare listener: accept it and give it to a worker. Errors
 * other than an empty queue (out of descriptors, or the listener shut down by a drain)
 * end the watch; the next resize starts it again. */
static void on_spare(struct tg_io *io, unsigned events)
{
    struct tg_listener *l = io->data;
    struct tg_gateway *gw = l->gw;
    (void)events;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                tg_log(TG_LOG_WARN, "proxy", "spare-accept-failed err=%s", strerror(errno));
                unwatch_spare(gw, l);
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct tg_handoff *h = malloc(sizeof *h);
        if (!h) {
            close(fd);
            continue;
        }
        *h = (struct tg_handoff){.fd = fd};
        atomic_fetch_add_explicit(&gw->total_conns, 1, memory_order_relaxed);
        TG_LOG_DEBUG("proxy", "spare-accepted fd=%d", fd);
        route(gw, h);
    }
}

static void watch_spare(struct tg_gateway *gw, struct tg_listener *l)
{
    if (!gw->ctl_loop || gw->draining || l->io.active)
        return;
    int rc = tg_io_start_listener(gw->ctl_loop, &l->io, l->fd, on_spare, l);
    if (rc)
        tg_log(TG_LOG_WARN, "proxy", "spare-watch-failed err=%s", strerror(-rc));
}

/* Sends new connections to the serving workers' listeners only. A failure costs
 * efficiency, not connections: the spares then get their share and on_spare passes it on. */
static void steer(struct tg_gateway *gw)
{
    if (gw->nlsn == 0 || gw->draining)
        return;
    int rc = tg__steer_apply(gw->lsn[0].fd, gw->listen.ss.ss_family, gw->nworkers, gw->nlsn);
    if (rc)
        tg_log(TG_LOG_WARN, "proxy", "listener-steering-failed err=%s serving=%u listeners=%u",
               strerror(-rc), gw->nworkers, gw->nlsn);
}

/* Starts worker `gw->nworkers` on the first spare listener, or on a new one. */
static int grow_one(struct tg_gateway *gw, struct tg_errbuf *eb)
{
    uint32_t id = gw->nworkers;
    if (id == gw->nlsn) {
        int fd = bind_listener(&gw->listen, eb);
        if (fd < 0)
            return fd;
        gw->lsn[gw->nlsn++] = (struct tg_listener){.gw = gw, .fd = fd};
    }
    struct tg_listener *l = &gw->lsn[id];
    struct tg_worker *w = calloc(1, sizeof *w);
    int rc = w ? tg__worker_init(w, gw, id, l->fd) : -ENOMEM;
    if (rc == 0)
        rc = tg__worker_start(w);
    if (rc) {
        if (w)
            tg__worker_deinit(w);
        free(w);
        watch_spare(gw, l); /* a new socket may have connections queued already */
        return tg_errbuf_set(eb, rc, "worker %u: %s", id, tg_strerror(rc));
    }
    /* The worker watches it now; both may accept for a moment, which is harmless. */
    unwatch_spare(gw, l);
    gw->workers[gw->nworkers++] = w;
    return 0;
}

int tg__resize_grow(struct tg_gateway *gw, uint32_t n, struct tg_errbuf *eb)
{
    if (!gw->lsn && !(gw->lsn = calloc(TG_CFG_MAX_WORKERS, sizeof *gw->lsn)))
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    int rc = 0;
    while (rc == 0 && gw->nworkers < n)
        rc = grow_one(gw, eb);
    return rc;
}

/* Takes the highest worker out of service; it finishes on its own (worker.c). */
static void retire_one(struct tg_gateway *gw)
{
    struct tg_worker *w = gw->workers[--gw->nworkers];
    gw->workers[gw->nworkers] = NULL;
    gw->retiring[gw->nretiring++] = w;
    w->retired_us = tg_clock_mono_us();
    watch_spare(gw, &gw->lsn[w->id]);
    atomic_store(&w->retire_req, true);
    tg_loop_wake(w->loop);
}

int tg_gateway_resize(struct tg_gateway *gw, uint32_t n, struct tg_errbuf *eb)
{
    if (!gw->started || gw->draining || !gw->ctl_loop)
        return tg_errbuf_set(eb, -EINVAL, "workers: the gateway is not serving");
    if (n < 1 || n > TG_CFG_MAX_WORKERS)
        return tg_errbuf_set(eb, -EINVAL, "workers: %u is out of range (1 to %u)", n,
                             TG_CFG_MAX_WORKERS);
    uint32_t from = gw->nworkers;
    if (n < from && gw->nretiring + (from - n) > TG_CFG_MAX_WORKERS)
        return tg_errbuf_set(eb, -EBUSY,
                             "workers: %u removed workers are still finishing their requests",
                             gw->nretiring);
    int64_t start = tg_clock_mono_us();
    int rc = tg__resize_grow(gw, n, eb);
    while (gw->nworkers > n)
        retire_one(gw);
    steer(gw);
    uint32_t running, retiring;
    tg_gateway_worker_counts(gw, &running, &retiring);
    tg_log(rc ? TG_LOG_ERROR : TG_LOG_INFO, "proxy",
           "workers-resized from=%u to=%u wanted=%u retiring=%u took_us=%lld%s%s%s", from, running,
           n, retiring, (long long)(tg_clock_mono_us() - start), rc ? " error=\"" : "",
           rc ? eb->msg : "", rc ? "\"" : "");
    return rc;
}

void tg_gateway_worker_counts(struct tg_gateway *gw, uint32_t *running, uint32_t *retiring)
{
    uint32_t r = 0;
    for (uint32_t i = 0; i < gw->nretiring; i++)
        r += !gw->retiring[i]->joined;
    *running = gw->nworkers;
    *retiring = r;
}

void tg_gateway_retired_counters(struct tg_gateway *gw, uint64_t *accept_errors,
                                 uint64_t *conns_refused)
{
    uint64_t a = gw->retired_accept_errors, r = gw->retired_refused;
    for (uint32_t i = 0; i < gw->nretiring; i++) {
        a += atomic_load_explicit(&gw->retiring[i]->accept_errors, memory_order_relaxed);
        r += atomic_load_explicit(&gw->retiring[i]->conns_refused, memory_order_relaxed);
    }
    *accept_errors = a;
    *conns_refused = r;
}

/* Joins the retired workers that have exited. Anything left in an inbox goes on. */
static void join_exited(struct tg_gateway *gw)
{
    for (uint32_t i = 0; i < gw->nretiring; i++) {
        struct tg_worker *w = gw->retiring[i];
        if (w->joined || !atomic_load_explicit(&w->exited, memory_order_acquire))
            continue;
        pthread_join(w->thread, NULL);
        w->thread_started = false;
        w->joined = true;
        route_all(gw, tg__handoff_take(&w->inbox));
        tg_log(TG_LOG_INFO, "proxy", "worker-retired worker=%u after_us=%lld", w->id,
               (long long)(tg_clock_mono_us() - w->retired_us));
    }
}

static void on_notify(struct tg_io *io, unsigned events)
{
    struct tg_gateway *gw = io->data;
    (void)events;
    /* Reading resets the counter, so a write after it raises a new edge. */
    uint64_t v;
    ssize_t r = read(gw->notify_fd, &v, sizeof v);
    (void)r;
    route_all(gw, tg__handoff_take(&gw->handoffs));
    join_exited(gw);
    tg__queue_nudge_all(gw);
}

void tg__resize_handoff(struct tg_gateway *gw, struct tg_handoff *h)
{
    tg__handoff_push(&gw->handoffs, h);
    tg__resize_notify(gw);
}

void tg__resize_notify(struct tg_gateway *gw)
{
    uint64_t one = 1;
    ssize_t r = write(gw->notify_fd, &one, sizeof one);
    (void)r; /* only fails when the counter is near 2^64: a wake-up is pending anyway */
}

void tg__resize_attach(struct tg_gateway *gw, struct tg_loop *loop)
{
    if (gw->ctl_loop)
        return;
    gw->ctl_loop = loop;
    if (tg_io_start(loop, &gw->notify_io, gw->notify_fd, on_notify, gw) != 0)
        tg_log(TG_LOG_ERROR, "proxy", "resize-disabled err=ENOMEM");
    for (uint32_t i = gw->nworkers; i < gw->nlsn; i++)
        watch_spare(gw, &gw->lsn[i]);
}

void tg__resize_reap(struct tg_gateway *gw)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < gw->nretiring; i++) {
        struct tg_worker *w = gw->retiring[i];
        if (!w->joined) {
            gw->retiring[kept++] = w;
            continue;
        }
        gw->retired_accept_errors += atomic_load(&w->accept_errors);
        gw->retired_refused += atomic_load(&w->conns_refused);
        gw->retired_dropped += tg_mshard_dropped(w->shard);
        tg__aging_worker_gone(gw->aging, w);
        tg__quiesce_worker_gone(gw->breaker_grace, w);
        tg__worker_deinit(w);
        free(w);
    }
    for (uint32_t i = kept; i < gw->nretiring; i++)
        gw->retiring[i] = NULL;
    gw->nretiring = kept;
}

/* SIGTERM: the listeners stop listening (shutdown, not close: a worker may be in accept()
 * on one this very moment; it gets EINVAL and stops watching). What is queued is reset, as
 * when a process closes its sockets; nothing new is accepted. */
void tg__resize_drain(struct tg_gateway *gw)
{
    gw->draining = true;
    for (uint32_t i = 0; i < gw->nlsn; i++) {
        unwatch_spare(gw, &gw->lsn[i]);
        shutdown(gw->lsn[i].fd, SHUT_RD);
    }
    route_all(gw, tg__handoff_take(&gw->handoffs));
}

void tg__resize_stop(struct tg_gateway *gw)
{
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++) {
        struct tg_worker *w = tg__gateway_live(gw, i);
        tg__worker_deinit(w);
        free(w);
    }
    memset(gw->workers, 0, sizeof gw->workers);
    memset(gw->retiring, 0, sizeof gw->retiring);
    gw->nworkers = gw->nretiring = 0;
    struct tg_handoff *h = tg__handoff_take(&gw->handoffs), *next;
    for (; h; h = next) {
        next = h->next;
        close(h->fd);
        free(h);
    }
    for (uint32_t i = 0; i < gw->nlsn; i++) {
        unwatch_spare(gw, &gw->lsn[i]);
        close(gw->lsn[i].fd);
    }
    free(gw->lsn);
    gw->lsn = NULL;
    gw->nlsn = 0;
}
