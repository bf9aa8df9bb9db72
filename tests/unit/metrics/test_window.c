/* SPDX-License-Identifier: MIT */
/* Unit tests for src/metrics/window.{h,c}: a window holds slots only for seconds that
 * had requests and gives them back once they leave it; queries over random traffic with
 * gaps match a brute-force sum of the seconds in range (counts, errors, status classes,
 * max, mean, and percentiles from the same buckets). */
#include "metrics/window.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void record(struct tg_reqstats *st, int64_t us, int status)
{
    struct tg_reqsample r = {.duration_us = us, .phase_us = {-1, -1, -1, -1}, .status = status};
    TG_EXPECT_EQ(tg_reqstats_record(st, &r), 0);
}

static void test_sparse_seconds(void)
{
    struct tg_window *w;
    TG_EXPECT_EQ(tg_window_new(900, &w), 0);
    TG_EXPECT_EQ(tg_window_bytes(w), 0);
    struct tg_reqstats st;
    tg_reqstats_init(&st);
    /* An empty interval makes no slot. */
    TG_EXPECT_EQ(tg_window_add(w, 1000, &st), 0);
    TG_EXPECT_EQ(tg_window_bytes(w), 0);
    record(&st, 1500, 200);
    TG_EXPECT_EQ(tg_window_add(w, 1000, &st), 0);
    size_t one = tg_window_bytes(w);
    TG_EXPECT_GT(one, 0);
    TG_EXPECT_LT(one, 512); /* a ring of 900 slots was about 100 KiB */
    struct tg_hist *scratch = malloc(sizeof *scratch);
    struct tg_winstats ws;
    tg_window_query(w, 1000 + 899, 900, scratch, &ws);
    TG_EXPECT_EQ(ws.count, 1);
    TG_EXPECT_EQ(ws.status_class[2], 1);
    tg_window_query(w, 1000 + 900, 900, scratch, &ws);
    TG_EXPECT_EQ(ws.count, 0); /* second 1000 has left the window */
    tg_window_expire(w, 1000 + 899);
    TG_EXPECT_EQ(tg_window_bytes(w), one);
    tg_window_expire(w, 1000 + 900);
    TG_EXPECT_EQ(tg_window_bytes(w), 0);
    /* Busy every second for longer than the window: never more than 900 seconds kept,
     * and the queue shrinks back once traffic stops. */
    for (int64_t s = 2000; s < 4000; s++) {
        TG_EXPECT_EQ(tg_window_add(w, s, &st), 0);
        tg_window_expire(w, s);
    }
    tg_window_query(w, 3999, 900, scratch, &ws);
    TG_EXPECT_EQ(ws.count, 900);
    TG_EXPECT_LE(tg_window_bytes(w), 1024 * (112 + 4 * 8));
    tg_window_expire(w, 3999 + 899);
    tg_window_query(w, 3999 + 899, 900, scratch, &ws);
    TG_EXPECT_EQ(ws.count, 1);
    TG_EXPECT_LT(tg_window_bytes(w), 8 * (112 + 4 * 8));
    tg_window_expire(w, 3999 + 900);
    TG_EXPECT_EQ(tg_window_bytes(w), 0);
    tg_reqstats_deinit(&st);
    tg_window_free(w);
    free(scratch);
}

#define SECONDS 300

/* Random traffic with gaps: every query equals the brute-force sum of its seconds. */
static void test_queries_match_brute_force(void)
{
    struct tg_window *w;
    TG_EXPECT_EQ(tg_window_new(120, &w), 0);
    struct tg_reqstats *per_s = calloc(SECONDS, sizeof *per_s);
    struct tg_hist *scratch = malloc(sizeof *scratch), *ref = malloc(sizeof *ref);
    int64_t base = 50000;
    for (int s = 0; s < SECONDS; s++) {
        tg_reqstats_init(&per_s[s]);
        if (rnd() % 3 == 0)
            continue; /* a quiet second */
        int n = (int)(rnd() % 50) + 1;
        for (int i = 0; i < n; i++) {
            static const int codes[] = {200, 201, 404, 500, 503, 302, 0};
            record(&per_s[s], (int64_t)(rnd() % 300000), codes[rnd() % 7]);
        }
        /* Two workers' intervals land in the same second. */
        struct tg_reqstats half;
        tg_reqstats_init(&half);
        record(&half, (int64_t)(rnd() % 1000), 200);
        TG_EXPECT_EQ(tg_window_add(w, base + s, &per_s[s]), 0);
        TG_EXPECT_EQ(tg_window_add(w, base + s, &half), 0);
        TG_EXPECT_EQ(tg_reqstats_merge(&per_s[s], &half), 0);
        tg_reqstats_deinit(&half);
        tg_window_expire(w, base + s);
        uint32_t len = (uint32_t)(rnd() % 130) + 1;
        struct tg_winstats got;
        tg_window_query(w, base + s, len, scratch, &got);
        uint32_t eff = len > 120 ? 120 : len;
        uint64_t count = 0, errors = 0, cls[6] = {0};
        int64_t max = 0;
        tg_hist_reset(ref);
        for (int k = s; k >= 0 && k > s - (int)eff; k--) {
            const struct tg_reqstats *p = &per_s[k];
            count += p->latency.count;
            errors += p->errors;
            if (p->latency.count && (int64_t)p->latency.max_us > max)
                max = (int64_t)p->latency.max_us;
            for (unsigned c = 0; c < TG_STATUS_SLOTS && p->codes[c]; c++)
                cls[p->codes[c] / 100] += p->code_counts[c];
            cls[0] += p->other_status;
            struct tg_hist_iter it = {0};
            while (tg_phist_iter_next(&p->latency, &it))
                tg_hist_record_n(ref, it.lowest_us, it.count);
        }
        TG_EXPECT_EQ(got.window_s, eff);
        TG_EXPECT_EQ(got.count, count);
        TG_EXPECT_EQ(got.errors, errors);
        TG_EXPECT_EQ(got.max_us, max);
        for (unsigned c = 0; c < 6; c++)
            TG_EXPECT_EQ(got.status_class[c], cls[c]);
        if (count) {
            ref->max_us = (uint64_t)max;
            TG_EXPECT_EQ(got.p50_us, tg_hist_value_at(ref, 50));
            TG_EXPECT_EQ(got.p99_us, tg_hist_value_at(ref, 99));
        }
    }
    for (int s = 0; s < SECONDS; s++)
        tg_reqstats_deinit(&per_s[s]);
    free(per_s);
    free(scratch);
    free(ref);
    tg_window_free(w);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_sparse_seconds();
    test_queries_match_brute_force();
    return tg_test_report(argv[0]);
}
