/* SPDX-License-Identifier: MIT */
/* The latency histogram: log-linear (HDR-style) buckets over microseconds, fixed memory,
 * O(1) recording with no allocation, lock or branch on the bucket search. Used by the load
 * generator (bench/) and for the gateway's window queries; the gateway's per-endpoint
 * histograms store the same buckets in pages (phist.h).
 *
 * Range and precision: values 0 .. TG_HIST_MAX_US (2^27 - 1 µs, about 134 s). Below 256 µs
 * every microsecond has its own bucket (exact); above, each power of two is split into 128
 * linear sub-buckets, so a bucket is at most 1/128 of its lower bound wide. Reported values
 * are bucket midpoints, so any reported value is within 0.4 % of a value that was recorded
 * in that bucket (and never outside the recorded min..max). Larger values are clamped into
 * an overflow bucket that is counted (`overflow`); min, max, sum and mean stay exact.
 * Negative values (a clock that stepped) are recorded as 0.
 *
 * Memory: exactly TG_HIST_BYTES (21,544) bytes, all inline, no pointers, so a histogram
 * can be embedded, copied, or zero-allocated in arrays. A zeroed histogram must pass
 * through tg_hist_init before use (min starts at UINT64_MAX).
 *
 * Threads: a struct tg_hist has one writer and no internal synchronisation. Per-thread
 * recording with reads from another thread uses struct tg_hist_phaser: each writer records
 * into one of two sides (usually two histograms plus counters), bracketing every update
 * with enter/exit; the reader flips the phaser, which waits for the writer to leave the
 * old side, and then owns that side until its next flip (HdrHistogram's interval recorder
 * and writer-reader phaser, reduced to one writer, which makes exit a plain store). */
#ifndef TG_METRICS_HIST_H
#define TG_METRICS_HIST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_HIST_SUB_BITS 7                      /* 128 sub-buckets per power of two */
#define TG_HIST_MAX_US ((INT64_C(1) << 27) - 1) /* largest value with its own bucket */
#define TG_HIST_BUCKETS ((27 - TG_HIST_SUB_BITS + 1) << TG_HIST_SUB_BITS) /* 2,688 */
#define TG_HIST_BYTES (5 * 8 + TG_HIST_BUCKETS * 8) /* sizeof(struct tg_hist) */

struct tg_hist {
    uint64_t count;    /* values recorded, overflowed ones included */
    uint64_t overflow; /* values above TG_HIST_MAX_US (counted, not in counts[]) */
    uint64_t sum_us;   /* exact sum of recorded values, for the mean */
    uint64_t min_us;   /* UINT64_MAX while empty */
    uint64_t max_us;
    uint64_t counts[TG_HIST_BUCKETS];
};

/* Bucket index of `v_us` (0 <= v_us <= TG_HIST_MAX_US). The top set bit selects the power
 * of two (at least 2^7, so values below 256 map to themselves) and the next 7 bits the
 * sub-bucket. Pure, branch-free, a few cycles. */
static inline uint32_t tg_hist_index(uint64_t v_us)
{
    unsigned top = 63u - (unsigned)__builtin_clzll(v_us | (1u << TG_HIST_SUB_BITS));
    unsigned shift = top - TG_HIST_SUB_BITS;
    return (uint32_t)((shift << TG_HIST_SUB_BITS) + (v_us >> shift));
}

/* Lowest and highest value that map to bucket `idx` (< TG_HIST_BUCKETS). */
static inline int64_t tg_hist_bucket_lowest(uint32_t idx)
{
    if (idx < (2u << TG_HIST_SUB_BITS))
        return idx;
    unsigned shift = (idx >> TG_HIST_SUB_BITS) - 1;
    return (int64_t)(idx - (shift << TG_HIST_SUB_BITS)) << shift;
}

static inline int64_t tg_hist_bucket_highest(uint32_t idx)
{
    unsigned shift = idx < (2u << TG_HIST_SUB_BITS) ? 0 : (idx >> TG_HIST_SUB_BITS) - 1;
    return tg_hist_bucket_lowest(idx) + (INT64_C(1) << shift) - 1;
}

