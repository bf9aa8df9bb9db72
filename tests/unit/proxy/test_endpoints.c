/* SPDX-License-Identifier: MIT */
/* Tests for the bounded endpoint registry (src/proxy/endpoints.c): interning and the
 * bound, removal and reuse of ids (with generations), pinned names, probation, the
 * tombstone clean-up over many remove/add cycles, and removal with a grace period while
 * other threads look names up and add them. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/endpoints.h"
#include "tg_test.h"

static void test_intern_and_bound(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(3, &e), 0);
    TG_EXPECT_STREQ(tg_endpoints_name(e, TG_ENDPOINT_OTHER), "other");
    uint32_t a = tg_endpoints_intern(e, "/api/products/:id", 17);
    uint32_t b = tg_endpoints_intern(e, "checkout", 8);
    TG_EXPECT_EQ(a, 1);
    TG_EXPECT_EQ(b, 2);
    TG_EXPECT_EQ(tg_endpoints_intern(e, "/api/products/:id", 17), a);
    TG_EXPECT_EQ(tg_endpoints_find(e, "checkout", 8), b);
    TG_EXPECT_EQ(tg_endpoints_find(e, "unknown", 7), TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_intern(e, "other", 5), TG_ENDPOINT_OTHER); /* never a twin */
    TG_EXPECT_EQ(tg_endpoints_count(e), 2);
    /* a prefix of a known name is a different name */
    TG_EXPECT_EQ(tg_endpoints_intern(e, "check", 5), 3);
    /* full: everything new is "other", known names keep their ids */
    TG_EXPECT_EQ(tg_endpoints_intern(e, "one-too-many", 12), TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_intern(e, "checkout", 8), b);
    TG_EXPECT_EQ(tg_endpoints_count(e), 3);
    TG_EXPECT_STREQ(tg_endpoints_name(e, 3), "check");
    TG_EXPECT_STREQ(tg_endpoints_name(e, 99), "other");
    tg_endpoints_free(e);
}

static void test_long_names_are_cut(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(10, &e), 0);
    char name[300];
    memset(name, 'x', sizeof name);
    uint32_t id = tg_endpoints_intern(e, name, sizeof name);
    TG_EXPECT_EQ(id, 1);
    TG_EXPECT_EQ(strlen(tg_endpoints_name(e, id)), TG_ENDPOINT_NAME_MAX - 1);
    TG_EXPECT_EQ(tg_endpoints_intern(e, name, 200), id); /* same after the cut */
    tg_endpoints_free(e);
}

struct race {
    struct tg_endpoints *e;
    int seed;
    uint32_t ids[200];
};

static void *race_main(void *arg)
{
    struct race *r = arg;
    char name[32];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(name, sizeof name, "/e/%d", (i * 7 + r->seed) % 200);
        r->ids[(i * 7 + r->seed) % 200] = tg_endpoints_intern(r->e, name, (size_t)n);
    }
    return NULL;
}

/* Four threads intern the same 200 names in different orders: each name gets one id,
 * the same in every thread, and the bound (150) holds. */
