/* SPDX-License-Identifier: MIT */
/* Quantiles: the quantile() aggregation and quantile_over_time over plain values, and
 * histogram_quantile over classic cumulative buckets with Prometheus's repairs (equal
 * bounds merged, counts forced monotonic) and edge rules (prometheus-compat.md §d.6). */
#include "promql/fn.h"

#include <math.h>
#include <stdlib.h>

/* NaN sorts below every number, as Prometheus's vectorByValueHeap orders them. */
static int cmp_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    if (isnan(a))
        return isnan(b) ? 0 : -1;
    if (isnan(b))
        return 1;
    return (a > b) - (a < b);
}

double tg_promql_quantile(double phi, double *v, size_t n)
{
    if (n == 0 || isnan(phi))
        return NAN;
    if (phi < 0)
        return -INFINITY;
    if (phi > 1)
        return INFINITY;
    qsort(v, n, sizeof *v, cmp_value);
    double nn = (double)n;
    double rank = phi * (nn - 1);
    double lo = fmax(0, floor(rank));
    double hi = fmin(nn - 1, lo + 1);
    double w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

static int cmp_bucket(const void *x, const void *y)
{
    double a = ((const struct tg_promql_bucket *)x)->upper;
    double b = ((const struct tg_promql_bucket *)y)->upper;
    return (a > b) - (a < b);
}

double tg_promql_bucket_quantile(double phi, struct tg_promql_bucket *b, size_t n)
{
    if (isnan(phi))
        return NAN;
    if (phi < 0)
        return -INFINITY;
    if (phi > 1)
        return INFINITY;
    if (n == 0)
        return NAN;
    qsort(b, n, sizeof *b, cmp_bucket);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    /* le="1" and le="1.0" are one bucket: sum their counts. */
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[k].upper)
            b[k].count += b[i].count;
        else
            b[++k] = b[i];
    }
    n = k + 1;
    /* Counts scraped at slightly different times can dip; use the running maximum. */
    double max = b[0].count;
    for (size_t i = 1; i < n; i++) {
        if (b[i].count > max)
            max = b[i].count;
        else if (b[i].count < max)
            b[i].count = max;
    }
    if (n < 2)
        return NAN;
    double total = b[n - 1].count;
    if (total == 0)
        return NAN;
    double rank = phi * total;
    size_t i = 0;
    while (i < n - 1 && !(b[i].count >= rank))
        i++;
    if (i == n - 1)
        return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}
