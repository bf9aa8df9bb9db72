/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/outlier.{h,c}: ejection on errors in a row (which errors
 * count), ejection time growing on repeat and forgiven with time, the cap on servers out
 * at once (at least one, never all), the latency rule against the median, slow start's
 * ramp, state carried into a new snapshot's object, and threads ejecting concurrently
 * that never put more servers out than the cap, with ejections coming and going. */
#include "protect/outlier.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "tg_test.h"

#define MS 1000LL
#define S 1000000LL

static const struct tg_outlier_result gw_err = {.kind = TG_OUTLIER_CONNECT};

static struct tg_outlier_result response(int status, int64_t latency_us)
{
    return (struct tg_outlier_result){
        .kind = TG_OUTLIER_RESPONSE, .status = status, .latency_us = latency_us};
}

static struct tg_outlier *new_outlier(uint32_t n)
{
    struct tg_outlier *o = NULL;
    TG_EXPECT_EQ(tg_outlier_new(n, &o), 0);
    return o;
}

/* Errors until (and including) the one that ejects; returns how many it took. */
static int errors_to_eject(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i,
                           int64_t now)
{
    for (int k = 1; k <= 100; k++)
        if (tg_outlier_observe(o, p, i, now, &gw_err))
            return k;
    return -1;
}

static void test_consecutive_errors(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    struct tg_outlier *o = new_outlier(4);
    int64_t t = 1000 * S;
    struct tg_outlier_result ok = response(200, 2 * MS), e500 = response(500, 2 * MS);
    for (int k = 0; k < 4; k++)
        TG_EXPECT(!tg_outlier_observe(o, &p, 0, t, &gw_err));
    TG_EXPECT(!tg_outlier_observe(o, &p, 0, t, &ok)); /* the run is broken */
    for (int k = 0; k < 10; k++)
        TG_EXPECT(!tg_outlier_observe(o, &p, 0, t, &e500)); /* the API's own error */
    struct tg_outlier_result e503 = response(503, 1 * MS);
    for (int k = 0; k < 4; k++)
        TG_EXPECT(!tg_outlier_observe(o, &p, 0, t, &e503));
    TG_EXPECT(tg_outlier_observe(o, &p, 0, t, &e503)); /* the fifth in a row */
    TG_EXPECT(!tg_outlier_usable(o, 0, t));
    TG_EXPECT(tg_outlier_usable(o, 1, t));
    /* Outcomes that come back while it is out are ignored. */
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t + 1 * S), -1);
    TG_EXPECT(!tg_outlier_usable(o, 0, t + 30 * S - 1));
    TG_EXPECT(tg_outlier_usable(o, 0, t + 30 * S));
    /* count_5xx: a 500 counts too. */
    p.count_5xx = true;
    for (int k = 0; k < 4; k++)
        TG_EXPECT(!tg_outlier_observe(o, &p, 1, t, &e500));
    TG_EXPECT(tg_outlier_observe(o, &p, 1, t, &e500));
    struct tg_outlier_stats st;
    tg_outlier_read(o, t, &st);
    TG_EXPECT_EQ(st.servers, 4);
    TG_EXPECT_EQ(st.ejected_now, 2);
    TG_EXPECT_EQ(st.ejections_total[TG_OUTLIER_R_ERRORS], 2);
    /* consecutive_errors 0: never. */
    p.consecutive_errors = 0;
    TG_EXPECT_EQ(errors_to_eject(o, &p, 2, t), -1);
    TG_EXPECT_STREQ(tg_outlier_reason_name(TG_OUTLIER_R_LATENCY), "latency");
    tg_outlier_free(o);
}

/* Base 30 s, cap 100 s: 30, 60, 90, 100, 100 s for a server failing each time it comes
 * back; then each max_eject it stays in forgives one ejection. */
static void test_ejection_growth(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    p.max_eject_us = 100 * S;
    struct tg_outlier *o = new_outlier(2);
    int64_t t = 1000 * S;
    static const int64_t want[] = {30 * S, 60 * S, 90 * S, 100 * S, 100 * S};
    for (int k = 0; k < 5; k++) {
        TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t), 5);
        struct tg_outlier_server_stats ss;
        tg_outlier_read_server(o, &p, 0, t, &ss);
        TG_EXPECT(ss.ejected);
        TG_EXPECT_EQ(ss.ejected_until_us - t, want[k]);
        TG_EXPECT_EQ(ss.times_ejected, k + 1);
        t = ss.ejected_until_us;
    }
    /* Five ejections counted; 2000 s in service with a 1000 s max_eject forgive two:
     * the next ejection counts as the fourth, 4 × 30 s. */
    p.max_eject_us = 1000 * S;
    t += 2000 * S;
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t), 5);
    struct tg_outlier_server_stats ss;
    tg_outlier_read_server(o, &p, 0, t, &ss);
    TG_EXPECT_EQ(ss.times_ejected, 4);
    TG_EXPECT_EQ(ss.ejected_until_us - t, 120 * S);
    tg_outlier_free(o);
}

