/* SPDX-License-Identifier: MIT */
/* Unit tests for src/metrics/hist.{h,c}: the bucket layout (contiguous, bounded width),
 * percentiles against exact sorted arrays for several distributions, summary values,
 * merge, clamping into the overflow bucket, cumulative counts, iteration, and the
 * writer/reader phaser with a real writer thread. */
#include "metrics/hist.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static struct tg_hist *hist_new(void)
{
    struct tg_hist *h = malloc(sizeof *h);
    tg_hist_init(h);
    return h;
}

/* xorshift64*: deterministic draws, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
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

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_layout(void)
{
    TG_EXPECT_EQ(sizeof(struct tg_hist), TG_HIST_BYTES);
    TG_EXPECT_EQ(TG_HIST_BYTES, 21544);
    TG_EXPECT_EQ(tg_hist_index(0), 0);
    TG_EXPECT_EQ(tg_hist_index(255), 255);
    TG_EXPECT_EQ(tg_hist_index(256), 256);
    TG_EXPECT_EQ(tg_hist_index(257), 256);
    TG_EXPECT_EQ(tg_hist_index(TG_HIST_MAX_US), TG_HIST_BUCKETS - 1);
    TG_EXPECT_EQ(tg_hist_bucket_lowest(0), 0);
    TG_EXPECT_EQ(tg_hist_bucket_highest(TG_HIST_BUCKETS - 1), TG_HIST_MAX_US);
    /* Buckets tile the range with no gap or overlap, and none is wider than 1/128 of its
     * lower bound (values below 256 are exact). */
    int bad = 0;
    for (uint32_t i = 0; i < TG_HIST_BUCKETS; i++) {
        int64_t lo = tg_hist_bucket_lowest(i), hi = tg_hist_bucket_highest(i);
        if (i + 1 < TG_HIST_BUCKETS && hi + 1 != tg_hist_bucket_lowest(i + 1))
            bad++;
        if (lo < 256 ? hi != lo : (hi - lo + 1) * 128 > lo)
            bad++;
        if (tg_hist_index((uint64_t)lo) != i || tg_hist_index((uint64_t)hi) != i)
            bad++;
    }
    TG_EXPECT_EQ(bad, 0);
    for (int k = 0; k < 100000; k++) {
        uint64_t v = rnd() % (uint64_t)(TG_HIST_MAX_US + 1);
        uint32_t i = tg_hist_index(v);
        if ((int64_t)v < tg_hist_bucket_lowest(i) || (int64_t)v > tg_hist_bucket_highest(i))
            bad++;
    }
    TG_EXPECT_EQ(bad, 0);
}

static void test_empty_and_summary(void)
{
    struct tg_hist *h = hist_new();
    TG_EXPECT_EQ(h->count, 0);
    TG_EXPECT_EQ(tg_hist_min(h), 0);
    TG_EXPECT_EQ(tg_hist_max(h), 0);
    TG_EXPECT(tg_hist_mean(h) == 0.0);
    TG_EXPECT_EQ(tg_hist_value_at(h, 50), 0);
    TG_EXPECT_EQ(tg_hist_count_le(h, 1000), 0);
    struct tg_hist_iter it = {0};
    TG_EXPECT(!tg_hist_iter_next(h, &it));

    tg_hist_record(h, 100);
    tg_hist_record(h, 300);
    tg_hist_record_n(h, 200, 2);
    TG_EXPECT_EQ(h->count, 4);
    TG_EXPECT_EQ(tg_hist_min(h), 100);
    TG_EXPECT_EQ(tg_hist_max(h), 300);
    TG_EXPECT(tg_hist_mean(h) == 200.0);
    TG_EXPECT_EQ(tg_hist_value_at(h, 0), 100);
    TG_EXPECT_EQ(tg_hist_value_at(h, 25), 100);
    TG_EXPECT_EQ(tg_hist_value_at(h, 26), 200);
    TG_EXPECT_EQ(tg_hist_value_at(h, 75), 200);
    TG_EXPECT_EQ(tg_hist_value_at(h, 100), 300);
    /* 300 lies in a 2-wide bucket [300, 301]: its midpoint is clamped to max. */
    TG_EXPECT_EQ(tg_hist_value_at(h, 99.99), 300);

    /* A negative value (a stepped clock) counts as 0. */
    tg_hist_record(h, -5);
    TG_EXPECT_EQ(tg_hist_min(h), 0);
    TG_EXPECT_EQ(h->count, 5);

    tg_hist_reset(h);
    TG_EXPECT_EQ(h->count, 0);
    TG_EXPECT_EQ(h->min_us, UINT64_MAX);
    free(h);
}

/* Checks tg_hist_values_at against the nearest-rank percentile of the sorted values: the
 * reported value must be within 0.4 % (+1 µs for integer rounding) of the exact one, well
 * inside the 1 % the header promises. */
