/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/conclimit.{h,c}: hard and soft limits, tier shares, the
 * queue (highest tier first, then oldest; timeouts; no jumping the queue; order across
 * workers), the adaptive limit and new parameters applied to live state, a synthetic
 * overload where sheddable goes first and critical keeps its success rate, and threads
 * hammering one limiter that never see more than the limit in flight or the queue bound
 * parked. */
#include "protect/conclimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tg_test.h"

#define MS 1000

static struct tg_conclimit *new_limiter(void)
{
    struct tg_conclimit *cl = NULL;
    TG_EXPECT_EQ(tg_conclimit_new(&cl), 0);
    return cl;
}

static enum tg_conclimit_verdict admit(struct tg_conclimit *cl, const struct tg_conclimit_params *p,
                                       enum tg_conclimit_tier t, enum tg_conclimit_reason *r)
{
    return tg_conclimit_admit(cl, p, NULL, NULL, t, 0, r);
}

static void test_hard_and_soft(void)
{
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 10;
    p.soft_limit = 8;
    struct tg_conclimit *cl = new_limiter();
    enum tg_conclimit_reason r = TG_CONCLIMIT_R_COUNT;
    for (int i = 0; i < 8; i++)
        TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_ADMIT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_ADMIT_SOFT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_ADMIT_SOFT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_LIMIT);
    TG_EXPECT(!tg_conclimit_release(cl)); /* nobody waits */
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_ADMIT_SOFT);
    struct tg_conclimit_stats st;
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.inflight, 10);
    TG_EXPECT_EQ(st.limit, 10);
    TG_EXPECT_EQ(st.soft_limit, 8);
    TG_EXPECT_EQ(st.admitted_soft, 3);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_LIMIT][TG_CONCLIMIT_CRITICAL], 1);
    TG_EXPECT_EQ(tg_conclimit_take_peak(cl), 10);
    for (int i = 0; i < 10; i++)
        tg_conclimit_release(cl);
    TG_EXPECT_EQ(tg_conclimit_take_peak(cl), 10); /* the peak since the previous take */
    TG_EXPECT_EQ(tg_conclimit_take_peak(cl), 0);
    /* No limit configured: everything is admitted, and still counted. */
    tg_conclimit_params_init(&p);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_SHEDDABLE, &r), TG_CONCLIMIT_ADMIT);
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.inflight, 1);
    TG_EXPECT_EQ(st.limit, 0);
    tg_conclimit_free(cl);
}

/* Hard 100, soft 80, shares {100, 90, 80}: sheddable stops at 80, standard at 90,
 * critical at 100, each refusal below the hard limit counted as shed. */
static void test_tier_shares(void)
{
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 100;
    p.soft_limit = 80;
    struct tg_conclimit *cl = new_limiter();
    enum tg_conclimit_reason r;
    for (int i = 0; i < 80; i++)
        TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_SHEDDABLE, &r), TG_CONCLIMIT_ADMIT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_SHEDDABLE, &r), TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_SHED);
    for (int i = 80; i < 90; i++)
        TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_STANDARD, &r), TG_CONCLIMIT_ADMIT_SOFT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_STANDARD, &r), TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_SHED);
    for (int i = 90; i < 100; i++)
        TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_ADMIT_SOFT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_LIMIT);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_SHEDDABLE, &r), TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_LIMIT);
    struct tg_conclimit_stats st;
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_SHED][TG_CONCLIMIT_SHEDDABLE], 1);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_SHED][TG_CONCLIMIT_STANDARD], 1);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_LIMIT][TG_CONCLIMIT_CRITICAL], 1);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_LIMIT][TG_CONCLIMIT_SHEDDABLE], 1);
    TG_EXPECT_STREQ(tg_conclimit_tier_name(TG_CONCLIMIT_SHEDDABLE), "sheddable");
    TG_EXPECT_STREQ(tg_conclimit_reason_name(TG_CONCLIMIT_R_QUEUE_TIMEOUT), "queue_timeout");
    TG_EXPECT(tg_conclimit_tier_name(TG_CONCLIMIT_TIERS) == NULL);
    tg_conclimit_free(cl);
}

/* Hard 2, queue 3: the queue fills, is served highest tier first and oldest first within
 * a tier, and a waiter not served within the timeout expires on time. */
