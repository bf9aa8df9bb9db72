/* SPDX-License-Identifier: MIT */
/* Fault model and the shared registry; see faults.h for the sharing scheme. A set is one
 * allocation: the header, the fault array and, after it, every capacity fault's slot
 * clocks, so building, publishing and freeing a set are each one step. */
#include "demo/faults.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "demo/route.h"

struct retired {
    struct retired *next;
    uint64_t gen; /* freed once every reader has seen a generation >= this */
    struct tg_demo_fault_set *set;
};

struct tg_demo_faults {
    _Atomic(struct tg_demo_fault_set *) cur;
    _Atomic uint64_t gen;
    pthread_mutex_t lock; /* writers and reclamation only, never a reader */
    struct retired *retired;
    unsigned nreaders;
    _Atomic uint64_t seen[]; /* per reader: last generation observed while quiescent */
};

double tg_demo_fault_strength(const struct tg_demo_fault *f, int64_t now_us)
{
    int64_t age = now_us - f->start_us;
    if (age < 0)
        age = 0;
    switch (f->pattern) {
    case TG_DEMO_PATTERN_GRADUAL:
        if (f->ramp_us <= 0 || age >= f->ramp_us)
            return 1.0;
        return (double)age / (double)f->ramp_us;
    case TG_DEMO_PATTERN_PERIODIC:
        if (f->period_us <= 0)
            return 1.0;
        return (double)(age % f->period_us) < f->duty * (double)f->period_us ? 1.0 : 0.0;
    case TG_DEMO_PATTERN_SUDDEN:
    default:
        return 1.0;
    }
}

int64_t tg_demo_capacity_admit(_Atomic int64_t *slots, uint32_t n, int64_t service_us,
                               int64_t now_us)
{
    for (;;) {
        uint32_t best = 0;
        int64_t best_free = atomic_load_explicit(&slots[0], memory_order_relaxed);
        for (uint32_t i = 1; i < n; i++) {
            int64_t v = atomic_load_explicit(&slots[i], memory_order_relaxed);
            if (v < best_free) {
                best_free = v;
                best = i;
            }
        }
        int64_t start = best_free > now_us ? best_free : now_us;
        int64_t done = start + service_us;
        /* Another thread may have booked the same server since the scan; rescan then. */
        if (atomic_compare_exchange_weak_explicit(&slots[best], &best_free, done,
                                                  memory_order_relaxed, memory_order_relaxed))
            return done - now_us;
    }
}

static void apply_one(struct tg_demo_fault *f, int64_t now_us, struct tg_demo_rng *rng,
                      struct tg_demo_effect *e)
{
    if (f->concurrency) {
        e->capacity = true;
        e->delay_us += tg_demo_capacity_admit(f->slots, f->concurrency, f->service_us, now_us);
    }
    double s = tg_demo_fault_strength(f, now_us);
    if (s <= 0.0)
        return;
    e->delay_us += (int64_t)((double)f->latency_us * s);
    if (f->hang && (s >= 1.0 || tg_demo_rng_unit(rng) < s))
        e->hang = true;
    if (!e->status && f->error_rate > 0.0 && tg_demo_rng_unit(rng) < f->error_rate * s)
        e->status = f->error_status;
}

void tg_demo_faults_eval(const struct tg_demo_fault_set *s, struct tg_str path, int64_t now_us,
                         struct tg_demo_rng *rng, struct tg_demo_effect *e)
{
    for (uint32_t i = 0; i < s->n; i++) {
        /* The set is immutable; only the capacity slots (atomics) are written. */
        struct tg_demo_fault *f = (struct tg_demo_fault *)&s->f[i];
        if (tg_demo_path_selects(f->endpoint, f->endpoint_len, path))
            apply_one(f, now_us, rng, e);
    }
}

void tg_demo_fault_defaults(struct tg_demo_fault *f)
{
    memset(f, 0, sizeof *f);
    f->error_status = 500;
    f->pattern = TG_DEMO_PATTERN_SUDDEN;
    f->ramp_us = 30 * 1000000LL;
    f->period_us = 10 * 1000000LL;
    f->duty = 0.5;
}

/* Allocates a set for `n` faults with `nslots` capacity slots in total. */
static struct tg_demo_fault_set *set_alloc(uint32_t n, uint32_t nslots)
{
    size_t sz = sizeof(struct tg_demo_fault_set) + n * sizeof(struct tg_demo_fault) +
                nslots * sizeof(_Atomic int64_t);
    return calloc(1, sz);
}

/* Copies `src` faults (all but the one at index `skip`, if any) plus `add` (if not NULL)
 * into a new set. Capacity slot clocks of kept faults are copied, so their queues survive;
 * a booking a reader makes on the old set during the copy may be lost, which only makes
 * the model briefly more generous. */
