/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/cache.{h,c}, the store's index and lookups, driven with
 * explicit times: freshness and expiry, the route's TTL applied live, HEAD, no-store,
 * only-if-cached, Vary variants (selection, a changed Vary, the per-key bound), responses
 * that must not be stored, the memory bound and LRU order over 100k inserts, references
 * that outlive eviction, the stale window of fallback, and four threads looking up,
 * storing, aborting and purging at once: counters exact, bodies intact, the bound kept,
 * and every byte accounted for at the end (run under ASan and TSan, a torn entry or a
 * use after free is a report). */
#include "protect/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_test.h"

#define S 1000000LL
#define T0 (1000 * S)
#define WALL0 1700000000
#define FIELD(n, v)                                                                                \
    {                                                                                              \
        n, v, sizeof(n) - 1, sizeof(v) - 1                                                         \
    }

static const struct tg_cache_rule SERVE = {.serve = true};

static struct tg_cache *new_cache(size_t max_bytes, size_t max_object)
{
    struct tg_cache_limits lim = {max_bytes, max_object};
    struct tg_cache *c = NULL;
    TG_EXPECT_EQ(tg_cache_new(&lim, 0x1234567887654321ull, &c), 0);
    return c;
}

static struct tg_cache_req mkreq(const char *path, const char *query,
                                 const struct tg_cache_field *f, uint32_t n)
{
    return (struct tg_cache_req){
        false, path, (uint32_t)strlen(path), query, (uint32_t)strlen(query), f, n};
}

/* Offers, fills and commits a response to `rq` at `now`; returns the decline reason. */
static enum tg_cache_decline store(struct tg_cache *c, const struct tg_cache_req *rq,
                                   const struct tg_cache_rule *rule, int status,
                                   const struct tg_cache_field *rf, uint32_t nrf, const char *body,
                                   int64_t now)
{
    struct tg_cache_resp rs = {status, rf, nrf, (int64_t)strlen(body), now, WALL0 + now / S, 0};
    struct tg_cache_fill f;
    enum tg_cache_decline d = tg_cache_offer(c, rq, rule, &rs, now, &f);
    if (d != TG_CACHE_DECLINE_NONE)
        return d;
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, body, strlen(body)), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, now), 0);
    return d;
}

/* Looks up and, on a hit, compares the body with `want` and releases. */
static enum tg_cache_verdict get(struct tg_cache *c, const struct tg_cache_req *rq,
                                 const struct tg_cache_rule *rule, int64_t now, const char *want)
{
    struct tg_cache_hit h;
    enum tg_cache_verdict v = tg_cache_lookup(c, rq, rule, now, &h);
    if (v == TG_CACHE_HIT) {
        size_t n;
        const char *b = tg_cache_entry_body(h.entry, &n);
        if (want)
            TG_EXPECT_MEMEQ(b, n, want);
        tg_cache_release(c, h.entry);
    } else
        TG_EXPECT(h.entry == NULL);
    return v;
}

static struct tg_cache_stats stats(struct tg_cache *c)
{
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    return st;
}

