/* SPDX-License-Identifier: MIT */
/* Concurrency limiter (see conclimit.h for the policy). Shared state is three words:
 * the in-flight count (the CAS that admits), the waiter counts of all tiers packed in
 * one 64-bit word (so one CAS both bounds the queue and keeps the tiers' order visible
 * to every worker), and the adaptive limit. Counters that only metrics read sit on
 * another cache line, so the refusals of one worker do not slow the admissions of the
 * others. Nothing here allocates after tg_conclimit_new. */
#include "protect/conclimit.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NO_LIMIT UINT32_MAX
#define QBITS 16 /* bits per tier in the packed waiter counts */

struct tg_conclimit {
    alignas(64) atomic_uint inflight;
    atomic_uint peak;        /* highest inflight since tg_conclimit_take_peak */
    _Atomic uint64_t queued; /* waiters of tier t in bits [QBITS*t, QBITS*(t+1)) */
    atomic_uint limit;       /* adaptive limit, 0 for none */
    alignas(64) atomic_ullong rejected[TG_CONCLIMIT_R_COUNT][TG_CONCLIMIT_TIERS];
    atomic_ullong admitted_soft, queued_total, dequeued_total;
};

static const char *const tier_names[TG_CONCLIMIT_TIERS] = {"critical", "standard", "sheddable"};
static const char *const reason_names[TG_CONCLIMIT_R_COUNT] = {"limit", "shed", "queue_full",
                                                               "queue_timeout"};

const char *tg_conclimit_tier_name(enum tg_conclimit_tier t)
{
    return (unsigned)t < TG_CONCLIMIT_TIERS ? tier_names[t] : NULL;
}

const char *tg_conclimit_reason_name(enum tg_conclimit_reason r)
{
    return (unsigned)r < TG_CONCLIMIT_R_COUNT ? reason_names[r] : NULL;
}

void tg_conclimit_params_init(struct tg_conclimit_params *p)
{
    *p = (struct tg_conclimit_params){
        .queue_timeout_us = 1000000,
        .share_pct = {100, 90, 80},
    };
}

void tg_conclimit_queue_init(struct tg_conclimit_queue *q)
{
    memset(q, 0, sizeof *q);
}

int tg_conclimit_new(struct tg_conclimit **out)
{
    struct tg_conclimit *cl = aligned_alloc(64, sizeof *cl);
    if (!cl)
        return -ENOMEM;
    memset(cl, 0, sizeof *cl);
    *out = cl;
    return 0;
}

void tg_conclimit_free(struct tg_conclimit *cl)
{
    free(cl);
}

/* ceil(n * pct / 100), with "no limit" kept as is. */
static uint32_t share_of(uint32_t n, uint8_t pct)
{
    if (n == NO_LIMIT || pct == 0 || pct >= 100)
        return n;
    return (uint32_t)(((uint64_t)n * pct + 99) / 100);
}

struct limits {
    uint32_t hard, soft;
};

/* The configured limits, lowered by the adaptive limit when that is set and lower. The
 * soft limit keeps its ratio to the hard one, so "prefer another server" still comes
 * before refusals when the adaptive limit has shrunk both. */
static struct limits limits_of(const struct tg_conclimit *cl, const struct tg_conclimit_params *p)
{
    struct limits l = {.hard = p->hard_limit ? p->hard_limit : NO_LIMIT};
    l.soft = p->soft_limit && p->soft_limit < l.hard ? p->soft_limit : l.hard;
    uint32_t a = atomic_load_explicit(&cl->limit, memory_order_relaxed);
    if (a && a < l.hard) {
        if (l.hard == NO_LIMIT)
            l.soft = l.soft < a ? l.soft : a;
        else
            l.soft = (uint32_t)(((uint64_t)l.soft * a + l.hard - 1) / l.hard);
        l.hard = a;
    }
    return l;
}

static uint32_t tier_cap(const struct tg_conclimit_params *p, struct limits l,
                         enum tg_conclimit_tier t)
{
    if (t == TG_CONCLIMIT_CRITICAL)
        return l.hard;
    uint32_t cap = share_of(l.hard, p->share_pct[t]);
    if (t == TG_CONCLIMIT_SHEDDABLE && l.soft < cap)
        cap = l.soft;
    return cap;
}

static uint32_t queue_cap(const struct tg_conclimit_params *p, enum tg_conclimit_tier t)
{
    uint32_t qmax = p->queue_max < TG_CONCLIMIT_QUEUE_MAX ? p->queue_max : TG_CONCLIMIT_QUEUE_MAX;
    if (t == TG_CONCLIMIT_SHEDDABLE)
        return 0;
    return t == TG_CONCLIMIT_CRITICAL ? qmax : share_of(qmax, p->share_pct[t]);
}

