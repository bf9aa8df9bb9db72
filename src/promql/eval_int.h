/* SPDX-License-Identifier: MIT */
/* The evaluator's internals, shared by eval.c (nodes, selectors, subqueries, the step
 * loop), eval_call.c (functions), eval_agg.c (aggregations) and eval_binop.c (operators).
 * An evaluation walks the tree once per step: every value it makes lives in the step
 * arena `sa`, reset between the steps of a range query; what must outlast a step (the
 * selected series, the result) lives in the query arena `qa`. What does not change between
 * steps is worked out once per query: each selected series has a cursor (eval_cursor.c),
 * and the nodes that group or relabel their inputs keep memos (eval_memo.c). */
#ifndef TG_PROMQL_EVAL_INT_H
#define TG_PROMQL_EVAL_INT_H

#include "promql/eval.h"

/* Where a series' last window was, and what its windows may skip (eval_cursor.c). */
struct tg_promql__cursor {
    uint32_t lo, hi;     /* the first sample at or after lo_t, hi_t */
    int64_t lo_t, hi_t;
    uint32_t first_drop; /* the first and last index whose value is below the previous */
    uint32_t last_drop;  /* one's; UINT32_MAX and 0 when there is none */
    bool stale;          /* the series holds a stale marker */
};

/* Sets `c` for a series just fetched: one pass over its samples. */
void tg_promql__cursor_init(struct tg_promql__cursor *c, const struct tg_series *se);
/* The samples of `se` in [mint, maxt] are [*lo, *hi). O(1) when the window moved forward
 * by a few samples since the last call, a binary search otherwise. */
void tg_promql__cursor_window(struct tg_promql__cursor *c, const struct tg_series *se,
                              int64_t mint, int64_t maxt, size_t *lo, size_t *hi);
/* Whether no value in [lo, hi) is below its predecessor (false: there may be one). */
bool tg_promql__cursor_no_drop(const struct tg_promql__cursor *c, size_t lo, size_t hi);

/* A selector's series, fetched once per query over the widest window it needs, with a
 * cursor per series. */
struct tg_promql__sel {
    const struct tg_promql_node *node; /* the TG_PROMQL_VECTOR_SEL node */
    int64_t mint, maxt;
    struct tg_series_set set;
    struct tg_promql__cursor *cur; /* set.n of them, malloc'd */
};

/* A node's memo of what it works out from its inputs' label sets (eval_memo.c). */
struct tg_promql__memo_in {
    long gid;                /* the input's group id; -1: none (not yet, or never) */
    double le;               /* histogram_quantile: the le bound */
};

struct tg_promql__memo_group {
    struct tg_labels labels; /* the group's output labels, in the query arena */
    uint64_t call;           /* the call that last met the group, and its index there */
    size_t slot;
};

struct tg_promql__memo_pos {
    const void *v; /* the identity of the label set met at a position of the input */
    uint64_t n;
    size_t in;     /* and its entry */
};

struct tg_promql__memo {
    struct tg_promql__memo *next;
    const struct tg_promql_node *node;
    uint64_t call; /* evaluations of the node so far, the current one included */
    struct tg_promql_map ids, keys;
    struct tg_promql__memo_in *in;
    struct tg_promql__memo_group *groups;
    struct tg_promql__memo_pos *pos;
    size_t nin, capin, ngroups, capgroups, cappos;
};

struct tg_promql__ev {
    const struct tg_queryable *q;
    struct tg_errbuf *eb;
    int64_t start, end;     /* the query's range: @ start() / @ end() */
    int64_t lookback_ms, subquery_step_ms;
    uint64_t max_samples, samples; /* samples held by the current step */
    int64_t deadline_us;           /* 0: none */
    struct tg_promql_arena *qa, *sa;
    struct tg_promql__sel *sels;
    size_t nsels, capsels;
    struct tg_promql_lb lb;
    char *sig;
    size_t sigcap;
    struct tg_promql__memo *memos; /* in qa */
    bool memo_steps;               /* memos pay: a range query of more than one step */
};

/* The memo of `node` (made empty the first time) for one more evaluation of the node, its
 * call count bumped; NULL when memos do not pay. An instant query evaluates most nodes
 * once, and remembering what is used once costs more than the ordinary path. */
struct tg_promql__memo *tg_promql__memo_begin(struct tg_promql__ev *ev,
                                              const struct tg_promql_node *node);
/* The entry of input label set `ls`, at index `pos` of its input, which must be a stable
 * vector or matrix; `*fresh` when it was just made (gid -1, the rest zero: the caller
 * fills it). */
struct tg_promql__memo_in *tg_promql__memo_input(struct tg_promql__ev *ev,
                                                 struct tg_promql__memo *m,
                                                 const struct tg_labels *ls, size_t pos,
                                                 bool *fresh);
/* The id of the group whose signature is `key`; `*fresh` when it was just made (the
 * caller sets its labels). */
long tg_promql__memo_group(struct tg_promql__ev *ev, struct tg_promql__memo *m, const char *key,
                           size_t len, bool *fresh);
/* The index group `gid` has in the current call, or -1 when the call meets it for the
 * first time: it then takes index `next`. */
long tg_promql__memo_slot(struct tg_promql__memo *m, long gid, size_t next);

/* Evaluates `n` at `ts` into `out` (in ev->sa). */
int tg_promql__eval(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                    struct tg_promql_value *out);

/* The window of a range argument at `ts`: for a matrix selector or a subquery (after
 * parentheses), the series with their samples in [*mint, *maxt], and that window. */
int tg_promql__eval_range_arg(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                              int64_t ts, struct tg_promql_matrix *out, int64_t *mint,
                              int64_t *maxt, int64_t *range_ms);

/* An instant selector whose samples keep their own times (for timestamp()). */
int tg_promql__eval_vector_sel_times(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                                     int64_t ts, struct tg_promql_value *out);

/* Counts `n` more samples held by this step; TG_ELIMIT past the limit. */
int tg_promql__hold(struct tg_promql__ev *ev, uint64_t n);

/* TG_EEXEC with "vector cannot contain metrics with the same labelset" when two samples
 * of `v` share a label set. */
int tg_promql__check_dups(struct tg_promql__ev *ev, const struct tg_promql_vector *v);

int tg_promql__eval_call(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                         struct tg_promql_value *out);
int tg_promql__eval_agg(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                        struct tg_promql_value *out);
int tg_promql__eval_binary(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                           int64_t ts, struct tg_promql_value *out);

/* Strips parentheses. */
const struct tg_promql_node *tg_promql__unparen(const struct tg_promql_node *n);

#endif