/* Records `n` occurrences of `v_us`. Cannot fail. Writer thread only. Cost: a few ns. */
static inline void tg_hist_record_n(struct tg_hist *h, int64_t v_us, uint64_t n)
{
    uint64_t v = v_us < 0 ? 0 : (uint64_t)v_us;
    h->count += n;
    h->sum_us += v * n;
    if (v < h->min_us)
        h->min_us = v;
    if (v > h->max_us)
        h->max_us = v;
    if (v <= (uint64_t)TG_HIST_MAX_US)
        h->counts[tg_hist_index(v)] += n;
    else
        h->overflow += n;
}

static inline void tg_hist_record(struct tg_hist *h, int64_t v_us)
{
    tg_hist_record_n(h, v_us, 1);
}

/* Empties `h` (also the initialiser of embedded or zero-allocated histograms). */
void tg_hist_init(struct tg_hist *h);
void tg_hist_reset(struct tg_hist *h);

/* Adds every value of `src` to `dst`. O(TG_HIST_BUCKETS), about a microsecond. */
void tg_hist_merge(struct tg_hist *dst, const struct tg_hist *src);

/* Smallest and largest recorded value (exact), 0 when empty. */
int64_t tg_hist_min(const struct tg_hist *h);
int64_t tg_hist_max(const struct tg_hist *h);

/* Exact arithmetic mean in microseconds, 0 when empty. */
double tg_hist_mean(const struct tg_hist *h);

/* The value at percentile `pct` (0..100): the nearest-rank value (the smallest recorded
 * value with at least pct % of all values at or below it), reported as the midpoint of its
 * bucket clamped to [min, max]. pct >= 100 gives max; an empty histogram gives 0. A value
 * in the overflow bucket is reported as max. O(TG_HIST_BUCKETS). */
int64_t tg_hist_value_at(const struct tg_hist *h, double pct);

/* Several percentiles in one pass: `pcts` ascending, results in out[0..n). */
void tg_hist_values_at(const struct tg_hist *h, const double *pcts, size_t n, int64_t *out);

/* Number of values in buckets whose lowest value is <= `v_us` (so values up to 0.8 % above
 * `v_us` may be included): the cumulative count for a Prometheus `le` bucket. Overflowed
 * values are included only when `v_us` >= max. O(TG_HIST_BUCKETS). */
uint64_t tg_hist_count_le(const struct tg_hist *h, int64_t v_us);

/* Iteration over non-empty buckets in increasing order; the overflow bucket comes last
 * with lowest = TG_HIST_MAX_US + 1 and highest = max. Start with a zeroed iterator. */
struct tg_hist_iter {
    uint32_t next; /* private: next bucket index to look at */
    int64_t lowest_us, highest_us;
    uint64_t count;
};
bool tg_hist_iter_next(const struct tg_hist *h, struct tg_hist_iter *it);

/* Writer/reader swap for per-thread recording (see the top of this file). */
struct tg_hist_phaser {
    _Atomic uint64_t enter;   /* bit 63: the side being written; low bits: entries to it */
    _Atomic uint64_t done[2]; /* completed updates in each side since it became active */
};

/* Writer: returns the side (0 or 1) to update until tg_hist_phaser_exit. One atomic
 * increment on a line only this writer and the rare flip touch: about 5 ns. */
static inline unsigned tg_hist_phaser_enter(struct tg_hist_phaser *p)
{
    return (unsigned)(atomic_fetch_add_explicit(&p->enter, 1, memory_order_acquire) >> 63);
}

/* Writer: publishes the updates made since enter. A plain release store: only this
 * writer changes done[side] while that side is active. */
static inline void tg_hist_phaser_exit(struct tg_hist_phaser *p, unsigned side)
{
    uint64_t d = atomic_load_explicit(&p->done[side], memory_order_relaxed);
    atomic_store_explicit(&p->done[side], d + 1, memory_order_release);
}

/* Reader (one thread at a time): makes the writer switch sides, waits until it has left
 * the old side (it never blocks inside, so this is a short spin with sched_yield), and
 * returns the old side, which the caller now owns: read it, then reset it before the next
 * flip hands it back to the writer. Works with no writer running (returns at once). */
unsigned tg_hist_phaser_flip(struct tg_hist_phaser *p);

#endif
