/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/cache_fill.c, receiving a response into the cache: which
 * header fields a replay keeps, bodies of unknown length growing and then given back
 * their slack, the object limit before and during the body, responses cut short or
 * overlong, lifetimes from Date and Expires, responses that could never be served, and
 * a budget held entirely by entries in use. Every path ends with the byte count back
 * where it should be. */
#include "protect/cache.h"

#include <errno.h>
#include <string.h>

#include "core/err.h"
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
    TG_EXPECT_EQ(tg_cache_new(&lim, 42, &c), 0);
    return c;
}

static struct tg_cache_req mkreq(const char *path)
{
    return (struct tg_cache_req){false, path, (uint32_t)strlen(path), "", 0, NULL, 0};
}

static struct tg_cache_stats stats(struct tg_cache *c)
{
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    return st;
}

static void test_head_fields(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    struct tg_cache_req rq = mkreq("/h");
    struct tg_cache_field rf[] = {
        FIELD("Connection", "keep-alive, X-Hop"),
        FIELD("Content-Type", "text/html"),
        FIELD("X-Hop", "per-connection"),
        FIELD("Keep-Alive", "timeout=5"),
        FIELD("Transfer-Encoding", "chunked"),
        FIELD("ETag", "\"v1\""),
        FIELD("content-length", "2"),
        FIELD("Age", "3"),
        FIELD("Warning", "110 - \"Response is Stale\""),
        FIELD("X-Request-Id", "abc"),
        FIELD("TE", "trailers"),
        FIELD("Trailer", "X-Sum"),
        FIELD("Upgrade", "h2c"),
        FIELD("Proxy-Connection", "keep-alive"),
        FIELD("Via", "1.1 origin"),
        FIELD("Content-Encoding", "gzip"),
        FIELD("Cache-Control", "max-age=60"),
    };
    struct tg_cache_resp rs = {200, rf, sizeof rf / sizeof rf[0], TG_CACHE_ABSENT, T0, WALL0, 0};
    struct tg_cache_fill f;
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "o", 1), 0);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "k", 1), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), 0);
    struct tg_cache_hit h;
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_HIT);
    size_t n;
    const char *head = tg_cache_entry_head(h.entry, &n);
    TG_EXPECT_MEMEQ(head, n,
                    "Content-Type: text/html\r\nETag: \"v1\"\r\nVia: 1.1 origin\r\n"
                    "Content-Encoding: gzip\r\nCache-Control: max-age=60\r\n");
    const char *body = tg_cache_entry_body(h.entry, &n);
    TG_EXPECT_MEMEQ(body, n, "ok");
    tg_cache_release(c, h.entry);
    tg_cache_free(c);
}

/* A chunked body of 99,700 bytes grows by doubling (to 128 KiB) and gives the slack back
 * at the commit. */
static void test_unknown_length(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 18);
    struct tg_cache_req rq = mkreq("/chunked");
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    struct tg_cache_resp rs = {200, rf, 1, TG_CACHE_ABSENT, T0, WALL0, 0};
    struct tg_cache_fill f;
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    char piece[997];
    for (int i = 0; i < 100; i++) {
        memset(piece, 'a' + i % 26, sizeof piece);
        TG_EXPECT_EQ(tg_cache_fill_append(c, &f, piece, sizeof piece), 0);
    }
    TG_EXPECT_GT(stats(c).bytes, 128 * 1024); /* capacity, before the commit */
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), 0);
    TG_EXPECT(f.entry == NULL);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_GE(st.bytes, 99700);
    TG_EXPECT_LT(st.bytes, 99700 + 512); /* the record, key and head: a few hundred bytes */
    struct tg_cache_hit h;
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_HIT);
    size_t n;
    const char *b = tg_cache_entry_body(h.entry, &n);
    TG_EXPECT_EQ(n, 99700);
    int wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += b[i] != 'a' + (int)(i / 997) % 26;
    TG_EXPECT_EQ(wrong, 0);
    tg_cache_release(c, h.entry);
    tg_cache_free(c);
}

