/* SPDX-License-Identifier: MIT */
/* Unit tests for src/tsdb/file.c: a store saved and loaded back answers the same (labels,
 * sample bits, stale markers, sealed and head chunks) and takes appends where it left
 * off; every truncation and every flipped byte of a file is refused with a message and
 * leaves the store empty; foreign, newer and missing files are told apart; a save
 * replaces the old file and leaves no temporary behind. Chunks in the integer coding
 * (sealed and head) come back exactly and are checked as strictly; a version 1 file
 * (before the coding field) still loads and is saved back as version 2. */
#include "tsdb/tsdb.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_test.h"

static char dir[64];
static char path[128];

static uint8_t *read_all(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    TG_EXPECT(f != NULL);
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n ? *n : 1);
    TG_EXPECT_EQ(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void write_all(const char *p, const uint8_t *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    TG_EXPECT(f != NULL);
    TG_EXPECT_EQ(fwrite(b, 1, n, f), n);
    fclose(f);
}

static struct tg_tsdb *sample_store(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    char path_v[32];
    for (int i = 0; i < 30; i++) {
        snprintf(path_v, sizeof path_v, "/api/%d", i);
        struct tg_label l[] = {
            {"__name__", "http_requests_total"}, {"endpoint", path_v}, {"job", "tailguard"}};
        struct tg_labels ls = {l, 3};
        for (int s = 0; s < 130 + i * 7; s++) {
            double v = s % 17 == 0 ? NAN : s % 29 == 0 ? -0.0 : (double)(s * i) / 3;
            TG_EXPECT_EQ(tg_tsdb_append(db, &ls, 1700000000000 + s * 5000, v), 0);
        }
    }
    struct tg_label l[] = {{"__name__", "gone"}, {"job", "tailguard"}};
    struct tg_labels ls = {l, 2};
    TG_EXPECT_EQ(tg_tsdb_append(db, &ls, 1700000000000, INFINITY), 0);
    /* Every series of the job ended before this scrape: 31 stale markers. */
    TG_EXPECT_EQ(tg_tsdb_end_scrape(db, "tailguard", 1700000000000 + 1000 * 5000), 31);
    return db;
}

/* Integer counters of 250 samples each (two sealed chunks, a head of 10), one with a
 * reset, one negative, one with a float in its last chunk. */
static struct tg_tsdb *int_store(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    const char *names[] = {"a_total", "b_total", "c", "d_total"};
    for (int k = 0; k < 4; k++) {
        struct tg_label l[] = {{"__name__", names[k]}, {"job", "tailguard"}};
        struct tg_labels ls = {l, 2};
        double c = 0;
        for (int s = 0; s < 250; s++) {
            c = k == 1 && s == 100 ? 2 : c + (double)((s * 7919 + k) % 97);
            double v = k == 2 ? -c : k == 3 && s == 245 ? 0.25 : c;
            TG_EXPECT_EQ(tg_tsdb_append(db, &ls, 1700000000000 + s * 5000, v), 0);
        }
    }
    return db;
}

static void expect_same(struct tg_tsdb *a, struct tg_tsdb *b)
{
    struct tg_queryable qa, qb;
    tg_tsdb_queryable(a, &qa);
    tg_tsdb_queryable(b, &qb);
    struct tg_series_set sa, sb;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(qa.select(qa.ctx, NULL, 0, INT64_MIN, INT64_MAX, &sa, &eb), 0);
    TG_EXPECT_EQ(qb.select(qb.ctx, NULL, 0, INT64_MIN, INT64_MAX, &sb, &eb), 0);
    TG_EXPECT_EQ(sa.n, sb.n);
    for (size_t i = 0; i < sa.n && i < sb.n; i++) {
        TG_EXPECT_EQ(tg_labels_cmp(&sa.series[i].labels, &sb.series[i].labels), 0);
        TG_EXPECT_EQ(sa.series[i].nsamples, sb.series[i].nsamples);
        if (sa.series[i].nsamples != sb.series[i].nsamples)
            continue;
        TG_EXPECT_EQ(memcmp(sa.series[i].samples, sb.series[i].samples,
                            sa.series[i].nsamples * sizeof(struct tg_sample)),
                     0);
    }
    tg_series_set_free(&sa);
    tg_series_set_free(&sb);
    struct tg_tsdb_stats x, y;
    tg_tsdb_stats(a, &x);
    tg_tsdb_stats(b, &y);
    TG_EXPECT_EQ(x.series, y.series);
    TG_EXPECT_EQ(x.samples, y.samples);
    TG_EXPECT_EQ(x.mint, y.mint);
    TG_EXPECT_EQ(x.maxt, y.maxt);
}

static void test_roundtrip(void)
{
    struct tg_tsdb *db = sample_store();
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_tsdb_save(db, path, &eb), 0);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    TG_EXPECT_EQ(access(tmp, F_OK), -1);
    struct tg_tsdb *back = tg_tsdb_new(NULL);
    TG_EXPECT_EQ(tg_tsdb_load(back, path, &eb), 0);
    expect_same(db, back);
    /* The stale markers came back as such: the end of a scrape does not mark again. */
    TG_EXPECT_EQ(tg_tsdb_end_scrape(back, "tailguard", 1700000000000 + 2000 * 5000), 0);
    /* Appends go on after the loaded data and refuse what is older. */
    struct tg_label l[] = {
        {"__name__", "http_requests_total"}, {"endpoint", "/api/3"}, {"job", "tailguard"}};
    struct tg_labels ls = {l, 3};
    TG_EXPECT_EQ(tg_tsdb_append(back, &ls, 1700000000000, 1), -ERANGE);
    TG_EXPECT_EQ(tg_tsdb_append(back, &ls, 1700000000000 + 3000 * 5000, 1), 0);
    /* Loading into a store that holds data is refused. */
    TG_EXPECT_EQ(tg_tsdb_load(back, path, &eb), -EINVAL);
    /* A second save replaces the file; an empty store saves and loads too. */
    struct tg_tsdb *empty = tg_tsdb_new(NULL);
    TG_EXPECT_EQ(tg_tsdb_save(empty, path, &eb), 0);
    struct tg_tsdb *empty2 = tg_tsdb_new(NULL);
    TG_EXPECT_EQ(tg_tsdb_load(empty2, path, &eb), 0);
    expect_same(empty, empty2);
    tg_tsdb_free(empty);
    tg_tsdb_free(empty2);
    tg_tsdb_free(back);
    tg_tsdb_free(db);
}