/* Waiter-count bits of the tiers before `t` (strictly higher priority). */
static uint64_t mask_above(enum tg_conclimit_tier t)
{
    return ((uint64_t)1 << (QBITS * (unsigned)t)) - 1;
}

static uint32_t queued_total(uint64_t word)
{
    uint32_t n = 0;
    for (unsigned t = 0; t < TG_CONCLIMIT_TIERS; t++)
        n += (uint32_t)(word >> (QBITS * t)) & ((1u << QBITS) - 1);
    return n;
}

static void raise_peak(struct tg_conclimit *cl, uint32_t n)
{
    uint32_t pk = atomic_load_explicit(&cl->peak, memory_order_relaxed);
    while (n > pk && !atomic_compare_exchange_weak_explicit(&cl->peak, &pk, n, memory_order_relaxed,
                                                            memory_order_relaxed))
        ;
}

/* Takes a slot if fewer than `cap` are in flight; *n is the count with it. */
static bool take(struct tg_conclimit *cl, uint32_t cap, uint32_t *n)
{
    uint32_t cur = atomic_load_explicit(&cl->inflight, memory_order_relaxed);
    do {
        if (cur >= cap)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&cl->inflight, &cur, cur + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    *n = cur + 1;
    raise_peak(cl, *n);
    return true;
}

static void count(atomic_ullong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void link_tail(struct tg_conclimit_queue *q, struct tg_conclimit_waiter *w)
{
    w->next = NULL;
    w->prev = q->tail[w->tier];
    if (w->prev)
        w->prev->next = w;
    else
        q->head[w->tier] = w;
    q->tail[w->tier] = w;
    q->n++;
}

static void unlink_waiter(struct tg_conclimit *cl, struct tg_conclimit_queue *q,
                          struct tg_conclimit_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head[w->tier] = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail[w->tier] = w->prev;
    w->prev = w->next = NULL;
    q->n--;
    atomic_fetch_sub_explicit(&cl->queued, (uint64_t)1 << (QBITS * (unsigned)w->tier),
                              memory_order_relaxed);
}

/* Reserves a place in the shared queue bound, then parks `w` on this worker's FIFO. */
static bool park(struct tg_conclimit *cl, const struct tg_conclimit_params *p,
                 struct tg_conclimit_queue *q, struct tg_conclimit_waiter *w,
                 enum tg_conclimit_tier t, int64_t now_us)
{
    uint32_t qcap = queue_cap(p, t);
    uint64_t cur = atomic_load_explicit(&cl->queued, memory_order_relaxed);
    do {
        if (queued_total(cur) >= qcap)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&cl->queued, &cur,
                                                    cur + ((uint64_t)1 << (QBITS * (unsigned)t)),
                                                    memory_order_relaxed, memory_order_relaxed));
    w->tier = t;
    w->enqueued_us = now_us;
    link_tail(q, w);
    count(&cl->queued_total);
    return true;
}

static enum tg_conclimit_verdict admitted(struct tg_conclimit *cl, uint32_t n, struct limits l)
{
    if (n <= l.soft)
        return TG_CONCLIMIT_ADMIT;
    count(&cl->admitted_soft);
    return TG_CONCLIMIT_ADMIT_SOFT;
}

enum tg_conclimit_verdict
tg_conclimit_admit(struct tg_conclimit *cl, const struct tg_conclimit_params *p,
                   struct tg_conclimit_queue *q, struct tg_conclimit_waiter *w,
                   enum tg_conclimit_tier tier, int64_t now_us, enum tg_conclimit_reason *reason)
{
    struct limits l = limits_of(cl, p);
    uint32_t cap = tier_cap(p, l, tier), n;
    /* Waiters of this tier or a higher one go first; for sheddable, any waiter at all
     * means overload, and sheddable traffic is the first to go. */
    uint64_t ahead = atomic_load_explicit(&cl->queued, memory_order_relaxed) &
                     (tier == TG_CONCLIMIT_SHEDDABLE ? ~(uint64_t)0 : mask_above(tier + 1));
    if (!ahead && take(cl, cap, &n))
        return admitted(cl, n, l);
    bool can_queue = q && w && queue_cap(p, tier) > 0;
    if (can_queue && park(cl, p, q, w, tier, now_us))
        return TG_CONCLIMIT_QUEUE;
    /* The queue is full, yet a slot may be free (its waiters are on workers that have
     * not polled yet): refusing would answer 503 with capacity to spare. */
    if (ahead && tier != TG_CONCLIMIT_SHEDDABLE && take(cl, cap, &n))
        return admitted(cl, n, l);
    enum tg_conclimit_reason r;
    if (atomic_load_explicit(&cl->inflight, memory_order_relaxed) < l.hard)
        r = TG_CONCLIMIT_R_SHED;
    else
        r = can_queue ? TG_CONCLIMIT_R_QUEUE_FULL : TG_CONCLIMIT_R_LIMIT;
    count(&cl->rejected[r][tier]);
    if (reason)
        *reason = r;
    return TG_CONCLIMIT_REJECT;
}

bool tg_conclimit_release(struct tg_conclimit *cl)
{
    atomic_fetch_sub_explicit(&cl->inflight, 1, memory_order_relaxed);
    return atomic_load_explicit(&cl->queued, memory_order_relaxed) != 0;
}

enum tg_conclimit_poll_result tg_conclimit_poll(struct tg_conclimit *cl,
                                                const struct tg_conclimit_params *p,
                                                struct tg_conclimit_queue *q, int64_t now_us,
                                                struct tg_conclimit_waiter **out)
{
    if (q->n == 0)
        return TG_CONCLIMIT_POLL_NONE;
    /* Each FIFO is in arrival order and every waiter has the same timeout, so only the
     * heads can have expired first. */
    for (unsigned t = 0; t < TG_CONCLIMIT_TIERS; t++) {
        struct tg_conclimit_waiter *h = q->head[t];
        if (h && h->enqueued_us + p->queue_timeout_us <= now_us) {
            unlink_waiter(cl, q, h);
            count(&cl->rejected[TG_CONCLIMIT_R_QUEUE_TIMEOUT][t]);
            *out = h;
            return TG_CONCLIMIT_POLL_EXPIRED;
        }
    }
    enum tg_conclimit_tier t = TG_CONCLIMIT_CRITICAL;
    while (!q->head[t])
        t++;
    if (atomic_load_explicit(&cl->queued, memory_order_relaxed) & mask_above(t))
        return TG_CONCLIMIT_POLL_NONE; /* a higher tier waits on another worker */
    uint32_t n;
    if (!take(cl, tier_cap(p, limits_of(cl, p), t), &n))
        return TG_CONCLIMIT_POLL_NONE;
    struct tg_conclimit_waiter *h = q->head[t];
    unlink_waiter(cl, q, h);
    count(&cl->dequeued_total);
    *out = h;
    return TG_CONCLIMIT_POLL_GRANTED;
}

int64_t tg_conclimit_next_deadline(const struct tg_conclimit_params *p,
                                   const struct tg_conclimit_queue *q)
{
    int64_t next = INT64_MAX;
    for (unsigned t = 0; t < TG_CONCLIMIT_TIERS; t++)
        if (q->head[t] && q->head[t]->enqueued_us + p->queue_timeout_us < next)
            next = q->head[t]->enqueued_us + p->queue_timeout_us;
    return next;
}

void tg_conclimit_cancel(struct tg_conclimit *cl, struct tg_conclimit_queue *q,
                         struct tg_conclimit_waiter *w)
{
    unlink_waiter(cl, q, w);
}

void tg_conclimit_set_limit(struct tg_conclimit *cl, uint32_t limit)
{
    atomic_store_explicit(&cl->limit, limit, memory_order_relaxed);
}

uint32_t tg_conclimit_take_peak(struct tg_conclimit *cl)
{
    uint32_t now = atomic_load_explicit(&cl->inflight, memory_order_relaxed);
    return atomic_exchange_explicit(&cl->peak, now, memory_order_relaxed);
}

void tg_conclimit_read(const struct tg_conclimit *cl, const struct tg_conclimit_params *p,
                       struct tg_conclimit_stats *out)
{
    struct limits l = limits_of(cl, p);
    out->inflight = atomic_load_explicit(&cl->inflight, memory_order_relaxed);
    out->queued = queued_total(atomic_load_explicit(&cl->queued, memory_order_relaxed));
    out->limit = l.hard == NO_LIMIT ? 0 : l.hard;
    out->soft_limit = l.soft == NO_LIMIT ? 0 : l.soft;
    for (unsigned r = 0; r < TG_CONCLIMIT_R_COUNT; r++)
        for (unsigned t = 0; t < TG_CONCLIMIT_TIERS; t++)
            out->rejected[r][t] = atomic_load_explicit(&cl->rejected[r][t], memory_order_relaxed);
    out->admitted_soft = atomic_load_explicit(&cl->admitted_soft, memory_order_relaxed);
    out->queued_total = atomic_load_explicit(&cl->queued_total, memory_order_relaxed);
    out->dequeued_total = atomic_load_explicit(&cl->dequeued_total, memory_order_relaxed);
}
