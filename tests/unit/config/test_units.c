/* SPDX-License-Identifier: MIT */
/* Duration and size syntax: every accepted form, every refusal and its message, overflow
 * edges, and that formatting round-trips through parsing. */
#include "config/units.h"

#include <string.h>

#include "tg_test.h"

static int64_t dur(const char *s)
{
    int64_t v = -42;
    struct tg_errbuf eb;
    if (tg_units_parse_duration(s, &v, &eb) != 0)
        return -1;
    return v;
}

static const char *dur_err(const char *s)
{
    static struct tg_errbuf eb;
    int64_t v = -42;
    memset(&eb, 0, sizeof eb);
    if (tg_units_parse_duration(s, &v, &eb) != TG_EPARSE || v != -42)
        return "(accepted)";
    return eb.msg;
}

static uint64_t size(const char *s)
{
    uint64_t v = 0;
    struct tg_errbuf eb;
    if (tg_units_parse_size(s, &v, &eb) != 0)
        return UINT64_MAX;
    return v;
}

static const char *size_err(const char *s)
{
    static struct tg_errbuf eb;
    uint64_t v = 7;
    memset(&eb, 0, sizeof eb);
    if (tg_units_parse_size(s, &v, &eb) != TG_EPARSE || v != 7)
        return "(accepted)";
    return eb.msg;
}

static void test_durations(void)
{
    TG_EXPECT_EQ(dur("0"), 0);
    TG_EXPECT_EQ(dur("7us"), 7);
    TG_EXPECT_EQ(dur("7\xc2\xb5s"), 7);
    TG_EXPECT_EQ(dur("250ms"), 250000);
    TG_EXPECT_EQ(dur("10s"), 10000000);
    TG_EXPECT_EQ(dur("2m"), 120000000);
    TG_EXPECT_EQ(dur("1h"), INT64_C(3600000000));
    TG_EXPECT_EQ(dur("1m30s"), 90000000);
    TG_EXPECT_EQ(dur("1h2m3s4ms5us"), INT64_C(3723004005));
    TG_EXPECT_EQ(dur("1.5s"), 1500000);
    TG_EXPECT_EQ(dur("0.25s"), 250000);
    TG_EXPECT_EQ(dur("1.000001s"), 1000001);
    TG_EXPECT_EQ(dur("0s"), 0);
    TG_EXPECT_EQ(dur("0ms"), 0);
    TG_EXPECT_EQ(dur("2562047788h"), INT64_C(2562047788) * 3600000000);
}

static void test_duration_errors(void)
{
    TG_EXPECT_STREQ(dur_err("5x"), "bad duration \"5x\" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("30"), "bad duration \"30\" (missing unit, e.g. 30s or 250ms)");
    TG_EXPECT_STREQ(dur_err("1.5"), "bad duration \"1.5\" (missing unit, e.g. 30s or 250ms)");
    TG_EXPECT_STREQ(dur_err(""), "bad duration \"\" (empty; use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("-1s"), "bad duration \"-1s\" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("1.s"), "bad duration \"1.s\" (use 250ms, 1.5s, 2m)");
    TG_EXPECT_STREQ(dur_err(" 1s"), "bad duration \" 1s\" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("1s "), "bad duration \"1s \" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("1 s"), "bad duration \"1 s\" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("1S"), "bad duration \"1S\" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("1d"), "bad duration \"1d\" (use 250ms, 10s, 2m)");
    TG_EXPECT_STREQ(dur_err("1.5us"), "bad duration \"1.5us\" (finer than 1us)");
    TG_EXPECT_STREQ(dur_err("0.0000001s"), "bad duration \"0.0000001s\" (finer than 1us)");
    TG_EXPECT_STREQ(dur_err("1.0000000001s"), "bad duration \"1.0000000001s\" (too many decimals)");
    TG_EXPECT_STREQ(dur_err("2562047789h"), "bad duration \"2562047789h\" (too large)");
    TG_EXPECT_STREQ(dur_err("2562047788h1h"), "bad duration \"2562047788h1h\" (too large)");
    TG_EXPECT_STREQ(dur_err("99999999999999999999999s"),
                    "bad duration \"99999999999999999999999s\" (too large)");
    /* Control bytes in the echoed value are escaped, long values shortened. */
    TG_EXPECT_STREQ(dur_err("\x1b[31m"), "bad duration \"\\x1b[31m\" (use 250ms, 10s, 2m)");
    TG_EXPECT(strstr(dur_err("1111111111111111111111111111111111111111111111111111x"),
                     "\"1111111111111111111111111111111111111111\"...") != NULL);
}

