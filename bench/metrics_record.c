/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of what the gateway pays per request to record its metrics
 * (tg_mshard_record in src/metrics/shard.c): the phaser enter/exit, the latency
 * histogram, status/cause/byte counters, four phase histograms and the per-server
 * histogram, for a realistic spread of keys (50 endpoint x method keys, 4 servers) and
 * latencies (lognormal around 20 ms). A second thread collects the shard once per
 * 10 ms, as the control thread does once a second, so the phaser's flips are part of the
 * cost. Not part of the test suite (timings are noisy on shared machines):
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/metrics_record.c src/metrics/shard.c \
 *      src/metrics/reqstats.c src/metrics/hist.c src/metrics/phist.c -lm -lpthread \
 *      -o /tmp/metrics_record \
 *      && /tmp/metrics_record
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "metrics/shard.h"

#define NSAMPLES (1u << 14)
#define ROUNDS 600

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct reader {
    struct tg_mshard *s;
    atomic_bool stop;
    uint64_t flips;
};

static void count_key(uint32_t key, const struct tg_reqstats *st, void *ctx)
{
    (void)key;
    (void)st;
    (void)ctx;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(&r->stop)) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        tg_mshard_collect(r->s, count_key, NULL, NULL);
        r->flips++;
    }
    return NULL;
}

int main(void)
{
    struct tg_mshard *s;
    if (tg_mshard_new(10010, 1024, &s) != 0)
        return 1;
    static struct tg_reqsample smp[NSAMPLES];
    static uint32_t keys[NSAMPLES], servers[NSAMPLES];
    srand(42);
    for (unsigned i = 0; i < NSAMPLES; i++) {
        double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
        double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        int64_t d = (int64_t)(20000 * exp(0.6 * z));
        smp[i] = (struct tg_reqsample){
            .duration_us = d,
            .phase_us = {3, rand() % 8 ? -1 : 150, d * 8 / 10, d / 10},
            .status = rand() % 50 ? 200 : 503,
            .cause = 0,
            .bytes_in = 300,
            .bytes_out = 1200,
        };
        keys[i] = (uint32_t)(rand() % 50) * 10 + 1;
        servers[i] = (uint32_t)(rand() % 4) + 1;
    }
    struct reader r = {.s = s};
    pthread_t t;
    pthread_create(&t, NULL, reader_main, &r);
    int64_t best = INT64_MAX;
    for (int round = 0; round < ROUNDS; round++) {
        int64_t t0 = now_ns();
        for (unsigned i = 0; i < NSAMPLES; i++)
            tg_mshard_record(s, keys[i], &smp[i], servers[i], smp[i].duration_us, false);
        int64_t dt = now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    printf("tg_mshard_record: %.1f ns per request (best of %d rounds of %u; %llu flips "
           "meanwhile)\n",
           (double)best / NSAMPLES, ROUNDS, NSAMPLES, (unsigned long long)r.flips);
    tg_mshard_free(s);
    return 0;
}
