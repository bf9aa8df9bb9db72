/* SPDX-License-Identifier: MIT */
/* PromQL's functions as pure computations over plain numbers and sample arrays, with
 * Prometheus 2.42's exact arithmetic (prometheus-compat.md §d.5-§d.7): the evaluator
 * (eval_call.c) picks the inputs out of vectors and matrices and calls these. A function
 * that can produce "no output" for a series returns false and leaves `*out` alone.
 * Sample arrays are ascending in time and hold no stale markers. */
#ifndef TG_PROMQL_FN_H
#define TG_PROMQL_FN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/query.h"

/* Neumaier-compensated summation step (Prometheus's kahanSumInc). */
void tg_promql_kahan_inc(double inc, double *sum, double *c);

/* rate (counter, per second), increase (counter) and delta (gauge) over the window
 * [`range_start`, `range_end`] of `range_ms`: needs 2 samples. `may_drop` false says the
 * caller knows no value is below its predecessor: the scan for counter resets, which
 * would add nothing, is skipped (a range query asks this of every window at every step,
 * and the windows overlap). */
bool tg_promql_extrapolated_rate(const struct tg_sample *s, size_t n, int64_t range_start,
                                 int64_t range_end, int64_t range_ms, bool counter, bool rate,
                                 bool may_drop, double *out);
/* irate (`rate`) and idelta: the last two samples. */
bool tg_promql_instant_value(const struct tg_sample *s, size_t n, bool rate, double *out);
double tg_promql_resets(const struct tg_sample *s, size_t n);
double tg_promql_changes(const struct tg_sample *s, size_t n);
/* Least squares slope (per second) and the intercept at `at_ms`; 2+ samples. */
void tg_promql_linreg(const struct tg_sample *s, size_t n, int64_t at_ms, double *slope,
                      double *intercept);
/* Double exponential smoothing; `sf` and `tf` must be in (0, 1) (checked by the caller). */
bool tg_promql_holt_winters(const struct tg_sample *s, size_t n, double sf, double tf,
                            double *out);

double tg_promql_avg_over_time(const struct tg_sample *s, size_t n);
double tg_promql_sum_over_time(const struct tg_sample *s, size_t n);
double tg_promql_min_over_time(const struct tg_sample *s, size_t n);
double tg_promql_max_over_time(const struct tg_sample *s, size_t n);
/* Population variance (Welford with compensation); stddev is its square root. */
double tg_promql_stdvar_over_time(const struct tg_sample *s, size_t n);

/* The φ-quantile of `v` by linear interpolation (sorts `v`, NaN first): NaN for no
 * values or NaN φ, -Inf below 0, +Inf above 1. */
double tg_promql_quantile(double phi, double *v, size_t n);

struct tg_promql_bucket {
    double upper; /* the le bound */
    double count; /* cumulative */
};

/* histogram_quantile over one group's classic buckets (§d.6): sorts and merges `b` in
 * place. */
double tg_promql_bucket_quantile(double phi, struct tg_promql_bucket *b, size_t n);

/* Elementwise math by name ("abs", "ceil", ..., "sgn", trig, "deg", "rad"); NULL when
 * `name` is not one of them. */
typedef double tg_promql_math_fn(double v);
tg_promql_math_fn *tg_promql_math_lookup(const char *name);

/* Calendar functions of a Unix time in seconds, in UTC, by name ("minute", "hour",
 * "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year"); NULL
 * when `name` is not one of them. */
tg_promql_math_fn *tg_promql_date_lookup(const char *name);

#endif
