/* SPDX-License-Identifier: MIT */
/* Unit tests for src/core/loop.c: edge-triggered fd readiness on socketpairs, level-
 * triggered listener registration, tg_io_stop suppressing events already fetched in the
 * same turn, deferred work (end of turn, once, chained), cross-thread wake-ups and their
 * coalescing, tg_loop_stop, the per-turn cached clock and the stats counters.
 *
 * A "turn" is driven with run_one_turn(): it queues a deferred item that stops the loop,
 * which also makes the poll non-blocking (queued deferred work means timeout 0), so each
 * call is exactly one epoll_wait(0) + dispatch + timers + deferred work. */
#include "core/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "tg_test.h"

/* ---- helpers ---------------------------------------------------------------------- */

static struct tg_defer stopper;

static void stop_cb(struct tg_defer *d)
{
    tg_loop_stop(d->data);
}

/* Runs exactly one non-blocking turn. */
static int run_one_turn(struct tg_loop *loop)
{
    tg_loop_defer(loop, &stopper, stop_cb, loop);
    return tg_loop_run(loop);
}

static uint64_t turns_of(struct tg_loop *loop)
{
    struct tg_loop_stats st;
    tg_loop_stats(loop, &st, false);
    return st.turns;
}

static void spin_us(int64_t us)
{
    int64_t end = tg_clock_mono_us() + us;
    while (tg_clock_mono_us() < end)
        ;
}

static void sleep_us(long us)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
    nanosleep(&ts, NULL);
}

static int nb_socketpair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
}

/* Guard timer: a test that waits for another thread cannot hang forever. */
static bool guard_fired;

static void guard_cb(struct tg_timer *t)
{
    guard_fired = true;
    tg_loop_stop(t->data);
}

/* Records every io callback. */
struct io_rec {
    struct tg_io io;
    int calls;
    unsigned last;
    unsigned all;
    uint64_t turn;
    struct tg_loop *loop;
    struct io_rec *other; /* stopped by this one's callback when set */
};

static void rec_cb(struct tg_io *io, unsigned events)
{
    struct io_rec *r = io->data;
    r->calls++;
    r->last = events;
    r->all |= events;
    r->turn = turns_of(r->loop);
    if (r->other)
        tg_io_stop(r->loop, &r->other->io);
}

static void rec_reset(struct io_rec *r)
{
    r->calls = 0;
    r->last = r->all = 0;
}

/* ---- fd readiness ----------------------------------------------------------------- */

