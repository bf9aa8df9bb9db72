/* SPDX-License-Identifier: MIT */
/* The simulated agent pool; see agents.h for the model and the sharing scheme. The
 * packed settings word: bits 0-7 max_coalition_size, bits 8-31 coordination_timeout_ms
 * (600000 needs 20 bits), bit 32 parallel_execution. */
#include "demo/agents.h"

static uint64_t pack(const struct tg_demo_agents_config *c)
{
    return (uint64_t)(c->max_coalition_size & 0xff) |
           (uint64_t)(c->coordination_timeout_ms & 0xffffff) << 8 |
           (uint64_t)c->parallel_execution << 32;
}

static void unpack(uint64_t w, struct tg_demo_agents_config *c)
{
    c->max_coalition_size = (uint32_t)(w & 0xff);
    c->coordination_timeout_ms = (uint32_t)(w >> 8 & 0xffffff);
    c->parallel_execution = (w >> 32 & 1) != 0;
}

void tg_demo_agents_defaults(struct tg_demo_agents_config *c)
{
    /* Big coalitions, a long timeout and serial execution: the slow setting the
     * runbook's "reduce coordination complexity" step moves away from. */
    c->max_coalition_size = 10;
    c->coordination_timeout_ms = 30000;
    c->parallel_execution = false;
}

void tg_demo_agents_init(struct tg_demo_agents *a)
{
    struct tg_demo_agents_config c;
    tg_demo_agents_defaults(&c);
    atomic_init(&a->config, pack(&c));
    atomic_init(&a->inflight, 0);
    atomic_init(&a->started, 0);
    atomic_init(&a->stale, 0);
    atomic_init(&a->cleaned, 0);
}

void tg_demo_agents_get(struct tg_demo_agents *a, struct tg_demo_agents_config *out)
{
    unpack(atomic_load_explicit(&a->config, memory_order_relaxed), out);
}

void tg_demo_agents_set(struct tg_demo_agents *a, const struct tg_demo_agents_patch *p,
                        struct tg_demo_agents_config *out)
{
    uint64_t old = atomic_load_explicit(&a->config, memory_order_relaxed), next;
    do {
        unpack(old, out);
        if (p->has & TG_DEMO_AGENTS_SET_COALITION)
            out->max_coalition_size = p->v.max_coalition_size;
        if (p->has & TG_DEMO_AGENTS_SET_TIMEOUT)
            out->coordination_timeout_ms = p->v.coordination_timeout_ms;
        if (p->has & TG_DEMO_AGENTS_SET_PARALLEL)
            out->parallel_execution = p->v.parallel_execution;
        next = pack(out);
    } while (!atomic_compare_exchange_weak_explicit(&a->config, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void tg_demo_agents_begin(struct tg_demo_agents *a, int64_t delay_us, bool hang)
{
    struct tg_demo_agents_config c;
    tg_demo_agents_get(a, &c);
    uint64_t n = atomic_fetch_add_explicit(&a->started, 1, memory_order_relaxed) + 1;
    atomic_fetch_add_explicit(&a->inflight, 1, memory_order_relaxed);
    if (hang || delay_us >= (int64_t)c.coordination_timeout_ms * 1000 ||
        n % TG_DEMO_AGENT_STUCK_EVERY == 0)
        atomic_fetch_add_explicit(&a->stale, 1, memory_order_relaxed);
}

void tg_demo_agents_end(struct tg_demo_agents *a)
{
    atomic_fetch_sub_explicit(&a->inflight, 1, memory_order_relaxed);
}

uint64_t tg_demo_agents_cleanup(struct tg_demo_agents *a, uint64_t *remaining)
{
    uint64_t n = atomic_exchange_explicit(&a->stale, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&a->cleaned, n, memory_order_relaxed);
    *remaining = atomic_load_explicit(&a->inflight, memory_order_relaxed);
    return n;
}

void tg_demo_agents_model(const struct tg_demo_agents_config *c, uint64_t inflight,
                          struct tg_demo_agents_pool *out)
{
    uint32_t per = c->max_coalition_size < TG_DEMO_AGENT_POOL_SIZE ? c->max_coalition_size
                                                                   : TG_DEMO_AGENT_POOL_SIZE;
    if (per == 0)
        per = 1;
    uint64_t seats = c->parallel_execution ? TG_DEMO_AGENT_POOL_SIZE / per : 1;
    uint64_t running = inflight < seats ? inflight : seats;
    out->pool_size = TG_DEMO_AGENT_POOL_SIZE;
    out->active = (uint32_t)(running * per);
    out->idle = TG_DEMO_AGENT_POOL_SIZE - out->active;
    out->queued = inflight - running;
    out->coordinations = inflight;
    out->config = *c;
}

void tg_demo_agents_pool(struct tg_demo_agents *a, struct tg_demo_agents_pool *out)
{
    struct tg_demo_agents_config c;
    tg_demo_agents_get(a, &c);
    tg_demo_agents_model(&c, atomic_load_explicit(&a->inflight, memory_order_relaxed), out);
    out->started_total = atomic_load_explicit(&a->started, memory_order_relaxed);
    out->stale = atomic_load_explicit(&a->stale, memory_order_relaxed);
    out->cleaned_total = atomic_load_explicit(&a->cleaned, memory_order_relaxed);
}
