/* SPDX-License-Identifier: MIT */
/* The in-flight request table of one worker, for GET /api/v1/monitoring/requests/active:
 * a fixed array of slots, claimed when a request starts and released when it is
 * recorded. One writer (the worker), readers on the control thread; each slot is a
 * seqlock like the trace ring's, so neither side waits. A request that finds every slot
 * taken is still counted in the worker's active gauge, only not listed. */
#ifndef TG_PROXY_ACTIVE_H
#define TG_PROXY_ACTIVE_H

#include <stdint.h>

struct tg_active_entry {
    int64_t start_wall_us;
    int64_t start_mono_us;
    uint32_t endpoint;
    uint32_t method;
    char path[96];
    char reqid[40];
};

struct tg_active;

int tg_active_new(uint32_t cap, struct tg_active **out);
void tg_active_free(struct tg_active *a);

/* Writer: claims a slot for `e`; returns its index, or -1 if the table is full. */
int tg_active_add(struct tg_active *a, const struct tg_active_entry *e);

/* Writer: releases slot `idx` (from tg_active_add; -1 is ignored). */
void tg_active_remove(struct tg_active *a, int idx);

typedef void tg_active_fn(const struct tg_active_entry *e, void *ctx);

/* Reader: calls `fn` with a consistent copy of every claimed slot. */
void tg_active_each(const struct tg_active *a, tg_active_fn *fn, void *ctx);

#endif
