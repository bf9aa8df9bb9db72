/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/verify.{h,c}: synthetic p95 and error-ratio samples with
 * deterministic noise, over many seeds: a clear improvement (helped), a small one into
 * the target (helped), no change (provisional, then no_effect at the deadline), a rise
 * of p95 or of errors (worse, at the first look), no data and too few samples
 * (inconclusive, never a pass), a control that moved as much (inconclusive) or stayed
 * flat (helped), the settle samples; then random inputs, which must never crash or read
 * out of bounds (the suite runs this under ASan). */
#include "diagnose/verify.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

#define SEEDS 40
#define N 12

static uint64_t rng;

static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

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
}

/* n samples around `level` with relative noise `rel`. */
static void noisy(double *v, size_t n, double level, double rel)
{
    for (size_t i = 0; i < n; i++)
        v[i] = fmax(0, level * (1 + rel * gauss()));
}

struct case_ {
    double pb[N], pa[N], eb[N], ea[N], cb[N], ca[N];
    struct tg_verify_input in;
};

/* p95 and error ratio before and after, no control, target 500 ms and 1 %. */
static void setup(struct case_ *c, double p95_b, double p95_a, double err_b, double err_a)
{
    noisy(c->pb, N, p95_b, 0.08);
    noisy(c->pa, N, p95_a, 0.08);
    noisy(c->eb, N, err_b, 0.3);
    noisy(c->ea, N, err_a, 0.3);
    c->in = (struct tg_verify_input){
        .p95_before = {c->pb, N},
        .p95_after = {c->pa, N},
        .errors_before = {c->eb, N},
        .errors_after = {c->ea, N},
        .target_p95_ms = 500,
        .target_error_ratio = 0.01,
    };
}

static struct tg_verify_result judge(const struct case_ *c, int look)
{
    struct tg_verify_result r;
    TG_EXPECT_EQ(tg_verify_judge(NULL, &c->in, look, &r), 0);
    TG_EXPECT_LT(strlen(r.reason), sizeof r.reason);
    return r;
}

static void test_helped(void)
{
    struct case_ c;
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        setup(&c, 850, 120, 0.002, 0.002);
        struct tg_verify_result r = judge(&c, 1);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_HELPED);
        TG_EXPECT(r.final);
        TG_EXPECT(fabs(r.p95_before_ms - 850) < 85 && fabs(r.p95_after_ms - 120) < 12);
        TG_EXPECT(r.p_value < 0.01);
        /* A smaller move than min_change, but from above the target to within it. */
        setup(&c, 540, 470, 0.002, 0.002);
        for (size_t i = 0; i < N; i++) { /* little noise, so the medians stay each side */
            c.pb[i] = 540 + 10 * gauss();
            c.pa[i] = 470 + 10 * gauss();
        }
        TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_HELPED);
        /* Errors down from 20 % to 0.2 % with p95 unchanged. */
        setup(&c, 300, 300, 0.2, 0.002);
        r = judge(&c, 1);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_HELPED);
        TG_EXPECT(strncmp(r.reason, "error ratio", 11) == 0);
    }
    seed(1);
    setup(&c, 850, 120, 0.002, 0.002);
    for (size_t i = 0; i < N; i++) {
        c.pb[i] = 850 + (double)(i % 3);
        c.pa[i] = 120 + (double)(i % 3);
    }
    struct tg_verify_result r = judge(&c, 1);
    TG_EXPECT_STREQ(r.reason, "p95 851 ms -> 121 ms, target 500 ms (p=1.4e-05)");
    TG_EXPECT_STREQ(tg_verdict_name(r.verdict), "helped");
}

static void test_no_effect(void)
{
    struct case_ c;
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        setup(&c, 850, 850, 0.002, 0.002);
        /* Before the deadline: provisional; at it (or after it): no_effect, final. */
        for (int look = 1; look < 5; look++) {
            struct tg_verify_result r = judge(&c, look);
            TG_EXPECT_EQ(r.verdict, TG_VERDICT_INCONCLUSIVE);
            TG_EXPECT(!r.final);
        }
        struct tg_verify_result r = judge(&c, 5);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_NO_EFFECT);
        TG_EXPECT(r.final);
        TG_EXPECT(strstr(r.reason, "no significant change") != NULL);
        TG_EXPECT_EQ(judge(&c, 9).verdict, TG_VERDICT_NO_EFFECT);
        /* A significant but small move (5 %) matters no more than none. */
        for (size_t i = 0; i < N; i++) {
            c.pb[i] = 850 + (double)i;
            c.pa[i] = 800 + (double)i;
        }
        TG_EXPECT_EQ(judge(&c, 5).verdict, TG_VERDICT_NO_EFFECT);
    }
    TG_EXPECT_STREQ(tg_verdict_name(TG_VERDICT_NO_EFFECT), "no_effect");
}