static void test_edge_triggered(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);

    struct io_rec r = {.loop = loop};
    TG_EXPECT_EQ(tg_io_start(loop, &r.io, sv[0], rec_cb, &r), 0);
    TG_EXPECT(r.io.active);
    TG_EXPECT_EQ(r.io.fd, sv[0]);
    TG_EXPECT(r.io.data == &r);

    /* Registration: an empty socket with send space reports WRITE, not READ. */
    TG_EXPECT_EQ(run_one_turn(loop), 0);
    TG_EXPECT_EQ(r.calls, 1);
    TG_EXPECT(r.last & TG_IO_WRITE);
    TG_EXPECT(!(r.last & TG_IO_READ));
    TG_EXPECT(!(r.last & (TG_IO_HUP | TG_IO_ERR)));

    /* No new edge: nothing more, however many turns. */
    rec_reset(&r);
    for (int i = 0; i < 3; i++)
        run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 0);

    /* Bytes arrive: READ once. */
    TG_EXPECT_EQ(write(sv[1], "a", 1), 1);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 1);
    TG_EXPECT(r.last & TG_IO_READ);
    TG_EXPECT(!(r.last & TG_IO_HUP));

    /* Not consumed, but edge-triggered: no repeat while nothing new arrives. */
    rec_reset(&r);
    run_one_turn(loop);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 0);

    /* New bytes are a new edge even with unread data still queued. */
    TG_EXPECT_EQ(write(sv[1], "bc", 2), 2);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 1);
    TG_EXPECT(r.last & TG_IO_READ);

    /* Two writes before one turn: one callback (one fetched event). */
    rec_reset(&r);
    TG_EXPECT_EQ(write(sv[1], "d", 1), 1);
    TG_EXPECT_EQ(write(sv[1], "e", 1), 1);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 1);

    char buf[16];
    TG_EXPECT_EQ(read(sv[0], buf, sizeof buf), 5);
    TG_EXPECT_MEMEQ(buf, 5, "abcde");
    TG_EXPECT_EQ(read(sv[0], buf, sizeof buf), -1);
    TG_EXPECT_EQ(errno, EAGAIN);

    /* Fill the send buffer, then drain it from the peer: WRITE edge when space opens. */
    char big[4096];
    memset(big, 'x', sizeof big);
    while (write(sv[0], big, sizeof big) > 0)
        ;
    TG_EXPECT_EQ(errno, EAGAIN);
    run_one_turn(loop);
    rec_reset(&r);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 0);
    while (read(sv[1], big, sizeof big) > 0)
        ;
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 1);
    TG_EXPECT(r.last & TG_IO_WRITE);

    /* Peer closes: HUP, which also implies READ (the read will return 0). */
    rec_reset(&r);
    close(sv[1]);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 1);
    TG_EXPECT(r.last & TG_IO_HUP);
    TG_EXPECT(r.last & TG_IO_READ);
    TG_EXPECT_EQ(read(sv[0], buf, sizeof buf), 0);

    /* Stopped: no more callbacks; stopping again is a no-op. */
    tg_io_stop(loop, &r.io);
    TG_EXPECT(!r.io.active);
    tg_io_stop(loop, &r.io);
    TG_EXPECT(!r.io.active);
    rec_reset(&r);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 0);

    close(sv[0]);
    tg_loop_free(loop);
}

static void test_io_start_errors(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct io_rec r = {.loop = loop};

    /* A bad fd: -EBADF, and the io stays inactive (stop is then a no-op). */
    TG_EXPECT_EQ(tg_io_start(loop, &r.io, -1, rec_cb, &r), -EBADF);
    TG_EXPECT(!r.io.active);
    tg_io_stop(loop, &r.io);

    /* The same fd twice: -EEXIST for the second io. */
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);
    struct io_rec r2 = {.loop = loop};
    TG_EXPECT_EQ(tg_io_start(loop, &r.io, sv[0], rec_cb, &r), 0);
    TG_EXPECT_EQ(tg_io_start(loop, &r2.io, sv[0], rec_cb, &r2), -EEXIST);
    TG_EXPECT(!r2.io.active);
    tg_io_stop(loop, &r2.io); /* inactive: must not unregister r's fd */
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 1);
    TG_EXPECT_EQ(r2.calls, 0);

    /* After stop the fd may be registered again. */
    tg_io_stop(loop, &r.io);
    TG_EXPECT_EQ(tg_io_start(loop, &r2.io, sv[0], rec_cb, &r2), 0);
    run_one_turn(loop);
    TG_EXPECT_EQ(r2.calls, 1);
    TG_EXPECT(r2.last & TG_IO_WRITE);
    tg_io_stop(loop, &r2.io);

    /* A zero-initialised io that was never started: stop is a no-op. */
    struct tg_io zero = {0};
    tg_io_stop(loop, &zero);

    close(sv[0]);
    close(sv[1]);
    tg_loop_free(loop);
}

static void test_listener_level_triggered(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);
    struct io_rec r = {.loop = loop};
    TG_EXPECT_EQ(tg_io_start_listener(loop, &r.io, sv[0], rec_cb, &r), 0);

    /* READ only: a writable socket reports nothing. */
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 0);

    /* Level-triggered: READ every turn until the data is consumed. */
    TG_EXPECT_EQ(write(sv[1], "x", 1), 1);
    for (int i = 0; i < 3; i++)
        run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 3);
    TG_EXPECT_EQ(r.all, TG_IO_READ);
    char c;
    TG_EXPECT_EQ(read(sv[0], &c, 1), 1);
    rec_reset(&r);
    run_one_turn(loop);
    TG_EXPECT_EQ(r.calls, 0);

    tg_io_stop(loop, &r.io);
    close(sv[0]);
    close(sv[1]);
    tg_loop_free(loop);
}

