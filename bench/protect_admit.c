/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the protections' admit decisions (src/protect/): nanoseconds per
 * circuit-breaker admit + observe (time- and count-based windows), per rate-limit
 * decision (one global rule; one per-client-IP rule over a table holding a million
 * clients, keys drawn at random so most lookups miss the cache, as with real clients),
 * and per client-address resolution through two trusted hops. Each is run on one thread
 * and on two threads sharing the same object (the contended case: workers on two cores
 * deciding on one breaker or one global cell). Time is synthetic (`now` advances by 1 µs
 * per decision on each thread, continuing from run to run) and the limits are set so
 * that nothing is refused: the figure is the cost of a protection that is on but not
 * triggering. Each thread measures its own CPU time, so time spent waiting for a core
 * that other processes hold does not count, while cache-line transfers between the two
 * threads do. Median of 7 runs. Not part of the test suite:
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_admit.c src/protect/breaker.c \
 *      src/protect/ratelimit.c src/protect/ratelimit_table.c src/protect/clientip.c \
 *      src/core/err.c -lpthread -o /tmp/protect_admit && /tmp/protect_admit
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protect/breaker.h"
#include "protect/clientip.h"
#include "protect/ratelimit.h"

#define RUNS 7
#define OPS 2000000 /* decisions per thread per run */
#define KEYS 1000000

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

enum what { BREAKER, RATE_GLOBAL, RATE_PER_IP, CLIENT_IP };

struct job {
    enum what what;
    struct tg_breaker *b;
    struct tg_ratelimit *rl;
    int thread;
    int64_t start_us; /* synthetic time of the first decision */
    int64_t cpu_ns;
    uint64_t refused;
    pthread_barrier_t *start;
};

static struct tg_ratelimit_key key_of(uint64_t i)
{
    struct tg_ratelimit_key k = {.ip = {[10] = 0xff, [11] = 0xff}};
    k.ip[12] = (uint8_t)(i >> 24);
    k.ip[13] = (uint8_t)(i >> 16);
    k.ip[14] = (uint8_t)(i >> 8);
    k.ip[15] = (uint8_t)i;
    return k;
}

static void run_ops(struct job *j)
{
    int64_t now = j->start_us + j->thread * 7;
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(j->thread + 1) * 0xBF58476D1CE4E5B9ull;
    struct tg_clientip_cidr trusted[2];
    tg_clientip_parse_cidr("10.0.0.0/8", 10, &trusted[0]);
    tg_clientip_parse_cidr("2001:db8::/32", 13, &trusted[1]);
    static const char xff[] = "198.51.100.23, 10.1.2.3";
    struct tg_clientip_field field = {xff, sizeof xff - 1};
    uint8_t peer[16], out[16];
    tg_clientip_parse("10.0.0.9", 8, peer);
    for (int i = 0; i < OPS; i++, now++) {
        switch (j->what) {
        case BREAKER: {
            uint32_t t;
            int64_t ra;
            if (tg_breaker_admit(j->b, now, &t, &ra))
                tg_breaker_observe(j->b, now, t, false, 2000);
            else
                j->refused++;
            break;
        }
        case RATE_GLOBAL: {
            struct tg_ratelimit_verdict v;
            j->refused += !tg_ratelimit_take(j->rl, now, NULL, &v);
            break;
        }
        case RATE_PER_IP: {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            struct tg_ratelimit_key k = key_of(rng % KEYS);
            struct tg_ratelimit_verdict v;
            j->refused += !tg_ratelimit_take(j->rl, now, &k, &v);
            break;
        }
        case CLIENT_IP:
            j->refused +=
                tg_clientip_resolve(peer, &field, 1, trusted, 2, out) != TG_CLIENTIP_FORWARDED;
            break;
        }
    }
}

