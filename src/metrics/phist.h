/* SPDX-License-Identifier: MIT */
/* The paged latency histogram: the buckets of hist.h (same index, same range and
 * precision, so the same percentiles and `le` counts), stored as one page of counters per
 * power of two and allocated only when a value lands in it. It is what the gateway keeps
 * per endpoint and method, where the dense struct tg_hist (21.5 KiB whatever was
 * recorded) made every endpoint cost tens of KiB on every worker and in the aggregate.
 *
 * Why pages and not a list of (bucket, count) pairs: a page is found by shifting the
 * bucket index, so recording stays O(1) with one more load and a branch (a list needs a
 * search and inserts on the hot path). A page is one power of two of latency, 128
 * buckets of 8 bytes (1 KiB); an endpoint's latencies usually span 2 to 6 of them
 * (e.g. 1 ms to 40 ms is 6), so an endpoint costs 2-6 KiB instead of 21.5 KiB, and at
 * most, with every page present, the dense size plus the page table (21 x 8 bytes).
 *
 * Memory: sizeof(struct tg_phist) = 208 bytes plus TG_PHIST_PAGE_BYTES per page in use.
 * Pages come from malloc. A failed allocation makes that record or merge fail with
 * -ENOMEM and change nothing; callers count the loss (the gateway drops the sample and
 * counts it, it never aborts). Pages stay until tg_phist_deinit: a reset only zeroes
 * them, since a key that was busy in one interval usually is in the next.
 *
 * Threads: one writer, no internal synchronisation, like struct tg_hist; the shard's
 * phaser (hist.h) hands a whole side, pages included, from the writer to the reader. */
#ifndef TG_METRICS_PHIST_H
#define TG_METRICS_PHIST_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"

#define TG_PHIST_PAGE_BUCKETS (1u << TG_HIST_SUB_BITS)                 /* 128 */
#define TG_PHIST_PAGES (TG_HIST_BUCKETS / TG_PHIST_PAGE_BUCKETS)       /* 21 */
#define TG_PHIST_PAGE_BYTES (TG_PHIST_PAGE_BUCKETS * sizeof(uint64_t)) /* 1 KiB */

struct tg_phist {
    uint64_t count;    /* values recorded, overflowed ones included */
    uint64_t overflow; /* values above TG_HIST_MAX_US (counted, not in a page) */
    uint64_t sum_us;
    uint64_t min_us; /* UINT64_MAX while empty */
    uint64_t max_us;
    uint64_t *pages[TG_PHIST_PAGES]; /* page p: buckets p*128 .. p*128+127, or NULL */
};

/* Empties `h`, which holds no pages yet (the initialiser of embedded histograms). */
void tg_phist_init(struct tg_phist *h);

/* Frees the pages; `h` must be initialised again before use. Accepts NULL. */
void tg_phist_deinit(struct tg_phist *h);

/* Empties `h` and keeps its pages (zeroed) for the next values. */
void tg_phist_reset(struct tg_phist *h);

/* Allocates page `p` of `h` (zeroed). Returns it, or NULL when out of memory. */
uint64_t *tg_phist_page_new(struct tg_phist *h, unsigned p);

/* Records one value (negative ones as 0, above TG_HIST_MAX_US into `overflow`). Returns
 * 0, or -ENOMEM when its page could not be allocated (then nothing changed). Writer
 * only. Cost: as tg_hist_record plus one dependent load; a malloc the first time a
 * power of two is hit. */
static inline int tg_phist_record(struct tg_phist *h, int64_t v_us)
{
    uint64_t v = v_us < 0 ? 0 : (uint64_t)v_us;
    if (v <= (uint64_t)TG_HIST_MAX_US) {
        uint32_t idx = tg_hist_index(v);
        uint64_t *page = h->pages[idx >> TG_HIST_SUB_BITS];
        if (!page && !(page = tg_phist_page_new(h, idx >> TG_HIST_SUB_BITS)))
            return -ENOMEM;
        page[idx & (TG_PHIST_PAGE_BUCKETS - 1)]++;
    } else {
        h->overflow++;
    }
    h->count++;
    h->sum_us += v;
    if (v < h->min_us)
        h->min_us = v;
    if (v > h->max_us)
        h->max_us = v;
    return 0;
}

/* Adds every value of `src` to `dst`. All or nothing: -ENOMEM (and `dst` unchanged) when
 * a page `dst` lacks could not be allocated, else 0. O(pages of src x 128). */
int tg_phist_merge(struct tg_phist *dst, const struct tg_phist *src);

/* The same answers as the tg_hist functions of the same name (hist.h), for the same
 * values recorded. Each walks the pages in use once at most. */
int64_t tg_phist_value_at(const struct tg_phist *h, double pct);
void tg_phist_values_at(const struct tg_phist *h, const double *pcts, size_t n, int64_t *out);
uint64_t tg_phist_count_le(const struct tg_phist *h, int64_t v_us);
bool tg_phist_iter_next(const struct tg_phist *h, struct tg_hist_iter *it);

/* Bytes of pages in use (what the histogram costs beyond its struct). */
size_t tg_phist_page_bytes(const struct tg_phist *h);

#endif