static void test_hit_and_expiry(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_req rq = mkreq("/api/products", "page=2", NULL, 0);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60"),
                                  FIELD("Content-Type", "application/json"),
                                  FIELD("Content-Length", "7"), FIELD("Connection", "keep-alive")};
    TG_EXPECT_EQ(get(c, &rq, &SERVE, T0, NULL), TG_CACHE_MISS);
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, rf, 4, "[1,2,3]", T0), TG_CACHE_DECLINE_NONE);

    struct tg_cache_hit h;
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0 + 59 * S, &h), TG_CACHE_HIT);
    TG_EXPECT_EQ(h.age_us, 59 * S);
    TG_EXPECT(!h.stale);
    TG_EXPECT_EQ(tg_cache_entry_status(h.entry), 200);
    size_t n;
    const char *head = tg_cache_entry_head(h.entry, &n);
    TG_EXPECT_MEMEQ(head, n, "Cache-Control: max-age=60\r\nContent-Type: application/json\r\n");
    const char *body = tg_cache_entry_body(h.entry, &n);
    TG_EXPECT_MEMEQ(body, n, "[1,2,3]");
    tg_cache_release(c, h.entry);

    /* Age equal to the lifetime is stale. Another query is another key. */
    TG_EXPECT_EQ(get(c, &rq, &SERVE, T0 + 60 * S, NULL), TG_CACHE_MISS);
    struct tg_cache_req other = mkreq("/api/products", "page=3", NULL, 0);
    TG_EXPECT_EQ(get(c, &other, &SERVE, T0 + S, NULL), TG_CACHE_MISS);
    struct tg_cache_req noq = mkreq("/api/products", "", NULL, 0);
    TG_EXPECT_EQ(get(c, &noq, &SERVE, T0 + S, NULL), TG_CACHE_MISS);

    /* An Age on arrival counts: 50 s old already, 10 s left. */
    struct tg_cache_req aged = mkreq("/aged", "", NULL, 0);
    struct tg_cache_field af[] = {FIELD("Cache-Control", "max-age=60"), FIELD("Age", "50")};
    TG_EXPECT_EQ(store(c, &aged, &SERVE, 200, af, 2, "x", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &aged, &SERVE, T0 + 9 * S, "x"), TG_CACHE_HIT);
    TG_EXPECT_EQ(get(c, &aged, &SERVE, T0 + 10 * S, NULL), TG_CACHE_MISS);

    struct tg_cache_stats st = stats(c);
    TG_EXPECT_EQ(st.hits, 2);
    TG_EXPECT_EQ(st.misses, 5);
    TG_EXPECT_EQ(st.stores, 2);
    TG_EXPECT_EQ(st.entries, 2);
    TG_EXPECT_GT(st.bytes, 0);
    tg_cache_free(c);
}

static void test_route_ttl_live(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_req rq = mkreq("/ttl", "", NULL, 0);
    struct tg_cache_rule r = {.serve = true, .default_ttl_us = 10 * S};
    struct tg_cache_field ct[] = {FIELD("Content-Type", "text/plain")};
    TG_EXPECT_EQ(store(c, &rq, &r, 200, ct, 1, "t", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &rq, &r, T0 + 5 * S, "t"), TG_CACHE_HIT);
    r.default_ttl_us = 2 * S; /* a configuration change reaches stored entries */
    TG_EXPECT_EQ(get(c, &rq, &r, T0 + 5 * S, NULL), TG_CACHE_MISS);
    r.default_ttl_us = 600 * S;
    TG_EXPECT_EQ(get(c, &rq, &r, T0 + 500 * S, "t"), TG_CACHE_HIT);
    /* Caching off: no answer and nothing counted, but the proxy may still offer. */
    struct tg_cache_stats before = stats(c);
    r.serve = false;
    TG_EXPECT_EQ(get(c, &rq, &r, T0 + 5 * S, NULL), TG_CACHE_MISS);
    struct tg_cache_stats after = stats(c);
    TG_EXPECT_EQ(after.hits + after.misses, before.hits + before.misses);

    /* The TTL applies to 200 but not to a 404 the origin did not ask to cache. */
    struct tg_cache_req nf = mkreq("/nope", "", NULL, 0);
    r.serve = true;
    TG_EXPECT_EQ(store(c, &nf, &r, 404, ct, 1, "no", T0), TG_CACHE_DECLINE_LIFETIME);
    struct tg_cache_field cc[] = {FIELD("Cache-Control", "max-age=30")};
    TG_EXPECT_EQ(store(c, &nf, &r, 404, cc, 1, "no", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &nf, &r, T0 + S, "no"), TG_CACHE_HIT);
    tg_cache_free(c);
}

