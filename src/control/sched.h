/* SPDX-License-Identifier: MIT */
/* When the control thread's periodic tasks run (control.h's tg_control_every). Tasks run
 * on the boundaries of their period on the monotonic clock (the multiples of the period),
 * so tasks of equal period run in the same loop turn and a 1 s task runs on the second.
 * A run that ends after the next boundary has passed skips the boundaries it missed
 * instead of queueing them: a slow task runs late once, never in a burst that makes it
 * later still. These functions only decide: they read no clock and touch no loop, so
 * tests drive them with explicit times. */
#ifndef TG_CONTROL_SCHED_H
#define TG_CONTROL_SCHED_H

#include <stdint.h>

/* One task's figures, for /metrics. */
struct tg_control_task_stats {
    uint64_t runs;
    uint64_t overruns; /* runs that ended after their next boundary had passed */
    uint64_t skipped;  /* boundaries missed that way, so not run */
    int64_t last_us;   /* duration of the last run */
    int64_t worst_us;  /* longest run since start */
};

/* The first boundary of `period_us` (> 0) strictly after `now_us` (>= 0). */
int64_t tg_control_sched_first(int64_t period_us, int64_t now_us);

/* Records in `st` a run due at `due_us` that started at `start_us` and ended at `end_us`,
 * and returns when the task is next due: the boundary after `due_us`, or when that one
 * passed before the run ended (a slow run, or a loop that started it late), the first
 * boundary at or after `end_us`. */
int64_t tg_control_sched_ran(struct tg_control_task_stats *st, int64_t period_us, int64_t due_us,
                             int64_t start_us, int64_t end_us);

#endif
