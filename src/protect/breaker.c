/* SPDX-License-Identifier: MIT */
/* Circuit breaker (breaker.h): the state machine in one atomic word, the sliding windows,
 * the latency baseline, live parameter changes. Called by the proxy's protection chain on
 * worker threads (admit, observe, cancel) and by the control thread (feed, set_params,
 * read). The layout of the state word and the rules that keep late outcomes harmless are
 * described next to the code that relies on them. */
#include "protect/breaker.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The state word. Bits 0-1 state, bit 2 disabled, bits 3-18 generation, bits 19-24 the
 * re-open streak, bits 25-63 the payload: the open deadline in ms (39 bits: 17 years of
 * CLOCK_MONOTONIC), or the half-open probes in flight (16 bits) and successes (16 bits).
 * Every transition, and every enable or disable, increments the generation, so a ticket
 * names exactly one stay in one state (until the 16-bit generation wraps, which takes
 * 65,536 transitions: far longer than any call stays in flight). */
#define W_DISABLED (1ull << 2)
#define W_GEN_SHIFT 3
#define W_STREAK_SHIFT 19
#define W_PAY_SHIFT 25
#define W_STREAK_MAX 63u
#define W_INFLIGHT_ONE (1ull << W_PAY_SHIFT)

static uint64_t w_make(unsigned st, unsigned gen, unsigned streak, uint64_t pay)
{
    return (uint64_t)st | (uint64_t)(gen & 0xffff) << W_GEN_SHIFT |
           (uint64_t)(streak & W_STREAK_MAX) << W_STREAK_SHIFT | pay << W_PAY_SHIFT;
}

static unsigned w_state(uint64_t w)
{
    return (unsigned)(w & 3);
}

static unsigned w_gen(uint64_t w)
{
    return (unsigned)(w >> W_GEN_SHIFT) & 0xffff;
}

static unsigned w_streak(uint64_t w)
{
    return (unsigned)(w >> W_STREAK_SHIFT) & W_STREAK_MAX;
}

static uint64_t w_pay(uint64_t w)
{
    return w >> W_PAY_SHIFT;
}

static unsigned w_inflight(uint64_t w)
{
    return (unsigned)w_pay(w) & 0xffff;
}

static unsigned w_succ(uint64_t w)
{
    return (unsigned)(w_pay(w) >> 16) & 0xffff;
}

/* Tickets: bit 31 set for any tracked call, bit 16 for a probe, bits 0-15 the generation
 * it was admitted in. 0 is "not tracked". */
#define T_VALID (1u << 31)
#define T_PROBE (1u << 16)

/* Count-based window totals: calls, failures and slow calls in 21-bit fields of one word,
 * so one atomic add updates all three and returns a consistent triple. Each field holds
 * its count plus a bias of 2^19: a ring slot is replaced (exchange) before the totals are
 * adjusted (add), so a thread preempted between the two lets another subtract an outcome
 * it has not added yet, and the bias keeps that brief deficit (at most one per thread)
 * from borrowing from the next field. */
#define C_FIELD 21
#define C_MASK ((1ull << C_FIELD) - 1)
#define C_BIAS (1ull << 19)
#define C_BIAS_ALL (C_BIAS | C_BIAS << C_FIELD | C_BIAS << (2 * C_FIELD))

/* Time-based window buckets: bits 0-13 calls, 14-27 failures, 28-41 slow calls, 42-63 the
 * bucket number (time / bucket length) modulo 2^22. A bucket whose calls would overflow
 * is halved first, which keeps its ratios (it only under-weighs a bucket of more than
 * 16,383 calls against its neighbours). The tag aliases only after 2^22 bucket lengths
 * without a call in that bucket (48 days with 1 s buckets). */
#define B_FIELD 14
#define B_MAX ((1ull << B_FIELD) - 1)
#define B_TAG_SHIFT 42
#define B_TAG_MASK ((1ull << 22) - 1)

/* Outcome bits in a ring slot. */
#define O_PRESENT 1u
#define O_FAILED 2u
#define O_SLOW 4u

struct bwin {
    enum tg_breaker_window kind;
    uint32_t n; /* ring slots or buckets */
    int64_t bucket_us;
    _Atomic uint64_t pos;    /* count: calls ever added, the next slot is pos % n */
    _Atomic uint64_t totals; /* count: biased fields, see above */
    _Atomic uint8_t *ring;   /* count: one outcome per slot */
    _Atomic uint64_t *buckets;
    struct bwin *retired; /* older window replaced by set_params (control thread) */
};

