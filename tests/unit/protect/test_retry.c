/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/retry.{h,c}: which failures are worth a retry, the backoff
 * and its jitters, attempts and deadlines, the budget's arithmetic, and threads driving
 * a 100 % failing upstream in lock-step rounds (every try lasts one round, as tries of
 * equal duration would), where retries add at most 20 % to the first tries. */
#include "protect/retry.h"

#include <pthread.h>
#include <stdatomic.h>

#include "tg_test.h"

#define MS 1000
#define S 1000000

static struct tg_retry_try try_of(uint32_t attempt, enum tg_retry_failure f, int status)
{
    return (struct tg_retry_try){
        .attempt = attempt,
        .failure = f,
        .status = status,
        .idempotent = true,
        .replayable = true,
    };
}

static void test_worth(void)
{
    struct tg_retry_params p;
    tg_retry_params_init(&p);
    struct tg_retry_try t = try_of(1, TG_RETRY_CONNECT, 0);
    t.idempotent = false;
    TG_EXPECT(tg_retry_worth(&p, &t)); /* never sent: any method */
    t.failure = TG_RETRY_RESET;
    TG_EXPECT(!tg_retry_worth(&p, &t)); /* a POST may have been acted on */
    t.failure = TG_RETRY_OK;
    t.status = 503;
    TG_EXPECT(!tg_retry_worth(&p, &t));
    p.non_idempotent = true; /* the route opts in */
    TG_EXPECT(tg_retry_worth(&p, &t));
    p.non_idempotent = false;
    t = try_of(1, TG_RETRY_RESET, 0);
    TG_EXPECT(tg_retry_worth(&p, &t));
    t = try_of(1, TG_RETRY_TIMEOUT, 0);
    TG_EXPECT(tg_retry_worth(&p, &t)); /* as a 504 */
    t = try_of(1, TG_RETRY_OK, 502);
    TG_EXPECT(tg_retry_worth(&p, &t));
    t.status = 500;
    TG_EXPECT(!tg_retry_worth(&p, &t)); /* not in the list: the server meant it */
    t.status = 200;
    TG_EXPECT(!tg_retry_worth(&p, &t));
    t = try_of(1, TG_RETRY_CONNECT, 0);
    t.replayable = false; /* the body streamed away */
    TG_EXPECT(!tg_retry_worth(&p, &t));
    t = try_of(1, TG_RETRY_LATE_FAILURE, 0);
    TG_EXPECT(!tg_retry_worth(&p, &t));
    p.nstatuses = 1;
    p.statuses[0] = 503;
    t = try_of(1, TG_RETRY_TIMEOUT, 0);
    TG_EXPECT(tg_retry_worth(&p, &t)); /* a per-try timeout, listed or not */
    p.nstatuses = 0;
    TG_EXPECT(tg_retry_worth(&p, &t));
    t.idempotent = false;
    TG_EXPECT(!tg_retry_worth(&p, &t)); /* a POST may have been acted on */
}

static void test_backoff(void)
{
    struct tg_retry_params p;
    tg_retry_params_init(&p);
    p.jitter = TG_RETRY_JITTER_NONE;
    TG_EXPECT_EQ(tg_retry_backoff(&p, 1, 0, 0), 1 * S);
    TG_EXPECT_EQ(tg_retry_backoff(&p, 2, 0, 0), 2 * S);
    TG_EXPECT_EQ(tg_retry_backoff(&p, 3, 0, 0), 4 * S);
    TG_EXPECT_EQ(tg_retry_backoff(&p, 4, 0, 0), 8 * S);
    TG_EXPECT_EQ(tg_retry_backoff(&p, 5, 0, 0), 10 * S); /* capped */
    p.jitter = TG_RETRY_JITTER_FULL;
    TG_EXPECT_EQ(tg_retry_backoff(&p, 2, 0, 0), 0);
    TG_EXPECT_GE(tg_retry_backoff(&p, 2, 0, UINT64_MAX), 2 * S - 1);
    TG_EXPECT_LE(tg_retry_backoff(&p, 2, 0, UINT64_MAX), 2 * S);
    /* Full jitter: uniform over [0, d], so the mean of many draws is near d / 2. */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int64_t sum = 0, lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 10000; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        int64_t d = tg_retry_backoff(&p, 3, 0, x * 0x2545F4914F6CDD1Dull);
        sum += d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    TG_EXPECT_GT(sum / 10000, 19 * S / 10);
    TG_EXPECT_LT(sum / 10000, 21 * S / 10);
    TG_EXPECT_LT(lo, 50 * MS);
    TG_EXPECT_GT(hi, 3950 * MS);
    TG_EXPECT_LE(hi, 4 * S);
    /* Decorrelated: within [base, min(cap, 3 × previous)]. */
    p.jitter = TG_RETRY_JITTER_DECORRELATED;
    TG_EXPECT_EQ(tg_retry_backoff(&p, 1, 0, 0), 1 * S);
    TG_EXPECT_GE(tg_retry_backoff(&p, 1, 0, UINT64_MAX), 3 * S - 1);
    TG_EXPECT_LE(tg_retry_backoff(&p, 2, 2 * S, UINT64_MAX), 6 * S);
    TG_EXPECT_GE(tg_retry_backoff(&p, 2, 2 * S, UINT64_MAX), 6 * S - 1);
    TG_EXPECT_LE(tg_retry_backoff(&p, 3, 8 * S, UINT64_MAX), 10 * S);
}

