/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/pattern.{h,c}: synthetic p95 series with deterministic
 * pseudo-random noise, each shape over many seeds: a step up (sudden, onset within one
 * step), a ramp (gradual, onset within six steps of where it starts), bursts every 20, 30
 * and 45 points with different duty (periodic, the period exact, the onset the last
 * burst), a single burst and two bursts (sudden, not periodic), noise only, a step down,
 * NaN gaps, too few points, constant, zeros and huge values; then random series of every
 * kind, which must never crash or read out of bounds (the suite runs this under ASan). */
#include "diagnose/pattern.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

#define STEP_MS 5000
#define T0_MS 1764520800000 /* 2025-11-30T16:40:00Z */
#define SEEDS 40

static uint64_t rng;

static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* About normal, mean 0, standard deviation 1 (Irwin-Hall with 12 terms). */
static double gauss(void)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += uniform();
    return s - 6;
}

static void seed(unsigned s)
{
    rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)s * 0xD1B54A32D192ED03ull);
    if (!rng)
        rng = 1;
}

/* Multiplies every point by (1 + rel × noise), never below zero. */
static void add_noise(double *v, size_t n, double rel)
{
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[i] = fmax(0, v[i] * (1 + rel * gauss()));
}

static void fill(double *v, size_t n, double level)
{
    for (size_t i = 0; i < n; i++)
        v[i] = level;
}

static struct tg_pattern classify(const double *v, size_t n)
{
    struct tg_pattern out;
    TG_EXPECT_EQ(tg_pattern_classify(v, n, T0_MS, STEP_MS, NULL, &out), 0);
    return out;
}

static void expect_onset(const struct tg_pattern *r, long lo, long hi)
{
    TG_EXPECT_GE(r->onset_index, lo);
    TG_EXPECT_LE(r->onset_index, hi);
    TG_EXPECT_EQ(r->onset_ms, T0_MS + (int64_t)r->onset_index * STEP_MS);
}

static void test_step_up(void)
{
    double v[60];
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        fill(v, 40, 42);
        fill(v + 40, 20, 850);
        add_noise(v, 60, s % 2 ? 0.05 : 0.15);
        struct tg_pattern r = classify(v, 60);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
        expect_onset(&r, 40, 40);
        TG_EXPECT_EQ(r.episodes, 1);
        TG_EXPECT(fabs(r.baseline_ms - 42) < 42 * 0.15); /* a median of 15 noisy points */
        TG_EXPECT(fabs(r.degraded_ms - 850) < 850 * 0.15);
        TG_EXPECT(fabs(r.current_ms - 850) < 850 * 0.2);
    }
    /* The evidence names the levels and the time. */
    seed(1);
    fill(v, 40, 42);
    fill(v + 40, 20, 850);
    struct tg_pattern r = classify(v, 60);
    TG_EXPECT_STREQ(r.evidence, "p95 rose from 42 ms to 850 ms at 2025-11-30T16:43:20.000Z");
    TG_EXPECT_STREQ(tg_pattern_name(r.kind), "sudden");
}

static void ramp(double *v, size_t n, size_t from, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = i < from ? lo : lo + (hi - lo) * (double)(i - from) / (double)(n - 1 - from);
}

static void test_ramp(void)
{
    double v[60];
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        /* Flat for 20 points, then a rise to five times the level, or to 1.8 times. */
        ramp(v, 60, 20, 100, s % 2 ? 500 : 180);
        add_noise(v, 60, 0.05);
        struct tg_pattern r = classify(v, 60);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_GRADUAL);
        /* The first points of a ramp are inside the noise, and a CUSUM run may start
         * on noise just before it: within five points before and eight after. */
        expect_onset(&r, 15, 28);
        TG_EXPECT(fabs(r.baseline_ms - 100) < 10);
        TG_EXPECT_STREQ(tg_pattern_name(r.kind), "gradual");
    }
    /* A rise over the whole lookback (the onset is then the end of the baseline, the
     * first quarter), and a quick one over ten points then a plateau. */
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        ramp(v, 60, 0, 100, 400);
        add_noise(v, 60, 0.05);
        struct tg_pattern whole = classify(v, 60);
        TG_EXPECT_EQ(whole.kind, TG_PATTERN_GRADUAL);
        expect_onset(&whole, 15, 17);
        ramp(v, 30, 20, 100, 200);
        fill(v + 30, 30, 200);
        add_noise(v, 60, 0.03);
        struct tg_pattern r = classify(v, 60);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_GRADUAL);
        expect_onset(&r, 15, 28);
    }
    /* A rise under 50 % is not a degradation. */
    seed(3);
    ramp(v, 60, 20, 100, 130);
    add_noise(v, 60, 0.03);
    TG_EXPECT_EQ(classify(v, 60).kind, TG_PATTERN_NONE);
}