static void test_worse(void)
{
    struct case_ c;
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        setup(&c, 120, 850, 0.002, 0.002);
        struct tg_verify_result r = judge(&c, 1);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_WORSE);
        TG_EXPECT(r.final);
        TG_EXPECT(strncmp(r.reason, "p95 ", 4) == 0);
        /* Errors up from 0.2 % to 15 %, even while p95 improved: worse. */
        setup(&c, 850, 120, 0.002, 0.15);
        r = judge(&c, 1);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_WORSE);
        TG_EXPECT(strncmp(r.reason, "error ratio", 11) == 0);
        /* Sparse errors, their median 0 both sides: the mean still sees the rise. */
        setup(&c, 300, 300, 0, 0);
        for (size_t i = 0; i < N; i++)
            c.ea[i] = i % 2 ? 0 : 0.3;
        TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_WORSE);
    }
    seed(2);
    setup(&c, 300, 300, 0.002, 0.002);
    for (size_t i = 0; i < N; i++) {
        c.eb[i] = 0.001;
        c.ea[i] = 0.2;
    }
    TG_EXPECT_STREQ(judge(&c, 1).reason, "error ratio 0.10% -> 20.00%, target 1.00% (p=9.6e-07)");
    TG_EXPECT_STREQ(tg_verdict_name(TG_VERDICT_WORSE), "worse");
}

static void test_no_data(void)
{
    struct case_ c;
    seed(3);
    setup(&c, 850, 120, 0.002, 0.002);
    for (size_t i = 0; i < N; i++)
        c.pa[i] = c.ea[i] = NAN;
    for (int look = 1; look <= 5; look++) {
        struct tg_verify_result r = judge(&c, look);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_INCONCLUSIVE);
        TG_EXPECT_EQ(r.final, look == 5);
        TG_EXPECT(isnan(r.p95_after_ms));
    }
    TG_EXPECT_STREQ(judge(&c, 5).reason, "too few samples: 12 usable p95 samples before the "
                                         "action and 0 after, 5 needed");
    /* Nothing at all, or an empty after-window. */
    for (size_t i = 0; i < N; i++)
        c.pb[i] = NAN;
    TG_EXPECT_STREQ(judge(&c, 1).reason, "no data: 0 usable p95 samples before the action "
                                         "and 0 after, 5 needed");
    TG_EXPECT(judge(&c, 1).final); /* a before-window without data will not fill up */
    c.in.p95_after.n = 0;
    TG_EXPECT_EQ(judge(&c, 5).verdict, TG_VERDICT_INCONCLUSIVE);
    /* Four samples after a clear drop: not yet. */
    seed(3);
    setup(&c, 850, 120, 0.002, 0.002);
    c.in.p95_after.n = 4;
    struct tg_verify_result r = judge(&c, 1);
    TG_EXPECT_EQ(r.verdict, TG_VERDICT_INCONCLUSIVE);
    TG_EXPECT(!r.final);
    c.in.p95_after.n = 5;
    TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_HELPED);
    /* Errors without data do not stop a verdict on p95. */
    for (size_t i = 0; i < N; i++)
        c.ea[i] = NAN;
    TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_HELPED);
    TG_EXPECT_STREQ(tg_verdict_name(TG_VERDICT_INCONCLUSIVE), "inconclusive");
}

static void with_control(struct case_ *c, double before, double after, double rel)
{
    noisy(c->cb, N, before, rel);
    noisy(c->ca, N, after, rel);
    c->in.control_before = (struct tg_verify_series){c->cb, N};
    c->in.control_after = (struct tg_verify_series){c->ca, N};
}

static void test_control(void)
{
    struct case_ c;
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        /* Everything fell, the control as much: the fault went away by itself. */
        setup(&c, 850, 120, 0.002, 0.002);
        with_control(&c, 100, 20, 0.08);
        struct tg_verify_result r = judge(&c, 1);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_INCONCLUSIVE);
        TG_EXPECT(r.final);
        TG_EXPECT(strstr(r.reason, "control fell as much") != NULL);
        /* Everything rose: the action is not to blame, no rollback. */
        setup(&c, 120, 850, 0.002, 0.002);
        with_control(&c, 100, 500, 0.08);
        r = judge(&c, 1);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_INCONCLUSIVE);
        TG_EXPECT(strstr(r.reason, "control rose as much") != NULL);
        /* The control flat, or moving much less: the action gets the credit. */
        setup(&c, 850, 120, 0.002, 0.002);
        with_control(&c, 100, 100, 0.08);
        TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_HELPED);
        with_control(&c, 100, 85, 0.02); /* -15 % against -86 % */
        TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_HELPED);
        /* A control without data is no control. */
        for (size_t i = 0; i < N; i++)
            c.ca[i] = NAN;
        TG_EXPECT_EQ(judge(&c, 1).verdict, TG_VERDICT_HELPED);
    }
}

