/* SPDX-License-Identifier: MIT */
/* Sliding windows: one-second slots per key, each holding that second's requests as a
 * sparse latency histogram (only the buckets that were hit) plus counters. A query merges
 * the slots of the last N seconds into a scratch histogram, so "p95 over the last minute"
 * is exact to the histogram's precision and forgets old samples one second at a time,
 * which since-start totals and EWMAs cannot do.
 *
 * Only seconds that had requests have a slot: the slots form a queue in time order that
 * grows by doubling and is trimmed as seconds fall out of the window, so a key with one
 * request costs one slot (about 150 bytes), an idle key costs nothing but the 24-byte
 * header once its last second has left the window, and a key busy every second costs
 * what a ring of `seconds` slots did (112 bytes per second plus 8 bytes per distinct
 * bucket hit in it). Memory grows with the seconds that had requests and the distinct
 * buckets hit in each, not with the request rate. Control thread only. */
#ifndef TG_METRICS_WINDOW_H
#define TG_METRICS_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"
#include "metrics/reqstats.h"

struct tg_window;

/* What a window query returns. Latencies in µs; rates per second over the window. */
struct tg_winstats {
    uint32_t window_s;
    uint64_t count, errors;
    uint64_t status_class[6]; /* [0] no response/other, [1] 1xx .. [5] 5xx */
    double rps, error_rate, mean_us;
    int64_t p50_us, p90_us, p95_us, p99_us, max_us;
};

/* A window over the last `seconds` seconds, holding no slot yet. -ENOMEM or 0. */
int tg_window_new(uint32_t seconds, struct tg_window **out);
void tg_window_free(struct tg_window *w);

/* Adds an interval's statistics to the slot of second `now_s` (seconds must not go
 * backwards; a slot is created if `now_s` has none). Returns 0 or -ENOMEM (then this
 * second is incomplete). */
int tg_window_add(struct tg_window *w, int64_t now_s, const struct tg_reqstats *st);

/* Drops the slots that fell out of the window by second `now_s`, and gives memory back
 * when the queue has become mostly (or entirely) empty. Call once a tick. */
void tg_window_expire(struct tg_window *w, int64_t now_s);

/* Bytes held by the window besides its header (for tests and memory accounting). */
size_t tg_window_bytes(const struct tg_window *w);

/* Fills `out` for the `seconds` seconds ending at `now_s` (inclusive), using `scratch`
 * as working memory. Seconds beyond the ring's length are clamped to it. */
void tg_window_query(const struct tg_window *w, int64_t now_s, uint32_t seconds,
                     struct tg_hist *scratch, struct tg_winstats *out);

#endif
