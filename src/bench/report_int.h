/* SPDX-License-Identifier: MIT */
/* The results of `tailguard bench` for people (an aligned summary, and the capacity
 * search's step table streamed as steps finish) and for machines (--json: one object;
 * field names are a contract with scripts and tests, listed in docs/bench.md). Writes to
 * the FILE it is given; formats with units_int.h; computes nothing it does not print. */
#ifndef TG_BENCH_REPORT_INT_H
#define TG_BENCH_REPORT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/args_int.h"
#include "bench/capacity_int.h"
#include "bench/run_int.h"
#include "bench/stats_int.h"

struct tg_bench_report {
    const struct tg_bench_opts *o;
    const char *const *urls; /* the targets as given (or the scenario's base URL) */
    uint32_t nurls;
    const char *addr; /* resolved address, "127.0.0.1:8080" */
    uint32_t nreqs;   /* distinct requests (scenario lines or URLs) */
    uint32_t threads;
    uint32_t conns;     /* connections (closed) or connection cap (open) */
    double offered_rps; /* open model: planned requests / sending time; 0 in closed runs */
    int64_t send_us;    /* planned sending time */
    /* A plain run. */
    const struct tg_bench_stats *total;
    int64_t elapsed_us;
    const struct tg_bench_run_result *res;
    const struct tg_bench_verdict *verdicts; /* for o->thresholds */
    /* A capacity search (total/elapsed then describe the step at the answer). */
    const struct tg_bench_search *search;
    const struct tg_bench_capacity *cap;
    bool search_interrupted; /* a signal ended the search before its answer was final */
};

void tg_bench__report_text(FILE *f, const struct tg_bench_report *r);
void tg_bench__report_json(FILE *f, const struct tg_bench_report *r);

/* The capacity search's table, a line per step as it finishes (text output only). */
void tg_bench__report_step_header(FILE *f, const struct tg_bench_opts *o, const char *url);
void tg_bench__report_step(FILE *f, uint32_t idx, const struct tg_bench_step *st);

#endif