static void test_request_directives(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_req rq = mkreq("/d", "", NULL, 0);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, rf, 1, "body", T0), TG_CACHE_DECLINE_NONE);

    /* HEAD is answered from the GET's entry; a HEAD miss is not stored. */
    struct tg_cache_req head = rq;
    head.head = true;
    TG_EXPECT_EQ(get(c, &head, &SERVE, T0 + S, "body"), TG_CACHE_HIT);
    struct tg_cache_req head2 = mkreq("/other", "", NULL, 0);
    head2.head = true;
    TG_EXPECT_EQ(get(c, &head2, &SERVE, T0 + S, NULL), TG_CACHE_PASS);

    /* no-store may be answered from the cache, but a miss must not be stored. */
    struct tg_cache_field ns[] = {FIELD("Cache-Control", "no-store")};
    struct tg_cache_req rns = mkreq("/d", "", ns, 1);
    TG_EXPECT_EQ(get(c, &rns, &SERVE, T0 + S, "body"), TG_CACHE_HIT);
    rns.path = "/x";
    rns.path_len = 2;
    TG_EXPECT_EQ(get(c, &rns, &SERVE, T0 + S, NULL), TG_CACHE_PASS);

    /* no-cache (and Pragma: no-cache) go to the origin; so does a too young max-age. */
    struct tg_cache_field nc[] = {FIELD("Pragma", "no-cache")};
    struct tg_cache_req rnc = mkreq("/d", "", nc, 1);
    TG_EXPECT_EQ(get(c, &rnc, &SERVE, T0 + S, NULL), TG_CACHE_MISS);
    struct tg_cache_field ma[] = {FIELD("Cache-Control", "max-age=5")};
    struct tg_cache_req rma = mkreq("/d", "", ma, 1);
    TG_EXPECT_EQ(get(c, &rma, &SERVE, T0 + 5 * S, "body"), TG_CACHE_HIT);
    TG_EXPECT_EQ(get(c, &rma, &SERVE, T0 + 6 * S, NULL), TG_CACHE_MISS);

    /* only-if-cached: a 504 rather than a trip to the origin. */
    struct tg_cache_field oc[] = {FIELD("Cache-Control", "only-if-cached")};
    struct tg_cache_req roc = mkreq("/d", "", oc, 1);
    TG_EXPECT_EQ(get(c, &roc, &SERVE, T0 + S, "body"), TG_CACHE_HIT);
    TG_EXPECT_EQ(get(c, &roc, &SERVE, T0 + 61 * S, NULL), TG_CACHE_UNSATISFIABLE);

    /* max-stale: a stale answer, marked so. */
    struct tg_cache_field ms[] = {FIELD("Cache-Control", "max-stale=30")};
    struct tg_cache_req rms = mkreq("/d", "", ms, 1);
    struct tg_cache_hit h;
    TG_EXPECT_EQ(tg_cache_lookup(c, &rms, &SERVE, T0 + 80 * S, &h), TG_CACHE_HIT);
    TG_EXPECT(h.stale);
    tg_cache_release(c, h.entry);
    TG_EXPECT_EQ(get(c, &rms, &SERVE, T0 + 91 * S, NULL), TG_CACHE_MISS);
    TG_EXPECT_EQ(stats(c).stale_served, 1);
    tg_cache_free(c);
}