static void test_sizes(void)
{
    TG_EXPECT_EQ(size("0"), 0);
    TG_EXPECT_EQ(size("512"), 512);
    TG_EXPECT_EQ(size("512B"), 512);
    TG_EXPECT_EQ(size("16KiB"), 16384);
    TG_EXPECT_EQ(size("10MiB"), 10485760);
    TG_EXPECT_EQ(size("1GiB"), 1073741824);
    TG_EXPECT_EQ(size("2TiB"), UINT64_C(2) << 40);
    TG_EXPECT_EQ(size("16kB"), 16000);
    TG_EXPECT_EQ(size("10MB"), 10000000);
    TG_EXPECT_EQ(size("3GB"), 3000000000);
    TG_EXPECT_EQ(size("1TB"), 1000000000000);
    TG_EXPECT(size("18446744073709551615") == UINT64_MAX);
}

static void test_size_errors(void)
{
    TG_EXPECT_STREQ(size_err("16KB"), "bad size \"16KB\" (use 16KiB for 16384 bytes or 16kB for "
                                      "16000)");
    TG_EXPECT_STREQ(size_err("16k"), "bad size \"16k\" (use 16KiB for 16384 bytes or 16kB for "
                                     "16000)");
    TG_EXPECT_STREQ(size_err("10M"), "bad size \"10M\" (use 10MiB for 10485760 bytes or 10MB "
                                     "for 10000000)");
    TG_EXPECT_STREQ(size_err("1g"), "bad size \"1g\" (use 1GiB for 1073741824 bytes or 1GB for "
                                    "1000000000)");
    TG_EXPECT_STREQ(size_err("abc"), "bad size \"abc\" (use 512, 16KiB, 10MiB, 1GiB)");
    TG_EXPECT_STREQ(size_err(""), "bad size \"\" (use 512, 16KiB, 10MiB, 1GiB)");
    TG_EXPECT_STREQ(size_err("-1"), "bad size \"-1\" (use 512, 16KiB, 10MiB, 1GiB)");
    TG_EXPECT(strstr(size_err("16 KiB"), "units are B, KiB, MiB, GiB, TiB or kB, MB, GB, TB"));
    TG_EXPECT(strstr(size_err("1.5MiB"), "units are B, KiB"));
    TG_EXPECT_STREQ(size_err("18446744073709551616"),
                    "bad size \"18446744073709551616\" (too large)");
    TG_EXPECT_STREQ(size_err("17179869184GiB"), "bad size \"17179869184GiB\" (too large)");
}

static void test_format(void)
{
    char b[32];
    TG_EXPECT_EQ(tg_units_format_duration(0, b, sizeof b), 1);
    TG_EXPECT_STREQ(b, "0");
    tg_units_format_duration(90 * TG_US_PER_S, b, sizeof b);
    TG_EXPECT_STREQ(b, "90s");
    tg_units_format_duration(2 * TG_US_PER_MIN, b, sizeof b);
    TG_EXPECT_STREQ(b, "2m");
    tg_units_format_duration(3 * TG_US_PER_H, b, sizeof b);
    TG_EXPECT_STREQ(b, "3h");
    tg_units_format_duration(1500 * TG_US_PER_MS, b, sizeof b);
    TG_EXPECT_STREQ(b, "1500ms");
    tg_units_format_duration(7, b, sizeof b);
    TG_EXPECT_STREQ(b, "7us");
    tg_units_format_duration(-5 * TG_US_PER_S, b, sizeof b);
    TG_EXPECT_STREQ(b, "-5s");
    tg_units_format_duration(INT64_MIN, b, sizeof b);
    TG_EXPECT_STREQ(b, "-9223372036854775808us");
    TG_EXPECT_EQ(tg_units_format_duration(1500 * TG_US_PER_MS, b, 3), 6);
    TG_EXPECT_STREQ(b, "15");

    tg_units_format_size(16384, b, sizeof b);
    TG_EXPECT_STREQ(b, "16KiB");
    tg_units_format_size(10485760, b, sizeof b);
    TG_EXPECT_STREQ(b, "10MiB");
    tg_units_format_size(UINT64_C(1) << 30, b, sizeof b);
    TG_EXPECT_STREQ(b, "1GiB");
    tg_units_format_size(UINT64_C(3) << 40, b, sizeof b);
    TG_EXPECT_STREQ(b, "3TiB");
    tg_units_format_size(1000, b, sizeof b);
    TG_EXPECT_STREQ(b, "1000");
    tg_units_format_size(0, b, sizeof b);
    TG_EXPECT_STREQ(b, "0");

    /* Round trip: whatever we print, we parse back to the same value. */
    static const int64_t ds[] = {1, 999, 1000, 1001, 60000000, 61000000, 3600000000, 86399999999};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        tg_units_format_duration(ds[i], b, sizeof b);
        TG_EXPECT_EQ(dur(b), ds[i]);
    }
    static const uint64_t ss[] = {1, 1023, 1024, 1025, 1 << 20, (1 << 20) + 1024, UINT64_MAX};
    for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++) {
        tg_units_format_size(ss[i], b, sizeof b);
        TG_EXPECT(size(b) == ss[i]);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    test_durations();
    test_duration_errors();
    test_sizes();
    test_size_errors();
    test_format();
    return tg_test_report(argv[0]);
}
