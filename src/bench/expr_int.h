/* SPDX-License-Identifier: MIT */
/* Conditions on a load test's results, shared by --threshold and the capacity search's
 * --slo: "p95<500ms", "p(99.9)<=1s", "max<2s", "mean<100ms", "errors<1%", "errors<=10",
 * "rps>=1000". A comma-separated list parses into several conditions; a threshold may add
 * "over DURATION" (judged over a sliding window, e.g. the last 30 s, instead of the whole
 * run) and "abort" (stop the run as soon as it fails). Latency bounds without a unit are
 * milliseconds (k6's convention). Pure: evaluation reads a struct tg_bench_view. */
#ifndef TG_BENCH_EXPR_INT_H
#define TG_BENCH_EXPR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "metrics/hist.h"

enum tg_bench_metric {
    TG_BENCH_M_PCT = 0, /* latency percentile `pct` */
    TG_BENCH_M_MIN,
    TG_BENCH_M_MAX,
    TG_BENCH_M_MEAN,
    TG_BENCH_M_ERRORS, /* count, or a percentage of requests when `percent` */
    TG_BENCH_M_RPS,
};

enum tg_bench_op { TG_BENCH_OP_LT = 0, TG_BENCH_OP_LE, TG_BENCH_OP_GT, TG_BENCH_OP_GE };

struct tg_bench_cond {
    enum tg_bench_metric metric;
    enum tg_bench_op op;
    double pct;        /* TG_BENCH_M_PCT: 0..100 */
    double bound;      /* latency in µs, errors as a count or percent, rps */
    bool percent;      /* TG_BENCH_M_ERRORS: bound is a percentage */
    int64_t window_us; /* 0: over the whole run */
    bool abort;
    char text[96]; /* the condition as written, trimmed, for reports */
};

/* What a condition is judged on: the latency histogram (corrected in open-model runs) and
 * counts over some span of time. */
struct tg_bench_view {
    const struct tg_hist *lat;
    uint64_t requests;
    uint64_t errors;
    int64_t elapsed_us;
};

#define TG_BENCH_WINDOW_MAX_US (INT64_C(600) * 1000000) /* longest sliding window, 10 min */

/* Parses a comma-separated list into out[*n..cap), appending. `allow_window` permits the
 * "over" and "abort" modifiers (thresholds, not SLOs). Returns 0 or TG_EPARSE with `eb`
 * naming the bad part. */
int tg_bench__parse_conds(const char *s, bool allow_window, struct tg_bench_cond *out, size_t cap,
                          size_t *n, struct tg_errbuf *eb);

/* The measured value a condition compares (µs for latency). */
double tg_bench__cond_value(const struct tg_bench_cond *c, const struct tg_bench_view *v);

/* True when `value` satisfies the condition. */
bool tg_bench__cond_holds(const struct tg_bench_cond *c, double value);

/* Renders a measured value with its unit ("12.3 ms", "0.50%", "3 errors", "4,200 rps"). */
size_t tg_bench__fmt_cond_value(const struct tg_bench_cond *c, double value, char *dst, size_t cap);

/* True for latency metrics (value in µs). */
bool tg_bench__cond_is_latency(const struct tg_bench_cond *c);

#endif
