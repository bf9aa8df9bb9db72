/* SPDX-License-Identifier: MIT */
/* Unit tests for src/core/timer.c: the timer min-heap of the event loop. Most cases drive
 * the heap directly through loop_int.h (tg__loop_run_timers with a hand-set now_us), so
 * they do not depend on the real clock; a few go through tg_loop_run to pin down which
 * turn a timer fires in.
 *
 * Behaviour pinned here: a timer armed from inside a timer callback with a due time at or
 * before the turn's cached now fires in the NEXT pass (libuv's rule), so a callback that
 * re-arms itself at `now` cannot spin the loop; the poll then waits zero. */
#include "core/loop.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop_int.h"
#include "tg_test.h"

#define NT 300

static struct tg_timer timers[NT];
static int fired_order[NT * 4];
static int nfired;

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    /* xorshift32: deterministic across runs and platforms. */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void record_cb(struct tg_timer *t)
{
    /* The timer is disarmed before its callback runs. */
    TG_EXPECT(!tg_timer_armed(t));
    if (nfired < (int)(sizeof fired_order / sizeof fired_order[0]))
        fired_order[nfired++] = (int)(intptr_t)t->data;
}

static void reset_fired(void)
{
    nfired = 0;
}

/* Checks the heap invariant and every armed timer's back-index. */
static bool heap_ok(const struct tg_loop *loop)
{
    for (uint32_t i = 0; i < loop->heap_len; i++) {
        const struct tg_timer *t = loop->heap[i];
        if (t->heap_idx != i + 1)
            return false;
        if (i > 0 && loop->heap[(i - 1) / 2]->due_us > t->due_us)
            return false;
    }
    return loop->heap_len <= loop->heap_cap;
}

static struct tg_loop *new_loop(void)
{
    struct tg_loop *loop = NULL;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    memset(timers, 0, sizeof timers);
    reset_fired();
    return loop;
}

static void fire_at(struct tg_loop *loop, int64_t now)
{
    loop->now_us = now;
    tg__loop_run_timers(loop);
}

/* ---- ordering --------------------------------------------------------------------- */

static void test_random_order(void)
{
    struct tg_loop *loop = new_loop();
    const int64_t base = 1000000;
    int64_t due[NT];
    for (int i = 0; i < NT; i++) {
        due[i] = base + (int64_t)(rng() % 100000);
        tg_timer_start(loop, &timers[i], due[i], record_cb, (void *)(intptr_t)i);
        TG_EXPECT(tg_timer_armed(&timers[i]));
    }
    TG_EXPECT_EQ(loop->heap_len, NT);
    TG_EXPECT(heap_ok(loop));
    /* Heap growth past the first 64 slots by doubling: 64 -> 128 -> 256 -> 512. */
    TG_EXPECT_EQ(loop->heap_cap, 512);

    /* Nothing is due before the earliest time. */
    int64_t min = due[0];
    for (int i = 1; i < NT; i++)
        if (due[i] < min)
            min = due[i];
    fire_at(loop, min - 1);
    TG_EXPECT_EQ(nfired, 0);

    /* Fire in a few steps; within and across steps, order is by due time. */
    fire_at(loop, base + 33333);
    int first_step = nfired;
    for (int i = 0; i < first_step; i++)
        TG_EXPECT_LE(due[fired_order[i]], base + 33333);
    fire_at(loop, base + 66666);
    fire_at(loop, base + 100000);
    TG_EXPECT_EQ(nfired, NT);
    TG_EXPECT_EQ(loop->heap_len, 0);
    bool sorted = true, seen_all = true;
    bool seen[NT] = {false};
    for (int i = 0; i < nfired; i++) {
        if (i > 0 && due[fired_order[i - 1]] > due[fired_order[i]])
            sorted = false;
        if (seen[fired_order[i]])
            seen_all = false; /* fired twice */
        seen[fired_order[i]] = true;
    }
    for (int i = 0; i < NT; i++)
        if (!seen[i] || tg_timer_armed(&timers[i]))
            seen_all = false;
    TG_EXPECT(sorted);
    TG_EXPECT(seen_all);

    /* The array never shrinks: re-arming allocates nothing. */
    struct tg_timer **heap = loop->heap;
    for (int i = 0; i < NT; i++)
        tg_timer_start(loop, &timers[i], base + 1, record_cb, (void *)(intptr_t)i);
    TG_EXPECT(loop->heap == heap);
    TG_EXPECT_EQ(loop->heap_cap, 512);
    for (int i = 0; i < NT; i++)
        tg_timer_stop(loop, &timers[i]);
    TG_EXPECT_EQ(loop->heap_len, 0);
    tg_loop_free(loop);
}

