/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/units.c: durations (units, compounds, bare seconds, garbage),
 * integers and rates with their bounds, and the human formats of counts, milliseconds,
 * latencies, bytes and durations used in reports and percentile tables. */
#include "bench/units_int.h"

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "tg_test.h"

static int64_t dur(const char *s)
{
    int64_t us = -1;
    return tg_bench__parse_duration(s, &us) == 0 ? us : -1;
}

static void test_durations(void)
{
    TG_EXPECT_EQ(dur("10s"), 10000000);
    TG_EXPECT_EQ(dur("2m"), 120000000);
    TG_EXPECT_EQ(dur("1m30s"), 90000000);
    TG_EXPECT_EQ(dur("500ms"), 500000);
    TG_EXPECT_EQ(dur("250us"), 250);
    TG_EXPECT_EQ(dur("1h"), INT64_C(3600000000));
    TG_EXPECT_EQ(dur("1.5s"), 1500000);
    TG_EXPECT_EQ(dur(".5s"), 500000);
    TG_EXPECT_EQ(dur("10"), 10000000); /* bare number: seconds, like wrk */
    TG_EXPECT_EQ(dur("0s"), 0);
    TG_EXPECT_EQ(dur("1h2m3s"), INT64_C(3723000000));
    TG_EXPECT_EQ(dur(""), -1);
    TG_EXPECT_EQ(dur("abc"), -1);
    TG_EXPECT_EQ(dur("10x"), -1);
    TG_EXPECT_EQ(dur("1m30"), -1); /* a bare number only on its own */
    TG_EXPECT_EQ(dur("-1s"), -1);
    TG_EXPECT_EQ(dur("s"), -1);
    TG_EXPECT_EQ(dur("10 s"), -1);
    TG_EXPECT_EQ(dur("99999999h"), -1); /* beyond ten years */
    int64_t us;
    TG_EXPECT_EQ(tg_bench__parse_duration(NULL, &us), TG_EPARSE);
}

static void test_numbers(void)
{
    uint64_t u = 0;
    TG_EXPECT_EQ(tg_bench__parse_uint("42", 1, 100, &u), 0);
    TG_EXPECT_EQ(u, 42);
    TG_EXPECT_EQ(tg_bench__parse_uint("0", 1, 100, &u), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_uint("101", 1, 100, &u), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_uint("-1", 0, 100, &u), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_uint("1e3", 0, 10000, &u), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_uint("", 0, 10, &u), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_uint("99999999999999999999999", 0, UINT64_MAX, &u), TG_EPARSE);

    double r = 0;
    TG_EXPECT_EQ(tg_bench__parse_rate("1000", 1e8, &r), 0);
    TG_EXPECT(r == 1000);
    TG_EXPECT_EQ(tg_bench__parse_rate("0.5", 1e8, &r), 0);
    TG_EXPECT(r == 0.5);
    TG_EXPECT_EQ(tg_bench__parse_rate("2k", 1e8, &r), 0);
    TG_EXPECT(r == 2000);
    TG_EXPECT_EQ(tg_bench__parse_rate("1.5M", 1e8, &r), 0);
    TG_EXPECT(r == 1.5e6);
    TG_EXPECT_EQ(tg_bench__parse_rate("0", 1e8, &r), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_rate("-5", 1e8, &r), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_rate("nan", 1e8, &r), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_rate("inf", 1e8, &r), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_rate("1e9", 1e8, &r), TG_EPARSE);
    TG_EXPECT_EQ(tg_bench__parse_rate("10rps", 1e8, &r), TG_EPARSE);
}

static void test_formats(void)
{
    char b[64];
    tg_bench__fmt_count(b, sizeof b, 0);
    TG_EXPECT_STREQ(b, "0");
    tg_bench__fmt_count(b, sizeof b, 999);
    TG_EXPECT_STREQ(b, "999");
    tg_bench__fmt_count(b, sizeof b, 4200);
    TG_EXPECT_STREQ(b, "4,200");
    tg_bench__fmt_count(b, sizeof b, 1234567);
    TG_EXPECT_STREQ(b, "1,234,567");
    tg_bench__fmt_count(b, sizeof b, UINT64_MAX);
    TG_EXPECT_STREQ(b, "18,446,744,073,709,551,615");

    tg_bench__fmt_rate(b, sizeof b, 12.54);
    TG_EXPECT_STREQ(b, "12.5");
    tg_bench__fmt_rate(b, sizeof b, 4199.6);
    TG_EXPECT_STREQ(b, "4,200");

    /* Percentile cells: at least four significant digits below a second. */
    tg_bench__fmt_ms(b, sizeof b, 123);
    TG_EXPECT_STREQ(b, "0.123");
    tg_bench__fmt_ms(b, sizeof b, 5250);
    TG_EXPECT_STREQ(b, "5.250");
    tg_bench__fmt_ms(b, sizeof b, 50123);
    TG_EXPECT_STREQ(b, "50.12");
    tg_bench__fmt_ms(b, sizeof b, 430100);
    TG_EXPECT_STREQ(b, "430.1");
    tg_bench__fmt_ms(b, sizeof b, 1234000);
    TG_EXPECT_STREQ(b, "1,234");

    tg_bench__fmt_latency(b, sizeof b, 850);
    TG_EXPECT_STREQ(b, "850 us");
    tg_bench__fmt_latency(b, sizeof b, 1234);
    TG_EXPECT_STREQ(b, "1.23 ms");
    tg_bench__fmt_latency(b, sizeof b, 12345);
    TG_EXPECT_STREQ(b, "12.3 ms");
    tg_bench__fmt_latency(b, sizeof b, 430000);
    TG_EXPECT_STREQ(b, "430 ms");
    tg_bench__fmt_latency(b, sizeof b, 1230000);
    TG_EXPECT_STREQ(b, "1.23 s");

    tg_bench__fmt_bytes(b, sizeof b, 512);
    TG_EXPECT_STREQ(b, "512 B");
    tg_bench__fmt_bytes(b, sizeof b, 1200);
    TG_EXPECT_STREQ(b, "1.2 KB");
    tg_bench__fmt_bytes(b, sizeof b, 34500000);
    TG_EXPECT_STREQ(b, "34.5 MB");

    tg_bench__fmt_duration(b, sizeof b, 10000000);
    TG_EXPECT_STREQ(b, "10s");
    tg_bench__fmt_duration(b, sizeof b, 90000000);
    TG_EXPECT_STREQ(b, "1m30s");
    tg_bench__fmt_duration(b, sizeof b, INT64_C(3600000000));
    TG_EXPECT_STREQ(b, "1h");
    tg_bench__fmt_duration(b, sizeof b, 250000);
    TG_EXPECT_STREQ(b, "250ms");
    tg_bench__fmt_duration(b, sizeof b, 1500);
    TG_EXPECT_STREQ(b, "0.002s");
    /* Truncation is safe. */
    char tiny[4];
    tg_bench__fmt_count(tiny, sizeof tiny, 1234567);
    TG_EXPECT_STREQ(tiny, "1,2");
}

int main(int argc, char **argv)
{
    (void)argc;
    test_durations();
    test_numbers();
    test_formats();
    return tg_test_report(argv[0]);
}
