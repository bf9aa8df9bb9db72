/* SPDX-License-Identifier: MIT */
/* The PromQL syntax tree, as the parser (parse.h) builds it and the evaluator walks it,
 * with the same node kinds, fields and typing rules as Prometheus 2.42's parser, so that
 * an expression means what it means there. Also the function table: every function 2.42
 * knows, with its argument and return types; the evaluator keys its implementations on
 * `enum tg_promql_func_id`.
 *
 * Ownership: a tree is one root node that owns its children, strings and matchers;
 * tg_promql_node_free releases all of it. Nothing in a tree points into the query text,
 * so the text may be freed after parsing. A tree is not modified after parsing except
 * by its owner; reading it from several threads at once is safe.
 *
 * Times and durations are int64 milliseconds, as in src/tsdb/query.h. Positions are byte
 * offsets into the query text, [start, end). */
#ifndef TG_PROMQL_AST_H
#define TG_PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/query.h"

/* What an expression evaluates to. NONE only for an invalid tree. */
enum tg_promql_type {
    TG_PROMQL_TYPE_NONE = 0,
    TG_PROMQL_TYPE_SCALAR,
    TG_PROMQL_TYPE_VECTOR, /* instant vector */
    TG_PROMQL_TYPE_MATRIX, /* range vector */
    TG_PROMQL_TYPE_STRING,
};

/* "scalar", "instant vector", "range vector", "string" or "none", as error messages and
 * the HTTP API's resultType spell them (the API uses "vector"/"matrix": see its code). */
const char *tg_promql_type_name(enum tg_promql_type t);

enum tg_promql_kind {
    TG_PROMQL_NUMBER = 0, /* number literal (also durations written as numbers) */
    TG_PROMQL_STRING,     /* string literal */
    TG_PROMQL_VECTOR_SEL, /* instant vector selector */
    TG_PROMQL_MATRIX_SEL, /* range vector selector: a vector selector plus a range */
    TG_PROMQL_SUBQUERY,   /* expr[range:step] */
    TG_PROMQL_UNARY,      /* -expr, +expr */
    TG_PROMQL_BINARY,     /* lhs op rhs */
    TG_PROMQL_AGGREGATE,  /* sum by (l) (expr), topk(k, expr), ... */
    TG_PROMQL_CALL,       /* function call */
    TG_PROMQL_PAREN,      /* (expr), kept so the tree prints back as written */
};

/* Binary operators, and ADD/SUB as unary operators. */
enum tg_promql_op {
    TG_PROMQL_OP_ADD = 0,
    TG_PROMQL_OP_SUB,
    TG_PROMQL_OP_MUL,
    TG_PROMQL_OP_DIV,
    TG_PROMQL_OP_MOD,
    TG_PROMQL_OP_POW,
    TG_PROMQL_OP_ATAN2,
    TG_PROMQL_OP_EQL, /* == */
    TG_PROMQL_OP_NEQ, /* != */
    TG_PROMQL_OP_GTR, /* >  */
    TG_PROMQL_OP_LSS, /* <  */
    TG_PROMQL_OP_GTE, /* >= */
    TG_PROMQL_OP_LTE, /* <= */
    TG_PROMQL_OP_AND,
    TG_PROMQL_OP_OR,
    TG_PROMQL_OP_UNLESS,
};

const char *tg_promql_op_str(enum tg_promql_op op); /* "+", "==", "and", ... */
bool tg_promql_op_is_comparison(enum tg_promql_op op);
bool tg_promql_op_is_set(enum tg_promql_op op); /* and, or, unless */

enum tg_promql_agg {
    TG_PROMQL_AGG_SUM = 0,
    TG_PROMQL_AGG_AVG,
    TG_PROMQL_AGG_COUNT,
    TG_PROMQL_AGG_MIN,
    TG_PROMQL_AGG_MAX,
    TG_PROMQL_AGG_GROUP,
    TG_PROMQL_AGG_STDDEV,
    TG_PROMQL_AGG_STDVAR,
    TG_PROMQL_AGG_TOPK,         /* param: scalar k */
    TG_PROMQL_AGG_BOTTOMK,      /* param: scalar k */
    TG_PROMQL_AGG_COUNT_VALUES, /* param: string label name */
    TG_PROMQL_AGG_QUANTILE,     /* param: scalar phi */
};

const char *tg_promql_agg_str(enum tg_promql_agg op); /* "sum", "count_values", ... */
bool tg_promql_agg_has_param(enum tg_promql_agg op);