struct totals {
    uint64_t calls, failures, slow;
};

struct tg_breaker {
    _Atomic uint64_t state;
    _Atomic(struct bwin *) win;
    /* Parameters read on worker threads, one relaxed load each: a decision that sees half
     * of a parameter change mixes two valid settings for one call, which is harmless. */
    _Atomic int64_t timeout_us, slow_call_us, recovery_us, recovery_max_us;
    _Atomic uint32_t min_calls, probes, successes;
    _Atomic uint64_t fail_q32, slow_q32; /* thresholds x 2^32, rounded down */
    /* Counters on a line of their own: an open breaker adds to `rejected` on every
     * request, which must not keep invalidating the line every admit reads. */
    _Alignas(64) _Atomic uint64_t transitions[3], rejected, stale;
    /* The last transition: generation (16) | from (2) | to (2) | reason (4) | ms (40). */
    _Atomic uint64_t last;
    _Atomic int64_t baseline_us; /* for readers; the control thread's copy is below */
    /* Control thread only. */
    _Alignas(64) struct tg_breaker_params p;
    double baseline;
    uint32_t learned;
    int64_t last_feed_us;
    struct bwin *retired;
};

void tg_breaker_params_default(struct tg_breaker_params *p)
{
    *p = (struct tg_breaker_params){
        .enabled = true,
        .window = TG_BREAKER_WINDOW_TIME,
        .window_size = 100,
        .window_us = 10 * 1000000LL,
        .window_buckets = 10,
        .min_calls = 20,
        .failure_threshold = 0.5,
        .timeout_us = 5 * 1000000LL,
        .recovery_us = 60 * 1000000LL,
        .half_open_probes = 3,
        .half_open_successes = 3,
        .latency_min_samples = 20,
        .latency_warmup = 30,
        .latency_tau_us = 600 * 1000000LL,
    };
}

#define HOUR_US (3600 * 1000000LL)

int tg_breaker_check_params(const struct tg_breaker_params *p, struct tg_errbuf *eb)
{
    const char *f = NULL;
    if (p->window != TG_BREAKER_WINDOW_TIME && p->window != TG_BREAKER_WINDOW_COUNT)
        f = "window: must be time or count";
    else if (p->window == TG_BREAKER_WINDOW_COUNT &&
             (p->window_size < 1 || p->window_size > TG_BREAKER_WINDOW_SIZE_MAX))
        f = "window_size: must be 1..65536 calls";
    else if (p->window == TG_BREAKER_WINDOW_COUNT && p->min_calls > p->window_size)
        f = "min_calls: must not exceed window_size";
    else if (p->window == TG_BREAKER_WINDOW_TIME &&
             (p->window_buckets < 1 || p->window_buckets > TG_BREAKER_BUCKETS_MAX))
        f = "window_buckets: must be 1..60";
    else if (p->window == TG_BREAKER_WINDOW_TIME &&
             (p->window_us < 1000LL * p->window_buckets || p->window_us > HOUR_US))
        f = "window_us: must be 1 ms per bucket .. 1 h";
    else if (p->min_calls < 1)
        f = "min_calls: must be >= 1";
    else if (!(p->failure_threshold > 0 && p->failure_threshold <= 1))
        f = "failure_threshold: must be > 0 and <= 1";
    else if (p->timeout_us < 0 || p->timeout_us > HOUR_US)
        f = "timeout_us: must be 0 (none) .. 1 h";
    else if (p->slow_call_us < 0 || p->slow_call_us > HOUR_US)
        f = "slow_call_us: must be 0 (none) .. 1 h";
    else if (!(p->slow_call_threshold >= 0 && p->slow_call_threshold <= 1))
        f = "slow_call_threshold: must be 0 (off) .. 1";
    else if (p->recovery_us < 1000 || p->recovery_us > 24 * HOUR_US)
        f = "recovery_us: must be 1 ms .. 24 h";
    else if (p->recovery_max_us < 0 || p->recovery_max_us > 24 * HOUR_US)
        f = "recovery_max_us: must be 0 .. 24 h";
    else if (p->half_open_probes < 1 || p->half_open_probes > TG_BREAKER_PROBES_MAX)
        f = "half_open_probes: must be 1..1024";
    else if (p->half_open_successes < 1 || p->half_open_successes > 0xffff)
        f = "half_open_successes: must be 1..65535";
    else if (!(p->latency_factor == 0 || (p->latency_factor > 1 && p->latency_factor <= 1000)))
        f = "latency_factor: must be 0 (off) or > 1 and <= 1000";
    else if (p->latency_factor > 0 &&
             (p->latency_tau_us < 1000000 || p->latency_tau_us > 24 * HOUR_US))
        f = "latency_tau_us: must be 1 s .. 24 h";
    if (!f)
        return 0;
    return tg_errbuf_set(eb, TG_ECONFIG, "breaker: %s", f);
}

