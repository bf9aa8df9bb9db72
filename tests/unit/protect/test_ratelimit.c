/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/ratelimit.{h,c}, driven with explicit times: GCRA spacing,
 * burst and exact counts over a simulated hour, fixed windows as the runbooks write them,
 * refused requests that change nothing, dry run, disabled rules, the response headers,
 * live parameter changes, and the exactness of one global rule hammered by worker
 * threads. The per-key table has its own file (test_ratelimit_table.c). */
#include "protect/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "protect/ratelimit_int.h"
#include "tg_test.h"

#define S 1000000LL

static struct tg_ratelimit *mk(uint64_t limit, int64_t period_us, uint32_t burst,
                               enum tg_ratelimit_algo algo)
{
    struct tg_ratelimit_params p;
    tg_ratelimit_params_default(&p);
    p.limit = limit;
    p.period_us = period_us;
    p.burst = burst;
    p.algo = algo;
    struct tg_ratelimit *rl = NULL;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_ratelimit_new(&p, TG_RATELIMIT_GLOBAL, 0, 1, &eb, &rl), 0);
    return rl;
}

static bool take(struct tg_ratelimit *rl, int64_t now, struct tg_ratelimit_verdict *v)
{
    return tg_ratelimit_take(rl, now, NULL, v);
}

static void test_params(void)
{
    struct tg_ratelimit_params p;
    struct tg_errbuf eb = {0};
    tg_ratelimit_params_default(&p);
    TG_EXPECT_EQ(p.limit, 1000);
    TG_EXPECT_EQ(p.period_us, 60 * S);
    TG_EXPECT_EQ(tg_ratelimit_check_params(&p, TG_RATELIMIT_CLIENT_IP, &eb), 0);
    p.burst = 0;
    TG_EXPECT_EQ(tg_ratelimit_check_params(&p, TG_RATELIMIT_GLOBAL, &eb), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "burst") != NULL);
    tg_ratelimit_params_default(&p);
    p.period_us = 0;
    TG_EXPECT_EQ(tg_ratelimit_check_params(&p, TG_RATELIMIT_GLOBAL, &eb), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "period") != NULL);
    tg_ratelimit_params_default(&p);
    p.algo = TG_RATELIMIT_FIXED_WINDOW;
    p.limit = 100000; /* fits the global cell, not a table entry */
    TG_EXPECT_EQ(tg_ratelimit_check_params(&p, TG_RATELIMIT_GLOBAL, &eb), 0);
    TG_EXPECT_EQ(tg_ratelimit_check_params(&p, TG_RATELIMIT_CLIENT_IP, &eb), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "65535") != NULL);
    struct tg_ratelimit *rl = (struct tg_ratelimit *)&p;
    TG_EXPECT_EQ(tg_ratelimit_new(&p, TG_RATELIMIT_ROUTE, 64, 1, &eb, &rl), TG_ECONFIG);
    TG_EXPECT(rl == NULL);
    tg_ratelimit_free(NULL);
}

static void test_gcra_spacing_and_burst(void)
{
    /* 60 per minute, burst 1: one a second, no more. */
    struct tg_ratelimit *rl = mk(60, 60 * S, 1, TG_RATELIMIT_GCRA);
    struct tg_ratelimit_verdict v;
    TG_EXPECT(take(rl, 10 * S, &v));
    TG_EXPECT_EQ(v.remaining, 0);
    TG_EXPECT_EQ(v.reset_us, S);
    TG_EXPECT(!take(rl, 10 * S + 400000, &v));
    TG_EXPECT(v.limited);
    TG_EXPECT_EQ(v.retry_after_us, 600000);
    TG_EXPECT(take(rl, 11 * S, &v));
    tg_ratelimit_free(rl);

    /* Burst 5 after a quiet spell, then one per T = 200 ms. */
    rl = mk(300, 60 * S, 5, TG_RATELIMIT_GCRA);
    for (uint64_t i = 0; i < 5; i++) {
        TG_EXPECT(take(rl, 100 * S, &v));
        TG_EXPECT_EQ(v.remaining, 4 - i);
        TG_EXPECT_EQ(v.reset_us, (int64_t)(i + 1) * 200000);
    }
    TG_EXPECT(!take(rl, 100 * S, &v));
    TG_EXPECT_EQ(v.retry_after_us, 200000);
    TG_EXPECT_EQ(v.reset_us, 1000000);
    /* Refused requests change nothing: hammering does not push the next slot later. */
    for (int i = 0; i < 1000; i++)
        TG_EXPECT(!take(rl, 100 * S + 100000, &v));
    TG_EXPECT(take(rl, 100 * S + 200000, &v));
    TG_EXPECT(!take(rl, 100 * S + 200000, &v));
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_EQ(st.hits_total, 1002);
    TG_EXPECT_EQ(st.capacity, 0);
    tg_ratelimit_free(rl);
}

