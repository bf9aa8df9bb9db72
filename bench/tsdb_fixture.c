/* SPDX-License-Identifier: MIT */
/* The data of bench/tsdb_vs_prometheus.sh, and tailguard's side of its loading: the
 * per-endpoint series a gateway exposes for 200 endpoints (the latency histogram
 * http_request_duration_seconds with the gateway's 23 default buckets, _sum and _count;
 * http_requests_total by status; tailguard_request_causes_total by cause: 30 series per
 * endpoint), scraped every 5 s for 2 h. Traffic and latency come from a fixed-seed
 * generator: each endpoint has its own rate (skewed: a few hot ones), a slow wave and
 * noise on it, its own lognormal latency with a slow tail, and a few endpoints have a
 * latency and error incident half-way through. Latencies are whole microseconds, as the
 * gateway records them.
 *
 *   tsdb_fixture gen START_S OUT.om OUT.tsdb
 *     computes every sample in memory, writes them as OpenMetrics text (timestamps in
 *     seconds, series after series, so each series' samples are in time order, as
 *     promtool's backfill needs), appends the same samples to a store one scrape at a time
 *     with tg_tsdb_append_batch (timed: the in-process ingest cost of a scrape), saves the
 *     store with tg_tsdb_save and prints "key value" lines of figures. Values are printed
 *     with 17 significant digits, so the text parses back to the same doubles.
 *   tsdb_fixture query FILE.tsdb RUNS EXPR END_S [RANGE_S STEP_S]
 *     loads the store and times RUNS evaluations of EXPR in-process (instant at END_S, or
 *     a range query ending there), after two warm-ups: the evaluator's cost without the
 *     HTTP API, for profiling. Prints the medians of wall and CPU time (the CPU time is
 *     steadier on a shared machine), and the result's size.
 *
 * Built and run by bench/tsdb_vs_prometheus.sh; not part of the test suite. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/eval.h"
#include "promql/parse.h"
#include "tsdb/tsdb.h"

#define ENDPOINTS 200
#define BUCKETS 23 /* 22 bounds and +Inf: the gateway's default boundaries */
#define STATUSES 3
#define CAUSES 2
#define PER_ENDPOINT (BUCKETS + 2 + STATUSES + CAUSES)
#define SERIES (ENDPOINTS * PER_ENDPOINT)
#define SCRAPE_S 5
#define SCRAPES (2 * 3600 / SCRAPE_S)
#define NLABELS 6 /* __name__, a per-family label, endpoint, instance, job, method */

static const char *const bounds[BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2", "0.25", "0.3", "0.5", "0.75",
    "1",     "1.5",  "2",     "2.5",  "5",     "7.5", "10",   "30",  "60",   "120", "+Inf"};
static const char *const get_status[STATUSES] = {"200", "404", "500"};
static const char *const post_status[STATUSES] = {"201", "400", "503"};
static const char *const causes[CAUSES] = {"ok", "upstream_timeout"};
static const char *const resources[25] = {
    "products", "orders",   "users",    "carts",     "payments", "invoices", "reviews",
    "search",   "sessions", "accounts", "shipments", "coupons",  "stores",   "catalog",
    "reports",  "webhooks", "tokens",   "messages",  "files",    "tenants",  "plans",
    "events",   "metrics",  "exports",  "settings"};
static const char *const shapes[8] = {
    "", "/:id", "/:id/items", "/search", "/:id/history", "/export", "/:id/status", "/batch"};

/* The job is not "tailguard": a gateway's self-scrape marks every series of its own job
 * that it did not scrape as stale, and the loaded gateway must leave these alone. */
#define JOB "api-gateway"
#define INSTANCE "10.0.0.7:9090"

static uint64_t rng = 88172645463325252ull;
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

