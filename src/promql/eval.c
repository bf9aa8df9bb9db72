/* SPDX-License-Identifier: MIT */
/* The evaluator's core: the instant and range entry points, the step loop, dispatch on
 * node kinds, selectors (lookback, staleness, offset, @), subqueries, unary minus, and
 * the sample limit. Functions, aggregations and operators are in eval_call.c,
 * eval_agg.c and eval_binop.c.
 *
 * A range query evaluates the tree at each step, which gives the same answers as
 * Prometheus's node-at-a-time range evaluation: subquery steps are aligned to absolute
 * multiples of their step, so each outer step sees the same inner points. */
#include "promql/eval.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "promql/eval_int.h"

#define DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define DEFAULT_SUBQUERY_STEP_MS (60 * 1000)
#define DEFAULT_MAX_SAMPLES 50000000u

const struct tg_promql_node *tg_promql__unparen(const struct tg_promql_node *n)
{
    while (n && n->kind == TG_PROMQL_PAREN)
        n = n->u.paren;
    return n;
}

int tg_promql__hold(struct tg_promql__ev *ev, uint64_t n)
{
    ev->samples += n;
    if (ev->samples > ev->max_samples)
        return tg_errbuf_set(ev->eb, TG_ELIMIT,
                             "query processing would load too many samples into memory in "
                             "query execution");
    return 0;
}

int tg_promql__check_dups(struct tg_promql__ev *ev, const struct tg_promql_vector *v)
{
    if (v->n < 2)
        return 0;
    struct tg_promql_map m = {0};
    for (size_t i = 0; i < v->n; i++) {
        size_t len = tg_promql_labels_key(&v->v[i].labels, &ev->sig, &ev->sigcap);
        if (tg_promql_map_get(ev->sa, &m, ev->sig, len, (long)i) >= 0)
            return tg_errbuf_set(ev->eb, TG_EEXEC,
                                 "vector cannot contain metrics with the same labelset");
    }
    return 0;
}

/* The time a selector or subquery reads at: its @ time (or the query's start/end), else
 * the evaluation time; minus its offset. */
static int64_t ref_time(const struct tg_promql__ev *ev, const struct tg_promql_at *at,
                        int64_t offset_ms, int64_t ts)
{
    switch (at->kind) {
    case TG_PROMQL_AT_TIME:
        ts = at->at_ms;
        break;
    case TG_PROMQL_AT_START:
        ts = ev->start;
        break;
    case TG_PROMQL_AT_END:
        ts = ev->end;
        break;
    default:
        break;
    }
    return ts - offset_ms;
}

/* The series of selector `vs` covering [mint, maxt]. A fetch is widened to the end of the
 * query so that later steps reuse it; earlier fetches stay alive, because values of the
 * current step may point into them. */
static int select_series(struct tg_promql__ev *ev, const struct tg_promql_node *vs,
                         int64_t mint, int64_t maxt, struct tg_promql__sel **out)
{
    for (size_t i = ev->nsels; i-- > 0;) {
        struct tg_promql__sel *s = &ev->sels[i];
        if (s->node == vs && s->mint <= mint && s->maxt >= maxt) {
            *out = s;
            return 0;
        }
    }
    if (ev->nsels == ev->capsels) {
        size_t ncap = ev->capsels ? ev->capsels * 2 : 8;
        struct tg_promql__sel *ns = realloc(ev->sels, ncap * sizeof *ns);
        if (!ns)
            return tg_errbuf_set(ev->eb, -ENOMEM, "out of memory");
        ev->sels = ns;
        ev->capsels = ncap;
    }
    int64_t wide_max = maxt;
    if (vs->u.vs.at.kind == TG_PROMQL_AT_NONE)
        wide_max = maxt + (ev->end - ev->start);
    struct tg_promql__sel *s = &ev->sels[ev->nsels];
    memset(s, 0, sizeof *s);
    s->node = vs;
    s->mint = mint;
    s->maxt = wide_max;
    int rc = ev->q->select(ev->q->ctx, vs->u.vs.matchers, vs->u.vs.nmatchers, mint, wide_max,
                           &s->set, ev->eb);
    if (rc == 0 && s->set.n && !(s->cur = malloc(s->set.n * sizeof *s->cur)))
        rc = tg_errbuf_set(ev->eb, -ENOMEM, "out of memory");
    if (rc < 0) {
        tg_series_set_free(&s->set);
        return rc;
    }
    for (size_t i = 0; i < s->set.n; i++)
        tg_promql__cursor_init(&s->cur[i], &s->set.series[i]);
    ev->nsels++;
    *out = s;
    return 0;
}