static void test_vary(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60"),
                                  FIELD("Vary", "Accept-Encoding")};
    struct tg_cache_field gz[] = {FIELD("Accept-Encoding", "gzip")};
    struct tg_cache_field br[] = {FIELD("accept-encoding", "br")};
    struct tg_cache_field two[] = {FIELD("Accept-Encoding", "gzip"), FIELD("X", "y"),
                                   FIELD("ACCEPT-ENCODING", "br")};
    struct tg_cache_field joined[] = {FIELD("Accept-Encoding", "gzip, br")};
    struct tg_cache_field other[] = {FIELD("Accept-Encoding", "deflate")};
    struct tg_cache_req rgz = mkreq("/v", "", gz, 1), rbr = mkreq("/v", "", br, 1),
                        rnone = mkreq("/v", "", NULL, 0), rtwo = mkreq("/v", "", two, 3),
                        rjoined = mkreq("/v", "", joined, 1), rother = mkreq("/v", "", other, 1);
    TG_EXPECT_EQ(store(c, &rgz, &SERVE, 200, rf, 2, "gz", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(store(c, &rnone, &SERVE, 200, rf, 2, "plain", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(store(c, &rtwo, &SERVE, 200, rf, 2, "two", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &rgz, &SERVE, T0 + S, "gz"), TG_CACHE_HIT);
    TG_EXPECT_EQ(get(c, &rnone, &SERVE, T0 + S, "plain"), TG_CACHE_HIT);
    TG_EXPECT_EQ(get(c, &rjoined, &SERVE, T0 + S, "two"), TG_CACHE_HIT); /* lines joined */
    TG_EXPECT_EQ(get(c, &rbr, &SERVE, T0 + S, NULL), TG_CACHE_MISS);
    TG_EXPECT_EQ(get(c, &rother, &SERVE, T0 + S, NULL), TG_CACHE_MISS);
    TG_EXPECT_EQ(store(c, &rbr, &SERVE, 200, rf, 2, "br", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &rbr, &SERVE, T0 + S, "br"), TG_CACHE_HIT);
    TG_EXPECT_EQ(stats(c).entries, 4);

    /* The same variant again replaces it. */
    TG_EXPECT_EQ(store(c, &rgz, &SERVE, 200, rf, 2, "gz2", T0 + S), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &rgz, &SERVE, T0 + 2 * S, "gz2"), TG_CACHE_HIT);
    TG_EXPECT_EQ(stats(c).entries, 4);

    /* The origin changed its Vary: variants keyed on the old one go. */
    struct tg_cache_field rf2[] = {FIELD("Cache-Control", "max-age=60"), FIELD("Vary", "Origin")};
    TG_EXPECT_EQ(store(c, &rgz, &SERVE, 200, rf2, 2, "by-origin", T0 + 2 * S),
                 TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(stats(c).entries, 1);
    TG_EXPECT_EQ(get(c, &rbr, &SERVE, T0 + 3 * S, "by-origin"), TG_CACHE_HIT); /* no Origin */

    /* At most TG_CACHE_MAX_VARIANTS per key: the oldest go first. */
    struct tg_cache_field rf3[] = {FIELD("Cache-Control", "max-age=60"), FIELD("Vary", "X-V")};
    char vals[12][8], bodies[12][8];
    struct tg_cache_field xv[12];
    for (int i = 0; i < 12; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        snprintf(bodies[i], sizeof bodies[i], "b%d", i);
        xv[i] = (struct tg_cache_field){"X-V", vals[i], 3, (uint32_t)strlen(vals[i])};
        struct tg_cache_req r = mkreq("/many", "", &xv[i], 1);
        TG_EXPECT_EQ(store(c, &r, &SERVE, 200, rf3, 2, bodies[i], T0), TG_CACHE_DECLINE_NONE);
    }
    for (int i = 0; i < 12; i++) {
        struct tg_cache_req r = mkreq("/many", "", &xv[i], 1);
        TG_EXPECT_EQ(get(c, &r, &SERVE, T0 + S, bodies[i]),
                     i < 12 - TG_CACHE_MAX_VARIANTS ? TG_CACHE_MISS : TG_CACHE_HIT);
    }
    TG_EXPECT_EQ(stats(c).entries, 1 + TG_CACHE_MAX_VARIANTS);
    tg_cache_free(c);
}

static void test_refused(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_req rq = mkreq("/r", "", NULL, 0);
    struct tg_cache_field nost[] = {FIELD("Cache-Control", "no-store, max-age=60")};
    struct tg_cache_field priv[] = {FIELD("Cache-Control", "private, max-age=60")};
    struct tg_cache_field cook[] = {FIELD("Cache-Control", "max-age=60"),
                                    FIELD("Set-Cookie", "s=1")};
    struct tg_cache_field star[] = {FIELD("Cache-Control", "max-age=60"), FIELD("Vary", "*")};
    struct tg_cache_field plain[] = {FIELD("Cache-Control", "max-age=60")};
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, nost, 1, "a", T0), TG_CACHE_DECLINE_NO_STORE);
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, priv, 1, "a", T0), TG_CACHE_DECLINE_PRIVATE);
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, cook, 2, "a", T0), TG_CACHE_DECLINE_SET_COOKIE);
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, star, 2, "a", T0), TG_CACHE_DECLINE_VARY);
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 503, plain, 1, "a", T0), TG_CACHE_DECLINE_STATUS);
    struct tg_cache_field auth[] = {FIELD("Authorization", "Bearer x")};
    struct tg_cache_req ra = mkreq("/r", "", auth, 1);
    TG_EXPECT_EQ(store(c, &ra, &SERVE, 200, plain, 1, "a", T0), TG_CACHE_DECLINE_AUTHORIZATION);
    struct tg_cache_req rh = rq;
    rh.head = true;
    TG_EXPECT_EQ(store(c, &rh, &SERVE, 200, plain, 1, "", T0), TG_CACHE_DECLINE_METHOD);
    TG_EXPECT_EQ(get(c, &rq, &SERVE, T0, NULL), TG_CACHE_MISS);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_EQ(st.entries, 0);
    TG_EXPECT_EQ(st.bytes, 0);
    TG_EXPECT_EQ(st.stores, 0);
    TG_EXPECT_EQ(st.declined[TG_CACHE_DECLINE_NO_STORE], 1);
    TG_EXPECT_EQ(st.declined[TG_CACHE_DECLINE_PRIVATE], 1);
    TG_EXPECT_EQ(st.declined[TG_CACHE_DECLINE_SET_COOKIE], 1);
    TG_EXPECT_EQ(st.declined[TG_CACHE_DECLINE_AUTHORIZATION], 1);
    tg_cache_free(c);
}

