/* SPDX-License-Identifier: MIT */
/* Unit tests for the store (src/tsdb/tsdb.c, index.c, select.c): appends and their
 * refusals, the four matchers over the postings (a missing label is "", intersections,
 * regexes over the value list) checked against a brute-force scan of random series,
 * results sorted and owning their memory, stale markers at the end of a scrape, sealing,
 * retention by time, the memory cap dropping the oldest chunks first, removed series and
 * renumbered ids, label names and values over a time range, and what counters cost:
 * full chunks sealed at once in the integer coding, heads without doubling slack. */
#include "tsdb/tsdb.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"
#include "tsdb/chunk.h"

#define L(...)                                                                                     \
    ((struct tg_labels){(struct tg_label[]){__VA_ARGS__},                                          \
                        sizeof((struct tg_label[]){__VA_ARGS__}) / sizeof(struct tg_label)})

static struct tg_matcher mk(enum tg_match_type type, const char *name, const char *value)
{
    struct tg_matcher m;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_matcher_init(&m, type, name, value, &eb), 0);
    return m;
}

/* Series selected by one matcher over [mint, maxt]. */
static size_t count1(struct tg_tsdb *db, enum tg_match_type type, const char *name,
                     const char *value)
{
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher m = mk(type, name, value);
    struct tg_series_set set;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, INT64_MIN, INT64_MAX, &set, &eb), 0);
    size_t n = set.n;
    tg_series_set_free(&set);
    tg_matcher_free(&m);
    return n;
}

static void test_append_and_refusals(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_labels a = L({"__name__", "up"}, {"job", "gw"});
    TG_EXPECT_EQ(tg_tsdb_append(db, &a, 1000, 1), 0);
    TG_EXPECT_EQ(tg_tsdb_append(db, &a, 1000, 1), -EEXIST);
    TG_EXPECT_EQ(tg_tsdb_append(db, &a, 999, 1), -ERANGE);
    TG_EXPECT_EQ(tg_tsdb_append(db, &a, 2000, 0), 0);
    struct tg_labels unsorted = L({"job", "gw"}, {"__name__", "up"});
    TG_EXPECT_EQ(tg_tsdb_append(db, &unsorted, 3000, 1), -EINVAL);
    struct tg_labels dup = L({"a", "1"}, {"a", "2"});
    TG_EXPECT_EQ(tg_tsdb_append(db, &dup, 3000, 1), -EINVAL);
    struct tg_labels empty_name = L({"", "1"});
    TG_EXPECT_EQ(tg_tsdb_append(db, &empty_name, 3000, 1), -EINVAL);
    struct tg_labels only_empty = L({"a", ""});
    TG_EXPECT_EQ(tg_tsdb_append(db, &only_empty, 3000, 1), -EINVAL);
    /* An empty value is no label: this is the series `a` above. */
    struct tg_labels with_empty = L({"__name__", "up"}, {"instance", ""}, {"job", "gw"});
    TG_EXPECT_EQ(tg_tsdb_append(db, &with_empty, 3000, 1), 0);
    struct tg_tsdb_stats st;
    tg_tsdb_stats(db, &st);
    TG_EXPECT_EQ(st.series, 1);
    TG_EXPECT_EQ(st.samples, 3);
    TG_EXPECT_EQ(st.samples_appended_total, 3);
    TG_EXPECT_EQ(st.duplicate_total, 1);
    TG_EXPECT_EQ(st.out_of_order_total, 1);
    TG_EXPECT_EQ(st.invalid_total, 4);
    TG_EXPECT_EQ(st.head_chunks, 1);
    TG_EXPECT_EQ(st.mint, 1000);
    TG_EXPECT_EQ(st.maxt, 3000);
    TG_EXPECT_GT(st.bytes, st.chunk_bytes);
    tg_tsdb_free(db);
}

