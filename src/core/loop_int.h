/* SPDX-License-Identifier: MIT */
/* Loop internals shared by loop.c (poller) and timer.c (timer heap). */
#ifndef TG_CORE_LOOP_INT_H
#define TG_CORE_LOOP_INT_H

#include "core/loop.h"

struct tg_loop {
    int epfd;
    int wakefd;
    bool stopping;
    int64_t now_us;
    tg_wake_fn *wake;
    void *wake_data;
    struct tg_timer **heap; /* min-heap on due_us */
    uint32_t heap_len, heap_cap;
    uint32_t timer_epoch; /* bumped at each pass over due timers */
    struct tg_defer *defer_head, *defer_tail;
    struct tg_loop_stats stats;
};

/* Milliseconds until the earliest timer (rounded up), or -1 if none. */
int tg__loop_timeout_ms(struct tg_loop *loop);

/* Fires every timer due at loop->now_us. */
void tg__loop_run_timers(struct tg_loop *loop);

#endif
