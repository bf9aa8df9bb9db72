/* SPDX-License-Identifier: MIT */
/* Sliding windows; see window.h. The slots live in a circular queue, oldest at `head`.
 * A position the queue has left keeps its bucket array, so a busy key reuses its arrays
 * from second to second instead of allocating; resizing the queue frees the arrays of
 * the positions it does not carry over. */
#include "metrics/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_SLOTS 2   /* a key with one request in the window needs one or two */
#define FIRST_BUCKETS 4 /* a quiet second hits a bucket or two */

struct bucket {
    uint16_t idx;
    uint16_t pad;
    uint32_t n;
};

struct slot {
    int64_t second;
    uint64_t count, errors, sum_us, overflow;
    uint64_t max_us;
    uint64_t status_class[6];
    struct bucket *b;
    uint32_t nb, cap;
};

struct tg_window {
    uint32_t seconds;
    uint32_t head, n, cap; /* slots[(head + i) % cap], i < n, in time order */
    struct slot *slots;
};

_Static_assert(TG_HIST_BUCKETS <= 65536, "bucket index must fit 16 bits");

int tg_window_new(uint32_t seconds, struct tg_window **out)
{
    struct tg_window *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->seconds = seconds ? seconds : 1;
    *out = w;
    return 0;
}

void tg_window_free(struct tg_window *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->cap; i++)
        free(w->slots[i].b);
    free(w->slots);
    free(w);
}

static struct slot *at(const struct tg_window *w, uint32_t i)
{
    return &w->slots[(w->head + i) % w->cap];
}

/* Moves the queue into an array of `cap` slots (>= n; 0 frees it). */
static int resize(struct tg_window *w, uint32_t cap)
{
    struct slot *s = NULL;
    if (cap && !(s = calloc(cap, sizeof *s)))
        return -ENOMEM;
    for (uint32_t i = 0; i < w->n; i++)
        s[i] = *at(w, i);
    for (uint32_t i = w->n; i < w->cap; i++)
        free(at(w, i)->b);
    free(w->slots);
    w->slots = s;
    w->cap = cap;
    w->head = 0;
    return 0;
}

static void drop_old(struct tg_window *w, int64_t now_s)
{
    while (w->n && at(w, 0)->second <= now_s - w->seconds) {
        w->head = (w->head + 1) % w->cap;
        w->n--;
    }
}

void tg_window_expire(struct tg_window *w, int64_t now_s)
{
    drop_old(w, now_s);
    /* Shrinking when a quarter full (to half full) and growing when full keeps both
     * amortised O(1). */
    if (w->n == 0 && w->cap) {
        resize(w, 0);
    } else if (w->cap > 8 && w->n <= w->cap / 4) {
        uint32_t cap = w->cap;
        while (cap > 8 && w->n <= cap / 4)
            cap /= 2;
        resize(w, cap); /* on failure the larger array just stays */
    }
}

size_t tg_window_bytes(const struct tg_window *w)
{
    size_t n = (size_t)w->cap * sizeof(struct slot);
    for (uint32_t i = 0; i < w->cap; i++)
        n += (size_t)w->slots[i].cap * sizeof(struct bucket);
    return n;
}

/* The slot of second `s`: the newest one if it is that second (or, should the clock
 * ever step back, a later one), else a new one at the end of the queue. */
static struct slot *slot_for(struct tg_window *w, int64_t s)
{
    drop_old(w, s);
    if (w->n && at(w, w->n - 1)->second >= s)
        return at(w, w->n - 1);
    if (w->n == w->cap && resize(w, w->cap ? w->cap * 2 : FIRST_SLOTS) != 0)
        return NULL;
    struct slot *sl = at(w, w->n++);
    struct bucket *b = sl->b;
    uint32_t cap = sl->cap;
    memset(sl, 0, sizeof *sl);
    sl->second = s;
    sl->b = b;
    sl->cap = cap;
    return sl;
}

