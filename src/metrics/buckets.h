/* SPDX-License-Identifier: MIT */
/* The upper bounds of the duration histograms tailguard prints (the gateway's
 * http_request_duration_seconds, the probes' external_api_duration_seconds), in seconds:
 * one list, so every duration family has the same `le` labels and the runbooks'
 * thresholds (0.1 to 120 s) each fall exactly on a bound. */
#ifndef TG_METRICS_BUCKETS_H
#define TG_METRICS_BUCKETS_H

#include <stddef.h>

#define TG_MBUCKETS_DURATION_N 22

extern const double tg_mbuckets_duration_s[TG_MBUCKETS_DURATION_N];

#endif