/* 4 servers at 50 %: two out at once, the third refused until one comes back. 2 servers
 * at 100 %: one. 1 server: never. 3 servers at 10 %: still one. */
static void test_cap(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    struct tg_outlier *o = new_outlier(4);
    int64_t t = 1000 * S;
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t), 5);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 1, t + 10 * S), 5);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 2, t + 20 * S), -1);
    struct tg_outlier_stats st;
    tg_outlier_read(o, t + 20 * S, &st);
    TG_EXPECT_EQ(st.ejected_now, 2);
    TG_EXPECT_EQ(st.cap_refused_total, 20); /* every run of 5 in 100 errors */
    /* Server 0 is back at t + 30 s: its place is free again. */
    TG_EXPECT_EQ(errors_to_eject(o, &p, 2, t + 30 * S), 5);
    tg_outlier_read(o, t + 30 * S, &st);
    TG_EXPECT_EQ(st.ejected_now, 2);
    tg_outlier_free(o);

    p.max_ejection_pct = 100;
    o = new_outlier(2);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t), 5);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 1, t), -1); /* never all */
    tg_outlier_free(o);
    o = new_outlier(1);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t), -1);
    tg_outlier_free(o);
    p.max_ejection_pct = 10;
    o = new_outlier(3);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 2, t), 5);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 1, t), -1);
    tg_outlier_free(o);
}

static void feed(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i, int64_t t,
                 int n, int64_t latency_us)
{
    struct tg_outlier_result r = response(200, latency_us);
    for (int k = 0; k < n; k++)
        tg_outlier_observe(o, p, i, t, &r);
}

/* Latency: with 5 servers at 10 ms, one at 50 ms is ejected by the sweep; not before
 * three peers have 20 samples each; not when it is slow by less than 5 ms in absolute
 * terms; with two slow servers and room for one, the slower goes. */
static void test_latency(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    struct tg_outlier *o = new_outlier(6);
    int64_t t = 1000 * S;
    feed(o, &p, 0, t, 50, 50 * MS);
    feed(o, &p, 1, t, 50, 10 * MS);
    feed(o, &p, 2, t, 19, 10 * MS);
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t), 0); /* two servers with enough samples */
    feed(o, &p, 2, t, 1, 10 * MS);
    feed(o, &p, 3, t, 30, 10 * MS);
    feed(o, &p, 4, t, 30, 11 * MS);
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t), 1);
    TG_EXPECT(!tg_outlier_usable(o, 0, t));
    struct tg_outlier_stats st;
    tg_outlier_read(o, t, &st);
    TG_EXPECT_EQ(st.ejections_total[TG_OUTLIER_R_LATENCY], 1);
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t + 1 * S), 0); /* the rest are alike */
    tg_outlier_free(o);

    /* 1 ms against 4 ms: four times slower, but only 3 ms: not an outlier. */
    o = new_outlier(3);
    feed(o, &p, 0, t, 30, 1 * MS);
    feed(o, &p, 1, t, 30, 1 * MS);
    feed(o, &p, 2, t, 30, 4 * MS);
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t), 0);
    p.latency_min_excess_us = 0;
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t), 1);
    p.latency_factor = 0; /* off */
    feed(o, &p, 1, t, 30, 100 * MS);
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t), 0);
    tg_outlier_free(o);

    /* Two slow servers of five, room for one (20 %): the slower one goes. */
    tg_outlier_params_init(&p);
    p.max_ejection_pct = 20;
    o = new_outlier(5);
    feed(o, &p, 0, t, 30, 10 * MS);
    feed(o, &p, 1, t, 30, 80 * MS);
    feed(o, &p, 2, t, 30, 10 * MS);
    feed(o, &p, 3, t, 30, 90 * MS);
    feed(o, &p, 4, t, 30, 10 * MS);
    TG_EXPECT_EQ(tg_outlier_sweep(o, &p, t), 1);
    TG_EXPECT(!tg_outlier_usable(o, 3, t));
    TG_EXPECT(tg_outlier_usable(o, 1, t));
    tg_outlier_read(o, t, &st);
    TG_EXPECT_EQ(st.cap_refused_total, 1);
    tg_outlier_free(o);
}

/* Slow start over 30 s from 10 %: linear, then with aggression 2 (square root); a return
 * the caller reports starts a ramp too, and ends an ejection early. */