static void check_percentiles(const char *what, int64_t *v, size_t n)
{
    struct tg_hist *h = hist_new();
    for (size_t i = 0; i < n; i++)
        tg_hist_record(h, v[i]);
    qsort(v, n, sizeof *v, cmp_i64);
    static const double pcts[] = {0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100};
    size_t np = sizeof pcts / sizeof pcts[0];
    int64_t got[sizeof pcts / sizeof pcts[0]];
    tg_hist_values_at(h, pcts, np, got);
    int bad = 0;
    for (size_t k = 0; k < np; k++) {
        double r = ceil(pcts[k] / 100.0 * (double)n - 1e-9);
        size_t rank = r < 1 ? 1 : (size_t)r;
        int64_t exact = v[rank - 1];
        double err = fabs((double)(got[k] - exact));
        if (err > 0.004 * (double)exact + 1) {
            fprintf(stderr, "%s: p%g exact %lld got %lld\n", what, pcts[k], (long long)exact,
                    (long long)got[k]);
            bad++;
        }
        /* The one-at-a-time query agrees with the batch. */
        if (tg_hist_value_at(h, pcts[k]) != got[k])
            bad++;
    }
    TG_EXPECT_EQ(bad, 0);
    TG_EXPECT_EQ(tg_hist_min(h), v[0]);
    TG_EXPECT_EQ(tg_hist_max(h), v[n - 1]);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    TG_EXPECT(fabs(tg_hist_mean(h) - sum / (double)n) < 1e-6 * sum / (double)n + 1e-9);
    free(h);
}

static void test_percentiles(void)
{
    size_t n = 200000;
    int64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) /* uniform over the whole range */
        v[i] = (int64_t)(rnd() % (uint64_t)TG_HIST_MAX_US);
    check_percentiles("uniform", v, n);
    for (size_t i = 0; i < n; i++) { /* lognormal around 20 ms, long tail */
        double z = sqrt(-2 * log(unit() + 1e-300)) * cos(6.283185307179586 * unit());
        v[i] = (int64_t)(20000.0 * exp(0.8 * z));
    }
    check_percentiles("lognormal", v, n);
    for (size_t i = 0; i < n; i++) /* bimodal: fast hits and 1 s stalls */
        v[i] =
            (rnd() % 100 < 97) ? 300 + (int64_t)(rnd() % 200) : 1000000 + (int64_t)(rnd() % 5000);
    check_percentiles("bimodal", v, n);
    for (size_t i = 0; i < n; i++) /* small exact values */
        v[i] = (int64_t)(rnd() % 256);
    check_percentiles("small", v, n);
    for (size_t i = 0; i < 7; i++) /* tiny sample: every rank matters */
        v[i] = (int64_t)(1000 * (i + 1));
    check_percentiles("seven", v, 7);
    v[0] = 50123;
    check_percentiles("one", v, 1);
    free(v);
}

static void test_merge(void)
{
    struct tg_hist *a = hist_new(), *b = hist_new(), *all = hist_new();
    for (int i = 0; i < 50000; i++) {
        int64_t x = (int64_t)(rnd() % 5000000);
        tg_hist_record(i % 3 ? a : b, x);
        tg_hist_record(all, x);
    }
    tg_hist_record(b, TG_HIST_MAX_US + 7); /* overflow merges too */
    tg_hist_record(all, TG_HIST_MAX_US + 7);
    tg_hist_merge(a, b);
    TG_EXPECT(memcmp(a, all, sizeof *a) == 0);
    /* Merging an empty histogram changes nothing (min stays intact). */
    tg_hist_reset(b);
    tg_hist_merge(a, b);
    TG_EXPECT(memcmp(a, all, sizeof *a) == 0);
    /* Merging into an empty one copies. */
    tg_hist_merge(b, all);
    TG_EXPECT(memcmp(b, all, sizeof *b) == 0);
    free(a);
    free(b);
    free(all);
}

static void test_clamp(void)
{
    struct tg_hist *h = hist_new();
    for (int i = 0; i < 98; i++)
        tg_hist_record(h, 1000);
    tg_hist_record(h, TG_HIST_MAX_US + 1);
    tg_hist_record(h, INT64_C(500) * 1000000); /* 500 s */
    TG_EXPECT_EQ(h->count, 100);
    TG_EXPECT_EQ(h->overflow, 2);
    TG_EXPECT_EQ(tg_hist_max(h), INT64_C(500) * 1000000);
    /* 1000 lies in the bucket [1000, 1003]: its midpoint is reported. */
    TG_EXPECT_EQ(tg_hist_value_at(h, 98), 1001);
    /* Percentiles that land in the overflow bucket report the exact max. */
    TG_EXPECT_EQ(tg_hist_value_at(h, 99), INT64_C(500) * 1000000);
    TG_EXPECT_EQ(tg_hist_value_at(h, 100), INT64_C(500) * 1000000);
    /* The mean stays exact. */
    double mean = (98.0 * 1000 + (double)(TG_HIST_MAX_US + 1) + 500e6) / 100;
    TG_EXPECT(fabs(tg_hist_mean(h) - mean) < 1e-6);
    /* Cumulative counts: overflowed values only once le reaches max. */
    TG_EXPECT_EQ(tg_hist_count_le(h, 999), 0);
    TG_EXPECT_EQ(tg_hist_count_le(h, 1000), 98);
    TG_EXPECT_EQ(tg_hist_count_le(h, TG_HIST_MAX_US), 98);
    TG_EXPECT_EQ(tg_hist_count_le(h, TG_HIST_MAX_US + 1), 98);
    TG_EXPECT_EQ(tg_hist_count_le(h, INT64_C(500) * 1000000), 100);
    TG_EXPECT_EQ(tg_hist_count_le(h, -1), 0);
    /* Iteration: one real bucket, then the overflow bucket. */
    struct tg_hist_iter it = {0};
    TG_EXPECT(tg_hist_iter_next(h, &it));
    TG_EXPECT_EQ(it.lowest_us, 1000);
    TG_EXPECT_EQ(it.count, 98);
    TG_EXPECT(tg_hist_iter_next(h, &it));
    TG_EXPECT_EQ(it.lowest_us, TG_HIST_MAX_US + 1);
    TG_EXPECT_EQ(it.highest_us, INT64_C(500) * 1000000);
    TG_EXPECT_EQ(it.count, 2);
    TG_EXPECT(!tg_hist_iter_next(h, &it));
    TG_EXPECT(!tg_hist_iter_next(h, &it));
    free(h);
}

