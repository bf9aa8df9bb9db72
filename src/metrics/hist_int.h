/* SPDX-License-Identifier: MIT */
/* What the dense histogram (hist.c) and the paged one (phist.c) share to report the same
 * values from the same buckets: the nearest-rank rule, the value a bucket stands for,
 * and the percentile and `le` count reads over a common view of their buckets. Inside the
 * metrics module only. */
#ifndef TG_METRICS_HIST_INT_H
#define TG_METRICS_HIST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"

/* Both histograms seen the same way: TG_HIST_BUCKETS buckets as pages of 2^SUB_BITS
 * (one page per power of two), a NULL page holding only zeros. The dense histogram's
 * pages are slices of its array; the paged one's are its pages. */
#define TG_HIST__PAGES (TG_HIST_BUCKETS >> TG_HIST_SUB_BITS)
struct tg_hist__view {
    const uint64_t *pages[TG_HIST__PAGES];
    uint64_t count, overflow, min_us, max_us;
};

/* tg_hist_values_at and tg_hist_count_le, for either histogram. */
void tg_hist__values_at(const struct tg_hist__view *v, const double *pcts, size_t n,
                        int64_t *out);
uint64_t tg_hist__count_le(const struct tg_hist__view *v, int64_t v_us);

/* Nearest rank of `pct` among `count` values: ceil(pct / 100 * count), in 1..count. */
uint64_t tg_hist__rank(double pct, uint64_t count);

/* The value reported for bucket `idx`: its midpoint, kept inside [min_us, max_us] so a
 * percentile never reads below the smallest or above the largest recorded value. */
int64_t tg_hist__bucket_value(uint32_t idx, uint64_t min_us, uint64_t max_us);

#endif
