/* SPDX-License-Identifier: MIT */
/* The autoscaler's hysteresis (scale/decide.h) against every rule of the runbook's
 * script (seed-inventory §c.5) and our additions: min/max, cooldown, hold, dry run. */
#include <stdint.h>

#include "scale/decide.h"
#include "tg_test.h"

#define S 1000000LL

static struct tg_scale_params seed_params(void)
{
    return (struct tg_scale_params){
        .threshold_ms = 1000, .up_after = 3, .down_after = 10, .min = 1, .max = 5};
}

/* One check; returns the target and writes the decision. */
static uint32_t check(const struct tg_scale_params *p, struct tg_scale_state *s, double ms,
                      uint32_t cur, int64_t now, struct tg_scale_decision *d)
{
    tg_scale_decide(p, s, true, ms, cur, now, d);
    return d->target;
}

static void test_up_after_three_high(void)
{
    struct tg_scale_params p = seed_params();
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    TG_EXPECT_EQ(check(&p, &s, 1500, 2, 1 * S, &d), 2);
    TG_EXPECT_EQ(d.verdict, TG_SCALE_HIGH);
    TG_EXPECT_EQ(s.high_count, 1);
    TG_EXPECT_EQ(check(&p, &s, 1500, 2, 2 * S, &d), 2);
    TG_EXPECT(!d.step);
    TG_EXPECT_EQ(check(&p, &s, 1500, 2, 3 * S, &d), 3);
    TG_EXPECT(d.step && d.act);
    TG_EXPECT_STREQ(d.reason, "scale up");
    /* The counters restart after the step: three more high checks for the next one. */
    TG_EXPECT_EQ(s.high_count, 0);
    TG_EXPECT_EQ(s.low_count, 0);
    TG_EXPECT_EQ(check(&p, &s, 1500, 3, 4 * S, &d), 3);
    TG_EXPECT_EQ(check(&p, &s, 1500, 3, 5 * S, &d), 3);
    TG_EXPECT_EQ(check(&p, &s, 1500, 3, 6 * S, &d), 4);
}

static void test_equal_is_low(void)
{
    struct tg_scale_params p = seed_params();
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    for (int i = 0; i < 5; i++)
        check(&p, &s, 1000, 2, i * S, &d);
    TG_EXPECT_EQ(d.verdict, TG_SCALE_LOW);
    TG_EXPECT_EQ(s.high_count, 0);
    TG_EXPECT_EQ(s.low_count, 5);
    check(&p, &s, 1000.001, 2, 6 * S, &d);
    TG_EXPECT_EQ(d.verdict, TG_SCALE_HIGH);
}

static void test_down_after_ten_low(void)
{
    struct tg_scale_params p = seed_params();
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    for (int i = 1; i <= 9; i++)
        TG_EXPECT_EQ(check(&p, &s, 10, 3, i * S, &d), 3);
    TG_EXPECT_EQ(s.low_count, 9);
    TG_EXPECT_EQ(check(&p, &s, 10, 3, 10 * S, &d), 2);
    TG_EXPECT_STREQ(d.reason, "scale down");
    TG_EXPECT_EQ(s.low_count, 0);
}

static void test_opposite_check_zeroes(void)
{
    struct tg_scale_params p = seed_params();
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    /* Two high, one low: the high count is gone, so two more high do not scale. */
    check(&p, &s, 2000, 2, 1 * S, &d);
    check(&p, &s, 2000, 2, 2 * S, &d);
    check(&p, &s, 100, 2, 3 * S, &d);
    TG_EXPECT_EQ(s.high_count, 0);
    TG_EXPECT_EQ(s.low_count, 1);
    TG_EXPECT_EQ(check(&p, &s, 2000, 2, 4 * S, &d), 2);
    TG_EXPECT_EQ(s.low_count, 0);
    TG_EXPECT_EQ(check(&p, &s, 2000, 2, 5 * S, &d), 2);
    TG_EXPECT_EQ(check(&p, &s, 2000, 2, 6 * S, &d), 3);
    /* Nine low, one high: the low count is gone. */
    tg_scale_state_init(&s);
    for (int i = 0; i < 9; i++)
        check(&p, &s, 1, 3, (10 + i) * S, &d);
    check(&p, &s, 5000, 3, 20 * S, &d);
    TG_EXPECT_EQ(s.low_count, 0);
    TG_EXPECT_EQ(check(&p, &s, 1, 3, 21 * S, &d), 3);
    TG_EXPECT_EQ(s.low_count, 1);
}