/* ---- windows ------------------------------------------------------------------------ */

static struct bwin *win_new(const struct tg_breaker_params *p)
{
    bool count = p->window == TG_BREAKER_WINDOW_COUNT;
    uint32_t n = count ? p->window_size : p->window_buckets;
    size_t extra = count ? n : n * sizeof(uint64_t);
    struct bwin *w = calloc(1, sizeof *w + extra);
    if (!w)
        return NULL;
    w->kind = p->window;
    w->n = n;
    w->bucket_us = count ? 0 : p->window_us / n;
    atomic_init(&w->totals, C_BIAS_ALL);
    if (count)
        w->ring = (_Atomic uint8_t *)(w + 1);
    else
        w->buckets = (_Atomic uint64_t *)(w + 1);
    return w;
}

static bool win_same_shape(const struct bwin *w, const struct tg_breaker_params *p)
{
    if (w->kind != p->window)
        return false;
    if (w->kind == TG_BREAKER_WINDOW_COUNT)
        return w->n == p->window_size;
    return w->n == p->window_buckets && w->bucket_us == p->window_us / p->window_buckets;
}

/* Empties the window. Called when half-open begins (or on enable), when no current
 * outcome is written to it: only a late observe of an older generation could be, and
 * those are dropped before they get here, but one preempted between its check and its
 * write could still land; it shifts the counts by one call until the next reset, which
 * is why plain stores are good enough. Cost: one store per slot (at most 65,536). */
static void win_reset(struct bwin *w)
{
    if (w->kind == TG_BREAKER_WINDOW_COUNT) {
        for (uint32_t i = 0; i < w->n; i++)
            atomic_store_explicit(&w->ring[i], 0, memory_order_relaxed);
        atomic_store_explicit(&w->pos, 0, memory_order_relaxed);
        atomic_store_explicit(&w->totals, C_BIAS_ALL, memory_order_relaxed);
    } else {
        for (uint32_t i = 0; i < w->n; i++)
            atomic_store_explicit(&w->buckets[i], 0, memory_order_relaxed);
    }
}

static uint64_t field(uint64_t w, unsigned i)
{
    int64_t v = (int64_t)((w >> (i * C_FIELD)) & C_MASK) - (int64_t)C_BIAS;
    return v > 0 ? (uint64_t)v : 0;
}

static void count_add(struct bwin *w, unsigned o, struct totals *t)
{
    uint64_t i = atomic_fetch_add_explicit(&w->pos, 1, memory_order_relaxed) % w->n;
    unsigned old = atomic_exchange_explicit(&w->ring[i], (uint8_t)o, memory_order_relaxed);
    int64_t dc = (int64_t)(o & O_PRESENT) - (int64_t)(old & O_PRESENT);
    int64_t df = (int64_t) !!(o & O_FAILED) - (int64_t) !!(old & O_FAILED);
    int64_t ds = (int64_t) !!(o & O_SLOW) - (int64_t) !!(old & O_SLOW);
    uint64_t d = (uint64_t)(dc + df * (1LL << C_FIELD) + ds * (1LL << (2 * C_FIELD)));
    uint64_t now = atomic_fetch_add_explicit(&w->totals, d, memory_order_relaxed) + d;
    *t = (struct totals){field(now, 0), field(now, 1), field(now, 2)};
}

static int64_t bucket_of(const struct bwin *w, int64_t now_us)
{
    return (now_us > 0 ? now_us : 0) / w->bucket_us;
}

