/* SPDX-License-Identifier: MIT */
/* Request statistics for one key (an endpoint and method, in the gateway) over one
 * interval: the latency histogram (paged, phist.h), requests and errors, a small table of
 * exact status codes, cause codes (why a request ended as it did), bytes, and where the
 * time went (gateway queue, upstream connect, upstream time to first byte, transfer) as
 * fixed-boundary histograms. Also the per-upstream-server statistics. Plain data with
 * one writer: the worker records into its shard's active side (shard.h), the control
 * thread reads the other side after a flip and merges it into totals and windows.
 * Memory: sizeof(struct tg_reqstats) is about 1.3 KiB, plus 1 KiB per latency page in
 * use (one per power of two of latency seen, usually 2 to 6). An initialised struct
 * owns its pages: release it with tg_reqstats_deinit. */
#ifndef TG_METRICS_REQSTATS_H
#define TG_METRICS_REQSTATS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics/phist.h"

#define TG_STATUS_SLOTS 12 /* distinct codes per interval; more go to `other_status` */
#define TG_CAUSE_SLOTS 32  /* cause codes, numbered by the gateway (proxy_int.h asserts) */
#define TG_FIXED_BUCKETS 24

enum tg_phase {
    TG_PHASE_QUEUE = 0, /* request head parsed -> upstream request dispatched */
    TG_PHASE_CONNECT,   /* upstream connect (0 on a reused connection) */
    TG_PHASE_TTFB,      /* request sent -> response head received */
    TG_PHASE_TRANSFER,  /* response head -> last byte written to the client */
    TG_PHASE_COUNT,
};

/* A Prometheus-style histogram with the fixed boundaries tg_fixed_bounds_us(): cheap to
 * record (a 5-step search), used where a full log-linear histogram would be too big. */
struct tg_fixed_hist {
    uint64_t counts[TG_FIXED_BUCKETS + 1]; /* last one: above the largest bound (+Inf) */
    uint64_t count;
    uint64_t sum_us;
};

/* The upper bounds in µs, ascending, TG_FIXED_BUCKETS of them (1 ms .. 120 s). */
const int64_t *tg_fixed_bounds_us(void);

static inline void tg_fixed_hist_record(struct tg_fixed_hist *h, int64_t v_us)
{
    const int64_t *b = tg_fixed_bounds_us();
    unsigned lo = 0, hi = TG_FIXED_BUCKETS; /* first bound >= v, or TG_FIXED_BUCKETS */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (b[mid] < v_us)
            lo = mid + 1;
        else
            hi = mid;
    }
    h->counts[lo]++;
    h->count++;
    h->sum_us += v_us > 0 ? (uint64_t)v_us : 0;
}

struct tg_reqstats {
    struct tg_phist latency; /* whole request, head parsed -> response done */
    uint64_t errors;         /* responses >= 500 and requests that got none */
    uint64_t bytes_in, bytes_out;
    uint64_t other_status; /* codes beyond the table, and requests with no response */
    uint16_t codes[TG_STATUS_SLOTS];
    uint64_t code_counts[TG_STATUS_SLOTS];
    uint64_t causes[TG_CAUSE_SLOTS];
    struct tg_fixed_hist phases[TG_PHASE_COUNT];
};

struct tg_srvstats {
    struct tg_fixed_hist latency; /* request sent -> response complete, per server */
    uint64_t errors;              /* transport failures and 5xx answers */
};

/* One finished request, as the gateway reports it. */
struct tg_reqsample {
    int64_t duration_us;
    int64_t phase_us[TG_PHASE_COUNT]; /* < 0: the phase did not happen */
    int status;                       /* 0 when no response was sent */
    unsigned cause;                   /* < TG_CAUSE_SLOTS */
    uint64_t bytes_in, bytes_out;
};

/* Zeroes `s` (no pages). */
void tg_reqstats_init(struct tg_reqstats *s);

/* Frees the latency pages. Accepts NULL. */
void tg_reqstats_deinit(struct tg_reqstats *s);

/* Empties `s`, keeping its latency pages. */
void tg_reqstats_reset(struct tg_reqstats *s);

/* Adds `src` to `dst`. Returns 0, or -ENOMEM when a latency page could not be allocated;
 * then `dst` is unchanged. */
int tg_reqstats_merge(struct tg_reqstats *dst, const struct tg_reqstats *src);

/* True when nothing was recorded in `s` since its last reset. */
static inline bool tg_reqstats_empty(const struct tg_reqstats *s)
{
    return s->latency.count == 0 && s->other_status == 0;
}

/* Records one request. Inline; allocates only the first time a power of two of latency
 * is hit (then -ENOMEM is possible, and nothing is recorded), else returns 0. Cost
 * dominated by two cache lines of the latency histogram and the phase buckets. */
static inline int tg_reqstats_record(struct tg_reqstats *s, const struct tg_reqsample *r)
{
    if (tg_phist_record(&s->latency, r->duration_us) != 0)
        return -ENOMEM;
    if (r->status >= 500 || r->status == 0)
        s->errors++;
    s->bytes_in += r->bytes_in;
    s->bytes_out += r->bytes_out;
    if (r->cause < TG_CAUSE_SLOTS)
        s->causes[r->cause]++;
    for (unsigned i = 0; i < TG_PHASE_COUNT; i++)
        if (r->phase_us[i] >= 0)
            tg_fixed_hist_record(&s->phases[i], r->phase_us[i]);
    if (r->status <= 0 || r->status > 999) {
        s->other_status++;
        return 0;
    }
    for (unsigned i = 0; i < TG_STATUS_SLOTS; i++) {
        if (s->codes[i] == r->status) {
            s->code_counts[i]++;
            return 0;
        }
        if (s->codes[i] == 0) {
            s->codes[i] = (uint16_t)r->status;
            s->code_counts[i] = 1;
            return 0;
        }
    }
    s->other_status++;
    return 0;
}

void tg_fixed_hist_merge(struct tg_fixed_hist *dst, const struct tg_fixed_hist *src);
void tg_srvstats_merge(struct tg_srvstats *dst, const struct tg_srvstats *src);

#endif
