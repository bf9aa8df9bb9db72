/* SPDX-License-Identifier: MIT */
/* Tests for the bounded endpoint registry (src/proxy/endpoints.c). */
#include <pthread.h>
#include <stdio.h>
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

int main(int argc, char **argv)
{
    (void)argc;
    test_intern_and_bound();
    test_long_names_are_cut();
    test_concurrent_interning();
    return tg_test_report(argv[0]);
}
