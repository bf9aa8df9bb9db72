/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/cache_purge.c: purge by exact key (every variant, nothing
 * else), by byte prefix, by path glob and by the runbooks' key-store style pattern; the
 * warming check; the trim behind the GC call, which drops entries past their retention
 * (kept longer when fallback was on as they were stored) and then shrinks to a byte
 * target in LRU order; and responses in flight during a purge, which are not stored. */
#include "protect/cache.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tg_test.h"

#define S 1000000LL
#define T0 (1000 * S)
#define WALL0 1700000000
#define FIELD(n, v)                                                                                \
    {                                                                                              \
        n, v, sizeof(n) - 1, sizeof(v) - 1                                                         \
    }

static const struct tg_cache_rule SERVE = {.serve = true};

static struct tg_cache *new_cache(void)
{
    struct tg_cache_limits lim = {1 << 20, 1 << 16};
    struct tg_cache *c = NULL;
    TG_EXPECT_EQ(tg_cache_new(&lim, 7, &c), 0);
    return c;
}

/* A request for "path?query" (split at the first '?'). */
static struct tg_cache_req mkreq(const char *target, const struct tg_cache_field *f, uint32_t n)
{
    const char *q = strchr(target, '?');
    uint32_t plen = q ? (uint32_t)(q - target) : (uint32_t)strlen(target);
    return (struct tg_cache_req){
        false, target, plen, q ? q + 1 : "", q ? (uint32_t)strlen(q + 1) : 0, f, n};
}

static void put(struct tg_cache *c, const char *target, const struct tg_cache_field *req_f,
                uint32_t nreq, const struct tg_cache_rule *rule, const char *cc, int64_t now)
{
    struct tg_cache_req rq = mkreq(target, req_f, nreq);
    struct tg_cache_field rf[] = {{"Cache-Control", cc, 13, (uint32_t)strlen(cc)},
                                  FIELD("Vary", "Accept")};
    struct tg_cache_resp rs = {200, rf, 2, 1, now, WALL0, 0};
    struct tg_cache_fill f;
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, rule, &rs, now, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "x", 1), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, now), 0);
}

static bool cached(struct tg_cache *c, const char *target, int64_t now)
{
    struct tg_cache_req rq = mkreq(target, NULL, 0);
    struct tg_cache_hit h;
    bool hit = tg_cache_lookup(c, &rq, &SERVE, now, &h) == TG_CACHE_HIT;
    tg_cache_release(c, h.entry);
    return hit;
}

static uint64_t entries(struct tg_cache *c)
{
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    return st.entries;
}

static void test_purge_key(void)
{
    struct tg_cache *c = new_cache();
    struct tg_cache_field json[] = {FIELD("Accept", "application/json")};
    put(c, "/a?x=1", NULL, 0, &SERVE, "max-age=60", T0);
    put(c, "/a?x=1", json, 1, &SERVE, "max-age=60", T0); /* a second variant */
    put(c, "/a?x=2", NULL, 0, &SERVE, "max-age=60", T0);
    put(c, "/a", NULL, 0, &SERVE, "max-age=60", T0);
    TG_EXPECT_EQ(entries(c), 4);
    TG_EXPECT_EQ(tg_cache_purge_key(c, "/a", 2, "x=1", 3), 2);
    TG_EXPECT_EQ(tg_cache_purge_key(c, "/a", 2, "x=1", 3), 0);
    TG_EXPECT(!cached(c, "/a?x=1", T0));
    TG_EXPECT(cached(c, "/a?x=2", T0));
    TG_EXPECT(cached(c, "/a", T0));
    TG_EXPECT_EQ(tg_cache_purge_key(c, "/a", 2, "", 0), 1);
    TG_EXPECT(cached(c, "/a?x=2", T0));
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    TG_EXPECT_EQ(st.purged, 3);
    TG_EXPECT_EQ(st.entries, 1);
    tg_cache_free(c);
}