/* Exactly 64 fits the first allocation; the 65th doubles it. */
static void test_heap_growth(void)
{
    struct tg_loop *loop = new_loop();
    TG_EXPECT_EQ(loop->heap_cap, 0);
    for (int i = 0; i < 64; i++)
        tg_timer_start(loop, &timers[i], 1000 - i, record_cb, (void *)(intptr_t)i);
    TG_EXPECT_EQ(loop->heap_cap, 64);
    TG_EXPECT_EQ(loop->heap_len, 64);
    tg_timer_start(loop, &timers[64], 0, record_cb, (void *)(intptr_t)64);
    TG_EXPECT_EQ(loop->heap_cap, 128);
    TG_EXPECT_EQ(loop->heap_len, 65);
    TG_EXPECT(heap_ok(loop));
    fire_at(loop, 1000);
    TG_EXPECT_EQ(nfired, 65);
    TG_EXPECT_EQ(fired_order[0], 64);
    TG_EXPECT_EQ(fired_order[1], 63);
    TG_EXPECT_EQ(fired_order[64], 0);
    tg_loop_free(loop);
}

/* Equal due times all fire; a timer due exactly at now fires. */
static void test_equal_and_boundary(void)
{
    struct tg_loop *loop = new_loop();
    for (int i = 0; i < 10; i++)
        tg_timer_start(loop, &timers[i], 500, record_cb, (void *)(intptr_t)i);
    fire_at(loop, 499);
    TG_EXPECT_EQ(nfired, 0);
    fire_at(loop, 500);
    TG_EXPECT_EQ(nfired, 10);
    /* No timers: nothing happens. */
    fire_at(loop, 10000);
    TG_EXPECT_EQ(nfired, 10);
    tg_loop_free(loop);
}

/* ---- re-arm and stop -------------------------------------------------------------- */

static void other_cb(struct tg_timer *t)
{
    (void)t;
    if (nfired < (int)(sizeof fired_order / sizeof fired_order[0]))
        fired_order[nfired++] = 1000;
}

static void test_rearm(void)
{
    struct tg_loop *loop = new_loop();
    struct tg_timer *a = &timers[0], *b = &timers[1], *c = &timers[2];
    tg_timer_start(loop, a, 100, record_cb, (void *)(intptr_t)0);
    tg_timer_start(loop, b, 200, record_cb, (void *)(intptr_t)1);
    tg_timer_start(loop, c, 300, record_cb, (void *)(intptr_t)2);

    /* Earlier: c moves to the top. */
    tg_timer_start(loop, c, 50, record_cb, (void *)(intptr_t)2);
    TG_EXPECT_EQ(loop->heap_len, 3); /* re-armed in place, not added twice */
    TG_EXPECT_EQ(c->due_us, 50);
    TG_EXPECT(loop->heap[0] == c);
    TG_EXPECT(heap_ok(loop));
    /* Later: a moves behind b. */
    tg_timer_start(loop, a, 400, record_cb, (void *)(intptr_t)0);
    TG_EXPECT_EQ(loop->heap_len, 3);
    TG_EXPECT(heap_ok(loop));
    /* Same time again: still armed once. */
    tg_timer_start(loop, b, 200, record_cb, (void *)(intptr_t)1);
    TG_EXPECT_EQ(loop->heap_len, 3);
    TG_EXPECT(heap_ok(loop));

    fire_at(loop, 1000);
    TG_EXPECT_EQ(nfired, 3);
    TG_EXPECT_EQ(fired_order[0], 2);
    TG_EXPECT_EQ(fired_order[1], 1);
    TG_EXPECT_EQ(fired_order[2], 0);

    /* Re-arming replaces the callback and data. */
    reset_fired();
    tg_timer_start(loop, a, 10, record_cb, (void *)(intptr_t)7);
    tg_timer_start(loop, a, 20, other_cb, NULL);
    TG_EXPECT(a->cb == other_cb);
    TG_EXPECT(a->data == NULL);
    fire_at(loop, 1000);
    TG_EXPECT_EQ(nfired, 1);
    TG_EXPECT_EQ(fired_order[0], 1000);

    /* A fired timer may be armed again (one-shot, reusable). */
    reset_fired();
    tg_timer_start(loop, a, 2000, record_cb, (void *)(intptr_t)0);
    TG_EXPECT(tg_timer_armed(a));
    fire_at(loop, 2000);
    TG_EXPECT_EQ(nfired, 1);
    tg_loop_free(loop);
}

