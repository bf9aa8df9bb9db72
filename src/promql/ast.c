/* SPDX-License-Identifier: MIT */
/* The syntax tree's tables and destructor: type, operator and aggregation names as
 * Prometheus 2.42 spells them in messages and printed expressions, and the function
 * table (the signatures of every 2.42 function; the evaluator supplies the bodies). */
#include "promql/ast.h"

#include <stdlib.h>
#include <string.h>

const char *tg_promql_type_name(enum tg_promql_type t)
{
    switch (t) {
    case TG_PROMQL_TYPE_SCALAR:
        return "scalar";
    case TG_PROMQL_TYPE_VECTOR:
        return "instant vector";
    case TG_PROMQL_TYPE_MATRIX:
        return "range vector";
    case TG_PROMQL_TYPE_STRING:
        return "string";
    default:
        return "none";
    }
}

static const char *const op_names[] = {
    [TG_PROMQL_OP_ADD] = "+",         [TG_PROMQL_OP_SUB] = "-",   [TG_PROMQL_OP_MUL] = "*",
    [TG_PROMQL_OP_DIV] = "/",         [TG_PROMQL_OP_MOD] = "%",   [TG_PROMQL_OP_POW] = "^",
    [TG_PROMQL_OP_ATAN2] = "atan2",   [TG_PROMQL_OP_EQL] = "==",  [TG_PROMQL_OP_NEQ] = "!=",
    [TG_PROMQL_OP_GTR] = ">",         [TG_PROMQL_OP_LSS] = "<",   [TG_PROMQL_OP_GTE] = ">=",
    [TG_PROMQL_OP_LTE] = "<=",        [TG_PROMQL_OP_AND] = "and", [TG_PROMQL_OP_OR] = "or",
    [TG_PROMQL_OP_UNLESS] = "unless",
};