static void test_integer_chunks(void)
{
    struct tg_tsdb *db = int_store();
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_tsdb_save(db, path, &eb), 0);
    struct tg_tsdb *back = tg_tsdb_new(NULL);
    TG_EXPECT_EQ(tg_tsdb_load(back, path, &eb), 0);
    expect_same(db, back);
    /* 1,000 samples of counters take well under 2 bytes each, headers and labels
     * included. */
    struct stat st;
    TG_EXPECT_EQ(stat(path, &st), 0);
    TG_EXPECT_LT(st.st_size, 2000);
    tg_tsdb_free(back);
    tg_tsdb_free(db);
}

/* One series, up{instance="127.0.0.1:9090",job="tailguard"} = 1 at 1700000000000, as
 * version 1 wrote it (no chunk coding field). */
static const uint8_t version1[] = {
    0x54, 0x47, 0x54, 0x53, 0x44, 0x42, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd3, 0x3f, 0x04,
    0x86, 0x01, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x01, 0x03, 0x08, 0x5f, 0x5f, 0x6e,
    0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x02, 0x75, 0x70, 0x08, 0x69, 0x6e, 0x73, 0x74, 0x61, 0x6e,
    0x63, 0x65, 0x0e, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x39, 0x30,
    0x39, 0x30, 0x03, 0x6a, 0x6f, 0x62, 0x09, 0x74, 0x61, 0x69, 0x6c, 0x67, 0x75, 0x61, 0x72,
    0x64, 0x01, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0x00, 0x01, 0x70, 0x80, 0xa0, 0xab, 0xfe,
    0xf9, 0x62, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0xed, 0x4e, 0x8e, 0x02,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0e, 0x25, 0x98, 0x82};

static void test_version1(void)
{
    write_all(path, version1, sizeof version1);
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_tsdb_load(db, path, &eb), 0);
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_series_set set;
    TG_EXPECT_EQ(q.select(q.ctx, NULL, 0, INT64_MIN, INT64_MAX, &set, &eb), 0);
    TG_EXPECT_EQ(set.n, 1);
    if (set.n == 1) {
        TG_EXPECT_EQ(set.series[0].labels.n, 3);
        TG_EXPECT_EQ(set.series[0].nsamples, 1);
        TG_EXPECT_EQ(set.series[0].samples[0].t, 1700000000000);
        TG_EXPECT(set.series[0].samples[0].v == 1);
    }
    tg_series_set_free(&set);
    /* Saved back as version 2, which loads to the same. */
    TG_EXPECT_EQ(tg_tsdb_save(db, path, &eb), 0);
    size_t n = 0;
    uint8_t *b = read_all(path, &n);
    TG_EXPECT(n > 12 && b[8] == 2 && b[9] == 0);
    struct tg_tsdb *again = tg_tsdb_new(NULL);
    TG_EXPECT_EQ(tg_tsdb_load(again, path, &eb), 0);
    expect_same(db, again);
    tg_tsdb_free(again);
    free(b);
    tg_tsdb_free(db);
}