static void test_limits_and_broken_bodies(void)
{
    struct tg_cache *c = new_cache(1 << 20, 8192);
    struct tg_cache_req rq = mkreq("/big");
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    struct tg_cache_fill f;
    static char buf[9000];

    /* Announced too big: declined at the offer. */
    struct tg_cache_resp big = {200, rf, 1, 9000, T0, WALL0, 0};
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &big, T0, &f), TG_CACHE_DECLINE_TOO_BIG);
    TG_EXPECT(f.entry == NULL);

    /* Found too big on the way: TG_ELIMIT, then only an abort. */
    struct tg_cache_resp open = {200, rf, 1, TG_CACHE_ABSENT, T0, WALL0, 0};
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &open, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, buf, 4000), 0);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, buf, 5000), TG_ELIMIT);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, buf, 1), TG_ELIMIT);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), TG_ELIMIT);
    TG_EXPECT_EQ(stats(c).declined[TG_CACHE_DECLINE_TOO_BIG], 2);

    /* Shorter than Content-Length: an aborted response, not stored. */
    struct tg_cache_resp cl = {200, rf, 1, 100, T0, WALL0, 0};
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &cl, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, buf, 99), 0);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), TG_ECLOSED);
    /* Longer than it: broken framing. */
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &cl, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, buf, 101), TG_EPARSE);
    tg_cache_fill_abort(c, &f);
    tg_cache_fill_abort(c, &f); /* harmless when empty */
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), -EINVAL);
    /* Aborted mid-way. */
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &open, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_append(c, &f, buf, 3000), 0);
    tg_cache_fill_abort(c, &f);

    struct tg_cache_hit h;
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_MISS);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_EQ(st.entries, 0);
    TG_EXPECT_EQ(st.stores, 0);
    TG_EXPECT_EQ(st.bytes, 0); /* every reservation given back */

    /* A 204 has no body. */
    struct tg_cache_resp nc = {204, rf, 1, 0, T0, WALL0, 0};
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &nc, T0, &f), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), 0);
    TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &h), TG_CACHE_HIT);
    TG_EXPECT_EQ(tg_cache_entry_status(h.entry), 204);
    size_t n;
    tg_cache_entry_body(h.entry, &n);
    TG_EXPECT_EQ(n, 0);
    tg_cache_release(c, h.entry);
    tg_cache_free(c);
}

static enum tg_cache_decline offer_commit(struct tg_cache *c, const char *path,
                                          const struct tg_cache_rule *rule,
                                          const struct tg_cache_field *rf, uint32_t n, int64_t wall)
{
    struct tg_cache_req rq = mkreq(path);
    struct tg_cache_resp rs = {200, rf, n, 1, T0, wall, 0};
    struct tg_cache_fill f;
    enum tg_cache_decline d = tg_cache_offer(c, &rq, rule, &rs, T0, &f);
    if (d == TG_CACHE_DECLINE_NONE) {
        TG_EXPECT_EQ(tg_cache_fill_append(c, &f, "x", 1), 0);
        TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), 0);
    }
    return d;
}

static enum tg_cache_verdict look(struct tg_cache *c, const char *path, int64_t now)
{
    struct tg_cache_req rq = mkreq(path);
    struct tg_cache_hit h;
    enum tg_cache_verdict v = tg_cache_lookup(c, &rq, &SERVE, now, &h);
    tg_cache_release(c, h.entry);
    return v;
}

