/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/stats.c: init, merge (histograms, counters, status codes),
 * the error total and error kind names. */
#include "bench/stats_int.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

int main(int argc, char **argv)
{
    (void)argc;
    struct tg_bench_stats *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    tg_bench__stats_init(a);
    tg_bench__stats_init(b);
    TG_EXPECT_EQ(a->lat.min_us, UINT64_MAX);
    tg_hist_record(&b->lat, 1000);
    tg_hist_record(&b->lat_unc, 900);
    b->requests = 3;
    b->responses = 2;
    b->status[200] = 1;
    b->status[503] = 1;
    b->errors[TG_BENCH_E_HTTP] = 1;
    b->errors[TG_BENCH_E_TIMEOUT] = 1;
    b->late = 1;
    b->connects = 2;
    b->bytes_out = 10;
    b->bytes_in = 20;
    tg_bench__stats_merge(a, b);
    tg_bench__stats_merge(a, b);
    TG_EXPECT_EQ(a->requests, 6);
    TG_EXPECT_EQ(a->responses, 4);
    TG_EXPECT_EQ(a->status[503], 2);
    TG_EXPECT_EQ(a->lat.count, 2);
    TG_EXPECT_EQ(a->lat_unc.count, 2);
    TG_EXPECT_EQ(tg_hist_min(&a->lat_unc), 900);
    TG_EXPECT_EQ(a->late, 2);
    TG_EXPECT_EQ(a->connects, 4);
    TG_EXPECT_EQ(a->bytes_out, 20);
    TG_EXPECT_EQ(a->bytes_in, 40);
    TG_EXPECT_EQ(tg_bench__stats_errors(a), 4);
    /* Only connections opened (no request finished yet) still merge. */
    tg_bench__stats_reset(b);
    b->connects = 5;
    tg_bench__stats_merge(a, b);
    TG_EXPECT_EQ(a->connects, 9);
    TG_EXPECT_STREQ(tg_bench__err_name(TG_BENCH_E_CONNECT), "connect");
    TG_EXPECT_STREQ(tg_bench__err_name(TG_BENCH_E_BAD_RESPONSE), "bad_response");
    TG_EXPECT_STREQ(tg_bench__err_name(TG_BENCH_E_HTTP), "http");
    TG_EXPECT_STREQ(tg_bench__err_name(TG_BENCH_E_COUNT), "?");
    free(a);
    free(b);
    return tg_test_report(argv[0]);
}