/* Bursts of `len` points at `hi` every `period` points from `first` on. */
static void bursts(double *v, size_t n, size_t first, size_t period, size_t len, double hi)
{
    fill(v, n, 40);
    for (size_t i = first; i < n; i++)
        if ((i - first) % period < len)
            v[i] = hi;
}

static void test_periodic(void)
{
    static const size_t shape[][2] = {{20, 3}, {20, 8}, {30, 5}, {30, 12}, {45, 4}, {45, 20}};
    double v[150];
    for (size_t k = 0; k < sizeof shape / sizeof shape[0]; k++) {
        size_t period = shape[k][0], len = shape[k][1];
        for (unsigned s = 0; s < SEEDS; s++) {
            seed(s);
            bursts(v, 150, 7, period, len, 400);
            add_noise(v, 150, 0.08);
            struct tg_pattern r = classify(v, 150);
            TG_EXPECT_EQ(r.kind, TG_PATTERN_PERIODIC);
            TG_EXPECT_EQ(r.period_ms, (int64_t)period * STEP_MS);
            size_t last = 7 + (150 - 1 - 7) / period * period;
            size_t count = (150 - 1 - 7) / period + 1;
            if (150 - last < 2) { /* a last burst of one point is too short to count */
                last -= period;
                count--;
            }
            TG_EXPECT_EQ(r.episodes, count);
            expect_onset(&r, (long)last, (long)last);
            TG_EXPECT_EQ(r.phase_ms, r.onset_ms % r.period_ms);
            TG_EXPECT(fabs(r.baseline_ms - 40) < 6);
            TG_EXPECT(fabs(r.degraded_ms - 400) < 60);
        }
    }
    /* Precedence: the same bursts are sudden steps too, which wins once periodic is
     * out of the way (say, 100 episodes needed). */
    seed(2);
    bursts(v, 150, 7, 30, 5, 400);
    add_noise(v, 150, 0.08);
    struct tg_pattern_params p;
    tg_pattern_params_default(&p);
    p.periodic_episodes = 100;
    struct tg_pattern r;
    TG_EXPECT_EQ(tg_pattern_classify(v, 150, T0_MS, STEP_MS, &p, &r), 0);
    TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
    TG_EXPECT_EQ(r.episodes, 5);
    TG_EXPECT_STREQ(classify(v, 150).evidence,
                    "p95 rose from 38 ms to 362 ms in 5 episodes, every 150 s, "
                    "the last at 2025-11-30T16:50:35.000Z");
    /* A lookback that begins inside a burst: that burst's start is unknown (the first
     * point is already up), so it neither counts nor makes a short first distance. Bursts
     * of 6 every 15 points from -4 (seen: 2 points at the edge, then 11, 26, 41, 56). */
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        fill(v, 61, 40);
        for (size_t i = 0; i < 61; i++)
            if ((i + 4) % 15 < 6)
                v[i] = 640;
        add_noise(v, 61, 0.08);
        struct tg_pattern c = classify(v, 61);
        TG_EXPECT_EQ(c.kind, TG_PATTERN_PERIODIC);
        TG_EXPECT_EQ(c.period_ms, 15 * STEP_MS);
        TG_EXPECT_EQ(c.episodes, 4);
        expect_onset(&c, 56, 56);
    }
    /* Irregular bursts (distances 20, 35, 20) are not periodic. */
    fill(v, 150, 40);
    for (size_t i = 0; i < 4; i++)
        v[10 + i] = v[30 + i] = v[65 + i] = v[85 + i] = 400;
    TG_EXPECT_EQ(classify(v, 150).kind, TG_PATTERN_SUDDEN);
}

static void test_one_and_two_bursts(void)
{
    double v[90];
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        bursts(v, 90, 30, 1000, 6, 600); /* one burst */
        add_noise(v, 90, 0.08);
        struct tg_pattern r = classify(v, 90);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
        expect_onset(&r, 30, 30);
        TG_EXPECT_EQ(r.episodes, 1);
        bursts(v, 90, 20, 40, 6, 600); /* two, at 20 and 60 */
        add_noise(v, 90, 0.08);
        r = classify(v, 90);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
        expect_onset(&r, 60, 60);
        TG_EXPECT_EQ(r.episodes, 2);
    }
}