/* 100,000 distinct keys through a 256 KiB cache: the budget holds after every insert
 * and at its peak, the most recent entries are there and the oldest are not, and a key
 * read after every insert is never evicted however old its insertion. */
static void test_lru_bound_100k(void)
{
    enum { N = 100000, MAX = 256 * 1024 };
    struct tg_cache *c = new_cache(MAX, 16 * 1024);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=3600")};
    static char body[1200];
    memset(body, 'b', sizeof body - 1);
    struct tg_cache_req hot = mkreq("/hot", "", NULL, 0);
    TG_EXPECT_EQ(store(c, &hot, &SERVE, 200, rf, 1, "hot", T0), TG_CACHE_DECLINE_NONE);
    char path[32];
    size_t over = 0, hot_misses = 0;
    for (int i = 0; i < N; i++) {
        int64_t now = T0 + i;
        snprintf(path, sizeof path, "/k/%d", i);
        struct tg_cache_req rq = mkreq(path, "", NULL, 0);
        body[100 + (i * 7919) % 1000] = 0; /* 100 to 1099 bytes */
        if (store(c, &rq, &SERVE, 200, rf, 1, body, now) != TG_CACHE_DECLINE_NONE)
            over++;
        body[100 + (i * 7919) % 1000] = 'b';
        over += stats(c).bytes > MAX;
        hot_misses += get(c, &hot, &SERVE, now, "hot") != TG_CACHE_HIT;
    }
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_EQ(over, 0);
    TG_EXPECT_EQ(hot_misses, 0);
    TG_EXPECT_LE(st.bytes_peak, MAX);
    TG_EXPECT_GT(st.bytes, MAX / 2); /* the cache is used, not emptied */
    TG_EXPECT_EQ(st.stores, N + 1);
    TG_EXPECT_EQ(st.evictions, N + 1 - st.entries);
    /* Entries cost at least 100 bytes of body: fewer than MAX / 100 fit, so key
     * N - MAX / 100 and older are gone; the newest ten are there. */
    int gone = 0, kept = 0;
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/k/%d", i);
        struct tg_cache_req rq = mkreq(path, "", NULL, 0);
        bool hit = get(c, &rq, &SERVE, T0 + N, NULL) == TG_CACHE_HIT;
        if (i <= N - MAX / 100)
            gone += !hit;
        if (i >= N - 10)
            kept += hit;
    }
    TG_EXPECT_EQ(gone, N - MAX / 100 + 1);
    TG_EXPECT_EQ(kept, 10);
    tg_cache_free(c);
}

/* A worker writing an entry out keeps it alive through eviction; its bytes stay counted
 * until the last reference goes. */
