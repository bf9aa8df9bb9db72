/* SPDX-License-Identifier: MIT */
/* What the dense histogram (hist.c) and the paged one (phist.c) share to report the same
 * values from the same buckets: the nearest-rank rule and the value a bucket stands for.
 * Inside the metrics module only. */
#ifndef TG_METRICS_HIST_INT_H
#define TG_METRICS_HIST_INT_H

#include <stdint.h>

/* Nearest rank of `pct` among `count` values: ceil(pct / 100 * count), in 1..count. */
uint64_t tg_hist__rank(double pct, uint64_t count);

/* The value reported for bucket `idx`: its midpoint, kept inside [min_us, max_us] so a
 * percentile never reads below the smallest or above the largest recorded value. */
int64_t tg_hist__bucket_value(uint32_t idx, uint64_t min_us, uint64_t max_us);

#endif