static void test_matchers_and_empty_values(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_labels s[] = {
        L({"__name__", "http_requests_total"}, {"method", "GET"}, {"status", "200"}),
        L({"__name__", "http_requests_total"}, {"method", "GET"}, {"status", "500"}),
        L({"__name__", "http_requests_total"}, {"method", "POST"}, {"status", "503"}),
        L({"__name__", "http_requests_total"}, {"method", "POST"}),
        L({"__name__", "up"}),
    };
    for (size_t i = 0; i < 5; i++)
        TG_EXPECT_EQ(tg_tsdb_append(db, &s[i], 1000, (double)i), 0);
    TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "method", "GET"), 2);
    TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "status", ""), 2); /* without status */
    TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "nope", ""), 5);
    TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "nope", "x"), 0);
    TG_EXPECT_EQ(count1(db, TG_MATCH_NOT_EQUAL, "status", "200"), 4); /* missing != 200 */
    TG_EXPECT_EQ(count1(db, TG_MATCH_NOT_EQUAL, "status", ""), 3);
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "status", "5.."), 2);
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "status", "5"), 0);    /* anchored */
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "status", "5..|"), 4); /* or missing */
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "status", ".+"), 3);
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "status", ".*"), 5);
    TG_EXPECT_EQ(count1(db, TG_MATCH_NOT_REGEX, "status", "5.."), 3); /* 200 and missing */
    TG_EXPECT_EQ(count1(db, TG_MATCH_NOT_REGEX, "status", ".*"), 0);
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "__name__", "http_.*"), 4);

    /* Intersection, and the output sorted by label set whatever the insertion order. */
    struct tg_matcher ms[2] = {mk(TG_MATCH_EQUAL, "__name__", "http_requests_total"),
                               mk(TG_MATCH_NOT_REGEX, "status", "2..")};
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_series_set set;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.select(q.ctx, ms, 2, 0, 5000, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 3);
    for (size_t i = 1; i < set.n; i++)
        TG_EXPECT_LT(tg_labels_cmp(&set.series[i - 1].labels, &set.series[i].labels), 0);
    TG_EXPECT_STREQ(tg_labels_get(&set.series[0].labels, "status"), "500");
    TG_EXPECT_STREQ(tg_labels_get(&set.series[1].labels, "status"), "");
    TG_EXPECT_EQ(set.series[0].nsamples, 1);
    TG_EXPECT_EQ(set.series[0].samples[0].t, 1000);
    TG_EXPECT(set.series[0].samples[0].v == 1);
    /* The set owns its memory: it outlives the store. */
    tg_tsdb_free(db);
    TG_EXPECT_STREQ(tg_labels_get(&set.series[2].labels, "status"), "503");
    tg_series_set_free(&set);
    tg_series_set_free(&set); /* a freed set is zeroed and frees again cleanly */
    tg_matcher_free(&ms[0]);
    tg_matcher_free(&ms[1]);
}

/* Random series over a few label names; every matcher combination is compared with a
 * scan that applies tg_matcher_matches to each series' own labels. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static void test_matchers_against_scan(void)
{
    enum { NSERIES = 400, NAMES = 4, VALUES = 6 };
    static const char *names[NAMES] = {"__name__", "a", "b", "c"};
    static const char *values[VALUES] = {"x", "y", "z", "xy", "200", "500"};
    static struct tg_label lab[NSERIES][NAMES];
    static uint32_t nlab[NSERIES];
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    for (int i = 0; i < NSERIES; i++) {
        nlab[i] = 0;
        for (int j = 0; j < NAMES; j++)
            if (j == 0 || rnd() % 3)
                lab[i][nlab[i]++] = (struct tg_label){names[j], values[rnd() % VALUES]};
        struct tg_labels ls = {lab[i], nlab[i]};
        int rc = tg_tsdb_append(db, &ls, 1000 + i, 1);
        TG_EXPECT(rc == 0 || rc == -ERANGE); /* a repeated random set is older */
    }
    static const char *res[] = {"x", "x.*", ".*", "", "y|z", "[0-9]+", "5..", "xy?"};
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    for (int round = 0; round < 300; round++) {
        size_t nms = 1 + rnd() % 3;
        struct tg_matcher ms[3];
        for (size_t k = 0; k < nms; k++) {
            enum tg_match_type type = (enum tg_match_type)(rnd() % 4);
            const char *v =
                type < TG_MATCH_REGEX ? (rnd() % 4 ? values[rnd() % VALUES] : "") : res[rnd() % 8];
            ms[k] = mk(type, names[rnd() % NAMES], v);
        }
        struct tg_series_set set;
        struct tg_errbuf eb;
        TG_EXPECT_EQ(q.select(q.ctx, ms, nms, INT64_MIN, INT64_MAX, &set, &eb), 0);
        /* Brute force over the distinct stored sets: the store's own list is the truth
         * for which sets exist, so scan it with every matcher on every label. */
        struct tg_series_set all;
        TG_EXPECT_EQ(q.select(q.ctx, NULL, 0, INT64_MIN, INT64_MAX, &all, &eb), 0);
        size_t want = 0;
        for (size_t i = 0; i < all.n; i++) {
            bool ok = true;
            for (size_t k = 0; k < nms && ok; k++)
                ok = tg_matcher_matches(&ms[k], tg_labels_get(&all.series[i].labels, ms[k].name));
            want += ok;
        }
        TG_EXPECT_EQ(set.n, want);
        for (size_t i = 0; i < set.n; i++)
            for (size_t k = 0; k < nms; k++)
                TG_EXPECT(
                    tg_matcher_matches(&ms[k], tg_labels_get(&set.series[i].labels, ms[k].name)));
        tg_series_set_free(&set);
        tg_series_set_free(&all);
        for (size_t k = 0; k < nms; k++)
            tg_matcher_free(&ms[k]);
    }
    tg_tsdb_free(db);
}