/* The runbook's policy: 3 attempts, so the waits are 1 s and 2 s and the third failure
 * is final; a retry that cannot finish before the deadline is not started. */
static void test_attempts_and_deadline(void)
{
    struct tg_retry_params p;
    tg_retry_params_init(&p);
    p.jitter = TG_RETRY_JITTER_NONE;
    struct tg_retry *r;
    TG_EXPECT_EQ(tg_retry_new(&r), 0);
    struct tg_retry_decision d;
    struct tg_retry_try t = try_of(1, TG_RETRY_OK, 503);
    t.other_server = true;
    tg_retry_end(r, &p, &t, 0, 0, &d);
    TG_EXPECT_EQ(d.verdict, TG_RETRY_AGAIN);
    TG_EXPECT_EQ(d.delay_us, 1 * S);
    TG_EXPECT(d.other_server);
    t.attempt = 2;
    t.other_server = false;
    tg_retry_end(r, &p, &t, 1 * S, 0, &d);
    TG_EXPECT_EQ(d.verdict, TG_RETRY_AGAIN);
    TG_EXPECT_EQ(d.delay_us, 2 * S);
    TG_EXPECT(!d.other_server);
    t.attempt = 3;
    tg_retry_end(r, &p, &t, 3 * S, 0, &d);
    TG_EXPECT_EQ(d.verdict, TG_RETRY_EXHAUSTED);
    /* A success ends it; so does a status the server meant. */
    t = try_of(1, TG_RETRY_OK, 200);
    tg_retry_end(r, &p, &t, 0, 0, &d);
    TG_EXPECT_EQ(d.verdict, TG_RETRY_DONE);
    /* Deadline 30 s: a retry due at 29.5 s + 1 s would pass it. */
    t = try_of(1, TG_RETRY_RESET, 0);
    t.deadline_us = 30 * S;
    tg_retry_end(r, &p, &t, 29 * S + 500 * MS, 0, &d);
    TG_EXPECT_EQ(d.verdict, TG_RETRY_NO_TIME);
    struct tg_retry_stats st;
    tg_retry_read(r, &st);
    TG_EXPECT_EQ(st.retries_inflight, 0);
    TG_EXPECT_EQ(st.retries_total, 2);
    TG_EXPECT_EQ(st.retries_by[TG_RETRY_OK], 2); /* both for the 503 */
    TG_EXPECT_EQ(st.retries_by[TG_RETRY_RESET], 0);
    TG_EXPECT_EQ(st.exhausted_total, 1);
    TG_EXPECT_EQ(st.no_time_total, 1);
    TG_EXPECT_EQ(st.no_budget_total, 0);
    tg_retry_free(r);
}

/* The budget's arithmetic: with few tries in flight, min_concurrent retries; with many,
 * 20 % of the first tries (the tries in flight that are not retries); a cancelled retry
 * gives its place back. */
static void test_budget(void)
{
    struct tg_retry_params p;
    tg_retry_params_init(&p);
    struct tg_retry *r;
    TG_EXPECT_EQ(tg_retry_new(&r), 0);
    struct tg_retry_decision d;
    struct tg_retry_try t = try_of(1, TG_RETRY_CONNECT, 0);
    t.inflight = 5;
    int granted = 0;
    for (int i = 0; i < 5; i++) {
        tg_retry_end(r, &p, &t, 0, 1, &d);
        granted += d.verdict == TG_RETRY_AGAIN;
    }
    TG_EXPECT_EQ(granted, 3);
    tg_retry_cancel(r);
    tg_retry_end(r, &p, &t, 0, 1, &d);
    TG_EXPECT_EQ(d.verdict, TG_RETRY_AGAIN); /* the cancelled place was free again */
    struct tg_retry_stats st;
    tg_retry_read(r, &st);
    TG_EXPECT_EQ(st.retries_inflight, 3);
    TG_EXPECT_EQ(st.no_budget_total, 2);
    /* Those three retries fail too: each gives back its place and takes it again. */
    t.attempt = 2;
    for (int i = 0; i < 3; i++) {
        tg_retry_end(r, &p, &t, 0, 1, &d);
        TG_EXPECT_EQ(d.verdict, TG_RETRY_AGAIN);
    }
    t.attempt = 3;
    for (int i = 0; i < 3; i++) {
        tg_retry_end(r, &p, &t, 0, 1, &d);
        TG_EXPECT_EQ(d.verdict, TG_RETRY_EXHAUSTED);
    }
    tg_retry_read(r, &st);
    TG_EXPECT_EQ(st.retries_inflight, 0);
    /* 1200 tries in flight: 200 retries among 1000 first tries at most. */
    t.attempt = 1;
    t.inflight = 1200;
    granted = 0;
    for (int i = 0; i < 300; i++) {
        tg_retry_end(r, &p, &t, 0, 1, &d);
        granted += d.verdict == TG_RETRY_AGAIN;
    }
    TG_EXPECT_EQ(granted, 200);
    tg_retry_free(r);
}

