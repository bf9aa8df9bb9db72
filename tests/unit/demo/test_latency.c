/* SPDX-License-Identifier: MIT */
/* Unit tests for demo/latency.c: the generator is deterministic for a seed, uniform draws
 * stay in range, and lognormal samples have the median and p99 they were configured
 * with (checked on 20k draws, within a few percent). */
#include "demo/latency.h"

#include <stdlib.h>

#include "tg_test.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_deterministic(void)
{
    struct tg_demo_rng a, b, c;
    tg_demo_rng_seed(&a, 42);
    tg_demo_rng_seed(&b, 42);
    tg_demo_rng_seed(&c, 43);
    int same = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = tg_demo_rng_next(&a), y = tg_demo_rng_next(&b), z = tg_demo_rng_next(&c);
        TG_EXPECT(x == y);
        same += x == z;
    }
    TG_EXPECT_LT(same, 2);
    /* Seed 0 must not produce the stuck all-zero state. */
    tg_demo_rng_seed(&a, 0);
    TG_EXPECT(tg_demo_rng_next(&a) != 0 || tg_demo_rng_next(&a) != 0);
}

static void test_unit_range(void)
{
    struct tg_demo_rng r;
    tg_demo_rng_seed(&r, 7);
    double sum = 0;
    int n = 100000, below_tenth = 0;
    for (int i = 0; i < n; i++) {
        double u = tg_demo_rng_unit(&r);
        TG_EXPECT(u >= 0.0 && u < 1.0);
        sum += u;
        below_tenth += u < 0.1;
    }
    TG_EXPECT(sum / n > 0.49 && sum / n < 0.51);
    TG_EXPECT(below_tenth > 9500 && below_tenth < 10500);
}

static void test_lognormal_quantiles(double median_ms, double p99_ms)
{
    struct tg_demo_rng r;
    tg_demo_rng_seed(&r, 12345);
    struct tg_demo_lognormal l;
    tg_demo_lognormal_init(&l, median_ms, p99_ms, 1e9);
    enum { N = 20000 };
    static int64_t s[N];
    for (int i = 0; i < N; i++) {
        s[i] = tg_demo_lognormal_sample_us(&l, &r, 1.0);
        TG_EXPECT_GT(s[i], 0);
    }
    qsort(s, N, sizeof s[0], cmp_i64);
    double med = (double)s[N / 2] / 1000.0, p99 = (double)s[N * 99 / 100] / 1000.0;
    TG_EXPECT(med > median_ms * 0.95 && med < median_ms * 1.05);
    TG_EXPECT(p99 > p99_ms * 0.88 && p99 < p99_ms * 1.12);
}

static void test_scale_and_clamp(void)
{
    struct tg_demo_rng r;
    tg_demo_rng_seed(&r, 1);
    struct tg_demo_lognormal l;
    tg_demo_lognormal_init(&l, 100, 10000, 150);
    for (int i = 0; i < 1000; i++) {
        int64_t us = tg_demo_lognormal_sample_us(&l, &r, 1.0);
        TG_EXPECT_LE(us, 150000);
    }
    TG_EXPECT_EQ(tg_demo_lognormal_sample_us(&l, &r, 0.0), 0);
    /* No spread: every draw is the median, scaled. */
    tg_demo_lognormal_init(&l, 20, 20, 1000);
    int64_t us = tg_demo_lognormal_sample_us(&l, &r, 0.5);
    TG_EXPECT(us >= 9999 && us <= 10001);
}

int main(void)
{
    test_deterministic();
    test_unit_range();
    test_lognormal_quantiles(20, 80);
    test_lognormal_quantiles(600, 2000);
    test_scale_and_clamp();
    return tg_test_report("test_latency");
}