/* A simulated hour at three times the rate, requests 1 ms apart: exactly D / T + burst
 * accepted, and never more than burst in any instant. */
static void test_gcra_exact_over_an_hour(void)
{
    struct tg_ratelimit *rl = mk(1000, 60 * S, 10, TG_RATELIMIT_GCRA);
    struct tg_ratelimit_verdict v;
    uint64_t accepted = 0, per_minute[60] = {0};
    for (int64_t t = 0; t < 3600 * S; t += 20000) {
        if (take(rl, 5 * S + t, &v)) {
            accepted++;
            per_minute[t / (60 * S)]++;
        }
    }
    /* 3600 s / 60 ms = 60,000 slots, plus the burst's 9 extra at the start. */
    TG_EXPECT_EQ(accepted, 60000 + 9);
    TG_EXPECT_EQ(per_minute[0], 1009);
    TG_EXPECT_EQ(per_minute[59], 1000);
    tg_ratelimit_free(rl);
}

static void test_fixed_window(void)
{
    /* The runbooks' /api/content/generate rule: 5 per 60 s. */
    struct tg_ratelimit *rl = mk(5, 60 * S, 1, TG_RATELIMIT_FIXED_WINDOW);
    struct tg_ratelimit_verdict v;
    int64_t t = 600 * S + 10 * S; /* 10 s into a window */
    for (uint64_t i = 0; i < 5; i++) {
        TG_EXPECT(take(rl, t + (int64_t)i, &v));
        TG_EXPECT_EQ(v.remaining, 4 - i);
    }
    TG_EXPECT(!take(rl, t + 30 * S, &v));
    TG_EXPECT_EQ(v.retry_after_us, 20 * S);
    TG_EXPECT_EQ(v.reset_us, 20 * S);
    TG_EXPECT_EQ(v.window_us, 60 * S);
    /* The next window starts afresh. */
    TG_EXPECT(take(rl, 660 * S, &v));
    TG_EXPECT_EQ(v.remaining, 4);
    /* A request whose clock is a little behind (the previous window) counts in the
     * current window instead of restarting the old one. */
    for (int i = 0; i < 4; i++)
        TG_EXPECT(take(rl, 659 * S, &v));
    TG_EXPECT(!take(rl, 659 * S, &v));
    TG_EXPECT(!take(rl, 661 * S, &v));
    tg_ratelimit_free(rl);
}

/* A fixed-window word naming a window far from now (another format read during a change
 * of algorithm or window length) starts over instead of holding the key there; only the
 * very next window is taken as current (a worker whose clock is a little ahead). */
static void test_stray_window_words(void)
{
    struct tg_ratelimit__p p = {.algo = TG_RATELIMIT_FIXED_WINDOW, .limit = 5, .period_us = S};
    struct tg_ratelimit_verdict v;
    uint64_t next, cur = 1000;
    int64_t now = (int64_t)cur * S + 500000;
    for (int packed = 0; packed < 2; packed++) {
        unsigned cbits = packed ? 16 : 24;
        uint64_t far = (cur + 100) << cbits | 5, ahead = (cur + 1) << cbits | 5;
        TG_EXPECT(tg_ratelimit__decide(&p, far, packed, now, &next, &v));
        TG_EXPECT_EQ(next, cur << cbits | 1);
        TG_EXPECT_EQ(v.reset_us, 500000);
        TG_EXPECT(!tg_ratelimit__decide(&p, ahead, packed, now, &next, &v));
        TG_EXPECT_EQ(v.retry_after_us, 1500000);
        TG_EXPECT(tg_ratelimit__decide(&p, (cur - 1) << cbits | 5, packed, now, &next, &v));
        /* A request whose clock lags several windows (a long preemption between reading
         * the clock and deciding) counts in the newer window, never restarts an old one:
         * that would let a window's quota through twice. */
        TG_EXPECT(!tg_ratelimit__decide(&p, (cur + 3) << cbits | 5, packed, now, &next, &v));
        TG_EXPECT(tg_ratelimit__decide(&p, (cur + 3) << cbits | 2, packed, now, &next, &v));
        TG_EXPECT_EQ(next, (cur + 3) << cbits | 3);
    }
    /* A table word matters for this window and the few after it, not for a far one. */
    TG_EXPECT_EQ(tg_ratelimit__weight(&p, (cur + 100) << 16 | 3, now), 0);
    TG_EXPECT_EQ(tg_ratelimit__weight(&p, (cur + 5) << 16 | 3, now), 4);
    TG_EXPECT_EQ(tg_ratelimit__weight(&p, (cur + 1) << 16 | 3, now), 4);
    TG_EXPECT_EQ(tg_ratelimit__weight(&p, cur << 16 | 3, now), 4);
}

