/* SPDX-License-Identifier: MIT */
/* Benchmark of the embedded store (src/tsdb/): bytes per sample and per series, and the
 * time to ingest one scrape, for the series a gateway with 200 endpoints exposes (per
 * endpoint: request counters by status, a latency histogram of 15 bounds plus +Inf with
 * _sum and _count, an in-flight gauge), scraped every 5 s for 2 h. Counter increments
 * and latencies are drawn from a fixed-seed generator, so runs are comparable. Two
 * passes: samples stamped with the scrape's scheduled time, then with 0-3 ms of jitter
 * (the cost of stamping with the time the scrape actually ran). Also the file: its
 * size and the save and load times. Not part of the test suite: timings are noisy on
 * shared machines. Build and run from the repository (bench/micro.sh does it):
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/tsdb_bytes.c src/tsdb/[a-z]*.c src/core/err.c \
 *      -lpcre2-8 -lz -lm -o /tmp/tsdb_bytes && /tmp/tsdb_bytes
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsdb/tsdb.h"

#define ENDPOINTS 200
#define BUCKETS 16 /* 15 bounds and +Inf */
#define STATUSES 3
#define PER_ENDPOINT (STATUSES + BUCKETS + 2 + 1)
#define SERIES (ENDPOINTS * PER_ENDPOINT)
#define SCRAPE_MS 5000
#define SCRAPES (2 * 3600 * 1000 / SCRAPE_MS)

static const char *bounds[BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                      "0.5",   "1",    "2.5",   "5",    "10",  "20",
                                      "30",    "60",   "120",   "+Inf"};
static const double bound_s[BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                        2.5,   5,    10,    20,   30,  60,   120, INFINITY};
static const char *statuses[STATUSES] = {"200", "404", "500"};

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Label sets of every series (built once, as the scrape glue would keep them). */
static struct tg_label labels[SERIES][5];
static char endpoint[ENDPOINTS][32];
static struct tg_tsdb_point pts[SERIES];
static double counter[SERIES];

static void build_series(void)
{
    size_t k = 0;
    for (int e = 0; e < ENDPOINTS; e++) {
        snprintf(endpoint[e], sizeof endpoint[e], "/api/v1/resource%d/:id", e);
        for (int s = 0; s < STATUSES; s++, k++) {
            struct tg_label *l = labels[k];
            l[0] = (struct tg_label){"__name__", "http_requests_total"};
            l[1] = (struct tg_label){"endpoint", endpoint[e]};
            l[2] = (struct tg_label){"job", "tailguard"};
            l[3] = (struct tg_label){"method", "GET"};
            l[4] = (struct tg_label){"status", statuses[s]};
            pts[k].labels = (struct tg_labels){l, 5};
        }
        for (int b = 0; b < BUCKETS; b++, k++) {
            struct tg_label *l = labels[k];
            l[0] = (struct tg_label){"__name__", "http_request_duration_seconds_bucket"};
            l[1] = (struct tg_label){"endpoint", endpoint[e]};
            l[2] = (struct tg_label){"job", "tailguard"};
            l[3] = (struct tg_label){"le", bounds[b]};
            l[4] = (struct tg_label){"method", "GET"};
            pts[k].labels = (struct tg_labels){l, 5};
        }
        static const char *tail[3] = {"http_request_duration_seconds_sum",
                                      "http_request_duration_seconds_count",
                                      "http_requests_active"};
        for (int t = 0; t < 3; t++, k++) {
            struct tg_label *l = labels[k];
            l[0] = (struct tg_label){"__name__", tail[t]};
            l[1] = (struct tg_label){"endpoint", endpoint[e]};
            l[2] = (struct tg_label){"job", "tailguard"};
            l[3] = (struct tg_label){"method", "GET"};
            pts[k].labels = (struct tg_labels){l, 4};
        }
    }
}

/* One scrape's values: each endpoint gets 10-100 req/s (fixed per endpoint, Poisson-ish
 * around it), latencies lognormal around a per-endpoint median. */
