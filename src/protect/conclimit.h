/* SPDX-License-Identifier: MIT */
/* Concurrency limits and load shedding for one upstream, route or server, shared by every
 * worker. A request takes an in-flight slot with one compare-and-swap and gives it back
 * when its outcome is observed. Above the hard limit a request waits in a bounded queue
 * or is refused (503); above the soft limit it is still admitted, but the verdict says
 * so, and the caller prefers another server. Routes carry a tier: each tier may use only
 * a share of the limit (critical all of it, standard 90 %, sheddable 80 % and never more
 * than the soft limit), so under overload sheddable traffic is refused first, then
 * standard, and critical traffic keeps the last slots. Sheddable requests never wait.
 *
 * The queue. Each worker parks its own requests (a parked request belongs to a
 * connection on that worker's loop): a struct tg_conclimit_queue per worker and limiter,
 * holding one FIFO per tier of waiters embedded in the requests, so parking allocates
 * nothing. What the workers share is one word counting the waiters of each tier: it
 * bounds the queue across workers exactly (a CAS reserves a place), and it keeps order.
 * A newcomer never takes a slot while a waiter of its own or a higher tier exists
 * anywhere, and a worker hands a free slot to its oldest waiter of its highest tier only
 * when no worker holds a waiter of a higher tier. Within a tier, waiters on different
 * workers are served in the order their workers poll, not strictly by age: exact global
 * FIFO would need a shared list and a lock. A worker with waiters must call
 * tg_conclimit_poll every loop turn and at least every millisecond or so (a slot freed
 * on another worker raises no event on this one); tg_conclimit_release says when anyone
 * waits, so the worker that freed a slot can nudge the others.
 *
 * Parameters come from the caller's configuration snapshot on every call, so new
 * parameters apply to the existing state at the next call: counts and waiters carry
 * over (a queue that shrank drains, nothing is evicted). The adaptive limit (adaptive.h)
 * is applied with tg_conclimit_set_limit. Used by the proxy's protection chain; read by
 * metrics and the admin API through tg_conclimit_read. */
#ifndef TG_PROTECT_CONCLIMIT_H
#define TG_PROTECT_CONCLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* A route's tier: lower value, higher priority. The same values, in the same order, as
 * the configuration's enum tg_tier, which protect/ may not include. */
enum tg_conclimit_tier {
    TG_CONCLIMIT_CRITICAL = 0,
    TG_CONCLIMIT_STANDARD,
    TG_CONCLIMIT_SHEDDABLE,
    TG_CONCLIMIT_TIERS
};

/* "critical", "standard", "sheddable" (metric label values); NULL out of range. */
const char *tg_conclimit_tier_name(enum tg_conclimit_tier t);

/* The most waiters a limiter can hold: the per-tier counts share one 64-bit word. */
#define TG_CONCLIMIT_QUEUE_MAX 65535u

struct tg_conclimit_params {
    uint32_t hard_limit;      /* requests in flight at most; 0: no limit (slots counted) */
    uint32_t soft_limit;      /* above it: sheddable refused, others flagged; 0: = hard */
    uint32_t queue_max;       /* waiters across all workers, <= TG_CONCLIMIT_QUEUE_MAX */
    int64_t queue_timeout_us; /* a waiter not served by then is refused (503) */
    /* Percent of the limit (and of the queue) a tier may use, 1-100 (0 counts as 100).
     * The critical entry is ignored: critical may use everything; sheddable never waits
     * whatever its share. Rounded up, so a limit of 1 admits every tier. */
    uint8_t share_pct[TG_CONCLIMIT_TIERS];
};

/* Defaults: no limit, no queue, a 1 s queue timeout, shares {100, 90, 80}. */
void tg_conclimit_params_init(struct tg_conclimit_params *p);

enum tg_conclimit_verdict {
    TG_CONCLIMIT_ADMIT = 0,  /* slot taken: call tg_conclimit_release once when done */
    TG_CONCLIMIT_ADMIT_SOFT, /* slot taken, in flight above the soft limit: prefer another
                              * server if there is one; release as for ADMIT */
    TG_CONCLIMIT_QUEUE,      /* the waiter is parked on the worker's queue: see poll */
    TG_CONCLIMIT_REJECT,     /* refused: answer 503; the reason is in *reason */
};

/* Why a request was refused (the `reason` label of the rejection counters). */
enum tg_conclimit_reason {
    TG_CONCLIMIT_R_LIMIT = 0,     /* in flight at the hard limit and no queue */
    TG_CONCLIMIT_R_SHED,          /* the tier's share (or the soft limit) is used up */
    TG_CONCLIMIT_R_QUEUE_FULL,    /* at the limit and the tier's share of the queue is full */
    TG_CONCLIMIT_R_QUEUE_TIMEOUT, /* waited queue_timeout_us without a slot */
    TG_CONCLIMIT_R_COUNT
};

