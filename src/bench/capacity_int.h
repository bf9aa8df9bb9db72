/* SPDX-License-Identifier: MIT */
/* The capacity search's decisions, separated from running load so unit tests can drive it
 * with a simulated system. The search offers a constant rate per step: it starts at
 * `start` and doubles while steps pass, then bisects between the highest passing and the
 * lowest failing rate until they are within `precision` of each other. A step passes when
 * the SLO holds over the whole step. From the steps it derives:
 * - the answer: the highest passing rate;
 * - the knee: the highest rate tested whose p95 stayed within 1.5x its value at the
 *   lowest rate (or 1 ms above it, for services faster than 2 ms), and Little's law there
 *   (requests in flight = achieved rate x mean latency). A step over that limit below a
 *   step within it is a stall of the machine, not the knee;
 * - suggested settings for tailguard in front of the API: a rate limit at 90 % of the
 *   answer, and a concurrency limit of answer x unloaded mean latency (the mean at the
 *   lowest rate), rounded up. That product is Little's law for the API working at its
 *   capacity without a queue: the requests it really serves in parallel. Allowing more in
 *   flight only builds a queue inside it; allowing fewer caps it below the answer. */
#ifndef TG_BENCH_CAPACITY_INT_H
#define TG_BENCH_CAPACITY_INT_H

#include <stdbool.h>
#include <stdint.h>

#define TG_BENCH_STEPS_MAX 64
#define TG_BENCH_KNEE_FACTOR 1.5
#define TG_BENCH_RATE_LIMIT_SHARE 0.9

struct tg_bench_step {
    double rate;         /* offered */
    double achieved_rps; /* finished requests per second */
    uint64_t requests, errors, late;
    double errors_pct;
    int64_t p50_us, p95_us, p99_us, max_us;
    double mean_us;
    bool ok;
    bool cut_short; /* stopped early: the SLO could no longer hold */
    char why[128];  /* why it failed, e.g. "p95 1.23 s (SLO p95<100ms)" */
};

struct tg_bench_search {
    double start, max_rate, precision;
    uint32_t max_steps;
    double lo; /* highest passing rate, 0 if none */
    double hi; /* lowest failing rate, 0 if none */
    uint32_t n;
    struct tg_bench_step steps[TG_BENCH_STEPS_MAX];
};

struct tg_bench_capacity {
    bool found;
    double max_rps; /* highest rate that held the SLO */
    int best;       /* its step, -1 if none */
    bool knee_seen; /* false: latency never climbed over the tested rates */
    double knee_rps;
    int knee;        /* step index, -1 if no step */
    double little;   /* requests in flight at the knee */
    double parallel; /* answer x unloaded mean latency: the API's working concurrency */
    double rate_limit_rps;
    uint32_t concurrency_limit;
};

/* `precision` is relative (0.05 = stop when the bracket is within 5 %). */
void tg_bench__search_init(struct tg_bench_search *s, double start, double max_rate,
                           double precision, uint32_t max_steps);

/* The next rate to offer, or 0 when the search is over. */
double tg_bench__search_next(const struct tg_bench_search *s);

/* Records a finished step (its `ok` decided by the caller). */
void tg_bench__search_add(struct tg_bench_search *s, const struct tg_bench_step *st);

/* Derives the answer, knee, Little's law and suggestions from the steps so far. */
void tg_bench__search_conclude(const struct tg_bench_search *s, struct tg_bench_capacity *c);

#endif
