/* SPDX-License-Identifier: MIT */
/* Sliding windows: a ring of one-second slots per key, each holding that second's
 * requests as a sparse latency histogram (only the buckets that were hit) plus counters.
 * A query merges the slots of the last N seconds into a scratch histogram, so "p95 over
 * the last minute" is exact to the histogram's precision and forgets old samples one
 * second at a time, which since-start totals and EWMAs cannot do. Memory grows with the
 * number of distinct buckets hit per second (a few hundred bytes to a few KiB for a busy
 * endpoint), not with the request rate. Control thread only. */
#ifndef TG_METRICS_WINDOW_H
#define TG_METRICS_WINDOW_H

#include <stdint.h>

#include "metrics/hist.h"
#include "metrics/reqstats.h"

struct tg_window;

/* What a window query returns. Latencies in µs; rates per second over the window. */
struct tg_winstats {
    uint32_t window_s;
    uint64_t count, errors;
    uint64_t status_class[6]; /* [0] no response/other, [1] 1xx .. [5] 5xx */
    double rps, error_rate, mean_us;
    int64_t p50_us, p90_us, p95_us, p99_us, max_us;
};

/* A ring of `seconds` slots. -ENOMEM or 0. */
int tg_window_new(uint32_t seconds, struct tg_window **out);
void tg_window_free(struct tg_window *w);

/* Adds an interval's statistics to the slot of second `now_s` (slots of seconds that
 * were skipped are cleared). Returns 0 or -ENOMEM (then this second is incomplete). */
int tg_window_add(struct tg_window *w, int64_t now_s, const struct tg_reqstats *st);

/* Fills `out` for the `seconds` seconds ending at `now_s` (inclusive), using `scratch`
 * as working memory. Seconds beyond the ring's length are clamped to it. */
void tg_window_query(const struct tg_window *w, int64_t now_s, uint32_t seconds,
                     struct tg_hist *scratch, struct tg_winstats *out);

#endif
