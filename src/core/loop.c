/* SPDX-License-Identifier: MIT */
/* epoll backend of the event loop (see loop.h for the contract). One turn: wait for
 * events with the nearest timer as timeout, read the clock once, dispatch fd events,
 * fire due timers, then run the deferred work queued so far (connection frees, and
 * connections continuing work they had to cut short).
 * The timer heap is in timer.c; both share struct tg_loop through loop_int.h. */
#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop_int.h"

#define MAX_EVENTS 256

/* The eventfd's epoll data: a sentinel no struct tg_io can have. */
static char wake_tag;

int tg_loop_new(struct tg_loop **out, tg_wake_fn *wake, void *wake_data)
{
    struct tg_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    loop->epfd = -1;
    loop->wakefd = -1;
    loop->wake = wake;
    loop->wake_data = wake_data;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd == -1)
        goto fail;
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd == -1)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_tag};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) == -1)
        goto fail;
    loop->now_us = tg_clock_mono_us();
    *out = loop;
    return 0;
fail:;
    int err = -errno;
    tg_loop_free(loop);
    return err;
}

void tg_loop_free(struct tg_loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd != -1)
        close(loop->epfd);
    if (loop->wakefd != -1)
        close(loop->wakefd);
    free(loop->heap);
    free(loop);
}

int64_t tg_loop_now_us(const struct tg_loop *loop)
{
    return loop->now_us;
}

void tg_loop_update_time(struct tg_loop *loop)
{
    loop->now_us = tg_clock_mono_us();
}

void tg_loop_stop(struct tg_loop *loop)
{
    loop->stopping = true;
}

void tg_loop_wake(struct tg_loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: a wake-up is pending anyway. */
    ssize_t r = write(loop->wakefd, &one, sizeof one);
    (void)r;
}

static int io_register(struct tg_loop *loop, struct tg_io *io, int fd, uint32_t events,
                       tg_io_fn *cb, void *data)
{
    io->fd = fd;
    io->cb = cb;
    io->data = data;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        return -errno;
    io->active = true;
    return 0;
}

int tg_io_start(struct tg_loop *loop, struct tg_io *io, int fd, tg_io_fn *cb, void *data)
{
    return io_register(loop, io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, cb, data);
}

int tg_io_start_listener(struct tg_loop *loop, struct tg_io *io, int fd, tg_io_fn *cb,
                         void *data)
{
    return io_register(loop, io, fd, EPOLLIN, cb, data);
}

void tg_io_stop(struct tg_loop *loop, struct tg_io *io)
{
    if (!io->active)
        return;
    io->active = false;
    /* Fails only if the fd was already closed, which removed it from the set anyway. */
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void tg_loop_defer(struct tg_loop *loop, struct tg_defer *d, tg_defer_fn *cb, void *data)
{
    if (d->queued)
        return;
    d->queued = true;
    d->cb = cb;
    d->data = data;
    d->next = NULL;
    if (loop->defer_tail)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
}

/* Runs the work queued so far. Work a callback queues meanwhile waits for the next turn
 * (which then polls without blocking): a callback that re-queues itself to continue a
 * long job, as a connection that used up its share of a turn does, cannot keep the loop
 * from polling. */
static void run_deferred(struct tg_loop *loop)
{
    struct tg_defer *d = loop->defer_head;
    loop->defer_head = loop->defer_tail = NULL;
    while (d) {
        struct tg_defer *next = d->next;
        d->queued = false;
        d->cb(d);
        d = next;
    }
}

void tg_loop_flush_deferred(struct tg_loop *loop)
{
    while (loop->defer_head)
        run_deferred(loop);
}

static void drain_wake(struct tg_loop *loop)
{
    uint64_t n;
    while (read(loop->wakefd, &n, sizeof n) == (ssize_t)sizeof n)
        ;
    if (loop->wake)
        loop->wake(loop, loop->wake_data);
}

static unsigned to_tg_events(uint32_t e)
{
    unsigned r = 0;
    if (e & EPOLLIN)
        r |= TG_IO_READ;
    if (e & EPOLLOUT)
        r |= TG_IO_WRITE;
    if (e & (EPOLLRDHUP | EPOLLHUP))
        r |= TG_IO_HUP | TG_IO_READ;
    if (e & EPOLLERR)
        r |= TG_IO_ERR | TG_IO_READ | TG_IO_WRITE;
    return r;
}

int tg_loop_run(struct tg_loop *loop)
{
    struct epoll_event evs[MAX_EVENTS];
    loop->stopping = false;
    while (!loop->stopping) {
        int timeout_ms = tg__loop_timeout_ms(loop);
        if (loop->defer_head)
            timeout_ms = 0;
        int n = epoll_wait(loop->epfd, evs, MAX_EVENTS, timeout_ms);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        int64_t start = tg_clock_mono_us();
        loop->now_us = start;
        loop->stats.turns++;
        loop->stats.events += (uint64_t)n;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &wake_tag) {
                drain_wake(loop);
                continue;
            }
            struct tg_io *io = evs[i].data.ptr;
            /* An earlier callback of this turn may have stopped this io. */
            if (io->active)
                io->cb(io, to_tg_events(evs[i].events));
        }
        tg__loop_run_timers(loop);
        run_deferred(loop);
        int64_t lag = tg_clock_mono_us() - start;
        if (lag > loop->stats.max_lag_us)
            loop->stats.max_lag_us = lag;
    }
    tg_loop_flush_deferred(loop);
    return 0;
}

void tg_loop_stats(struct tg_loop *loop, struct tg_loop_stats *out, bool reset_max)
{
    *out = loop->stats;
    if (reset_max)
        loop->stats.max_lag_us = 0;
}