static void test_ranges_and_sealing(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_labels a = L({"__name__", "c"});
    for (int i = 0; i < 1000; i++)
        TG_EXPECT_EQ(tg_tsdb_append(db, &a, i * 5000, i), 0);
    struct tg_tsdb_stats st;
    tg_tsdb_stats(db, &st);
    TG_EXPECT_EQ(st.chunks, 1000 / TG_CHUNK_SAMPLES);
    TG_EXPECT_EQ(st.head_chunks, 1);
    TG_EXPECT_EQ(st.samples, 1000);
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher m = mk(TG_MATCH_EQUAL, "__name__", "c");
    struct tg_series_set set;
    struct tg_errbuf eb;
    /* Both ends inclusive, across chunk boundaries. */
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, 595000, 1200000, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 1);
    TG_EXPECT_EQ(set.series[0].nsamples, 122);
    TG_EXPECT_EQ(set.series[0].samples[0].t, 595000);
    TG_EXPECT(set.series[0].samples[121].v == 240);
    tg_series_set_free(&set);
    /* A range between two samples holds nothing: the series is left out. */
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, 5001, 9999, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 0);
    tg_series_set_free(&set);
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, 10, 5, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 0);
    tg_series_set_free(&set);
    tg_matcher_free(&m);
    tg_tsdb_free(db);
}

/* 40 counters scraped every 5 s with increments of 20 to 39 (a histogram bucket of a
 * busy endpoint). Gorilla's XOR coding needs about 2 bytes a sample for these, plus the
 * sealed chunks' structs and the heads' doubling slack; integer deltas of deltas need
 * about one. */
static void test_counter_bytes(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    uint64_t seed = 42;
    double c[40] = {0};
    char name[40][16];
    struct tg_tsdb_stats st;
    for (int s = 0; s < 5 * TG_CHUNK_SAMPLES + TG_CHUNK_SAMPLES / 2; s++) {
        for (int k = 0; k < 40; k++) {
            snprintf(name[k], sizeof name[k], "b%d_total", k);
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            c[k] += (double)(20 + (seed >> 33) % 20);
            struct tg_labels ls = L({"__name__", name[k]});
            TG_EXPECT_EQ(tg_tsdb_append(db, &ls, 1700000000000 + s * 5000, c[k]), 0);
        }
        if (s == 5 * TG_CHUNK_SAMPLES - 1) { /* every chunk full: all sealed */
            tg_tsdb_stats(db, &st);
            TG_EXPECT_EQ(st.head_chunks, 0);
            TG_EXPECT_EQ(st.chunks, 5 * 40);
            TG_EXPECT_LT(st.chunk_bytes, st.samples * 5 / 4);
        }
    }
    tg_tsdb_stats(db, &st); /* half a head each, in the XOR coding */
    TG_EXPECT_EQ(st.head_chunks, 40);
    TG_EXPECT_LT(st.chunk_bytes, st.samples * 3 / 2);
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher m = mk(TG_MATCH_EQUAL, "__name__", "b39_total");
    struct tg_series_set set;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, INT64_MIN, INT64_MAX, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 1);
    if (set.n == 1) {
        TG_EXPECT_EQ(set.series[0].nsamples, 5 * TG_CHUNK_SAMPLES + TG_CHUNK_SAMPLES / 2);
        TG_EXPECT(set.series[0].samples[set.series[0].nsamples - 1].v == c[39]);
    }
    tg_series_set_free(&set);
    tg_matcher_free(&m);
    tg_tsdb_free(db);
}