static void test_dry_run_and_disabled(void)
{
    struct tg_ratelimit_params p;
    tg_ratelimit_params_default(&p);
    p.limit = 2;
    p.burst = 2;
    p.dry_run = true;
    struct tg_ratelimit *rl;
    TG_EXPECT_EQ(tg_ratelimit_new(&p, TG_RATELIMIT_GLOBAL, 0, 1, NULL, &rl), 0);
    struct tg_ratelimit_verdict v;
    char buf[256];
    TG_EXPECT(take(rl, 0, &v));
    TG_EXPECT(take(rl, 0, &v));
    TG_EXPECT(take(rl, 0, &v)); /* over the limit, let through */
    TG_EXPECT(v.limited);
    TG_EXPECT(v.dry_run);
    TG_EXPECT_EQ(tg_ratelimit_format_headers(&v, buf, sizeof buf), 0);
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_EQ(st.hits_total, 1);
    /* Enforced from now on, with the state the dry run built: still limited. */
    p.dry_run = false;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    TG_EXPECT(!take(rl, 1, &v));
    /* Disabled: everything through, not counted, no headers. */
    p.enabled = false;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    for (int i = 0; i < 10; i++)
        TG_EXPECT(take(rl, 2, &v));
    TG_EXPECT(!v.limited);
    TG_EXPECT_EQ(v.limit, 0);
    TG_EXPECT_EQ(tg_ratelimit_format_headers(&v, buf, sizeof buf), 0);
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_EQ(st.hits_total, 2);
    tg_ratelimit_free(rl);
}

static void test_headers(void)
{
    /* The runbooks' /api/ rule: 100 per 900 s. */
    struct tg_ratelimit *rl = mk(100, 900 * S, 1, TG_RATELIMIT_FIXED_WINDOW);
    struct tg_ratelimit_verdict v;
    char buf[256];
    TG_EXPECT(take(rl, 900 * S + 50 * S + 1, &v));
    int n = tg_ratelimit_format_headers(&v, buf, sizeof buf);
    TG_EXPECT_GT(n, 0);
    TG_EXPECT_MEMEQ(buf, n,
                    "RateLimit-Policy: 100;w=900\r\nRateLimit-Limit: 100\r\n"
                    "RateLimit-Remaining: 99\r\nRateLimit-Reset: 850\r\n");
    for (int i = 0; i < 99; i++)
        take(rl, 1000 * S, &v);
    TG_EXPECT(!take(rl, 1000 * S, &v));
    n = tg_ratelimit_format_headers(&v, buf, sizeof buf);
    TG_EXPECT_MEMEQ(buf, n,
                    "RateLimit-Policy: 100;w=900\r\nRateLimit-Limit: 100\r\n"
                    "RateLimit-Remaining: 0\r\nRateLimit-Reset: 800\r\nRetry-After: 800\r\n");
    /* Too small a buffer: an error, never a cut line. */
    TG_EXPECT_EQ(tg_ratelimit_format_headers(&v, buf, 40), TG_ELIMIT);
    TG_EXPECT_EQ(tg_ratelimit_format_headers(&v, buf, (size_t)n), TG_ELIMIT);
    TG_EXPECT_EQ(tg_ratelimit_format_headers(&v, buf, (size_t)n + 1), n);
    /* The longest possible lines fit in 160 bytes. */
    v.limit = v.remaining = 1000000000;
    v.window_us = v.reset_us = v.retry_after_us = 24 * 3600 * S;
    TG_EXPECT_GT(tg_ratelimit_format_headers(&v, buf, 160), 0);
    /* A retry-after under a second is still "1". */
    v.retry_after_us = 1;
    n = tg_ratelimit_format_headers(&v, buf, sizeof buf);
    TG_EXPECT(n > 0 && strstr(buf, "Retry-After: 1\r\n") != NULL);
    tg_ratelimit_free(rl);
}