const char *tg_promql_op_str(enum tg_promql_op op)
{
    return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

bool tg_promql_op_is_comparison(enum tg_promql_op op)
{
    return op >= TG_PROMQL_OP_EQL && op <= TG_PROMQL_OP_LTE;
}

bool tg_promql_op_is_set(enum tg_promql_op op)
{
    return op >= TG_PROMQL_OP_AND && op <= TG_PROMQL_OP_UNLESS;
}

static const char *const agg_names[] = {
    [TG_PROMQL_AGG_SUM] = "sum",
    [TG_PROMQL_AGG_AVG] = "avg",
    [TG_PROMQL_AGG_COUNT] = "count",
    [TG_PROMQL_AGG_MIN] = "min",
    [TG_PROMQL_AGG_MAX] = "max",
    [TG_PROMQL_AGG_GROUP] = "group",
    [TG_PROMQL_AGG_STDDEV] = "stddev",
    [TG_PROMQL_AGG_STDVAR] = "stdvar",
    [TG_PROMQL_AGG_TOPK] = "topk",
    [TG_PROMQL_AGG_BOTTOMK] = "bottomk",
    [TG_PROMQL_AGG_COUNT_VALUES] = "count_values",
    [TG_PROMQL_AGG_QUANTILE] = "quantile",
};

const char *tg_promql_agg_str(enum tg_promql_agg op)
{
    return (unsigned)op < sizeof agg_names / sizeof agg_names[0] ? agg_names[op] : "?";
}

bool tg_promql_agg_has_param(enum tg_promql_agg op)
{
    return op == TG_PROMQL_AGG_TOPK || op == TG_PROMQL_AGG_BOTTOMK ||
           op == TG_PROMQL_AGG_COUNT_VALUES || op == TG_PROMQL_AGG_QUANTILE;
}

#define V TG_PROMQL_TYPE_VECTOR
#define M TG_PROMQL_TYPE_MATRIX
#define S TG_PROMQL_TYPE_SCALAR
#define STR TG_PROMQL_TYPE_STRING
#define F(n, id, ret, nargs, variadic, ...)                                                        \
    {                                                                                              \
#n, TG_PROMQL_FN_##id, __VA_ARGS__, nargs, variadic, ret                                   \
    }

/* In the order of Prometheus's own table (nearly alphabetical), indexed by id. */
static const struct tg_promql_func funcs[TG_PROMQL_FN_COUNT_] = {
    F(abs, ABS, V, 1, 0, {V}),
    F(absent, ABSENT, V, 1, 0, {V}),
    F(absent_over_time, ABSENT_OVER_TIME, V, 1, 0, {M}),
    F(acos, ACOS, V, 1, 0, {V}),
    F(acosh, ACOSH, V, 1, 0, {V}),
    F(asin, ASIN, V, 1, 0, {V}),
    F(asinh, ASINH, V, 1, 0, {V}),
    F(atan, ATAN, V, 1, 0, {V}),
    F(atanh, ATANH, V, 1, 0, {V}),
    F(avg_over_time, AVG_OVER_TIME, V, 1, 0, {M}),
    F(ceil, CEIL, V, 1, 0, {V}),
    F(changes, CHANGES, V, 1, 0, {M}),
    F(clamp, CLAMP, V, 3, 0, {V, S, S}),
    F(clamp_max, CLAMP_MAX, V, 2, 0, {V, S}),
    F(clamp_min, CLAMP_MIN, V, 2, 0, {V, S}),
    F(cos, COS, V, 1, 0, {V}),
    F(cosh, COSH, V, 1, 0, {V}),
    F(count_over_time, COUNT_OVER_TIME, V, 1, 0, {M}),
    F(days_in_month, DAYS_IN_MONTH, V, 1, 1, {V}),
    F(day_of_month, DAY_OF_MONTH, V, 1, 1, {V}),
    F(day_of_week, DAY_OF_WEEK, V, 1, 1, {V}),
    F(day_of_year, DAY_OF_YEAR, V, 1, 1, {V}),
    F(deg, DEG, V, 1, 0, {V}),
    F(delta, DELTA, V, 1, 0, {M}),
    F(deriv, DERIV, V, 1, 0, {M}),
    F(exp, EXP, V, 1, 0, {V}),
    F(floor, FLOOR, V, 1, 0, {V}),
    F(histogram_count, HISTOGRAM_COUNT, V, 1, 0, {V}),
    F(histogram_sum, HISTOGRAM_SUM, V, 1, 0, {V}),
    F(histogram_fraction, HISTOGRAM_FRACTION, V, 3, 0, {S, S, V}),
    F(histogram_quantile, HISTOGRAM_QUANTILE, V, 2, 0, {S, V}),
    F(holt_winters, HOLT_WINTERS, V, 3, 0, {M, S, S}),
    F(hour, HOUR, V, 1, 1, {V}),
    F(idelta, IDELTA, V, 1, 0, {M}),
    F(increase, INCREASE, V, 1, 0, {M}),
    F(irate, IRATE, V, 1, 0, {M}),
    F(label_replace, LABEL_REPLACE, V, 5, 0, {V, STR, STR, STR, STR}),
    F(label_join, LABEL_JOIN, V, 4, -1, {V, STR, STR, STR}),
    F(last_over_time, LAST_OVER_TIME, V, 1, 0, {M}),
    F(ln, LN, V, 1, 0, {V}),
    F(log10, LOG10, V, 1, 0, {V}),
    F(log2, LOG2, V, 1, 0, {V}),
    F(max_over_time, MAX_OVER_TIME, V, 1, 0, {M}),
    F(min_over_time, MIN_OVER_TIME, V, 1, 0, {M}),
    F(minute, MINUTE, V, 1, 1, {V}),
    F(month, MONTH, V, 1, 1, {V}),
    F(pi, PI, S, 0, 0, {TG_PROMQL_TYPE_NONE}),
    F(predict_linear, PREDICT_LINEAR, V, 2, 0, {M, S}),
    F(present_over_time, PRESENT_OVER_TIME, V, 1, 0, {M}),
    F(quantile_over_time, QUANTILE_OVER_TIME, V, 2, 0, {S, M}),
    F(rad, RAD, V, 1, 0, {V}),
    F(rate, RATE, V, 1, 0, {M}),
    F(resets, RESETS, V, 1, 0, {M}),
    F(round, ROUND, V, 2, 1, {V, S}),
    F(scalar, SCALAR, S, 1, 0, {V}),
    F(sgn, SGN, V, 1, 0, {V}),
    F(sin, SIN, V, 1, 0, {V}),
    F(sinh, SINH, V, 1, 0, {V}),
    F(sort, SORT, V, 1, 0, {V}),
    F(sort_desc, SORT_DESC, V, 1, 0, {V}),
    F(sqrt, SQRT, V, 1, 0, {V}),
    F(stddev_over_time, STDDEV_OVER_TIME, V, 1, 0, {M}),
    F(stdvar_over_time, STDVAR_OVER_TIME, V, 1, 0, {M}),
    F(sum_over_time, SUM_OVER_TIME, V, 1, 0, {M}),
    F(tan, TAN, V, 1, 0, {V}),
    F(tanh, TANH, V, 1, 0, {V}),
    F(time, TIME, S, 0, 0, {TG_PROMQL_TYPE_NONE}),
    F(timestamp, TIMESTAMP, V, 1, 0, {V}),
    F(vector, VECTOR, V, 1, 0, {S}),
    F(year, YEAR, V, 1, 1, {V}),
};

#undef F
#undef V
#undef M
#undef S
#undef STR

const struct tg_promql_func *tg_promql_func_get(enum tg_promql_func_id id)
{
    return (unsigned)id < TG_PROMQL_FN_COUNT_ ? &funcs[id] : NULL;
}

/* A linear scan: 70 names, called once per call node at parse time. */
const struct tg_promql_func *tg_promql_func_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < TG_PROMQL_FN_COUNT_; i++) {
        if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    }
    return NULL;
}