static void test_queue(void)
{
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 2;
    p.queue_max = 3;
    p.queue_timeout_us = 100 * MS;
    struct tg_conclimit *cl = new_limiter();
    struct tg_conclimit_queue q;
    tg_conclimit_queue_init(&q);
    struct tg_conclimit_waiter w[8];
    enum tg_conclimit_reason r;
    int64_t t0 = 5000 * MS;
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[0], TG_CONCLIMIT_STANDARD, t0, &r),
                 TG_CONCLIMIT_ADMIT);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[1], TG_CONCLIMIT_CRITICAL, t0, &r),
                 TG_CONCLIMIT_ADMIT);
    TG_EXPECT_EQ(tg_conclimit_next_deadline(&p, &q), INT64_MAX);
    /* Standard may use ceil(90 % of 3) = 3 places: all of them here. */
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[2], TG_CONCLIMIT_STANDARD, t0 + 1 * MS, &r),
                 TG_CONCLIMIT_QUEUE);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[3], TG_CONCLIMIT_STANDARD, t0 + 2 * MS, &r),
                 TG_CONCLIMIT_QUEUE);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[4], TG_CONCLIMIT_SHEDDABLE, t0 + 3 * MS, &r),
                 TG_CONCLIMIT_REJECT); /* sheddable never waits */
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_LIMIT);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[5], TG_CONCLIMIT_CRITICAL, t0 + 4 * MS, &r),
                 TG_CONCLIMIT_QUEUE);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[6], TG_CONCLIMIT_CRITICAL, t0 + 5 * MS, &r),
                 TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_QUEUE_FULL);
    TG_EXPECT_EQ(tg_conclimit_next_deadline(&p, &q), t0 + 101 * MS);
    struct tg_conclimit_waiter *out = NULL;
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q, t0 + 6 * MS, &out), TG_CONCLIMIT_POLL_NONE);
    /* A slot frees: the critical waiter goes first although it came last. */
    TG_EXPECT(tg_conclimit_release(cl));
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q, t0 + 7 * MS, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &w[5]);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q, t0 + 7 * MS, &out), TG_CONCLIMIT_POLL_NONE);
    tg_conclimit_release(cl);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q, t0 + 8 * MS, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &w[2]); /* then the oldest standard */
    /* w[3] waits on: it expires exactly at its timeout, not a microsecond before. */
    TG_EXPECT_EQ(tg_conclimit_next_deadline(&p, &q), t0 + 102 * MS);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q, t0 + 102 * MS - 1, &out), TG_CONCLIMIT_POLL_NONE);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q, t0 + 102 * MS, &out), TG_CONCLIMIT_POLL_EXPIRED);
    TG_EXPECT(out == &w[3]);
    TG_EXPECT_EQ(q.n, 0);
    struct tg_conclimit_stats st;
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.inflight, 2);
    TG_EXPECT_EQ(st.queued, 0);
    TG_EXPECT_EQ(st.queued_total, 3);
    TG_EXPECT_EQ(st.dequeued_total, 2);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_QUEUE_TIMEOUT][TG_CONCLIMIT_STANDARD], 1);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_QUEUE_FULL][TG_CONCLIMIT_CRITICAL], 1);
    /* A cancelled waiter leaves no trace in the shared count. */
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q, &w[7], TG_CONCLIMIT_STANDARD, t0, &r),
                 TG_CONCLIMIT_QUEUE);
    tg_conclimit_cancel(cl, &q, &w[7]);
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.queued, 0);
    TG_EXPECT_EQ(q.n, 0);
    tg_conclimit_free(cl);
}

/* While anyone waits, a newcomer of the same or a lower tier queues behind them even if
 * a slot is free; a higher tier goes straight in. Across workers, a worker whose best
 * waiter is standard leaves a free slot to the worker holding a critical waiter. */
