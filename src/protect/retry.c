/* SPDX-License-Identifier: MIT */
/* Retry decisions and the shared retry budget (see retry.h for the policy). The budget
 * is one counter, retries in flight, taken with a CAS bounded by the budget when a retry
 * is decided; it and the other counters are written only on failures. */
#include "protect/retry.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

struct tg_retry {
    atomic_uint retries; /* retries in flight, from decision to end */
    atomic_ullong retries_total, no_budget, exhausted, no_time;
    atomic_ullong by[TG_RETRY_LATE_FAILURE]; /* retries granted, by the failure */
};

void tg_retry_params_init(struct tg_retry_params *p)
{
    *p = (struct tg_retry_params){
        .max_attempts = 3,
        .base_delay_us = 1000000,
        .factor = 2.0,
        .max_delay_us = 10000000,
        .jitter = TG_RETRY_JITTER_FULL,
        .statuses = {502, 503, 504},
        .nstatuses = 3,
        .budget_ratio_pct = 20,
        .min_concurrent = 3,
    };
}

int tg_retry_new(struct tg_retry **out)
{
    struct tg_retry *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    *out = r;
    return 0;
}

void tg_retry_free(struct tg_retry *r)
{
    free(r);
}

static bool status_listed(const struct tg_retry_params *p, int status)
{
    for (uint32_t i = 0; i < p->nstatuses && i < TG_RETRY_MAX_STATUSES; i++)
        if (p->statuses[i] == status)
            return true;
    return false;
}

bool tg_retry_worth(const struct tg_retry_params *p, const struct tg_retry_try *t)
{
    if (!t->replayable || t->failure == TG_RETRY_LATE_FAILURE)
        return false;
    if (t->failure == TG_RETRY_CONNECT)
        return true; /* the server never saw the request */
    if (!t->idempotent && !p->non_idempotent)
        return false; /* it may have acted on it: a second try could do it twice */
    switch (t->failure) {
    case TG_RETRY_RESET:
    case TG_RETRY_TIMEOUT:
        return true;
    case TG_RETRY_OK:
        return status_listed(p, t->status);
    default:
        return false;
    }
}

/* A uniform double in [0, 1) from the top 53 bits of `rnd`. */
static double unit(uint64_t rnd)
{
    return (double)(rnd >> 11) * (1.0 / 9007199254740992.0);
}

int64_t tg_retry_backoff(const struct tg_retry_params *p, uint32_t n, int64_t prev_delay_us,
                         uint64_t rnd)
{
    double cap = (double)p->max_delay_us, base = (double)p->base_delay_us;
    if (p->jitter == TG_RETRY_JITTER_DECORRELATED) {
        double prev = prev_delay_us > 0 ? (double)prev_delay_us : base;
        double hi = 3 * prev < cap ? 3 * prev : cap;
        if (hi <= base)
            return (int64_t)(base < cap ? base : cap);
        return (int64_t)(base + unit(rnd) * (hi - base));
    }
    double d = base * pow(p->factor, n > 0 ? (double)(n - 1) : 0.0);
    if (d > cap)
        d = cap;
    return (int64_t)(p->jitter == TG_RETRY_JITTER_FULL ? unit(rnd) * d : d);
}

/* Takes a retry's place if the retries in flight are below the budget, the first tries
 * being the tries in flight that are not retries. */
static bool take_budget(struct tg_retry *r, const struct tg_retry_params *p, uint32_t inflight)
{
    unsigned cur = atomic_load_explicit(&r->retries, memory_order_relaxed);
    do {
        uint64_t first = inflight > cur ? inflight - cur : 0;
        uint64_t budget = first * p->budget_ratio_pct / 100;
        if (budget < p->min_concurrent)
            budget = p->min_concurrent;
        if (cur >= budget)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&r->retries, &cur, cur + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

static void count(atomic_ullong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void tg_retry_cancel(struct tg_retry *r)
{
    atomic_fetch_sub_explicit(&r->retries, 1, memory_order_relaxed);
}

void tg_retry_end(struct tg_retry *r, const struct tg_retry_params *p, const struct tg_retry_try *t,
                  int64_t now_us, uint64_t rnd, struct tg_retry_decision *out)
{
    if (t->attempt > 1)
        atomic_fetch_sub_explicit(&r->retries, 1, memory_order_relaxed);
    *out = (struct tg_retry_decision){.verdict = TG_RETRY_DONE};
    if (!tg_retry_worth(p, t))
        return; /* a success, or a failure a second try would not mend */
    if (t->attempt >= p->max_attempts) {
        out->verdict = TG_RETRY_EXHAUSTED;
        count(&r->exhausted);
        return;
    }
    int64_t delay = tg_retry_backoff(p, t->attempt, t->prev_delay_us, rnd);
    if (t->deadline_us && now_us + delay >= t->deadline_us) {
        out->verdict = TG_RETRY_NO_TIME;
        count(&r->no_time);
        return;
    }
    if (!take_budget(r, p, t->inflight)) {
        out->verdict = TG_RETRY_NO_BUDGET;
        count(&r->no_budget);
        return;
    }
    count(&r->retries_total);
    count(&r->by[t->failure]);
    out->verdict = TG_RETRY_AGAIN;
    out->delay_us = delay;
    out->other_server = t->other_server;
}

void tg_retry_read(const struct tg_retry *r, struct tg_retry_stats *out)
{
    out->retries_inflight = atomic_load_explicit(&r->retries, memory_order_relaxed);
    out->retries_total = atomic_load_explicit(&r->retries_total, memory_order_relaxed);
    out->no_budget_total = atomic_load_explicit(&r->no_budget, memory_order_relaxed);
    out->exhausted_total = atomic_load_explicit(&r->exhausted, memory_order_relaxed);
    out->no_time_total = atomic_load_explicit(&r->no_time, memory_order_relaxed);
    for (int i = 0; i < TG_RETRY_LATE_FAILURE; i++)
        out->retries_by[i] = atomic_load_explicit(&r->by[i], memory_order_relaxed);
}
