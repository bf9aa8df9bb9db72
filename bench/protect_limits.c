/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of what the concurrency limit, the retry budget and outlier ejection
 * add to a request that none of them refuses: ns per decision, the median of 9 runs.
 * Each row is one request's calls: admit + release (src/protect/conclimit.h), the end
 * of a successful try (retry.h), usable + weight at the pick and observe of the
 * response (outlier.h), then all three together. The "2 threads" rows run the same loop
 * on two threads sharing one limiter, budget and server, the worst case for the shared
 * cache lines (workers normally spread over many upstreams and servers). Not part of the
 * test suite: timings are noisy on shared machines. Build and run from the repo:
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_limits.c src/protect/conclimit.c \
 *      src/protect/retry.c src/protect/outlier.c -lm -lpthread -o /tmp/pl && /tmp/pl
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "protect/conclimit.h"
#include "protect/outlier.h"
#include "protect/retry.h"

#define OPS 2000000
#define RUNS 9

enum what { CONCLIMIT = 1, RETRY = 2, OUTLIER = 4, ALL = 7 };

static struct tg_conclimit *cl;
static struct tg_conclimit_params clp;
static struct tg_retry *rt;
static struct tg_retry_params rtp;
static struct tg_outlier *ol;
static struct tg_outlier_params olp;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t one_request(enum what w, int64_t now_us, uint32_t server)
{
    uint64_t acc = 0;
    if (w & CONCLIMIT) {
        enum tg_conclimit_reason r;
        acc += tg_conclimit_admit(cl, &clp, NULL, NULL, TG_CONCLIMIT_STANDARD, now_us, &r);
    }
    if (w & OUTLIER)
        acc += tg_outlier_usable(ol, server, now_us) + tg_outlier_weight(ol, &olp, server, now_us);
    if (w & OUTLIER) {
        struct tg_outlier_result res = {
            .kind = TG_OUTLIER_RESPONSE, .status = 200, .latency_us = 1000 + (now_us & 255)};
        acc += tg_outlier_observe(ol, &olp, server, now_us, &res);
    }
    if (w & RETRY) {
        struct tg_retry_try t = {
            .attempt = 1, .status = 200, .idempotent = true, .replayable = true, .inflight = 10};
        struct tg_retry_decision d;
        tg_retry_end(rt, &rtp, &t, now_us, (uint64_t)now_us, &d);
        acc += d.verdict;
    }
    if (w & CONCLIMIT)
        acc += tg_conclimit_release(cl);
    return acc;
}

struct job {
    enum what w;
    double ns;
    uint64_t sink; /* keeps the results live */
};

static void *run(void *arg)
{
    struct job *j = arg;
    int64_t t0 = now_ns();
    for (int i = 0; i < OPS; i++)
        j->sink += one_request(j->w, 1000000000 + i, 0);
    j->ns = (double)(now_ns() - t0) / OPS;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over RUNS of the per-thread ns per request, `threads` threads at once. */
static double measure(enum what w, int threads)
{
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        struct job jobs[2] = {{.w = w}, {.w = w}};
        pthread_t th[2];
        for (int t = 0; t < threads; t++)
            pthread_create(&th[t], NULL, run, &jobs[t]);
        double sum = 0;
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            sum += jobs[t].ns;
        }
        v[r] = sum / threads;
    }
    qsort(v, RUNS, sizeof v[0], cmp_double);
    return v[RUNS / 2];
}

int main(void)
{
    tg_conclimit_params_init(&clp);
    clp.hard_limit = 1000;
    clp.soft_limit = 800;
    tg_retry_params_init(&rtp);
    tg_outlier_params_init(&olp);
    if (tg_conclimit_new(&cl) || tg_retry_new(&rt) || tg_outlier_new(4, &ol))
        return 1;
    static const struct {
        const char *name;
        enum what w;
    } rows[] = {
        {"conclimit admit + release", CONCLIMIT},
        {"retry end (a success)", RETRY},
        {"outlier usable + weight + observe", OUTLIER},
        {"all three", ALL},
    };
    printf("ns per request (median of %d runs of %d)   1 thread   2 threads\n", RUNS, OPS);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("%-42s %8.1f   %8.1f\n", rows[i].name, measure(rows[i].w, 1), measure(rows[i].w, 2));
    tg_conclimit_free(cl);
    tg_retry_free(rt);
    tg_outlier_free(ol);
    return 0;
}