static void test_queue_order_across_workers(void)
{
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 1;
    p.queue_max = 10;
    p.queue_timeout_us = 1000 * MS;
    struct tg_conclimit *cl = new_limiter();
    struct tg_conclimit_queue q1, q2;
    tg_conclimit_queue_init(&q1);
    tg_conclimit_queue_init(&q2);
    struct tg_conclimit_waiter w[6];
    enum tg_conclimit_reason r;
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q1, &w[0], TG_CONCLIMIT_STANDARD, 0, &r),
                 TG_CONCLIMIT_ADMIT);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q1, &w[1], TG_CONCLIMIT_STANDARD, 1, &r),
                 TG_CONCLIMIT_QUEUE);
    tg_conclimit_release(cl); /* free now, but worker 1 has not polled yet */
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q2, &w[2], TG_CONCLIMIT_STANDARD, 2, &r),
                 TG_CONCLIMIT_QUEUE);
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q2, &w[3], TG_CONCLIMIT_SHEDDABLE, 2, &r),
                 TG_CONCLIMIT_REJECT);
    TG_EXPECT_EQ(r, TG_CONCLIMIT_R_SHED); /* below the limit, refused for its tier */
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q2, &w[4], TG_CONCLIMIT_CRITICAL, 3, &r),
                 TG_CONCLIMIT_ADMIT);
    /* Worker 2 parks a critical waiter; a slot frees; worker 1 (standard) must leave
     * it to worker 2, whatever the order they poll in. */
    TG_EXPECT_EQ(tg_conclimit_admit(cl, &p, &q2, &w[5], TG_CONCLIMIT_CRITICAL, 4, &r),
                 TG_CONCLIMIT_QUEUE);
    tg_conclimit_release(cl);
    struct tg_conclimit_waiter *out;
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q1, 5, &out), TG_CONCLIMIT_POLL_NONE);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q2, 5, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &w[5]);
    tg_conclimit_release(cl);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q1, 6, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &w[1]);
    tg_conclimit_release(cl);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p, &q2, 7, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &w[2]);
    tg_conclimit_release(cl);
    struct tg_conclimit_stats st;
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.inflight, 0);
    TG_EXPECT_EQ(st.queued, 0);
    tg_conclimit_free(cl);
}

/* The adaptive limit lowers the hard limit and scales the soft one; new parameters apply
 * to the requests already in flight. */
static void test_adaptive_limit_and_new_params(void)
{
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 100;
    p.soft_limit = 80;
    struct tg_conclimit *cl = new_limiter();
    tg_conclimit_set_limit(cl, 50);
    struct tg_conclimit_stats st;
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.limit, 50);
    TG_EXPECT_EQ(st.soft_limit, 40);
    enum tg_conclimit_reason r;
    int admitted = 0;
    while (admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r) != TG_CONCLIMIT_REJECT && admitted < 1000)
        admitted++;
    TG_EXPECT_EQ(admitted, 50);
    tg_conclimit_set_limit(cl, 500); /* above the configured limit: no effect */
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.limit, 100);
    /* New parameters: a limit below what is in flight refuses newcomers until enough
     * requests finish; nothing in flight is lost. */
    p.hard_limit = 45;
    p.soft_limit = 0;
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_REJECT);
    for (int i = 0; i < 6; i++)
        tg_conclimit_release(cl);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_ADMIT);
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.inflight, 45);
    TG_EXPECT_EQ(st.soft_limit, 45);
    /* An adaptive limit without a configured one. */
    tg_conclimit_params_init(&p);
    tg_conclimit_set_limit(cl, 30);
    TG_EXPECT_EQ(admit(cl, &p, TG_CONCLIMIT_CRITICAL, &r), TG_CONCLIMIT_REJECT);
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_EQ(st.limit, 30);
    tg_conclimit_free(cl);
}

static uint64_t rng = 0x853C49E6748FEA9Bull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

/* Synthetic overload, 1 ms steps: each step brings on average 40 requests (a quarter
 * critical, the rest standard and sheddable in equal parts), each holding its slot 10 ms,
 * so 400 want to be in flight against a limit of 200 (soft 160, queue 50, timeout 20 ms),
 * critical alone 100. Sheddable is shed the most, then standard; critical keeps nearly
 * all its requests. */
#define OV_STEPS 2000
#define OV_HOLD 10
#define OV_MAXHELD 4096

