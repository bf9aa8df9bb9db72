/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/expr.c: the SLO and threshold grammar (percentile spellings,
 * operators, units, percentages, counts, rates, "over" windows and "abort"), rejected
 * inputs, and evaluation against a view of a histogram and counts. */
#include "bench/expr_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static struct tg_bench_cond conds[32];

static size_t parse(const char *s, bool window)
{
    size_t n = 0;
    struct tg_errbuf eb;
    return tg_bench__parse_conds(s, window, conds, 32, &n, &eb) == 0 ? n : 0;
}

static void test_parse(void)
{
    TG_EXPECT_EQ(parse("p95<500ms", false), 1);
    TG_EXPECT_EQ(conds[0].metric, TG_BENCH_M_PCT);
    TG_EXPECT(conds[0].pct == 95);
    TG_EXPECT_EQ(conds[0].op, TG_BENCH_OP_LT);
    TG_EXPECT(conds[0].bound == 500000);
    TG_EXPECT_STREQ(conds[0].text, "p95<500ms");

    TG_EXPECT_EQ(parse(" p95 < 500ms , errors < 1% ", false), 2);
    TG_EXPECT_STREQ(conds[0].text, "p95 < 500ms");
    TG_EXPECT_EQ(conds[1].metric, TG_BENCH_M_ERRORS);
    TG_EXPECT(conds[1].percent);
    TG_EXPECT(conds[1].bound == 1);

    TG_EXPECT_EQ(parse("p99.9<=1s", false), 1);
    TG_EXPECT(conds[0].pct == 99.9);
    TG_EXPECT_EQ(conds[0].op, TG_BENCH_OP_LE);
    TG_EXPECT(conds[0].bound == 1e6);
    TG_EXPECT_EQ(parse("p999<2s", false), 1); /* the JSON key's spelling */
    TG_EXPECT(fabs(conds[0].pct - 99.9) < 1e-9);
    TG_EXPECT_EQ(parse("p9999<2s", false), 1);
    TG_EXPECT(fabs(conds[0].pct - 99.99) < 1e-9);
    TG_EXPECT_EQ(parse("p(95)<200", false), 1); /* k6 spelling, bare ms */
    TG_EXPECT(conds[0].pct == 95 && conds[0].bound == 200000);
    TG_EXPECT_EQ(parse("p100<3s", false), 1);
    TG_EXPECT(conds[0].pct == 100);
    TG_EXPECT_EQ(parse("max<2s,mean<100ms,min<1ms,avg<=5ms", false), 4);
    TG_EXPECT_EQ(conds[0].metric, TG_BENCH_M_MAX);
    TG_EXPECT_EQ(conds[3].metric, TG_BENCH_M_MEAN);
    TG_EXPECT_EQ(parse("errors<=10", false), 1);
    TG_EXPECT(!conds[0].percent && conds[0].bound == 10);
    TG_EXPECT_EQ(parse("rps>=1000", false), 1);
    TG_EXPECT_EQ(conds[0].metric, TG_BENCH_M_RPS);
    TG_EXPECT_EQ(conds[0].op, TG_BENCH_OP_GE);
    TG_EXPECT_EQ(parse("rps>100rps", false), 1);
    TG_EXPECT(conds[0].bound == 100);
    TG_EXPECT_EQ(parse("error_rate<0.5", false), 1);
    TG_EXPECT(conds[0].percent && conds[0].bound == 0.5);

    /* Threshold modifiers. */
    TG_EXPECT_EQ(parse("p95<500ms over 30s abort", true), 1);
    TG_EXPECT_EQ(conds[0].window_us, 30000000);
    TG_EXPECT(conds[0].abort);
    TG_EXPECT(conds[0].bound == 500000);
    TG_EXPECT_STREQ(conds[0].text, "p95<500ms over 30s abort");
    TG_EXPECT_EQ(parse("errors<1% abort, p99<1s over 1m", true), 2);
    TG_EXPECT(conds[0].abort && conds[0].window_us == 0);
    TG_EXPECT(!conds[1].abort && conds[1].window_us == 60000000);

    /* Rejected. */
    const char *bad[] = {"",
                         "p95",
                         "p95<",
                         "p95<<1",
                         "p95<abc",
                         "p101<1s",
                         "q95<1s",
                         "p95=1s",
                         "errors<101%",
                         "rps<-1",
                         "p95<1s over",
                         "p95<1s over 0s",
                         "p95<1s over 1500ms",
                         "p95<1s over 11m",
                         "p95<1s abort abort",
                         "maximum<1s",
                         "p95<1s,",
                         "p95<1s junk",
                         "p(95<1s",
                         "errors<1%%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], true) != 0)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
        TG_EXPECT_EQ(parse(bad[i], true), 0);
    }
    /* Modifiers are not allowed in an SLO. */
    TG_EXPECT_EQ(parse("p95<500ms over 30s", false), 0);
    TG_EXPECT_EQ(parse("p95<500ms abort", false), 0);
    /* The list is bounded. */
    size_t n = 0;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_bench__parse_conds("max<1s,max<2s,max<3s", false, conds, 2, &n, &eb),
                 TG_EPARSE);
}

static void test_eval(void)
{
    struct tg_hist *h = malloc(sizeof *h);
    tg_hist_init(h);
    for (int i = 1; i <= 100; i++)
        tg_hist_record(h, i * 1000); /* 1..100 ms */
    struct tg_bench_view v = {.lat = h, .requests = 200, .errors = 3, .elapsed_us = 2000000};
    TG_EXPECT_EQ(parse("p95<100ms,p95<90ms,errors<2%,errors<1%,rps>=100,rps>100,max<=100ms,"
                       "errors<=3,mean<51ms",
                       false),
                 9);
    bool expect[] = {true, false, true, false, true, false, true, true, true};
    for (int i = 0; i < 9; i++) {
        double val = tg_bench__cond_value(&conds[i], &v);
        if (tg_bench__cond_holds(&conds[i], val) != expect[i])
            fprintf(stderr, "cond %s value %g\n", conds[i].text, val);
        TG_EXPECT_EQ(tg_bench__cond_holds(&conds[i], val), expect[i]);
    }
    TG_EXPECT(fabs(tg_bench__cond_value(&conds[2], &v) - 1.5) < 1e-9);
    TG_EXPECT(fabs(tg_bench__cond_value(&conds[4], &v) - 100) < 1e-9);
    /* No requests: percentages are 0, rates are 0. */
    struct tg_bench_view empty = {.lat = h};
    TG_EXPECT(tg_bench__cond_value(&conds[2], &empty) == 0);
    TG_EXPECT(tg_bench__cond_value(&conds[4], &empty) == 0);

    char b[64];
    tg_bench__fmt_cond_value(&conds[0], 95000, b, sizeof b);
    TG_EXPECT_STREQ(b, "95.0 ms");
    tg_bench__fmt_cond_value(&conds[2], 1.5, b, sizeof b);
    TG_EXPECT_STREQ(b, "1.50%");
    tg_bench__fmt_cond_value(&conds[7], 3, b, sizeof b);
    TG_EXPECT_STREQ(b, "3 errors");
    tg_bench__fmt_cond_value(&conds[4], 4200, b, sizeof b);
    TG_EXPECT_STREQ(b, "4,200 rps");
    TG_EXPECT(tg_bench__cond_is_latency(&conds[0]));
    TG_EXPECT(!tg_bench__cond_is_latency(&conds[2]));
    free(h);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_parse();
    test_eval();
    return tg_test_report(argv[0]);
}
