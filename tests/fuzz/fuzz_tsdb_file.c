// link: tg_tsdb
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the store's file reader (src/tsdb/file.c). The input is a file image;
 * its checksums are recomputed first (tg_tsdb__file_resign), so mutations reach the
 * parser behind them instead of all dying at the first checksum. A refused image must
 * leave the store empty; an accepted one must answer a select of everything, and its
 * image written back and read again must give the same bytes (the format is canonical).
 * The corpus is tests/fuzz/corpus/tsdb_file/: small stores written by tg_tsdb_save. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct image {
    uint8_t *p;
    size_t n, cap;
};

static int to_image(void *ctx, const void *p, size_t n)
{
    struct image *im = ctx;
    if (im->n + n > im->cap) {
        size_t cap = im->cap ? im->cap * 2 : 4096;
        while (cap < im->n + n)
            cap *= 2;
        uint8_t *b = realloc(im->p, cap);
        CHECK(b);
        im->p = b;
        im->cap = cap;
    }
    memcpy(im->p + im->n, p, n);
    im->n += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    uint8_t *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    tg_tsdb__file_resign(in, size);
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_errbuf eb;
    struct tg_tsdb_stats st;
    int rc = tg_tsdb__decode(db, in, size, "fuzz", &eb);
    tg_tsdb_stats(db, &st);
    if (rc) {
        CHECK(rc == TG_ESTORE);
        CHECK(st.series == 0 && st.samples == 0 && st.chunks == 0 && st.chunk_bytes == 0);
    } else {
        struct tg_queryable q;
        tg_tsdb_queryable(db, &q);
        struct tg_series_set set;
        CHECK(q.select(q.ctx, NULL, 0, INT64_MIN, INT64_MAX, &set, &eb) == 0);
        uint64_t samples = 0;
        for (size_t i = 0; i < set.n; i++) {
            samples += set.series[i].nsamples;
            for (uint32_t j = 1; j < set.series[i].nsamples; j++)
                CHECK(set.series[i].samples[j].t > set.series[i].samples[j - 1].t);
        }
        CHECK(set.n == st.series && samples == st.samples);
        tg_series_set_free(&set);
        struct image a = {0}, b = {0};
        CHECK(tg_tsdb__encode(db, to_image, &a) == 0);
        struct tg_tsdb *again = tg_tsdb_new(NULL);
        CHECK(tg_tsdb__decode(again, a.p, a.n, "again", &eb) == 0);
        CHECK(tg_tsdb__encode(again, to_image, &b) == 0);
        CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
        tg_tsdb_free(again);
        free(a.p);
        free(b.p);
    }
    tg_tsdb_free(db);
    free(in);
    return 0;
}
