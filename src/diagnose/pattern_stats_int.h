/* SPDX-License-Identifier: MIT */
/* Robust statistics shared inside diagnose/ by the pattern classifier (pattern.c) and the
 * mitigation verifier (verify.c), and by the diagnosis and the playbooks for their
 * baselines and medians: the usable samples of a series with gaps, medians and
 * median absolute deviations (which a single wild sample cannot move, unlike a mean and a
 * standard deviation), and the Mann-Whitney rank test (which assumes no distribution,
 * only that samples are independent; latency samples are skewed and far from normal).
 * Pure functions: no clock, no I/O, no allocation; callers pass the scratch they need. */
#ifndef TG_DIAGNOSE_PATTERN_STATS_INT_H
#define TG_DIAGNOSE_PATTERN_STATS_INT_H

#include <stddef.h>

/* MAD × this estimates a standard deviation for normal noise (1 / Φ⁻¹(3/4)). */
#define TG_PATTERN_MAD_SIGMA 1.4826

/* True when `x` is a sample: finite and not negative. Latencies and error ratios are
 * never negative, so a negative value is as much "no data" as NaN is. */
int tg_pattern__usable(double x);

/* Copies the usable samples of `v[0..n)` into `out` (room for `n`), in order; returns
 * how many. */
size_t tg_pattern__compact(const double *v, size_t n, double *out);

/* Median of `v[0..n)`, which it sorts in place; NaN when `n` is 0. O(n log n). */
double tg_pattern__median_inplace(double *v, size_t n);

/* Median of `v[0..n)` without touching it (copies into `scratch`, room for `n`). */
double tg_pattern__median(const double *v, size_t n, double *scratch);

/* Median absolute deviation of `v[0..n)` from `center`; `scratch` has room for `n`.
 * NaN when `n` is 0. */
double tg_pattern__mad(const double *v, size_t n, double center, double *scratch);

/* One element of the Mann-Whitney scratch array. */
struct tg_pattern__ranked {
    double v;
    int group; /* 0: first sample, 1: second */
};

/* Mann-Whitney U test: the one-sided p-value that the values of `b` tend to be larger
 * than those of `a` (normal approximation with the tie correction and a continuity
 * correction; close enough to the exact test from about 5 samples a side, and the
 * caller requires at least that many). `scratch` has room for `na + nb`. Returns 1 when
 * either side is empty or every value is tied (no evidence either way). The p-value
 * that `b` is smaller is the same call with `a` and `b` swapped. */
double tg_pattern__mw_greater(const double *a, size_t na, const double *b, size_t nb,
                              struct tg_pattern__ranked *scratch);

#endif