static void test_stop(void)
{
    struct tg_loop *loop = new_loop();
    /* Unarmed (zeroed, never started): no-op. */
    tg_timer_stop(loop, &timers[0]);
    TG_EXPECT(!tg_timer_armed(&timers[0]));
    TG_EXPECT_EQ(loop->heap_len, 0);

    for (int i = 0; i < 10; i++)
        tg_timer_start(loop, &timers[i], 100 + i * 10, record_cb, (void *)(intptr_t)i);
    /* Stop the top, one in the middle and the last element. */
    tg_timer_stop(loop, &timers[0]);
    tg_timer_stop(loop, &timers[5]);
    tg_timer_stop(loop, loop->heap[loop->heap_len - 1]);
    TG_EXPECT_EQ(loop->heap_len, 7);
    TG_EXPECT(!tg_timer_armed(&timers[0]));
    TG_EXPECT(!tg_timer_armed(&timers[5]));
    TG_EXPECT(heap_ok(loop));
    /* Stopping again: no-op. */
    tg_timer_stop(loop, &timers[5]);
    TG_EXPECT_EQ(loop->heap_len, 7);
    fire_at(loop, 1000);
    TG_EXPECT_EQ(nfired, 7);
    for (int i = 0; i < nfired; i++) {
        TG_EXPECT_NE(fired_order[i], 0);
        TG_EXPECT_NE(fired_order[i], 5);
        if (i > 0)
            TG_EXPECT_LT(fired_order[i - 1], fired_order[i]);
    }
    /* Stopping the only timer. */
    tg_timer_start(loop, &timers[0], 5, record_cb, NULL);
    tg_timer_stop(loop, &timers[0]);
    TG_EXPECT_EQ(loop->heap_len, 0);
    TG_EXPECT_EQ(tg__loop_timeout_ms(loop), -1);
    tg_loop_free(loop);
}

/* Random start / re-arm / stop; the heap stays valid after every step, and the fire order
 * matches a plain sort of what is still armed. */
static void test_random_ops(void)
{
    struct tg_loop *loop = new_loop();
    bool ok = true;
    for (int step = 0; step < 20000; step++) {
        struct tg_timer *t = &timers[rng() % NT];
        uint32_t op = rng() % 4;
        if (op == 3)
            tg_timer_stop(loop, t);
        else
            tg_timer_start(loop, t, (int64_t)(rng() % 5000), record_cb,
                           (void *)(intptr_t)(t - timers));
        if (!heap_ok(loop))
            ok = false;
    }
    TG_EXPECT(ok);
    uint32_t armed = 0;
    for (int i = 0; i < NT; i++)
        armed += tg_timer_armed(&timers[i]);
    TG_EXPECT_EQ(loop->heap_len, armed);
    fire_at(loop, 5000);
    TG_EXPECT_EQ(nfired, (int)armed);
    bool sorted = true;
    for (int i = 1; i < nfired; i++)
        if (timers[fired_order[i - 1]].due_us > timers[fired_order[i]].due_us)
            sorted = false;
    TG_EXPECT(sorted);
    TG_EXPECT_EQ(loop->heap_len, 0);
    tg_loop_free(loop);
}

/* ---- callbacks that change the heap ----------------------------------------------- */

struct cb_ctx {
    struct tg_loop *loop;
    struct tg_timer a, b, c, late, spawned;
    int a_runs, b_runs, c_runs, late_runs, spawned_runs;
    uint64_t a_turn, spawned_turn, late_turn;
    char log[16];
    size_t nlog;
};

