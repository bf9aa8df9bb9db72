/* SPDX-License-Identifier: MIT */
/* Passive outlier ejection (see outlier.h for the policy). Each server's state sits on a
 * cache line of its own, so workers answering for different servers do not contend.
 * A server's ejection is one word: the time it ends, with bit 0 set while the ejection
 * holds a place under the cap. Setting that bit with a CAS is what makes one worker the
 * ejector, and clearing it (once the time has passed) is what gives the place back, so
 * the shared count of places can never be released twice or leak. Times are in µs and
 * even; the bit costs a microsecond of precision. */
#include "protect/outlier.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define COUNTED 1LL
#define EWMA_WEIGHT 8      /* 1/8 per response: about the last 8 responses dominate */
#define SAMPLES_MAX 65535u /* far above any latency_min_samples */

struct server {
    alignas(64) _Atomic int64_t until; /* ejection end | COUNTED while it holds a place */
    _Atomic int64_t ramp_start_us;     /* slow start begins (the last return) */
    _Atomic int64_t ewma_us;
    atomic_uint consecutive;
    atomic_uint samples;
    atomic_uint times; /* ejections counted toward the next one's length */
};

/* A sweep's view of one server. */
struct judged {
    int64_t ewma_us;
    uint32_t i;
};

struct tg_outlier {
    uint32_t n;
    atomic_uint nejected; /* ejections holding a place under the cap */
    atomic_ullong ejections[TG_OUTLIER_R_COUNT], cap_refused;
    struct judged *scratch; /* n entries, for the sweep (control thread) */
    struct server srv[];
};

static const char *const reason_names[TG_OUTLIER_R_COUNT] = {"consecutive_errors", "latency",
                                                             "operator"};

const char *tg_outlier_reason_name(enum tg_outlier_reason r)
{
    return (unsigned)r < TG_OUTLIER_R_COUNT ? reason_names[r] : NULL;
}

void tg_outlier_params_init(struct tg_outlier_params *p)
{
    *p = (struct tg_outlier_params){
        .consecutive_errors = 5,
        .latency_factor = 3.0,
        .latency_min_excess_us = 5000,
        .latency_min_samples = 20,
        .latency_min_peers = 3,
        .base_eject_us = 30000000,
        .max_eject_us = 300000000,
        .max_ejection_pct = 50,
        .slow_start_us = 30000000,
        .slow_start_min_pct = 10,
        .slow_start_aggression = 1.0,
    };
}

int tg_outlier_new(uint32_t nservers, struct tg_outlier **out)
{
    size_t size = sizeof(struct tg_outlier) + (size_t)nservers * sizeof(struct server);
    size = (size + 63) & ~(size_t)63; /* aligned_alloc wants a multiple of the alignment */
    struct tg_outlier *o = aligned_alloc(64, size);
    if (!o)
        return -ENOMEM;
    memset(o, 0, size);
    o->n = nservers;
    o->scratch = calloc(nservers ? nservers : 1, sizeof *o->scratch);
    if (!o->scratch) {
        tg_outlier_free(o);
        return -ENOMEM;
    }
    *out = o;
    return 0;
}

void tg_outlier_free(struct tg_outlier *o)
{
    if (!o)
        return;
    free(o->scratch);
    free(o);
}