static void test_set_params(void)
{
    struct tg_ratelimit_params p;
    tg_ratelimit_params_default(&p);
    p.limit = 60;
    p.burst = 1;
    struct tg_ratelimit *rl;
    TG_EXPECT_EQ(tg_ratelimit_new(&p, TG_RATELIMIT_GLOBAL, 0, 1, NULL, &rl), 0);
    struct tg_ratelimit_verdict v;
    TG_EXPECT(take(rl, 0, &v));
    /* A lower rate keeps the TAT (1 s ahead); the slot after it is 2 s apart. */
    p.limit = 30;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    TG_EXPECT(!take(rl, S - 1, &v));
    TG_EXPECT(take(rl, S, &v));
    TG_EXPECT(!take(rl, 3 * S - 1, &v));
    TG_EXPECT(take(rl, 3 * S, &v));
    /* A bad change changes nothing. */
    struct tg_ratelimit_params bad = p;
    bad.burst = 31;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &bad, NULL), TG_ECONFIG);
    TG_EXPECT(!take(rl, 4 * S, &v));
    /* Another algorithm starts afresh. */
    p.algo = TG_RATELIMIT_FIXED_WINDOW;
    p.limit = 2;
    p.period_us = 10 * S;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    TG_EXPECT(take(rl, 4 * S, &v));
    TG_EXPECT(take(rl, 4 * S, &v));
    TG_EXPECT(!take(rl, 4 * S, &v));
    /* A new limit with the same window keeps the count; a new window length does not. */
    p.limit = 3;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    TG_EXPECT(take(rl, 5 * S, &v));
    TG_EXPECT(!take(rl, 5 * S, &v));
    p.period_us = 20 * S;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    TG_EXPECT(take(rl, 5 * S, &v));
    tg_ratelimit_free(rl);
}

/* ---- worker threads ----------------------------------------------------------------- */

#define THREADS 4
#define DECISIONS 30000 /* three times the rate over the simulated span */

struct shared {
    struct tg_ratelimit *rl;
    _Atomic int64_t step;
    _Atomic uint64_t accepted;
    int64_t step_us, span_us;
};

static void *hammer(void *arg)
{
    struct shared *sh = arg;
    uint64_t mine = 0;
    for (;;) {
        /* Synthetic time from a shared counter, so decisions come in about the order a
         * real clock would give them, with the reordering that preemption causes. */
        int64_t k = atomic_fetch_add(&sh->step, 1);
        if (k >= DECISIONS)
            break;
        struct tg_ratelimit_verdict v;
        mine += tg_ratelimit_take(sh->rl, 7 * S + k * sh->step_us, NULL, &v);
    }
    atomic_fetch_add(&sh->accepted, mine);
    return NULL;
}

static uint64_t run_threads(struct tg_ratelimit *rl, int64_t span_us)
{
    struct shared sh = {.rl = rl, .step_us = span_us / DECISIONS, .span_us = span_us};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        TG_EXPECT_EQ(pthread_create(&th[i], NULL, hammer, &sh), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&sh.accepted);
}

/* One global rule, 10,000 per simulated minute (burst 50), three times that offered by
 * four threads: accepted exactly as GCRA allows (at most D / T + burst), and no fewer than
 * a sliver below it (a thread preempted between reading the clock and deciding is judged
 * against a later TAT, which can only refuse). A lost update would accept more. */
static void test_threads_global_exact(void)
{
    struct tg_ratelimit *rl = mk(10000, 60 * S, 50, TG_RATELIMIT_GCRA);
    uint64_t got = run_threads(rl, 60 * S);
    TG_EXPECT_LE(got, 10000 + 50);
    TG_EXPECT_GE(got, 10000 + 50 - 100);
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_EQ(st.hits_total, DECISIONS - got);
    tg_ratelimit_free(rl);

    /* Fixed windows of 6 s, 1000 each, from 7 s to 67 s: ten full windows and 500
     * requests in the 11th, [66 s, 72 s). A request whose clock lags into the previous
     * window counts in the current one, so only the 11th can gain a few of them. */
    rl = mk(1000, 6 * S, 1, TG_RATELIMIT_FIXED_WINDOW);
    got = run_threads(rl, 60 * S);
    TG_EXPECT_GE(got, 10 * 1000 + 500);
    TG_EXPECT_LE(got, 10 * 1000 + 500 + 20);
    tg_ratelimit_free(rl);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_params();
    test_gcra_spacing_and_burst();
    test_gcra_exact_over_an_hour();
    test_fixed_window();
    test_stray_window_words();
    test_dry_run_and_disabled();
    test_headers();
    test_set_params();
    test_threads_global_exact();
    return tg_test_report(argv[0]);
}
