/* SPDX-License-Identifier: MIT */
/* The reader side of the latency histogram: reset, merge, summary values, percentiles,
 * bucket iteration and the phaser flip. Recording is inline in hist.h. Everything here
 * walks the bucket array at most once, so a query costs a few microseconds. */
#include "metrics/hist.h"

#include <math.h>
#include <sched.h>
#include <string.h>

#include "metrics/hist_int.h"

_Static_assert(sizeof(struct tg_hist) == TG_HIST_BYTES, "TG_HIST_BYTES is the exact size");
_Static_assert(TG_HIST_BUCKETS == 2688, "range and precision documented in hist.h");

void tg_hist_reset(struct tg_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

void tg_hist_init(struct tg_hist *h)
{
    tg_hist_reset(h);
}

void tg_hist_merge(struct tg_hist *dst, const struct tg_hist *src)
{
    if (src->count == 0)
        return;
    dst->count += src->count;
    dst->overflow += src->overflow;
    dst->sum_us += src->sum_us;
    if (src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    for (uint32_t i = 0; i < TG_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
}

int64_t tg_hist_min(const struct tg_hist *h)
{
    return h->count ? (int64_t)h->min_us : 0;
}

int64_t tg_hist_max(const struct tg_hist *h)
{
    return h->count ? (int64_t)h->max_us : 0;
}

double tg_hist_mean(const struct tg_hist *h)
{
    return h->count ? (double)h->sum_us / (double)h->count : 0.0;
}

int64_t tg_hist__bucket_value(uint32_t idx, uint64_t min_us, uint64_t max_us)
{
    int64_t lo = tg_hist_bucket_lowest(idx), hi = tg_hist_bucket_highest(idx);
    int64_t v = lo + (hi - lo) / 2;
    if (v < (int64_t)min_us)
        v = (int64_t)min_us;
    if (v > (int64_t)max_us)
        v = (int64_t)max_us;
    return v;
}

/* The small epsilon keeps e.g. 99.9 % of 1000 at rank 999 despite binary rounding. */
uint64_t tg_hist__rank(double pct, uint64_t count)
{
    if (!(pct > 0))
        return 1;
    if (pct >= 100)
        return count;
    double r = ceil(pct / 100.0 * (double)count - 1e-9);
    if (r < 1)
        return 1;
    return r > (double)count ? count : (uint64_t)r;
}

void tg_hist__values_at(const struct tg_hist__view *v, const double *pcts, size_t n, int64_t *out)
{
    size_t k = 0;
    if (v->count == 0) {
        for (; k < n; k++)
            out[k] = 0;
        return;
    }
    uint64_t cum = 0;
    const uint32_t per_page = 1u << TG_HIST_SUB_BITS;
    for (uint32_t p = 0; p < TG_HIST__PAGES && k < n; p++) {
        const uint64_t *page = v->pages[p];
        for (uint32_t i = 0; page && i < per_page && k < n; i++) {
            if (!page[i])
                continue;
            cum += page[i];
            for (; k < n && pcts[k] < 100 && tg_hist__rank(pcts[k], v->count) <= cum; k++)
                out[k] = tg_hist__bucket_value(p * per_page + i, v->min_us, v->max_us);
        }
    }
    /* What is left is p100 or lies in the overflow bucket: report the exact max. */
    for (; k < n; k++)
        out[k] = (int64_t)v->max_us;
}

uint64_t tg_hist__count_le(const struct tg_hist__view *v, int64_t v_us)
{
    if (v->count == 0 || v_us < 0)
        return 0;
    if ((uint64_t)v_us >= v->max_us)
        return v->count;
    if (v_us > TG_HIST_MAX_US)
        return v->count - v->overflow;
    uint32_t last = tg_hist_index((uint64_t)v_us), per_page = 1u << TG_HIST_SUB_BITS;
    uint64_t n = 0;
    for (uint32_t p = 0; p <= last >> TG_HIST_SUB_BITS; p++) {
        uint32_t end = p == last >> TG_HIST_SUB_BITS ? (last & (per_page - 1)) + 1 : per_page;
        for (uint32_t i = 0; v->pages[p] && i < end; i++)
            n += v->pages[p][i];
    }
    return n;
}

static void view_of(const struct tg_hist *h, struct tg_hist__view *v)
{
    for (uint32_t p = 0; p < TG_HIST__PAGES; p++)
        v->pages[p] = h->counts + ((size_t)p << TG_HIST_SUB_BITS);
    v->count = h->count;
    v->overflow = h->overflow;
    v->min_us = h->min_us;
    v->max_us = h->max_us;
}

void tg_hist_values_at(const struct tg_hist *h, const double *pcts, size_t n, int64_t *out)
{
    struct tg_hist__view v;
    view_of(h, &v);
    tg_hist__values_at(&v, pcts, n, out);
}

int64_t tg_hist_value_at(const struct tg_hist *h, double pct)
{
    int64_t v;
    tg_hist_values_at(h, &pct, 1, &v);
    return v;
}

uint64_t tg_hist_count_le(const struct tg_hist *h, int64_t v_us)
{
    struct tg_hist__view v;
    view_of(h, &v);
    return tg_hist__count_le(&v, v_us);
}

bool tg_hist_iter_next(const struct tg_hist *h, struct tg_hist_iter *it)
{
    while (it->next < TG_HIST_BUCKETS) {
        uint32_t i = it->next++;
        if (!h->counts[i])
            continue;
        it->lowest_us = tg_hist_bucket_lowest(i);
        it->highest_us = tg_hist_bucket_highest(i);
        it->count = h->counts[i];
        return true;
    }
    if (it->next == TG_HIST_BUCKETS) {
        it->next++;
        if (h->overflow) {
            it->lowest_us = TG_HIST_MAX_US + 1;
            it->highest_us = (int64_t)h->max_us;
            it->count = h->overflow;
            return true;
        }
    }
    return false;
}

unsigned tg_hist_phaser_flip(struct tg_hist_phaser *p)
{
    uint64_t cur = atomic_load_explicit(&p->enter, memory_order_relaxed);
    uint64_t next_phase = (~cur) & (UINT64_C(1) << 63);
    uint64_t old = atomic_exchange_explicit(&p->enter, next_phase, memory_order_acq_rel);
    unsigned side = (unsigned)(old >> 63);
    uint64_t entered = old & ~(UINT64_C(1) << 63);
    /* The writer's critical section never blocks, so this waits for at most one update
     * (longer only if the writer thread was preempted inside it, hence the yield). */
    while (atomic_load_explicit(&p->done[side], memory_order_acquire) != entered)
        sched_yield();
    /* The writer will not touch this side again before the next flip hands it back. */
    atomic_store_explicit(&p->done[side], 0, memory_order_relaxed);
    return side;
}
