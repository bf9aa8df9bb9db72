/* SPDX-License-Identifier: MIT */
/* The scheduler's decisions; see sched.h. Only CLOCK_MONOTONIC times are given here, which
 * start near the boot and never go negative, so plain division finds the boundaries. */
#include "control/sched.h"

int64_t tg_control_sched_first(int64_t period_us, int64_t now_us)
{
    return (now_us / period_us + 1) * period_us;
}

int64_t tg_control_sched_ran(struct tg_control_task_stats *st, int64_t period_us, int64_t due_us,
                             int64_t start_us, int64_t end_us)
{
    int64_t took = end_us - start_us;
    st->runs++;
    st->last_us = took;
    if (took > st->worst_us)
        st->worst_us = took;
    int64_t next = due_us + period_us;
    /* A boundary the run ended on exactly is still on time: it runs next turn. */
    if (next >= end_us)
        return next;
    int64_t resume = (end_us + period_us - 1) / period_us * period_us;
    st->overruns++;
    st->skipped += (uint64_t)((resume - next) / period_us);
    return resume;
}
