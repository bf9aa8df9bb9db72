/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/breaker.{h,c}, driven with explicit times: opening on the
 * failure and slow-call ratios over count- and time-based windows, the minimum call count,
 * open and half-open admission with retry-after, bounded probes, growing recovery, late
 * outcomes of older generations, the latency baseline, live parameter changes, the
 * transition record, and, with worker threads, exact window totals and the probe bound
 * under contention. */
#include "protect/breaker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tg_test.h"

#define S 1000000LL

static struct tg_breaker *mk(const struct tg_breaker_params *p)
{
    struct tg_breaker *b = NULL;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_breaker_new(p, &eb, &b), 0);
    return b;
}

/* Count-based window of `n` calls, trips at 50 % after 10 calls, 10 s recovery. */
static void count_params(struct tg_breaker_params *p, uint32_t n)
{
    tg_breaker_params_default(p);
    p->window = TG_BREAKER_WINDOW_COUNT;
    p->window_size = n;
    p->min_calls = 10;
    p->recovery_us = 10 * S;
}

/* One admitted call with the given outcome, admitted and observed at `now` (the latency
 * only decides slow calls and timeouts); returns whether it was admitted. */
static bool call(struct tg_breaker *b, int64_t now, bool failed, int64_t latency_us)
{
    uint32_t t;
    int64_t ra;
    if (!tg_breaker_admit(b, now, &t, &ra))
        return false;
    tg_breaker_observe(b, now, t, failed, latency_us);
    return true;
}

static void test_params(void)
{
    struct tg_breaker_params p;
    struct tg_errbuf eb = {0};
    tg_breaker_params_default(&p);
    TG_EXPECT_EQ(tg_breaker_check_params(&p, &eb), 0);
    TG_EXPECT_EQ(p.min_calls, 20);
    TG_EXPECT_EQ(p.timeout_us, 5 * S);
    TG_EXPECT_EQ(p.recovery_us, 60 * S);
    p.failure_threshold = 0;
    TG_EXPECT_EQ(tg_breaker_check_params(&p, &eb), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "failure_threshold") != NULL);
    p.failure_threshold = 1.5;
    TG_EXPECT_EQ(tg_breaker_check_params(&p, &eb), TG_ECONFIG);
    tg_breaker_params_default(&p);
    p.window = TG_BREAKER_WINDOW_COUNT;
    p.window_size = 10; /* min_calls 20 could never be reached */
    TG_EXPECT_EQ(tg_breaker_check_params(&p, &eb), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "min_calls") != NULL);
    tg_breaker_params_default(&p);
    p.half_open_probes = 0;
    TG_EXPECT_EQ(tg_breaker_check_params(&p, &eb), TG_ECONFIG);
    tg_breaker_params_default(&p);
    p.latency_factor = 0.5; /* below 1 would trip on a healthy upstream */
    TG_EXPECT_EQ(tg_breaker_check_params(&p, &eb), TG_ECONFIG);
    struct tg_breaker *b = (struct tg_breaker *)&p;
    TG_EXPECT_EQ(tg_breaker_new(&p, &eb, &b), TG_ECONFIG);
    TG_EXPECT(b == NULL);
    tg_breaker_free(NULL);
    TG_EXPECT_STREQ(tg_breaker_state_name(TG_BREAKER_HALF_OPEN), "half_open");
    TG_EXPECT_STREQ(tg_breaker_reason_name(TG_BREAKER_R_PROBES_OK), "probes_ok");
    TG_EXPECT_EQ(tg_breaker_retry_after_s(1), 1);
    TG_EXPECT_EQ(tg_breaker_retry_after_s(1000001), 2);
}

