/* SPDX-License-Identifier: MIT */
/* The coordinator of one load run (a plain run, or one step of a capacity search): starts
 * the worker threads on a common schedule origin, every 100 ms flips their phasers and
 * merges what they recorded, once a second rolls the sliding windows, judges the windowed
 * and abort-on-fail thresholds, draws the progress line, and stops the run on a signal
 * (SIGINT/SIGTERM, blocked by the caller so sigtimedwait receives them here), an aborting
 * threshold, a capacity step that can no longer pass, or the hard duration cap. Runs on
 * the calling thread; returns when every worker has ended. */
#ifndef TG_BENCH_RUN_INT_H
#define TG_BENCH_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/args_int.h"
#include "bench/expr_int.h"
#include "bench/stats_int.h"
#include "bench/worker_int.h"
#include "core/err.h"

/* Decides, from the totals so far, that a capacity step has already failed. */
typedef bool tg_bench_cut_fn(const struct tg_bench_stats *total, void *arg);

struct tg_bench_run_cfg {
    struct tg_bench_plan plan;         /* start_us is set by tg_bench__run */
    const struct tg_bench_cond *conds; /* thresholds: windowed and abort ones judged live */
    size_t nconds;
    bool progress;        /* draw the live line (the caller checked for a terminal) */
    const char *label;    /* progress prefix, may be NULL */
    int64_t cap_us;       /* hard cap on the whole run, drain included */
    tg_bench_cut_fn *cut; /* may be NULL; drains the run once it returns true */
    void *cut_arg;
};

/* The verdict on one threshold. */
struct tg_bench_verdict {
    bool ok;
    double value; /* the measured value it was judged on (the worst window, if windowed) */
    bool judged;  /* false: a window that never had data */
};

struct tg_bench_run_result {
    struct tg_bench_stats *total; /* caller-allocated, initialised by tg_bench__run */
    int64_t elapsed_us;           /* schedule origin to the last finished request */
    bool interrupted;             /* a signal stopped it */
    bool aborted;                 /* an abort-on-fail threshold stopped it */
    bool capped;                  /* the hard cap stopped it */
    bool cut;                     /* the cut function drained it early */
    int signal;
    /* Windowed and abort thresholds, as judged during the run (index = cond index). */
    struct tg_bench_verdict live[TG_BENCH_THRESHOLDS_MAX];
};

/* Runs the load. Returns 0, or a negative error with `eb` filled (threads or memory). */
int tg_bench__run(const struct tg_bench_run_cfg *cfg, struct tg_bench_run_result *res,
                  struct tg_errbuf *eb);

/* Final verdicts: windowed thresholds from the run's live judgement, the others on the
 * whole run. Returns true when all hold. */
bool tg_bench__judge(const struct tg_bench_cond *conds, size_t n,
                     const struct tg_bench_run_result *res, struct tg_bench_verdict *out);

#endif
