/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/ratelimit_table.c through the per-key scopes of
 * ratelimit.h: a noisy client is limited while a quiet one is not, routes and address
 * families are separate keys, a million distinct clients pass through a small table in
 * bounded memory without freeing a limited client, live evictions are counted, and worker
 * threads keep one key's limit exact while other keys churn through its neighbourhood. */
#include "protect/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "tg_test.h"

#define S 1000000LL

static struct tg_ratelimit *mk(enum tg_ratelimit_scope scope, enum tg_ratelimit_algo algo,
                               uint64_t limit, int64_t period_us, uint32_t burst, size_t capacity)
{
    struct tg_ratelimit_params p;
    tg_ratelimit_params_default(&p);
    p.algo = algo;
    p.limit = limit;
    p.period_us = period_us;
    p.burst = burst;
    struct tg_ratelimit *rl = NULL;
    TG_EXPECT_EQ(tg_ratelimit_new(&p, scope, capacity, 0x5eed, NULL, &rl), 0);
    return rl;
}

/* 10.0.x.y for n = x * 256 + y, as an IPv4-mapped address. */
static struct tg_ratelimit_key v4(uint32_t n)
{
    struct tg_ratelimit_key k = {.ip = {[10] = 0xff, [11] = 0xff, [12] = 10}};
    k.ip[13] = (uint8_t)(n >> 16);
    k.ip[14] = (uint8_t)(n >> 8);
    k.ip[15] = (uint8_t)n;
    return k;
}

static bool take(struct tg_ratelimit *rl, int64_t now, struct tg_ratelimit_key k)
{
    struct tg_ratelimit_verdict v;
    return tg_ratelimit_take(rl, now, &k, &v);
}

/* The runbooks' /api/ rule, 100 per 900 s per client IP: a client sending 1000 requests
 * gets 100, one sending 5 gets all 5, in the same window. */
static void test_noisy_and_quiet(void)
{
    struct tg_ratelimit *rl =
        mk(TG_RATELIMIT_CLIENT_IP, TG_RATELIMIT_FIXED_WINDOW, 100, 900 * S, 1, 1024);
    int noisy = 0, quiet = 0;
    for (int i = 0; i < 1000; i++) {
        noisy += take(rl, 1000 * S + i * 1000, v4(1));
        if (i % 200 == 0)
            quiet += take(rl, 1000 * S + i * 1000, v4(2));
    }
    TG_EXPECT_EQ(noisy, 100);
    TG_EXPECT_EQ(quiet, 5);
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_EQ(st.hits_total, 900);
    TG_EXPECT_EQ(st.used, 2);
    TG_EXPECT_EQ(st.capacity, 1024);
    TG_EXPECT_EQ(tg_ratelimit_count_live(rl, 1000 * S), 2);
    TG_EXPECT_EQ(tg_ratelimit_count_live(rl, 1800 * S), 0); /* the window has ended */
    /* ::ffff:10.0.0.1 and the IPv6 address with the same low bytes are two clients. */
    struct tg_ratelimit_key six = v4(1);
    six.ip[10] = six.ip[11] = 0;
    six.ip[0] = 0x20;
    six.ip[1] = 0x01;
    TG_EXPECT(take(rl, 1000 * S, six));
    tg_ratelimit_free(rl);

    /* GCRA per client IP: 60 per minute, burst 5, offered 10 a second for 100 s. */
    rl = mk(TG_RATELIMIT_CLIENT_IP, TG_RATELIMIT_GCRA, 60, 60 * S, 5, 64);
    noisy = quiet = 0;
    for (int64_t t = 0; t < 100 * S; t += 100000) {
        noisy += take(rl, 5 * S + t, v4(7));
        if (t % (2 * S) == 0)
            quiet += take(rl, 5 * S + t, v4(8));
    }
    TG_EXPECT_EQ(noisy, 100 + 4);
    TG_EXPECT_EQ(quiet, 50);
    TG_EXPECT_EQ(tg_ratelimit_count_live(rl, 5 * S + 100 * S), 1); /* the noisy one */
    tg_ratelimit_free(rl);
}

static void test_routes(void)
{
    struct tg_ratelimit *rl = mk(TG_RATELIMIT_ROUTE, TG_RATELIMIT_FIXED_WINDOW, 3, 60 * S, 1, 64);
    struct tg_ratelimit_key a = {.route = 1}, b = {.route = 2};
    int got_a = 0, got_b = 0;
    for (int i = 0; i < 10; i++) {
        got_a += take(rl, 60 * S, a);
        b.ip[15] = (uint8_t)i; /* the address does not matter for ROUTE */
        got_b += take(rl, 60 * S, b);
    }
    TG_EXPECT_EQ(got_a, 3);
    TG_EXPECT_EQ(got_b, 3);
    tg_ratelimit_free(rl);
}

/* A million distinct clients, one request each, through a 4096-entry table, while one
 * client keeps sending at ten times its rate: memory stays that of 4096 entries, and the
 * busy client is limited exactly as if alone (the one-off clients' entries expire after a
 * second and are taken first; a limited client's entry has the most to lose). */