/* An instant selector: each series' newest sample in [ref - lookback, ref], unless it is a
 * stale marker. With `sample_time` the samples keep their own times (for timestamp()),
 * else they take `ts`. */
static int eval_vector_sel(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                           int64_t ts, bool sample_time, struct tg_promql_value *out)
{
    const struct tg_promql_vector_sel *vs = &n->u.vs;
    int64_t ref = ref_time(ev, &vs->at, vs->offset_ms, ts);
    struct tg_promql__sel *sel;
    int rc = select_series(ev, n, ref - ev->lookback_ms, ref, &sel);
    if (rc < 0)
        return rc;
    out->type = TG_PROMQL_VVECTOR;
    out->vec.stable = true;
    for (size_t i = 0; i < sel->set.n; i++) {
        const struct tg_series *se = &sel->set.series[i];
        size_t lo, hi;
        tg_promql__cursor_window(&sel->cur[i], se, ref - ev->lookback_ms, ref, &lo, &hi);
        if (hi == lo)
            continue; /* nothing in the lookback */
        const struct tg_sample *smp = &se->samples[hi - 1];
        if (tg_is_stale(smp->v))
            continue;
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        o->labels = se->labels;
        o->t = sample_time ? smp->t : ts;
        o->v = smp->v;
    }
    return tg_promql__hold(ev, out->vec.n);
}

/* Samples of series `i` of `sel` in [mint, maxt] without stale markers: a slice of the
 * store's array when the series has none, else a copy. */
static int window(struct tg_promql__ev *ev, struct tg_promql__sel *sel, size_t i, int64_t mint,
                  int64_t maxt, struct tg_promql_series *out)
{
    const struct tg_series *se = &sel->set.series[i];
    struct tg_promql__cursor *c = &sel->cur[i];
    size_t lo, hi;
    tg_promql__cursor_window(c, se, mint, maxt, &lo, &hi);
    out->labels = se->labels;
    if (!c->stale) {
        out->s = (struct tg_sample *)&se->samples[lo];
        out->n = out->cap = hi - lo;
        out->no_drop = tg_promql__cursor_no_drop(c, lo, hi);
    } else {
        for (size_t j = lo; j < hi; j++)
            if (!tg_is_stale(se->samples[j].v))
                tg_promql_series_push(ev->sa, out, se->samples[j].t, se->samples[j].v);
    }
    return tg_promql__hold(ev, out->n);
}

static int eval_subquery(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                         struct tg_promql_matrix *out, int64_t *mint, int64_t *maxt);

int tg_promql__eval_range_arg(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                              int64_t ts, struct tg_promql_matrix *out, int64_t *mint,
                              int64_t *maxt, int64_t *range_ms)
{
    n = tg_promql__unparen(n);
    memset(out, 0, sizeof *out);
    if (n->kind == TG_PROMQL_SUBQUERY) {
        *range_ms = n->u.sq.range_ms;
        return eval_subquery(ev, n, ts, out, mint, maxt);
    }
    if (n->kind != TG_PROMQL_MATRIX_SEL)
        return tg_errbuf_set(ev->eb, TG_EEXEC, "expected a range vector");
    const struct tg_promql_node *vsn = n->u.ms.vs;
    const struct tg_promql_vector_sel *vs = &vsn->u.vs;
    *range_ms = n->u.ms.range_ms;
    *maxt = ref_time(ev, &vs->at, vs->offset_ms, ts);
    *mint = *maxt - n->u.ms.range_ms;
    struct tg_promql__sel *sel;
    int rc = select_series(ev, vsn, *mint, *maxt, &sel);
    if (rc < 0)
        return rc;
    out->stable = true;
    for (size_t i = 0; i < sel->set.n; i++) {
        struct tg_promql_series s = {0};
        rc = window(ev, sel, i, *mint, *maxt, &s);
        if (rc < 0)
            return rc;
        if (s.n)
            *tg_promql_mat_push(ev->sa, out) = s;
    }
    return 0;
}

