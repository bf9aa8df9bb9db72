/* SPDX-License-Identifier: MIT */
/* Robust statistics for diagnose/: medians, MADs and the Mann-Whitney U test over
 * samples with gaps. Used by pattern.c and verify.c on series of at most a few thousand
 * points, so sorting (O(n log n)) is simpler than a selection algorithm and fast enough. */
#include "diagnose/pattern_stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tg_pattern__usable(double x)
{
    return isfinite(x) && x >= 0;
}

size_t tg_pattern__compact(const double *v, size_t n, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (tg_pattern__usable(v[i]))
            out[k++] = v[i];
    return k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tg_pattern__median_inplace(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    /* Halving each before adding keeps the mean of two huge values finite. */
    return n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

double tg_pattern__median(const double *v, size_t n, double *scratch)
{
    if (n == 0)
        return NAN;
    memcpy(scratch, v, n * sizeof *v);
    return tg_pattern__median_inplace(scratch, n);
}

double tg_pattern__mad(const double *v, size_t n, double center, double *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = fabs(v[i] - center);
    return tg_pattern__median_inplace(scratch, n);
}

static int cmp_ranked(const void *a, const void *b)
{
    double x = ((const struct tg_pattern__ranked *)a)->v;
    double y = ((const struct tg_pattern__ranked *)b)->v;
    return (x > y) - (x < y);
}

double tg_pattern__mw_greater(const double *a, size_t na, const double *b, size_t nb,
                              struct tg_pattern__ranked *scratch)
{
    if (na == 0 || nb == 0)
        return 1;
    size_t n = na + nb;
    for (size_t i = 0; i < na; i++)
        scratch[i] = (struct tg_pattern__ranked){a[i], 0};
    for (size_t i = 0; i < nb; i++)
        scratch[na + i] = (struct tg_pattern__ranked){b[i], 1};
    qsort(scratch, n, sizeof *scratch, cmp_ranked);
    /* Tied values share the mean of the ranks they span; Σ(t³ - t) over the tie groups
     * shrinks the variance of U accordingly. */
    double rank_b = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && scratch[j + 1].v == scratch[i].v)
            j++;
        double mid = (double)(i + j) / 2 + 1, t = (double)(j - i + 1);
        for (size_t k = i; k <= j; k++)
            if (scratch[k].group)
                rank_b += mid;
        ties += t * t * t - t;
        i = j + 1;
    }
    double n1 = (double)na, n2 = (double)nb, nn = (double)n;
    double u = rank_b - n2 * (n2 + 1) / 2;
    double var = n1 * n2 / 12 * ((nn + 1) - ties / (nn * (nn - 1)));
    if (!(var > 0))
        return 1;
    double z = (u - n1 * n2 / 2 - 0.5) / sqrt(var);
    return 0.5 * erfc(z / sqrt(2));
}
