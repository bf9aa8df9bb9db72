/* SPDX-License-Identifier: MIT */
/* The event loop: one per worker thread, owned by that thread. Connection code sees
 * only this interface (file-descriptor readiness, timers, deferred work, a cross-thread
 * wake-up), never epoll or io_uring directly, so a backend can change underneath.
 *
 * Readiness is edge-triggered: a registered fd reports READ when new bytes arrive and
 * WRITE when send space opens up, once per edge. A reader must therefore consume until
 * a short read or EAGAIN before it waits again; a short read is enough on stream
 * sockets (the kernel raises a new edge for bytes that arrive later), which saves the
 * extra EAGAIN read per request that level-triggered loops pay. Registering for both
 * directions once means the steady state makes no epoll_ctl calls at all.
 *
 * `now` is read once per loop turn (after the wait returns) and cached; all timers and
 * timeouts in the loop's thread use tg_loop_now_us(). Timers live in a binary heap:
 * O(log n) start/stop, no allocation after the heap has grown to its high-water mark. */
#ifndef TG_CORE_LOOP_H
#define TG_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct tg_loop;
struct tg_io;
struct tg_timer;
struct tg_defer;

enum tg_io_events {
    TG_IO_READ = 1 << 0,
    TG_IO_WRITE = 1 << 1,
    TG_IO_HUP = 1 << 2, /* peer closed its side (RDHUP/HUP); a read will return 0 */
    TG_IO_ERR = 1 << 3, /* socket error pending (SO_ERROR tells which) */
};

typedef void tg_io_fn(struct tg_io *io, unsigned events);
typedef void tg_timer_fn(struct tg_timer *t);
typedef void tg_defer_fn(struct tg_defer *d);
typedef void tg_wake_fn(struct tg_loop *loop, void *data);

/* A registered file descriptor. Embedded by the caller; `data` is the caller's. */
struct tg_io {
    int fd;
    bool active;
    tg_io_fn *cb;
    void *data;
};

/* A one-shot timer. Embedded by the caller, zero-initialised. */
struct tg_timer {
    int64_t due_us;
    uint32_t heap_idx; /* 0 = not armed, else index + 1 */
    uint32_t epoch;    /* private: the timer pass during which it was armed */
    tg_timer_fn *cb;
    void *data;
};

/* Work queued to run at the end of the current loop turn (after all events of the turn):
 * used to free connections so no callback higher up the stack sees freed memory, and to
 * resume a connection that stopped early to be fair to the others. Work queued by a
 * deferred callback runs at the end of the next turn instead, which polls first without
 * blocking. */
struct tg_defer {
    struct tg_defer *next;
    bool queued;
    tg_defer_fn *cb;
    void *data;
};

/* Creates a loop. `wake` (may be NULL) runs in the loop's thread after another thread
 * calls tg_loop_wake(). Returns 0 or -errno. */
int tg_loop_new(struct tg_loop **out, tg_wake_fn *wake, void *wake_data);

/* Frees the loop; registered fds are not closed. Accepts NULL. */
void tg_loop_free(struct tg_loop *loop);

/* Runs until tg_loop_stop(). Returns 0 or -errno from the poller. */
int tg_loop_run(struct tg_loop *loop);

/* Makes tg_loop_run return after the current turn. Loop thread only. */
void tg_loop_stop(struct tg_loop *loop);

/* Wakes the loop from any thread; its wake callback runs in the loop's thread. Several
 * wakes before the loop runs coalesce into one callback. Async-signal-safe. */
void tg_loop_wake(struct tg_loop *loop);

/* The monotonic time cached at the start of this turn, in microseconds. */
int64_t tg_loop_now_us(const struct tg_loop *loop);

/* Re-reads the clock into the cached time (for code that blocked, e.g. in tests). */
void tg_loop_update_time(struct tg_loop *loop);

/* Registers `fd` (non-blocking) for edge-triggered READ|WRITE|HUP. Returns 0 or -errno.
 * `io` must stay valid until tg_io_stop(). */
int tg_io_start(struct tg_loop *loop, struct tg_io *io, int fd, tg_io_fn *cb, void *data);

/* Registers a listening socket: level-triggered READ only, so an accept loop may stop
 * early (e.g. at the connection limit) without losing the wake-up. */
int tg_io_start_listener(struct tg_loop *loop, struct tg_io *io, int fd, tg_io_fn *cb,
                         void *data);

/* Unregisters. Does not close the fd. No callback for `io` runs after this returns,
 * including events already fetched in this turn. Accepts an inactive `io`. */
void tg_io_stop(struct tg_loop *loop, struct tg_io *io);

/* Arms (or re-arms) `t` to fire at `due_us` on the loop's clock. */
void tg_timer_start(struct tg_loop *loop, struct tg_timer *t, int64_t due_us, tg_timer_fn *cb,
                    void *data);

/* Disarms `t`; accepts an unarmed timer. */
void tg_timer_stop(struct tg_loop *loop, struct tg_timer *t);

static inline bool tg_timer_armed(const struct tg_timer *t)
{
    return t->heap_idx != 0;
}

/* Queues `d` to run at the end of this turn (of the next one when called from deferred
 * work); a queued `d` is not queued twice. */
void tg_loop_defer(struct tg_loop *loop, struct tg_defer *d, tg_defer_fn *cb, void *data);

/* Runs queued deferred work now, until none is left (for teardown after tg_loop_run has
 * returned). */
void tg_loop_flush_deferred(struct tg_loop *loop);

/* Counters for the monitoring API (loop thread, or racy reads elsewhere). */
struct tg_loop_stats {
    uint64_t turns;
    uint64_t events;
    int64_t max_lag_us; /* worst time spent handling one turn, since last reset */
};
void tg_loop_stats(struct tg_loop *loop, struct tg_loop_stats *out, bool reset_max);

#endif