/* Every function of Prometheus 2.42, in the order of its table (nearly alphabetical). */
enum tg_promql_func_id {
    TG_PROMQL_FN_ABS = 0,
    TG_PROMQL_FN_ABSENT,
    TG_PROMQL_FN_ABSENT_OVER_TIME,
    TG_PROMQL_FN_ACOS,
    TG_PROMQL_FN_ACOSH,
    TG_PROMQL_FN_ASIN,
    TG_PROMQL_FN_ASINH,
    TG_PROMQL_FN_ATAN,
    TG_PROMQL_FN_ATANH,
    TG_PROMQL_FN_AVG_OVER_TIME,
    TG_PROMQL_FN_CEIL,
    TG_PROMQL_FN_CHANGES,
    TG_PROMQL_FN_CLAMP,
    TG_PROMQL_FN_CLAMP_MAX,
    TG_PROMQL_FN_CLAMP_MIN,
    TG_PROMQL_FN_COS,
    TG_PROMQL_FN_COSH,
    TG_PROMQL_FN_COUNT_OVER_TIME,
    TG_PROMQL_FN_DAYS_IN_MONTH,
    TG_PROMQL_FN_DAY_OF_MONTH,
    TG_PROMQL_FN_DAY_OF_WEEK,
    TG_PROMQL_FN_DAY_OF_YEAR,
    TG_PROMQL_FN_DEG,
    TG_PROMQL_FN_DELTA,
    TG_PROMQL_FN_DERIV,
    TG_PROMQL_FN_EXP,
    TG_PROMQL_FN_FLOOR,
    TG_PROMQL_FN_HISTOGRAM_COUNT,
    TG_PROMQL_FN_HISTOGRAM_SUM,
    TG_PROMQL_FN_HISTOGRAM_FRACTION,
    TG_PROMQL_FN_HISTOGRAM_QUANTILE,
    TG_PROMQL_FN_HOLT_WINTERS,
    TG_PROMQL_FN_HOUR,
    TG_PROMQL_FN_IDELTA,
    TG_PROMQL_FN_INCREASE,
    TG_PROMQL_FN_IRATE,
    TG_PROMQL_FN_LABEL_REPLACE,
    TG_PROMQL_FN_LABEL_JOIN,
    TG_PROMQL_FN_LAST_OVER_TIME,
    TG_PROMQL_FN_LN,
    TG_PROMQL_FN_LOG10,
    TG_PROMQL_FN_LOG2,
    TG_PROMQL_FN_MAX_OVER_TIME,
    TG_PROMQL_FN_MIN_OVER_TIME,
    TG_PROMQL_FN_MINUTE,
    TG_PROMQL_FN_MONTH,
    TG_PROMQL_FN_PI,
    TG_PROMQL_FN_PREDICT_LINEAR,
    TG_PROMQL_FN_PRESENT_OVER_TIME,
    TG_PROMQL_FN_QUANTILE_OVER_TIME,
    TG_PROMQL_FN_RAD,
    TG_PROMQL_FN_RATE,
    TG_PROMQL_FN_RESETS,
    TG_PROMQL_FN_ROUND,
    TG_PROMQL_FN_SCALAR,
    TG_PROMQL_FN_SGN,
    TG_PROMQL_FN_SIN,
    TG_PROMQL_FN_SINH,
    TG_PROMQL_FN_SORT,
    TG_PROMQL_FN_SORT_DESC,
    TG_PROMQL_FN_SQRT,
    TG_PROMQL_FN_STDDEV_OVER_TIME,
    TG_PROMQL_FN_STDVAR_OVER_TIME,
    TG_PROMQL_FN_SUM_OVER_TIME,
    TG_PROMQL_FN_TAN,
    TG_PROMQL_FN_TANH,
    TG_PROMQL_FN_TIME,
    TG_PROMQL_FN_TIMESTAMP,
    TG_PROMQL_FN_VECTOR,
    TG_PROMQL_FN_YEAR,
    TG_PROMQL_FN_COUNT_, /* number of functions, not a function */
};

#define TG_PROMQL_MAX_ARGS 5

/* One function's signature. A call passes `nargs` arguments of `args` types, except:
 * variadic > 0: the last `args` entry is optional and may repeat, for at most
 * nargs - 1 + variadic arguments in all; variadic < 0: the last entry is optional and
 * may repeat without limit. (Prometheus's rule; e.g. round(v [, to]), hour([v]),
 * label_join(v, dst, sep, src...).) */
struct tg_promql_func {
    const char *name;
    enum tg_promql_func_id id;
    enum tg_promql_type args[TG_PROMQL_MAX_ARGS];
    uint8_t nargs;
    int8_t variadic;
    enum tg_promql_type ret;
};

