/* SPDX-License-Identifier: MIT */
/* Unit tests for src/metrics/agg.{h,c}: ticks fold every shard into totals and windows,
 * an endpoint key with a request costs a few KiB (not the ~125 KiB of a dense total and a
 * preallocated 900-slot window), its window memory goes once the window has passed, the
 * last active second is tracked, and a forgotten key has no series until it is used
 * again. */
#include "metrics/agg.h"

#include <stdlib.h>

#include "tg_test.h"

static void rec(struct tg_mshard *s, uint32_t key, int64_t us, int status)
{
    struct tg_reqsample r = {.duration_us = us, .phase_us = {5, -1, us / 2, 10}, .status = status};
    TG_EXPECT_EQ(tg_mshard_record(s, key, &r, UINT32_MAX, 0, false), 0);
}

static void test_totals_windows_forget(void)
{
    struct tg_magg *a;
    struct tg_mshard *sh[2];
    TG_EXPECT_EQ(tg_magg_new(100, 4, 900, &a), 0);
    TG_EXPECT_EQ(tg_mshard_new(100, 4, &sh[0]), 0);
    TG_EXPECT_EQ(tg_mshard_new(100, 4, &sh[1]), 0);
    TG_EXPECT(tg_magg_total(a, 7) == NULL);
    TG_EXPECT_EQ(tg_magg_last_active(a, 7), INT64_MIN);
    TG_EXPECT_EQ(tg_magg_key_bytes(a, 7), 0);

    rec(sh[0], 7, 1500, 200);
    rec(sh[1], 7, 2500, 503);
    tg_magg_tick(a, sh, 2, 100);
    const struct tg_reqstats *t = tg_magg_total(a, 7);
    TG_EXPECT(t != NULL);
    TG_EXPECT_EQ(t->latency.count, 2);
    TG_EXPECT_EQ(t->errors, 1);
    TG_EXPECT_EQ(tg_phist_count_le(&t->latency, 2000), 1);
    TG_EXPECT_EQ(tg_magg_last_active(a, 7), 100);
    size_t bytes = tg_magg_key_bytes(a, 7);
    TG_EXPECT_GT(bytes, 0);
    TG_EXPECT_LT(bytes, 4096);

    struct tg_winstats w;
    tg_magg_window(a, 7, 60, &w);
    TG_EXPECT_EQ(w.count, 2);
    tg_magg_window(a, TG_MAGG_ALL, 60, &w);
    TG_EXPECT_EQ(w.count, 2);

    /* Quiet ticks: totals stay (counters never go down), the window empties, and once
     * the 900 s have passed the key holds no window memory. */
    for (int64_t s = 101; s <= 100 + 900; s++)
        tg_magg_tick(a, sh, 2, s);
    TG_EXPECT_EQ(tg_magg_last_active(a, 7), 100);
    TG_EXPECT_EQ(tg_magg_total(a, 7)->latency.count, 2);
    tg_magg_window(a, 7, 900, &w);
    TG_EXPECT_EQ(w.count, 0);
    TG_EXPECT_LT(tg_magg_key_bytes(a, 7), bytes);

    tg_magg_forget(a, 7);
    TG_EXPECT(tg_magg_total(a, 7) == NULL);
    TG_EXPECT_EQ(tg_magg_last_active(a, 7), INT64_MIN);
    tg_magg_forget(a, 7); /* twice is fine */
    rec(sh[1], 7, 800, 200);
    tg_magg_tick(a, sh, 2, 1001);
    TG_EXPECT_EQ(tg_magg_total(a, 7)->latency.count, 1); /* a new series from zero */
    TG_EXPECT_EQ(tg_magg_last_active(a, 7), 1001);

    tg_mshard_free(sh[0]);
    tg_mshard_free(sh[1]);
    tg_magg_free(a);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_totals_windows_forget();
    return tg_test_report(argv[0]);
}