static void test_concurrent_interning(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(150, &e), 0);
    struct race r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].e = e;
        r[i].seed = i * 13;
        pthread_create(&t[i], NULL, race_main, &r[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int other = 0;
    for (int k = 0; k < 200; k++) {
        for (int i = 1; i < 4; i++)
            if (r[i].ids[k] != TG_ENDPOINT_OTHER && r[0].ids[k] != TG_ENDPOINT_OTHER)
                TG_EXPECT_EQ(r[i].ids[k], r[0].ids[k]);
        if (r[0].ids[k] == TG_ENDPOINT_OTHER)
            other++;
    }
    TG_EXPECT_EQ(tg_endpoints_count(e), 150);
    TG_EXPECT_EQ(other, 50);
    tg_endpoints_free(e);
}

/* A removed name is no longer found, keeps its name until released, and its id comes
 * back (with a new generation) for the next new name; pinned names and "other" cannot be
 * removed. */
static void test_remove_and_reuse(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(3, &e), 0);
    uint32_t route = tg_endpoints_intern_pinned(e, "checkout", 8);
    uint32_t a = tg_endpoints_intern(e, "/a/:id", 6);
    uint32_t b = tg_endpoints_intern(e, "/b", 2);
    TG_EXPECT_EQ(tg_endpoints_intern(e, "/c", 2), TG_ENDPOINT_OTHER); /* full */
    TG_EXPECT_EQ(tg_endpoints_count(e), 3);
    TG_EXPECT_EQ(tg_endpoints_state(e, route), TG_ENDPOINT_PINNED);
    TG_EXPECT_EQ(tg_endpoints_state(e, a), TG_ENDPOINT_LIVE);
    TG_EXPECT_EQ(tg_endpoints_state(e, TG_ENDPOINT_OTHER), TG_ENDPOINT_PINNED);
    TG_EXPECT_EQ(tg_endpoints_remove(e, route), -EINVAL);
    TG_EXPECT_EQ(tg_endpoints_remove(e, TG_ENDPOINT_OTHER), -EINVAL);
    TG_EXPECT_EQ(tg_endpoints_remove(e, 99), -EINVAL);

    uint32_t gen_a = tg_endpoints_gen(e, a);
    TG_EXPECT_EQ(tg_endpoints_remove(e, a), 0);
    TG_EXPECT_EQ(tg_endpoints_remove(e, a), -EINVAL); /* already retiring */
    TG_EXPECT_EQ(tg_endpoints_state(e, a), TG_ENDPOINT_RETIRING);
    TG_EXPECT_EQ(tg_endpoints_find(e, "/a/:id", 6), TG_ENDPOINT_OTHER);
    TG_EXPECT_STREQ(tg_endpoints_name(e, a), "/a/:id"); /* readable until released */
    TG_EXPECT_EQ(tg_endpoints_count(e), 3);
    /* Not free yet: a new name still finds the registry full. */
    TG_EXPECT_EQ(tg_endpoints_intern(e, "/c", 2), TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_gen(e, a), gen_a);

    tg_endpoints_release(e, a);
    tg_endpoints_reclaim(e);
    TG_EXPECT_EQ(tg_endpoints_count(e), 2);
    TG_EXPECT_EQ(tg_endpoints_state(e, a), TG_ENDPOINT_FREE);
    TG_EXPECT_NE(tg_endpoints_gen(e, a), gen_a);
    uint32_t c = tg_endpoints_intern(e, "/c", 2);
    TG_EXPECT_EQ(c, a); /* the id is reused */
    TG_EXPECT_STREQ(tg_endpoints_name(e, c), "/c");
    TG_EXPECT_EQ(tg_endpoints_find(e, "/a/:id", 6), TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_find(e, "/b", 2), b);
    TG_EXPECT_EQ(tg_endpoints_count(e), 3);
    tg_endpoints_release(e, b); /* not retiring: ignored */
    TG_EXPECT_EQ(tg_endpoints_state(e, b), TG_ENDPOINT_LIVE);

    /* Pinning a name that is already live makes it permanent. */
    TG_EXPECT_EQ(tg_endpoints_intern_pinned(e, "/b", 2), b);
    TG_EXPECT_EQ(tg_endpoints_remove(e, b), -EINVAL);
    /* The bound holds for pinned names too: "(rejected)" is interned before traffic. */
    TG_EXPECT_EQ(tg_endpoints_intern_pinned(e, TG_ENDPOINT_REJECTED, 10), TG_ENDPOINT_OTHER);
    tg_endpoints_free(e);
}

/* Probation: the first sighting counts as "other", the second within the window adds
 * the name, one after the window starts over; known names are found at once. */
static void test_probation(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(100, &e), 0);
    TG_EXPECT_EQ(tg_endpoints_admit(e, "/items/:id", 10, 1000, 60), TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_count(e), 0);
    uint32_t id = tg_endpoints_admit(e, "/items/:id", 10, 1030, 60);
    TG_EXPECT_NE(id, TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_admit(e, "/items/:id", 10, 5000, 60), id);
    TG_EXPECT_EQ(tg_endpoints_state(e, id), TG_ENDPOINT_LIVE);
    /* Seen again only after the window: still on probation. */
    TG_EXPECT_EQ(tg_endpoints_admit(e, "/late", 5, 1000, 60), TG_ENDPOINT_OTHER);
    TG_EXPECT_EQ(tg_endpoints_admit(e, "/late", 5, 1061, 60), TG_ENDPOINT_OTHER);
    TG_EXPECT_NE(tg_endpoints_admit(e, "/late", 5, 1100, 60), TG_ENDPOINT_OTHER);
    /* A thousand one-off names add nothing. */
    char name[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(name, sizeof name, "/once/%d", i);
        TG_EXPECT_EQ(tg_endpoints_admit(e, name, (size_t)n, 2000 + i / 100, 60), TG_ENDPOINT_OTHER);
    }
    TG_EXPECT_EQ(tg_endpoints_count(e), 2);
    TG_EXPECT_EQ(tg_endpoints_admit(e, "other", 5, 3000, 60), TG_ENDPOINT_OTHER);
    tg_endpoints_free(e);
}

