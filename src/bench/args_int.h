/* SPDX-License-Identifier: MIT */
/* The command line of `tailguard bench`: parsing into struct tg_bench_opts and every check
 * that needs no network (ranges, combinations). Any problem is one message in `eb`, which
 * the caller prints as one line and exits with 2. Pure: no I/O, no clock. */
#ifndef TG_BENCH_ARGS_INT_H
#define TG_BENCH_ARGS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/expr_int.h"
#include "bench/stages_int.h"
#include "core/err.h"

#define TG_BENCH_URLS_MAX 64
#define TG_BENCH_GLOBAL_HEADERS_MAX 32
#define TG_BENCH_THRESHOLDS_MAX 32
#define TG_BENCH_THREADS_MAX 256
#define TG_BENCH_CONNS_MAX 1000000
#define TG_BENCH_RATE_MAX 1e8

#define TG_BENCH_DEFAULT_CONNS 10
#define TG_BENCH_DEFAULT_OPEN_CONNS 1000 /* open-model connection cap when -c is not given */
#define TG_BENCH_DEFAULT_DURATION_US (INT64_C(10) * 1000000)
#define TG_BENCH_DEFAULT_TIMEOUT_US (INT64_C(10) * 1000000)
#define TG_BENCH_DEFAULT_MAX_DURATION_US (INT64_C(3600) * 1000000)
#define TG_BENCH_HARD_MAX_DURATION_US (INT64_C(24) * 3600 * 1000000)
#define TG_BENCH_DEFAULT_STEP_US (INT64_C(10) * 1000000)

enum tg_bench_model { TG_BENCH_CLOSED = 0, TG_BENCH_OPEN };

struct tg_bench_opts {
    const char *urls[TG_BENCH_URLS_MAX];
    uint32_t nurls;
    const char *method; /* NULL: GET, or POST when a body is given */
    const char *headers[TG_BENCH_GLOBAL_HEADERS_MAX];
    uint32_t nheaders;
    const char *body;
    const char *body_file;
    const char *scenario;

    enum tg_bench_model model;
    uint32_t threads; /* 0: default, decided with the machine's CPU count */
    uint32_t conns;   /* closed: connections; open: connection cap */
    bool conns_set;
    uint64_t requests;   /* 0: no count limit */
    int64_t duration_us; /* 0: none given */
    double rate;         /* open model: constant rate, or the start of --stages */
    bool stages_set;
    struct tg_bench_profile stages;
    bool keepalive;
    int64_t timeout_us;
    int64_t max_duration_us;

    bool find_capacity;
    struct tg_bench_cond slo[TG_BENCH_THRESHOLDS_MAX];
    size_t nslo;
    int64_t step_us;
    double start_rate;
    double max_rate;
    double precision; /* relative */
    uint32_t max_steps;

    struct tg_bench_cond thresholds[TG_BENCH_THRESHOLDS_MAX];
    size_t nthresholds;
    bool json;
    bool quiet; /* no live progress line even on a terminal */
};

/* Parses argv[1..argc) (argv[0] is "bench"). Returns 0, 1 when help was asked for, or
 * TG_EPARSE with `eb` holding the one-line message. */
int tg_bench__parse_args(int argc, char **argv, struct tg_bench_opts *o, struct tg_errbuf *eb);

/* Prints the usage text. */
void tg_bench__usage(FILE *f);

#endif
