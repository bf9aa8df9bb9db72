/* SPDX-License-Identifier: MIT */
/* Internal to src/rules/: the set of series a rule wrote at its last evaluation, kept so
 * the next one can mark stale those it no longer writes. Each entry is one allocation
 * holding its label array and strings; the set is an array sorted by (hash, labels), so
 * finding the series that vanished is a merge of two sorted arrays. */
#ifndef TG_RULES_GROUP_INT_H
#define TG_RULES_GROUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/query.h"

struct tg_rules__series {
    uint64_t hash;
    struct tg_labels ls; /* points into the same allocation */
};

struct tg_rules__sset {
    struct tg_rules__series **v;
    size_t n, cap;
};

/* Adds a copy of `ls`. 0 or -ENOMEM. */
int tg_rules__sset_add(struct tg_rules__sset *s, const struct tg_labels *ls);

/* Sorts the set; call after the adds, before a diff. */
void tg_rules__sset_sort(struct tg_rules__sset *s);

/* Calls `fn` for each series of `old` that is not in `cur` (both sorted). */
void tg_rules__sset_gone(const struct tg_rules__sset *old, const struct tg_rules__sset *cur,
                         void (*fn)(void *ctx, const struct tg_labels *ls), void *ctx);

/* Moves every series of `src` to the end of `dst` (unsorted after). 0 or -ENOMEM. */
int tg_rules__sset_take(struct tg_rules__sset *dst, struct tg_rules__sset *src);

void tg_rules__sset_clear(struct tg_rules__sset *s);

/* Go's url.QueryEscape of `s` into a malloc'd string (space as '+'); NULL without
 * memory. */
char *tg_rules__query_escape(const char *s);

#endif