static void test_stale_at_end_of_scrape(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_tsdb_point pts[] = {
        {L({"__name__", "x"}, {"job", "gw"}, {"path", "/a"}), 1},
        {L({"__name__", "x"}, {"job", "gw"}, {"path", "/b"}), 2},
        {L({"__name__", "x"}, {"job", "node"}), 3},
    };
    size_t n;
    TG_EXPECT_EQ(tg_tsdb_append_batch(db, 1000, pts, 3, &n), 0);
    TG_EXPECT_EQ(n, 3);
    TG_EXPECT_EQ(tg_tsdb_end_scrape(db, "gw", 1000), 0);
    /* Next scrape: /b is gone from job gw; job node is not scraped at all. */
    TG_EXPECT_EQ(tg_tsdb_append_batch(db, 6000, pts, 1, &n), 0);
    TG_EXPECT_EQ(tg_tsdb_end_scrape(db, "gw", 6000), 1);
    TG_EXPECT_EQ(tg_tsdb_end_scrape(db, "gw", 6000), 0); /* already marked */
    TG_EXPECT_EQ(tg_tsdb_append_batch(db, 11000, pts, 1, &n), 0);
    TG_EXPECT_EQ(tg_tsdb_end_scrape(db, "gw", 11000), 0); /* stale stays stale */
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher m = mk(TG_MATCH_EQUAL, "path", "/b");
    struct tg_series_set set;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, 0, 20000, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 1);
    TG_EXPECT_EQ(set.series[0].nsamples, 2);
    TG_EXPECT_EQ(set.series[0].samples[1].t, 6000);
    TG_EXPECT(tg_is_stale(set.series[0].samples[1].v));
    tg_series_set_free(&set);
    tg_matcher_free(&m);
    /* It comes back: a normal sample after the marker. */
    TG_EXPECT_EQ(tg_tsdb_append_batch(db, 16000, pts, 2, &n), 0);
    TG_EXPECT_EQ(n, 2);
    TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "job", "node"), 1); /* untouched */
    tg_tsdb_free(db);
}

static void test_retention(void)
{
    struct tg_tsdb_opts o = {.retention_ms = 3600 * 1000};
    struct tg_tsdb *db = tg_tsdb_new(&o);
    char path[32];
    /* 50 short-lived series early, 10 that live on. */
    for (int64_t t = 0; t <= 3 * 3600 * 1000; t += 5000) {
        struct tg_tsdb_point pts[60];
        char paths[60][16];
        size_t n = 0;
        for (int i = 0; i < 60; i++) {
            if (i >= 10 && t > 600 * 1000)
                continue;
            snprintf(paths[i], sizeof paths[i], "/p%d", i);
            pts[n].labels.n = 2;
            struct tg_label *l = malloc(2 * sizeof *l);
            l[0] = (struct tg_label){"__name__", "x"};
            l[1] = (struct tg_label){"path", paths[i]};
            pts[n].labels.v = l;
            pts[n++].v = (double)t;
        }
        TG_EXPECT_EQ(tg_tsdb_append_batch(db, t, pts, n, NULL), 0);
        for (size_t i = 0; i < n; i++)
            free((void *)pts[i].labels.v);
    }
    struct tg_tsdb_stats st;
    tg_tsdb_stats(db, &st);
    TG_EXPECT_EQ(st.series, 10);
    TG_EXPECT_EQ(st.series_removed_total, 50);
    TG_EXPECT_GT(st.retention_chunks_total, 0);
    /* Nothing older than the retention minus one chunk's span (10 min of 5 s samples)
     * plus one retention period between checks is kept. */
    TG_EXPECT_GE(st.mint, 3 * 3600 * 1000 - 3600 * 1000 - 600 * 1000 - 60 * 1000);
    TG_EXPECT_EQ(st.maxt, 3 * 3600 * 1000);
    /* The index was rebuilt with renumbered ids: lookups and appends still work. */
    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "/p%d", i);
        TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "path", path), 1);
        struct tg_labels ls = L({"__name__", "x"}, {"path", path});
        TG_EXPECT_EQ(tg_tsdb_append(db, &ls, 3 * 3600 * 1000 + 5000, 1), 0);
    }
    TG_EXPECT_EQ(count1(db, TG_MATCH_EQUAL, "path", "/p10"), 0);
    TG_EXPECT_EQ(count1(db, TG_MATCH_REGEX, "path", ".+"), 10);
    tg_tsdb_stats(db, &st);
    TG_EXPECT_EQ(st.series, 10);
    /* An explicit gc far ahead empties the store. */
    TG_EXPECT_GT(tg_tsdb_gc(db, 100 * 3600 * 1000LL), 0);
    tg_tsdb_stats(db, &st);
    TG_EXPECT_EQ(st.series, 0);
    TG_EXPECT_EQ(st.samples, 0);
    TG_EXPECT_EQ(st.chunk_bytes, 0);
    tg_tsdb_free(db);
}