/* A subquery at `ts`: the inner expression at each multiple of the step in
 * [ref - range, ref], gathered into series. */
static int eval_subquery(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                         struct tg_promql_matrix *out, int64_t *mint, int64_t *maxt)
{
    const struct tg_promql_subquery *sq = &n->u.sq;
    int64_t step = sq->step_ms ? sq->step_ms : ev->subquery_step_ms;
    int64_t end = ref_time(ev, &sq->at, sq->offset_ms, ts);
    int64_t from = end - sq->range_ms;
    /* Prometheus's alignment, with Go's truncating division (also for negative times). */
    int64_t start = step * (from / step);
    if (start < from)
        start += step;
    *mint = from;
    *maxt = end;
    struct tg_promql_map idx = {0};
    for (int64_t t = start; t <= end; t += step) {
        struct tg_promql_value v = {0};
        int rc = tg_promql__eval(ev, sq->expr, t, &v);
        if (rc < 0)
            return rc;
        if (v.type == TG_PROMQL_VSCALAR) {
            v.type = TG_PROMQL_VVECTOR;
            struct tg_promql_sample *s = tg_promql_vec_push(ev->sa, &v.vec);
            s->v = v.scalar;
        }
        for (size_t i = 0; i < v.vec.n; i++) {
            size_t len = tg_promql_labels_key(&v.vec.v[i].labels, &ev->sig, &ev->sigcap);
            long k = tg_promql_map_get(ev->sa, &idx, ev->sig, len, (long)out->n);
            struct tg_promql_series *se;
            if (k < 0) {
                se = tg_promql_mat_push(ev->sa, out);
                se->labels = v.vec.v[i].labels;
            } else {
                se = &out->v[k];
            }
            tg_promql_series_push(ev->sa, se, t, v.vec.v[i].v);
        }
    }
    return 0;
}

static int eval_unary(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                      struct tg_promql_value *out)
{
    int rc = tg_promql__eval(ev, n->u.unary.expr, ts, out);
    if (rc < 0 || n->u.unary.op != TG_PROMQL_OP_SUB)
        return rc;
    if (out->type == TG_PROMQL_VSCALAR) {
        out->scalar = -out->scalar;
        return 0;
    }
    out->vec.stable = false; /* the new label sets live in the step arena */
    for (size_t i = 0; i < out->vec.n; i++) {
        out->vec.v[i].labels = tg_promql_drop_name(ev->sa, &out->vec.v[i].labels);
        out->vec.v[i].v = -out->vec.v[i].v;
    }
    return tg_promql__check_dups(ev, &out->vec);
}

/* -ETIMEDOUT once the deadline has passed. */
static int check_deadline(struct tg_promql__ev *ev)
{
    if (ev->deadline_us && tg_clock_mono_us() >= ev->deadline_us)
        return tg_errbuf_set(ev->eb, -ETIMEDOUT, TG_PROMQL_TIMEOUT_MSG);
    return 0;
}

