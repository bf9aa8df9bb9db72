/* SPDX-License-Identifier: MIT */
/* The paged latency histogram: page allocation, merge, and the reader-side queries,
 * written to give exactly the answers of their dense counterparts in hist.c (the unit
 * test compares the two on random data). See phist.h. */
#include "metrics/phist.h"

#include <stdlib.h>
#include <string.h>

#include "metrics/hist_int.h"

_Static_assert(TG_PHIST_PAGES * TG_PHIST_PAGE_BUCKETS == TG_HIST_BUCKETS,
               "pages cover every bucket of hist.h");

void tg_phist_init(struct tg_phist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

void tg_phist_deinit(struct tg_phist *h)
{
    if (!h)
        return;
    for (unsigned p = 0; p < TG_PHIST_PAGES; p++) {
        free(h->pages[p]);
        h->pages[p] = NULL;
    }
}

void tg_phist_reset(struct tg_phist *h)
{
    if (h->count == 0)
        return;
    for (unsigned p = 0; p < TG_PHIST_PAGES; p++)
        if (h->pages[p])
            memset(h->pages[p], 0, TG_PHIST_PAGE_BYTES);
    h->count = h->overflow = h->sum_us = h->max_us = 0;
    h->min_us = UINT64_MAX;
}

uint64_t *tg_phist_page_new(struct tg_phist *h, unsigned p)
{
    uint64_t *page = calloc(TG_PHIST_PAGE_BUCKETS, sizeof *page);
    if (page)
        h->pages[p] = page;
    return page;
}

int tg_phist_merge(struct tg_phist *dst, const struct tg_phist *src)
{
    if (src->count == 0)
        return 0;
    /* Pages first, so a failure leaves `dst` as it was. */
    for (unsigned p = 0; p < TG_PHIST_PAGES; p++)
        if (src->pages[p] && !dst->pages[p] && !tg_phist_page_new(dst, p))
            return -ENOMEM;
    for (unsigned p = 0; p < TG_PHIST_PAGES; p++) {
        const uint64_t *s = src->pages[p];
        if (!s)
            continue;
        uint64_t *d = dst->pages[p];
        for (unsigned i = 0; i < TG_PHIST_PAGE_BUCKETS; i++)
            d[i] += s[i];
    }
    dst->count += src->count;
    dst->overflow += src->overflow;
    dst->sum_us += src->sum_us;
    if (src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    return 0;
}

static void view_of(const struct tg_phist *h, struct tg_hist__view *v)
{
    _Static_assert(TG_HIST__PAGES == TG_PHIST_PAGES, "one page per power of two");
    for (unsigned p = 0; p < TG_PHIST_PAGES; p++)
        v->pages[p] = h->pages[p];
    v->count = h->count;
    v->overflow = h->overflow;
    v->min_us = h->min_us;
    v->max_us = h->max_us;
}

void tg_phist_values_at(const struct tg_phist *h, const double *pcts, size_t n, int64_t *out)
{
    struct tg_hist__view v;
    view_of(h, &v);
    tg_hist__values_at(&v, pcts, n, out);
}

int64_t tg_phist_value_at(const struct tg_phist *h, double pct)
{
    int64_t v;
    tg_phist_values_at(h, &pct, 1, &v);
    return v;
}

uint64_t tg_phist_count_le(const struct tg_phist *h, int64_t v_us)
{
    struct tg_hist__view v;
    view_of(h, &v);
    return tg_hist__count_le(&v, v_us);
}

bool tg_phist_iter_next(const struct tg_phist *h, struct tg_hist_iter *it)
{
    while (it->next < TG_HIST_BUCKETS) {
        uint32_t i = it->next;
        const uint64_t *page = h->pages[i >> TG_HIST_SUB_BITS];
        if (!page) {
            it->next = ((i >> TG_HIST_SUB_BITS) + 1) << TG_HIST_SUB_BITS;
            continue;
        }
        it->next++;
        uint64_t c = page[i & (TG_PHIST_PAGE_BUCKETS - 1)];
        if (!c)
            continue;
        it->lowest_us = tg_hist_bucket_lowest(i);
        it->highest_us = tg_hist_bucket_highest(i);
        it->count = c;
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

size_t tg_phist_page_bytes(const struct tg_phist *h)
{
    size_t n = 0;
    for (unsigned p = 0; p < TG_PHIST_PAGES; p++)
        n += h->pages[p] ? TG_PHIST_PAGE_BYTES : 0;
    return n;
}
