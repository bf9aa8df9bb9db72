/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the response cache's request path (src/protect/cache.h): ns per
 * tg_cache_lookup for a hit (reference taken and released) and for a miss, on a cache of
 * 10,000 entries that vary on Accept-Encoding, with requests carrying eight header
 * fields as a browser's do; ns per store (offer, a 512-byte body, commit, replacing the
 * previous entry); and the hit path again from two threads at once, for the cost of
 * sharing the stripes. Each figure is the median of 9 rounds. Not part of the test suite:
 * timings are noisy on shared machines. Build and run from the repo (bench/micro.sh):
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/cache_lookup.c src/protect/cache*.c \
 *      -lpthread -o /tmp/cache_lookup && /tmp/cache_lookup
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protect/cache.h"

#define NKEYS 10000
#define LOOKUPS 1000000
#define ROUNDS 9
#define FIELD(n, v)                                                                                \
    {                                                                                              \
        n, v, sizeof(n) - 1, sizeof(v) - 1                                                         \
    }

static const struct tg_cache_rule RULE = {.serve = true, .default_ttl_us = 600000000};
static const struct tg_cache_field RESP[] = {
    FIELD("Content-Type", "application/json"), FIELD("Cache-Control", "max-age=600"),
    FIELD("Vary", "Accept-Encoding"), FIELD("ETag", "\"abc123\"")};
static const struct tg_cache_field REQ[] = {
    FIELD("Host", "api.example.com"),
    FIELD("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
    FIELD("Accept", "application/json, text/plain, */*"),
    FIELD("Accept-Language", "en-US,en;q=0.9"),
    FIELD("Accept-Encoding", "gzip, deflate, br"),
    FIELD("Connection", "keep-alive"),
    FIELD("X-Forwarded-For", "10.1.2.3"),
    FIELD("Referer", "https://app.example.com/products"),
};

static char paths[2 * NKEYS][40];
static struct tg_cache_req reqs[2 * NKEYS]; /* the first NKEYS are stored */
static uint32_t order[LOOKUPS];
static char body[512];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void store(struct tg_cache *c, const struct tg_cache_req *rq, int64_t now)
{
    struct tg_cache_resp rs = {200, RESP, 4, sizeof body, now, 1700000000, 0};
    struct tg_cache_fill f;
    if (tg_cache_offer(c, rq, &RULE, &rs, now, &f) != TG_CACHE_DECLINE_NONE)
        abort();
    if (tg_cache_fill_append(c, &f, body, sizeof body) || tg_cache_fill_commit(c, &f, now))
        abort();
}

/* ns per lookup over `order`, offset by `base` (0: stored keys, NKEYS: absent ones). */
static double lookups(struct tg_cache *c, uint32_t base, uint64_t *hits)
{
    int64_t t0 = now_ns();
    for (uint32_t i = 0; i < LOOKUPS; i++) {
        struct tg_cache_hit h;
        if (tg_cache_lookup(c, &reqs[base + order[i]], &RULE, 1000000 + i, &h) == TG_CACHE_HIT) {
            (*hits)++;
            tg_cache_release(c, h.entry);
        }
    }
    return (double)(now_ns() - t0) / LOOKUPS;
}

struct thread_arg {
    struct tg_cache *c;
    double ns;
    uint64_t hits;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    a->ns = lookups(a->c, 0, &a->hits);
    return NULL;
}

static double median(double *v)
{
    qsort(v, ROUNDS, sizeof v[0], cmp_double);
    return v[ROUNDS / 2];
}

int main(void)
{
    struct tg_cache_limits lim = {64u << 20, 1u << 20};
    struct tg_cache *c;
    if (tg_cache_new(&lim, 0x9e3779b97f4a7c15ull, &c) != 0)
        return 1;
    memset(body, 'j', sizeof body);
    for (uint32_t i = 0; i < 2 * NKEYS; i++) {
        int n = snprintf(paths[i], sizeof paths[i], "/api/products/%u", i);
        reqs[i] = (struct tg_cache_req){false, paths[i], (uint32_t)n, "page=1", 6, REQ, 8};
    }
    for (uint32_t i = 0; i < NKEYS; i++)
        store(c, &reqs[i], 1000000);
    uint64_t s = 88172645463325252ull;
    for (uint32_t i = 0; i < LOOKUPS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        order[i] = (uint32_t)(s % NKEYS);
    }

    double hit[ROUNDS], miss[ROUNDS], put[ROUNDS], two[ROUNDS];
    uint64_t hits = 0, misses_hit = 0;
    for (int r = 0; r < ROUNDS; r++) {
        hit[r] = lookups(c, 0, &hits);
        miss[r] = lookups(c, NKEYS, &misses_hit);
        int64_t t0 = now_ns();
        for (uint32_t i = 0; i < NKEYS; i++)
            store(c, &reqs[order[i]], 2000000);
        put[r] = (double)(now_ns() - t0) / NKEYS;
        struct thread_arg a[2] = {{c, 0, 0}, {c, 0, 0}};
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            pthread_create(&t[k], NULL, thread_main, &a[k]);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        two[r] = (a[0].ns + a[1].ns) / 2;
        hits += a[0].hits + a[1].hits;
    }
    if (hits != (uint64_t)ROUNDS * LOOKUPS * 3 || misses_hit != 0) {
        fprintf(stderr, "unexpected: %llu hits, %llu hits among misses\n", (unsigned long long)hits,
                (unsigned long long)misses_hit);
        return 1;
    }
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    printf("tg_cache_lookup hit               %7.1f ns\n", median(hit));
    printf("tg_cache_lookup miss              %7.1f ns\n", median(miss));
    printf("tg_cache_lookup hit, 2 threads    %7.1f ns\n", median(two));
    printf("offer + 512 B + commit (replace)  %7.1f ns\n", median(put));
    printf("(%llu entries, %llu bytes, median of %d rounds)\n", (unsigned long long)st.entries,
           (unsigned long long)st.bytes, ROUNDS);
    tg_cache_free(c);
    return 0;
}
