/* SPDX-License-Identifier: MIT */
/* Unit tests for src/promql/fn*.c against the values Prometheus 2.42 gives
 * (prometheus-compat.md §d.5-§d.7, checked there with promtool): the rate family's
 * extrapolation and reset handling, irate on a reset, histogram_quantile's edge rules,
 * quantile, the *_over_time aggregates, regression and the calendar functions. */
#include "promql/fn.h"

#include <math.h>

#include "tg_test.h"

#define MIN_MS 60000
static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-12 * fmax(1, fabs(b));
}
#define NEAR(a, b) TG_EXPECT(near((a), (b)))

/* Samples v[i] at i minutes, skipping NaN entries (written as gaps). */
static size_t series(const double *v, size_t n, struct tg_sample *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        out[k].t = (int64_t)i * MIN_MS;
        out[k++].v = v[i];
    }
    return k;
}

/* The window [t - r, t] of `s`. */
static size_t win(const struct tg_sample *s, size_t n, int64_t t, int64_t r,
                  const struct tg_sample **w)
{
    size_t lo = 0;
    while (lo < n && s[lo].t < t - r)
        lo++;
    size_t hi = lo;
    while (hi < n && s[hi].t <= t)
        hi++;
    *w = s + lo;
    return hi - lo;
}

static double rate_at(const double *v, size_t n, int64_t t, int64_t r, bool counter, bool rate)
{
    struct tg_sample s[32];
    const struct tg_sample *w;
    size_t k = win(s, series(v, n, s), t, r, &w);
    double out = -1;
    TG_EXPECT(tg_promql_extrapolated_rate(w, k, t - r, t, r, counter, rate, true, &out));
    return out;
}

static void test_rate_family(void)
{
    double c[11];
    for (int i = 0; i <= 10; i++)
        c[i] = 10 * i;
    NEAR(rate_at(c, 11, 5 * MIN_MS, 5 * MIN_MS, true, true), 0.16666666666666669);
    NEAR(rate_at(c, 11, 5 * MIN_MS, 5 * MIN_MS, true, false), 50);
    NEAR(rate_at(c, 11, 5 * MIN_MS + 30000, 90000, true, false), 15);
    NEAR(rate_at(c, 11, 5 * MIN_MS, MIN_MS, true, true), 0.16666666666666666);
    double reset[] = {0, 10, 20, 5, 15, 25};
    NEAR(rate_at(reset, 6, 5 * MIN_MS, 5 * MIN_MS, true, false), 45);
    NEAR(rate_at(reset, 6, 5 * MIN_MS, 5 * MIN_MS, true, true), 0.15000000000000002);
    double start[] = {NAN, NAN, 100, 110, 120, 130};
    NEAR(rate_at(start, 6, 5 * MIN_MS, 10 * MIN_MS, true, false), 35);
    /* delta takes no reset into account: 25 - 0 over the whole window. */
    NEAR(rate_at(reset, 6, 5 * MIN_MS, 5 * MIN_MS, false, false), 25);

    struct tg_sample one = {0, 1};
    double out = 7;
    TG_EXPECT(!tg_promql_extrapolated_rate(&one, 1, -MIN_MS, 0, MIN_MS, true, true, true, &out));
    TG_EXPECT(out == 7);

    struct tg_sample s[8];
    size_t n = series(reset, 4, s); /* 0 10 20 5: a reset at 3m */
    TG_EXPECT(tg_promql_instant_value(s, n, true, &out));
    NEAR(out, 5.0 / 60);
    TG_EXPECT(tg_promql_instant_value(s, n, false, &out));
    NEAR(out, -15);
    TG_EXPECT(tg_promql_resets(s, n) == 1);
    TG_EXPECT(tg_promql_changes(s, n) == 3);
}