/* Two fds readable in the same turn; whichever callback runs first stops the other io,
 * whose already-fetched event must then be dropped. */
static void test_io_stop_same_turn(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int a[2], b[2];
    TG_EXPECT_EQ(nb_socketpair(a), 0);
    TG_EXPECT_EQ(nb_socketpair(b), 0);
    struct io_rec ra = {.loop = loop}, rb = {.loop = loop};
    TG_EXPECT_EQ(tg_io_start(loop, &ra.io, a[0], rec_cb, &ra), 0);
    TG_EXPECT_EQ(tg_io_start(loop, &rb.io, b[0], rec_cb, &rb), 0);

    /* Both report WRITE in one turn (two events, both delivered). */
    struct tg_loop_stats st0, st1;
    tg_loop_stats(loop, &st0, false);
    run_one_turn(loop);
    tg_loop_stats(loop, &st1, false);
    TG_EXPECT_EQ(ra.calls, 1);
    TG_EXPECT_EQ(rb.calls, 1);
    TG_EXPECT_EQ(st1.events - st0.events, 2);

    /* Now both become readable before the next turn. */
    rec_reset(&ra);
    rec_reset(&rb);
    ra.other = &rb;
    rb.other = &ra;
    TG_EXPECT_EQ(write(a[1], "1", 1), 1);
    TG_EXPECT_EQ(write(b[1], "2", 1), 1);
    tg_loop_stats(loop, &st0, false);
    run_one_turn(loop);
    tg_loop_stats(loop, &st1, false);
    /* Both events were fetched in that one turn... */
    TG_EXPECT_EQ(st1.events - st0.events, 2);
    TG_EXPECT_EQ(st1.turns - st0.turns, 1);
    /* ...but exactly one callback ran, and it stopped the other io. */
    TG_EXPECT_EQ(ra.calls + rb.calls, 1);
    TG_EXPECT(ra.io.active != rb.io.active);
    struct io_rec *ran = ra.calls ? &ra : &rb;
    struct io_rec *stopped = ra.calls ? &rb : &ra;
    TG_EXPECT(ran->io.active);
    TG_EXPECT(!stopped->io.active);
    TG_EXPECT(ran->last & TG_IO_READ);

    /* The stopped one stays silent even when more bytes arrive. */
    ran->other = NULL;
    TG_EXPECT_EQ(write(a[1], "3", 1), 1);
    TG_EXPECT_EQ(write(b[1], "4", 1), 1);
    rec_reset(&ra);
    rec_reset(&rb);
    run_one_turn(loop);
    TG_EXPECT_EQ(ran->calls, 1);
    TG_EXPECT_EQ(stopped->calls, 0);

    tg_io_stop(loop, &ran->io);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    tg_loop_free(loop);
}

/* A callback that stops its own io, then more bytes: no further callbacks. */
struct self_stop {
    struct tg_io io;
    struct tg_loop *loop;
    int calls;
};

static void self_stop_cb(struct tg_io *io, unsigned events)
{
    (void)events;
    struct self_stop *s = io->data;
    s->calls++;
    tg_io_stop(s->loop, io);
}

static void test_io_stop_self(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);
    struct self_stop s = {.loop = loop};
    TG_EXPECT_EQ(tg_io_start(loop, &s.io, sv[0], self_stop_cb, &s), 0);
    run_one_turn(loop);
    TG_EXPECT_EQ(s.calls, 1);
    TG_EXPECT(!s.io.active);
    TG_EXPECT_EQ(write(sv[1], "x", 1), 1);
    run_one_turn(loop);
    TG_EXPECT_EQ(s.calls, 1);
    close(sv[0]);
    close(sv[1]);
    tg_loop_free(loop);
}

/* ---- deferred work ---------------------------------------------------------------- */

