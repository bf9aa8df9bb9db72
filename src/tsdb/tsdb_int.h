/* SPDX-License-Identifier: MIT */
/* The store's insides, shared by its files: tsdb.c (series, appends, upkeep), index.c
 * (interned strings, postings, matcher bitmaps, rebuild), select.c (the queryable) and
 * file.c (save and load). Nothing outside src/tsdb/ includes it.
 *
 * Invariants. Series ids are dense: series[i] has id i, ids follow creation order, and a
 * removal renumbers the survivors in the same order (tg_tsdb__rebuild), so postings stay
 * sorted by appending new ids at their end, and "every series" is the range [0, n).
 * Every label string of a series is an interned pointer, so equal strings are equal
 * pointers. A series holds at least one sample, except for a moment after a failed
 * first append; upkeep removes such a series. */
#ifndef TG_TSDB_TSDB_INT_H
#define TG_TSDB_TSDB_INT_H

#include "tsdb/chunk.h"
#include "tsdb/tsdb.h"

#define TG_TSDB__NONE UINT32_MAX

/* A sealed chunk: immutable, allocated to its exact size. */
struct tg_tsdb__chunk {
    int64_t mint, maxt;
    uint32_t nbits;
    uint16_t n;
    uint8_t coding; /* enum tg_chunk_coding; the head is always TG_CHUNK_XOR */
    uint8_t data[];
};

struct tg_tsdb__series {
    struct tg_label *labels; /* interned strings */
    uint32_t nlabels;
    uint32_t nchunks, cap_chunks;
    uint64_t hash;                  /* tg_labels_hash of the set */
    struct tg_tsdb__chunk **chunks; /* sealed, oldest first, times increasing */
    struct tg_chunk_enc head;       /* being appended; n == 0 when empty */
    bool stale;                     /* the newest sample is a stale marker */
    bool unscraped;                 /* written by tg_tsdb_append_unscraped (rules) */
};

/* The ids of the series with one label value. */
struct tg_tsdb__postings {
    const char *value;
    uint32_t *ids; /* ascending */
    uint32_t n, cap;
};

struct tg_tsdb__lname {
    const char *name;
    struct tg_tsdb__postings *vals; /* sorted by value */
    uint32_t n, cap;
};

/* The inverted index. */
struct tg_tsdb__index {
    struct tg_tsdb__lname *names; /* sorted by name */
    uint32_t nnames, cap_names;
};

/* Series ids by label-set hash, open addressing; TG_TSDB__NONE marks a free slot. */
struct tg_tsdb__table {
    uint32_t *slots;
    uint32_t cap; /* a power of two, at least twice the series */
};

struct tg_tsdb {
    struct tg_tsdb_opts opts;
    struct tg_tsdb__series **series;
    uint32_t nseries, cap_series;
    struct tg_tsdb__table table;
    char **strs; /* the intern set, open addressing; NULL is empty */
    uint32_t nstrs, strs_cap;
    uint64_t str_bytes;
    struct tg_tsdb__index index;
    struct tg_tsdb_stats st; /* counters and the gauges kept as they change */
    int64_t last_retention_t;
    bool retention_ran;
    bool has_empty; /* a series without samples awaits removal */
};

/* The newest sample time of `s`; false if it has none. */
bool tg_tsdb__newest(const struct tg_tsdb__series *s, int64_t *t);

/* Whether `s` has a sample with time in [mint, maxt] (decodes only a chunk that
 * straddles the range). */
bool tg_tsdb__has_sample_in(const struct tg_tsdb__series *s, int64_t mint, int64_t maxt);

/* Creates an empty series for the (valid, normalised) set `ls` with hash `h`: interns
 * its strings and indexes it. Sets *id. Returns 0 or -ENOMEM (the store is unchanged but
 * for interned strings, which the next rebuild sweeps). */
int tg_tsdb__series_add(struct tg_tsdb *db, const struct tg_labels *ls, uint64_t h, uint32_t *id);

/* The id of the series with set `ls` and hash `h`, or TG_TSDB__NONE. */
uint32_t tg_tsdb__series_find(const struct tg_tsdb *db, const struct tg_labels *ls, uint64_t h);

/* Removes every series without samples (freeing it), renumbers the rest in order and
 * rebuilds the hash table, the index and the intern set from them. The new structures
 * are built before anything is freed: on -ENOMEM the store is left as it was (the empty
 * series stay until a later upkeep). */
int tg_tsdb__rebuild(struct tg_tsdb *db);

/* Frees the index, the table and every interned string (for tg_tsdb_free). */
void tg_tsdb__index_free(struct tg_tsdb *db);

/* Frees a series' chunks and head, updating the gauges, and the series itself. */
void tg_tsdb__series_free(struct tg_tsdb *db, struct tg_tsdb__series *s);

/* Postings of name=value, or NULL. */
const struct tg_tsdb__postings *tg_tsdb__postings(const struct tg_tsdb *db, const char *name,
                                                  const char *value);

/* The series matching all `ms` (every series when nms is 0) as a bitmap of
 * (nseries + 63) / 64 words, which the caller frees. NULL when out of memory. */
uint64_t *tg_tsdb__match(const struct tg_tsdb *db, const struct tg_matcher *ms, size_t nms);

/* Bytes of the index structures (series, label arrays, strings, postings, tables). */
uint64_t tg_tsdb__index_bytes(const struct tg_tsdb *db);

/* A sealed chunk of the XOR stream (data, nbits, n) with times mint to maxt, in the
 * integer coding when tg_chunk_pack finds it smaller. NULL when out of memory or when
 * the stream is corrupt (a file's chunks are checked before this). */
struct tg_tsdb__chunk *tg_tsdb__chunk_new(int64_t mint, int64_t maxt, uint16_t n,
                                          const uint8_t *data, uint32_t nbits);

/* Appends a sealed chunk read from a file to `s` (after its others). 0 or -ENOMEM. */
int tg_tsdb__push_chunk(struct tg_tsdb *db, struct tg_tsdb__series *s, struct tg_tsdb__chunk *c);

/* The file format's two halves without the file (file.c), for tg_tsdb_save and
 * tg_tsdb_load and for the fuzz target. `write` is called with the file's bytes in
 * order; it returns 0 or a negative code, which stops the encoding and is returned. */
typedef int tg_tsdb__write_fn(void *ctx, const void *p, size_t n);
int tg_tsdb__encode(const struct tg_tsdb *db, tg_tsdb__write_fn *write, void *ctx);

/* Decodes a whole file image into the empty `db`; on failure `db` is left empty and `eb`
 * says what is wrong and at which offset, naming the file `name`. */
int tg_tsdb__decode(struct tg_tsdb *db, const uint8_t *p, size_t n, const char *name,
                    struct tg_errbuf *eb);

/* Recomputes, in place, the checksums of an image's header and of every block whose
 * framing fits, so a fuzzer's mutations reach the parser behind the checksums. */
void tg_tsdb__file_resign(uint8_t *p, size_t n);

#endif