static void test_iter_and_count_le(void)
{
    struct tg_hist *h = hist_new();
    for (int i = 0; i < 10000; i++)
        tg_hist_record(h, (int64_t)(rnd() % 2000000));
    uint64_t total = 0, prev_hi = 0;
    int bad = 0;
    struct tg_hist_iter it = {0};
    while (tg_hist_iter_next(h, &it)) {
        if (it.count == 0 || (total && (uint64_t)it.lowest_us <= prev_hi))
            bad++;
        total += it.count;
        prev_hi = (uint64_t)it.highest_us;
        /* The cumulative count at a bucket's top equals the running total. */
        if (tg_hist_count_le(h, it.highest_us) != total)
            bad++;
    }
    TG_EXPECT_EQ(bad, 0);
    TG_EXPECT_EQ(total, h->count);
    free(h);
}

/* The phaser: a writer records 1..N (two histograms per side, like the load generator),
 * the reader flips as fast as it can and merges; nothing is lost or counted twice. */
struct side {
    struct tg_hist a, b;
    uint64_t n;
};
struct phase_test {
    struct tg_hist_phaser ph;
    struct side side[2];
    uint64_t total;
    _Atomic int done;
};

static void *writer_main(void *arg)
{
    struct phase_test *t = arg;
    for (uint64_t i = 1; i <= t->total; i++) {
        unsigned s = tg_hist_phaser_enter(&t->ph);
        tg_hist_record(&t->side[s].a, (int64_t)(i % 100000));
        tg_hist_record(&t->side[s].b, (int64_t)(i % 777));
        t->side[s].n++;
        tg_hist_phaser_exit(&t->ph, s);
    }
    atomic_store(&t->done, 1);
    return NULL;
}

static void test_phaser(void)
{
    struct phase_test *t = calloc(1, sizeof *t);
    for (int s = 0; s < 2; s++) {
        tg_hist_init(&t->side[s].a);
        tg_hist_init(&t->side[s].b);
    }
    t->total = 3000000;
    struct tg_hist *sum_a = hist_new(), *sum_b = hist_new();
    uint64_t n = 0, flips = 0;
    pthread_t th;
    TG_EXPECT_EQ(pthread_create(&th, NULL, writer_main, t), 0);
    for (;;) {
        int finished = atomic_load(&t->done);
        unsigned s = tg_hist_phaser_flip(&t->ph);
        flips++;
        tg_hist_merge(sum_a, &t->side[s].a);
        tg_hist_merge(sum_b, &t->side[s].b);
        n += t->side[s].n;
        tg_hist_reset(&t->side[s].a);
        tg_hist_reset(&t->side[s].b);
        t->side[s].n = 0;
        if (finished)
            break; /* this flip collected the writer's last side; the other is empty */
    }
    pthread_join(th, NULL);
    TG_EXPECT_EQ(n, t->total);
    TG_EXPECT_EQ(sum_a->count, t->total);
    TG_EXPECT_EQ(sum_b->count, t->total);
    uint64_t expect_b = 0;
    for (uint64_t i = 1; i <= t->total; i++)
        expect_b += i % 777;
    TG_EXPECT_EQ(sum_b->sum_us, expect_b);
    TG_EXPECT_GT(flips, 2);
    /* With no writer at all, a flip returns at once. */
    struct tg_hist_phaser idle = {0};
    TG_EXPECT_EQ(tg_hist_phaser_flip(&idle), 0);
    TG_EXPECT_EQ(tg_hist_phaser_flip(&idle), 1);
    TG_EXPECT_EQ(tg_hist_phaser_enter(&idle), 0);
    tg_hist_phaser_exit(&idle, 0);
    TG_EXPECT_EQ(tg_hist_phaser_flip(&idle), 0);
    free(sum_a);
    free(sum_b);
    free(t);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_layout();
    test_empty_and_summary();
    test_percentiles();
    test_merge();
    test_clamp();
    test_iter_and_count_le();
    test_phaser();
    return tg_test_report(argv[0]);
}
