/* SPDX-License-Identifier: MIT */
/* The range-vector functions over one series' window: the rate family with Prometheus's
 * extrapolation, resets/changes, linear regression, Holt-Winters and the *_over_time
 * aggregates. Float arithmetic follows Prometheus 2.42 step by step (including its
 * compensated sums), since the conformance files compare to 1e-6 relative and users
 * compare our numbers with Prometheus's. */
#include "promql/fn.h"

#include <math.h>

void tg_promql_kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    /* Neumaier: compensate with whichever term lost precision. */
    if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

bool tg_promql_extrapolated_rate(const struct tg_sample *s, size_t n, int64_t range_start,
                                 int64_t range_end, int64_t range_ms, bool counter, bool rate,
                                 bool may_drop, double *out)
{
    if (n < 2)
        return false;
    double result = s[n - 1].v - s[0].v;
    if (counter && may_drop) {
        for (size_t i = 1; i < n; i++)
            if (s[i].v < s[i - 1].v)
                result += s[i - 1].v;
    }
    double to_start = (double)(s[0].t - range_start) / 1000;
    double to_end = (double)(range_end - s[n - 1].t) / 1000;
    double sampled = (double)(s[n - 1].t - s[0].t) / 1000;
    double avg_step = sampled / (double)(n - 1);
    if (counter && result > 0 && s[0].v >= 0) {
        /* A counter cannot go below zero: do not extrapolate past where it would be 0. */
        double to_zero = sampled * (s[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg_step * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg_step / 2;
    interval += to_end < threshold ? to_end : avg_step / 2;
    double factor = interval / sampled;
    if (rate)
        factor /= (double)range_ms / 1000;
    *out = result * factor;
    return true;
}

bool tg_promql_instant_value(const struct tg_sample *s, size_t n, bool rate, double *out)
{
    if (n < 2)
        return false;
    const struct tg_sample *last = &s[n - 1], *prev = &s[n - 2];
    double v = rate && last->v < prev->v ? last->v : last->v - prev->v;
    int64_t dt = last->t - prev->t;
    if (dt == 0)
        return false;
    if (rate)
        v /= (double)dt / 1000;
    *out = v;
    return true;
}

double tg_promql_resets(const struct tg_sample *s, size_t n)
{
    double r = 0;
    for (size_t i = 1; i < n; i++)
        if (s[i].v < s[i - 1].v)
            r++;
    return r;
}

double tg_promql_changes(const struct tg_sample *s, size_t n)
{
    double c = 0;
    for (size_t i = 1; i < n; i++)
        if (s[i].v != s[i - 1].v && !(isnan(s[i].v) && isnan(s[i - 1].v)))
            c++;
    return c;
}

void tg_promql_linreg(const struct tg_sample *s, size_t n, int64_t at_ms, double *slope,
                      double *intercept)
{
    double sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    bool const_y = true;
    for (size_t i = 0; i < n; i++) {
        if (const_y && i > 0 && s[i].v != s[0].v)
            const_y = false;
        double x = (double)(s[i].t - at_ms) / 1e3;
        tg_promql_kahan_inc(x, &sx, &cx);
        tg_promql_kahan_inc(s[i].v, &sy, &cy);
        tg_promql_kahan_inc(x * s[i].v, &sxy, &cxy);
        tg_promql_kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        /* A flat line has slope 0 exactly, which the formula would blur with rounding. */
        *slope = isinf(s[0].v) ? NAN : 0;
        *intercept = isinf(s[0].v) ? NAN : s[0].v;
        return;
    }
    double nn = (double)n;
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / nn;
    double var = sx2 - sx * sx / nn;
    *slope = cov / var;
    *intercept = sy / nn - *slope * sx / nn;
}

bool tg_promql_holt_winters(const struct tg_sample *s, size_t n, double sf, double tf,
                            double *out)
{
    if (n < 2)
        return false;
    double s0 = 0, s1 = s[0].v, b = s[1].v - s[0].v;
    for (size_t i = 1; i < n; i++) {
        double x = sf * s[i].v;
        /* The trend at the previous point; the first one is the initial slope. */
        if (i > 1)
            b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    *out = s1;
    return true;
}

double tg_promql_avg_over_time(const struct tg_sample *s, size_t n)
{
    double mean = 0, c = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        double v = s[i].v;
        count++;
        if (isinf(mean)) {
            /* Inf plus anything finite, or the same Inf, stays that Inf; the running
             * formula would turn it into NaN. */
            if (isinf(v) && (mean > 0) == (v > 0))
                continue;
            if (!isinf(v) && !isnan(v))
                continue;
        }
        tg_promql_kahan_inc(v / count - mean / count, &mean, &c);
    }
    return isinf(mean) ? mean : mean + c;
}

double tg_promql_sum_over_time(const struct tg_sample *s, size_t n)
{
    double sum = 0, c = 0;
    for (size_t i = 0; i < n; i++)
        tg_promql_kahan_inc(s[i].v, &sum, &c);
    return isinf(sum) ? sum : sum + c;
}

double tg_promql_min_over_time(const struct tg_sample *s, size_t n)
{
    double m = s[0].v;
    for (size_t i = 0; i < n; i++)
        if (s[i].v < m || isnan(m))
            m = s[i].v;
    return m;
}

double tg_promql_max_over_time(const struct tg_sample *s, size_t n)
{
    double m = s[0].v;
    for (size_t i = 0; i < n; i++)
        if (s[i].v > m || isnan(m))
            m = s[i].v;
    return m;
}

double tg_promql_stdvar_over_time(const struct tg_sample *s, size_t n)
{
    double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
    for (size_t i = 0; i < n; i++) {
        count++;
        double delta = s[i].v - (mean + cmean);
        tg_promql_kahan_inc(delta / count, &mean, &cmean);
        tg_promql_kahan_inc(delta * (s[i].v - (mean + cmean)), &aux, &caux);
    }
    return (aux + caux) / count;
}