static void test_million_keys_small_table(void)
{
    struct tg_ratelimit *rl = mk(TG_RATELIMIT_CLIENT_IP, TG_RATELIMIT_GCRA, 60, 60 * S, 5, 4096);
    int busy = 0, once = 0;
    int64_t t0 = 10 * S;
    for (uint32_t i = 0; i < 1000000; i++) {
        int64_t now = t0 + (int64_t)i * 1000; /* 1000 new clients a second, 1000 s */
        once += take(rl, now, v4(100 + i));
        if (i % 100 == 0)
            busy += take(rl, now, v4(1)); /* 10 a second */
    }
    TG_EXPECT_EQ(once, 1000000);
    TG_EXPECT_EQ(busy, 1000 + 4);
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_EQ(st.capacity, 4096);
    TG_EXPECT_LE(st.used, 4096);
    TG_EXPECT_LE(st.bytes, 4096 * 16 + 1024);
    TG_EXPECT_GE(st.evictions_total, 1000000 - 4096);
    /* About 1000 clients are live at any time, two per 8-entry block on average; a block
     * now and then has eight (Poisson), and then a one-off client's second goes. */
    TG_EXPECT_LT(st.evictions_live_total, 5000);
    TG_EXPECT_EQ(st.hits_total, 10000 - 1004);
    tg_ratelimit_free(rl);

    /* 100,000 new clients a second through 64 entries: live state must go, and is
     * counted, but not that of the busy client, which is being limited (its state runs
     * four seconds ahead, a one-off client's one). It spends its burst first. */
    rl = mk(TG_RATELIMIT_CLIENT_IP, TG_RATELIMIT_GCRA, 60, 60 * S, 5, 64);
    busy = 0;
    for (int i = 0; i < 10; i++)
        busy += take(rl, t0, v4(1));
    TG_EXPECT_EQ(busy, 5);
    for (uint32_t i = 0; i < 1000000; i++) {
        int64_t now = t0 + (int64_t)i * 10;
        take(rl, now, v4(100 + i));
        if (i % 10000 == 0)
            busy += take(rl, now, v4(1)); /* 10 a second for 10 s: one a second passes */
    }
    TG_EXPECT_EQ(busy, 5 + 9);
    tg_ratelimit_read(rl, &st);
    TG_EXPECT_GT(st.evictions_live_total, 900000);
    TG_EXPECT_LE(st.bytes, 64 * 16 + 1024);
    tg_ratelimit_free(rl);
}

/* A change of algorithm voids every entry at once. */
static void test_params_change_voids_entries(void)
{
    struct tg_ratelimit *rl =
        mk(TG_RATELIMIT_CLIENT_IP, TG_RATELIMIT_FIXED_WINDOW, 2, 60 * S, 1, 64);
    TG_EXPECT(take(rl, 60 * S, v4(1)));
    TG_EXPECT(take(rl, 60 * S, v4(1)));
    TG_EXPECT(!take(rl, 60 * S, v4(1)));
    struct tg_ratelimit_params p;
    tg_ratelimit_params_default(&p);
    p.limit = 2;
    p.burst = 2;
    TG_EXPECT_EQ(tg_ratelimit_set_params(rl, &p, NULL), 0);
    TG_EXPECT_EQ(tg_ratelimit_count_live(rl, 60 * S), 0);
    TG_EXPECT(take(rl, 60 * S, v4(1)));
    TG_EXPECT(take(rl, 60 * S, v4(1)));
    TG_EXPECT(!take(rl, 60 * S, v4(1)));
    tg_ratelimit_free(rl);
}

/* ---- worker threads ----------------------------------------------------------------- */

#define THREADS 4
#define DECISIONS 60000

struct shared {
    struct tg_ratelimit *rl;
    _Atomic int64_t step;
    _Atomic uint64_t hot, fresh;
};

static void *hammer(void *arg)
{
    struct shared *sh = arg;
    uint64_t hot = 0, fresh = 0;
    for (;;) {
        int64_t k = atomic_fetch_add(&sh->step, 1);
        if (k >= DECISIONS)
            break;
        int64_t now = 7 * S + k * 1000; /* 60 s */
        if (k % 2)
            hot += take(sh->rl, now, v4(1));
        else
            fresh += take(sh->rl, now, v4(1000 + (uint32_t)k));
    }
    atomic_fetch_add(&sh->hot, hot);
    atomic_fetch_add(&sh->fresh, fresh);
    return NULL;
}

/* Four threads: half the requests from one client (30,000 offered against 10,000 per
 * minute, burst 50), half from 30,000 clients seen once, through a 256-entry table. The
 * busy client's count stays within GCRA's bound; every one-off client gets through. */
static void test_threads_one_key_exact(void)
{
    struct shared sh = {.rl =
                            mk(TG_RATELIMIT_CLIENT_IP, TG_RATELIMIT_GCRA, 10000, 60 * S, 50, 256)};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        TG_EXPECT_EQ(pthread_create(&th[i], NULL, hammer, &sh), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    uint64_t hot = atomic_load(&sh.hot), fresh = atomic_load(&sh.fresh);
    TG_EXPECT_LE(hot, 10000 + 50);
    TG_EXPECT_GE(hot, 10000 + 50 - 100);
    TG_EXPECT_EQ(fresh, DECISIONS / 2);
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(sh.rl, &st);
    TG_EXPECT_EQ(st.hits_total, DECISIONS / 2 - hot);
    fprintf(stderr, "threads: busy client %llu accepted, %llu lost races\n",
            (unsigned long long)hot, (unsigned long long)st.contended_total);
    tg_ratelimit_free(sh.rl);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_noisy_and_quiet();
    test_routes();
    test_million_keys_small_table();
    test_params_change_voids_entries();
    test_threads_one_key_exact();
    return tg_test_report(argv[0]);
}
