/* SPDX-License-Identifier: MIT */
/* An in-memory struct tg_queryable for the conformance runner: the series a test file
 * loads, each a label set with samples in time order, selected by matchers. */
#ifndef TG_TEST_MEMSTORE_H
#define TG_TEST_MEMSTORE_H

#include "tsdb/query.h"

struct memstore;

struct memstore *memstore_new(void);
void memstore_free(struct memstore *m);
/* Drops every series (the test language's `clear`). */
void memstore_clear(struct memstore *m);
/* Adds a sample to the series `ls` (copied), replacing one at the same time. */
void memstore_add(struct memstore *m, const struct tg_labels *ls, int64_t t, double v);
/* A queryable over `m`, valid while `m` lives and is not cleared. */
struct tg_queryable memstore_queryable(struct memstore *m);

#endif
