/* SPDX-License-Identifier: MIT */
/* Unit tests for src/tsdb/chunk.{h,c}: random and edge-case series round-trip bit for
 * bit (NaN payloads, the stale NaN, ±Inf, -0, denormals, huge and irregular time gaps,
 * negative times); times that do not increase are refused; a stream cut short or with a
 * flipped bit is either reported corrupt or decodes to increasing times, never reads
 * past its end (ASan watches); and a realistic scrape costs about what Gorilla
 * promises. The integer coding: a chunk is packed exactly when every value is an
 * integer below 2^53 in magnitude and not -0 (boundaries, negatives, resets, mixed
 * chunks), decodes to the same bits, costs a bit or two per sample for a steady counter,
 * and a damaged integer stream is refused, never read past its end. */
#include "tsdb/chunk.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"
#include "tsdb/query.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double of_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* Decodes (coding, data, nbits) and compares with the n samples (t, v), bit for bit. */
static void expect_decodes_to(enum tg_chunk_coding coding, const uint8_t *data, uint32_t nbits,
                              const int64_t *t, const double *v, size_t n)
{
    struct tg_chunk_it it;
    tg_chunk_it_init(&it, coding, data, nbits, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        int64_t gt = 0;
        double gv = 0;
        TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), 1);
        TG_EXPECT_EQ(gt, t[i]);
        if (bits_of(gv) != bits_of(v[i])) {
            TG_EXPECT_EQ(bits_of(gv), bits_of(v[i]));
            break;
        }
    }
    int64_t gt;
    double gv;
    TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), 0);
}

/* Encodes n samples (n <= TG_CHUNK_SAMPLES) and packs them: returns what tg_chunk_pack
 * returned, the packed stream checked against the samples and its bits in *packed_bits
 * (the XOR stream's bits when it was not packed). */
static int pack_roundtrip(const int64_t *t, const double *v, size_t n, uint32_t *packed_bits)
{
    struct tg_chunk_enc e;
    tg_chunk_enc_init(&e);
    for (size_t i = 0; i < n; i++)
        TG_EXPECT_EQ(tg_chunk_enc_append(&e, t[i], v[i]), 0);
    static uint8_t out[4096];
    memset(out, 0xa5, sizeof out);
    *packed_bits = e.nbits;
    int rc = tg_chunk_pack(e.buf, e.nbits, e.n, out, sizeof out, packed_bits);
    TG_EXPECT(rc == 0 || rc == 1);
    if (rc == 1) {
        TG_EXPECT_LT(*packed_bits, e.nbits);
        expect_decodes_to(TG_CHUNK_INT, out, *packed_bits, t, v, n);
    }
    tg_chunk_enc_deinit(&e);
    return rc;
}

/* Encodes n samples, decodes them and compares bits; returns the bits used. Chunks of
 * up to TG_CHUNK_SAMPLES are also packed when they can be, and checked the same way. */
static uint32_t roundtrip(const int64_t *t, const double *v, size_t n)
{
    if (n <= TG_CHUNK_SAMPLES) {
        uint32_t packed;
        (void)pack_roundtrip(t, v, n, &packed);
    }
    struct tg_chunk_enc e;
    tg_chunk_enc_init(&e);
    for (size_t i = 0; i < n; i++)
        TG_EXPECT_EQ(tg_chunk_enc_append(&e, t[i], v[i]), 0);
    TG_EXPECT_EQ(e.n, n);
    struct tg_chunk_it it;
    tg_chunk_it_init(&it, TG_CHUNK_XOR, e.buf, e.nbits, e.n);
    for (size_t i = 0; i < n; i++) {
        int64_t gt = 0;
        double gv = 0;
        TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), 1);
        TG_EXPECT_EQ(gt, t[i]);
        if (bits_of(gv) != bits_of(v[i])) {
            TG_EXPECT_EQ(bits_of(gv), bits_of(v[i]));
            break;
        }
    }
    int64_t gt;
    double gv;
    TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), 0);
    uint32_t nbits = e.nbits;
    tg_chunk_enc_deinit(&e);
    return nbits;
}

