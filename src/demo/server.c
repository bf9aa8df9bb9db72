/* SPDX-License-Identifier: MIT */
/* Demo API workers: one per thread, each with its own loop, SO_REUSEPORT listener,
 * connection list and pools, so workers share nothing on the request path. The worker's
 * loop wake-up is its only inbound channel: it marks a quiescent point for the fault
 * registry and carries the stop request. A periodic sweep closes connections idle (or
 * stalled mid-request) for too long, which bounds what abandoned clients can hold;
 * connections waiting on simulated latency or a hang are exempt by design. */
#include "demo/server_int.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define ACCEPT_BATCH 64            /* accepts per listener event, for fairness */
#define CONN_POOL_MAX 1024         /* connection objects kept for reuse */
#define IDLE_TIMEOUT_US 60000000LL /* idle keep-alive or stalled request */
#define SWEEP_INTERVAL_US 5000000LL
#define ACCEPT_PAUSE_US 100000LL

void tg_demo__conn_recycle(struct tg_demo_conn *c)
{
    struct tg_demo_worker *w = c->w;
    if (w->nfree >= CONN_POOL_MAX) {
        free(c);
        return;
    }
    c->next = w->free_conns;
    w->free_conns = c;
    w->nfree++;
}

static struct tg_demo_conn *conn_get(struct tg_demo_worker *w)
{
    struct tg_demo_conn *c = w->free_conns;
    if (c) {
        w->free_conns = c->next;
        w->nfree--;
        return c;
    }
    return malloc(sizeof *c);
}

static void on_accept(struct tg_io *io, unsigned events);

static void resume_accept(struct tg_timer *t)
{
    struct tg_demo_worker *w = t->data;
    if (tg_io_start_listener(w->loop, &w->lio, w->lfd, on_accept, w) < 0)
        tg_timer_start(w->loop, &w->accept_pause, tg_loop_now_us(w->loop) + ACCEPT_PAUSE_US,
                       resume_accept, w);
}

/* Out of descriptors or memory: the listener stays readable, so keeping it registered
 * would spin the loop. Stop accepting for a moment instead (the backlog holds clients). */
static void pause_accept(struct tg_demo_worker *w, int err)
{
    int64_t now = tg_loop_now_us(w->loop);
    w->accept_errors++;
    if (now - w->accept_warned_us > 10000000) {
        w->accept_warned_us = now;
        tg_log(TG_LOG_WARN, "demo", "accept paused err=\"%s\" errors_total=%" PRIu64,
               tg_strerror(-err), w->accept_errors);
    }
    tg_io_stop(w->loop, &w->lio);
    tg_timer_start(w->loop, &w->accept_pause, now + ACCEPT_PAUSE_US, resume_accept, w);
}

static void on_accept(struct tg_io *io, unsigned events)
{
    (void)events;
    struct tg_demo_worker *w = io->data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                pause_accept(w, errno);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct tg_demo_conn *c = conn_get(w);
        if (!c) {
            close(fd);
            pause_accept(w, ENOMEM);
            return;
        }
        tg_demo__conn_start(c, w, fd);
        if (tg_io_start(w->loop, &c->io, fd, tg_demo__conn_on_io, c) < 0)
            tg_demo__conn_close(c, "register failed");
    }
}

static void on_sweep(struct tg_timer *t)
{
    struct tg_demo_worker *w = t->data;
    int64_t now = tg_loop_now_us(w->loop);
    for (struct tg_demo_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->state != TG_DEMO_CS_WAIT && now - c->last_active_us > IDLE_TIMEOUT_US)
            tg_demo__conn_close(c, "idle timeout");
    }
    tg_timer_start(w->loop, &w->sweep, now + SWEEP_INTERVAL_US, on_sweep, w);
}

static void on_wake(struct tg_loop *loop, void *data)
{
    struct tg_demo_worker *w = data;
    tg_demo_faults_quiescent(w->sh->faults, w->idx);
    if (!atomic_load(&w->sh->stopping))
        return;
    tg_io_stop(loop, &w->lio);
    tg_timer_stop(loop, &w->sweep);
    tg_timer_stop(loop, &w->accept_pause);
    while (w->conns)
        tg_demo__conn_close(w->conns, "shutdown");
    tg_loop_stop(loop);
}

int tg_demo__worker_new(struct tg_demo_worker **out, struct tg_demo_shared *sh, unsigned idx,
                        int listen_fd)
{
    struct tg_demo_worker *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->sh = sh;
    w->idx = idx;
    w->lfd = listen_fd;
    tg_bufpool_init(&w->inpool, TG_DEMO_IN_BLOCK, 256);
    tg_bufpool_init(&w->outpool, TG_DEMO_OUT_BLOCK, 256);
    tg_bufpool_init(&w->bigpool, TG_DEMO_BIG_BLOCK, 4);
    /* Seeded from the clock so runs differ; the worker index keeps threads apart. */
    tg_demo_rng_seed(&w->rng, (uint64_t)tg_clock_mono_us() ^ ((uint64_t)idx << 48));
    int rc = tg_loop_new(&w->loop, on_wake, w);
    if (rc < 0)
        goto fail;
    rc = tg_io_start_listener(w->loop, &w->lio, listen_fd, on_accept, w);
    if (rc < 0)
        goto fail;
    tg_timer_start(w->loop, &w->sweep, tg_loop_now_us(w->loop) + SWEEP_INTERVAL_US, on_sweep, w);
    *out = w;
    return 0;
fail:
    tg_demo__worker_free(w);
    return rc;
}

void tg_demo__worker_free(struct tg_demo_worker *w)
{
    if (!w)
        return;
    /* Connections still open (the loop never ran) are released without the loop. */
    while (w->conns) {
        struct tg_demo_conn *c = w->conns;
        w->conns = c->next;
        close(c->io.fd);
        tg_buf_release(&c->in, &w->inpool);
        tg_buf_release(&c->out, &w->outpool);
        tg_buf_release(&c->big, &w->bigpool);
        free(c);
    }
    while (w->free_conns) {
        struct tg_demo_conn *c = w->free_conns;
        w->free_conns = c->next;
        free(c);
    }
    tg_loop_free(w->loop);
    if (w->lfd != -1)
        close(w->lfd);
    tg_bufpool_deinit(&w->inpool);
    tg_bufpool_deinit(&w->outpool);
    tg_bufpool_deinit(&w->bigpool);
    free(w);
}

void *tg_demo__worker_main(void *arg)
{
    struct tg_demo_worker *w = arg;
    int rc = tg_loop_run(w->loop);
    if (rc < 0)
        tg_log(TG_LOG_ERROR, "demo", "event loop failed worker=%u err=\"%s\"", w->idx,
               tg_strerror(rc));
    return NULL;
}

void tg_demo__wake_all(struct tg_demo_shared *sh)
{
    for (unsigned i = 0; i < sh->nworkers; i++)
        if (sh->workers[i])
            tg_loop_wake(sh->workers[i]->loop);
}