static void test_histogram_quantile(void)
{
    struct tg_promql_bucket b[5];
#define SET(i, u, c) (b[i].upper = (u), b[i].count = (c))
    SET(0, 0.1, 25), SET(1, 0.5, 40), SET(2, 1, 45), SET(3, 2.5, 50), SET(4, INFINITY, 50);
    /* Rank 47.5 falls in the 2.5 bucket (45..50): 1 + 1.5 * 2.5 / 5, as the live scrape
     * check in §d.6 gave. */
    NEAR(tg_promql_bucket_quantile(0.95, b, 5), 1.75);
    SET(0, 0.1, 25), SET(1, 0.5, 40), SET(2, 1, 45), SET(3, 2.5, 50), SET(4, INFINITY, 50);
    NEAR(tg_promql_bucket_quantile(0.5, b, 5), 0.1);
    TG_EXPECT(tg_promql_bucket_quantile(0, b, 5) == 0);
    TG_EXPECT(isinf(tg_promql_bucket_quantile(1.5, b, 5)) && tg_promql_bucket_quantile(1.5, b, 5) > 0);
    TG_EXPECT(isinf(tg_promql_bucket_quantile(-1, b, 0)) && tg_promql_bucket_quantile(-1, b, 0) < 0);
    SET(0, 0.1, 0), SET(1, INFINITY, 0);
    TG_EXPECT(isnan(tg_promql_bucket_quantile(0.95, b, 2)));
    SET(0, 1, 3), SET(1, 2, 3);
    TG_EXPECT(isnan(tg_promql_bucket_quantile(0.5, b, 2))); /* no +Inf bucket */
    SET(0, INFINITY, 10);
    TG_EXPECT(isnan(tg_promql_bucket_quantile(0.5, b, 1)));
    SET(0, 1, 3), SET(1, INFINITY, 10), SET(2, 1, 3); /* le="1" and le="1.0" */
    NEAR(tg_promql_bucket_quantile(0.5, b, 3), 0.8333333333333334);
    SET(0, 1, 5), SET(1, 2, 3), SET(2, INFINITY, 10); /* not monotonic */
    NEAR(tg_promql_bucket_quantile(0.5, b, 3), 1);
    SET(0, -1, 5), SET(1, INFINITY, 10);
    TG_EXPECT(tg_promql_bucket_quantile(0.3, b, 2) == -1);
    SET(0, -1, 5), SET(1, INFINITY, 10);
    TG_EXPECT(tg_promql_bucket_quantile(0.7, b, 2) == -1);
    SET(0, 0.5, 10), SET(1, 1, 10), SET(2, 2.5, 100), SET(3, INFINITY, 100);
    NEAR(tg_promql_bucket_quantile(0.95, b, 4), 2.4166666666666665);
#undef SET
}

static void test_quantile_and_over_time(void)
{
    double v[] = {4, 1, NAN, 3, 2};
    /* NaN sorts first: 0.5 of [NaN 1 2 3 4] is the middle, 2. */
    TG_EXPECT(tg_promql_quantile(0.5, v, 5) == 2);
    double w[] = {1, 2, 3, 4};
    NEAR(tg_promql_quantile(0.25, w, 4), 1.75);
    TG_EXPECT(isnan(tg_promql_quantile(0.5, w, 0)));

    double vals[] = {1, 2, 3, 4, 5};
    struct tg_sample s[8];
    size_t n = series(vals, 5, s);
    TG_EXPECT(tg_promql_avg_over_time(s, n) == 3);
    TG_EXPECT(tg_promql_sum_over_time(s, n) == 15);
    TG_EXPECT(tg_promql_min_over_time(s, n) == 1);
    TG_EXPECT(tg_promql_max_over_time(s, n) == 5);
    NEAR(tg_promql_stdvar_over_time(s, n), 2);
    double inf[] = {1, INFINITY, 2};
    n = series(inf, 3, s);
    TG_EXPECT(isinf(tg_promql_avg_over_time(s, n)));

    double slope, icpt;
    n = series(vals, 5, s); /* +1 per minute */
    tg_promql_linreg(s, n, 0, &slope, &icpt);
    NEAR(slope, 1.0 / 60);
    NEAR(icpt, 1);
    double hw;
    TG_EXPECT(tg_promql_holt_winters(s, n, 0.5, 0.5, &hw));
    NEAR(hw, 5); /* a straight line is followed exactly */
}

static void test_math_and_dates(void)
{
    TG_EXPECT(tg_promql_math_lookup("abs")(-2) == 2);
    TG_EXPECT(tg_promql_math_lookup("sgn")(-3) == -1);
    TG_EXPECT(tg_promql_math_lookup("nope") == NULL);
    /* 2024-02-29 12:34:56 UTC, a Thursday. */
    double t = 1709210096;
    TG_EXPECT(tg_promql_date_lookup("days_in_month")(t) == 29);
    TG_EXPECT(tg_promql_date_lookup("day_of_week")(t) == 4);
    TG_EXPECT(tg_promql_date_lookup("day_of_year")(t) == 60);
    TG_EXPECT(tg_promql_date_lookup("hour")(t) == 12);
    TG_EXPECT(tg_promql_date_lookup("minute")(t) == 34);
    TG_EXPECT(tg_promql_date_lookup("month")(t) == 2);
    TG_EXPECT(tg_promql_date_lookup("year")(t) == 2024);
}

int main(void)
{
    test_rate_family();
    test_histogram_quantile();
    test_quantile_and_over_time();
    test_math_and_dates();
    return tg_test_report("promql_fn");
}