static void test_overload_tiers(void)
{
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 200;
    p.soft_limit = 160;
    p.queue_max = 50;
    p.queue_timeout_us = 20 * MS;
    struct tg_conclimit *cl = new_limiter();
    struct tg_conclimit_queue q;
    tg_conclimit_queue_init(&q);
    static struct tg_conclimit_waiter pool[OV_MAXHELD];
    static struct tg_conclimit_waiter *freel[OV_MAXHELD];
    uint32_t nfree = 0;
    for (uint32_t i = 0; i < OV_MAXHELD; i++)
        freel[nfree++] = &pool[i];
    static uint32_t done_at[OV_STEPS + OV_HOLD + 1]; /* slots to release at each step */
    uint64_t sent[TG_CONCLIMIT_TIERS] = {0}, served[TG_CONCLIMIT_TIERS] = {0};
    for (int step = 0; step < OV_STEPS; step++) {
        int64_t now = (int64_t)step * MS;
        for (uint32_t i = 0; i < done_at[step]; i++)
            tg_conclimit_release(cl);
        struct tg_conclimit_waiter *w;
        enum tg_conclimit_poll_result pr;
        while ((pr = tg_conclimit_poll(cl, &p, &q, now, &w)) != TG_CONCLIMIT_POLL_NONE) {
            if (pr == TG_CONCLIMIT_POLL_GRANTED) {
                served[w->tier]++;
                done_at[step + OV_HOLD]++;
            }
            freel[nfree++] = w;
        }
        uint32_t n = rnd(80);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = rnd(8);
            enum tg_conclimit_tier t = k < 2   ? TG_CONCLIMIT_CRITICAL
                                       : k < 5 ? TG_CONCLIMIT_STANDARD
                                               : TG_CONCLIMIT_SHEDDABLE;
            sent[t]++;
            TG_EXPECT_GT(nfree, 0);
            w = freel[--nfree];
            enum tg_conclimit_verdict v = tg_conclimit_admit(cl, &p, &q, w, t, now, NULL);
            if (v == TG_CONCLIMIT_QUEUE)
                continue;
            freel[nfree++] = w;
            if (v != TG_CONCLIMIT_REJECT) {
                served[t]++;
                done_at[step + OV_HOLD]++;
            }
        }
    }
    uint64_t permille[TG_CONCLIMIT_TIERS];
    for (int t = 0; t < TG_CONCLIMIT_TIERS; t++)
        permille[t] = served[t] * 1000 / sent[t];
    printf("overload success (permille): critical %llu standard %llu sheddable %llu\n",
           (unsigned long long)permille[0], (unsigned long long)permille[1],
           (unsigned long long)permille[2]);
    TG_EXPECT_GE(permille[TG_CONCLIMIT_CRITICAL], 950);
    TG_EXPECT_GT(permille[TG_CONCLIMIT_CRITICAL], permille[TG_CONCLIMIT_STANDARD] + 200);
    TG_EXPECT_GT(permille[TG_CONCLIMIT_STANDARD], permille[TG_CONCLIMIT_SHEDDABLE] + 200);
    struct tg_conclimit_stats st;
    tg_conclimit_read(cl, &p, &st);
    TG_EXPECT_LE(st.inflight, 200);
    TG_EXPECT_GT(st.rejected[TG_CONCLIMIT_R_SHED][TG_CONCLIMIT_SHEDDABLE], 0);
    TG_EXPECT_EQ(st.rejected[TG_CONCLIMIT_R_SHED][TG_CONCLIMIT_CRITICAL], 0);
    tg_conclimit_free(cl);
}

/* Threads share one limiter (hard 16, queue 8), each holding up to 12 slots at once and
 * letting them go at random: every admission and every grant is checked against a count
 * the test keeps itself (raised after the limiter admits, lowered before it releases),
 * every parking against the limiter's waiter count; neither the limit nor the queue
 * bound is ever exceeded, and everything is given back at the end. */
#define MT_THREADS 4
#define MT_ITERS 1000000
#define MT_HARD 16
#define MT_QUEUE 8
#define MT_HOLD 12

static struct tg_conclimit *mt_cl;
static struct tg_conclimit_params mt_p;
static atomic_int mt_inflight, mt_parked, mt_max_inflight, mt_max_parked;
static atomic_ullong mt_served, mt_granted;

static void note_max(atomic_int *max, int v)
{
    int m = atomic_load(max);
    while (v > m && !atomic_compare_exchange_weak(max, &m, v))
        ;
}

static void mt_take(int *held)
{
    note_max(&mt_max_inflight, atomic_fetch_add(&mt_inflight, 1) + 1);
    atomic_fetch_add(&mt_served, 1);
    (*held)++;
}