/* The function named `name` (case-sensitive, `len` bytes), or NULL. */
const struct tg_promql_func *tg_promql_func_lookup(const char *name, size_t len);
/* The table entry of `id`. */
const struct tg_promql_func *tg_promql_func_get(enum tg_promql_func_id id);

struct tg_promql_pos {
    uint32_t start, end; /* byte offsets in the query, [start, end) */
};

/* The @ modifier: none, a fixed time, or the query's start/end. */
enum tg_promql_at_kind {
    TG_PROMQL_AT_NONE = 0,
    TG_PROMQL_AT_TIME,  /* at_ms */
    TG_PROMQL_AT_START, /* @ start() */
    TG_PROMQL_AT_END,   /* @ end() */
};

struct tg_promql_at {
    enum tg_promql_at_kind kind;
    int64_t at_ms; /* for TG_PROMQL_AT_TIME: the written seconds times 1000, rounded */
};

struct tg_promql_strlist {
    char **v; /* owned, each owned */
    uint32_t n;
};

struct tg_promql_vector_sel {
    char *name; /* owned; NULL for a selector written as {...} only */
    /* Owned. As Prometheus builds them: the matchers as written, then, when `name` is set,
     * __name__="name" appended last. At least one does not match "". */
    struct tg_matcher *matchers;
    uint32_t nmatchers;
    int64_t offset_ms; /* as written; may be negative; 0 when absent */
    struct tg_promql_at at;
};

struct tg_promql_matrix_sel {
    struct tg_promql_node *vs; /* a TG_PROMQL_VECTOR_SEL node; its offset and @ apply */
    int64_t range_ms;          /* > 0 */
};

struct tg_promql_subquery {
    struct tg_promql_node *expr; /* an instant vector expression */
    int64_t range_ms;            /* > 0 */
    int64_t step_ms;             /* 0: the default evaluation interval */
    int64_t offset_ms;
    struct tg_promql_at at;
};

struct tg_promql_unary {
    enum tg_promql_op op; /* ADD or SUB */
    struct tg_promql_node *expr;
};

enum tg_promql_card {
    TG_PROMQL_CARD_ONE_TO_ONE = 0,
    TG_PROMQL_CARD_MANY_TO_ONE,  /* group_left */
    TG_PROMQL_CARD_ONE_TO_MANY,  /* group_right */
    TG_PROMQL_CARD_MANY_TO_MANY, /* set operators */
};

/* How the two sides of a vector-vector operation are matched. */
struct tg_promql_vmatch {
    enum tg_promql_card card;
    bool on;                          /* on(labels); else ignoring(labels) */
    struct tg_promql_strlist labels;  /* the on/ignoring list */
    struct tg_promql_strlist include; /* group_left/group_right list */
};

struct tg_promql_binary {
    enum tg_promql_op op;
    struct tg_promql_node *lhs, *rhs;
    bool return_bool; /* comparison with `bool` */
    /* Only when both sides are instant vectors (Prometheus's non-nil VectorMatching);
     * `vm` is then meaningful. Set operators are always many-to-many. */
    bool has_vm;
    struct tg_promql_vmatch vm;
};

struct tg_promql_aggregate {
    enum tg_promql_agg op;
    struct tg_promql_node *expr;
    struct tg_promql_node *param; /* NULL unless tg_promql_agg_has_param(op) */
    struct tg_promql_strlist grouping;
    bool without; /* without(grouping); else by(grouping), empty = all into one */
};

struct tg_promql_call {
    const struct tg_promql_func *func; /* static table entry */
    struct tg_promql_node **args;      /* owned */
    uint32_t nargs;
};

struct tg_promql_node {
    enum tg_promql_kind kind;
    enum tg_promql_type type; /* what it evaluates to, set by the parser */
    struct tg_promql_pos pos;
    union {
        double number;
        struct {
            char *s; /* owned, NUL-terminated; may also hold NUL bytes: use len */
            size_t len;
        } string;
        struct tg_promql_vector_sel vs;
        struct tg_promql_matrix_sel ms;
        struct tg_promql_subquery sq;
        struct tg_promql_unary unary;
        struct tg_promql_binary bin;
        struct tg_promql_aggregate agg;
        struct tg_promql_call call;
        struct tg_promql_node *paren; /* the expression inside */
    } u;
};

/* Frees `n` and everything it owns. Accepts NULL. */
void tg_promql_node_free(struct tg_promql_node *n);

#endif