struct defer_ctx {
    struct tg_loop *loop;
    char log[32];
    size_t nlog;
    uint64_t turn_io, turn_timer, turn_d1, turn_d2;
    int d1_runs, d2_runs;
    int d1_requeue; /* how many times d1 re-queues itself */
    struct tg_defer d1, d2;
    struct tg_io io;
    struct tg_timer timer;
};

static void logc(struct defer_ctx *c, char ch)
{
    if (c->nlog + 1 < sizeof c->log) {
        c->log[c->nlog++] = ch;
        c->log[c->nlog] = '\0';
    }
}

static void d2_cb(struct tg_defer *d)
{
    struct defer_ctx *c = d->data;
    TG_EXPECT(!d->queued);
    c->d2_runs++;
    c->turn_d2 = turns_of(c->loop);
    logc(c, 'D');
}

static void d1_cb(struct tg_defer *d)
{
    struct defer_ctx *c = d->data;
    /* The flag is cleared before the callback runs, so it may queue itself again. */
    TG_EXPECT(!d->queued);
    c->d1_runs++;
    c->turn_d1 = turns_of(c->loop);
    logc(c, 'd');
    if (c->d1_requeue > 0) {
        c->d1_requeue--;
        tg_loop_defer(c->loop, &c->d1, d1_cb, c);
    } else {
        /* Deferred work that defers more: runs at the end of the next turn. */
        tg_loop_defer(c->loop, &c->d2, d2_cb, c);
    }
}

static void defer_io_cb(struct tg_io *io, unsigned events)
{
    (void)events;
    struct defer_ctx *c = io->data;
    c->turn_io = turns_of(c->loop);
    logc(c, 'i');
    /* Queued twice: runs once. */
    tg_loop_defer(c->loop, &c->d1, d1_cb, c);
    TG_EXPECT(c->d1.queued);
    tg_loop_defer(c->loop, &c->d1, d1_cb, c);
    /* Not run inline. */
    TG_EXPECT_EQ(c->d1_runs, 0);
    tg_io_stop(c->loop, io);
}

static void defer_timer_cb(struct tg_timer *t)
{
    struct defer_ctx *c = t->data;
    c->turn_timer = turns_of(c->loop);
    logc(c, 't');
    /* Deferred work runs after timers of the same turn. */
    TG_EXPECT_EQ(c->d1_runs, 0);
}

static void test_defer(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);

    static struct defer_ctx c;
    memset(&c, 0, sizeof c);
    c.loop = loop;
    TG_EXPECT_EQ(tg_io_start(loop, &c.io, sv[0], defer_io_cb, &c), 0);
    /* A timer already due: fires in the first turn, after the io callbacks. */
    tg_timer_start(loop, &c.timer, tg_loop_now_us(loop) - 1, defer_timer_cb, &c);

    uint64_t t0 = turns_of(loop);
    tg_loop_defer(loop, &stopper, stop_cb, loop); /* queued before d1: stops after turn 1 */
    tg_loop_run(loop); /* one turn, then what is still queued runs as the loop returns */
    TG_EXPECT_STREQ(c.log, "itdD");
    TG_EXPECT_EQ(c.d1_runs, 1);
    TG_EXPECT_EQ(c.d2_runs, 1);
    TG_EXPECT_EQ(c.turn_io, t0 + 1);
    TG_EXPECT_EQ(c.turn_timer, t0 + 1);
    TG_EXPECT_EQ(c.turn_d1, t0 + 1);
    TG_EXPECT_EQ(c.turn_d2, t0 + 1);
    TG_EXPECT(!c.d1.queued);
    TG_EXPECT(!c.d2.queued);

    /* Nothing queued any more: another turn runs nothing. */
    run_one_turn(loop);
    TG_EXPECT_EQ(c.d1_runs, 1);
    TG_EXPECT_EQ(c.d2_runs, 1);

    /* A deferred item that re-queues itself runs again in later turns (resume_test
     * shows one run per turn); what is still queued when the loop stops runs as it
     * returns. */
    c.nlog = 0;
    c.log[0] = '\0';
    c.d1_requeue = 2;
    tg_loop_defer(loop, &c.d1, d1_cb, &c);
    run_one_turn(loop);
    TG_EXPECT_STREQ(c.log, "dddD");
    TG_EXPECT_EQ(c.d1_runs, 4);
    TG_EXPECT_EQ(c.d2_runs, 2);

    /* tg_loop_flush_deferred runs queued work outside tg_loop_run, in queue order. */
    c.nlog = 0;
    c.log[0] = '\0';
    tg_loop_defer(loop, &c.d2, d2_cb, &c);
    tg_loop_defer(loop, &c.d1, d1_cb, &c);
    tg_loop_defer(loop, &c.d2, d2_cb, &c); /* already queued: stays first, runs once */
    TG_EXPECT_EQ(c.d2_runs, 2);
    tg_loop_flush_deferred(loop);
    TG_EXPECT_STREQ(c.log, "DdD"); /* d2, d1, then d2 again because d1 queued it */
    TG_EXPECT_EQ(c.d1_runs, 5);
    TG_EXPECT_EQ(c.d2_runs, 4);
    tg_loop_flush_deferred(loop); /* empty: no-op */
    TG_EXPECT_EQ(c.d2_runs, 4);

    close(sv[0]);
    close(sv[1]);
    tg_loop_free(loop);
}

