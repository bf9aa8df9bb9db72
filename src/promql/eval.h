/* SPDX-License-Identifier: MIT */
/* The PromQL evaluator: runs a parsed expression (ast.h) against a queryable store
 * (tsdb/query.h) at one time (an instant query) or at each step of a range, with
 * Prometheus 2.42's semantics: the 5 m lookback and stale markers for instant selectors,
 * closed windows [t - range, t] for range selectors, offset and @, subqueries, and its
 * error messages. Used by the HTTP API, the rule engine and the conformance runner on the
 * control thread; one evaluation uses one thread and no global state.
 *
 * Cost: each step evaluates the whole tree; a selector's series are fetched from the store
 * once per query, a cursor per series moves its window forward with the steps, and what
 * an aggregation, histogram_quantile or a range function works out from a series' labels
 * is worked out once per range query. Memory is bounded by max_samples
 * (samples held at once by one step) and the range query's point limit. */
#ifndef TG_PROMQL_EVAL_H
#define TG_PROMQL_EVAL_H

#include <stdint.h>

#include "core/err.h"
#include "promql/ast.h"
#include "promql/value.h"
#include "tsdb/query.h"

/* Prometheus's limit on points per series in a range query's result. */
#define TG_PROMQL_MAX_POINTS 11000

struct tg_promql_opts {
    int64_t lookback_ms;       /* 0: 5 minutes */
    int64_t subquery_step_ms;  /* a subquery without a step uses this; 0: 1 minute */
    uint64_t max_samples;      /* 0: 50,000,000, Prometheus's default */
    /* When the evaluation must give up, on tg_clock_mono_us's clock; 0: never. Checked at
     * each node and each step (a clock read each, tens of ns against the microseconds a
     * node costs), so one node over very many series can overrun it by its own cost. */
    int64_t deadline_us;
};

/* The message of an evaluation stopped by its deadline (-ETIMEDOUT), as Prometheus
 * words it. */
#define TG_PROMQL_TIMEOUT_MSG "query timed out in expression evaluation"


/* A result and the memory it lives in. `value` is a scalar, string, vector (instant
 * query) or matrix (range query, or a range selector in an instant query); a range
 * query's matrix is sorted by label set, each series' points ascending. */
struct tg_promql_result {
    struct tg_promql_value value;
    struct tg_promql_arena arena;
};

/* Evaluates `expr` at `t_ms`. On error returns a negative code and fills `eb`: TG_EEXEC
 * for an execution error (Prometheus's "execution" type, HTTP 422), TG_ELIMIT when the
 * sample limit is hit, -ETIMEDOUT past opts->deadline_us, or the queryable's error.
 * `res` must be zeroed; free it with tg_promql_result_free whatever the outcome. */
int tg_promql_eval_instant(const struct tg_queryable *q, const struct tg_promql_node *expr,
                           int64_t t_ms, const struct tg_promql_opts *opts,
                           struct tg_promql_result *res, struct tg_errbuf *eb);

/* Evaluates `expr` (a scalar or instant vector expression) at start, start + step, ...
 * up to end, into a matrix. TG_ELIMIT when (end - start) / step exceeds
 * TG_PROMQL_MAX_POINTS (as Prometheus's API counts it), with Prometheus's message;
 * TG_EPARSE for a wrong expression type. */
int tg_promql_eval_range(const struct tg_queryable *q, const struct tg_promql_node *expr,
                         int64_t start_ms, int64_t end_ms, int64_t step_ms,
                         const struct tg_promql_opts *opts, struct tg_promql_result *res,
                         struct tg_errbuf *eb);

void tg_promql_result_free(struct tg_promql_result *res);

#endif