static void strlist_free(struct tg_promql_strlist *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void tg_promql_node_free(struct tg_promql_node *n)
{
    if (!n)
        return;
    switch (n->kind) {
    case TG_PROMQL_NUMBER:
        break;
    case TG_PROMQL_STRING:
        free(n->u.string.s);
        break;
    case TG_PROMQL_VECTOR_SEL:
        free(n->u.vs.name);
        for (uint32_t i = 0; i < n->u.vs.nmatchers; i++)
            tg_matcher_free(&n->u.vs.matchers[i]);
        free(n->u.vs.matchers);
        break;
    case TG_PROMQL_MATRIX_SEL:
        tg_promql_node_free(n->u.ms.vs);
        break;
    case TG_PROMQL_SUBQUERY:
        tg_promql_node_free(n->u.sq.expr);
        break;
    case TG_PROMQL_UNARY:
        tg_promql_node_free(n->u.unary.expr);
        break;
    case TG_PROMQL_BINARY:
        tg_promql_node_free(n->u.bin.lhs);
        tg_promql_node_free(n->u.bin.rhs);
        strlist_free(&n->u.bin.vm.labels);
        strlist_free(&n->u.bin.vm.include);
        break;
    case TG_PROMQL_AGGREGATE:
        tg_promql_node_free(n->u.agg.expr);
        tg_promql_node_free(n->u.agg.param);
        strlist_free(&n->u.agg.grouping);
        break;
    case TG_PROMQL_CALL:
        for (uint32_t i = 0; i < n->u.call.nargs; i++)
            tg_promql_node_free(n->u.call.args[i]);
        free(n->u.call.args);
        break;
    case TG_PROMQL_PAREN:
        tg_promql_node_free(n->u.paren);
        break;
    }
    free(n);
}