static void test_memory_cap(void)
{
    struct tg_tsdb_opts o = {.retention_ms = 1000LL * 3600 * 1000, .max_bytes = 256 * 1024};
    struct tg_tsdb *db = tg_tsdb_new(&o);
    char paths[50][16];
    struct tg_label l[50][2];
    struct tg_tsdb_point pts[50];
    for (int i = 0; i < 50; i++) {
        snprintf(paths[i], sizeof paths[i], "/p%d", i);
        l[i][0] = (struct tg_label){"__name__", "x"};
        l[i][1] = (struct tg_label){"path", paths[i]};
        pts[i].labels = (struct tg_labels){l[i], 2};
    }
    int64_t t = 0;
    struct tg_tsdb_stats st;
    for (int s = 0; s < 20000; s++, t += 5000) {
        for (int i = 0; i < 50; i++)
            pts[i].v = (double)(rnd() % 100000); /* noisy: about 3 bytes a sample */
        TG_EXPECT_EQ(tg_tsdb_append_batch(db, t, pts, 50, NULL), 0);
        tg_tsdb_stats(db, &st);
        if (st.bytes > o.max_bytes)
            TG_EXPECT_LE(st.bytes, o.max_bytes); /* held at every scrape */
    }
    TG_EXPECT_GT(st.cap_chunks_total, 0);
    TG_EXPECT_EQ(st.retention_chunks_total, 0);
    TG_EXPECT_EQ(st.series, 50);
    /* The oldest went first: every series still reaches back about as far (within a
     * chunk of the others), and the newest scrape is all there. */
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_series_set set;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.select(q.ctx, NULL, 0, INT64_MIN, INT64_MAX, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 50);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < set.n; i++) {
        int64_t first = set.series[i].samples[0].t;
        lo = first < lo ? first : lo;
        hi = first > hi ? first : hi;
        TG_EXPECT_EQ(set.series[i].samples[set.series[i].nsamples - 1].t, t - 5000);
    }
    TG_EXPECT_GT(lo, 0);
    TG_EXPECT_LE(hi - lo, TG_CHUNK_SAMPLES * 5000);
    tg_series_set_free(&set);
    tg_tsdb_free(db);
}

/* Series that churn away (each lives a few scrapes, then is marked stale at the end of a
 * scrape) are sealed when they go stale, so the memory cap reclaims them and the store
 * stays under the cap even though no head chunk is ever dropped. */
static void test_churn_under_cap(void)
{
    struct tg_tsdb_opts o = {.retention_ms = 1000LL * 3600 * 1000, .max_bytes = 512 * 1024};
    struct tg_tsdb *db = tg_tsdb_new(&o);
    struct tg_tsdb_stats st;
    int64_t t = 0;
    for (int gen = 0; gen < 200; gen++) {
        char paths[20][24];
        struct tg_label l[20][3];
        struct tg_tsdb_point pts[20];
        for (int i = 0; i < 20; i++) {
            snprintf(paths[i], sizeof paths[i], "/g%d/%d", gen, i);
            l[i][0] = (struct tg_label){"__name__", "x"};
            l[i][1] = (struct tg_label){"job", "gw"};
            l[i][2] = (struct tg_label){"path", paths[i]};
            pts[i].labels = (struct tg_labels){l[i], 3};
        }
        for (int k = 0; k < 3; k++, t += 5000) {
            for (int i = 0; i < 20; i++)
                pts[i].v = (double)(rnd() % 1000);
            TG_EXPECT_EQ(tg_tsdb_append_batch(db, t, pts, 20, NULL), 0);
            TG_EXPECT_GE(tg_tsdb_end_scrape(db, "gw", t), 0);
        }
        tg_tsdb_stats(db, &st);
        TG_EXPECT_LE(st.bytes, o.max_bytes);
    }
    tg_tsdb_stats(db, &st);
    TG_EXPECT_GT(st.cap_chunks_total, 0);
    TG_EXPECT_LT(st.series, 200 * 20); /* the oldest generations are gone entirely */
    TG_EXPECT_LE(st.head_chunks, 40);  /* the live generation and the one just marked */
    tg_tsdb_free(db);
}