static const char *const KEYS[] = {
    "/api/products",
    "/api/products/1",
    "/api/products-old?x=1",
    "/api/products/category/shoes?page=2",
    "/products/category/hats",
    "/api/productscategory/x",
    "/api/users/1",
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

/* Fills the cache with KEYS, purges with `fn`, and returns a bit per key still cached. */
static unsigned after_purge(long (*fn)(struct tg_cache *, const char *), const char *arg,
                            long *removed)
{
    struct tg_cache *c = new_cache();
    for (size_t i = 0; i < NKEYS; i++)
        put(c, KEYS[i], NULL, 0, &SERVE, "max-age=60", T0);
    *removed = fn(c, arg);
    unsigned left = 0;
    for (size_t i = 0; i < NKEYS; i++)
        left |= (unsigned)cached(c, KEYS[i], T0) << i;
    TG_EXPECT_EQ(entries(c), (uint64_t)__builtin_popcount(left));
    tg_cache_free(c);
    return left;
}

static long by_prefix(struct tg_cache *c, const char *p)
{
    return (long)tg_cache_purge_prefix(c, p, strlen(p));
}

static void test_purge_prefix_and_pattern(void)
{
    long n;
    /* Byte prefix: also "/api/products-old" and "/api/productscategory". */
    TG_EXPECT_EQ(after_purge(by_prefix, "/api/products", &n), 1u << 4 | 1u << 6);
    TG_EXPECT_EQ(n, 5);
    TG_EXPECT_EQ(after_purge(by_prefix, "/api/products/", &n),
                 ~(1u << 1 | 1u << 3) & ((1u << NKEYS) - 1));
    TG_EXPECT_EQ(n, 2);
    /* Path glob: '*' crosses '/' and reaches into the query. */
    TG_EXPECT_EQ(after_purge(tg_cache_purge_pattern, "/api/products/*", &n),
                 ~(1u << 1 | 1u << 3) & ((1u << NKEYS) - 1));
    TG_EXPECT_EQ(after_purge(tg_cache_purge_pattern, "/api/*/1", &n),
                 ~(1u << 1 | 1u << 6) & ((1u << NKEYS) - 1));
    /* Key-store style: from any segment boundary, ':' for '/'. */
    TG_EXPECT_EQ(after_purge(tg_cache_purge_pattern, "products:category:*", &n),
                 ~(1u << 3 | 1u << 4) & ((1u << NKEYS) - 1));
    TG_EXPECT_EQ(n, 2);
    TG_EXPECT_EQ(after_purge(tg_cache_purge_pattern, "*", &n), 0);
    TG_EXPECT_EQ(n, (long)NKEYS);
    TG_EXPECT_EQ(after_purge(tg_cache_purge_pattern, "", &n), (1u << NKEYS) - 1);
    TG_EXPECT_EQ(n, -EINVAL);
    static char longp[1100];
    memset(longp, 'a', sizeof longp - 1);
    TG_EXPECT_EQ(after_purge(tg_cache_purge_pattern, longp, &n), (1u << NKEYS) - 1);
    TG_EXPECT_EQ(n, -EINVAL);
}

static void test_warm(void)
{
    struct tg_cache *c = new_cache();
    struct tg_cache_req rq = mkreq("/api/v1/portfolios", NULL, 0);
    TG_EXPECT(tg_cache_warm_needed(c, &rq, &SERVE, T0, 0));
    put(c, "/api/v1/portfolios", NULL, 0, &SERVE, "max-age=60", T0);
    TG_EXPECT(!tg_cache_warm_needed(c, &rq, &SERVE, T0 + 30 * S, 0));
    TG_EXPECT(!tg_cache_warm_needed(c, &rq, &SERVE, T0 + 30 * S, 29 * S));
    TG_EXPECT(tg_cache_warm_needed(c, &rq, &SERVE, T0 + 30 * S, 30 * S)); /* expires soon */
    TG_EXPECT(tg_cache_warm_needed(c, &rq, &SERVE, T0 + 60 * S, 0));
    /* The check neither counts nor reorders. */
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    TG_EXPECT_EQ(st.hits + st.misses, 0);
    /* A variant for a request with an Accept header is another variant. */
    struct tg_cache_field json[] = {FIELD("Accept", "application/json")};
    struct tg_cache_req rj = mkreq("/api/v1/portfolios", json, 1);
    TG_EXPECT(tg_cache_warm_needed(c, &rj, &SERVE, T0, 0));
    tg_cache_free(c);
}

static void test_trim(void)
{
    struct tg_cache *c = new_cache();
    struct tg_cache_rule fb = {.serve = true, .fallback_max_age_us = 3600 * S};
    put(c, "/short", NULL, 0, &SERVE, "max-age=10", T0);      /* kept 10 s */
    put(c, "/long", NULL, 0, &SERVE, "max-age=1000", T0 + 1); /* kept 1000 s */
    put(c, "/fallback", NULL, 0, &fb, "max-age=10", T0 + 2);  /* kept 3600 s */
    struct tg_cache_trim_result r = tg_cache_trim(c, T0 + 9 * S, SIZE_MAX);
    TG_EXPECT_EQ(r.expired, 0);
    r = tg_cache_trim(c, T0 + 20 * S, SIZE_MAX);
    TG_EXPECT_EQ(r.expired, 1);
    TG_EXPECT_EQ(r.evicted, 0);
    TG_EXPECT_LT(r.bytes_after, r.bytes_before);
    TG_EXPECT_EQ(entries(c), 2);
    struct tg_cache_hit h;
    struct tg_cache_req fr = mkreq("/fallback", NULL, 0);
    TG_EXPECT(tg_cache_lookup_stale(c, &fr, &fb, T0 + 25 * S, &h));
    tg_cache_release(c, h.entry);
    r = tg_cache_trim(c, T0 + 1002 * S, SIZE_MAX);
    TG_EXPECT_EQ(r.expired, 1);
    TG_EXPECT(!cached(c, "/long", T0)); /* gone, even if asked about an earlier time */

    /* Shrinking to a target evicts least recently used first. */
    put(c, "/a", NULL, 0, &SERVE, "max-age=9999", T0 + 1003 * S);
    put(c, "/b", NULL, 0, &SERVE, "max-age=9999", T0 + 1004 * S);
    TG_EXPECT(cached(c, "/a", T0 + 1005 * S)); /* /b is now the older use... */
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    r = tg_cache_trim(c, T0 + 1006 * S, st.bytes - 1); /* ... with /fallback before it */
    TG_EXPECT_EQ(r.evicted, 1);
    TG_EXPECT_LE(r.bytes_after, st.bytes - 1);
    TG_EXPECT(!tg_cache_lookup_stale(c, &fr, &fb, T0 + 1006 * S, &h));
    TG_EXPECT(cached(c, "/b", T0 + 1007 * S));
    r = tg_cache_trim(c, T0 + 1008 * S, 0);
    TG_EXPECT_EQ(r.evicted, 2);
    TG_EXPECT_EQ(r.bytes_after, 0);
    tg_cache_stats(c, &st);
    TG_EXPECT_EQ(st.expired, 2);
    TG_EXPECT_EQ(st.evictions, 3);
    TG_EXPECT_EQ(st.entries, 0);
    tg_cache_free(c);
}

/* 40,000 keys make tables of 1,024 buckets per stripe, walked in several lock holds:
 * every match is found, nothing else is touched. */
static void test_large_walk(void)
{
    enum { N = 40000 };
    struct tg_cache_limits lim = {64u << 20, 1 << 16};
    struct tg_cache *c = NULL;
    TG_EXPECT_EQ(tg_cache_new(&lim, 11, &c), 0);
    char path[32];
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/k/%d%s", i, i % 2 ? "/odd" : "");
        put(c, path, NULL, 0, &SERVE, i % 3 ? "max-age=100" : "max-age=10", T0);
    }
    TG_EXPECT_EQ(entries(c), N);
    TG_EXPECT_EQ(tg_cache_purge_pattern(c, "/k/*/odd"), N / 2);
    TG_EXPECT_EQ(entries(c), N / 2);
    struct tg_cache_trim_result r = tg_cache_trim(c, T0 + 50 * S, SIZE_MAX);
    TG_EXPECT_EQ(r.expired, (N / 2 + 2) / 3); /* even i divisible by 3: i % 6 == 0 */
    int left = 0;
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/k/%d%s", i, i % 2 ? "/odd" : "");
        left += cached(c, path, T0 + 50 * S);
    }
    TG_EXPECT_EQ(left, N / 2 - (N / 2 + 2) / 3);
    TG_EXPECT_EQ(tg_cache_purge_prefix(c, "/", 1), (size_t)left);
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    TG_EXPECT_EQ(st.entries, 0);
    TG_EXPECT_EQ(st.bytes, 0);
    tg_cache_free(c);
}

