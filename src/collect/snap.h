/* SPDX-License-Identifier: MIT */
/* A collection's result: the families and series one scrape of a collector target
 * found (a host's /proc, a PostgreSQL server, a Redis server, a probe), copied into
 * memory the snapshot owns, so the source can be gone by the time /metrics/<kind> or
 * the store reads it. A collector fills one with tg_csnap_family / tg_csnap_add* in any
 * order (a family may be named again later: its series join the first ones), and
 * tg_csnap_collect describes it to any visitor (metrics/collect.h), families in the
 * order first named, each family's series together and in the order added.
 *
 * Memory: an arena of blocks kept across tg_csnap_reset, so a target scraped every few
 * seconds allocates only while its output grows. Failures are sticky: after an
 * allocation fails every call returns -ENOMEM and tg_csnap_oom says so, so collectors
 * may add everything and check once. Not thread-safe; one owner at a time. */
#ifndef TG_COLLECT_SNAP_H
#define TG_COLLECT_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/collect.h"

struct tg_csnap;

struct tg_csnap *tg_csnap_new(void);
void tg_csnap_free(struct tg_csnap *s); /* accepts NULL */

/* Empties it (memory kept for the next collection). */
void tg_csnap_reset(struct tg_csnap *s);

/* Makes `name` the current family (created with `type`, `help` and `unit` (may be NULL)
 * the first time; later calls only select it). Names must be valid metric names; help
 * is one line. 0 or -ENOMEM. */
int tg_csnap_family(struct tg_csnap *s, const char *name, enum tg_metric_type type,
                    const char *help, const char *unit);

/* Adds a counter or gauge series to the current family: `n` (<= TG_MLABELS_MAX) label
 * names and values. -EINVAL without a current family or with too many labels. */
int tg_csnap_add(struct tg_csnap *s, double v, size_t n, const char *const *names,
                 const char *const *values);

/* As tg_csnap_add with the labels as NULL-terminated name, value pairs:
 * tg_csnap_addl(s, 12.5, "cpu", "0", "mode", "idle", NULL). */
int tg_csnap_addl(struct tg_csnap *s, double v, ...);

/* Adds a histogram series (copied) to the current family, which must be a histogram. */
int tg_csnap_add_hist(struct tg_csnap *s, const struct tg_mlabels *l, const struct tg_mhist *h);

/* Convenience: the family `name` and one unlabelled series. */
int tg_csnap_one(struct tg_csnap *s, const char *name, enum tg_metric_type type, const char *help,
                 double v);

bool tg_csnap_oom(const struct tg_csnap *s);
size_t tg_csnap_nseries(const struct tg_csnap *s);  /* series (a histogram counts one) */
size_t tg_csnap_nsamples(const struct tg_csnap *s); /* as scraped: buckets, sum, count */

/* A collector (metrics/collect.h) over a snapshot (`data`); resumes per series. */
int tg_csnap_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

/* For walks that merge several snapshots (set.h's /metrics/<kind>): the families in
 * describe order, the index of the family named `name` (-1: none), and the series of
 * family `fi` from *item on, each with the label `extra_name`=`extra_value` put first
 * when extra_name is not NULL; *item advances; TG_AGAIN when the visitor is full. The
 * caller announces the family. */
size_t tg_csnap_nfamilies(const struct tg_csnap *s);
const struct tg_mfamily *tg_csnap_family_at(const struct tg_csnap *s, size_t fi);
int tg_csnap_family_index(const struct tg_csnap *s, const char *name);
int tg_csnap_describe(struct tg_csnap *s, size_t fi, uint32_t *item, const struct tg_mvisitor *v,
                      const char *extra_name, const char *extra_value);

/* The value of the first series of family `name` whose labels include every
 * NULL-terminated name, value pair given; false when there is none (for tests and for
 * the JSON endpoints that read a collected figure back). */
bool tg_csnap_get(const struct tg_csnap *s, double *out, const char *name, ...);

#endif