static int64_t load64(const _Atomic int64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void store64(_Atomic int64_t *a, int64_t v)
{
    atomic_store_explicit(a, v, memory_order_relaxed);
}

static uint32_t load32(const atomic_uint *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void store32(atomic_uint *a, uint32_t v)
{
    atomic_store_explicit(a, v, memory_order_relaxed);
}

void tg_outlier_carry(struct tg_outlier *dst, uint32_t di, const struct tg_outlier *src,
                      uint32_t si)
{
    const struct server *s = &src->srv[si];
    struct server *d = &dst->srv[di];
    int64_t until = load64(&s->until);
    store64(&d->until, until);
    if (until & COUNTED)
        atomic_fetch_add_explicit(&dst->nejected, 1, memory_order_relaxed);
    store64(&d->ramp_start_us, load64(&s->ramp_start_us));
    store64(&d->ewma_us, load64(&s->ewma_us));
    store32(&d->consecutive, load32(&s->consecutive));
    store32(&d->samples, load32(&s->samples));
    store32(&d->times, load32(&s->times));
}

void tg_outlier_carry_totals(struct tg_outlier *dst, const struct tg_outlier *src)
{
    for (int r = 0; r < TG_OUTLIER_R_COUNT; r++)
        atomic_fetch_add_explicit(&dst->ejections[r],
                                  atomic_load_explicit(&src->ejections[r], memory_order_relaxed),
                                  memory_order_relaxed);
    atomic_fetch_add_explicit(&dst->cap_refused,
                              atomic_load_explicit(&src->cap_refused, memory_order_relaxed),
                              memory_order_relaxed);
}

/* Most servers out at once: the share, at least one, never all. */
static uint32_t max_out(uint32_t n, const struct tg_outlier_params *p)
{
    if (n < 2)
        return 0;
    uint32_t cap = (uint32_t)((uint64_t)n * p->max_ejection_pct / 100);
    cap = cap < 1 ? 1 : cap;
    return cap > n - 1 ? n - 1 : cap;
}

/* Gives back the places of ejections that have run out. */
static void retire(struct tg_outlier *o, int64_t now_us)
{
    for (uint32_t i = 0; i < o->n; i++) {
        int64_t w = load64(&o->srv[i].until);
        if ((w & COUNTED) && (w & ~COUNTED) <= now_us &&
            atomic_compare_exchange_strong_explicit(&o->srv[i].until, &w, w & ~COUNTED,
                                                    memory_order_relaxed, memory_order_relaxed))
            atomic_fetch_sub_explicit(&o->nejected, 1, memory_order_relaxed);
    }
}

static bool reserve(struct tg_outlier *o, uint32_t cap)
{
    uint32_t c = load32(&o->nejected);
    do {
        if (c >= cap)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&o->nejected, &c, c + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* The next ejection's length: base × (ejections counted + 1), after forgiving one per
 * max_eject spent in service since the last return. Returns the new count. */
static uint32_t next_times(const struct server *s, const struct tg_outlier_params *p,
                           int64_t now_us, int64_t *len_us)
{
    uint32_t times = load32(&s->times);
    int64_t back = load64(&s->ramp_start_us);
    if (times && p->max_eject_us > 0 && now_us > back) {
        int64_t forgive = (now_us - back) / p->max_eject_us;
        times = forgive >= times ? 0 : times - (uint32_t)forgive;
    }
    times++;
    int64_t len = p->base_eject_us * (int64_t)times;
    *len_us = len < p->max_eject_us ? len : p->max_eject_us;
    return times;
}

static bool eject(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i,
                  int64_t now_us, enum tg_outlier_reason why)
{
    struct server *s = &o->srv[i];
    retire(o, now_us);
    if (!reserve(o, max_out(o->n, p))) {
        atomic_fetch_add_explicit(&o->cap_refused, 1, memory_order_relaxed);
        return false;
    }
    int64_t w = load64(&s->until), len;
    uint32_t times = next_times(s, p, now_us, &len);
    int64_t end = ((now_us + len) & ~COUNTED);
    if ((w & COUNTED) ||
        !atomic_compare_exchange_strong_explicit(&s->until, &w, end | COUNTED, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        atomic_fetch_sub_explicit(&o->nejected, 1, memory_order_relaxed); /* someone else */
        return false;
    }
    store32(&s->times, times);
    store64(&s->ramp_start_us, end);
    store32(&s->consecutive, 0);
    store32(&s->samples, 0); /* judged afresh on its return */
    store64(&s->ewma_us, 0);
    atomic_fetch_add_explicit(&o->ejections[why], 1, memory_order_relaxed);
    return true;
}

int tg_outlier_eject_for(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i,
                         int64_t now_us, int64_t len_us)
{
    struct server *s = &o->srv[i];
    retire(o, now_us);
    int64_t w = load64(&s->until);
    if (w & COUNTED)
        return -EALREADY;
    if (!reserve(o, max_out(o->n, p))) {
        atomic_fetch_add_explicit(&o->cap_refused, 1, memory_order_relaxed);
        return -EBUSY;
    }
    int64_t end = (now_us + len_us) & ~COUNTED;
    if (!atomic_compare_exchange_strong_explicit(&s->until, &w, end | COUNTED, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        atomic_fetch_sub_explicit(&o->nejected, 1, memory_order_relaxed);
        return -EALREADY;
    }
    store64(&s->ramp_start_us, end);
    store32(&s->consecutive, 0);
    store32(&s->samples, 0);
    store64(&s->ewma_us, 0);
    atomic_fetch_add_explicit(&o->ejections[TG_OUTLIER_R_OPERATOR], 1, memory_order_relaxed);
    return 0;
}

static bool is_error(const struct tg_outlier_params *p, const struct tg_outlier_result *r)
{
    if (r->kind != TG_OUTLIER_RESPONSE)
        return true;
    if (r->status >= 502 && r->status <= 504)
        return true;
    return p->count_5xx && r->status >= 500 && r->status <= 599;
}

/* Load, mix, store: racing workers may lose a sample of the average or of the count,
 * which only delays the latency rule by a response, where a locked instruction would
 * cost every response on this server some 20 ns. */
static void record_latency(struct server *s, int64_t latency_us)
{
    int64_t e = load64(&s->ewma_us);
    store64(&s->ewma_us, e ? e + (latency_us - e) / EWMA_WEIGHT : latency_us);
    uint32_t n = load32(&s->samples);
    if (n < SAMPLES_MAX)
        store32(&s->samples, n + 1);
}

bool tg_outlier_observe(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i,
                        int64_t now_us, const struct tg_outlier_result *r)
{
    struct server *s = &o->srv[i];
    if ((load64(&s->until) & ~COUNTED) > now_us)
        return false;
    if (r->kind == TG_OUTLIER_RESPONSE)
        record_latency(s, r->latency_us);
    if (!is_error(p, r)) {
        if (load32(&s->consecutive))
            store32(&s->consecutive, 0);
        return false;
    }
    uint32_t c = atomic_fetch_add_explicit(&s->consecutive, 1, memory_order_relaxed) + 1;
    if (!p->consecutive_errors || c < p->consecutive_errors)
        return false;
    /* Refused (cap, or another worker ejected it first): the run starts over, so a
     * server refused by the cap is tried again after another run, not on every error. */
    store32(&s->consecutive, 0);
    return eject(o, p, i, now_us, TG_OUTLIER_R_ERRORS);
}

static int by_ewma_desc(const void *a, const void *b)
{
    const struct judged *x = a, *y = b;
    return (x->ewma_us < y->ewma_us) - (x->ewma_us > y->ewma_us);
}

uint32_t tg_outlier_sweep(struct tg_outlier *o, const struct tg_outlier_params *p, int64_t now_us)
{
    retire(o, now_us);
    if (p->latency_factor <= 0)
        return 0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < o->n; i++) {
        struct server *s = &o->srv[i];
        if ((load64(&s->until) & ~COUNTED) <= now_us &&
            load32(&s->samples) >= p->latency_min_samples)
            o->scratch[m++] = (struct judged){.ewma_us = load64(&s->ewma_us), .i = i};
    }
    if (m < p->latency_min_peers || m == 0)
        return 0;
    qsort(o->scratch, m, sizeof *o->scratch, by_ewma_desc);
    double median =
        m % 2 ? (double)o->scratch[m / 2].ewma_us
              : ((double)o->scratch[m / 2 - 1].ewma_us + (double)o->scratch[m / 2].ewma_us) / 2;
    uint32_t ejected = 0;
    /* Worst first, so the cap keeps the slowest out. */
    for (uint32_t k = 0; k < m; k++) {
        double e = (double)o->scratch[k].ewma_us;
        if (e <= p->latency_factor * median || e - median < (double)p->latency_min_excess_us)
            break;
        if (!eject(o, p, o->scratch[k].i, now_us, TG_OUTLIER_R_LATENCY))
            break;
        ejected++;
    }
    return ejected;
}

void tg_outlier_returned(struct tg_outlier *o, uint32_t i, int64_t now_us)
{
    struct server *s = &o->srv[i];
    /* An ejection in force ends now; its place is given back by the next retire, as for
     * any ejection that has run out. */
    int64_t w = load64(&s->until);
    while ((w & ~COUNTED) > now_us && !atomic_compare_exchange_weak_explicit(
                                          &s->until, &w, (now_us & ~COUNTED) | (w & COUNTED),
                                          memory_order_relaxed, memory_order_relaxed))
        ;
    store32(&s->consecutive, 0);
    /* 0 means "never returned"; a return at time 0 (only in tests) ramps from 1 µs. */
    store64(&s->ramp_start_us, now_us ? now_us : 1);
}

bool tg_outlier_usable(const struct tg_outlier *o, uint32_t i, int64_t now_us)
{
    return (load64(&o->srv[i].until) & ~COUNTED) <= now_us;
}

uint32_t tg_outlier_weight(const struct tg_outlier *o, const struct tg_outlier_params *p,
                           uint32_t i, int64_t now_us)
{
    int64_t start = load64(&o->srv[i].ramp_start_us);
    if (start == 0 || p->slow_start_us <= 0 || now_us >= start + p->slow_start_us)
        return 1000;
    double min = (p->slow_start_min_pct ? p->slow_start_min_pct : 1) / 100.0;
    double f = now_us > start ? (double)(now_us - start) / (double)p->slow_start_us : 0.0;
    double aggr = p->slow_start_aggression > 0 ? p->slow_start_aggression : 1.0;
    double w = pow(f, 1.0 / aggr);
    w = w > min ? w : min;
    return w >= 1.0 ? 1000 : (uint32_t)(w * 1000.0 + 0.5);
}

void tg_outlier_read(const struct tg_outlier *o, int64_t now_us, struct tg_outlier_stats *out)
{
    *out = (struct tg_outlier_stats){.servers = o->n};
    for (uint32_t i = 0; i < o->n; i++)
        out->ejected_now += !tg_outlier_usable(o, i, now_us);
    for (unsigned r = 0; r < TG_OUTLIER_R_COUNT; r++)
        out->ejections_total[r] = atomic_load_explicit(&o->ejections[r], memory_order_relaxed);
    out->cap_refused_total = atomic_load_explicit(&o->cap_refused, memory_order_relaxed);
}

void tg_outlier_read_server(const struct tg_outlier *o, const struct tg_outlier_params *p,
                            uint32_t i, int64_t now_us, struct tg_outlier_server_stats *out)
{
    const struct server *s = &o->srv[i];
    *out = (struct tg_outlier_server_stats){
        .ejected = !tg_outlier_usable(o, i, now_us),
        .ejected_until_us = load64(&s->until) & ~COUNTED,
        .times_ejected = load32(&s->times),
        .consecutive_errors = load32(&s->consecutive),
        .ewma_us = load64(&s->ewma_us),
        .samples = load32(&s->samples),
        .weight_permille = tg_outlier_weight(o, p, i, now_us),
    };
}