/* A response whose request began before a purge of its key is not stored after it: the
 * purge may have followed the write that made that response out of date. */
static void test_purge_during_fill(void)
{
    struct tg_cache *c = new_cache();
    struct tg_cache_req rq = mkreq("/api/products/1", NULL, 0);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    struct tg_cache_hit h;
    struct tg_cache_fill f;

    /* Lookup, purge (a PUT answered meanwhile), then the GET's response arrives. */
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_MISS);
    TG_EXPECT_NE(h.purge_gen, 0);
    TG_EXPECT_EQ(tg_cache_purge_key(c, "/api/products/1", 15, "", 0), 0);
    struct tg_cache_resp rs = {200, rf, 1, 3, T0, WALL0, h.purge_gen};
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "old", 3), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), -ESTALE);
    TG_EXPECT(!cached(c, "/api/products/1", T0));

    /* The purge during the body, with no lookup to go by: from the offer on. */
    rs.purge_gen = 0;
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_purge_key(c, "/api/products/1", 15, "", 0), 0);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "old", 3), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), -ESTALE);

    /* A prefix or pattern purge may cover any key: every fill under way is refused. */
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_purge_pattern(c, "users:*"), 0);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "old", 3), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), -ESTALE);

    /* A trim is not an invalidation, and a lookup after the purge stores normally. */
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_MISS);
    rs.purge_gen = h.purge_gen;
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    tg_cache_trim(c, T0, SIZE_MAX);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "new", 3), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), 0);
    TG_EXPECT(cached(c, "/api/products/1", T0));
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    TG_EXPECT_EQ(st.declined[TG_CACHE_DECLINE_PURGED], 3);
    TG_EXPECT_EQ(st.stores, 1);
    TG_EXPECT_EQ(st.entries, 1);
    tg_cache_free(c);
}

int main(void)
{
    test_purge_key();
    test_purge_prefix_and_pattern();
    test_warm();
    test_trim();
    test_purge_during_fill();
    test_large_walk();
    return tg_test_report("test_cache_purge");
}