int tg_promql__eval(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                    struct tg_promql_value *out)
{
    memset(out, 0, sizeof *out);
    out->t = ts;
    int rc = check_deadline(ev);
    if (rc < 0)
        return rc;
    switch (n->kind) {
    case TG_PROMQL_NUMBER:
        out->type = TG_PROMQL_VSCALAR;
        out->scalar = n->u.number;
        return 0;
    case TG_PROMQL_STRING:
        out->type = TG_PROMQL_VSTRING;
        out->str = n->u.string.s;
        return 0;
    case TG_PROMQL_PAREN:
        return tg_promql__eval(ev, n->u.paren, ts, out);
    case TG_PROMQL_VECTOR_SEL:
        return eval_vector_sel(ev, n, ts, false, out);
    case TG_PROMQL_MATRIX_SEL:
    case TG_PROMQL_SUBQUERY: {
        int64_t mint, maxt, range;
        out->type = TG_PROMQL_VMATRIX;
        return tg_promql__eval_range_arg(ev, n, ts, &out->mat, &mint, &maxt, &range);
    }
    case TG_PROMQL_UNARY:
        return eval_unary(ev, n, ts, out);
    case TG_PROMQL_BINARY:
        return tg_promql__eval_binary(ev, n, ts, out);
    case TG_PROMQL_AGGREGATE:
        return tg_promql__eval_agg(ev, n, ts, out);
    case TG_PROMQL_CALL:
        return tg_promql__eval_call(ev, n, ts, out);
    }
    return tg_errbuf_set(ev->eb, TG_EEXEC, "unhandled expression");
}

int tg_promql__eval_vector_sel_times(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                                     int64_t ts, struct tg_promql_value *out)
{
    memset(out, 0, sizeof *out);
    return eval_vector_sel(ev, n, ts, true, out);
}

static void ev_init(struct tg_promql__ev *ev, const struct tg_queryable *q,
                    const struct tg_promql_opts *o, struct tg_errbuf *eb)
{
    memset(ev, 0, sizeof *ev);
    ev->q = q;
    ev->eb = eb;
    ev->lookback_ms = o && o->lookback_ms ? o->lookback_ms : DEFAULT_LOOKBACK_MS;
    ev->subquery_step_ms =
        o && o->subquery_step_ms ? o->subquery_step_ms : DEFAULT_SUBQUERY_STEP_MS;
    ev->max_samples = o && o->max_samples ? o->max_samples : DEFAULT_MAX_SAMPLES;
    ev->deadline_us = o ? o->deadline_us : 0;
}

static void ev_deinit(struct tg_promql__ev *ev)
{
    for (size_t i = 0; i < ev->nsels; i++) {
        tg_series_set_free(&ev->sels[i].set);
        free(ev->sels[i].cur);
    }
    free(ev->sels);
    free(ev->sig);
    tg_promql_lb_deinit(&ev->lb);
}

int tg_promql_eval_instant(const struct tg_queryable *q, const struct tg_promql_node *expr,
                           int64_t t_ms, const struct tg_promql_opts *opts,
                           struct tg_promql_result *res, struct tg_errbuf *eb)
{
    struct tg_promql__ev ev;
    ev_init(&ev, q, opts, eb);
    ev.start = ev.end = t_ms;
    ev.qa = ev.sa = &res->arena;
    int rc = tg_promql__eval(&ev, expr, t_ms, &res->value);
    if (rc == 0) {
        /* The result must outlive the fetched series it may point into. */
        struct tg_promql_value *v = &res->value;
        for (size_t i = 0; i < v->vec.n; i++)
            v->vec.v[i].labels = tg_promql_labels_copy(ev.qa, &v->vec.v[i].labels);
        for (size_t i = 0; i < v->mat.n; i++) {
            struct tg_promql_series *s = &v->mat.v[i];
            s->labels = tg_promql_labels_copy(ev.qa, &s->labels);
            struct tg_sample *c = tg_promql_alloc(ev.qa, (s->n ? s->n : 1) * sizeof *c);
            if (s->n)
                memcpy(c, s->s, s->n * sizeof *c);
            s->s = c;
            s->cap = s->n;
        }
        if (v->str)
            v->str = tg_promql_strdup(ev.qa, v->str);
    }
    ev_deinit(&ev);
    return rc;
}

