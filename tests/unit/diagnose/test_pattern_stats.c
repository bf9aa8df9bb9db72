/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/pattern_stats.c: usable samples, medians (odd, even, huge
 * values), the MAD, and the Mann-Whitney p-value against a value worked out by hand. */
#include "diagnose/pattern_stats_int.h"

#include <math.h>

#include "tg_test.h"

static void test_usable_and_compact(void)
{
    double v[] = {1, NAN, -1, INFINITY, 0, 2.5, -INFINITY};
    double out[7];
    TG_EXPECT_EQ(tg_pattern__compact(v, 7, out), 3);
    TG_EXPECT(out[0] == 1 && out[1] == 0 && out[2] == 2.5);
    TG_EXPECT(!tg_pattern__usable(NAN));
    TG_EXPECT(tg_pattern__usable(0));
}

static void test_median_mad(void)
{
    double s[8];
    double odd[] = {5, 1, 3};
    TG_EXPECT(tg_pattern__median(odd, 3, s) == 3);
    TG_EXPECT(odd[0] == 5); /* untouched */
    double even[] = {4, 1, 3, 2};
    TG_EXPECT(tg_pattern__median(even, 4, s) == 2.5);
    TG_EXPECT(isnan(tg_pattern__median(even, 0, s)));
    double huge[] = {1.5e308, 1.7e308};
    TG_EXPECT(isfinite(tg_pattern__median(huge, 2, s)));
    double m[] = {1, 2, 3, 4, 100};
    TG_EXPECT(tg_pattern__mad(m, 5, 3, s) == 1); /* deviations 2 1 0 1 97 */
}

static void test_mann_whitney(void)
{
    struct tg_pattern__ranked rk[16];
    double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
    /* U = 25, mean 12.5, variance 25 × 11 / 12; z = 12 / 4.787 = 2.5067, p = 0.00609. */
    double p = tg_pattern__mw_greater(a, 5, b, 5, rk);
    TG_EXPECT(fabs(p - 0.00609) < 0.0001);
    double q = tg_pattern__mw_greater(b, 5, a, 5, rk);
    TG_EXPECT(q > 0.99);
    double same[] = {3, 3, 3, 3, 3};
    TG_EXPECT(tg_pattern__mw_greater(same, 5, same, 5, rk) == 1);
    TG_EXPECT(tg_pattern__mw_greater(a, 0, b, 5, rk) == 1);
    /* Interleaved samples give no evidence either way. */
    double odd[] = {1, 3, 5, 7, 9}, evn[] = {2, 4, 6, 8, 10};
    TG_EXPECT(tg_pattern__mw_greater(odd, 5, evn, 5, rk) > 0.2);
}

int main(void)
{
    test_usable_and_compact();
    test_median_mad();
    test_mann_whitney();
    return tg_test_report("pattern_stats");
}
