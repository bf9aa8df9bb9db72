/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the latency histogram's hot path (src/metrics/hist.h): nanoseconds
 * per tg_hist_record, alone and bracketed by the phaser's enter/exit as the load generator
 * records, plus the reader-side merge and percentile query. Values are drawn beforehand
 * (lognormal around 2 ms) so the loop measures the histogram, not the generator. Not part
 * of the test suite: timings are noisy on shared machines. Build and run from the repo:
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/hist_record.c src/metrics/hist.c -lm \
 *      -o /tmp/hist_record && /tmp/hist_record
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "metrics/hist.h"

#define NVALUES (1u << 16) /* fits in L2 with the histogram */
#define ROUNDS 400

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void)
{
    static int64_t values[NVALUES];
    uint64_t s = 88172645463325252ull;
    for (uint32_t i = 0; i < NVALUES; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u1 = (double)((s >> 11) + 1) / 9007199254740993.0;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
        values[i] = (int64_t)(2000.0 * exp(0.7 * z));
    }
    static struct tg_hist h[2], total;
    tg_hist_init(&h[0]);
    tg_hist_init(&h[1]);
    tg_hist_init(&total);

    int64_t t0 = now_ns();
    for (int r = 0; r < ROUNDS; r++)
        for (uint32_t i = 0; i < NVALUES; i++)
            tg_hist_record(&h[0], values[i]);
    int64_t t1 = now_ns();
    double plain = (double)(t1 - t0) / ((double)ROUNDS * NVALUES);

    static struct tg_hist_phaser ph;
    t0 = now_ns();
    for (int r = 0; r < ROUNDS; r++)
        for (uint32_t i = 0; i < NVALUES; i++) {
            unsigned side = tg_hist_phaser_enter(&ph);
            tg_hist_record(&h[side], values[i]);
            tg_hist_phaser_exit(&ph, side);
        }
    t1 = now_ns();
    double phased = (double)(t1 - t0) / ((double)ROUNDS * NVALUES);

    t0 = now_ns();
    for (int r = 0; r < 1000; r++)
        tg_hist_merge(&total, &h[0]);
    t1 = now_ns();
    double merge_us = (double)(t1 - t0) / 1000 / 1000;

    static const double pcts[] = {50, 90, 95, 99, 99.9, 99.99};
    int64_t out[6];
    t0 = now_ns();
    for (int r = 0; r < 1000; r++)
        tg_hist_values_at(&total, pcts, 6, out);
    t1 = now_ns();
    double query_us = (double)(t1 - t0) / 1000 / 1000;

    printf("tg_hist_record                 %6.2f ns\n", plain);
    printf("enter + tg_hist_record + exit  %6.2f ns\n", phased);
    printf("tg_hist_merge                  %6.2f us\n", merge_us);
    printf("tg_hist_values_at (6 pcts)     %6.2f us   (p50 %lld us, p99 %lld us)\n", query_us,
           (long long)out[0], (long long)out[3]);
    return 0;
}
