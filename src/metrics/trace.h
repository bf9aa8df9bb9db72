/* SPDX-License-Identifier: MIT */
/* Request traces: a per-worker ring of recent notable requests (sampled ones, those
 * slower than the live p99, and every 5xx) with their phase timings. It backs both the
 * monitoring API's traces (filtered by duration, slowest first) and its slow-request log.
 * One writer (the worker) and readers on the control thread: each slot is guarded by a
 * sequence counter (a seqlock), so the writer never waits and a reader skips a slot it
 * caught mid-write. Memory: cap * about 300 bytes, fixed at creation. */
#ifndef TG_METRICS_TRACE_H
#define TG_METRICS_TRACE_H

#include <stdint.h>

#include "metrics/reqstats.h"

enum tg_trace_why {
    TG_TRACE_SAMPLED = 1 << 0, /* picked by the sampling rate */
    TG_TRACE_SLOW = 1 << 1,    /* slower than the live p99 */
    TG_TRACE_ERROR = 1 << 2,   /* status >= 500 or no response */
};

struct tg_reqtrace {
    int64_t start_wall_us; /* wall clock when the request head was complete */
    int64_t duration_us;
    /* queue, connect, upstream first byte, upstream total, transfer; -1 = did not happen */
    int64_t phase_us[TG_PHASE_COUNT + 1];
    uint32_t key;    /* metric key (endpoint x method) */
    uint32_t server; /* metric server key, UINT32_MAX if none */
    uint16_t status;
    uint8_t cause;
    uint8_t why; /* enum tg_trace_why bits */
    char reqid[48];
    char path[128];        /* request path, cut to fit */
    uint32_t endpoint_gen; /* the endpoint id's generation: tells a later reuse of the id */
};

struct tg_tracering;

/* A ring of `cap` slots (rounded up to a power of two). -ENOMEM or 0. */
int tg_tracering_new(uint32_t cap, struct tg_tracering **out);
void tg_tracering_free(struct tg_tracering *r);

/* Writer (one thread): stores a copy of `t`, overwriting the oldest slot. No wait. */
void tg_tracering_push(struct tg_tracering *r, const struct tg_reqtrace *t);

typedef void tg_tracering_fn(const struct tg_reqtrace *t, void *ctx);

/* Reader: calls `fn` with a consistent copy of every filled slot (newest first). */
void tg_tracering_each(const struct tg_tracering *r, tg_tracering_fn *fn, void *ctx);

#endif