static void logc(struct cb_ctx *x, char ch)
{
    if (x->nlog + 1 < sizeof x->log) {
        x->log[x->nlog++] = ch;
        x->log[x->nlog] = '\0';
    }
}

static uint64_t turns_of(struct tg_loop *loop)
{
    struct tg_loop_stats st;
    tg_loop_stats(loop, &st, false);
    return st.turns;
}

static void b_cb(struct tg_timer *t)
{
    struct cb_ctx *x = t->data;
    x->b_runs++;
    logc(x, 'b');
}

static void c_cb(struct tg_timer *t)
{
    struct cb_ctx *x = t->data;
    x->c_runs++;
    logc(x, 'c');
}

static void spawned_cb(struct tg_timer *t)
{
    struct cb_ctx *x = t->data;
    x->spawned_runs++;
    x->spawned_turn = turns_of(x->loop);
    logc(x, 's');
}

static void late_cb(struct tg_timer *t)
{
    struct cb_ctx *x = t->data;
    x->late_runs++;
    x->late_turn = turns_of(x->loop);
    logc(x, 'l');
    tg_loop_stop(x->loop);
}

/* a stops b (due at the same time, not yet fired) and c (due later), and arms `spawned`
 * in the past and `late` 1 ms in the future. */
static void a_cb(struct tg_timer *t)
{
    struct cb_ctx *x = t->data;
    x->a_runs++;
    x->a_turn = turns_of(x->loop);
    logc(x, 'a');
    tg_timer_stop(x->loop, &x->b);
    tg_timer_stop(x->loop, &x->c);
    TG_EXPECT(!tg_timer_armed(&x->b));
    int64_t now = tg_loop_now_us(x->loop);
    tg_timer_start(x->loop, &x->spawned, now - 1000, spawned_cb, x);
    /* Armed, and not run inline. */
    TG_EXPECT(tg_timer_armed(&x->spawned));
    TG_EXPECT_EQ(x->spawned_runs, 0);
    tg_timer_start(x->loop, &x->late, now + 1000, late_cb, x);
}

static void test_callbacks_modify_heap(void)
{
    /* Through the heap alone: the spawned timer waits for the next pass. */
    static struct cb_ctx x;
    memset(&x, 0, sizeof x);
    TG_EXPECT_EQ(tg_loop_new(&x.loop, NULL, NULL), 0);
    struct tg_loop *loop = x.loop;
    loop->now_us = 10000;
    tg_timer_start(loop, &x.a, 5000, a_cb, &x);
    tg_timer_start(loop, &x.b, 5000, b_cb, &x);
    tg_timer_start(loop, &x.c, 8000, c_cb, &x);
    /* Make sure a fires before b although both are due at 5000. */
    tg_timer_start(loop, &x.a, 4999, a_cb, &x);
    tg__loop_run_timers(loop);
    TG_EXPECT_STREQ(x.log, "a");
    TG_EXPECT_EQ(x.spawned_runs, 0);
    TG_EXPECT_EQ(tg__loop_timeout_ms(loop), 0);
    tg__loop_run_timers(loop);
    TG_EXPECT_STREQ(x.log, "as");
    TG_EXPECT_EQ(x.b_runs, 0);
    TG_EXPECT_EQ(x.c_runs, 0);
    TG_EXPECT_EQ(x.spawned_runs, 1);
    TG_EXPECT(tg_timer_armed(&x.late));
    TG_EXPECT_EQ(loop->heap_len, 1);
    TG_EXPECT(heap_ok(loop));
    tg_timer_stop(loop, &x.late);
    tg_loop_free(loop);

    /* Through tg_loop_run: `spawned` fires in the turn after `a`'s; `late` in a later
     * turn (the poll waits for it), which stops the loop. */
    memset(&x, 0, sizeof x);
    TG_EXPECT_EQ(tg_loop_new(&x.loop, NULL, NULL), 0);
    loop = x.loop;
    int64_t now = tg_loop_now_us(loop);
    tg_timer_start(loop, &x.a, now - 2, a_cb, &x);
    tg_timer_start(loop, &x.b, now - 1, b_cb, &x);
    tg_timer_start(loop, &x.c, now + 500000, c_cb, &x);
    TG_EXPECT_EQ(tg_loop_run(loop), 0);
    TG_EXPECT_STREQ(x.log, "asl");
    TG_EXPECT_EQ(x.a_turn, 1);
    TG_EXPECT_EQ(x.spawned_turn, x.a_turn + 1);
    TG_EXPECT_GT(x.late_turn, x.a_turn);
    TG_EXPECT_EQ(loop->heap_len, 0);
    tg_loop_free(loop);
}