static int cmp_series(const void *a, const void *b)
{
    return tg_labels_cmp(&((const struct tg_promql_series *)a)->labels,
                         &((const struct tg_promql_series *)b)->labels);
}

/* Appends one step's value to the range result, copying label sets into the query arena
 * the first time a series appears. */
static void collect_step(struct tg_promql__ev *ev, const struct tg_promql_value *v, int64_t ts,
                         struct tg_promql_map *idx, struct tg_promql_matrix *out)
{
    static const struct tg_labels none = {0};
    size_t n = v->type == TG_PROMQL_VSCALAR ? 1 : v->vec.n;
    for (size_t i = 0; i < n; i++) {
        const struct tg_labels *ls = v->type == TG_PROMQL_VSCALAR ? &none : &v->vec.v[i].labels;
        double val = v->type == TG_PROMQL_VSCALAR ? v->scalar : v->vec.v[i].v;
        size_t len = tg_promql_labels_key(ls, &ev->sig, &ev->sigcap);
        long k = tg_promql_map_get(ev->qa, idx, ev->sig, len, (long)out->n);
        struct tg_promql_series *se;
        if (k < 0) {
            se = tg_promql_mat_push(ev->qa, out);
            se->labels = tg_promql_labels_copy(ev->qa, ls);
        } else {
            se = &out->v[k];
        }
        tg_promql_series_push(ev->qa, se, ts, val);
    }
}

int tg_promql_eval_range(const struct tg_queryable *q, const struct tg_promql_node *expr,
                         int64_t start_ms, int64_t end_ms, int64_t step_ms,
                         const struct tg_promql_opts *opts, struct tg_promql_result *res,
                         struct tg_errbuf *eb)
{
    if (expr->type != TG_PROMQL_TYPE_SCALAR && expr->type != TG_PROMQL_TYPE_VECTOR)
        return tg_errbuf_set(eb, TG_EPARSE,
                             "invalid expression type \"%s\" for range query, must be Scalar "
                             "or instant Vector",
                             tg_promql_type_name(expr->type));
    if (step_ms <= 0 || end_ms < start_ms)
        return tg_errbuf_set(eb, TG_EPARSE, "invalid range: start %" PRId64 ", end %" PRId64
                             ", step %" PRId64, start_ms, end_ms, step_ms);
    /* Prometheus's HTTP API counts intervals, not points: 11,001 points pass. */
    if ((end_ms - start_ms) / step_ms > TG_PROMQL_MAX_POINTS)
        return tg_errbuf_set(eb, TG_ELIMIT,
                             "exceeded maximum resolution of 11,000 points per timeseries. "
                             "Try decreasing the query resolution (?step=XX)");
    struct tg_promql__ev ev;
    ev_init(&ev, q, opts, eb);
    ev.start = start_ms;
    ev.end = end_ms;
    ev.memo_steps = end_ms - start_ms >= step_ms;
    struct tg_promql_arena step = {0};
    ev.qa = &res->arena;
    ev.sa = &step;
    struct tg_promql_map idx = {0};
    res->value.type = TG_PROMQL_VMATRIX;
    int rc = 0;
    for (int64_t ts = start_ms; ts <= end_ms; ts += step_ms) {
        tg_promql_arena_reset(&step);
        ev.samples = 0;
        struct tg_promql_value v;
        rc = tg_promql__eval(&ev, expr, ts, &v);
        if (rc < 0)
            break;
        collect_step(&ev, &v, ts, &idx, &res->value.mat);
    }
    if (rc == 0 && res->value.mat.n > 1)
        qsort(res->value.mat.v, res->value.mat.n, sizeof *res->value.mat.v, cmp_series);
    tg_promql_arena_deinit(&step);
    ev_deinit(&ev);
    return rc;
}

void tg_promql_result_free(struct tg_promql_result *res)
{
    if (!res)
        return;
    tg_promql_arena_deinit(&res->arena);
    memset(&res->value, 0, sizeof res->value);
}