static void test_count_window_trips(void)
{
    struct tg_breaker_params p;
    count_params(&p, 20);
    struct tg_breaker *b = mk(&p);
    struct tg_breaker_stats st;
    /* Nine failures: below min_calls, whatever the ratio; the tenth call opens it. */
    for (int i = 0; i < 9; i++)
        TG_EXPECT(call(b, 1000 + i, true, 100));
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    TG_EXPECT(call(b, 1010, false, 100));
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    tg_breaker_free(b);

    /* Sliding: with min_calls = window = 20, 9 failures then 11 successes stay closed;
     * 9 more successes push the failures out; then 9 failures are 9 of 20 and the tenth
     * makes 10 of 20 = 0.5, which opens it. */
    count_params(&p, 20);
    p.min_calls = 20;
    b = mk(&p);
    for (int i = 0; i < 9; i++)
        call(b, 2000, true, 100);
    for (int i = 0; i < 20; i++)
        call(b, 2000, false, 100);
    tg_breaker_read(b, 3000, &st);
    TG_EXPECT_EQ(st.window_calls, 20);
    TG_EXPECT_EQ(st.window_failures, 0);
    for (int i = 0; i < 9; i++)
        call(b, 3000, true, 100);
    tg_breaker_read(b, 3000, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED);
    TG_EXPECT_EQ(st.window_failures, 9);
    TG_EXPECT_EQ(st.failure_ratio * 100, 45);
    call(b, 4000, true, 100);
    tg_breaker_read(b, 4000, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_OPEN);
    TG_EXPECT_EQ(st.transitions_total[TG_BREAKER_OPEN], 1);
    TG_EXPECT_EQ(st.last.reason, TG_BREAKER_R_FAILURES);
    TG_EXPECT_EQ(st.last.from, TG_BREAKER_CLOSED);
    TG_EXPECT_EQ(st.last.to, TG_BREAKER_OPEN);
    TG_EXPECT_EQ(st.last.seq, 1);
    TG_EXPECT_EQ(st.failure_ratio * 100, 50);
    tg_breaker_free(b);
}