static void test_slow_start(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    struct tg_outlier *o = new_outlier(3);
    int64_t t = 1000 * S;
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, t), 1000); /* never ejected */
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t), 5);
    int64_t back = t + 30 * S;
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back), 100);
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back + 1 * S), 100); /* 3 % < the 10 % floor */
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back + 15 * S), 500);
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back + 27 * S), 900);
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back + 30 * S), 1000);
    p.slow_start_aggression = 2.0;
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back + 7500 * MS), 500);
    p.slow_start_us = 0;
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, back), 1000);
    tg_outlier_params_init(&p);
    /* A return the caller reports (health checks pass again). */
    tg_outlier_returned(o, 2, back);
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 2, back + 6 * S), 200);
    struct tg_outlier_server_stats ss;
    tg_outlier_read_server(o, &p, 2, back + 6 * S, &ss);
    TG_EXPECT_EQ(ss.weight_permille, 200);
    TG_EXPECT(!ss.ejected);
    /* A return reported while ejected ends the ejection and gives its place back: with
     * room for one, another server can be ejected at once. */
    t = back + 100 * S;
    TG_EXPECT_EQ(errors_to_eject(o, &p, 1, t), 5);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 2, t + 1 * S), -1);
    tg_outlier_returned(o, 1, t + 2 * S);
    TG_EXPECT(tg_outlier_usable(o, 1, t + 2 * S));
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 1, t + 2 * S), 100);
    TG_EXPECT_EQ(errors_to_eject(o, &p, 2, t + 2 * S), 5);
    tg_outlier_free(o);
}

/* A reload builds a new object; the ejected server keeps its ejection, its count and
 * its place under the cap at its new position. */
static void test_carry(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    struct tg_outlier *old = new_outlier(4), *o = new_outlier(4);
    int64_t t = 1000 * S;
    TG_EXPECT_EQ(errors_to_eject(old, &p, 1, t), 5);
    TG_EXPECT_EQ(errors_to_eject(old, &p, 2, t), 5);
    for (uint32_t i = 0; i < 4; i++)
        tg_outlier_carry(o, (i + 1) % 4, old, i); /* the servers moved by one */
    TG_EXPECT(!tg_outlier_usable(o, 2, t + 1 * S));
    TG_EXPECT(!tg_outlier_usable(o, 3, t + 1 * S));
    TG_EXPECT_EQ(errors_to_eject(o, &p, 0, t + 1 * S), -1); /* the cap is still full */
    struct tg_outlier_server_stats ss;
    tg_outlier_read_server(o, &p, 2, t, &ss);
    TG_EXPECT_EQ(ss.times_ejected, 1);
    TG_EXPECT_EQ(ss.ejected_until_us, t + 30 * S);
    /* The upstream's counters follow into the new object (a reload never lowers them). */
    struct tg_outlier_stats st;
    tg_outlier_carry_totals(o, old);
    tg_outlier_read(o, t, &st);
    TG_EXPECT_EQ(st.ejections_total[TG_OUTLIER_R_ERRORS], 2);
    TG_EXPECT_EQ(st.cap_refused_total, 20); /* errors_to_eject on server 0 ran 100 times */
    tg_outlier_free(old);
    tg_outlier_free(o);
}

/* A server that never returned has no ramp, whatever the clock says (a monotonic clock
 * may be small after boot); returning ends an ejection and its run of errors. */
static void test_returned(void)
{
    struct tg_outlier_params p;
    tg_outlier_params_init(&p);
    struct tg_outlier *o = new_outlier(3);
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 0, 1 * S), 1000);
    for (int k = 0; k < 4; k++)
        TG_EXPECT(!tg_outlier_observe(o, &p, 1, 10 * S, &gw_err));
    tg_outlier_returned(o, 1, 10 * S);
    TG_EXPECT_EQ(tg_outlier_weight(o, &p, 1, 10 * S), 100);
    TG_EXPECT(!tg_outlier_observe(o, &p, 1, 10 * S, &gw_err)); /* the run started over */
    TG_EXPECT_EQ(errors_to_eject(o, &p, 1, 10 * S), 4);
    tg_outlier_free(o);
}

/* Threads feed errors to random servers of 16 (cap 50 %: 8) in lock-step rounds of 1 ms
 * while ejections of 1 to 3 ms come and go; after every round, at most 8 are out, and
 * every ejection a thread was told of is counted once. */
#define OT_THREADS 4
#define OT_SERVERS 16
#define OT_ROUNDS 2000
#define OT_PER_ROUND 64

static struct tg_outlier *ot;
static struct tg_outlier_params ot_p;
static pthread_barrier_t ot_barrier;
static atomic_int ot_max_out;
static atomic_ullong ot_ejections;

