/* SPDX-License-Identifier: MIT */
/* Grace periods for memory that workers may still be reading: the control thread marks
 * every live worker's loop-turn count when it unlinks something, and the grace period is
 * over once each of them has published a later count (or exited). Workers hold pointers
 * to shared objects only within one loop turn unless they say otherwise, so after that,
 * nobody can still see what was unlinked before the marks. Used by endpoint aging and by
 * the reclaim of circuit-breaker windows that a configuration change replaced. */
#include <stdatomic.h>

#include "proxy/proxy_int.h"

void tg__quiesce_start(struct tg__quiesce *q, struct tg_gateway *gw)
{
    /* Whatever was unlinked before this point is seen as unlinked by any worker turn
     * that starts after it. */
    atomic_thread_fence(memory_order_seq_cst);
    q->n = tg__gateway_nlive(gw);
    for (uint32_t i = 0; i < q->n; i++) {
        struct tg_worker *w = tg__gateway_live(gw, i);
        q->marks[i] = (struct tg__qmark){w, atomic_load_explicit(&w->turns, memory_order_relaxed)};
    }
    q->armed = true;
}

bool tg__quiesce_over(const struct tg__quiesce *q)
{
    for (uint32_t i = 0; i < q->n; i++) {
        const struct tg_worker *w = q->marks[i].w;
        if (!w || atomic_load_explicit(&w->exited, memory_order_acquire))
            continue;
        if (atomic_load_explicit(&w->turns, memory_order_acquire) == q->marks[i].turns)
            return false;
    }
    return true;
}

void tg__quiesce_worker_gone(struct tg__quiesce *q, struct tg_worker *w)
{
    for (uint32_t i = 0; i < q->n; i++)
        if (q->marks[i].w == w)
            q->marks[i].w = NULL;
}
