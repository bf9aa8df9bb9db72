/* SPDX-License-Identifier: MIT */
/* The degradation pattern of one latency series (the diagnosis's "pattern" and "onset",
 * seed-inventory §d.2): sudden, gradual, periodic or none. Pure: the caller passes the
 * series (one value per step, NaN for a step without data) and the time of its first
 * point; nothing here reads a clock, allocates beyond one scratch block, or logs.
 *
 * Values are milliseconds (the evidence says "ms"); the p95 of the affected endpoints,
 * computed from histogram buckets over a rate window, never a raw per-second p95.
 * Negative and infinite values count as gaps like NaN.
 *
 * The three tests, each with its parameters in struct tg_pattern_params:
 * - sudden: a level shift against a robust baseline. For each point, the median `b` and
 *   the MAD of the `baseline_points` usable points before it give a threshold: a point
 *   is "up" when it is >= `sudden_factor` × b, or > b + `sudden_z` × σ (σ = 1.4826 ×
 *   MAD). The shift starts at the first point after which `sudden_run` points in a row
 *   are up against that frozen baseline, and the points just before it are still near
 *   the baseline (the median of the three before carries at most `sudden_pre_share` of
 *   the shift to the median of the run): a ramp climbs through the threshold too, but
 *   its last points before the crossing are already part-way up, while a step's are
 *   not. So a ramp steeper than about a sixth of the level per step counts as sudden.
 *   Several shifts in the lookback (a spike that recovered, then another) report the
 *   last one as the onset.
 * - gradual: a CUSUM of (x - b) / σ - `cusum_k` over the points after a baseline taken
 *   from the first quarter of the series; it alarms above `cusum_h`, and the onset is
 *   where that run of accumulation began. A CUSUM also alarms on a step, so two more
 *   conditions make it a ramp: the current level (median of the last tenth) is at least
 *   (1 + `gradual_rise`) × b, and the rise is spread out: on the series smoothed by a
 *   running median of three, from the onset on, no single step carries
 *   `gradual_max_share` or more of the rise (a step does, even inside noise).
 * - periodic: an episode starts at a point up against the series' calm level (the
 *   median and MAD of its lower half, with the same threshold rule as sudden), ends
 *   when the series is back under half-way to the threshold (hysteresis: a ramp or a
 *   noisy plateau crossing the threshold back and forth is one episode), and counts
 *   when it has at least `episode_points` up points (one already under way at the
 *   lookback's first point does not: it began earlier, at an unknown point). The series
 *   is periodic when it
 *   has `periodic_episodes` or more episodes and every distance between consecutive
 *   episode starts is within max(1 step, `periodic_tolerance` × the median distance)
 *   of that median, which is the period. One long episode, or two, is not periodic;
 *   nor are bursts with one missing (a distance of two periods): a known limit.
 *
 * In all three, σ is at least `sigma_floor` × b and at least `abs_floor_ms`: a flat,
 * noiseless baseline has a MAD of 0, and a shift of a few per cent of the level (or of a
 * fraction of a millisecond) is not a degradation the runbooks act on. With the defaults
 * a point must be 1.5 × the baseline or more to count as up.
 *
 * Precedence: periodic, then sudden, then gradual. Every burst of a periodic series is a
 * sudden shift, so sudden first would never let periodic win; a recurring burst is better
 * explained by what recurs (a scheduled job, §d.2's cause for periodic) than by a recent
 * change. A single step, a single burst or two bursts are not periodic and stay sudden.
 * Sudden precedes gradual because a step also drives a CUSUM past its threshold, and the
 * spread condition alone could be fooled by a step spread over a few points by a rate
 * window. (seed-inventory orders sudden > periodic > gradual, but tests periodic by the
 * phase of the onset against earlier periods, not by recurrence within the lookback.)
 *
 * Cost: O(n × baseline_points × log baseline_points) for sudden, O(n log n) otherwise. */
#ifndef TG_DIAGNOSE_PATTERN_H
#define TG_DIAGNOSE_PATTERN_H

#include <stddef.h>
#include <stdint.h>

enum tg_pattern_kind {
    TG_PATTERN_NONE = 0,
    TG_PATTERN_SUDDEN,
    TG_PATTERN_GRADUAL,
    TG_PATTERN_PERIODIC,
};

struct tg_pattern_params {
    int min_points;            /* fewer usable points: none, "too few points". 10 */
    int baseline_points;       /* sudden: the preceding window (§d.2: 15 steps of 1m). 15 */
    int baseline_min_points;   /* sudden: no test before this many points. 5 */
    double sudden_factor;      /* K: up when >= K × baseline (§d.2). 2 */
    double sudden_z;           /* or when > baseline + z × σ. 5 */
    int sudden_run;            /* m: up for this many points in a row. 3 */
    double sudden_pre_share;   /* the points before may carry this share of it. 0.25 */
    double sigma_floor;        /* σ >= this × the baseline. 0.1 */
    double abs_floor_ms;       /* σ >= this. 1 ms */
    double cusum_k;            /* gradual: reference, in σ (respond.md: ≈ 0.5). 0.5 */
    double cusum_h;            /* gradual: decision interval, in σ (4 to 5). 5 */
    double gradual_rise;       /* gradual: current >= (1 + this) × baseline (§d.2). 0.5 */
    double gradual_max_share;  /* gradual: no single step carries this much of it. 0.5 */
    int episode_points;        /* periodic: an episode lasts at least this many points. 2 */
    int periodic_episodes;     /* periodic: at least this many episodes (the issue). 3 */
    double periodic_tolerance; /* periodic: distances within this × the period. 0.15 */
};

/* Fills `p` with the defaults written beside each field. */
void tg_pattern_params_default(struct tg_pattern_params *p);

#define TG_PATTERN_EVIDENCE 192

struct tg_pattern {
    enum tg_pattern_kind kind;
    long onset_index;   /* index into the series; -1 when kind is none */
    int64_t onset_ms;   /* t0_ms + onset_index × step_ms; 0 when kind is none */
    int64_t period_ms;  /* periodic: the median distance between episode starts; else 0 */
    int64_t phase_ms;   /* periodic: onset_ms modulo period_ms (in t0_ms's time base) */
    int episodes;       /* periodic: episodes; sudden: shifts found; gradual: 1; none: 0 */
    double baseline_ms; /* the level before the onset (none: the series' calm level) */
    double degraded_ms; /* the level after the onset (median of the episode or the rise) */
    double current_ms;  /* the median of the last few usable points; NaN without data */
    char evidence[TG_PATTERN_EVIDENCE]; /* one sentence; for none, the reason */
};

/* Classifies `v[0..n)`, the point i being at `t0_ms + i × step_ms`. `p` may be NULL for
 * the defaults. Fills `out` and returns 0, -EINVAL for a NULL `out`, a NULL `v` with n >
 * 0, `step_ms` <= 0, or times that could overflow (|t0_ms| or n × step_ms beyond a
 * quarter of INT64_MAX), or -ENOMEM when its scratch block (4 words a point) cannot be
 * allocated. Too few usable points, a constant series, zeros or a step down give
 * TG_PATTERN_NONE with the reason in `evidence`. */
int tg_pattern_classify(const double *v, size_t n, int64_t t0_ms, int64_t step_ms,
                        const struct tg_pattern_params *p, struct tg_pattern *out);

/* "none", "sudden", "gradual", "periodic" (the diagnosis's JSON values). */
const char *tg_pattern_name(enum tg_pattern_kind kind);

#endif