static int add_bucket(struct slot *sl, uint32_t idx, uint64_t n)
{
    /* Buckets of one interval arrive in index order; merging a second interval into the
     * same second (several workers) needs a search. Short lists: linear is fine. */
    for (uint32_t i = 0; i < sl->nb; i++) {
        if (sl->b[i].idx == idx) {
            sl->b[i].n += (uint32_t)n;
            return 0;
        }
    }
    if (sl->nb == sl->cap) {
        uint32_t cap = sl->cap ? sl->cap * 2 : FIRST_BUCKETS;
        struct bucket *b = realloc(sl->b, cap * sizeof *b);
        if (!b)
            return -ENOMEM;
        sl->b = b;
        sl->cap = cap;
    }
    sl->b[sl->nb++] = (struct bucket){(uint16_t)idx, 0, (uint32_t)n};
    return 0;
}

int tg_window_add(struct tg_window *w, int64_t now_s, const struct tg_reqstats *st)
{
    if (tg_reqstats_empty(st))
        return 0; /* a second without requests needs no slot: queries count it as zeros */
    struct slot *sl = slot_for(w, now_s);
    if (!sl)
        return -ENOMEM;
    const struct tg_phist *h = &st->latency;
    sl->count += h->count;
    sl->errors += st->errors;
    sl->sum_us += h->sum_us;
    sl->overflow += h->overflow;
    if (h->count && h->max_us > sl->max_us)
        sl->max_us = h->max_us;
    for (unsigned i = 0; i < TG_STATUS_SLOTS && st->codes[i]; i++) {
        unsigned cls = st->codes[i] / 100;
        sl->status_class[cls >= 1 && cls <= 5 ? cls : 0] += st->code_counts[i];
    }
    sl->status_class[0] += st->other_status;
    struct tg_hist_iter it = {0};
    while (tg_phist_iter_next(h, &it)) {
        if (it.lowest_us > TG_HIST_MAX_US)
            break; /* the overflow bucket: counted in sl->overflow above */
        uint32_t idx = tg_hist_index((uint64_t)it.lowest_us);
        if (add_bucket(sl, idx, it.count) != 0)
            return -ENOMEM;
    }
    return 0;
}

void tg_window_query(const struct tg_window *w, int64_t now_s, uint32_t seconds,
                     struct tg_hist *scratch, struct tg_winstats *out)
{
    if (seconds == 0 || seconds > w->seconds)
        seconds = w->seconds;
    memset(out, 0, sizeof *out);
    out->window_s = seconds;
    tg_hist_reset(scratch);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        const struct slot *sl = at(w, i);
        if (sl->second > now_s || sl->second <= now_s - seconds)
            continue;
        out->count += sl->count;
        out->errors += sl->errors;
        sum += sl->sum_us;
        if ((int64_t)sl->max_us > out->max_us)
            out->max_us = (int64_t)sl->max_us;
        for (unsigned c = 0; c < 6; c++)
            out->status_class[c] += sl->status_class[c];
        for (uint32_t k = 0; k < sl->nb; k++)
            tg_hist_record_n(scratch, tg_hist_bucket_lowest(sl->b[k].idx), sl->b[k].n);
        if (sl->overflow)
            tg_hist_record_n(scratch, TG_HIST_MAX_US + 1, sl->overflow);
    }
    if (out->count == 0)
        return;
    out->rps = (double)out->count / seconds;
    out->error_rate = (double)out->errors / (double)out->count;
    out->mean_us = (double)sum / (double)out->count;
    /* Slots keep bucket indexes, not values: give the scratch histogram the exact max so
     * the top percentiles are clamped to a value that was really seen. */
    if (out->max_us > (int64_t)scratch->max_us)
        scratch->max_us = (uint64_t)out->max_us;
    static const double pcts[4] = {50, 90, 95, 99};
    int64_t v[4];
    tg_hist_values_at(scratch, pcts, 4, v);
    out->p50_us = v[0];
    out->p90_us = v[1];
    out->p95_us = v[2];
    out->p99_us = v[3];
}