static void test_edge_values(void)
{
    double v[] = {0.0,
                  -0.0,
                  INFINITY,
                  -INFINITY,
                  NAN,
                  -NAN,
                  tg_stale_nan(),
                  1.0,
                  of_bits(1),
                  of_bits(UINT64_MAX),
                  1.7976931348623157e308,
                  -1.7976931348623157e308,
                  5e-324,
                  42.0,
                  42.0,
                  tg_stale_nan(),
                  tg_stale_nan(),
                  3.25,
                  of_bits(0x7ff8000000000001ull),
                  0.1};
    size_t n = sizeof v / sizeof v[0];
    int64_t t[sizeof v / sizeof v[0]];
    for (size_t i = 0; i < n; i++)
        t[i] = 1700000000000 + (int64_t)i * 5000 + (i % 3 ? 1 : 0);
    roundtrip(t, v, n);
}

static void test_time_edges(void)
{
    /* Huge gaps both ways of the delta-of-delta, the extremes of int64, negative times. */
    int64_t t[] = {INT64_MIN,
                   INT64_MIN + 1,
                   -5,
                   0,
                   1,
                   2,
                   8195,
                   16390,
                   1 << 20,
                   (int64_t)1 << 40,
                   ((int64_t)1 << 40) + 1,
                   INT64_MAX - 1,
                   INT64_MAX};
    double v[sizeof t / sizeof t[0]];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        v[i] = (double)i;
    roundtrip(t, v, sizeof t / sizeof t[0]);
    int64_t t2[] = {INT64_MIN, INT64_MAX};
    double v2[] = {1, 2};
    roundtrip(t2, v2, 2);
    /* Every width of the delta-of-delta prefix code, at its boundaries. */
    int64_t dods[] = {0,      1,     -1,     8191,   -8192,   8192,   -8193,   65535,
                      -65536, 65536, -65537, 524287, -524288, 524288, -524289, (int64_t)1 << 40};
    int64_t t3[2 + sizeof dods / sizeof dods[0]];
    double v3[2 + sizeof dods / sizeof dods[0]];
    int64_t delta = 1000000000;
    t3[0] = 0;
    t3[1] = delta;
    for (size_t i = 0; i < sizeof dods / sizeof dods[0]; i++) {
        delta += dods[i];
        t3[i + 2] = t3[i + 1] + delta;
    }
    for (size_t i = 0; i < sizeof v3 / sizeof v3[0]; i++)
        v3[i] = 1;
    roundtrip(t3, v3, sizeof t3 / sizeof t3[0]);
}

static void test_refuses_non_increasing(void)
{
    struct tg_chunk_enc e;
    tg_chunk_enc_init(&e);
    TG_EXPECT_EQ(tg_chunk_enc_append(&e, 1000, 1), 0);
    TG_EXPECT_EQ(tg_chunk_enc_append(&e, 1000, 2), -EINVAL); /* duplicate */
    TG_EXPECT_EQ(tg_chunk_enc_append(&e, 999, 2), -EINVAL);  /* negative delta */
    TG_EXPECT_EQ(tg_chunk_enc_append(&e, 1001, 2), 0);
    TG_EXPECT_EQ(e.n, 2);
    tg_chunk_enc_reset(&e);
    TG_EXPECT_EQ(e.n, 0);
    TG_EXPECT_EQ(tg_chunk_enc_append(&e, 5, 7), 0); /* a reset encoder starts afresh */
    int64_t t;
    double v;
    struct tg_chunk_it it;
    tg_chunk_it_init(&it, TG_CHUNK_XOR, e.buf, e.nbits, e.n);
    TG_EXPECT_EQ(tg_chunk_it_next(&it, &t, &v), 1);
    TG_EXPECT_EQ(t, 5);
    TG_EXPECT(v == 7);
    tg_chunk_enc_deinit(&e);
}

static void test_random(void)
{
    enum { N = 2000 };
    static int64_t t[N];
    static double v[N];
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + rnd() % N;
        int64_t now = (int64_t)(rnd() % (1ull << 42)) - (1ll << 41);
        for (size_t i = 0; i < n; i++) {
            switch (rnd() % 4) {
            case 0:
                now += 5000;
                break;
            case 1:
                now += 1 + (int64_t)(rnd() % 20000);
                break;
            case 2:
                now += 1 + (int64_t)(rnd() % (1ull << 36));
                break;
            default:
                now += 4990 + (int64_t)(rnd() % 20);
            }
            t[i] = now;
            switch (rnd() % 5) {
            case 0:
                v[i] = of_bits(rnd());
                break;
            case 1:
                v[i] = i ? v[i - 1] : 0;
                break;
            case 2:
                v[i] = (double)(rnd() % 1000);
                break;
            case 3:
                v[i] = (i ? v[i - 1] : 0) + (double)(rnd() % 10) * 0.25;
                break;
            default:
                v[i] = tg_stale_nan();
            }
        }
        roundtrip(t, v, n);
    }
}