static void test_none(void)
{
    double v[120];
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        fill(v, 120, 42);
        add_noise(v, 120, s % 2 ? 0.05 : 0.12);
        struct tg_pattern r = classify(v, 120);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_NONE);
        TG_EXPECT_EQ(r.onset_index, -1);
        TG_EXPECT_EQ(r.episodes, 0);
        /* A step down is a recovery, not a degradation. */
        fill(v, 60, 850);
        fill(v + 60, 60, 42);
        add_noise(v, 120, 0.05);
        TG_EXPECT_EQ(classify(v, 120).kind, TG_PATTERN_NONE);
    }
    fill(v, 120, 42);
    struct tg_pattern r = classify(v, 120);
    TG_EXPECT_EQ(r.kind, TG_PATTERN_NONE);
    TG_EXPECT_STREQ(r.evidence, "no shift, ramp or recurring burst: p95 around 42 ms, now 42 ms");
    TG_EXPECT_STREQ(tg_pattern_name(r.kind), "none");
}

static void test_gaps(void)
{
    double v[90];
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        fill(v, 50, 42);
        fill(v + 50, 40, 850);
        add_noise(v, 90, 0.05);
        for (size_t i = 0; i < 90; i += 4)
            v[i] = NAN;
        for (size_t i = 20; i < 25; i++)
            v[i] = NAN;
        v[51] = -1; /* no data, as NaN */
        struct tg_pattern r = classify(v, 90);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
        expect_onset(&r, 50, 50);
        /* The onset is a point with data: 53 when 50 is a gap (51 and 52 are gaps). */
        v[50] = NAN;
        r = classify(v, 90);
        expect_onset(&r, 53, 53);
        /* Bursts every 30 points with every fifth point missing stay periodic. */
        bursts(v, 90, 5, 30, 6, 400);
        add_noise(v, 90, 0.05);
        for (size_t i = 3; i < 90; i += 5)
            v[i] = NAN;
        r = classify(v, 90);
        TG_EXPECT_EQ(r.kind, TG_PATTERN_PERIODIC);
        TG_EXPECT_EQ(r.period_ms, 30 * STEP_MS);
        /* The start of a burst missing moves that episode's start by one point. */
        TG_EXPECT_EQ(r.episodes, 3);
    }
}

static void test_edges(void)
{
    double v[64];
    struct tg_pattern r;
    fill(v, 3, 900);
    r = classify(v, 3);
    TG_EXPECT_EQ(r.kind, TG_PATTERN_NONE);
    TG_EXPECT_STREQ(r.evidence, "too few points: 3 usable of 10 needed");
    r = classify(v, 0);
    TG_EXPECT_EQ(r.kind, TG_PATTERN_NONE);
    TG_EXPECT_STREQ(r.evidence, "no data");
    for (size_t i = 0; i < 64; i++)
        v[i] = i % 8 ? NAN : 100;
    r = classify(v, 64);
    TG_EXPECT_STREQ(r.evidence, "too few points: 8 usable of 10 needed");
    TG_EXPECT(isnan(r.current_ms));
    /* Zeros are calm; zeros then 800 ms is a shift; a millisecond of jitter is not. */
    fill(v, 64, 0);
    TG_EXPECT_EQ(classify(v, 64).kind, TG_PATTERN_NONE);
    fill(v + 40, 24, 800);
    r = classify(v, 64);
    TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
    expect_onset(&r, 40, 40);
    for (size_t i = 0; i < 64; i++)
        v[i] = (double)(i % 2);
    TG_EXPECT_EQ(classify(v, 64).kind, TG_PATTERN_NONE);
    /* Huge values: constant, then a step up by a factor of 100. */
    fill(v, 64, 1e300);
    TG_EXPECT_EQ(classify(v, 64).kind, TG_PATTERN_NONE);
    fill(v + 40, 24, 1e302);
    r = classify(v, 64);
    TG_EXPECT_EQ(r.kind, TG_PATTERN_SUDDEN);
    expect_onset(&r, 40, 40);
    TG_EXPECT_STREQ(r.evidence, "p95 rose from 1e+300 ms to 1e+302 ms at "
                                "2025-11-30T16:43:20.000Z");
    fill(v, 64, 1.7e308);
    fill(v + 40, 24, INFINITY);
    TG_EXPECT_EQ(classify(v, 64).kind, TG_PATTERN_NONE);
    /* Bad arguments. */
    TG_EXPECT_EQ(tg_pattern_classify(v, 64, 0, 0, NULL, &r), -EINVAL);
    TG_EXPECT_EQ(tg_pattern_classify(NULL, 64, 0, 1000, NULL, &r), -EINVAL);
    TG_EXPECT_EQ(tg_pattern_classify(v, 64, 0, 1000, NULL, NULL), -EINVAL);
    TG_EXPECT_EQ(tg_pattern_classify(v, 64, 0, INT64_MAX / 8, NULL, &r), -EINVAL);
    TG_EXPECT_EQ(tg_pattern_classify(NULL, 0, 0, 1000, NULL, &r), 0);
}

