/* SPDX-License-Identifier: MIT */
/* The embedded time-series store: what the control thread's scrape appends every
 * scrape_interval and what PromQL, the Prometheus HTTP API and the rule engine read
 * (through tg_tsdb_queryable, the seam of tsdb/query.h).
 *
 * Model. A series is a label set (strings interned once for the whole store) and its
 * samples, kept as compressed chunks (tsdb/chunk.h): sealed chunks of up to
 * TG_CHUNK_SAMPLES samples, oldest first, integer-coded when that is smaller, and one
 * head chunk being appended in Gorilla's XOR coding. An inverted
 * index (label name -> value -> sorted series ids) answers matchers. Times are int64 ms
 * since the Unix epoch; a series' times strictly increase, so an older or equal time is
 * refused and counted, never stored. Retention drops whole chunks whose newest sample is
 * older than the retention (so up to one chunk more than the retention may remain), and
 * the memory cap drops the oldest sealed chunks of the whole store first; a series left
 * without samples is removed. Head chunks are never dropped by the cap, so its floor is
 * roughly one head chunk per live series.
 *
 * Threads. One thread owns a store: every call, appends and reads alike, comes from it
 * (the control thread, which runs the scrape, the rule engine and the admin API's
 * queries). There is no lock. A reader on another thread would need one; a series set
 * returned by a select owns copies of everything it shows and may be handed to any
 * thread.
 *
 * Allocation: failures are returned (-ENOMEM), never fatal; a failed append leaves the
 * store as it was. */
#ifndef TG_TSDB_TSDB_H
#define TG_TSDB_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tsdb/query.h"

#define TG_TSDB_RETENTION_MS_DEFAULT (2 * 3600 * 1000LL)
#define TG_TSDB_MAX_LABELS 64 /* per series; a larger set is refused */

struct tg_tsdb_opts {
    int64_t retention_ms; /* 0: TG_TSDB_RETENTION_MS_DEFAULT */
    size_t max_bytes;     /* memory cap over tg_tsdb_stats.bytes; 0: none */
};

struct tg_tsdb;

/* Returns a new empty store, or NULL when out of memory. `opts` NULL: defaults. */
struct tg_tsdb *tg_tsdb_new(const struct tg_tsdb_opts *opts);
void tg_tsdb_free(struct tg_tsdb *db); /* accepts NULL */

/* How long samples are kept (the option, or its default). */
int64_t tg_tsdb_retention_ms(const struct tg_tsdb *db);

/* Appends one sample to the series `ls` (created on first sight). `ls` must be sorted
 * by name with unique non-empty names; labels with an empty value are dropped (they are
 * the same as no label). The label strings are copied. Returns 0, -EEXIST (a sample at
 * `t` is already there), -ERANGE (older than the series' newest sample), -EINVAL (the
 * set is not sorted, has a duplicate or empty name, or is empty), TG_ELIMIT (more than
 * TG_TSDB_MAX_LABELS labels) or -ENOMEM. Refusals are counted in the stats. Cost: one
 * hash of the set and a lookup, plus the index insertions for a new series. */
int tg_tsdb_append(struct tg_tsdb *db, const struct tg_labels *ls, int64_t t, double v);

/* As tg_tsdb_append, for writers other than the scrape (the rule engine's recording
 * rules and ALERTS series, which often keep the scrape's job label): their series are
 * left alone by tg_tsdb_end_scrape, since the scrape did not write them; the writer
 * marks them stale itself. The mark is not saved to the file. */
int tg_tsdb_append_unscraped(struct tg_tsdb *db, const struct tg_labels *ls, int64_t t, double v);

/* One sample of a scrape. */
struct tg_tsdb_point {
    struct tg_labels labels;
    double v;
};

