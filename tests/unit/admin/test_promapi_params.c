/* SPDX-License-Identifier: MIT */
/* Tests for src/admin/promapi_params.c and promapi_json.c: every expected value below
 * was read off a running Prometheus 2.42 given the same parameter (its answer's
 * timestamp, or its error), including the spellings Go accepts that one would not
 * guess ("1_0", "0x1p4", a one-digit hour, an offset of +24:00) and the wrapping
 * arithmetic at the edges (a time of NaN, 1e10, year 0). */
#include "admin/promapi_params.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_json.h"
#include "tg_test.h"

static bool ptime(const char *s, int64_t *engine_ms)
{
    struct tg_admin_ptime t;
    if (!tg_admin_ptime_parse(s, strlen(s), &t))
        return false;
    *engine_ms = tg_admin_ptime_engine_ms(t);
    return true;
}

static void test_unix_floats(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"1.5", 1500},
        {"1.0005", 1000}, /* the fraction 0.000499... rounds down */
        {"-1.0005", -1000},
        {"-0.0015", -2},
        {"0x1p4", 16000},
        {"0X1p+2", 4000},
        {"0x1P-2", 250},
        {"0x_1p0", 1000},
        {"1_0", 10000},
        {"00012", 12000},
        {".5", 500},
        {"5.", 5000},
        {"1E3", 1000000},
        {"NaN", -9223372036854},
        {"Inf", -9223372036854},
        {"-inf", -9223372036854},
        {"Infinity", -9223372036854},
        {"1e300", 0},
        {"-1e300", 0},
        {"9223372036854775807", 0},
        {"92233720368547758", 1920},
        {"1e10", -8446744073709},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = 42;
        if (!ptime(ok[i].s, &ms))
            tg_test_fail_s(__FILE__, __LINE__, "parse", ok[i].s, "accepted");
        TG_EXPECT_EQ(ms, ok[i].ms);
    }
}

static void test_rfc3339(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"2020-01-01T01:00:00Z", 1577840400000},
        {"2020-01-01T01:00:00,5Z", 1577840400500},
        {"2020-01-01T01:00:00.123456789Z", 1577840400123},
        {"2020-01-01T01:00:00.9999+01:00", 1577836800999},
        {"2020-01-01T1:00:00Z", 1577840400000},
        {"2020-01-01T01:00:00+24:00", 1577754000000},
        {"2020-01-01T01:00:00+24:01", 1577753940000},
        {"2020-01-01T01:00:00+23:60", 1577754000000},
        {"2020-01-01T01:00:00-00:00", 1577840400000},
        {"2020-02-29T00:00:00Z", 1582934400000},
        {"0000-01-01T00:00:00Z", -6826986978871},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = 42;
        if (!ptime(ok[i].s, &ms))
            tg_test_fail_s(__FILE__, __LINE__, "parse", ok[i].s, "accepted");
        TG_EXPECT_EQ(ms, ok[i].ms);
    }
    static const char *const bad[] = {
        "",
        " 1",
        "1e400",
        "0x10",
        "+nan",
        "1_",
        "_1",
        "1e_1",
        "1__0",
        "+020-01-01T01:00:00Z",
        "-0001-01-01T00:00:00Z",
        "2020-01-01T01:00:00.1234567891Z",
        "2020-02-30T01:00:00Z",
        "2021-02-29T01:00:00Z",
        "2020-01-01T24:00:00Z",
        "2020-01-01t01:00:00Z",
        "2020-01-01T01:00:00.Z",
        "2020-1-01T01:00:00Z",
        "2020-01-01T01:00:00+0100",
        "2020-01-01T01:00:00+25:00",
        "2020-01-01T01:00:00",
        "2020-01-01T01:00:00Zjunk",
        "-292273086-05-17T16:47:06Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        if (ptime(bad[i], &ms))
            tg_test_fail_s(__FILE__, __LINE__, "parse", bad[i], "refused");
    }
}

static void test_min_max(void)
{
    struct tg_admin_ptime t;
    const char *mn = "-292273086-05-16T16:47:06Z", *mx = "292277025-08-18T07:12:54.999999999Z";
    TG_EXPECT(tg_admin_ptime_parse(mn, strlen(mn), &t));
    TG_EXPECT_EQ(tg_admin_ptime_ms(t), tg_admin_ptime_ms(tg_admin_ptime_min()));
    TG_EXPECT(tg_admin_ptime_parse(mx, strlen(mx), &t));
    TG_EXPECT_EQ(tg_admin_ptime_ms(t), tg_admin_ptime_ms(tg_admin_ptime_max()));
    /* The defaults select everything a store could hold. */
    TG_EXPECT_LT(tg_admin_ptime_ms(tg_admin_ptime_min()), -(int64_t)1e15);
    TG_EXPECT_GT(tg_admin_ptime_ms(tg_admin_ptime_max()), (int64_t)1e15);
    /* Their difference saturates as Go's Time.Sub does. */
    TG_EXPECT_EQ(tg_admin_ptime_sub_ns(tg_admin_ptime_max(), tg_admin_ptime_min()), INT64_MAX);
    TG_EXPECT_EQ(tg_admin_ptime_sub_ns(tg_admin_ptime_min(), tg_admin_ptime_max()), INT64_MIN);
}