static void *mt_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    struct tg_conclimit_queue q;
    tg_conclimit_queue_init(&q);
    struct tg_conclimit_waiter ws[MT_QUEUE + 1];
    struct tg_conclimit_waiter *freel[MT_QUEUE + 1];
    int nfree = 0, held = 0;
    for (int i = 0; i <= MT_QUEUE; i++)
        freel[nfree++] = &ws[i];
    for (int i = 0; i < MT_ITERS; i++) {
        seed = seed * 1103515245 + 12345;
        if (held > 0 && (held >= MT_HOLD || (seed >> 16) % 2)) {
            held--;
            atomic_fetch_sub(&mt_inflight, 1);
            tg_conclimit_release(mt_cl);
        } else {
            enum tg_conclimit_tier t = (enum tg_conclimit_tier)((seed >> 20) % TG_CONCLIMIT_TIERS);
            struct tg_conclimit_waiter *w = nfree ? freel[--nfree] : NULL;
            enum tg_conclimit_verdict v = tg_conclimit_admit(mt_cl, &mt_p, &q, w, t, 0, NULL);
            if (v == TG_CONCLIMIT_QUEUE) {
                /* The limiter's own count: a count kept here would lag behind grants on
                 * other threads, which give their place back inside poll. */
                struct tg_conclimit_stats st;
                tg_conclimit_read(mt_cl, &mt_p, &st);
                note_max(&mt_max_parked, (int)st.queued);
                atomic_fetch_add(&mt_parked, 1);
            } else {
                if (w)
                    freel[nfree++] = w;
                if (v != TG_CONCLIMIT_REJECT)
                    mt_take(&held);
            }
        }
        struct tg_conclimit_waiter *out;
        while (tg_conclimit_poll(mt_cl, &mt_p, &q, 0, &out) == TG_CONCLIMIT_POLL_GRANTED) {
            atomic_fetch_sub(&mt_parked, 1);
            atomic_fetch_add(&mt_granted, 1);
            freel[nfree++] = out;
            mt_take(&held);
        }
    }
    for (int t = 0; t < TG_CONCLIMIT_TIERS; t++)
        while (q.head[t]) {
            atomic_fetch_sub(&mt_parked, 1);
            tg_conclimit_cancel(mt_cl, &q, q.head[t]);
        }
    while (held-- > 0) {
        atomic_fetch_sub(&mt_inflight, 1);
        tg_conclimit_release(mt_cl);
    }
    return NULL;
}

static void test_threads_exact(void)
{
    tg_conclimit_params_init(&mt_p);
    mt_p.hard_limit = MT_HARD;
    mt_p.queue_max = MT_QUEUE;
    mt_p.queue_timeout_us = INT64_MAX / 2;
    mt_cl = new_limiter();
    pthread_t th[MT_THREADS];
    for (uintptr_t i = 0; i < MT_THREADS; i++)
        pthread_create(&th[i], NULL, mt_worker, (void *)(i + 1));
    for (int i = 0; i < MT_THREADS; i++)
        pthread_join(th[i], NULL);
    unsigned long long served = atomic_load(&mt_served), granted = atomic_load(&mt_granted);
    int max_inflight = atomic_load(&mt_max_inflight), max_parked = atomic_load(&mt_max_parked);
    printf("threads: served %llu (%llu from the queue), max in flight %d, max parked %d\n", served,
           granted, max_inflight, max_parked);
    TG_EXPECT_LE(max_inflight, MT_HARD);
    TG_EXPECT_LE(max_parked, MT_QUEUE);
    TG_EXPECT_GT(served, MT_ITERS);
    TG_EXPECT_GT(granted, 0);
    struct tg_conclimit_stats st;
    tg_conclimit_read(mt_cl, &mt_p, &st);
    TG_EXPECT_EQ(st.inflight, 0);
    TG_EXPECT_EQ(st.queued, 0);
    int parked = atomic_load(&mt_parked);
    TG_EXPECT_EQ(parked, 0);
    tg_conclimit_free(mt_cl);
}

int main(void)
{
    test_hard_and_soft();
    test_tier_shares();
    test_queue();
    test_queue_order_across_workers();
    test_adaptive_limit_and_new_params();
    test_overload_tiers();
    test_threads_exact();
    return tg_test_report("protect/conclimit");
}
