/* SPDX-License-Identifier: MIT */
/* Runs the capacity search: one open-model run per step at the rate capacity.c picks,
 * each judged against the SLO over the whole step. A step that can no longer pass (more
 * slow requests or errors than the SLO allows for the step's planned request count) is
 * drained early, which also keeps an overloaded server's backlog short before the next
 * step. Streams the step table to `text` when it is not NULL. */
#ifndef TG_BENCH_SEARCH_INT_H
#define TG_BENCH_SEARCH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/args_int.h"
#include "bench/capacity_int.h"
#include "bench/run_int.h"
#include "bench/stats_int.h"

struct tg_bench_search_out {
    struct tg_bench_search search;
    struct tg_bench_capacity cap;
    struct tg_bench_stats *shown; /* caller-allocated: totals of the answer's step (or the
                                   * last step when none passed) */
    int64_t shown_elapsed_us;
    bool interrupted;
};

/* `base` supplies everything but the load; `url` heads the table. Returns 0, or a negative
 * error with `eb` filled. */
int tg_bench__find_capacity(const struct tg_bench_opts *o, const struct tg_bench_run_cfg *base,
                            FILE *text, const char *url, struct tg_bench_search_out *out,
                            struct tg_errbuf *eb);

#endif
