/* SPDX-License-Identifier: MIT */
/* Per-series cursors over a selector's fetched samples. A range query asks each series
 * for its window at every step, and the steps move forward: a cursor remembers where the
 * last window began and ended, so the next one is found by stepping a few samples on
 * instead of two binary searches over the whole series (which also touched cold samples
 * at every step). Times that move backward (a subquery's inner steps, or a series asked
 * twice in one step) fall back to a binary search, so any order of calls is answered
 * exactly as lower_bound would.
 *
 * The cursor also records, once per fetch, what the window code may skip: whether the
 * series holds a stale marker (else a window is a slice of the store's array, with no
 * copy and no scan), and where its values first and last drop (else rate() and increase()
 * need no scan for counter resets). Used by eval.c's selectors. */
#include <stdint.h>

#include "promql/eval_int.h"

/* Steps taken one sample at a time before a binary search: a step of a range query
 * usually moves a window by a few samples (15 s over 5 s samples: 3). */
#define WALK_MAX 8

static size_t lower_bound(const struct tg_sample *s, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void tg_promql__cursor_init(struct tg_promql__cursor *c, const struct tg_series *se)
{
    c->lo = c->hi = 0;
    c->lo_t = c->hi_t = INT64_MIN;
    c->first_drop = UINT32_MAX;
    c->last_drop = 0;
    c->stale = false;
    for (uint32_t j = 0; j < se->nsamples; j++) {
        c->stale |= tg_is_stale(se->samples[j].v);
        /* The same test as the reset loops of fn_range.c, so NaN never counts. */
        if (j > 0 && se->samples[j].v < se->samples[j - 1].v) {
            if (c->first_drop == UINT32_MAX)
                c->first_drop = j;
            c->last_drop = j;
        }
    }
}

/* The first index with time >= `t`, given that `*at` is that index for time `*at_t`. */
static uint32_t seek(const struct tg_series *se, uint32_t *at, int64_t *at_t, int64_t t)
{
    const struct tg_sample *s = se->samples;
    size_t j;
    if (t < *at_t) {
        j = lower_bound(s, *at, t);
    } else {
        j = *at;
        size_t stop = j + WALK_MAX < se->nsamples ? j + WALK_MAX : se->nsamples;
        while (j < stop && s[j].t < t)
            j++;
        if (j == stop && j < se->nsamples)
            j += lower_bound(s + j, se->nsamples - j, t);
    }
    *at = (uint32_t)j;
    *at_t = t;
    return *at;
}

void tg_promql__cursor_window(struct tg_promql__cursor *c, const struct tg_series *se, int64_t mint,
                              int64_t maxt, size_t *lo, size_t *hi)
{
    *lo = seek(se, &c->lo, &c->lo_t, mint);
    *hi = seek(se, &c->hi, &c->hi_t, maxt + 1);
}

bool tg_promql__cursor_no_drop(const struct tg_promql__cursor *c, size_t lo, size_t hi)
{
    /* Drops inside [lo, hi) are at indexes lo + 1 .. hi - 1. */
    return c->first_drop == UINT32_MAX || c->first_drop >= hi || c->last_drop <= lo;
}