static void test_reference_outlives_eviction(void)
{
    struct tg_cache *c = new_cache(8192, 4096);
    struct tg_cache_req rq = mkreq("/ref", "", NULL, 0);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    char big[2000];
    memset(big, 'r', sizeof big - 1);
    big[sizeof big - 1] = 0;
    TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, rf, 1, big, T0), TG_CACHE_DECLINE_NONE);
    struct tg_cache_hit h;
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_HIT);
    size_t held = stats(c).bytes;
    TG_EXPECT_EQ(tg_cache_purge_key(c, "/ref", 4, "", 0), 1);
    TG_EXPECT_EQ(stats(c).entries, 0);
    TG_EXPECT_EQ(stats(c).bytes, held); /* still allocated, still counted */
    TG_EXPECT_EQ(get(c, &rq, &SERVE, T0, NULL), TG_CACHE_MISS);

    /* Three more of the same size fit in 8 KiB only with the held one counted out, so
     * the third evicts the least recently used linked entry, /ref2. */
    struct tg_cache_req r2 = mkreq("/ref2", "", NULL, 0), r3 = mkreq("/ref3", "", NULL, 0),
                        r4 = mkreq("/ref4", "", NULL, 0);
    TG_EXPECT_EQ(store(c, &r2, &SERVE, 200, rf, 1, big, T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(store(c, &r3, &SERVE, 200, rf, 1, big, T0 + 1), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(store(c, &r4, &SERVE, 200, rf, 1, big, T0 + 2), TG_CACHE_DECLINE_NONE);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_LE(st.bytes, 8192);
    TG_EXPECT_EQ(st.entries, 2);
    TG_EXPECT_EQ(st.evictions, 1);
    TG_EXPECT_EQ(get(c, &r2, &SERVE, T0 + 3, NULL), TG_CACHE_MISS);
    TG_EXPECT_EQ(get(c, &r3, &SERVE, T0 + 3, big), TG_CACHE_HIT);
    size_t n;
    const char *b = tg_cache_entry_body(h.entry, &n);
    TG_EXPECT_EQ(n, sizeof big - 1);
    TG_EXPECT(b[0] == 'r' && b[n - 1] == 'r');
    tg_cache_release(c, h.entry);
    TG_EXPECT_EQ(stats(c).bytes, st.bytes - held); /* freed with the last reference */
    tg_cache_free(c);
}

static void test_set_limits(void)
{
    struct tg_cache *c = new_cache(64 * 1024, 8 * 1024);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    char path[16], body[1000];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof path, "/s/%d", i);
        struct tg_cache_req rq = mkreq(path, "", NULL, 0);
        TG_EXPECT_EQ(store(c, &rq, &SERVE, 200, rf, 1, body, T0 + i), TG_CACHE_DECLINE_NONE);
    }
    TG_EXPECT_EQ(stats(c).entries, 40);
    struct tg_cache_limits bad = {1000, 2000}, small = {16 * 1024, 4 * 1024};
    TG_EXPECT_EQ(tg_cache_set_limits(c, &bad), -EINVAL);
    TG_EXPECT_EQ(stats(c).max_bytes, 64 * 1024);
    TG_EXPECT_EQ(tg_cache_set_limits(c, &small), 0);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_LE(st.bytes, 16 * 1024);
    TG_EXPECT_GT(st.entries, 0);
    TG_EXPECT_EQ(st.max_object_bytes, 4 * 1024);
    struct tg_cache_req last = mkreq("/s/39", "", NULL, 0), first = mkreq("/s/0", "", NULL, 0);
    TG_EXPECT_EQ(get(c, &last, &SERVE, T0 + S, NULL), TG_CACHE_HIT);
    TG_EXPECT_EQ(get(c, &first, &SERVE, T0 + S, NULL), TG_CACHE_MISS);
    struct tg_cache_limits zero = {0, 0};
    struct tg_cache *none = NULL;
    TG_EXPECT_EQ(tg_cache_new(&zero, 1, &none), -EINVAL);
    TG_EXPECT(none == NULL);
    tg_cache_free(c);
    tg_cache_free(NULL);
}

