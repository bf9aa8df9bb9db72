/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition format 0.0.4 as a visitor (collect.h): each family's
 * HELP and TYPE lines, then its series, label values escaped (backslash, double quote,
 * newline), numbers in the shortest form that reads back to the same double (what Go's
 * client libraries print), histograms as _bucket lines with cumulative counts and
 * `le` (the last one "+Inf"), then _sum and _count.
 *
 * The writer appends to a buffer it owns. With `flush_bytes` > 0 it says it is full once
 * the buffer holds that much: the caller sends what is there, empties it with
 * tg_expo_reset and goes on with the scan, so the buffer stays near `flush_bytes` plus
 * one item (the /metrics stream). With 0 it never pauses (one whole body). Allocation
 * failure marks the writer `oom` and later output is dropped: check once at the end. */
#ifndef TG_METRICS_EXPO_H
#define TG_METRICS_EXPO_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics/collect.h"

#define TG_EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TG_EXPO_NAME_MAX 200 /* longest family name; a longer one marks the writer `bad` */

struct tg_expo {
    char *p; /* the text, p[0..len) */
    size_t len, cap;
    size_t flush_bytes;
    bool oom, bad;
    char name[TG_EXPO_NAME_MAX + 1]; /* the current family's */
    size_t name_len;
};

void tg_expo_init(struct tg_expo *e, size_t flush_bytes);
void tg_expo_deinit(struct tg_expo *e);

/* The visitor writing into `e` (borrows `e`). */
struct tg_mvisitor tg_expo_visitor(struct tg_expo *e);

/* Empties the buffer (keeps its memory and the current family). */
void tg_expo_reset(struct tg_expo *e);

/* Gives the buffer away (the caller frees it; NULL if empty), the writer is left empty. */
char *tg_expo_take(struct tg_expo *e, size_t *len);

/* Writes `v` into buf[0..cap) (cap >= 32) the way the exposition prints numbers and `le`
 * bounds: the shortest of %.15g and %.17g that reads back exactly, "NaN", "+Inf",
 * "-Inf". Returns the length. */
size_t tg_expo_number(char *buf, size_t cap, double v);

#endif