static struct tg_demo_fault_set *set_build(const struct tg_demo_fault_set *src, int64_t skip,
                                           const struct tg_demo_fault *add)
{
    uint32_t n = 0, nslots = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        if ((int64_t)i != skip) {
            n++;
            nslots += src->f[i].concurrency;
        }
    }
    if (add) {
        n++;
        nslots += add->concurrency;
    }
    struct tg_demo_fault_set *s = set_alloc(n, nslots);
    if (!s)
        return NULL;
    _Atomic int64_t *slot = (_Atomic int64_t *)&s->f[n];
    for (uint32_t i = 0; i < src->n; i++) {
        if ((int64_t)i == skip)
            continue;
        struct tg_demo_fault *f = &s->f[s->n++];
        *f = src->f[i];
        f->slots = slot;
        for (uint32_t k = 0; k < f->concurrency; k++)
            atomic_init(&slot[k], atomic_load(&src->f[i].slots[k]));
        slot += f->concurrency;
    }
    if (add) {
        struct tg_demo_fault *f = &s->f[s->n++];
        *f = *add;
        f->slots = slot; /* calloc: every server free at time 0 */
    }
    return s;
}

int tg_demo_faults_new(struct tg_demo_faults **out, unsigned nreaders)
{
    struct tg_demo_faults *r = calloc(1, sizeof *r + nreaders * sizeof(_Atomic uint64_t));
    if (!r)
        return -ENOMEM;
    struct tg_demo_fault_set *empty = set_alloc(0, 0);
    if (!empty) {
        free(r);
        return -ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->nreaders = nreaders;
    atomic_init(&r->cur, empty);
    *out = r;
    return 0;
}

void tg_demo_faults_free(struct tg_demo_faults *r)
{
    if (!r)
        return;
    while (r->retired) {
        struct retired *x = r->retired;
        r->retired = x->next;
        free(x->set);
        free(x);
    }
    free(atomic_load(&r->cur));
    pthread_mutex_destroy(&r->lock);
    free(r);
}

const struct tg_demo_fault_set *tg_demo_faults_current(struct tg_demo_faults *r)
{
    return atomic_load_explicit(&r->cur, memory_order_acquire);
}

/* Frees retired sets that every reader has moved past. Caller holds r->lock. */
static void reclaim(struct tg_demo_faults *r)
{
    uint64_t min_seen = UINT64_MAX;
    for (unsigned i = 0; i < r->nreaders; i++) {
        uint64_t v = atomic_load(&r->seen[i]);
        if (v < min_seen)
            min_seen = v;
    }
    struct retired **pp = &r->retired;
    while (*pp) {
        struct retired *x = *pp;
        if (x->gen <= min_seen) {
            *pp = x->next;
            free(x->set);
            free(x);
        } else {
            pp = &x->next;
        }
    }
}

void tg_demo_faults_quiescent(struct tg_demo_faults *r, unsigned reader)
{
    /* seq_cst: the generation is bumped after the pointer swap, so seeing gen >= g
     * means any later load of `cur` returns the set published at g or a newer one. */
    atomic_store(&r->seen[reader], atomic_load(&r->gen));
    pthread_mutex_lock(&r->lock);
    reclaim(r);
    pthread_mutex_unlock(&r->lock);
}

/* Publishes `next` and retires the current set. Caller holds r->lock. */
static int publish(struct tg_demo_faults *r, struct tg_demo_fault_set *next)
{
    struct retired *x = calloc(1, sizeof *x);
    if (!x) {
        free(next);
        return -ENOMEM;
    }
    next->gen = atomic_load(&r->gen) + 1;
    x->set = atomic_exchange(&r->cur, next);
    atomic_store(&r->gen, next->gen);
    x->gen = next->gen;
    x->next = r->retired;
    r->retired = x;
    reclaim(r);
    return 0;
}

static int64_t find(const struct tg_demo_fault_set *s, const char *ep, size_t len)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->f[i].endpoint_len == len && memcmp(s->f[i].endpoint, ep, len) == 0)
            return i;
    return -1;
}

int tg_demo_faults_put(struct tg_demo_faults *r, const struct tg_demo_fault *f)
{
    pthread_mutex_lock(&r->lock);
    const struct tg_demo_fault_set *cur = atomic_load(&r->cur);
    int64_t old = find(cur, f->endpoint, f->endpoint_len);
    int rc = TG_ELIMIT;
    if (old >= 0 || cur->n < TG_DEMO_FAULTS_MAX) {
        struct tg_demo_fault_set *next = set_build(cur, old, f);
        rc = next ? publish(r, next) : -ENOMEM;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int tg_demo_faults_delete(struct tg_demo_faults *r, const char *endpoint, size_t len)
{
    pthread_mutex_lock(&r->lock);
    const struct tg_demo_fault_set *cur = atomic_load(&r->cur);
    int removed = 0;
    struct tg_demo_fault_set *next = NULL;
    if (!endpoint) {
        removed = (int)cur->n;
        next = removed ? set_alloc(0, 0) : NULL;
    } else {
        int64_t i = find(cur, endpoint, len);
        removed = i >= 0;
        next = removed ? set_build(cur, i, NULL) : NULL;
    }
    int rc = removed;
    if (removed)
        rc = next ? publish(r, next) : -ENOMEM;
    pthread_mutex_unlock(&r->lock);
    return rc < 0 ? rc : removed;
}