/* Deferred work that queues itself again (a connection resuming work it cut short) runs
 * once per turn, and the loop polls in between: an fd event raised by one run is
 * dispatched before the next run. */
struct chain {
    struct tg_loop *loop;
    struct tg_defer d;
    struct tg_io io;
    int wfd;
    int left, runs, events;
    uint64_t turns[8];
};

static void chain_cb(struct tg_defer *d)
{
    struct chain *ch = d->data;
    ch->turns[ch->runs++] = turns_of(ch->loop);
    TG_EXPECT_EQ(ch->events, ch->runs - 1);
    TG_EXPECT_EQ(write(ch->wfd, "x", 1), 1); /* an event for the next turn */
    if (--ch->left > 0)
        tg_loop_defer(ch->loop, &ch->d, chain_cb, ch);
    else
        tg_loop_stop(ch->loop);
}

static void chain_io(struct tg_io *io, unsigned events)
{
    struct chain *ch = io->data;
    char b[16];
    if (!(events & TG_IO_READ))
        return; /* the first turn's writable edge */
    while (read(io->fd, b, sizeof b) > 0)
        ;
    ch->events++;
}

static void test_defer_resume(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);
    static struct chain ch;
    memset(&ch, 0, sizeof ch);
    ch.loop = loop;
    ch.wfd = sv[1];
    ch.left = 5;
    TG_EXPECT_EQ(tg_io_start(loop, &ch.io, sv[0], chain_io, &ch), 0);
    tg_loop_defer(loop, &ch.d, chain_cb, &ch);
    TG_EXPECT_EQ(tg_loop_run(loop), 0);
    TG_EXPECT_EQ(ch.runs, 5);
    for (int i = 1; i < ch.runs; i++)
        TG_EXPECT_EQ(ch.turns[i], ch.turns[i - 1] + 1);
    tg_io_stop(loop, &ch.io);
    close(sv[0]);
    close(sv[1]);
    tg_loop_free(loop);
}

/* Deferred work queued when tg_loop_stop is called still runs before tg_loop_run returns. */
static int late_runs;

static void late_cb(struct tg_defer *d)
{
    (void)d;
    late_runs++;
}

static struct tg_defer late;

static void stop_and_defer_cb(struct tg_timer *t)
{
    struct tg_loop *loop = t->data;
    tg_loop_stop(loop);
    tg_loop_defer(loop, &late, late_cb, NULL);
}