/* Lock-step rounds over a 100 % failing upstream: 4 threads × 64 requests in flight.
 * Each round every try fails (connect error); a retry, if granted, is that slot's next
 * try, else the request is over and a new one starts. Every try lasts one round, so
 * tries in flight are a rate, and the budget on concurrency becomes the bound on load:
 * retries / first tries <= 20 %. */
#define RB_THREADS 4
#define RB_SLOTS 64
#define RB_ROUNDS 300

static struct tg_retry *rb;
static struct tg_retry_params rb_p;
static pthread_barrier_t rb_barrier;
static atomic_ullong rb_first, rb_retries;
static atomic_uint rb_inflight; /* tries in flight: what the proxy counts per server */

static void *rb_worker(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
    uint32_t attempt[RB_SLOTS];
    uint64_t first = 0, retries = 0;
    for (int i = 0; i < RB_SLOTS; i++) {
        atomic_fetch_add(&rb_inflight, 1);
        attempt[i] = 1;
        first++;
    }
    pthread_barrier_wait(&rb_barrier);
    for (int round = 0; round < RB_ROUNDS; round++) {
        for (int i = 0; i < RB_SLOTS; i++) {
            struct tg_retry_try t = try_of(attempt[i], TG_RETRY_CONNECT, 0);
            struct tg_retry_decision d;
            t.inflight = atomic_fetch_sub(&rb_inflight, 1) - 1;
            seed ^= seed >> 12, seed ^= seed << 25, seed ^= seed >> 27;
            tg_retry_end(rb, &rb_p, &t, 0, seed, &d);
            if (d.verdict == TG_RETRY_AGAIN) {
                attempt[i]++;
                retries++;
            } else {
                attempt[i] = 1;
                first++;
            }
            atomic_fetch_add(&rb_inflight, 1); /* the slot's next try */
        }
        pthread_barrier_wait(&rb_barrier);
    }
    for (int i = 0; i < RB_SLOTS; i++) {
        struct tg_retry_try t = try_of(attempt[i], TG_RETRY_OK, 200);
        struct tg_retry_decision d;
        t.inflight = atomic_fetch_sub(&rb_inflight, 1) - 1;
        tg_retry_end(rb, &rb_p, &t, 0, 0, &d);
    }
    atomic_fetch_add(&rb_first, first);
    atomic_fetch_add(&rb_retries, retries);
    return NULL;
}

static void test_budget_threads(void)
{
    tg_retry_params_init(&rb_p);
    TG_EXPECT_EQ(tg_retry_new(&rb), 0);
    pthread_barrier_init(&rb_barrier, NULL, RB_THREADS);
    pthread_t th[RB_THREADS];
    for (uintptr_t i = 0; i < RB_THREADS; i++)
        pthread_create(&th[i], NULL, rb_worker, (void *)(i + 1));
    for (int i = 0; i < RB_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&rb_barrier);
    unsigned long long first = atomic_load(&rb_first), retries = atomic_load(&rb_retries);
    printf("100%% failing: %llu first tries, %llu retries (%.1f %% extra)\n", first, retries,
           100.0 * (double)retries / (double)first);
    TG_EXPECT_LE(retries * 100, first * 20);
    TG_EXPECT_GE(retries * 100, first * 15); /* the budget is used, not starved */
    struct tg_retry_stats st;
    tg_retry_read(rb, &st);
    TG_EXPECT_EQ(st.retries_inflight, 0);
    TG_EXPECT_EQ(st.retries_total, retries);
    TG_EXPECT_GT(st.no_budget_total, 0);
    tg_retry_free(rb);
}

int main(void)
{
    test_worth();
    test_backoff();
    test_attempts_and_deadline();
    test_budget();
    test_budget_threads();
    return tg_test_report("protect/retry");
}