/* A 120-sample chunk of a busy counter scraped every 5 s: on the scrape's intended times
 * a timestamp costs one bit; a few ms of jitter costs 16 (so the scrape should stamp
 * samples with the time it was scheduled for). */
static void test_size_of_a_counter(void)
{
    int64_t t[120];
    double v[120];
    double c = 1000;
    for (int i = 0; i < 120; i++) {
        t[i] = 1700000000000 + i * 5000;
        c += (double)(rnd() % 50);
        v[i] = c;
    }
    uint32_t nbits = roundtrip(t, v, 120);
    TG_EXPECT_LT(tg_chunk_bytes(nbits), 120 * 5 / 2);
    for (int i = 1; i < 120; i++)
        t[i] += (int64_t)(rnd() % 3);
    uint32_t jittered = roundtrip(t, v, 120);
    TG_EXPECT_GT(jittered, nbits);
    for (int i = 0; i < 120; i++)
        v[i] = 7; /* a constant gauge on time: 2 bits a sample after the first */
    nbits = roundtrip(t, v, 120);
    TG_EXPECT_LT(nbits, 64 + 80 + 119 * 20);
}

/* Cut streams and flipped bits: decoding ends with an error or valid increasing times,
 * within the stated bit count (ASan checks the reads). */
static void test_corrupt_streams(void)
{
    struct tg_chunk_enc e;
    tg_chunk_enc_init(&e);
    int64_t now = 1700000000000;
    for (int i = 0; i < 120; i++) {
        now += 5000 + (int64_t)(rnd() % 7);
        TG_EXPECT_EQ(tg_chunk_enc_append(&e, now, (double)(rnd() % 100) / 3), 0);
    }
    size_t bytes = tg_chunk_bytes(e.nbits);
    int errors = 0;
    for (uint32_t cut = 0; cut < e.nbits; cut += 7) {
        uint8_t *copy = malloc(bytes);
        memcpy(copy, e.buf, bytes);
        struct tg_chunk_it it;
        tg_chunk_it_init(&it, TG_CHUNK_XOR, copy, cut, e.n);
        int64_t t;
        double v;
        int rc, got = 0;
        while ((rc = tg_chunk_it_next(&it, &t, &v)) == 1)
            got++;
        TG_EXPECT_EQ(rc, TG_EPARSE); /* cut short: the n-th sample cannot be there */
        errors += rc < 0;
        free(copy);
    }
    TG_EXPECT_GT(errors, 0);
    for (uint32_t flip = 0; flip < e.nbits; flip++) {
        uint8_t *copy = malloc(bytes);
        memcpy(copy, e.buf, bytes);
        copy[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
        struct tg_chunk_it it;
        tg_chunk_it_init(&it, TG_CHUNK_XOR, copy, e.nbits, e.n);
        int64_t t, prev = INT64_MIN;
        double v;
        int rc;
        bool first = true;
        while ((rc = tg_chunk_it_next(&it, &t, &v)) == 1) {
            if (!first)
                TG_EXPECT_GT(t, prev);
            prev = t;
            first = false;
        }
        TG_EXPECT(rc == 0 || rc == TG_EPARSE);
        free(copy);
    }
    tg_chunk_enc_deinit(&e);
}

/* 120 samples 5 s apart with values v0 + i * step, but `v[at] = special`. */
static void counter(int64_t *t, double *v, double v0, double step, size_t at, double special)
{
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++) {
        t[i] = 1700000000000 + (int64_t)i * 5000;
        v[i] = i == at ? special : v0 + (double)i * step;
    }
}