/* Many remove/add cycles: tombstones never fill the table (lookups of unknown names end)
 * and every live name stays findable under its id. */
static void test_churn(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(50, &e), 0);
    uint32_t ids[50] = {0};
    char name[32];
    int bad = 0;
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 50; k++) {
            int n = snprintf(name, sizeof name, "/r%d/k%d", round, k);
            ids[k] = tg_endpoints_intern(e, name, (size_t)n);
            bad += ids[k] == TG_ENDPOINT_OTHER;
        }
        for (int k = 0; k < 50; k++) {
            int n = snprintf(name, sizeof name, "/r%d/k%d", round, k);
            bad += tg_endpoints_find(e, name, (size_t)n) != ids[k];
            bad += tg_endpoints_find(e, "/never", 6) != TG_ENDPOINT_OTHER;
        }
        for (int k = 0; k < 50; k++)
            bad += tg_endpoints_remove(e, ids[k]) != 0;
        for (int k = 0; k < 50; k++)
            tg_endpoints_release(e, ids[k]);
        tg_endpoints_reclaim(e);
    }
    TG_EXPECT_EQ(bad, 0);
    TG_EXPECT_EQ(tg_endpoints_count(e), 0);
    tg_endpoints_free(e);
}

/* Removal under load: two threads look names up and add them (as workers do) while the
 * main thread removes names in batches and releases them only after a grace period in
 * which each thread has passed a quiescent point, as the gateway's aging does. A thread
 * checks that every id it gets carries the name it asked for. Under ASan a reader on a
 * freed table is a use-after-free. */
struct churn {
    struct tg_endpoints *e;
    atomic_ullong quiescent;
    atomic_int stop;
    unsigned seed;
    uint64_t wrong, lookups;
};

static void *lookup_main(void *arg)
{
    struct churn *c = arg;
    char name[32];
    while (!atomic_load(&c->stop)) {
        for (int i = 0; i < 64; i++) {
            c->seed = c->seed * 1103515245u + 12345u;
            int n = snprintf(name, sizeof name, "/n/%u", (c->seed >> 8) % 300);
            uint32_t id = c->seed & 1 ? tg_endpoints_intern(c->e, name, (size_t)n)
                                      : tg_endpoints_find(c->e, name, (size_t)n);
            if (id != TG_ENDPOINT_OTHER && strcmp(tg_endpoints_name(c->e, id), name) != 0)
                c->wrong++;
            c->lookups++;
        }
        /* A quiescent point: no id or name from before is used after it. */
        atomic_store_explicit(&c->quiescent, atomic_load(&c->quiescent) + 1, memory_order_release);
        atomic_thread_fence(memory_order_seq_cst);
    }
    return NULL;
}

static void test_remove_under_concurrent_lookups(void)
{
    struct tg_endpoints *e;
    TG_EXPECT_EQ(tg_endpoints_new(200, &e), 0);
    struct churn c[2] = {{.e = e, .seed = 1}, {.e = e, .seed = 7}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, lookup_main, &c[i]);
    for (int i = 0; i < 2; i++) /* both running, so the rounds overlap their lookups */
        while (atomic_load(&c[i].quiescent) == 0)
            sched_yield();
    uint32_t batch[200];
    uint64_t removed = 0;
    for (int round = 0; round < 300; round++) {
        uint32_t n = 0;
        for (uint32_t id = 1; id <= 200; id++)
            if ((id + (uint32_t)round) % 3 == 0 && tg_endpoints_remove(e, id) == 0)
                batch[n++] = id;
        atomic_thread_fence(memory_order_seq_cst);
        uint64_t seen[2];
        for (int i = 0; i < 2; i++)
            seen[i] = atomic_load_explicit(&c[i].quiescent, memory_order_relaxed);
        for (int i = 0; i < 2; i++)
            while (atomic_load_explicit(&c[i].quiescent, memory_order_acquire) == seen[i])
                sched_yield();
        for (uint32_t k = 0; k < n; k++)
            tg_endpoints_release(e, batch[k]);
        tg_endpoints_reclaim(e);
        removed += n;
    }
    atomic_store(&c[0].stop, 1);
    atomic_store(&c[1].stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    TG_EXPECT_GT(removed, 1000);
    TG_EXPECT_GT(c[0].lookups, 1000);
    TG_EXPECT_EQ(c[0].wrong, 0);
    TG_EXPECT_EQ(c[1].wrong, 0);
    tg_endpoints_free(e);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_intern_and_bound();
    test_long_names_are_cut();
    test_concurrent_interning();
    test_remove_and_reuse();
    test_probation();
    test_churn();
    test_remove_under_concurrent_lookups();
    return tg_test_report(argv[0]);
}