static void test_settle(void)
{
    struct case_ c;
    struct tg_verify_params p;
    tg_verify_params_default(&p);
    for (unsigned s = 0; s < SEEDS; s++) {
        seed(s);
        setup(&c, 850, 120, 0.002, 0.002);
        /* The rate window still holds the old latency for the first seven samples. */
        for (size_t i = 0; i < 7; i++)
            c.pa[i] = 850;
        struct tg_verify_result r;
        TG_EXPECT_EQ(tg_verify_judge(&p, &c.in, 1, &r), 0);
        TG_EXPECT_NE(r.verdict, TG_VERDICT_HELPED);
        p.settle_samples = 7;
        TG_EXPECT_EQ(tg_verify_judge(&p, &c.in, 1, &r), 0);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_HELPED);
        p.settle_samples = 20; /* longer than the window: no data yet */
        TG_EXPECT_EQ(tg_verify_judge(&p, &c.in, 1, &r), 0);
        TG_EXPECT_EQ(r.verdict, TG_VERDICT_INCONCLUSIVE);
        p.settle_samples = 0;
    }
}

static void test_bad_args(void)
{
    struct case_ c;
    struct tg_verify_result r;
    seed(4);
    setup(&c, 850, 120, 0.002, 0.002);
    TG_EXPECT_EQ(tg_verify_judge(NULL, NULL, 1, &r), -EINVAL);
    TG_EXPECT_EQ(tg_verify_judge(NULL, &c.in, 1, NULL), -EINVAL);
    TG_EXPECT_EQ(tg_verify_judge(NULL, &c.in, 0, &r), -EINVAL);
    c.in.control_after = (struct tg_verify_series){NULL, 3};
    TG_EXPECT_EQ(tg_verify_judge(NULL, &c.in, 1, &r), -EINVAL);
}

static void random_series(double *v, size_t n)
{
    double level = uniform() < 0.1 ? 1e300 : 1000 * uniform();
    for (size_t i = 0; i < n; i++) {
        double u = uniform();
        v[i] = u < 0.1    ? NAN
               : u < 0.15 ? -1
               : u < 0.17 ? INFINITY
               : u < 0.2  ? 0
                          : level * uniform();
    }
}

static void test_random(void)
{
    enum { MAX = 64 };
    double *v = malloc(6 * MAX * sizeof *v);
    struct tg_verify_params p;
    for (unsigned s = 0; s < 3000; s++) {
        seed(5000 + s);
        struct tg_verify_series ser[6];
        for (size_t k = 0; k < 6; k++) {
            size_t n = (size_t)(uniform() * MAX);
            random_series(v + k * MAX, n);
            ser[k] = (struct tg_verify_series){v + k * MAX, n};
        }
        struct tg_verify_input in = {ser[0],
                                     ser[1],
                                     ser[2],
                                     ser[3],
                                     ser[4],
                                     ser[5],
                                     .target_p95_ms = uniform() < 0.5 ? 500 : NAN,
                                     .target_error_ratio = uniform() < 0.5 ? 0.01 : -1};
        tg_verify_params_default(&p);
        if (s % 5 == 0) {
            p.min_samples = (int)(uniform() * 4) - 1;
            p.max_looks = (int)(uniform() * 3) - 1;
            p.settle_samples = (int)(uniform() * 80) - 10;
        }
        struct tg_verify_result r;
        TG_EXPECT_EQ(tg_verify_judge(&p, &in, 1 + (int)(uniform() * 6), &r), 0);
        TG_EXPECT(r.verdict >= TG_VERDICT_INCONCLUSIVE && r.verdict <= TG_VERDICT_WORSE);
        TG_EXPECT_LT(strlen(r.reason), sizeof r.reason);
        TG_EXPECT(r.verdict == TG_VERDICT_INCONCLUSIVE || !isnan(r.p95_after_ms));
    }
    free(v);
}

int main(void)
{
    test_helped();
    test_no_effect();
    test_worse();
    test_no_data();
    test_control();
    test_settle();
    test_bad_args();
    test_random();
    return tg_test_report("verify");
}