/* Fallback: serving stale entries when the upstream fails, inside the window only. */
static void test_stale_window(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_rule fb = {.serve = true, .fallback_max_age_us = 3600 * S};
    struct tg_cache_req rq = mkreq("/fb", "", NULL, 0);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=10")};
    TG_EXPECT_EQ(store(c, &rq, &fb, 200, rf, 1, "old", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &rq, &fb, T0 + 100 * S, NULL), TG_CACHE_MISS);
    struct tg_cache_hit h;
    TG_EXPECT(tg_cache_lookup_stale(c, &rq, &fb, T0 + 100 * S, &h));
    TG_EXPECT(h.stale);
    TG_EXPECT_EQ(h.age_us, 100 * S);
    char lines[128];
    size_t n = tg_cache_format_age(lines, sizeof lines, h.age_us, h.stale, true);
    TG_EXPECT_MEMEQ(lines, n,
                    "Age: 100\r\nWarning: 110 - \"Response is Stale\"\r\n"
                    "Warning: 111 - \"Revalidation Failed\"\r\n");
    tg_cache_release(c, h.entry);
    TG_EXPECT(tg_cache_lookup_stale(c, &rq, &fb, T0 + 3600 * S, &h));
    tg_cache_release(c, h.entry);
    TG_EXPECT(!tg_cache_lookup_stale(c, &rq, &fb, T0 + 3600 * S + 1, &h));
    TG_EXPECT(h.entry == NULL);

    /* must-revalidate forbids it; stale-if-error allows it without fallback. */
    struct tg_cache_req mr = mkreq("/mr", "", NULL, 0), se = mkreq("/se", "", NULL, 0);
    struct tg_cache_field mrf[] = {FIELD("Cache-Control", "max-age=10, must-revalidate")};
    struct tg_cache_field sef[] = {FIELD("Cache-Control", "max-age=10, stale-if-error=60")};
    TG_EXPECT_EQ(store(c, &mr, &fb, 200, mrf, 1, "mr", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT(!tg_cache_lookup_stale(c, &mr, &fb, T0 + 11 * S, &h));
    struct tg_cache_rule off = {.serve = true};
    TG_EXPECT_EQ(store(c, &se, &off, 200, sef, 1, "se", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT(tg_cache_lookup_stale(c, &se, &off, T0 + 70 * S, &h));
    tg_cache_release(c, h.entry);
    TG_EXPECT(!tg_cache_lookup_stale(c, &se, &off, T0 + 70 * S + 1, &h));

    /* Fallback alone (caching off, no TTL): stored for failures, never served fresh. */
    struct tg_cache_rule only = {.serve = false, .fallback_max_age_us = 3600 * S};
    struct tg_cache_req fo = mkreq("/fo", "", NULL, 0);
    TG_EXPECT_EQ(store(c, &fo, &only, 200, NULL, 0, "fo", T0), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(get(c, &fo, &only, T0 + S, NULL), TG_CACHE_MISS);
    TG_EXPECT(tg_cache_lookup_stale(c, &fo, &only, T0 + 1800 * S, &h));
    TG_EXPECT(h.stale);
    tg_cache_release(c, h.entry);
    /* ... and with neither, nothing is stored at all. */
    TG_EXPECT_EQ(store(c, &fo, &off, 200, NULL, 0, "fo", T0), TG_CACHE_DECLINE_LIFETIME);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_EQ(st.fallback_served, 4);
    TG_EXPECT_EQ(st.stale_served, 4);
    tg_cache_free(c);
}

/* ---- four threads ------------------------------------------------------------------ */

enum { NTHREADS = 4, NKEYS = 256, OPS = 20000 };

struct worker {
    struct tg_cache *c;
    unsigned seed;
    uint64_t lookups, hits, bad;
};

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Bodies spell their key, repeated, so a hit can check that it got its own bytes. */
static size_t make_body(char *out, const char *key, unsigned len)
{
    size_t kl = strlen(key);
    for (unsigned i = 0; i < len; i++)
        out[i] = key[i % kl];
    return len;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=1")};
    char key[32], body[3000];
    double deadline = tg_test_cpu_s() + 60;
    for (int op = 0; op < OPS && tg_test_cpu_s() < deadline; op++) {
        unsigned r = next_rand(&w->seed);
        snprintf(key, sizeof key, "/t/%u", r % NKEYS);
        struct tg_cache_req rq = mkreq(key, "", NULL, 0);
        int64_t now = T0 + op * 100; /* everything stays fresh: 2 s of ops at most */
        unsigned kind = (r >> 12) % 100;
        if (kind < 70) {
            struct tg_cache_hit h;
            w->lookups++;
            if (tg_cache_lookup(w->c, &rq, &SERVE, now, &h) == TG_CACHE_HIT) {
                size_t n;
                const char *b = tg_cache_entry_body(h.entry, &n);
                for (size_t i = 0; i < n; i++)
                    w->bad += b[i] != key[i % strlen(key)];
                w->hits++;
                tg_cache_release(w->c, h.entry);
            }
        } else if (kind < 97) {
            unsigned len = 200 + (r % 2800);
            make_body(body, key, len);
            bool chunked = kind & 1;
            struct tg_cache_hit h; /* as the proxy does: a lookup, then the offer */
            if (tg_cache_lookup(w->c, &rq, &SERVE, now, &h) == TG_CACHE_HIT)
                tg_cache_release(w->c, h.entry);
            w->lookups++;
            w->hits += h.entry != NULL;
            struct tg_cache_resp rs = {
                200, rf, 1, chunked ? TG_CACHE_ABSENT : (int64_t)len, now, WALL0, h.purge_gen};
            struct tg_cache_fill f;
            if (tg_cache_offer(w->c, &rq, &SERVE, &rs, now, &f) != TG_CACHE_DECLINE_NONE)
                continue;
            int err = 0;
            for (unsigned off = 0; off < len && !err; off += 500)
                err = tg_cache_fill_append(w->c, &f, body + off, len - off < 500 ? len - off : 500);
            if (err || kind == 96)
                tg_cache_fill_abort(w->c, &f); /* a response cut short */
            else {
                int rc = tg_cache_fill_commit(w->c, &f, now);
                w->bad += rc != 0 && rc != -ESTALE; /* -ESTALE: a purge came in between */
            }
        } else
            tg_cache_purge_key(w->c, key, strlen(key), "", 0);
    }
    return NULL;
}

static void test_threads(void)
{
    enum { MAX = 96 * 1024 };
    struct tg_cache *c = new_cache(MAX, 8 * 1024);
    struct worker w[NTHREADS];
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){c, 77u * (unsigned)i + 1, 0, 0, 0};
        TG_EXPECT_EQ(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    uint64_t lookups = 0, hits = 0, bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        lookups += w[i].lookups;
        hits += w[i].hits;
        bad += w[i].bad;
    }
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_EQ(bad, 0);
    TG_EXPECT_EQ(st.hits + st.misses, lookups); /* exact across threads */
    TG_EXPECT_EQ(st.hits, hits);
    TG_EXPECT_GT(hits, 0);
    TG_EXPECT_GT(st.evictions, 0); /* the budget was under pressure */
    TG_EXPECT_LE(st.bytes_peak, MAX);
    TG_EXPECT_LE(st.bytes, MAX);
    /* Every byte is accounted for: with everything purged, nothing is left counted. */
    tg_cache_purge_prefix(c, "/", 1);
    st = stats(c);
    TG_EXPECT_EQ(st.entries, 0);
    TG_EXPECT_EQ(st.bytes, 0);
    fprintf(stderr, "threads: %llu lookups, %llu hits, %llu stores, %llu evictions\n",
            (unsigned long long)lookups, (unsigned long long)hits, (unsigned long long)st.stores,
            (unsigned long long)st.evictions);
    tg_cache_free(c);
}

int main(void)
{
    test_hit_and_expiry();
    test_route_ttl_live();
    test_request_directives();
    test_vary();
    test_refused();
    test_lru_bound_100k();
    test_reference_outlives_eviction();
    test_set_limits();
    test_stale_window();
    test_threads();
    return tg_test_report("test_cache");
}
