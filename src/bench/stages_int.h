/* SPDX-License-Identifier: MIT */
/* Load profiles: the offered load (a request rate in the open model, a number of
 * connections in the closed model) as a piecewise-linear function of time, k6-style
 * stages ("30s:100,1m:500,30s:0": ramp linearly to each target over each stage). A
 * constant load is one stage whose start and target are equal.
 *
 * The open model sends request k (0-based, over all threads) at the time t where the
 * integral of the rate from 0 to t reaches k: N(t) = ∫ r. Inside a stage the rate is
 * linear, so N is quadratic and its inverse is closed-form. Thread i of T sends requests
 * i, i+T, i+2T, ..., which spreads one global schedule evenly over the threads with no
 * rounding drift. Pure functions; time is microseconds since the start of the run. */
#ifndef TG_BENCH_STAGES_INT_H
#define TG_BENCH_STAGES_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define TG_BENCH_STAGES_MAX 64

struct tg_bench_stage {
    int64_t dur_us;
    double target;
};

struct tg_bench_profile {
    double start; /* value at t = 0 */
    uint32_t n;
    bool rate_suffix; /* a target was written with "rps" (parse result) */
    int64_t total_us; /* sum of the stage durations */
    struct tg_bench_stage s[TG_BENCH_STAGES_MAX];
};

/* Parses "DUR:TARGET[,DUR:TARGET...]" (targets >= 0, optional "rps" suffix; durations
 * > 0). `start` is left at 0. Returns 0 or TG_EPARSE with `eb` filled. */
int tg_bench__parse_stages(const char *s, struct tg_bench_profile *p, struct tg_errbuf *eb);

/* A constant profile: `value` for `dur_us`. */
void tg_bench__profile_constant(struct tg_bench_profile *p, double value, int64_t dur_us);

/* The value at `t_us` (the last target after the end, `start` before 0). */
double tg_bench__profile_at(const struct tg_bench_profile *p, int64_t t_us);

/* Largest value the profile reaches. */
double tg_bench__profile_max(const struct tg_bench_profile *p);

/* Open model: requests due in [0, t_us), i.e. N(t) (fractional). */
double tg_bench__profile_count(const struct tg_bench_profile *p, int64_t t_us);

/* Open model: a position in the schedule, kept by the caller between calls with
 * non-decreasing `k`, so each call is O(1) amortised. Start it with
 * tg_bench__cursor_init. */
struct tg_bench_cursor {
    uint32_t seg;  /* stage the last answer fell in */
    double before; /* requests due before that stage */
    double from;   /* rate at the start of that stage */
    int64_t t0_us; /* start time of that stage */
};

void tg_bench__cursor_init(const struct tg_bench_profile *p, struct tg_bench_cursor *c);

/* Open model: the time of request `k` (0-based), the smallest t with N(t) >= k; or
 * INT64_MAX when the profile ends first. */
int64_t tg_bench__profile_time_of(const struct tg_bench_profile *p, double k,
                                  struct tg_bench_cursor *c);

#endif