static void test_bounds(void)
{
    struct tg_scale_params p = seed_params();
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    /* A long fault at max: never above it; the count keeps growing (the script's). */
    for (int i = 1; i <= 12; i++)
        TG_EXPECT_EQ(check(&p, &s, 9000, 5, i * S, &d), 5);
    TG_EXPECT(!d.step);
    TG_EXPECT_STREQ(d.reason, "high, at max");
    TG_EXPECT_EQ(s.high_count, 12);
    /* Calm at min: never below it. */
    tg_scale_state_init(&s);
    for (int i = 1; i <= 30; i++)
        TG_EXPECT_EQ(check(&p, &s, 1, 1, i * S, &d), 1);
    TG_EXPECT_STREQ(d.reason, "low, at min");
    /* Bounds moved under the current count: met at the next check, whatever the signal
     * (none here), and the counters restart. */
    p.min = 2;
    tg_scale_state_init(&s);
    s.low_count = 4;
    tg_scale_decide(&p, &s, false, 0, 1, 40 * S, &d);
    TG_EXPECT_EQ(d.target, 2);
    TG_EXPECT(d.act);
    TG_EXPECT_STREQ(d.reason, "below min");
    TG_EXPECT_EQ(s.low_count, 0);
    p.max = 3;
    TG_EXPECT_EQ(check(&p, &s, 1, 5, 41 * S, &d), 3);
    TG_EXPECT_STREQ(d.reason, "above max");
    /* One more than max is never asked for, also from one below it. */
    p = seed_params();
    tg_scale_state_init(&s);
    for (int i = 1; i <= 3; i++)
        check(&p, &s, 9000, 4, i * S, &d);
    TG_EXPECT_EQ(d.target, 5);
    for (int i = 4; i <= 9; i++)
        TG_EXPECT_EQ(check(&p, &s, 9000, 5, i * S, &d), 5);
}

static void test_cooldown(void)
{
    struct tg_scale_params p = seed_params();
    p.cooldown_us = 10 * S;
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    for (int i = 1; i <= 3; i++)
        check(&p, &s, 2000, 1, i * S, &d);
    TG_EXPECT_EQ(d.target, 2);
    TG_EXPECT_EQ(tg_scale_cooldown_left(&p, &s, 3 * S), 10 * S);
    TG_EXPECT_EQ(tg_scale_cooldown_left(&p, &s, 8 * S), 5 * S);
    /* Three more high checks inside the cooldown: no step; the count goes on. */
    for (int i = 4; i <= 8; i++)
        TG_EXPECT_EQ(check(&p, &s, 2000, 2, i * S, &d), 2);
    TG_EXPECT_STREQ(d.reason, "cooldown");
    TG_EXPECT_EQ(s.high_count, 5);
    /* At the cooldown's end (13 s), the next high check steps at once. */
    TG_EXPECT_EQ(check(&p, &s, 2000, 2, 12 * S, &d), 2);
    TG_EXPECT_EQ(check(&p, &s, 2000, 2, 13 * S, &d), 3);
    TG_EXPECT_EQ(tg_scale_cooldown_left(&p, &s, 30 * S), 0);
    /* A down step waits for the cooldown of an up step too. */
    for (int i = 14; i < 23; i++)
        check(&p, &s, 1, 3, i * S, &d);
    TG_EXPECT_EQ(s.low_count, 9);
    TG_EXPECT_EQ(check(&p, &s, 1, 3, 22 * S + S / 2, &d), 3);
    TG_EXPECT_STREQ(d.reason, "cooldown");
    TG_EXPECT_EQ(check(&p, &s, 1, 3, 23 * S, &d), 2);
}

static void test_hold(void)
{
    struct tg_scale_params p = seed_params();
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    check(&p, &s, 2000, 2, 1 * S, &d);
    check(&p, &s, 2000, 2, 2 * S, &d);
    /* No data between: not low, nothing counted, nothing done. */
    for (int i = 0; i < 20; i++) {
        tg_scale_decide(&p, &s, false, 0, 2, (3 + i) * S, &d);
        TG_EXPECT_EQ(d.verdict, TG_SCALE_HOLD);
        TG_EXPECT(!d.step);
    }
    TG_EXPECT_EQ(s.high_count, 2);
    TG_EXPECT_EQ(s.low_count, 0);
    TG_EXPECT_STREQ(d.reason, "no signal: hold");
    TG_EXPECT_EQ(check(&p, &s, 2000, 2, 30 * S, &d), 3);
    /* A long silence at several instances never scales down. */
    tg_scale_state_init(&s);
    for (int i = 0; i < 100; i++)
        tg_scale_decide(&p, &s, false, 0, 3, i * S, &d);
    TG_EXPECT_EQ(d.target, 3);
}

static void test_dry_run(void)
{
    struct tg_scale_params p = seed_params();
    p.dry_run = true;
    struct tg_scale_state s;
    struct tg_scale_decision d;
    tg_scale_state_init(&s);
    for (int i = 1; i <= 3; i++)
        check(&p, &s, 2000, 1, i * S, &d);
    /* Decided and counted as a real run would be, and not to be acted on. */
    TG_EXPECT(d.step);
    TG_EXPECT(!d.act);
    TG_EXPECT_EQ(d.target, 2);
    TG_EXPECT_EQ(s.high_count, 0);
    TG_EXPECT_EQ(s.last_step_us, 3 * S);
    /* The instances did not change: three more high checks propose the same step. */
    for (int i = 4; i <= 6; i++)
        check(&p, &s, 2000, 1, i * S, &d);
    TG_EXPECT(d.step && !d.act);
    TG_EXPECT_EQ(d.target, 2);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_up_after_three_high();
    test_equal_is_low();
    test_down_after_ten_low();
    test_opposite_check_zeroes();
    test_bounds();
    test_cooldown();
    test_hold();
    test_dry_run();
    return tg_test_report(argv[0]);
}