static void test_open_and_half_open(void)
{
    struct tg_breaker_params p;
    count_params(&p, 10);
    p.half_open_probes = 2;
    p.half_open_successes = 3;
    struct tg_breaker *b = mk(&p);
    int64_t t0 = 100 * S;
    for (int i = 0; i < 10; i++)
        call(b, t0, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    uint32_t tk[4];
    int64_t ra;
    /* Open: rejected with the time left, rounded up by the caller. */
    TG_EXPECT(!tg_breaker_admit(b, t0 + 2 * S, &tk[0], &ra));
    TG_EXPECT_EQ(tk[0], 0);
    TG_EXPECT_GE(ra, 8 * S - 1000);
    TG_EXPECT_LE(ra, 8 * S + 1000);
    TG_EXPECT_EQ(tg_breaker_retry_after_s(ra), 8);
    TG_EXPECT(!tg_breaker_admit(b, t0 + 10 * S - 2000, &tk[0], &ra));
    /* Recovery elapsed: the next admit is the first probe; one more fits, a third not. */
    int64_t t1 = t0 + 10 * S + 1000;
    TG_EXPECT(tg_breaker_admit(b, t1, &tk[0], &ra));
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_HALF_OPEN);
    TG_EXPECT(tg_breaker_is_probe(tk[0]));
    TG_EXPECT(tg_breaker_admit(b, t1, &tk[1], &ra));
    TG_EXPECT(tg_breaker_is_probe(tk[1]));
    TG_EXPECT(!tg_breaker_admit(b, t1, &tk[2], &ra));
    TG_EXPECT_EQ(ra, S);
    struct tg_breaker_stats st;
    tg_breaker_read(b, t1, &st);
    TG_EXPECT_EQ(st.probes_in_flight, 2);
    TG_EXPECT_EQ(st.window_calls, 0); /* emptied when half-open began */
    TG_EXPECT_EQ(st.rejected_total, 3);
    /* Two successes free their slots; three are needed, so a third probe goes out. */
    tg_breaker_observe(b, t1 + 10, tk[0], false, 10);
    tg_breaker_observe(b, t1 + 10, tk[1], false, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_HALF_OPEN);
    TG_EXPECT(tg_breaker_admit(b, t1 + 20, &tk[2], &ra));
    tg_breaker_observe(b, t1 + 30, tk[2], false, 10);
    tg_breaker_read(b, t1 + 30, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED);
    TG_EXPECT_EQ(st.last.reason, TG_BREAKER_R_PROBES_OK);
    TG_EXPECT_EQ(st.window_calls, 0);
    TG_EXPECT_EQ(st.transitions_total[TG_BREAKER_CLOSED], 1);
    TG_EXPECT_EQ(st.transitions_total[TG_BREAKER_HALF_OPEN], 1);
    /* Closed with a fresh window: nine failures are below min_calls again. */
    for (int i = 0; i < 9; i++)
        call(b, t1 + 100, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    tg_breaker_free(b);
}

static void test_probe_failure_and_growing_recovery(void)
{
    struct tg_breaker_params p;
    count_params(&p, 10);
    p.recovery_max_us = 35 * S;
    p.half_open_probes = 1;
    p.half_open_successes = 1;
    struct tg_breaker *b = mk(&p);
    int64_t t = 0, ra;
    uint32_t tk;
    for (int i = 0; i < 10; i++)
        call(b, t, true, 10);
    /* 10 s, then a failed probe doubles it to 20 s, then 35 s (the cap), then 35 s. */
    static const int64_t expect[] = {10, 20, 35, 35};
    for (int k = 0; k < 4; k++) {
        TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
        TG_EXPECT(!tg_breaker_admit(b, t, &tk, &ra));
        TG_EXPECT_EQ(tg_breaker_retry_after_s(ra), expect[k]);
        t += expect[k] * S;
        TG_EXPECT(tg_breaker_admit(b, t, &tk, &ra));
        if (k < 3)
            tg_breaker_observe(b, t, tk, true, 10);
    }
    /* The probe succeeds: closed. Failing again at once continues the streak... */
    tg_breaker_observe(b, t, tk, false, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    for (int i = 0; i < 10; i++)
        call(b, t + S, true, 10);
    TG_EXPECT(!tg_breaker_admit(b, t + S, &tk, &ra));
    TG_EXPECT_EQ(tg_breaker_retry_after_s(ra), 35);
    /* ...while a closed stretch longer than one recovery time starts over at 10 s. */
    t += 36 * S;
    TG_EXPECT(tg_breaker_admit(b, t, &tk, &ra));
    tg_breaker_observe(b, t, tk, false, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    t += 11 * S;
    for (int i = 0; i < 10; i++)
        call(b, t, true, 10);
    TG_EXPECT(!tg_breaker_admit(b, t, &tk, &ra));
    TG_EXPECT_EQ(tg_breaker_retry_after_s(ra), 10);
    tg_breaker_free(b);
}

static void test_timeout_and_slow_calls(void)
{
    struct tg_breaker_params p;
    count_params(&p, 10);
    p.timeout_us = 500000;
    struct tg_breaker *b = mk(&p);
    /* Calls reported as successes but as long as the timeout count as failures. */
    for (int i = 0; i < 10; i++)
        call(b, i, false, 500000);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    tg_breaker_free(b);

    count_params(&p, 10);
    p.timeout_us = 0;
    p.slow_call_us = 200000;
    p.slow_call_threshold = 0.8;
    b = mk(&p);
    for (int i = 0; i < 3; i++)
        call(b, i, false, 1000);
    for (int i = 0; i < 7; i++)
        call(b, 10 + i, false, 300000);
    struct tg_breaker_stats st;
    tg_breaker_read(b, 100, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED); /* 7 slow of 10 < 0.8 */
    TG_EXPECT_EQ(st.window_slow, 7);
    TG_EXPECT_EQ(st.window_failures, 0);
    call(b, 20, false, 300000); /* replaces a fast call */
    tg_breaker_read(b, 100, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_OPEN); /* 8 of 10 */
    TG_EXPECT_EQ(st.last.reason, TG_BREAKER_R_SLOW_CALLS);
    tg_breaker_free(b);
}

static void test_time_window(void)
{
    struct tg_breaker_params p;
    tg_breaker_params_default(&p);
    p.window_us = 10 * S;
    p.window_buckets = 10;
    p.min_calls = 20;
    struct tg_breaker *b = mk(&p);
    struct tg_breaker_stats st;
    /* 20 successes at 0.5 s (bucket 0), 15 failures at 5 s: 15 of 35 < 0.5. */
    for (int i = 0; i < 20; i++)
        call(b, 500000, false, 10);
    for (int i = 0; i < 15; i++)
        call(b, 5 * S, true, 10);
    tg_breaker_read(b, 5 * S, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED);
    TG_EXPECT_EQ(st.window_calls, 35);
    TG_EXPECT_EQ(st.window_failures, 15);
    /* At 10.5 s the first second has left the window (ratios are looked at on the next
     * outcome, not by reading). */
    tg_breaker_read(b, 10 * S + 500000, &st);
    TG_EXPECT_EQ(st.window_calls, 15);
    TG_EXPECT_EQ(st.window_failures, 15);
    /* At 16 s nothing is left; 19 failures then are below min_calls... */
    for (int i = 0; i < 19; i++)
        call(b, 16 * S, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    /* ...and the 20th opens it. */
    call(b, 16 * S, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    tg_breaker_free(b);
}

/* A call admitted while closed that ends after the breaker opened, and a probe of an
 * earlier half-open, are ignored and counted as stale. */
static void test_stale_generations(void)
{
    struct tg_breaker_params p;
    count_params(&p, 10);
    p.half_open_probes = 2;
    p.half_open_successes = 2;
    struct tg_breaker *b = mk(&p);
    uint32_t early, probe_a, probe_b;
    int64_t ra;
    TG_EXPECT(tg_breaker_admit(b, 0, &early, &ra));
    for (int i = 0; i < 10; i++)
        call(b, 1, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    tg_breaker_observe(b, 2, early, false, 10);
    TG_EXPECT(tg_breaker_admit(b, 11 * S, &probe_a, &ra));
    TG_EXPECT(tg_breaker_admit(b, 11 * S, &probe_b, &ra));
    /* The late call from closed must not count as a probe success either. */
    tg_breaker_observe(b, 11 * S, early, false, 10);
    tg_breaker_observe(b, 11 * S, probe_a, true, 10); /* reopens */
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    uint32_t probe_c;
    TG_EXPECT(tg_breaker_admit(b, 40 * S, &probe_c, &ra));
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_HALF_OPEN);
    /* probe_b belonged to the previous half-open: its success does not count. */
    tg_breaker_observe(b, 40 * S, probe_b, false, 10);
    struct tg_breaker_stats st;
    tg_breaker_read(b, 40 * S, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_HALF_OPEN);
    TG_EXPECT_EQ(st.probe_successes, 0);
    TG_EXPECT_EQ(st.probes_in_flight, 1);
    TG_EXPECT_EQ(st.stale_total, 3);
    /* Cancel frees a probe slot without an outcome; cancelling twice does nothing more. */
    uint32_t probe_d;
    TG_EXPECT(tg_breaker_admit(b, 40 * S, &probe_d, &ra));
    TG_EXPECT(!tg_breaker_admit(b, 40 * S, &probe_a, &ra));
    tg_breaker_cancel(b, probe_d);
    tg_breaker_read(b, 40 * S, &st);
    TG_EXPECT_EQ(st.probes_in_flight, 1);
    TG_EXPECT_EQ(st.probe_successes, 0);
    tg_breaker_cancel(b, probe_b);
    tg_breaker_read(b, 40 * S, &st);
    TG_EXPECT_EQ(st.probes_in_flight, 1);
    tg_breaker_free(b);
}

static void test_latency_condition(void)
{
    struct tg_breaker_params p;
    tg_breaker_params_default(&p);
    p.latency_factor = 3;
    p.latency_warmup = 5;
    p.latency_min_samples = 50;
    p.latency_tau_us = 60 * S;
    struct tg_breaker *b = mk(&p);
    struct tg_breaker_stats st;
    int64_t t = 0;
    /* Too few samples: ignored, nothing learned. */
    tg_breaker_feed_latency(b, t, 100000, 10);
    tg_breaker_read(b, t, &st);
    TG_EXPECT_EQ(st.latency_baseline_us, 0);
    /* The first feed sets the baseline at 100 ms; a spike during the warm-up is neither
     * learned nor acted on. */
    tg_breaker_feed_latency(b, t += S, 100000, 100);
    tg_breaker_feed_latency(b, t += S, 900000, 100);
    tg_breaker_read(b, t, &st);
    TG_EXPECT_EQ(st.latency_baseline_us, 100000);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED);
    /* It learns slowly: 20 feeds of 200 ms a second apart with tau 60 s move it about a
     * quarter of the way. */
    for (int i = 0; i < 20; i++)
        tg_breaker_feed_latency(b, t += S, 200000, 100);
    tg_breaker_read(b, t, &st);
    TG_EXPECT_GT(st.latency_baseline_us, 120000);
    TG_EXPECT_LT(st.latency_baseline_us, 140000);
    int64_t base = st.latency_baseline_us;
    /* Just under the factor: learned, closed. Over it: opens, and is not learned. */
    tg_breaker_feed_latency(b, t += S, base * 3 - 1000, 100);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    tg_breaker_read(b, t, &st);
    base = st.latency_baseline_us;
    tg_breaker_feed_latency(b, t += S, base * 3 + 1000, 100);
    tg_breaker_read(b, t, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_OPEN);
    TG_EXPECT_EQ(st.last.reason, TG_BREAKER_R_LATENCY);
    TG_EXPECT_EQ(st.latency_baseline_us, base);
    /* While open, feeds change nothing. */
    for (int i = 0; i < 30; i++)
        tg_breaker_feed_latency(b, t += S, 5 * base, 100);
    tg_breaker_read(b, t, &st);
    TG_EXPECT_EQ(st.latency_baseline_us, base);
    /* Factor 0 turns it off; turning it on again relearns from the next feed. */
    p.latency_factor = 0;
    TG_EXPECT_EQ(tg_breaker_set_params(b, t, &p, NULL), 0);
    tg_breaker_feed_latency(b, t += S, 10 * base, 100);
    p.latency_factor = 2;
    TG_EXPECT_EQ(tg_breaker_set_params(b, t, &p, NULL), 0);
    tg_breaker_read(b, t, &st);
    TG_EXPECT_EQ(st.latency_baseline_us, 0);
    tg_breaker_free(b);
}

static void test_set_params(void)
{
    struct tg_breaker_params p;
    count_params(&p, 10);
    struct tg_breaker *b = mk(&p);
    struct tg_breaker_stats st;
    for (int i = 0; i < 10; i++)
        call(b, 0, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    /* A new threshold and recovery keep the open state and its deadline. */
    p.failure_threshold = 0.9;
    p.recovery_us = 100 * S;
    TG_EXPECT_EQ(tg_breaker_set_params(b, S, &p, NULL), 0);
    int64_t ra;
    uint32_t tk;
    TG_EXPECT(!tg_breaker_admit(b, S, &tk, &ra));
    TG_EXPECT_EQ(tg_breaker_retry_after_s(ra), 9);
    /* A bad value changes nothing. */
    struct tg_breaker_params bad = p;
    bad.half_open_probes = 5000;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_breaker_set_params(b, S, &bad, &eb), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "half_open_probes") != NULL);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    /* Disabled: closed (a transition), everything allowed and untracked. */
    p.enabled = false;
    TG_EXPECT_EQ(tg_breaker_set_params(b, 2 * S, &p, NULL), 0);
    tg_breaker_read(b, 2 * S, &st);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED);
    TG_EXPECT_EQ(st.last.reason, TG_BREAKER_R_DISABLED);
    TG_EXPECT_EQ(st.last.at_us, 2 * S);
    for (int i = 0; i < 50; i++) {
        TG_EXPECT(tg_breaker_admit(b, 3 * S, &tk, &ra));
        TG_EXPECT_EQ(tk, 0);
        tg_breaker_observe(b, 3 * S, tk, true, 10);
    }
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    /* Enabled again with a bigger count window: empty, closed, the failures count anew. */
    p.enabled = true;
    p.window_size = 40;
    p.failure_threshold = 0.5;
    TG_EXPECT_EQ(tg_breaker_set_params(b, 4 * S, &p, NULL), 0);
    tg_breaker_read(b, 4 * S, &st);
    TG_EXPECT_EQ(st.window_calls, 0);
    for (int i = 0; i < 9; i++)
        call(b, 5 * S, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_CLOSED);
    call(b, 5 * S, true, 10);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    /* To a time window, live: the state stays open. */
    p.window = TG_BREAKER_WINDOW_TIME;
    TG_EXPECT_EQ(tg_breaker_set_params(b, 6 * S, &p, NULL), 0);
    TG_EXPECT_EQ(tg_breaker_state(b), TG_BREAKER_OPEN);
    tg_breaker_reclaim(b);
    tg_breaker_read(b, 6 * S, &st);
    TG_EXPECT_EQ(st.transitions_total[TG_BREAKER_OPEN], 2);
    TG_EXPECT_EQ(st.transitions_total[TG_BREAKER_CLOSED], 1);
    TG_EXPECT_EQ(st.last.seq, 3);
    tg_breaker_free(b);
}

/* ---- worker threads ----------------------------------------------------------------- */

#define THREADS 4

struct shared {
    struct tg_breaker *b;
    _Atomic int64_t clock;  /* synthetic time, µs, advanced by every call */
    _Atomic int probes_now; /* probes in flight, as the callers see them */
    _Atomic int probes_max;
    _Atomic uint64_t admitted, probes;
    int iters;
    unsigned fail_mod; /* a call fails when its number % fail_mod == 0 (0: never) */
};

static void *totals_main(void *arg)
{
    struct shared *sh = arg;
    for (int i = 0; i < sh->iters; i++) {
        uint32_t tk;
        int64_t ra;
        if (tg_breaker_admit(sh->b, 1000, &tk, &ra))
            tg_breaker_observe(sh->b, 1000, tk, i % 4 == 0, 10);
    }
    return NULL;
}

/* Window totals are exact under contention: every outcome counted once. */
static void test_threads_exact_totals(enum tg_breaker_window kind)
{
    struct tg_breaker_params p;
    tg_breaker_params_default(&p);
    p.window = kind;
    p.window_size = TG_BREAKER_WINDOW_SIZE_MAX;
    p.failure_threshold = 1; /* a quarter fail: never opens */
    struct shared sh = {.b = mk(&p), .iters = 3000};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        TG_EXPECT_EQ(pthread_create(&th[i], NULL, totals_main, &sh), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct tg_breaker_stats st;
    tg_breaker_read(sh.b, 1000, &st);
    TG_EXPECT_EQ(st.window_calls, THREADS * 3000);
    TG_EXPECT_EQ(st.window_failures, THREADS * 750);
    TG_EXPECT_EQ(st.state, TG_BREAKER_CLOSED);
    tg_breaker_free(sh.b);
}

static void *flap_main(void *arg)
{
    struct shared *sh = arg;
    uint64_t rng = (uint64_t)(uintptr_t)&rng * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < sh->iters; i++) {
        int64_t now = atomic_fetch_add(&sh->clock, 100);
        uint32_t tk;
        int64_t ra;
        if (!tg_breaker_admit(sh->b, now, &tk, &ra))
            continue;
        atomic_fetch_add(&sh->admitted, 1);
        bool probe = tg_breaker_is_probe(tk);
        if (probe) {
            atomic_fetch_add(&sh->probes, 1);
            int n = atomic_fetch_add(&sh->probes_now, 1) + 1;
            int m = atomic_load(&sh->probes_max);
            while (n > m && !atomic_compare_exchange_weak(&sh->probes_max, &m, n))
                ;
        }
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        for (volatile unsigned spin = (unsigned)(rng % 200); spin; spin--)
            ;
        bool failed = rng % sh->fail_mod == 0;
        if (probe)
            atomic_fetch_sub(&sh->probes_now, 1);
        tg_breaker_observe(sh->b, atomic_load(&sh->clock), tk, failed, 10);
    }
    return NULL;
}

/* Many threads drive the breaker through open, half-open and closed over and over: the
 * probes in flight never exceed the bound, and the transition counters tell one
 * consistent history (every half-open follows an open, every close a half-open). */
static void test_threads_state_machine(void)
{
    struct tg_breaker_params p;
    count_params(&p, 20);
    p.recovery_us = 20000; /* 200 calls of synthetic time */
    /* One probe at a time: on a two-core machine two threads run at once, so a broken
     * bound shows as two probes in flight. */
    p.half_open_probes = 1;
    p.half_open_successes = 4;
    struct shared sh = {.b = mk(&p), .iters = 200000, .fail_mod = 3};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        TG_EXPECT_EQ(pthread_create(&th[i], NULL, flap_main, &sh), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct tg_breaker_stats st;
    tg_breaker_read(sh.b, atomic_load(&sh.clock), &st);
    uint64_t to_open = st.transitions_total[TG_BREAKER_OPEN];
    uint64_t to_half = st.transitions_total[TG_BREAKER_HALF_OPEN];
    uint64_t to_closed = st.transitions_total[TG_BREAKER_CLOSED];
    int probes_max = atomic_load(&sh.probes_max);
    fprintf(stderr,
            "flapping: %llu opens, %llu half-opens, %llu closes, %llu probes, "
            "%d probes at most in flight\n",
            (unsigned long long)to_open, (unsigned long long)to_half, (unsigned long long)to_closed,
            (unsigned long long)sh.probes, probes_max);
    TG_EXPECT_GT(to_closed, 10); /* the test went round the cycle many times */
    TG_EXPECT_EQ(probes_max, 1);
    TG_EXPECT_EQ(to_half, to_open - (st.state == TG_BREAKER_OPEN));
    TG_EXPECT_LE(to_closed, to_half - (st.state == TG_BREAKER_HALF_OPEN));
    TG_EXPECT_EQ(st.last.seq, to_open + to_half + to_closed);
    uint64_t admitted = atomic_load(&sh.admitted);
    TG_EXPECT_EQ(admitted + st.rejected_total, (uint64_t)THREADS * (uint64_t)sh.iters);
    if (st.state == TG_BREAKER_HALF_OPEN)
        TG_EXPECT_EQ(st.probes_in_flight, 0);
    tg_breaker_free(sh.b);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_params();
    test_count_window_trips();
    test_open_and_half_open();
    test_probe_failure_and_growing_recovery();
    test_timeout_and_slow_calls();
    test_time_window();
    test_stale_generations();
    test_latency_condition();
    test_set_params();
    test_threads_exact_totals(TG_BREAKER_WINDOW_COUNT);
    test_threads_exact_totals(TG_BREAKER_WINDOW_TIME);
    test_threads_state_machine();
    return tg_test_report(argv[0]);
}