/* Signed distance from tag `b` to tag `a` in the 22-bit tag space. */
static int32_t tag_diff(uint64_t a, uint64_t b)
{
    uint32_t d = (uint32_t)((a - b) & B_TAG_MASK);
    return d & (1u << 21) ? (int32_t)d - (1 << 22) : (int32_t)d;
}

static void time_totals(const struct bwin *w, int64_t now_us, struct totals *t)
{
    uint64_t cur = (uint64_t)bucket_of(w, now_us) & B_TAG_MASK;
    *t = (struct totals){0, 0, 0};
    for (uint32_t i = 0; i < w->n; i++) {
        uint64_t b = atomic_load_explicit(&w->buckets[i], memory_order_relaxed);
        int32_t age = tag_diff(cur, b >> B_TAG_SHIFT);
        if (age <= -(int32_t)w->n || age >= (int32_t)w->n)
            continue;
        t->calls += b & B_MAX;
        t->failures += (b >> B_FIELD) & B_MAX;
        t->slow += (b >> (2 * B_FIELD)) & B_MAX;
    }
}

static void time_add(struct bwin *w, int64_t now_us, unsigned o, struct totals *t)
{
    uint64_t id = (uint64_t)bucket_of(w, now_us), tag = id & B_TAG_MASK;
    _Atomic uint64_t *slot = &w->buckets[id % w->n];
    uint64_t b = atomic_load_explicit(slot, memory_order_relaxed), next;
    do {
        /* A bucket of an older period is restarted; one of a newer period (another
         * worker's clock is a little ahead) takes this call as its own. */
        uint64_t base = tag_diff(tag, b >> B_TAG_SHIFT) > 0 ? tag << B_TAG_SHIFT : b;
        uint64_t c = base & B_MAX, f = (base >> B_FIELD) & B_MAX;
        uint64_t s = (base >> (2 * B_FIELD)) & B_MAX;
        if (c == B_MAX)
            c >>= 1, f >>= 1, s >>= 1;
        c++;
        f += !!(o & O_FAILED);
        s += !!(o & O_SLOW);
        next = (base & ~((1ull << B_TAG_SHIFT) - 1)) | c | f << B_FIELD | s << (2 * B_FIELD);
    } while (!atomic_compare_exchange_weak_explicit(slot, &b, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    time_totals(w, now_us, t);
}

static void win_totals(const struct bwin *w, int64_t now_us, struct totals *t)
{
    if (w->kind == TG_BREAKER_WINDOW_COUNT) {
        uint64_t v = atomic_load_explicit(&((struct bwin *)w)->totals, memory_order_relaxed);
        *t = (struct totals){field(v, 0), field(v, 1), field(v, 2)};
    } else {
        time_totals(w, now_us, t);
    }
}

static struct bwin *win_get(const struct tg_breaker *b)
{
    return atomic_load_explicit(&((struct tg_breaker *)b)->win, memory_order_acquire);
}

/* ---- transitions -------------------------------------------------------------------- */

static void record(struct tg_breaker *b, uint64_t from, uint64_t to, enum tg_breaker_reason r,
                   int64_t now_us)
{
    uint64_t ms = (uint64_t)(now_us > 0 ? now_us / 1000 : 0) & ((1ull << 40) - 1);
    uint64_t rec = (uint64_t)w_gen(to) | (uint64_t)w_state(from) << 16 |
                   (uint64_t)w_state(to) << 18 | (uint64_t)r << 20 | ms << 24;
    uint64_t cur = atomic_load_explicit(&b->last, memory_order_relaxed);
    /* Transitions happen on any worker; a slow recorder must not overwrite the record of
     * a later transition, so only a newer generation replaces the stored one. */
    do {
        if (cur && (int16_t)(uint16_t)(w_gen(to) - (cur & 0xffff)) <= 0)
            return;
    } while (!atomic_compare_exchange_weak_explicit(&b->last, &cur, rec, memory_order_release,
                                                    memory_order_relaxed));
}

/* Moves the state from `*s` to `next`. False if the word was no longer `*s` (then `*s`
 * holds the current word). */
static bool transition(struct tg_breaker *b, uint64_t *s, uint64_t next, enum tg_breaker_reason r,
                       int64_t now_us)
{
    uint64_t from = *s;
    if (!atomic_compare_exchange_strong_explicit(&b->state, s, next, memory_order_acq_rel,
                                                 memory_order_acquire))
        return false;
    atomic_fetch_add_explicit(&b->transitions[w_state(next)], 1, memory_order_relaxed);
    record(b, from, next, r, now_us);
    return true;
}

/* The open period for a streak of `k` re-openings: recovery_us doubled k times, capped
 * at recovery_max_us (no growth when that is not above recovery_us). */
static int64_t recovery_for(const struct tg_breaker *b, unsigned k)
{
    int64_t r = atomic_load_explicit(&b->recovery_us, memory_order_relaxed);
    int64_t max = atomic_load_explicit(&b->recovery_max_us, memory_order_relaxed);
    if (max <= r)
        return r;
    while (k-- && r < max)
        r *= 2;
    return r < max ? r : max;
}

static uint64_t open_word(const struct tg_breaker *b, unsigned gen, unsigned streak, int64_t now_us)
{
    int64_t until = (now_us > 0 ? now_us : 0) + recovery_for(b, streak);
    return w_make(TG_BREAKER_OPEN, gen, streak, (uint64_t)(until + 999) / 1000);
}

/* Closed -> open from the closed word `s`. One attempt: a closed word changes only by a
 * transition, so a failed exchange means someone else already moved it. */
static void trip(struct tg_breaker *b, uint64_t s, int64_t now_us, enum tg_breaker_reason r)
{
    /* A re-opening soon after probes closed it continues the streak (the upstream is
     * flapping); one after a long healthy stretch starts over. */
    unsigned streak = 0;
    uint64_t last = atomic_load_explicit(&b->last, memory_order_acquire);
    int64_t closed_at = (int64_t)(last >> 24) * 1000;
    if ((last & 0xffff) == w_gen(s) && ((last >> 20) & 15) == TG_BREAKER_R_PROBES_OK &&
        now_us - closed_at < atomic_load_explicit(&b->recovery_us, memory_order_relaxed))
        streak = w_streak(s) < W_STREAK_MAX ? w_streak(s) + 1 : W_STREAK_MAX;
    transition(b, &s, open_word(b, w_gen(s) + 1, streak, now_us), r, now_us);
}

static enum tg_breaker_reason trip_reason(const struct tg_breaker *b, const struct totals *t)
{
    if (t->calls < atomic_load_explicit(&b->min_calls, memory_order_relaxed))
        return TG_BREAKER_R_NONE;
    /* Integer ratios: calls are below 2^21, so nothing overflows 64 bits. */
    uint64_t fq = atomic_load_explicit(&b->fail_q32, memory_order_relaxed);
    uint64_t sq = atomic_load_explicit(&b->slow_q32, memory_order_relaxed);
    if (t->failures << 32 >= fq * t->calls)
        return TG_BREAKER_R_FAILURES;
    if (sq && t->slow << 32 >= sq * t->calls)
        return TG_BREAKER_R_SLOW_CALLS;
    return TG_BREAKER_R_NONE;
}

/* ---- decisions ---------------------------------------------------------------------- */

bool tg_breaker_admit(struct tg_breaker *b, int64_t now_us, uint32_t *ticket,
                      int64_t *retry_after_us)
{
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    *ticket = 0;
    *retry_after_us = 0;
    for (;;) {
        if (s & W_DISABLED)
            return true;
        unsigned gen = w_gen(s);
        if (w_state(s) == TG_BREAKER_CLOSED) {
            *ticket = T_VALID | gen;
            return true;
        }
        if (w_state(s) == TG_BREAKER_OPEN) {
            int64_t until = (int64_t)w_pay(s) * 1000;
            if (now_us < until) {
                *retry_after_us = until - now_us;
                break;
            }
            uint64_t next = w_make(TG_BREAKER_HALF_OPEN, gen + 1, w_streak(s), 1);
            if (transition(b, &s, next, TG_BREAKER_R_RECOVERY, now_us)) {
                win_reset(win_get(b));
                *ticket = T_VALID | T_PROBE | ((gen + 1) & 0xffff);
                return true;
            }
            continue;
        }
        if (w_inflight(s) >= atomic_load_explicit(&b->probes, memory_order_relaxed)) {
            *retry_after_us = 1000000;
            break;
        }
        if (atomic_compare_exchange_weak_explicit(&b->state, &s, s + W_INFLIGHT_ONE,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            *ticket = T_VALID | T_PROBE | gen;
            return true;
        }
    }
    atomic_fetch_add_explicit(&b->rejected, 1, memory_order_relaxed);
    return false;
}

static void probe_done(struct tg_breaker *b, uint64_t s, unsigned gen, int64_t now_us, bool failed)
{
    for (;;) {
        if (w_state(s) != TG_BREAKER_HALF_OPEN || w_gen(s) != gen || (s & W_DISABLED)) {
            atomic_fetch_add_explicit(&b->stale, 1, memory_order_relaxed);
            return;
        }
        unsigned streak = w_streak(s);
        if (failed) {
            streak = streak < W_STREAK_MAX ? streak + 1 : W_STREAK_MAX;
            if (transition(b, &s, open_word(b, gen + 1, streak, now_us), TG_BREAKER_R_PROBE_FAILED,
                           now_us))
                return;
            continue;
        }
        unsigned inflight = w_inflight(s) ? w_inflight(s) - 1 : 0, succ = w_succ(s) + 1;
        if (succ >= atomic_load_explicit(&b->successes, memory_order_relaxed)) {
            if (transition(b, &s, w_make(TG_BREAKER_CLOSED, gen + 1, streak, 0),
                           TG_BREAKER_R_PROBES_OK, now_us))
                return;
            continue;
        }
        uint64_t next =
            w_make(TG_BREAKER_HALF_OPEN, gen, streak, (uint64_t)inflight | (uint64_t)succ << 16);
        if (atomic_compare_exchange_weak_explicit(&b->state, &s, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return;
    }
}

void tg_breaker_observe(struct tg_breaker *b, int64_t now_us, uint32_t ticket, bool failed,
                        int64_t latency_us)
{
    if (!(ticket & T_VALID))
        return;
    unsigned gen = ticket & 0xffff;
    int64_t timeout = atomic_load_explicit(&b->timeout_us, memory_order_relaxed);
    int64_t slow_us = atomic_load_explicit(&b->slow_call_us, memory_order_relaxed);
    failed = failed || (timeout > 0 && latency_us >= timeout);
    bool slow = slow_us > 0 && latency_us >= slow_us;
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    if (ticket & T_PROBE) {
        probe_done(b, s, gen, now_us, failed);
        return;
    }
    if (w_state(s) != TG_BREAKER_CLOSED || w_gen(s) != gen || (s & W_DISABLED)) {
        atomic_fetch_add_explicit(&b->stale, 1, memory_order_relaxed);
        return;
    }
    struct bwin *w = win_get(b);
    unsigned o = O_PRESENT | (failed ? O_FAILED : 0) | (slow ? O_SLOW : 0);
    struct totals t;
    if (w->kind == TG_BREAKER_WINDOW_COUNT)
        count_add(w, o, &t);
    else
        time_add(w, now_us, o, &t);
    enum tg_breaker_reason r = trip_reason(b, &t);
    if (r != TG_BREAKER_R_NONE)
        trip(b, s, now_us, r);
}

void tg_breaker_cancel(struct tg_breaker *b, uint32_t ticket)
{
    if (!(ticket & T_VALID) || !(ticket & T_PROBE))
        return;
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    while (w_state(s) == TG_BREAKER_HALF_OPEN && w_gen(s) == (ticket & 0xffff) && w_inflight(s))
        if (atomic_compare_exchange_weak_explicit(&b->state, &s, s - W_INFLIGHT_ONE,
                                                  memory_order_acq_rel, memory_order_acquire))
            return;
}

void tg_breaker_feed_latency(struct tg_breaker *b, int64_t now_us, int64_t p95_us, uint64_t samples)
{
    double factor = b->p.latency_factor;
    if (factor <= 0 || samples < b->p.latency_min_samples || p95_us <= 0)
        return;
    /* Smoothing over time, not over feeds, so an irregular tick does not change how fast
     * it learns: weight dt / (tau + dt), about 1 - exp(-dt / tau). dt is the time since
     * the previous feed whatever happened to it, so the first feed after an open period
     * weighs one tick, not the whole outage. */
    double dt = b->learned ? (double)(now_us - b->last_feed_us) : 0;
    b->last_feed_us = now_us;
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    if (w_state(s) != TG_BREAKER_CLOSED || (s & W_DISABLED))
        return;
    if (b->learned == 0) {
        b->baseline = (double)p95_us;
    } else if ((double)p95_us > b->baseline * factor) {
        if (b->learned >= b->p.latency_warmup)
            trip(b, s, now_us, TG_BREAKER_R_LATENCY);
        return;
    } else {
        double a = dt > 0 ? dt / ((double)b->p.latency_tau_us + dt) : 0;
        b->baseline += a * ((double)p95_us - b->baseline);
    }
    b->learned++;
    atomic_store_explicit(&b->baseline_us, (int64_t)(b->baseline + 0.5), memory_order_relaxed);
}

/* ---- lifecycle and parameters ------------------------------------------------------- */

/* Rounded down, so that a ratio equal to the threshold in decimal (0.8 is 8 of 10)
 * reaches it although 0.8 has no exact binary form. */
static uint64_t q32(double x)
{
    return (uint64_t)(x * 4294967296.0);
}

/* Stores the parameters the workers read. */
static void publish(struct tg_breaker *b, const struct tg_breaker_params *p)
{
    atomic_store_explicit(&b->timeout_us, p->timeout_us, memory_order_relaxed);
    atomic_store_explicit(&b->slow_call_us, p->slow_call_us, memory_order_relaxed);
    atomic_store_explicit(&b->recovery_us, p->recovery_us, memory_order_relaxed);
    atomic_store_explicit(&b->recovery_max_us, p->recovery_max_us, memory_order_relaxed);
    atomic_store_explicit(&b->min_calls, p->min_calls, memory_order_relaxed);
    atomic_store_explicit(&b->fail_q32, q32(p->failure_threshold), memory_order_relaxed);
    atomic_store_explicit(&b->slow_q32, q32(p->slow_call_threshold), memory_order_relaxed);
    atomic_store_explicit(&b->probes, p->half_open_probes, memory_order_relaxed);
    atomic_store_explicit(&b->successes, p->half_open_successes, memory_order_relaxed);
}

int tg_breaker_new(const struct tg_breaker_params *p, struct tg_errbuf *eb, struct tg_breaker **out)
{
    *out = NULL;
    int rc = tg_breaker_check_params(p, eb);
    if (rc)
        return rc;
    /* Aligned for the counters' own cache line (sizeof is a multiple of 64). */
    struct tg_breaker *b = aligned_alloc(64, sizeof *b);
    struct bwin *w = win_new(p);
    if (b)
        memset(b, 0, sizeof *b);
    if (!b || !w) {
        free(b);
        free(w);
        return -ENOMEM;
    }
    atomic_init(&b->win, w);
    atomic_init(&b->state, p->enabled ? 0 : W_DISABLED);
    b->p = *p;
    publish(b, p);
    *out = b;
    return 0;
}

static void free_retired(struct bwin *w)
{
    while (w) {
        struct bwin *next = w->retired;
        free(w);
        w = next;
    }
}

void tg_breaker_free(struct tg_breaker *b)
{
    if (!b)
        return;
    free_retired(b->retired);
    free(atomic_load_explicit(&b->win, memory_order_relaxed));
    free(b);
}

void tg_breaker_reclaim(struct tg_breaker *b)
{
    free_retired(b->retired);
    b->retired = NULL;
}

/* Disabling moves any state to closed with the disabled bit (a counted transition unless
 * it was closed already); enabling clears the bit with an empty window. Both bump the
 * generation, so outcomes of calls admitted before are ignored. */
static void set_enabled(struct tg_breaker *b, bool on, int64_t now_us)
{
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    if (!(s & W_DISABLED) == on)
        return;
    if (on)
        win_reset(win_get(b));
    for (;;) {
        uint64_t next = w_make(TG_BREAKER_CLOSED, w_gen(s) + 1, 0, 0) | (on ? 0 : W_DISABLED);
        if (!on && w_state(s) != TG_BREAKER_CLOSED) {
            if (transition(b, &s, next, TG_BREAKER_R_DISABLED, now_us))
                return;
        } else if (atomic_compare_exchange_weak_explicit(&b->state, &s, next, memory_order_acq_rel,
                                                         memory_order_acquire)) {
            return;
        }
    }
}

int tg_breaker_set_params(struct tg_breaker *b, int64_t now_us, const struct tg_breaker_params *p,
                          struct tg_errbuf *eb)
{
    int rc = tg_breaker_check_params(p, eb);
    if (rc)
        return rc;
    struct bwin *old = win_get(b);
    if (!win_same_shape(old, p)) {
        struct bwin *w = win_new(p);
        if (!w)
            return tg_errbuf_set(eb, -ENOMEM, "breaker: no memory for the new window");
        atomic_store_explicit(&b->win, w, memory_order_release);
        old->retired = b->retired;
        b->retired = old;
    }
    publish(b, p);
    if (b->p.latency_factor == 0 && p->latency_factor > 0) {
        b->learned = 0;
        b->baseline = 0;
        atomic_store_explicit(&b->baseline_us, 0, memory_order_relaxed);
    }
    b->p = *p;
    set_enabled(b, p->enabled, now_us);
    return 0;
}

/* ---- reading ------------------------------------------------------------------------ */

enum tg_breaker_state tg_breaker_state(const struct tg_breaker *b)
{
    uint64_t s = atomic_load_explicit(&((struct tg_breaker *)b)->state, memory_order_relaxed);
    return (enum tg_breaker_state)w_state(s);
}

void tg_breaker_last_transition(const struct tg_breaker *b, struct tg_breaker_transition *out)
{
    struct tg_breaker *m = (struct tg_breaker *)b;
    uint64_t rec = atomic_load_explicit(&m->last, memory_order_acquire);
    out->seq = 0;
    for (int i = 0; i < 3; i++)
        out->seq += atomic_load_explicit(&m->transitions[i], memory_order_relaxed);
    out->from = (enum tg_breaker_state)((rec >> 16) & 3);
    out->to = (enum tg_breaker_state)((rec >> 18) & 3);
    out->reason = (enum tg_breaker_reason)((rec >> 20) & 15);
    out->at_us = (int64_t)(rec >> 24) * 1000;
}

void tg_breaker_read(const struct tg_breaker *b, int64_t now_us, struct tg_breaker_stats *out)
{
    struct tg_breaker *m = (struct tg_breaker *)b;
    memset(out, 0, sizeof *out);
    uint64_t s = atomic_load_explicit(&m->state, memory_order_acquire);
    out->state = (enum tg_breaker_state)w_state(s);
    for (int i = 0; i < 3; i++)
        out->transitions_total[i] = atomic_load_explicit(&m->transitions[i], memory_order_relaxed);
    out->rejected_total = atomic_load_explicit(&m->rejected, memory_order_relaxed);
    out->stale_total = atomic_load_explicit(&m->stale, memory_order_relaxed);
    struct totals t;
    win_totals(win_get(b), now_us, &t);
    out->window_calls = t.calls;
    out->window_failures = t.failures;
    out->window_slow = t.slow;
    if (t.calls) {
        out->failure_ratio = (double)t.failures / (double)t.calls;
        out->slow_ratio = (double)t.slow / (double)t.calls;
    }
    if (out->state == TG_BREAKER_HALF_OPEN) {
        out->probes_in_flight = w_inflight(s);
        out->probe_successes = w_succ(s);
    } else if (out->state == TG_BREAKER_OPEN) {
        out->open_until_us = (int64_t)w_pay(s) * 1000;
    }
    out->latency_baseline_us = atomic_load_explicit(&m->baseline_us, memory_order_relaxed);
    tg_breaker_last_transition(b, &out->last);
}

const char *tg_breaker_state_name(enum tg_breaker_state s)
{
    switch (s) {
    case TG_BREAKER_CLOSED:
        return "closed";
    case TG_BREAKER_OPEN:
        return "open";
    case TG_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

const char *tg_breaker_reason_name(enum tg_breaker_reason r)
{
    static const char *const names[] = {
        [TG_BREAKER_R_NONE] = "none",
        [TG_BREAKER_R_FAILURES] = "failures",
        [TG_BREAKER_R_SLOW_CALLS] = "slow_calls",
        [TG_BREAKER_R_LATENCY] = "latency",
        [TG_BREAKER_R_RECOVERY] = "recovery",
        [TG_BREAKER_R_PROBE_FAILED] = "probe_failed",
        [TG_BREAKER_R_PROBES_OK] = "probes_ok",
        [TG_BREAKER_R_DISABLED] = "disabled",
    };
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}