static void test_durations(void)
{
    static const struct {
        const char *s;
        int64_t ns;
    } ok[] = {
        {"1h30m", 5400000000000},
        {"1.5", 1500000000},
        {"0", 0},
        {"-1", -1000000000},
        {"100ms", 100000000},
        {"1m5ms", 60005000000},
        {"1y2w3d4h5m6s7ms", (int64_t)((((382LL * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7) * 1000000},
        {"0.0001", 100000},
        {"1e-9", 1},
        {"15s", 15000000000},
        {"0s", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ns = 42;
        TG_EXPECT_EQ(tg_admin_pdur_parse(ok[i].s, strlen(ok[i].s), &ns), TG_ADMIN_PDUR_OK);
        TG_EXPECT_EQ(ns, ok[i].ns);
    }
    static const char *const bad[] = {"",
                                      "abc",
                                      "1m1h",
                                      "5M",
                                      "1.5m",
                                      "1h1h",
                                      "h",
                                      "10ns",
                                      "1us",
                                      "5m ",
                                      "1d1w",
                                      "1s1m",
                                      "99999999999999999999y"};
    int64_t ns;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tg_admin_pdur_parse(bad[i], strlen(bad[i]), &ns) != TG_ADMIN_PDUR_SYNTAX)
            tg_test_fail_s(__FILE__, __LINE__, "duration", bad[i], "refused");
    TG_EXPECT_EQ(tg_admin_pdur_parse("1e300", 5, &ns), TG_ADMIN_PDUR_OVERFLOW);
    TG_EXPECT_EQ(tg_admin_pdur_parse("-1e300", 6, &ns), TG_ADMIN_PDUR_OVERFLOW);
}

static void test_goquote(void)
{
    char b[64];
    tg_admin_goquote("a\"b\\", 4, b, sizeof b);
    TG_EXPECT_STREQ(b, "\"a\\\"b\\\\\"");
    tg_admin_goquote("\x01\n\xff\xc3\xa9", 5, b, sizeof b);
    TG_EXPECT_STREQ(b, "\"\\x01\\n\\xff\xc3\xa9\"");
    TG_EXPECT_EQ(tg_admin_goquote("abcdef", 6, b, 5), 4u); /* truncated, still terminated */
    TG_EXPECT_STREQ(b, "\"abc");
}

static void test_form(void)
{
    struct tg_admin_form f = {0};
    const char *s = "query=1+1&b=%zz&match[]=a&k&match[]=%7Bx%3D%22y%22%7D&x;y=1&%41=%42";
    TG_EXPECT_EQ(tg_admin_form_parse(&f, s, strlen(s)), 0);
    TG_EXPECT_EQ(f.n, 5u);
    TG_EXPECT_STREQ(tg_admin_form_get(&f, "query")->value, "1 1");
    TG_EXPECT(!tg_admin_form_get(&f, "b"));
    TG_EXPECT(!tg_admin_form_get(&f, "x;y"));
    TG_EXPECT_STREQ(tg_admin_form_get(&f, "k")->value, "");
    TG_EXPECT_STREQ(tg_admin_form_get(&f, "A")->value, "B");
    TG_EXPECT_STREQ(f.v[3].value, "{x=\"y\"}");
    TG_EXPECT(f.bad);
    TG_EXPECT_STREQ(f.err, "invalid URL escape \"%zz\"");
    tg_admin_form_deinit(&f);
    TG_EXPECT_EQ(tg_admin_form_parse(&f, "q=%", 3), 0);
    TG_EXPECT_STREQ(f.err, "invalid URL escape \"%\"");
    /* A second source (the query string after a POST body) appends: the first wins. */
    TG_EXPECT_EQ(tg_admin_form_parse(&f, "q=2&q=3", 7), 0);
    TG_EXPECT_STREQ(tg_admin_form_get(&f, "q")->value, "2");
    tg_admin_form_deinit(&f);
    TG_EXPECT_EQ(tg_admin_form_parse(&f, "q=a%00b", 7), 0);
    TG_EXPECT_EQ(tg_admin_form_get(&f, "q")->len, 3u);
    tg_admin_form_deinit(&f);
}

static void expect_value(double v, const char *want)
{
    struct tg_admin_jw w = {0};
    tg_admin_jw_value(&w, v);
    TG_EXPECT_STREQ(w.p, want);
    tg_admin_jw_free(&w);
}

/* The shortest round-trip digits of |v| by trying every precision from 0, as the writer
 * did before it bisected: its "e" form must carry exactly these digits. */
static void expect_shortest(double v)
{
    char ref[40], got[400];
    for (int p = 0; p <= 17; p++) {
        snprintf(ref, sizeof ref, "%.*e", p, fabs(v));
        if (strtod(ref, NULL) == fabs(v))
            break;
    }
    char want[40];
    size_t n = 0;
    const char *c = ref;
    for (; *c != 'e'; c++)
        if (*c != '.')
            want[n++] = *c;
    while (n > 1 && want[n - 1] == '0')
        n--;
    tg_admin_fmt_float(fabs(v), 'e', got, sizeof got);
    char have[40];
    size_t m = 0;
    for (c = got; *c != 'e' && m < sizeof have; c++)
        if (*c != '.')
            have[m++] = *c;
    TG_EXPECT_EQ(m, n);
    TG_EXPECT(memcmp(have, want, n) == 0);
    TG_EXPECT_EQ(atoi(strchr(got, 'e') + 1), atoi(strchr(ref, 'e') + 1));
    TG_EXPECT(strtod(got, NULL) == fabs(v));
}

static void test_json_shortest(void)
{
    /* Random bit patterns (every exponent), powers of two, short decimals, and values
     * next to them. */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (isfinite(v) && v != 0)
            expect_shortest(v);
    }
    for (int e = -1074; e <= 1023; e++) {
        expect_shortest(ldexp(1, e));
        expect_shortest(nextafter(ldexp(1, e), 0));
        expect_shortest(nextafter(ldexp(1, e), INFINITY));
    }
    for (int k = 1; k < 2000; k++) {
        expect_shortest(k / 1000.0);
        expect_shortest(nextafter(k / 1000.0, 0));
        expect_shortest(k * 1e15);
    }
}

static void test_json(void)
{
    expect_value(1.75, "\"1.75\"");
    expect_value(0.1 + 0.2, "\"0.30000000000000004\"");
    expect_value(123456789012345678.0, "\"123456789012345680\"");
    expect_value(1e20, "\"100000000000000000000\"");
    expect_value(1e21, "\"1e+21\"");
    expect_value(0.000001, "\"0.000001\"");
    expect_value(9e-7, "\"9e-07\"");
    expect_value(5e-324, "\"5e-324\"");
    expect_value(-0.0, "\"-0\"");
    expect_value(0, "\"0\"");
    expect_value(NAN, "\"NaN\"");
    expect_value(INFINITY, "\"+Inf\"");
    expect_value(-INFINITY, "\"-Inf\"");
    expect_value(1e100, "\"1e+100\"");
    expect_value(-2.5e-10, "\"-2.5e-10\"");
    char b[400];
    TG_EXPECT_EQ(tg_admin_fmt_float(1e-7, 'f', b, sizeof b), 9u);
    TG_EXPECT_STREQ(b, "0.0000001");
    TG_EXPECT_EQ(tg_admin_fmt_float(1e22, 'f', b, sizeof b), 23u);
    TG_EXPECT_EQ(tg_admin_fmt_float(5e-324, 'f', b, sizeof b), 326u);

    struct tg_admin_jw w = {0};
    tg_admin_jw_ts(&w, 1795398837500);
    tg_admin_jw_lit(&w, " ");
    tg_admin_jw_ts(&w, 1735689660000);
    tg_admin_jw_lit(&w, " ");
    tg_admin_jw_ts(&w, -1500);
    tg_admin_jw_lit(&w, " ");
    tg_admin_jw_ts(&w, 1435781451007);
    tg_admin_jw_lit(&w, " ");
    tg_admin_jw_num(&w, 1e-7);
    tg_admin_jw_lit(&w, " ");
    tg_admin_jw_num(&w, 1577840400.5);
    tg_admin_jw_lit(&w, " ");
    tg_admin_jw_num(&w, 0.019144963);
    TG_EXPECT_STREQ(w.p, "1795398837.500 1735689660 -1.500 1435781451.007 1e-7 1577840400.5 "
                         "0.019144963");
    tg_admin_jw_free(&w);
    tg_admin_jw_str(&w, "a<b>&\"\\\n\x01\xff\xe2\x80\xa8\xc3\xa9/", 16);
    TG_EXPECT_STREQ(w.p, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\ufffd\\u2028\xc3\xa9/\"");
    tg_admin_jw_free(&w);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_unix_floats();
    test_rfc3339();
    test_min_max();
    test_durations();
    test_goquote();
    test_form();
    test_json();
    test_json_shortest();
    return tg_test_report(argv[0]);
}