static void next_values(void)
{
    for (int e = 0; e < ENDPOINTS; e++) {
        double *c = &counter[e * PER_ENDPOINT];
        double rate = 10 + 90 * (double)(e % 10) / 9;
        int reqs = (int)(rate * 5 * (0.8 + 0.4 * unit()));
        double median = 0.02 * (1 + e % 7);
        for (int r = 0; r < reqs; r++) {
            double u = unit();
            c[u < 0.97 ? 0 : u < 0.99 ? 1 : 2] += 1;
            double z = sqrt(-2 * log(unit() + 1e-12)) * cos(6.283185307179586 * unit());
            double lat = median * exp(0.6 * z);
            for (int b = 0; b < BUCKETS; b++)
                if (lat <= bound_s[b])
                    c[STATUSES + b] += 1;
            c[STATUSES + BUCKETS] += lat;
            c[STATUSES + BUCKETS + 1] += 1;
        }
        c[STATUSES + BUCKETS + 2] = (double)(rnd() % 8);
    }
    for (size_t k = 0; k < SERIES; k++)
        pts[k].v = counter[k];
}

static void run(const char *name, int jitter_ms)
{
    rng = 88172645463325252ull;
    memset(counter, 0, sizeof counter);
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    static int64_t ns[SCRAPES];
    int64_t t0 = 1700000000000;
    for (int s = 0; s < SCRAPES; s++) {
        next_values();
        int64_t t = t0 + (int64_t)s * SCRAPE_MS + (jitter_ms ? (int64_t)(rnd() % 4) : 0);
        int64_t a = now_ns();
        size_t n;
        if (tg_tsdb_append_batch(db, t, pts, SERIES, &n) || n != SERIES) {
            fprintf(stderr, "append failed at scrape %d\n", s);
            exit(1);
        }
        ns[s] = now_ns() - a;
    }
    struct tg_tsdb_stats st;
    tg_tsdb_stats(db, &st);
    double mean = 0;
    for (int s = 0; s < SCRAPES; s++)
        mean += (double)ns[s];
    mean /= SCRAPES;
    int64_t first = ns[0];
    qsort(ns, SCRAPES, sizeof ns[0], cmp_i64);
    printf("%s: %d endpoints, %llu series, %llu samples (%d scrapes at %d s)\n", name, ENDPOINTS,
           (unsigned long long)st.series, (unsigned long long)st.samples, SCRAPES,
           SCRAPE_MS / 1000);
    printf("  chunk bytes/sample      %.3f  (%llu bytes in %llu sealed + %llu head chunks)\n",
           (double)st.chunk_bytes / (double)st.samples, (unsigned long long)st.chunk_bytes,
           (unsigned long long)st.chunks, (unsigned long long)st.head_chunks);
    printf("  total bytes/sample      %.3f  (chunks + index, %.1f MiB)\n",
           (double)st.bytes / (double)st.samples, (double)st.bytes / 1048576.0);
    printf("  index bytes/series      %.0f\n", (double)st.index_bytes / (double)st.series);
    printf("  total bytes/series      %.0f\n", (double)st.bytes / (double)st.series);
    printf("  ingest per scrape (ms)  first %.3f  mean %.3f  p50 %.3f  p99 %.3f  max %.3f"
           "  (%.0f ns/sample)\n",
           (double)first / 1e6, mean / 1e6, (double)ns[SCRAPES / 2] / 1e6,
           (double)ns[SCRAPES * 99 / 100] / 1e6, (double)ns[SCRAPES - 1] / 1e6, mean / SERIES);
    char path[64];
    snprintf(path, sizeof path, "/tmp/tsdb_bytes.%d", (int)getpid());
    struct tg_errbuf eb;
    int64_t a = now_ns();
    if (tg_tsdb_save(db, path, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        exit(1);
    }
    int64_t b = now_ns();
    struct tg_tsdb *back = tg_tsdb_new(NULL);
    if (tg_tsdb_load(back, path, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        exit(1);
    }
    int64_t c = now_ns();
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    unlink(path);
    printf("  file %.1f MiB (%.3f bytes/sample), save %.0f ms (with fsync), load %.0f ms\n",
           (double)size / 1048576.0, (double)size / (double)st.samples, (double)(b - a) / 1e6,
           (double)(c - b) / 1e6);
    tg_tsdb_free(back);
    tg_tsdb_free(db);
}

int main(void)
{
    build_series();
    run("scheduled times", 0);
    run("times with 0-3 ms jitter", 1);
    return 0;
}
