/* SPDX-License-Identifier: MIT */
/* Unit tests for src/control/sched.c: when a periodic task of the control thread runs.
 * Times are given, never read, so simulated minutes take microseconds: the first run on
 * the period boundary after the start, on-time runs every period, and a run that ends
 * past its next boundary (slow itself, or started late by a stalled loop) skipping the
 * boundaries it missed, each counted, instead of running them in a burst. */
#include "control/sched.h"

#include <stdint.h>

#include "tg_test.h"

#define S 1000000 /* one second in µs */

static void test_first_is_next_boundary(void)
{
    TG_EXPECT_EQ(tg_control_sched_first(S, 0), S);
    TG_EXPECT_EQ(tg_control_sched_first(S, 1), S);
    TG_EXPECT_EQ(tg_control_sched_first(S, S - 1), S);
    /* Strictly after: a task added on a boundary does not run in the same turn. */
    TG_EXPECT_EQ(tg_control_sched_first(S, S), 2 * S);
    TG_EXPECT_EQ(tg_control_sched_first(5 * S, 12345678), 15 * S);
    TG_EXPECT_EQ(tg_control_sched_first(250000, 1000001), 1250000);
    /* Tasks of equal period added at different times share their boundaries. */
    TG_EXPECT_EQ(tg_control_sched_first(5 * S, 61 * S + 7), tg_control_sched_first(5 * S, 64 * S));
}

static void test_on_time(void)
{
    struct tg_control_task_stats st = {0};
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, S, S + 50, S + 300), 2 * S);
    TG_EXPECT_EQ(st.runs, 1);
    TG_EXPECT_EQ(st.overruns, 0);
    TG_EXPECT_EQ(st.skipped, 0);
    TG_EXPECT_EQ(st.last_us, 250);
    TG_EXPECT_EQ(st.worst_us, 250);
    /* Started late and ran long, but ended before the next boundary: on time. */
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, 2 * S, 2 * S + 400000, 3 * S - 1), 3 * S);
    TG_EXPECT_EQ(st.overruns, 0);
    TG_EXPECT_EQ(st.last_us, S - 400001);
    /* Ending exactly on the next boundary still runs it, in the next turn. */
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, 3 * S, 3 * S, 4 * S), 4 * S);
    TG_EXPECT_EQ(st.overruns, 0);
    TG_EXPECT_EQ(st.skipped, 0);
    TG_EXPECT_EQ(st.worst_us, S);
    TG_EXPECT_EQ(st.runs, 3);
}

static void test_slow_run_skips(void)
{
    struct tg_control_task_stats st = {0};
    /* Due at 2 s, ran 2.5 s: 3 s and 4 s are skipped, the next run is at 5 s. */
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, 2 * S, 2 * S + 10, 4 * S + 500000), 5 * S);
    TG_EXPECT_EQ(st.overruns, 1);
    TG_EXPECT_EQ(st.skipped, 2);
    TG_EXPECT_EQ(st.last_us, 2 * S + 499990);
    TG_EXPECT_EQ(st.worst_us, 2 * S + 499990);
    /* Past the next boundary by 1 µs: that boundary is missed, not run late. */
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, 5 * S, 5 * S, 6 * S + 1), 7 * S);
    TG_EXPECT_EQ(st.overruns, 2);
    TG_EXPECT_EQ(st.skipped, 3);
    TG_EXPECT_EQ(st.last_us, S + 1);
    TG_EXPECT_EQ(st.worst_us, 2 * S + 499990);
    /* Ending exactly on a later boundary: the ones between are skipped, that one runs. */
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, 7 * S, 7 * S, 10 * S), 10 * S);
    TG_EXPECT_EQ(st.overruns, 3);
    TG_EXPECT_EQ(st.skipped, 5);
    TG_EXPECT_EQ(st.runs, 3);
}

static void test_late_start_skips(void)
{
    /* A loop stalled for 2.2 s starts a quick run late: 6 s and 7 s are missed. The run
     * itself was short, and its duration says so. */
    struct tg_control_task_stats st = {0};
    TG_EXPECT_EQ(tg_control_sched_ran(&st, S, 5 * S, 7 * S + 200000, 7 * S + 200100), 8 * S);
    TG_EXPECT_EQ(st.overruns, 1);
    TG_EXPECT_EQ(st.skipped, 2);
    TG_EXPECT_EQ(st.last_us, 100);
    TG_EXPECT_EQ(st.worst_us, 100);
}

/* Ten simulated minutes of a 250 ms task whose runs take between 0 and 1.1 s, started up
 * to 300 ms late: every run is due on a boundary, no boundary runs twice, none is due
 * before the previous run ended, and every boundary is either run or counted skipped. */
static void test_simulated_minutes(void)
{
    const int64_t p = 250000;
    struct tg_control_task_stats st = {0};
    uint32_t x = 2463534242u;
    int64_t first = tg_control_sched_first(p, 123456789);
    int64_t due = first, prev_end = 0, last_due = 0;
    unsigned bad_align = 0, bad_order = 0;
    while (due < first + 600 * (int64_t)S) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int64_t late = (x % 100 < 10) ? (int64_t)(x % 300000) : (int64_t)(x % 2000);
        int64_t took = (x % 100 < 15) ? (int64_t)(x % 1100000) : (int64_t)(x % 50000);
        int64_t start = due + late;
        bad_align += due % p != 0;
        bad_order += due <= last_due || due < prev_end;
        last_due = due;
        prev_end = start + took;
        due = tg_control_sched_ran(&st, p, due, start, prev_end);
    }
    TG_EXPECT_EQ(bad_align, 0);
    TG_EXPECT_EQ(bad_order, 0);
    TG_EXPECT_EQ(st.runs + st.skipped, (uint64_t)((due - first) / p));
    TG_EXPECT_GT(st.overruns, 0);
    TG_EXPECT_GT(st.skipped, st.overruns);
    TG_EXPECT_LT(st.worst_us, 1100000);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_first_is_next_boundary();
    test_on_time();
    test_slow_run_skips();
    test_late_start_skips();
    test_simulated_minutes();
    return tg_test_report(argv[0]);
}
