/* SPDX-License-Identifier: MIT */
/* The duration bounds (buckets.h): from 5 ms, where a loopback request lands, to 120 s,
 * the longest timeout the runbooks name. */
#include "metrics/buckets.h"

const double tg_mbuckets_duration_s[TG_MBUCKETS_DURATION_N] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5,
    0.75,  1,    1.5,   2,    2.5,   5,   7.5,  10,  30,   60,  120};