static void *ot_worker(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < OT_ROUNDS; round++) {
        int64_t now = 1000 * S + round * MS;
        for (int k = 0; k < OT_PER_ROUND; k++) {
            seed ^= seed >> 12, seed ^= seed << 25, seed ^= seed >> 27;
            uint32_t i = (uint32_t)((seed * 0x2545F4914F6CDD1Dull) >> 33) % OT_SERVERS;
            if (tg_outlier_observe(ot, &ot_p, i, now, &gw_err))
                atomic_fetch_add(&ot_ejections, 1);
        }
        pthread_barrier_wait(&ot_barrier);
        if (arg == (void *)1) {
            struct tg_outlier_stats st;
            tg_outlier_read(ot, now, &st);
            int m = atomic_load(&ot_max_out);
            if ((int)st.ejected_now > m)
                atomic_store(&ot_max_out, (int)st.ejected_now);
        }
        pthread_barrier_wait(&ot_barrier);
    }
    return NULL;
}

static void test_cap_threads(void)
{
    tg_outlier_params_init(&ot_p);
    ot_p.consecutive_errors = 1;
    ot_p.max_ejection_pct = 50;
    ot_p.base_eject_us = 1 * MS;
    ot_p.max_eject_us = 3 * MS;
    ot = new_outlier(OT_SERVERS);
    pthread_barrier_init(&ot_barrier, NULL, OT_THREADS);
    pthread_t th[OT_THREADS];
    for (uintptr_t i = 0; i < OT_THREADS; i++)
        pthread_create(&th[i], NULL, ot_worker, (void *)(i + 1));
    for (int i = 0; i < OT_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&ot_barrier);
    struct tg_outlier_stats st;
    tg_outlier_read(ot, 1000 * S + OT_ROUNDS * MS, &st);
    unsigned long long ej = atomic_load(&ot_ejections);
    int max_out = atomic_load(&ot_max_out);
    printf("threads: %llu ejections, at most %d out at once, %llu refused by the cap\n", ej,
           max_out, (unsigned long long)st.cap_refused_total);
    TG_EXPECT_EQ(max_out, 8);
    TG_EXPECT_EQ(st.ejections_total[TG_OUTLIER_R_ERRORS], ej);
    TG_EXPECT_GT(ej, OT_ROUNDS * 2); /* they came and went */
    TG_EXPECT_GT(st.cap_refused_total, 0);
    tg_outlier_free(ot);
}

/* Threads race to eject: for each of many fresh upstreams (8 servers, room for one
 * ejection), every thread ejects its own server at the same instant (they spin on a
 * shared start signal, so the running ones really do collide). Exactly one wins each
 * time. */
#define OR_ROUNDS 10000

static struct tg_outlier *or_obj[OR_ROUNDS];
static atomic_int or_go = -1, or_done;

static void *or_worker(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    for (int r = 0; r < OR_ROUNDS; r++) {
        for (int spin = 0; atomic_load(&or_go) < r; spin++)
            if (spin > 1000)
                sched_yield();
        tg_outlier_observe(or_obj[r], &ot_p, me, 1000 * S, &gw_err);
        atomic_fetch_add(&or_done, 1);
    }
    return NULL;
}

static void test_race_threads(void)
{
    tg_outlier_params_init(&ot_p);
    ot_p.consecutive_errors = 1;
    ot_p.max_ejection_pct = 10;
    for (int r = 0; r < OR_ROUNDS; r++)
        or_obj[r] = new_outlier(8);
    pthread_t th[OT_THREADS];
    for (uintptr_t i = 0; i < OT_THREADS; i++)
        pthread_create(&th[i], NULL, or_worker, (void *)i);
    int more = 0, none = 0;
    for (int r = 0; r < OR_ROUNDS; r++) {
        atomic_store(&or_go, r);
        while (atomic_load(&or_done) < (r + 1) * OT_THREADS)
            sched_yield();
        struct tg_outlier_stats st;
        tg_outlier_read(or_obj[r], 1000 * S, &st);
        more += st.ejected_now > 1;
        none += st.ejected_now == 0;
    }
    for (int i = 0; i < OT_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int r = 0; r < OR_ROUNDS; r++)
        tg_outlier_free(or_obj[r]);
    TG_EXPECT_EQ(more, 0);
    TG_EXPECT_EQ(none, 0);
}

int main(void)
{
    test_consecutive_errors();
    test_ejection_growth();
    test_cap();
    test_latency();
    test_slow_start();
    test_carry();
    test_returned();
    test_cap_threads();
    test_race_threads();
    return tg_test_report("protect/outlier");
}