/* A callback that re-arms its own timer at `now` fires once per pass, not forever. */
static int self_runs;

static void self_cb(struct tg_timer *t)
{
    struct tg_loop *loop = t->data;
    self_runs++;
    tg_timer_start(loop, t, loop->now_us, self_cb, loop);
}

static void test_rearm_at_now_does_not_spin(void)
{
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_timer t = {0};
    tg_timer_start(loop, &t, loop->now_us, self_cb, loop);
    tg__loop_run_timers(loop);
    TG_EXPECT_EQ(self_runs, 1);
    tg__loop_run_timers(loop);
    TG_EXPECT_EQ(self_runs, 2);
    tg_timer_stop(loop, &t);
    tg_loop_free(loop);
}

/* A timer whose callback re-arms itself for a later time fires once per call. */
static int periodic_runs;

static void periodic_cb(struct tg_timer *t)
{
    periodic_runs++;
    struct tg_loop *loop = t->data;
    tg_timer_start(loop, t, loop->now_us + 100, periodic_cb, loop);
}

static void test_self_rearm(void)
{
    struct tg_loop *loop = new_loop();
    struct tg_timer t = {0};
    loop->now_us = 0;
    tg_timer_start(loop, &t, 100, periodic_cb, loop);
    fire_at(loop, 100);
    TG_EXPECT_EQ(periodic_runs, 1);
    TG_EXPECT_EQ(t.due_us, 200);
    fire_at(loop, 150);
    TG_EXPECT_EQ(periodic_runs, 1);
    fire_at(loop, 200);
    TG_EXPECT_EQ(periodic_runs, 2);
    tg_timer_stop(loop, &t);
    tg_loop_free(loop);
}

/* ---- poll timeout ----------------------------------------------------------------- */

static void test_timeout_ms(void)
{
    struct tg_loop *loop = new_loop();
    loop->now_us = 1000000;
    TG_EXPECT_EQ(tg__loop_timeout_ms(loop), -1);
    struct tg_timer t = {0};
    static const struct {
        int64_t delta_us;
        int ms;
    } cases[] = {
        {-5000000, 0},
        {-1, 0},
        {0, 0},
        {1, 1},
        {999, 1},
        {1000, 1},
        {1001, 2},
        {1999, 2},
        {2000, 2},
        {2001, 3},
        {1500000, 1500},
        {3600000000LL, 3600000},
        {3600000001LL, 3600000},
        {INT64_C(1) << 50, 3600000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tg_timer_start(loop, &t, loop->now_us + cases[i].delta_us, record_cb, NULL);
        int got = tg__loop_timeout_ms(loop);
        if (got != cases[i].ms)
            fprintf(stderr, "  case delta_us=%lld\n", (long long)cases[i].delta_us);
        TG_EXPECT_EQ(got, cases[i].ms);
    }
    /* The earliest timer decides. */
    struct tg_timer u = {0};
    tg_timer_start(loop, &t, loop->now_us + 10000, record_cb, NULL);
    tg_timer_start(loop, &u, loop->now_us + 2500, record_cb, NULL);
    TG_EXPECT_EQ(tg__loop_timeout_ms(loop), 3);
    tg_timer_stop(loop, &u);
    TG_EXPECT_EQ(tg__loop_timeout_ms(loop), 10);
    tg_timer_stop(loop, &t);
    TG_EXPECT_EQ(tg__loop_timeout_ms(loop), -1);
    tg_loop_free(loop);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_random_order();
    test_heap_growth();
    test_equal_and_boundary();
    test_rearm();
    test_stop();
    test_random_ops();
    test_callbacks_modify_heap();
    test_rearm_at_now_does_not_spin();
    test_self_rearm();
    test_timeout_ms();
    return tg_test_report(argv[0]);
}