/* "limit", "shed", "queue_full", "queue_timeout"; NULL out of range. */
const char *tg_conclimit_reason_name(enum tg_conclimit_reason r);

/* A parked request. Embedded in the caller's request; owned by the queue from a QUEUE
 * verdict until poll hands it back or tg_conclimit_cancel removes it. */
struct tg_conclimit_waiter {
    struct tg_conclimit_waiter *prev, *next;
    int64_t enqueued_us;
    enum tg_conclimit_tier tier;
};

/* One worker's waiters for one limiter; embedded per worker, used by that worker only.
 * Zero-initialise it (or call tg_conclimit_queue_init). */
struct tg_conclimit_queue {
    struct tg_conclimit_waiter *head[TG_CONCLIMIT_TIERS], *tail[TG_CONCLIMIT_TIERS];
    uint32_t n;
};

void tg_conclimit_queue_init(struct tg_conclimit_queue *q);

struct tg_conclimit;

/* A limiter with nothing in flight. -ENOMEM or 0. Control thread. */
int tg_conclimit_new(struct tg_conclimit **out);

/* Frees it; no worker may use it any more and no waiter may be parked. Accepts NULL. */
void tg_conclimit_free(struct tg_conclimit *cl);

/* Decides for one request of tier `tier` at `now_us`. With `q` and `w` non-NULL a request
 * over its limit may be parked (QUEUE); with either NULL it is admitted or refused.
 * Any worker; cost: a few relaxed loads and one CAS (bench/protect_limits.c). */
enum tg_conclimit_verdict
tg_conclimit_admit(struct tg_conclimit *cl, const struct tg_conclimit_params *p,
                   struct tg_conclimit_queue *q, struct tg_conclimit_waiter *w,
                   enum tg_conclimit_tier tier, int64_t now_us, enum tg_conclimit_reason *reason);

/* Gives back an admitted request's slot. Returns true if requests wait anywhere, so the
 * caller polls its own queue and wakes the workers that hold waiters. Any worker. */
bool tg_conclimit_release(struct tg_conclimit *cl);

enum tg_conclimit_poll_result {
    TG_CONCLIMIT_POLL_NONE = 0, /* nothing to do now */
    TG_CONCLIMIT_POLL_GRANTED,  /* *out took a slot: forward it, release it when done */
    TG_CONCLIMIT_POLL_EXPIRED,  /* *out waited too long: answer 503 (queue_timeout) */
};

/* One step of the worker's queue: first a waiter past its queue timeout, else the
 * oldest waiter of the worker's highest tier if a slot is free for it and no worker
 * holds a waiter of a higher tier. Call until it returns NONE. A granted waiter is not
 * told whether it is above the soft limit: coming out of the queue, it nearly always
 * is. The worker owning `q`. */
enum tg_conclimit_poll_result tg_conclimit_poll(struct tg_conclimit *cl,
                                                const struct tg_conclimit_params *p,
                                                struct tg_conclimit_queue *q, int64_t now_us,
                                                struct tg_conclimit_waiter **out);

/* When the oldest waiter of `q` times out, INT64_MAX if none (for the worker's timer). */
int64_t tg_conclimit_next_deadline(const struct tg_conclimit_params *p,
                                   const struct tg_conclimit_queue *q);

/* Removes a parked waiter whose client went away (not counted as a timeout). */
void tg_conclimit_cancel(struct tg_conclimit *cl, struct tg_conclimit_queue *q,
                         struct tg_conclimit_waiter *w);

/* Sets the limit that replaces hard_limit while it is lower (the adaptive limit);
 * 0 removes it. The soft limit and the tier shares scale with it. Control thread. */
void tg_conclimit_set_limit(struct tg_conclimit *cl, uint32_t limit);

/* The most requests in flight since the previous call (then restarts from the current
 * count): whether the limit was in use during a tick, for adaptive.h. Control thread. */
uint32_t tg_conclimit_take_peak(struct tg_conclimit *cl);

/* What metrics and the admin API show. Counters only grow. */
struct tg_conclimit_stats {
    uint32_t inflight;          /* slots taken now */
    uint32_t queued;            /* waiters now, all workers */
    uint32_t limit, soft_limit; /* effective now (0: no limit) */
    uint64_t rejected[TG_CONCLIMIT_R_COUNT][TG_CONCLIMIT_TIERS];
    uint64_t admitted_soft;  /* admitted above the soft limit */
    uint64_t queued_total;   /* requests ever parked */
    uint64_t dequeued_total; /* parked requests that got a slot */
};

/* Relaxed reads of the counters; the fields are not one consistent snapshot. Any thread. */
void tg_conclimit_read(const struct tg_conclimit *cl, const struct tg_conclimit_params *p,
                       struct tg_conclimit_stats *out);

#endif
