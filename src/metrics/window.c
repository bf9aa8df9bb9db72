/* SPDX-License-Identifier: MIT */
/* Sliding windows; see window.h. */
#include "metrics/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
    uint16_t idx;
    uint16_t pad;
    uint32_t n;
};

struct slot {
    int64_t second; /* which second this slot holds; INT64_MIN when empty */
    uint64_t count, errors, sum_us, overflow;
    uint64_t max_us;
    uint64_t status_class[6];
    struct bucket *b;
    uint32_t nb, cap;
};

struct tg_window {
    uint32_t seconds;
    struct slot *slots;
};

_Static_assert(TG_HIST_BUCKETS <= 65536, "bucket index must fit 16 bits");

int tg_window_new(uint32_t seconds, struct tg_window **out)
{
    struct tg_window *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->seconds = seconds ? seconds : 1;
    w->slots = calloc(w->seconds, sizeof *w->slots);
    if (!w->slots) {
        free(w);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < w->seconds; i++)
        w->slots[i].second = INT64_MIN;
    *out = w;
    return 0;
}

void tg_window_free(struct tg_window *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->seconds; i++)
        free(w->slots[i].b);
    free(w->slots);
    free(w);
}

static struct slot *slot_for(struct tg_window *w, int64_t s)
{
    struct slot *sl = &w->slots[(uint64_t)s % w->seconds];
    if (sl->second != s) {
        sl->second = s;
        sl->count = sl->errors = sl->sum_us = sl->overflow = sl->max_us = 0;
        memset(sl->status_class, 0, sizeof sl->status_class);
        sl->nb = 0;
    }
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
        uint32_t cap = sl->cap ? sl->cap * 2 : 32;
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
    struct slot *sl = slot_for(w, now_s);
    const struct tg_hist *h = &st->latency;
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
    while (tg_hist_iter_next(h, &it)) {
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
    for (uint32_t i = 0; i < w->seconds; i++) {
        const struct slot *sl = &w->slots[i];
        if (sl->second == INT64_MIN || sl->second > now_s || sl->second <= now_s - seconds)
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
