/* SPDX-License-Identifier: MIT */
/* What a load test counts: latency histograms (corrected from the intended send time, and
 * uncorrected from the actual start, wrk2's pair), finished requests, responses by status
 * code, errors by kind, bytes, and sends that started late. One struct per side of each
 * worker's phaser (see metrics/hist.h), merged by the coordinator. An error is a transport
 * failure (connect, timeout, reset, bad response) or a response with status >= 400 (k6's
 * rule: a 429 or a 503 is a failed request for the user who got it). */
#ifndef TG_BENCH_STATS_INT_H
#define TG_BENCH_STATS_INT_H

#include <stdint.h>

#include "metrics/hist.h"

enum tg_bench_err {
    TG_BENCH_E_CONNECT = 0,  /* could not connect (refused, unreachable, fd limit) */
    TG_BENCH_E_TIMEOUT,      /* no complete response within --timeout */
    TG_BENCH_E_RESET,        /* the connection broke or closed before the response ended */
    TG_BENCH_E_BAD_RESPONSE, /* not a valid HTTP/1 response */
    TG_BENCH_E_HTTP,         /* a response with status >= 400 */
    TG_BENCH_E_COUNT,
};

#define TG_BENCH_STATUS_MAX 600 /* status[code] for 100..599; status[0] counts others */
#define TG_BENCH_LATE_US 1000   /* a send that starts this late counts in `late` */

struct tg_bench_stats {
    struct tg_hist lat;     /* corrected latency (the only one in the closed model) */
    struct tg_hist lat_unc; /* uncorrected latency, open model only */
    uint64_t requests;      /* finished: responses plus transport failures */
    uint64_t responses;
    uint64_t errors[TG_BENCH_E_COUNT];
    uint64_t late;      /* open model: sends that started TG_BENCH_LATE_US after intended */
    uint64_t connects;  /* connections opened */
    uint64_t bytes_out; /* request bytes sent */
    uint64_t bytes_in;  /* response bytes received */
    uint64_t status[TG_BENCH_STATUS_MAX];
};

void tg_bench__stats_init(struct tg_bench_stats *s);
void tg_bench__stats_reset(struct tg_bench_stats *s);
void tg_bench__stats_merge(struct tg_bench_stats *dst, const struct tg_bench_stats *src);

/* All errors, transport failures and HTTP >= 400 alike. */
uint64_t tg_bench__stats_errors(const struct tg_bench_stats *s);

/* Name of an error kind as it appears in reports ("connect", "bad_response"...). */
const char *tg_bench__err_name(enum tg_bench_err e);

#endif