static void test_int_which_chunks_pack(void)
{
    int64_t t[TG_CHUNK_SAMPLES];
    double v[TG_CHUNK_SAMPLES];
    uint32_t bits;
    const double lim = 9007199254740992.0; /* 2^53 */
    struct {
        double special;
        int packs;
    } cases[] = {
        {lim - 1, 1}, {-(lim - 1), 1}, {lim, 0}, {-lim, 0},     {0.0, 1},       {-0.0, 0},
        {0.5, 0},     {-3.0, 1},       {NAN, 0}, {INFINITY, 0}, {-INFINITY, 0}, {tg_stale_nan(), 0},
        {1e300, 0},   {of_bits(1), 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t at = 0; at < TG_CHUNK_SAMPLES; at += 59) { /* first, middle, last */
            counter(t, v, 1000, 7, at, cases[c].special);
            if (pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits) != cases[c].packs)
                TG_EXPECT_EQ(c * 1000 + at, (size_t)-1); /* names the failing case */
        }
    }
    /* Extremes on both sides in one chunk: deltas of 2^54, deltas of deltas of 2^55. */
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++)
        v[i] = i % 2 ? lim - 1 : -(lim - 1);
    TG_EXPECT_EQ(pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits), 0); /* fits, but no gain */
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++)
        v[i] = i == 60 ? -(lim - 1) : i == 61 ? lim - 1 : (double)i;
    TG_EXPECT_EQ(pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits), 1);
    /* A single sample, and too many samples for a chunk. */
    v[0] = 5;
    TG_EXPECT_EQ(pack_roundtrip(t, v, 1, &bits), 1); /* 48 + 64 bits vs 48 + 8 + 6 */
    TG_EXPECT_EQ(bits, 48 + 8 + 6);
    struct tg_chunk_enc e;
    tg_chunk_enc_init(&e);
    for (int i = 0; i <= TG_CHUNK_SAMPLES; i++)
        TG_EXPECT_EQ(tg_chunk_enc_append(&e, i, 1), 0);
    uint8_t out[512];
    TG_EXPECT_EQ(tg_chunk_pack(e.buf, e.nbits, e.n, out, sizeof out, &bits), 0);
    TG_EXPECT_EQ(tg_chunk_pack(e.buf, e.nbits, 0, out, sizeof out, &bits), 0);
    /* No room in `out`: left as it is. */
    TG_EXPECT_EQ(tg_chunk_pack(e.buf, e.nbits, TG_CHUNK_SAMPLES, out, 4, &bits), 0);
    tg_chunk_enc_deinit(&e);
}

/* Which is packed is exact; what it costs is the point: a steady counter takes about 2
 * bits a sample (1 for the time, 1 for a zero delta-of-delta), resets and noisy
 * increments stay well under XOR. */
static void test_int_sizes_and_resets(void)
{
    int64_t t[TG_CHUNK_SAMPLES];
    double v[TG_CHUNK_SAMPLES];
    uint32_t bits;
    counter(t, v, 123456, 40, SIZE_MAX, 0);
    TG_EXPECT_EQ(pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits), 1);
    TG_EXPECT_LT(bits, 80 + 32 + 6 + 2 * (TG_CHUNK_SAMPLES - 1));
    counter(t, v, 0, 0, SIZE_MAX, 0); /* an idle counter, or a gauge at 0 */
    TG_EXPECT_EQ(pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits), 1);
    TG_EXPECT_LT(bits, 80 + 8 + 6 + 2 * (TG_CHUNK_SAMPLES - 1));
    /* A busy counter with noisy increments and two resets (to 0 and to a small value). */
    double c = 1e6;
    uint32_t xor_bits = 0;
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++) {
        c = i == 40 ? 0 : i == 90 ? 3 : c + (double)(200 + rnd() % 100);
        v[i] = c;
    }
    TG_EXPECT_EQ(pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits), 1);
    xor_bits = roundtrip(t, v, TG_CHUNK_SAMPLES);
    TG_EXPECT_LT(bits * 3, xor_bits * 2);
    /* Integers going below zero (a gauge): the same. Not from -(0 * 0), which is -0. */
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++)
        v[i] = 5 - (double)(i * i);
    TG_EXPECT_EQ(pack_roundtrip(t, v, TG_CHUNK_SAMPLES, &bits), 1);
    /* Random integers in random chunk lengths, on irregular times. */
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + rnd() % TG_CHUNK_SAMPLES;
        int64_t now = (int64_t)(rnd() % (1ull << 42)) - (1ll << 41);
        for (size_t i = 0; i < n; i++) {
            now += 1 + (int64_t)(rnd() % (round % 2 ? 20000 : 3));
            t[i] = now;
            unsigned width = (unsigned)(rnd() % 54);
            int64_t x = (int64_t)(rnd() & ((UINT64_C(1) << width) - 1));
            v[i] = (double)(rnd() % 2 ? -x : x);
        }
        (void)pack_roundtrip(t, v, n, &bits);
    }
}