static void expect_refused(const uint8_t *b, size_t n, const char *what)
{
    write_all(path, b, n);
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_errbuf eb = {0};
    int rc = tg_tsdb_load(db, path, &eb);
    TG_EXPECT_EQ(rc, TG_ESTORE);
    if (rc != TG_ESTORE)
        fprintf(stderr, "  %s was accepted\n", what);
    TG_EXPECT(strstr(eb.msg, "tsdb file ") != NULL && strstr(eb.msg, "offset ") != NULL);
    struct tg_tsdb_stats st;
    tg_tsdb_stats(db, &st);
    TG_EXPECT_EQ(st.series, 0);
    TG_EXPECT_EQ(st.samples, 0);
    TG_EXPECT_EQ(st.chunk_bytes, 0);
    tg_tsdb_free(db);
}

/* Every truncation and changed byte (sampled) of `db`'s file is refused. */
static void expect_damage_refused(struct tg_tsdb *db, size_t step)
{
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_tsdb_save(db, path, &eb), 0);
    size_t n = 0;
    uint8_t *good = read_all(path, &n);
    uint8_t *bad = malloc(n);
    for (size_t cut = 0; cut < n; cut += cut < 64 ? 1 : 97)
        expect_refused(good, cut, "a truncated file");
    for (size_t i = 0; i < n; i += i < 64 ? 1 : step) {
        memcpy(bad, good, n);
        bad[i] ^= (uint8_t)(1 + i % 255);
        expect_refused(bad, n, "a changed byte");
    }
    free(bad);
    free(good);
}

static void test_damaged_files(void)
{
    struct tg_tsdb *ints = int_store();
    expect_damage_refused(ints, 1);
    tg_tsdb_free(ints);
    struct tg_tsdb *db = sample_store();
    expect_damage_refused(db, 13);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_tsdb_save(db, path, &eb), 0);
    size_t n = 0;
    uint8_t *good = read_all(path, &n);
    uint8_t *bad = malloc(n);
    TG_EXPECT_GT(n, 1000);
    /* Extra bytes after the end block. */
    uint8_t *longer = malloc(n + 3);
    memcpy(longer, good, n);
    memset(longer + n, 0, 3);
    expect_refused(longer, n + 3, "trailing bytes");
    /* The messages tell a foreign file from a damaged one. */
    write_all(path, (const uint8_t *)"hello, this is not a store file", 31);
    struct tg_tsdb *d2 = tg_tsdb_new(NULL);
    TG_EXPECT_EQ(tg_tsdb_load(d2, path, &eb), TG_ESTORE);
    TG_EXPECT(strstr(eb.msg, "not a tailguard tsdb file") != NULL);
    memcpy(bad, good, n);
    bad[n / 2] ^= 0x40;
    write_all(path, bad, n);
    TG_EXPECT_EQ(tg_tsdb_load(d2, path, &eb), TG_ESTORE);
    TG_EXPECT(strstr(eb.msg, "checksum mismatch") != NULL);
    unlink(path);
    TG_EXPECT_EQ(tg_tsdb_load(d2, path, &eb), -ENOENT);
    TG_EXPECT(strstr(eb.msg, "tsdb file ") != NULL);
    /* A save into a missing directory fails with a message and no crash. */
    char nowhere[200];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/tsdb", dir);
    TG_EXPECT_EQ(tg_tsdb_save(db, nowhere, &eb), -ENOENT);
    TG_EXPECT(strstr(eb.msg, "create") != NULL);
    tg_tsdb_free(d2);
    free(longer);
    free(bad);
    free(good);
    tg_tsdb_free(db);
}

int main(int argc, char **argv)
{
    (void)argc;
    snprintf(dir, sizeof dir, "/tmp/tg-tsdb-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/tsdb.bin", dir);
    test_roundtrip();
    test_integer_chunks();
    test_version1();
    test_damaged_files();
    unlink(path);
    rmdir(dir);
    return tg_test_report(argv[0]);
}