static void test_stop(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_timer t = {0};
    tg_timer_start(loop, &t, tg_loop_now_us(loop), stop_and_defer_cb, loop);
    uint64_t t0 = turns_of(loop);
    TG_EXPECT_EQ(tg_loop_run(loop), 0);
    TG_EXPECT_EQ(turns_of(loop), t0 + 1);
    TG_EXPECT_EQ(late_runs, 1);
    TG_EXPECT(!late.queued);

    /* A stopped loop runs again; stop before run is forgotten (run clears it). */
    tg_loop_stop(loop);
    tg_timer_start(loop, &t, tg_loop_now_us(loop), stop_and_defer_cb, loop);
    t0 = turns_of(loop);
    TG_EXPECT_EQ(tg_loop_run(loop), 0);
    TG_EXPECT_EQ(turns_of(loop), t0 + 1);
    TG_EXPECT_EQ(late_runs, 2);
    tg_loop_free(loop);
    tg_loop_free(NULL);
}

/* ---- wake-ups --------------------------------------------------------------------- */

struct wake_ctx {
    struct tg_loop *loop;
    int calls;
    void *seen_data;
    struct tg_loop *seen_loop;
    bool stop;
};

static void wake_cb(struct tg_loop *loop, void *data)
{
    struct wake_ctx *w = data;
    w->calls++;
    w->seen_loop = loop;
    w->seen_data = data;
    if (w->stop)
        tg_loop_stop(loop);
}

struct waker_arg {
    struct tg_loop *loop;
    int n;
    long delay_us;
};

static void *waker_main(void *p)
{
    struct waker_arg *a = p;
    if (a->delay_us)
        sleep_us(a->delay_us);
    for (int i = 0; i < a->n; i++)
        tg_loop_wake(a->loop);
    return NULL;
}

static void test_wake(void)
{
    static struct wake_ctx w;
    memset(&w, 0, sizeof w);
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, wake_cb, &w), 0);
    w.loop = loop;

    /* No wake: no callback. */
    run_one_turn(loop);
    TG_EXPECT_EQ(w.calls, 0);

    /* Several wakes from another thread before the loop runs: one callback. */
    struct waker_arg a = {.loop = loop, .n = 5};
    pthread_t th;
    TG_EXPECT_EQ(pthread_create(&th, NULL, waker_main, &a), 0);
    pthread_join(th, NULL);
    run_one_turn(loop);
    TG_EXPECT_EQ(w.calls, 1);
    TG_EXPECT(w.seen_loop == loop);
    TG_EXPECT(w.seen_data == &w);
    /* Drained: nothing pending afterwards. */
    run_one_turn(loop);
    TG_EXPECT_EQ(w.calls, 1);

    /* Wakes from the loop's own thread coalesce too. */
    tg_loop_wake(loop);
    tg_loop_wake(loop);
    run_one_turn(loop);
    TG_EXPECT_EQ(w.calls, 2);

    /* The loop blocks in epoll_wait (no timers but the far guard) and another thread
     * wakes it; the wake callback stops the loop. */
    struct tg_timer guard = {0};
    guard_fired = false;
    tg_timer_start(loop, &guard, tg_loop_now_us(loop) + 1500000, guard_cb, loop);
    w.stop = true;
    a.n = 1;
    a.delay_us = 2000;
    TG_EXPECT_EQ(pthread_create(&th, NULL, waker_main, &a), 0);
    int64_t t0 = tg_clock_mono_us();
    TG_EXPECT_EQ(tg_loop_run(loop), 0);
    pthread_join(th, NULL);
    TG_EXPECT(!guard_fired);
    TG_EXPECT_EQ(w.calls, 3);
    TG_EXPECT_LT(tg_clock_mono_us() - t0, 1000000);
    tg_timer_stop(loop, &guard);
    tg_loop_free(loop);

    /* A loop without a wake callback drains wake-ups silently. */
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    tg_loop_wake(loop);
    struct tg_loop_stats st;
    run_one_turn(loop);
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_EQ(st.events, 1);
    run_one_turn(loop);
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_EQ(st.events, 1); /* the eventfd was drained */
    tg_loop_free(loop);
}

/* ---- time and stats --------------------------------------------------------------- */

struct now_ctx {
    struct tg_loop *loop;
    int64_t first, second, after_update;
};

