/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/stages.c: parsing stage lists, linear interpolation of the
 * target, and the open-model schedule: N(t) against a numeric integral, the inverse
 * (time_of) against N for constant rates, ramps up from 0, ramps down to 0 and flat zero
 * stages, the threads' interleaving, and the end of the schedule. */
#include "bench/stages_int.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tg_test.h"

static void test_parse(void)
{
    struct tg_bench_profile p;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_bench__parse_stages("30s:100,1m:500,30s:0", &p, &eb), 0);
    TG_EXPECT_EQ(p.n, 3);
    TG_EXPECT_EQ(p.s[0].dur_us, 30000000);
    TG_EXPECT(p.s[1].target == 500);
    TG_EXPECT_EQ(p.total_us, 120000000);
    TG_EXPECT(!p.rate_suffix);
    TG_EXPECT(p.start == 0);
    TG_EXPECT_EQ(tg_bench__parse_stages("10s:50rps,5s:0.5rps", &p, &eb), 0);
    TG_EXPECT(p.rate_suffix);
    TG_EXPECT(p.s[1].target == 0.5);
    const char *bad[] = {"",        "30s",    "30s:",    ":100",         "0s:10",  "30s:-1",
                         "30s:abc", "30x:10", "30s:10,", "30s:10,,1m:5", "30s:1e9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tg_bench__parse_stages(bad[i], &p, &eb);
        if (rc != TG_EPARSE)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
        TG_EXPECT_EQ(rc, TG_EPARSE);
    }
    char many[2048] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, i ? ",1s:1" : "1s:1");
    TG_EXPECT_EQ(tg_bench__parse_stages(many, &p, &eb), TG_EPARSE);
}

static void test_interpolation(void)
{
    struct tg_bench_profile p;
    struct tg_errbuf eb;
    tg_bench__parse_stages("10s:100,10s:100,10s:0", &p, &eb);
    p.start = 20;
    TG_EXPECT(tg_bench__profile_at(&p, -5) == 20);
    TG_EXPECT(tg_bench__profile_at(&p, 0) == 20);
    TG_EXPECT(fabs(tg_bench__profile_at(&p, 5000000) - 60) < 1e-9);
    TG_EXPECT(tg_bench__profile_at(&p, 10000000) == 100);
    TG_EXPECT(tg_bench__profile_at(&p, 15000000) == 100);
    TG_EXPECT(fabs(tg_bench__profile_at(&p, 25000000) - 50) < 1e-9);
    TG_EXPECT(tg_bench__profile_at(&p, 40000000) == 0);
    TG_EXPECT(tg_bench__profile_max(&p) == 100);
    tg_bench__profile_constant(&p, 7, 3000000);
    TG_EXPECT(tg_bench__profile_at(&p, 0) == 7);
    TG_EXPECT(tg_bench__profile_at(&p, 2999999) == 7);
    TG_EXPECT_EQ(p.total_us, 3000000);
}

/* N(t) by the trapezoid rule on 1 ms steps, as an independent check. */
static double integral(const struct tg_bench_profile *p, int64_t t)
{
    double n = 0;
    for (int64_t x = 0; x < t; x += 1000) {
        int64_t x1 = x + 1000 < t ? x + 1000 : t;
        n +=
            (tg_bench__profile_at(p, x) + tg_bench__profile_at(p, x1)) / 2 * (double)(x1 - x) / 1e6;
    }
    return n;
}

/* Walks the whole schedule: times never decrease, N(time_of(k)) == k, and the number of
 * requests equals N(total) rounded up. */
static void check_schedule(const char *stages, double start)
{
    struct tg_bench_profile p;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_bench__parse_stages(stages, &p, &eb), 0);
    p.start = start;
    double total = tg_bench__profile_count(&p, p.total_us);
    TG_EXPECT(fabs(total - integral(&p, p.total_us)) < 0.01 * total + 0.01);
    struct tg_bench_cursor c;
    tg_bench__cursor_init(&p, &c);
    int64_t prev = 0;
    uint64_t k = 0;
    int bad = 0;
    for (;; k++) {
        int64_t t = tg_bench__profile_time_of(&p, (double)k, &c);
        if (t == INT64_MAX)
            break;
        if (t < prev || t > p.total_us)
            bad++;
        if (fabs(tg_bench__profile_count(&p, t) - (double)k) > 0.01)
            bad++;
        prev = t;
    }
    if (bad)
        fprintf(stderr, "%s: %d bad points\n", stages, bad);
    TG_EXPECT_EQ(bad, 0);
    TG_EXPECT_EQ(k, (uint64_t)ceil(total - 1e-9));
}

static void test_schedule(void)
{
    check_schedule("10s:100", 100);       /* constant: 1,000 requests, 10 ms apart */
    check_schedule("10s:100", 0);         /* ramp up from 0 */
    check_schedule("5s:0", 200);          /* ramp down to 0 */
    check_schedule("3s:0,3s:0,2s:50", 0); /* flat zero stages send nothing */
    check_schedule("2s:1000,1s:1000,2s:10,1s:300", 50);

    /* A constant rate puts request k at exactly k / rate. */
    struct tg_bench_profile p;
    tg_bench__profile_constant(&p, 100, 10000000);
    struct tg_bench_cursor c;
    tg_bench__cursor_init(&p, &c);
    TG_EXPECT_EQ(tg_bench__profile_time_of(&p, 0, &c), 0);
    TG_EXPECT_EQ(tg_bench__profile_time_of(&p, 1, &c), 10000);
    TG_EXPECT_EQ(tg_bench__profile_time_of(&p, 999, &c), 9990000);
    TG_EXPECT_EQ(tg_bench__profile_time_of(&p, 1000, &c), INT64_MAX);

    /* Two threads take alternate requests of one schedule: evenly interleaved. */
    struct tg_bench_cursor c0, c1;
    tg_bench__cursor_init(&p, &c0);
    tg_bench__cursor_init(&p, &c1);
    for (int j = 0; j < 10; j++) {
        int64_t t0 = tg_bench__profile_time_of(&p, 2.0 * j, &c0);
        int64_t t1 = tg_bench__profile_time_of(&p, 2.0 * j + 1, &c1);
        TG_EXPECT_EQ(t1 - t0, 10000);
    }

    /* A ramp from 0 to 100 over 10 s: 500 requests, the first at 0, spaced ever closer. */
    struct tg_errbuf eb;
    tg_bench__parse_stages("10s:100", &p, &eb);
    tg_bench__cursor_init(&p, &c);
    int64_t t1 = tg_bench__profile_time_of(&p, 1, &c);
    TG_EXPECT(fabs((double)t1 - sqrt(2.0 / 10) * 1e6) < 2); /* N(t) = 5 t^2 */
    TG_EXPECT(fabs(tg_bench__profile_count(&p, 10000000) - 500) < 1e-6);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_parse();
    test_interpolation();
    test_schedule();
    return tg_test_report(argv[0]);
}