static void test_label_names_values(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_labels a = L({"__name__", "x"}, {"job", "gw"}, {"path", "/a"});
    struct tg_labels b = L({"__name__", "y"}, {"instance", "i1"}, {"job", "node"});
    TG_EXPECT_EQ(tg_tsdb_append(db, &a, 1000, 1), 0);
    TG_EXPECT_EQ(tg_tsdb_append(db, &a, 9000, 1), 0);
    TG_EXPECT_EQ(tg_tsdb_append(db, &b, 20000, 1), 0);
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    char **v;
    size_t n;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.label_names(q.ctx, NULL, 0, 0, 100000, &v, &n, &eb), 0);
    TG_EXPECT_EQ(n, 4);
    if (n == 4) {
        TG_EXPECT_STREQ(v[0], "__name__");
        TG_EXPECT_STREQ(v[1], "instance");
        TG_EXPECT_STREQ(v[3], "path");
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    /* Range: series a only has samples at 1000 and 9000; [2000, 8000] holds neither. */
    TG_EXPECT_EQ(q.label_values(q.ctx, "job", NULL, 0, 2000, 8000, &v, &n, &eb), 0);
    TG_EXPECT_EQ(n, 0);
    free(v);
    TG_EXPECT_EQ(q.label_values(q.ctx, "job", NULL, 0, 0, 100000, &v, &n, &eb), 0);
    TG_EXPECT_EQ(n, 2);
    if (n == 2) {
        TG_EXPECT_STREQ(v[0], "gw");
        TG_EXPECT_STREQ(v[1], "node");
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    struct tg_matcher m = mk(TG_MATCH_EQUAL, "job", "node");
    TG_EXPECT_EQ(q.label_names(q.ctx, &m, 1, 0, 100000, &v, &n, &eb), 0);
    TG_EXPECT_EQ(n, 3);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    tg_matcher_free(&m);
    tg_tsdb_free(db);
}

/* A selection of more than 4 MB of samples (their own mapping) and a small one (the
 * arena's blocks), each over whole chunks and over a window that cuts chunks: every
 * sample comes back, in order, and nothing else. */
static void check_selection(struct tg_tsdb *db, int nseries, int nsamples, int64_t mint,
                            int64_t maxt)
{
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher m = mk(TG_MATCH_EQUAL, "__name__", "big");
    struct tg_series_set set;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(q.select(q.ctx, &m, 1, mint, maxt, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, (size_t)nseries);
    int64_t from = mint < 0 ? 0 : (mint + 999) / 1000;
    int64_t to = maxt / 1000 < nsamples - 1 ? maxt / 1000 : nsamples - 1;
    bool ok = true;
    for (size_t i = 0; i < set.n; i++) {
        const struct tg_series *se = &set.series[i];
        int k = atoi(tg_labels_get(&se->labels, "k"));
        ok &= se->nsamples == (uint32_t)(to - from + 1);
        for (uint32_t j = 0; ok && j < se->nsamples; j++)
            ok &= se->samples[j].t == (from + j) * 1000 &&
                  se->samples[j].v == (double)(k * 100000 + from + j);
    }
    TG_EXPECT(ok);
    tg_series_set_free(&set);
    tg_matcher_free(&m);
}

static void test_large_selection(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    enum { NSERIES = 400, NSAMPLES = 1000 }; /* 6.4 MB of decoded samples */
    for (int t = 0; t < NSAMPLES; t++)
        for (int k = 0; k < NSERIES; k++) {
            char kv[8];
            snprintf(kv, sizeof kv, "%d", k);
            struct tg_labels ls = L({"__name__", "big"}, {"k", kv});
            TG_EXPECT_EQ(tg_tsdb_append(db, &ls, (int64_t)t * 1000, k * 100000 + t), 0);
        }
    check_selection(db, NSERIES, NSAMPLES, INT64_MIN, INT64_MAX);
    check_selection(db, NSERIES, NSAMPLES, 1500, 900000);
    check_selection(db, NSERIES, NSAMPLES, 600000, 620000); /* small: 21 samples a series */
    tg_tsdb_free(db);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_append_and_refusals();
    test_matchers_and_empty_values();
    test_matchers_against_scan();
    test_ranges_and_sealing();
    test_counter_bytes();
    test_stale_at_end_of_scrape();
    test_retention();
    test_memory_cap();
    test_churn_under_cap();
    test_label_names_values();
    test_large_selection();
    return tg_test_report(argv[0]);
}