/* A packed stream cut short or with a flipped bit: an error or increasing times with
 * integer values below 2^53, never a read past nbits; a bad order or an unknown coding
 * is refused at once. */
static void test_int_corrupt_streams(void)
{
    int64_t t[TG_CHUNK_SAMPLES];
    double v[TG_CHUNK_SAMPLES];
    double c = 5000;
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++) {
        t[i] = 1700000000000 + (int64_t)i * 5000 + (int64_t)(rnd() % 5);
        c += (double)(rnd() % 300);
        v[i] = c;
    }
    struct tg_chunk_enc e;
    tg_chunk_enc_init(&e);
    for (size_t i = 0; i < TG_CHUNK_SAMPLES; i++)
        TG_EXPECT_EQ(tg_chunk_enc_append(&e, t[i], v[i]), 0);
    uint8_t packed[2304];
    uint32_t nbits = 0;
    TG_EXPECT_EQ(tg_chunk_pack(e.buf, e.nbits, e.n, packed, sizeof packed, &nbits), 1);
    tg_chunk_enc_deinit(&e);
    size_t bytes = tg_chunk_bytes(nbits);
    int64_t gt;
    double gv;
    for (uint32_t cut = 0; cut < nbits; cut += 5) {
        uint8_t *copy = malloc(bytes);
        memcpy(copy, packed, bytes);
        struct tg_chunk_it it;
        tg_chunk_it_init(&it, TG_CHUNK_INT, copy, cut, TG_CHUNK_SAMPLES);
        int rc;
        while ((rc = tg_chunk_it_next(&it, &gt, &gv)) == 1)
            ;
        TG_EXPECT_EQ(rc, TG_EPARSE);
        free(copy);
    }
    for (uint32_t flip = 0; flip < nbits; flip++) {
        uint8_t *copy = malloc(bytes);
        memcpy(copy, packed, bytes);
        copy[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
        struct tg_chunk_it it;
        tg_chunk_it_init(&it, TG_CHUNK_INT, copy, nbits, TG_CHUNK_SAMPLES);
        int64_t prev = INT64_MIN;
        int rc;
        bool first = true;
        while ((rc = tg_chunk_it_next(&it, &gt, &gv)) == 1) {
            if (!first)
                TG_EXPECT_GT(gt, prev);
            TG_EXPECT(fabs(gv) < 9007199254740992.0 && gv == trunc(gv));
            prev = gt;
            first = false;
        }
        TG_EXPECT(rc == 0 || rc == TG_EPARSE);
        free(copy);
    }
    /* The order k sits after the two varints of the first sample: 57 is out of range. */
    uint8_t bad[] = {0x02, 0x02, 57 << 2, 0x00, 0x00};
    struct tg_chunk_it it;
    tg_chunk_it_init(&it, TG_CHUNK_INT, bad, 8 * sizeof bad, 2);
    TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), TG_EPARSE);
    bad[2] = 56 << 2;
    tg_chunk_it_init(&it, TG_CHUNK_INT, bad, 8 * sizeof bad, 1);
    TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), 1);
    TG_EXPECT_EQ(gt, 1);
    TG_EXPECT(gv == 1);
    tg_chunk_it_init(&it, (enum tg_chunk_coding)3, packed, nbits, 1);
    TG_EXPECT_EQ(tg_chunk_it_next(&it, &gt, &gv), TG_EPARSE);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_edge_values();
    test_time_edges();
    test_refuses_non_increasing();
    test_random();
    test_size_of_a_counter();
    test_corrupt_streams();
    test_int_which_chunks_pack();
    test_int_sizes_and_resets();
    test_int_corrupt_streams();
    return tg_test_report(argv[0]);
}
