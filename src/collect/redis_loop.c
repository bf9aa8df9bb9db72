/* SPDX-License-Identifier: MIT */
/* hiredis's asynchronous context on a tg_loop; see redis_int.h.
 *
 * hiredis expects a level-triggered loop: redisAsyncHandleRead makes one read(2) of at
 * most 16 KiB, and an INFO ALL reply is often longer than that, so on our edge-triggered
 * loop the rest would sit in the socket until the next edge, which never comes. Each
 * readiness event is therefore read until the socket is drained: after each call, a
 * MSG_PEEK recv says whether bytes (or the end of the stream, or an error) are still
 * waiting, and only an EAGAIN ends the loop.
 *
 * Writes: the socket is registered once for both directions, so addWrite cannot mean
 * "tell me when writable" as hiredis assumes; a command queued from outside an event is
 * written at the end of the loop turn (deferred work), and a write that stopped short
 * (EAGAIN) goes on at the next WRITE edge. While the connect is in progress the WRITE
 * edge that marks its end drives it (hiredis checks SO_ERROR there).
 *
 * Lifetime: hiredis frees the context itself after an error or redisAsyncFree, calling
 * our cleanup hook from inside it; the adapter's state outlives it until no event
 * handler and no deferred write of ours is on the stack or queued. */
#include "collect/redis_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

struct adapter {
    struct tg_loop *loop;
    redisAsyncContext *ac; /* NULL once hiredis released it */
    struct tg_io io;
    struct tg_defer flush;
    bool want_write; /* hiredis has output queued */
    bool in_event;   /* inside on_io: hiredis calls addWrite after a short write */
    tg_credis__gone_fn *gone;
    void *arg;
};

static void release_if_idle(struct adapter *a)
{
    if (!a->ac && !a->in_event && !a->flush.queued)
        free(a);
}

static bool connected(const struct adapter *a)
{
    return a->ac && (a->ac->c.flags & REDIS_CONNECTED);
}

/* True when the socket still holds bytes, its end, or an error for hiredis to see. */
static bool more_to_read(int fd)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static void write_now(struct adapter *a)
{
    if (a->ac && (a->want_write || !connected(a)))
        redisAsyncHandleWrite(a->ac);
}

static void on_io(struct tg_io *io, unsigned events)
{
    struct adapter *a = io->data;
    a->in_event = true;
    if (events & (TG_IO_WRITE | TG_IO_ERR | TG_IO_HUP))
        write_now(a);
    if (events & (TG_IO_READ | TG_IO_ERR | TG_IO_HUP)) {
        int fd = io->fd;
        /* A read error or the end of the stream frees the context inside the call. */
        while (a->ac) {
            redisAsyncHandleRead(a->ac);
            if (!connected(a) || !more_to_read(fd))
                break;
        }
    }
    a->in_event = false;
    release_if_idle(a);
}

static void on_flush(struct tg_defer *d)
{
    struct adapter *a = d->data;
    if (connected(a))
        write_now(a);
    release_if_idle(a);
}

static void add_read(void *p)
{
    (void)p; /* always registered */
}

static void del_read(void *p)
{
    (void)p;
}

static void add_write(void *p)
{
    struct adapter *a = p;
    a->want_write = true;
    /* A short write inside an event waits for the next WRITE edge; anything else (a
     * command just queued) is written at the end of this turn. */
    if (!a->in_event)
        tg_loop_defer(a->loop, &a->flush, on_flush, a);
}

static void del_write(void *p)
{
    struct adapter *a = p;
    a->want_write = false;
}

static void cleanup(void *p)
{
    struct adapter *a = p;
    tg_io_stop(a->loop, &a->io);
    a->ac = NULL;
    a->gone(a->arg);
    release_if_idle(a);
}

int tg_credis__attach(struct tg_loop *loop, redisAsyncContext *ac, tg_credis__gone_fn *gone,
                      void *arg)
{
    struct adapter *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    *a = (struct adapter){.loop = loop, .ac = ac, .gone = gone, .arg = arg};
    int rc = tg_io_start(loop, &a->io, ac->c.fd, on_io, a);
    if (rc < 0) {
        free(a);
        return rc;
    }
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