/* Appends a scrape: every point at time `t`. A refused point is counted and skipped (the
 * others still go in); the number stored is put in *appended (if not NULL). Then runs the
 * store's upkeep with `t` as now: retention at most once a minute of sample time, and the
 * memory cap. Returns 0, or -ENOMEM after storing what it could. */
int tg_tsdb_append_batch(struct tg_tsdb *db, int64_t t, const struct tg_tsdb_point *pts, size_t n,
                         size_t *appended);

/* The end of a scrape of job `job` at time `t`: every series whose label job is `job`
 * (and not written by tg_tsdb_append_unscraped),
 * whose newest sample is older than `t` and is not already a stale marker, gets a stale
 * marker at `t` (the series vanished from the target, as Prometheus's scrape loop marks
 * it). Call it after appending the scrape's points at `t`. Returns the number of markers
 * written, or -ENOMEM. */
int tg_tsdb_end_scrape(struct tg_tsdb *db, const char *job, int64_t t);

/* As tg_tsdb_end_scrape, for the series of one target of the job: those whose label
 * instance is `instance` (NULL: any). A job with several targets scraped at different
 * times needs it, or one target's scrape would mark the others' series stale. */
int tg_tsdb_end_scrape_target(struct tg_tsdb *db, const char *job, const char *instance, int64_t t);

/* Retention with `now_ms` as now, then the memory cap. Returns the chunks dropped. */
size_t tg_tsdb_gc(struct tg_tsdb *db, int64_t now_ms);

/* Self-metrics, named after Prometheus's prometheus_tsdb_* families. */
struct tg_tsdb_stats {
    uint64_t series;                 /* head_series */
    uint64_t series_created_total;   /* head_series_created_total */
    uint64_t series_removed_total;   /* head_series_removed_total */
    uint64_t samples_appended_total; /* head_samples_appended_total (stale markers too) */
    uint64_t out_of_order_total;     /* out_of_order_samples_total */
    uint64_t duplicate_total;        /* samples at a time already present */
    uint64_t invalid_total;          /* refused label sets */
    uint64_t samples;                /* samples held now */
    uint64_t chunks;                 /* sealed chunks held */
    uint64_t head_chunks;            /* head_chunks: non-empty head chunks */
    uint64_t chunk_bytes;            /* encoded samples: sealed chunks + head buffers */
    uint64_t index_bytes;            /* series, strings, postings, hash table */
    uint64_t bytes;                  /* chunk_bytes + index_bytes: what the cap limits */
    uint64_t retention_chunks_total; /* chunks dropped for age (time_retentions) */
    uint64_t cap_chunks_total;       /* chunks dropped by the memory cap (size_retentions) */
    int64_t mint, maxt;              /* oldest and newest sample time; 0 when empty */
};

void tg_tsdb_stats(const struct tg_tsdb *db, struct tg_tsdb_stats *out);

/* Fills `q` with the store as a queryable (tsdb/query.h). `q` borrows `db`. Select
 * decodes the chunks that overlap the range into the set's own arrays. */
void tg_tsdb_queryable(struct tg_tsdb *db, struct tg_queryable *q);

/* Writes the whole store to `path` atomically: a temporary file beside it, fsync,
 * rename, fsync of the directory, so `path` holds either the old or the new store.
 * Returns 0, or a negative code with `eb` naming the file and the failing step (the
 * temporary file is removed). Format: docs/tsdb.md. */
int tg_tsdb_save(const struct tg_tsdb *db, const char *path, struct tg_errbuf *eb);

/* Reads a file written by tg_tsdb_save into `db`, which must be empty (-EINVAL
 * otherwise). Every block's checksum and every series and chunk are checked before
 * anything is kept: on a damaged, truncated or foreign file it returns TG_ESTORE with
 * `eb` saying what and where, and `db` stays empty. A missing file gives -ENOENT.
 * Samples older than the retention go at the next upkeep. */
int tg_tsdb_load(struct tg_tsdb *db, const char *path, struct tg_errbuf *eb);

#endif