static void now_timer_cb(struct tg_timer *t)
{
    struct now_ctx *c = t->data;
    c->first = tg_loop_now_us(c->loop);
    spin_us(1500);
    c->second = tg_loop_now_us(c->loop);
    tg_loop_update_time(c->loop);
    c->after_update = tg_loop_now_us(c->loop);
}

static void test_now_cached(void)
{
    struct tg_loop *loop = NULL;
    int64_t before = tg_clock_mono_us();
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    int64_t created = tg_loop_now_us(loop);
    TG_EXPECT_GE(created, before);
    TG_EXPECT_LE(created, tg_clock_mono_us());

    /* Cached: no change without a turn. */
    spin_us(1100);
    TG_EXPECT_EQ(tg_loop_now_us(loop), created);

    struct now_ctx c = {.loop = loop};
    struct tg_timer t = {0};
    tg_timer_start(loop, &t, created, now_timer_cb, &c);
    run_one_turn(loop);
    /* A turn re-reads the clock once... */
    TG_EXPECT_GE(c.first, created + 1100);
    /* ...and the value holds for the whole turn. */
    TG_EXPECT_EQ(c.second, c.first);
    /* tg_loop_update_time re-reads it. */
    TG_EXPECT_GE(c.after_update, c.first + 1500);
    TG_EXPECT_EQ(tg_loop_now_us(loop), c.after_update);

    /* The next turn moves it forward again. */
    int64_t last = tg_loop_now_us(loop);
    spin_us(200);
    run_one_turn(loop);
    TG_EXPECT_GE(tg_loop_now_us(loop), last + 200);
    tg_loop_free(loop);
}

static struct tg_defer slow_d;

static void slow_cb(struct tg_defer *d)
{
    (void)d;
    spin_us(3000);
}

static void test_stats(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_loop_stats st;
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_EQ(st.turns, 0);
    TG_EXPECT_EQ(st.events, 0);
    TG_EXPECT_EQ(st.max_lag_us, 0);

    /* An empty turn counts as a turn with no events. */
    run_one_turn(loop);
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_EQ(st.turns, 1);
    TG_EXPECT_EQ(st.events, 0);

    /* One fd event (WRITE on registration) plus one wake event in one turn. */
    int sv[2];
    TG_EXPECT_EQ(nb_socketpair(sv), 0);
    struct io_rec r = {.loop = loop};
    TG_EXPECT_EQ(tg_io_start(loop, &r.io, sv[0], rec_cb, &r), 0);
    tg_loop_wake(loop);
    run_one_turn(loop);
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_EQ(st.turns, 2);
    TG_EXPECT_EQ(st.events, 2);
    TG_EXPECT_EQ(r.calls, 1);

    /* A slow turn raises max_lag; reset_max returns it, then clears it. */
    tg_loop_defer(loop, &slow_d, slow_cb, NULL);
    run_one_turn(loop);
    tg_loop_stats(loop, &st, true);
    TG_EXPECT_EQ(st.turns, 3);
    TG_EXPECT_GE(st.max_lag_us, 3000);
    TG_EXPECT_LT(st.max_lag_us, 1000000);
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_EQ(st.max_lag_us, 0);
    TG_EXPECT_EQ(st.turns, 3); /* reset touches only max_lag */
    TG_EXPECT_EQ(st.events, 2);

    /* max_lag keeps the worst turn: a fast turn after a slow one does not lower it. */
    tg_loop_defer(loop, &slow_d, slow_cb, NULL);
    run_one_turn(loop);
    run_one_turn(loop);
    tg_loop_stats(loop, &st, false);
    TG_EXPECT_GE(st.max_lag_us, 3000);
    TG_EXPECT_EQ(st.turns, 5);

    tg_io_stop(loop, &r.io);
    close(sv[0]);
    close(sv[1]);
    tg_loop_free(loop);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_edge_triggered();
    test_io_start_errors();
    test_listener_level_triggered();
    test_io_stop_same_turn();
    test_io_stop_self();
    test_defer();
    test_defer_resume();
    test_stop();
    test_wake();
    test_now_cached();
    test_stats();
    return tg_test_report(argv[0]);
}
