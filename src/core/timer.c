/* SPDX-License-Identifier: MIT */
/* Timer min-heap of the event loop. Each timer stores its 1-based heap index so stop
 * and re-arm are O(log n) without a search. The heap array grows by doubling and never
 * shrinks: after warm-up, arming a timer allocates nothing. Growth failure aborts:
 * timers are armed on paths that cannot report an error, and a worker that cannot grow
 * a few kilobytes is out of memory in every sense. */
#include <stdio.h>
#include <stdlib.h>

#include "core/loop.h"
#include "core/loop_int.h"

static void heap_set(struct tg_loop *loop, uint32_t i, struct tg_timer *t)
{
    loop->heap[i] = t;
    t->heap_idx = i + 1;
}

static void sift_up(struct tg_loop *loop, uint32_t i)
{
    struct tg_timer *t = loop->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (loop->heap[parent]->due_us <= t->due_us)
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void sift_down(struct tg_loop *loop, uint32_t i)
{
    struct tg_timer *t = loop->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        int64_t best = t->due_us;
        if (l < loop->heap_len && loop->heap[l]->due_us < best) {
            m = l;
            best = loop->heap[l]->due_us;
        }
        if (l + 1 < loop->heap_len && loop->heap[l + 1]->due_us < best)
            m = l + 1;
        if (m == i)
            break;
        heap_set(loop, i, loop->heap[m]);
        i = m;
    }
    heap_set(loop, i, t);
}

void tg_timer_stop(struct tg_loop *loop, struct tg_timer *t)
{
    if (!t->heap_idx)
        return;
    uint32_t i = t->heap_idx - 1;
    t->heap_idx = 0;
    struct tg_timer *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    loop->heap[i] = last;
    last->heap_idx = i + 1;
    if (i > 0 && loop->heap[(i - 1) / 2]->due_us > last->due_us)
        sift_up(loop, i);
    else
        sift_down(loop, i);
}

void tg_timer_start(struct tg_loop *loop, struct tg_timer *t, int64_t due_us, tg_timer_fn *cb,
                    void *data)
{
    t->cb = cb;
    t->data = data;
    t->epoch = loop->timer_epoch;
    if (t->heap_idx) {
        int64_t old = t->due_us;
        t->due_us = due_us;
        if (due_us < old)
            sift_up(loop, t->heap_idx - 1);
        else
            sift_down(loop, t->heap_idx - 1);
        return;
    }
    if (loop->heap_len == loop->heap_cap) {
        uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct tg_timer **h = realloc(loop->heap, cap * sizeof *h);
        if (!h) {
            fprintf(stderr, "fatal: out of memory growing the timer heap\n");
            abort();
        }
        loop->heap = h;
        loop->heap_cap = cap;
    }
    t->due_us = due_us;
    loop->heap[loop->heap_len++] = t;
    sift_up(loop, loop->heap_len - 1);
}

int tg__loop_timeout_ms(struct tg_loop *loop)
{
    if (loop->heap_len == 0)
        return -1;
    int64_t d = loop->heap[0]->due_us - loop->now_us;
    if (d <= 0)
        return 0;
    int64_t ms = (d + 999) / 1000;
    return ms > 3600000 ? 3600000 : (int)ms;
}

void tg__loop_run_timers(struct tg_loop *loop)
{
    /* A timer armed by a callback of this pass waits for the next pass even if it is
     * already due (libuv's rule): otherwise a callback that re-arms itself at `now`
     * would spin here forever. The next poll then has a zero timeout. */
    uint32_t epoch = ++loop->timer_epoch;
    while (loop->heap_len && loop->heap[0]->due_us <= loop->now_us &&
           loop->heap[0]->epoch != epoch) {
        struct tg_timer *t = loop->heap[0];
        tg_timer_stop(loop, t);
        t->cb(t);
    }
}
