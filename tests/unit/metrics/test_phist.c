/* SPDX-License-Identifier: MIT */
/* Unit tests for src/metrics/phist.{h,c}: the paged histogram must answer exactly as the
 * dense struct tg_hist does for the same values (percentiles, `le` counts, iteration,
 * summary values), after records and after merges, on several random distributions;
 * pages exist only where values landed; reset keeps pages, deinit frees them. */
#include "metrics/phist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

/* xorshift64*: deterministic draws, so a failure reproduces. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* One draw of distribution `kind`: uniform small, lognormal around 20 ms, heavy tail up
 * into the overflow bucket, and a few fixed values (exact buckets). */
static int64_t draw(int kind)
{
    switch (kind) {
    case 0:
        return (int64_t)(rnd() % 5000);
    case 1: {
        double z = sqrt(-2 * log(unit() + 1e-12)) * cos(2 * M_PI * unit());
        return (int64_t)(20000 * exp(0.8 * z));
    }
    case 2:
        return (int64_t)(100.0 / pow(unit() + 1e-9, 1.3)); /* Pareto: reaches overflow */
    default:
        return (int64_t)((rnd() % 4) * 250) - 1; /* -1 (recorded as 0), 249, 499, 749 */
    }
}

/* Every answer of `p` equals that of `d`. */
static void expect_same(const struct tg_phist *p, const struct tg_hist *d)
{
    TG_EXPECT_EQ(p->count, d->count);
    TG_EXPECT_EQ(p->overflow, d->overflow);
    TG_EXPECT_EQ(p->sum_us, d->sum_us);
    TG_EXPECT_EQ(p->min_us, d->min_us);
    TG_EXPECT_EQ(p->max_us, d->max_us);
    static const double pcts[] = {0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
    size_t np = sizeof pcts / sizeof pcts[0];
    int64_t a[sizeof pcts / sizeof pcts[0]], b[sizeof pcts / sizeof pcts[0]];
    tg_phist_values_at(p, pcts, np, a);
    tg_hist_values_at(d, pcts, np, b);
    for (size_t i = 0; i < np; i++)
        TG_EXPECT_EQ(a[i], b[i]);
    TG_EXPECT_EQ(tg_phist_value_at(p, 95), tg_hist_value_at(d, 95));
    /* `le` counts at the default Prometheus bounds, at bucket edges, and beyond. */
    static const int64_t les[] = {-1,      0,        1,        255,      256,     5000,
                                  10000,   25000,    100000,   250000,   1000000, 2500000,
                                  10000000, 120000000, TG_HIST_MAX_US, TG_HIST_MAX_US + 1,
                                  INT64_C(1) << 40};
    for (size_t i = 0; i < sizeof les / sizeof les[0]; i++)
        TG_EXPECT_EQ(tg_phist_count_le(p, les[i]), tg_hist_count_le(d, les[i]));
    struct tg_hist_iter ip = {0}, id = {0};
    for (;;) {
        bool more_p = tg_phist_iter_next(p, &ip), more_d = tg_hist_iter_next(d, &id);
        TG_EXPECT_EQ(more_p, more_d);
        if (!more_p || !more_d)
            break;
        TG_EXPECT_EQ(ip.lowest_us, id.lowest_us);
        TG_EXPECT_EQ(ip.highest_us, id.highest_us);
        TG_EXPECT_EQ(ip.count, id.count);
    }
}

static void test_same_answers_as_dense(void)
{
    struct tg_hist *d = malloc(sizeof *d);
    for (int kind = 0; kind < 4; kind++) {
        for (int n = 1; n <= 100000; n *= 10) {
            struct tg_phist p;
            tg_phist_init(&p);
            tg_hist_init(d);
            for (int i = 0; i < n; i++) {
                int64_t v = draw(kind);
                TG_EXPECT_EQ(tg_phist_record(&p, v), 0);
                tg_hist_record(d, v);
            }
            expect_same(&p, d);
            tg_phist_deinit(&p);
        }
    }
    free(d);
}

/* Merging shards of the values gives what recording them all in one gives. */
static void test_merge_same_as_dense(void)
{
    struct tg_hist *all = malloc(sizeof *all);
    tg_hist_init(all);
    struct tg_phist parts[3], sum;
    tg_phist_init(&sum);
    for (int i = 0; i < 3; i++)
        tg_phist_init(&parts[i]);
    for (int i = 0; i < 60000; i++) {
        int64_t v = draw(i % 4);
        tg_phist_record(&parts[i % 3], v);
        tg_hist_record(all, v);
    }
    for (int i = 0; i < 3; i++)
        TG_EXPECT_EQ(tg_phist_merge(&sum, &parts[i]), 0);
    expect_same(&sum, all);
    /* An empty source changes nothing. */
    struct tg_phist empty;
    tg_phist_init(&empty);
    TG_EXPECT_EQ(tg_phist_merge(&sum, &empty), 0);
    expect_same(&sum, all);
    for (int i = 0; i < 3; i++)
        tg_phist_deinit(&parts[i]);
    tg_phist_deinit(&sum);
    free(all);
}

/* Pages exist only for the powers of two that were hit; reset keeps them, zeroed. */
static void test_pages_only_where_hit(void)
{
    struct tg_phist p;
    tg_phist_init(&p);
    TG_EXPECT_EQ(tg_phist_page_bytes(&p), 0);
    TG_EXPECT_EQ(tg_phist_value_at(&p, 50), 0);
    TG_EXPECT_EQ(tg_phist_count_le(&p, 1000), 0);
    tg_phist_record(&p, 1500);  /* 1024..2047: one page */
    tg_phist_record(&p, 1900);  /* same page */
    tg_phist_record(&p, 30000); /* 16384..32767: a second page */
    TG_EXPECT_EQ(tg_phist_page_bytes(&p), 2 * TG_PHIST_PAGE_BYTES);
    tg_phist_record(&p, TG_HIST_MAX_US + 5); /* overflow: no page */
    TG_EXPECT_EQ(tg_phist_page_bytes(&p), 2 * TG_PHIST_PAGE_BYTES);
    TG_EXPECT_EQ(p.overflow, 1);
    tg_phist_reset(&p);
    TG_EXPECT_EQ(p.count, 0);
    TG_EXPECT_EQ(tg_phist_count_le(&p, INT64_C(1) << 40), 0);
    TG_EXPECT_EQ(tg_phist_page_bytes(&p), 2 * TG_PHIST_PAGE_BYTES);
    struct tg_hist_iter it = {0};
    TG_EXPECT(!tg_phist_iter_next(&p, &it));
    tg_phist_record(&p, 1600);
    TG_EXPECT_EQ(tg_phist_value_at(&p, 100), 1600);
    TG_EXPECT_EQ(tg_phist_count_le(&p, 1599), 0);
    tg_phist_deinit(&p);
    TG_EXPECT_EQ(tg_phist_page_bytes(&p), 0);
    tg_phist_deinit(NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_same_answers_as_dense();
    test_merge_same_as_dense();
    test_pages_only_where_hit();
    return tg_test_report(argv[0]);
}