static double normal(void)
{
    return sqrt(-2 * log(unit() + 1e-300)) * cos(6.283185307179586 * unit());
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ the series */

static struct tg_label labels[SERIES][NLABELS];
static struct tg_labels sets[SERIES];
static char endpoint[ENDPOINTS][40];

static struct tg_labels series_labels(size_t k, const char *name, const char *extra_name,
                                      const char *extra_value, int e)
{
    struct tg_label *l = labels[k];
    uint32_t n = 0;
    const char *method = e % 4 == 3 ? "POST" : "GET";
    /* Sorted by name: __name__ < cause < endpoint < instance < job < le < method < status. */
    l[n++] = (struct tg_label){"__name__", name};
    if (extra_name && strcmp(extra_name, "cause") == 0)
        l[n++] = (struct tg_label){extra_name, extra_value};
    l[n++] = (struct tg_label){"endpoint", endpoint[e]};
    l[n++] = (struct tg_label){"instance", INSTANCE};
    l[n++] = (struct tg_label){"job", JOB};
    if (extra_name && strcmp(extra_name, "le") == 0)
        l[n++] = (struct tg_label){extra_name, extra_value};
    l[n++] = (struct tg_label){"method", method};
    if (extra_name && strcmp(extra_name, "status") == 0)
        l[n++] = (struct tg_label){extra_name, extra_value};
    return (struct tg_labels){l, n};
}

/* Series k of endpoint e: buckets, _sum, _count, statuses, causes (the value layout of
 * struct endpoint_state below). */
static void build_series(void)
{
    size_t k = 0;
    for (int e = 0; e < ENDPOINTS; e++) {
        snprintf(endpoint[e], sizeof endpoint[e], "/api/%s%s", resources[e % 25], shapes[e / 25]);
        for (int b = 0; b < BUCKETS; b++, k++)
            sets[k] = series_labels(k, "http_request_duration_seconds_bucket", "le", bounds[b], e);
        sets[k] = series_labels(k, "http_request_duration_seconds_sum", NULL, NULL, e);
        k++;
        sets[k] = series_labels(k, "http_request_duration_seconds_count", NULL, NULL, e);
        k++;
        const char *const *st = e % 4 == 3 ? post_status : get_status;
        for (int s = 0; s < STATUSES; s++, k++)
            sets[k] = series_labels(k, "http_requests_total", "status", st[s], e);
        for (int c = 0; c < CAUSES; c++, k++)
            sets[k] = series_labels(k, "tailguard_request_causes_total", "cause", causes[c], e);
    }
}

/* ------------------------------------------------------------------ the traffic */

struct endpoint_model {
    double rate;      /* requests per second, on average */
    double phase;     /* of the slow wave */
    double median_s;  /* latency */
    double sigma;     /* of log(latency) */
    double tail_frac; /* share of requests in the slow tail (8x slower) */
    bool incident;    /* latency x6 and 20 % errors in minutes 50-65 */
};

static struct endpoint_model model[ENDPOINTS];
static double bound_s[BUCKETS];

/* Every sample: values[scrape * SERIES + k]. */
static double *values;

static void build_model(void)
{
    for (int b = 0; b < BUCKETS; b++)
        bound_s[b] = b == BUCKETS - 1 ? INFINITY : strtod(bounds[b], NULL);
    for (int e = 0; e < ENDPOINTS; e++) {
        double u = unit();
        model[e] = (struct endpoint_model){
            .rate = 0.5 + 150 * u * u * u,
            .phase = 6.283185307179586 * unit(),
            .median_s = exp(log(0.004) + (log(0.6) - log(0.004)) * unit()),
            .sigma = 0.25 + 0.6 * unit(),
            .tail_frac = 0.002 + 0.03 * unit(),
            .incident = e % 37 == 5,
        };
    }
}

/* Counters of one endpoint, accumulated over the whole run. */
struct endpoint_state {
    uint64_t bucket[BUCKETS]; /* not cumulative; summed when written */
    uint64_t sum_us, count, status[STATUSES], cause[CAUSES];
};

static void one_scrape(int s, struct endpoint_state *st)
{
    for (int e = 0; e < ENDPOINTS; e++) {
        const struct endpoint_model *m = &model[e];
        struct endpoint_state *x = &st[e];
        bool incident = m->incident && s >= 600 && s < 780;
        double wave = 1 + 0.3 * sin(6.283185307179586 * s / SCRAPES + m->phase);
        double mean = m->rate * SCRAPE_S * wave * (0.85 + 0.3 * unit());
        long reqs = lround(mean + sqrt(mean) * normal());
        for (long r = 0; r < reqs; r++) {
            double lat = m->median_s * exp(m->sigma * normal());
            if (unit() < m->tail_frac)
                lat *= 8;
            if (incident)
                lat *= 6;
            uint64_t us = (uint64_t)llround(lat * 1e6);
            int b = 0;
            while ((double)us / 1e6 > bound_s[b])
                b++;
            x->bucket[b]++;
            x->sum_us += us;
            x->count++;
            double u = unit();
            int status = u < (incident ? 0.2 : 0.003) ? 2 : u < 0.03 ? 1 : 0;
            x->status[status]++;
            x->cause[status == 2]++;
        }
        double *v = &values[(size_t)s * SERIES + (size_t)e * PER_ENDPOINT];
        uint64_t cum = 0;
        for (int b = 0; b < BUCKETS; b++)
            v[b] = (double)(cum += x->bucket[b]);
        v[BUCKETS] = (double)x->sum_us / 1e6;
        v[BUCKETS + 1] = (double)x->count;
        for (int i = 0; i < STATUSES; i++)
            v[BUCKETS + 2 + i] = (double)x->status[i];
        for (int i = 0; i < CAUSES; i++)
            v[BUCKETS + 2 + STATUSES + i] = (double)x->cause[i];
    }
}

/* ------------------------------------------------------------------ gen */

static int write_openmetrics(const char *path, int64_t start_s)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    for (size_t k = 0; k < SERIES; k++) {
        char head[512];
        int n = snprintf(head, sizeof head, "%s{", sets[k].v[0].value);
        for (uint32_t i = 1; i < sets[k].n; i++)
            n += snprintf(head + n, sizeof head - (size_t)n, "%s%s=\"%s\"", i > 1 ? "," : "",
                          sets[k].v[i].name, sets[k].v[i].value);
        for (int s = 0; s < SCRAPES; s++)
            fprintf(f, "%s} %.17g %lld\n", head, values[(size_t)s * SERIES + k],
                    (long long)(start_s + (int64_t)s * SCRAPE_S));
    }
    fputs("# EOF\n", f);
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static int gen(int64_t start_s, const char *om_path, const char *tsdb_path)
{
    build_series();
    build_model();
    values = malloc(sizeof *values * (size_t)SERIES * SCRAPES);
    static struct endpoint_state st[ENDPOINTS];
    if (!values)
        return 1;
    for (int s = 0; s < SCRAPES; s++)
        one_scrape(s, st);
    if (write_openmetrics(om_path, start_s) != 0)
        return 1;

    struct tg_tsdb_opts o = {.retention_ms = 366LL * 86400 * 1000};
    struct tg_tsdb *db = tg_tsdb_new(&o);
    static struct tg_tsdb_point pts[SERIES];
    static int64_t ns[SCRAPES];
    for (size_t k = 0; k < SERIES; k++)
        pts[k].labels = sets[k];
    for (int s = 0; s < SCRAPES; s++) {
        for (size_t k = 0; k < SERIES; k++)
            pts[k].v = values[(size_t)s * SERIES + k];
        int64_t a = now_ns();
        size_t n;
        if (tg_tsdb_append_batch(db, (start_s + (int64_t)s * SCRAPE_S) * 1000, pts, SERIES, &n) ||
            n != SERIES) {
            fprintf(stderr, "tsdb_fixture: append failed at scrape %d\n", s);
            return 1;
        }
        ns[s] = now_ns() - a;
    }
    struct tg_tsdb_stats ts;
    tg_tsdb_stats(db, &ts);
    struct tg_errbuf eb = {0};
    if (tg_tsdb_save(db, tsdb_path, &eb) != 0) {
        fprintf(stderr, "tsdb_fixture: %s\n", eb.msg);
        return 1;
    }
    int64_t first = ns[0];
    qsort(ns, SCRAPES, sizeof ns[0], cmp_i64);
    printf("endpoints %d\nseries %llu\nsamples %llu\nscrapes %d\n", ENDPOINTS,
           (unsigned long long)ts.series, (unsigned long long)ts.samples, SCRAPES);
    printf("chunk_bytes %llu\nindex_bytes %llu\nchunks %llu\nhead_chunks %llu\n",
           (unsigned long long)ts.chunk_bytes, (unsigned long long)ts.index_bytes,
           (unsigned long long)ts.chunks, (unsigned long long)ts.head_chunks);
    printf("mint_ms %lld\nmaxt_ms %lld\n", (long long)ts.mint, (long long)ts.maxt);
    printf("ingest_first_ms %.3f\ningest_p50_ms %.3f\ningest_p99_ms %.3f\n", (double)first / 1e6,
           (double)ns[SCRAPES / 2] / 1e6, (double)ns[SCRAPES * 99 / 100] / 1e6);
    tg_tsdb_free(db);
    free(values);
    return 0;
}

/* ------------------------------------------------------------------ query */

static int query(const char *path, int runs, const char *expr, int64_t end_s, int64_t range_s,
                 int64_t step_s)
{
    struct tg_tsdb *db = tg_tsdb_new(&(struct tg_tsdb_opts){.retention_ms = 366LL * 86400000});
    struct tg_errbuf eb = {0};
    struct tg_promql_node *n = NULL;
    if (tg_tsdb_load(db, path, &eb) != 0 || tg_promql_parse(expr, strlen(expr), &n, &eb) != 0) {
        fprintf(stderr, "tsdb_fixture: %s\n", eb.msg);
        return 1;
    }
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    double *ms = calloc((size_t)runs + 2, sizeof *ms), *cpu = calloc((size_t)runs + 2, sizeof *cpu);
    size_t series = 0, points = 0;
    for (int r = 0; r < runs + 2; r++) {
        struct tg_promql_result res = {0};
        int64_t a = now_ns(), c = cpu_ns();
        int rc = step_s ? tg_promql_eval_range(&q, n, (end_s - range_s) * 1000, end_s * 1000,
                                               step_s * 1000, NULL, &res, &eb)
                        : tg_promql_eval_instant(&q, n, end_s * 1000, NULL, &res, &eb);
        ms[r] = (double)(now_ns() - a) / 1e6;
        cpu[r] = (double)(cpu_ns() - c) / 1e6;
        if (rc != 0) {
            fprintf(stderr, "tsdb_fixture: %s\n", eb.msg);
            return 1;
        }
        series = step_s ? res.value.mat.n : res.value.vec.n;
        points = 0;
        for (size_t i = 0; step_s && i < res.value.mat.n; i++)
            points += res.value.mat.v[i].n;
        tg_promql_result_free(&res);
    }
    qsort(ms + 2, (size_t)runs, sizeof *ms, cmp_double);
    qsort(cpu + 2, (size_t)runs, sizeof *cpu, cmp_double);
    printf("median_ms %.3f\nmin_ms %.3f\nmax_ms %.3f\ncpu_median_ms %.3f\nseries %zu\npoints %zu\n",
           ms[2 + runs / 2], ms[2], ms[runs + 1], cpu[2 + runs / 2], series, points);
    free(ms);
    free(cpu);
    tg_promql_node_free(n);
    tg_tsdb_free(db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "gen") == 0)
        return gen(strtoll(argv[2], NULL, 10), argv[3], argv[4]);
    if ((argc == 6 || argc == 8) && strcmp(argv[1], "query") == 0)
        return query(argv[2], atoi(argv[3]), argv[4], strtoll(argv[5], NULL, 10),
                     argc == 8 ? strtoll(argv[6], NULL, 10) : 0,
                     argc == 8 ? strtoll(argv[7], NULL, 10) : 0);
    fprintf(stderr, "usage: tsdb_fixture gen START_S OUT.om OUT.tsdb\n"
                    "       tsdb_fixture query FILE.tsdb RUNS EXPR END_S [RANGE_S STEP_S]\n");
    return 2;
}