static void test_lifetimes(void)
{
    struct tg_cache *c = new_cache(1 << 20, 1 << 16);
    /* Expires 30 s after Date; Date 5 s before arrival: 25 s left. */
    struct tg_cache_field ex[] = {FIELD("Date", "Tue, 14 Nov 2023 22:13:15 GMT"),
                                  FIELD("Expires", "Tue, 14 Nov 2023 22:13:45 GMT")};
    int64_t date = 1700000000 - 5; /* 2023-11-14 22:13:15 */
    TG_EXPECT_EQ(offer_commit(c, "/ex", &SERVE, ex, 2, date + 5), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(look(c, "/ex", T0 + 24 * S), TG_CACHE_HIT);
    TG_EXPECT_EQ(look(c, "/ex", T0 + 25 * S), TG_CACHE_MISS);

    /* Never servable: no lifetime at all, an Expires in the past, or older than its
     * max-age on arrival, with no stale window. */
    struct tg_cache_field none[] = {FIELD("Content-Type", "text/plain")};
    struct tg_cache_field past[] = {FIELD("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")};
    struct tg_cache_field old[] = {FIELD("Cache-Control", "max-age=10"), FIELD("Age", "10")};
    TG_EXPECT_EQ(offer_commit(c, "/n", &SERVE, none, 1, WALL0), TG_CACHE_DECLINE_LIFETIME);
    TG_EXPECT_EQ(offer_commit(c, "/n", &SERVE, past, 1, WALL0), TG_CACHE_DECLINE_LIFETIME);
    TG_EXPECT_EQ(offer_commit(c, "/n", &SERVE, old, 2, WALL0), TG_CACHE_DECLINE_LIFETIME);
    /* ... but with a fallback window they are kept for the upstream's bad days, unless
     * they forbid stale use. */
    struct tg_cache_rule fb = {.serve = true, .fallback_max_age_us = 60 * S};
    TG_EXPECT_EQ(offer_commit(c, "/n", &fb, past, 1, WALL0), TG_CACHE_DECLINE_NONE);
    struct tg_cache_field mr[] = {FIELD("Cache-Control", "max-age=0, must-revalidate")};
    TG_EXPECT_EQ(offer_commit(c, "/mr", &fb, mr, 1, WALL0), TG_CACHE_DECLINE_LIFETIME);
    TG_EXPECT_EQ(stats(c).declined[TG_CACHE_DECLINE_LIFETIME], 4);
    tg_cache_free(c);
}

/* When every entry is being written out, an offer evicts them from the index but cannot
 * free their memory, and is declined rather than pass the budget. */
static void test_budget_held_by_readers(void)
{
    struct tg_cache *c = new_cache(6000, 3000);
    struct tg_cache_field rf[] = {FIELD("Cache-Control", "max-age=60")};
    static char body[2000];
    memset(body, 'p', sizeof body);
    struct tg_cache_hit held[2];
    const char *paths[] = {"/p0", "/p1"};
    for (int i = 0; i < 2; i++) {
        struct tg_cache_req rq = mkreq(paths[i]);
        struct tg_cache_resp rs = {200, rf, 1, sizeof body, T0, WALL0, 0};
        struct tg_cache_fill f;
        TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
        TG_EXPECT_EQ(tg_cache_fill_append(c, &f, body, sizeof body), 0);
        TG_EXPECT_EQ(tg_cache_fill_commit(c, &f, T0), 0);
        TG_EXPECT_EQ(tg_cache_lookup(c, &rq, &SERVE, T0, &held[i]), TG_CACHE_HIT);
    }
    struct tg_cache_req rq = mkreq("/p2");
    struct tg_cache_resp rs = {200, rf, 1, sizeof body, T0, WALL0, 0};
    struct tg_cache_fill f;
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_MEMORY);
    struct tg_cache_stats st = stats(c);
    TG_EXPECT_LE(st.bytes, 6000);
    TG_EXPECT_LE(st.bytes_peak, 6000);
    TG_EXPECT_EQ(st.declined[TG_CACHE_DECLINE_MEMORY], 1);
    for (int i = 0; i < 2; i++)
        tg_cache_release(c, held[i].entry);
    TG_EXPECT_EQ(stats(c).bytes, 0);
    TG_EXPECT_EQ(tg_cache_offer(c, &rq, &SERVE, &rs, T0, &f), TG_CACHE_DECLINE_NONE);
    tg_cache_fill_abort(c, &f);
    tg_cache_free(c);
}

int main(void)
{
    test_head_fields();
    test_unknown_length();
    test_limits_and_broken_bodies();
    test_lifetimes();
    test_budget_held_by_readers();
    return tg_test_report("test_cache_fill");
}