/* One random value: mostly a noisy level, sometimes a gap, zero, negative, infinite or
 * huge. */
static double wild(double level)
{
    double u = uniform();
    if (u < 0.05)
        return NAN;
    if (u < 0.07)
        return 0;
    if (u < 0.08)
        return -level;
    if (u < 0.085)
        return INFINITY;
    if (u < 0.09)
        return 1e308 * uniform();
    return level * (1 + 0.3 * gauss());
}

static void check_result(const double *v, size_t n, const struct tg_pattern *r)
{
    TG_EXPECT(r->kind >= TG_PATTERN_NONE && r->kind <= TG_PATTERN_PERIODIC);
    TG_EXPECT_LT(strlen(r->evidence), sizeof r->evidence);
    if (r->kind == TG_PATTERN_NONE) {
        TG_EXPECT_EQ(r->onset_index, -1);
        return;
    }
    TG_EXPECT(r->onset_index >= 0 && (size_t)r->onset_index < n);
    if (r->onset_index >= 0 && (size_t)r->onset_index < n)
        TG_EXPECT(isfinite(v[r->onset_index]) && v[r->onset_index] >= 0);
    if (r->kind == TG_PATTERN_PERIODIC) {
        TG_EXPECT_GT(r->period_ms, 0);
        TG_EXPECT_GE(r->episodes, 3);
        TG_EXPECT(r->phase_ms >= 0 && r->phase_ms < r->period_ms);
    }
}

static void test_random(void)
{
    enum { MAX = 400 };
    double *v = malloc(MAX * sizeof *v);
    struct tg_pattern_params p;
    for (unsigned s = 0; s < 3000; s++) {
        seed(1000 + s);
        size_t n = (size_t)(uniform() * MAX);
        double level = uniform() < 0.1 ? 1e300 : 1 + 1000 * uniform();
        int shape = (int)(uniform() * 4);
        size_t cut = n ? (size_t)(uniform() * (double)n) : 0, period = 2 + (size_t)(uniform() * 40);
        for (size_t i = 0; i < n; i++) {
            double l = level;
            if (shape == 1 && i >= cut)
                l *= 5;
            else if (shape == 2)
                l *= 1 + 4 * (double)i / (double)n;
            else if (shape == 3 && i % period < period / 2)
                l *= 8;
            v[i] = wild(l);
        }
        /* Odd parameters too: zero and negative counts, a factor below one. */
        tg_pattern_params_default(&p);
        if (s % 7 == 0) {
            p.min_points = 0;
            p.baseline_points = 0;
            p.baseline_min_points = -3;
            p.sudden_run = 0;
            p.episode_points = 0;
            p.periodic_episodes = 0;
            p.sudden_factor = 0.5;
        } else if (s % 7 == 1) {
            /* A threshold below the baseline, no floors, a CUSUM that always alarms. */
            p.sudden_z = -1;
            p.sigma_floor = -1;
            p.abs_floor_ms = 0;
            p.cusum_h = -1;
            p.cusum_k = NAN;
            p.periodic_tolerance = -1;
        }
        struct tg_pattern r;
        int64_t t0 = (int64_t)(uniform() * 4e12) - (int64_t)2e12;
        TG_EXPECT_EQ(tg_pattern_classify(v, n, t0, 1 + (int64_t)(uniform() * 60000), &p, &r), 0);
        check_result(v, n, &r);
    }
    free(v);
}

int main(void)
{
    test_step_up();
    test_ramp();
    test_periodic();
    test_one_and_two_bursts();
    test_none();
    test_gaps();
    test_edges();
    test_random();
    return tg_test_report("pattern");
}