static void *thread_main(void *arg)
{
    struct job *j = arg;
    pthread_barrier_wait(j->start);
    int64_t t0 = cpu_ns();
    run_ops(j);
    j->cpu_ns = cpu_ns() - t0;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU ns per decision, over all threads. */
static double measure(struct job proto, int threads, uint64_t *refused)
{
    static int64_t clock_us = 1000000000LL; /* synthetic time, carried across runs */
    double ns[RUNS];
    for (int r = 0; r < RUNS; r++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
        struct job jobs[2];
        pthread_t th[2];
        for (int i = 0; i < threads; i++) {
            jobs[i] = proto;
            jobs[i].thread = i;
            jobs[i].start_us = clock_us;
            jobs[i].start = &start;
            pthread_create(&th[i], NULL, thread_main, &jobs[i]);
        }
        pthread_barrier_wait(&start);
        int64_t cpu = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            *refused += jobs[i].refused;
            cpu += jobs[i].cpu_ns;
        }
        ns[r] = (double)cpu / ((double)OPS * threads);
        clock_us += OPS + 100;
        pthread_barrier_destroy(&start);
    }
    qsort(ns, RUNS, sizeof ns[0], cmp_double);
    return ns[RUNS / 2];
}

static void report(const char *name, struct job proto)
{
    uint64_t refused = 0;
    double one = measure(proto, 1, &refused);
    double two = measure(proto, 2, &refused);
    printf("%-40s %7.1f ns   %7.1f ns   (refused: %llu)\n", name, one, two,
           (unsigned long long)refused);
}

int main(void)
{
    printf("%-40s %10s   %10s\n", "decision", "1 thread", "2 threads");

    struct tg_breaker_params bp;
    tg_breaker_params_default(&bp);
    struct tg_breaker *b;
    if (tg_breaker_new(&bp, NULL, &b))
        return 1;
    report("breaker admit+observe (time window)", (struct job){.what = BREAKER, .b = b});
    tg_breaker_free(b);
    bp.window = TG_BREAKER_WINDOW_COUNT;
    bp.window_size = 100;
    if (tg_breaker_new(&bp, NULL, &b))
        return 1;
    report("breaker admit+observe (count window)", (struct job){.what = BREAKER, .b = b});
    tg_breaker_free(b);

    struct tg_ratelimit_params rp;
    tg_ratelimit_params_default(&rp);
    /* One per 60 ns, never reached at 1 µs per decision; a burst of a whole minute, so
     * that the two threads' synthetic clocks may drift apart without a refusal. */
    rp.limit = 1000000000;
    rp.burst = 1000000000;
    struct tg_ratelimit *rl;
    if (tg_ratelimit_new(&rp, TG_RATELIMIT_GLOBAL, 0, 42, NULL, &rl))
        return 1;
    report("rate limit, global GCRA", (struct job){.what = RATE_GLOBAL, .rl = rl});
    tg_ratelimit_free(rl);

    /* Per IP: 600 per minute each, a table of 1M entries (16 MiB) and 1M clients drawn at
     * random, so the table is as full as it gets and most lookups miss the cache. */
    rp.limit = 600;
    rp.burst = 10;
    if (tg_ratelimit_new(&rp, TG_RATELIMIT_CLIENT_IP, KEYS, 42, NULL, &rl))
        return 1;
    for (uint64_t i = 0; i < KEYS; i++) {
        struct tg_ratelimit_key k = key_of(i);
        struct tg_ratelimit_verdict v;
        tg_ratelimit_take(rl, 999000000, &k, &v);
    }
    report("rate limit, per IP GCRA, 1M clients", (struct job){.what = RATE_PER_IP, .rl = rl});
    struct tg_ratelimit_stats st;
    tg_ratelimit_read(rl, &st);
    printf("  table: %zu entries, %zu used, %.1f MiB, %llu live evictions\n", st.capacity, st.used,
           (double)st.bytes / (1 << 20), (unsigned long long)st.evictions_live_total);
    tg_ratelimit_free(rl);

    report("client IP, two trusted hops", (struct job){.what = CLIENT_IP});
    return 0;
}
