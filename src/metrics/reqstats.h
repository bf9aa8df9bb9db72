/* SPDX-License-Identifier: MIT */
/* Request statistics for one key (an endpoint and method, in the gateway) over one
 * interval: the latency histogram (hist.h), requests and errors, a small table of exact
 * status codes, cause codes (why a request ended as it did), bytes, and where the time
 * went (gateway queue, upstream connect, upstream time to first byte, transfer) as
 * fixed-boundary histograms. Also the per-upstream-server statistics. Plain data with
 * one writer: the worker records into its shard's active side (shard.h), the control
 * thread reads the other side after a flip and merges it into totals and windows.
 * Memory: about 23 KiB per struct tg_reqstats, most of it the latency histogram. */
#ifndef TG_METRICS_REQSTATS_H
#define TG_METRICS_REQSTATS_H

#include <stdint.h>

#include "metrics/hist.h"

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
    struct tg_hist latency; /* whole request, head parsed -> response done */
    uint64_t errors;        /* responses >= 500 and requests that got none */
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

void tg_reqstats_init(struct tg_reqstats *s);
void tg_reqstats_reset(struct tg_reqstats *s);
void tg_reqstats_merge(struct tg_reqstats *dst, const struct tg_reqstats *src);

/* Records one request. Inline, no allocation; cost dominated by two cache lines of the
 * latency histogram and the phase buckets. */
static inline void tg_reqstats_record(struct tg_reqstats *s, const struct tg_reqsample *r)
{
    tg_hist_record(&s->latency, r->duration_us);
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
        return;
    }
    for (unsigned i = 0; i < TG_STATUS_SLOTS; i++) {
        if (s->codes[i] == r->status) {
            s->code_counts[i]++;
            return;
        }
        if (s->codes[i] == 0) {
            s->codes[i] = (uint16_t)r->status;
            s->code_counts[i] = 1;
            return;
        }
    }
    s->other_status++;
}

void tg_fixed_hist_merge(struct tg_fixed_hist *dst, const struct tg_fixed_hist *src);
void tg_srvstats_merge(struct tg_srvstats *dst, const struct tg_srvstats *src);

#endif
