/* SPDX-License-Identifier: MIT */
/* Type checks run on a tree that parsed, in the order Prometheus 2.42's checkAST visits
 * it (children before the node's own rules, an aggregation's argument before its
 * parameter), so that of several problems the one reported is the one Prometheus
 * reports. Also sets the matching mode of set operators (always many-to-many) and drops
 * vector matching where a side is a scalar, as Prometheus does. */
#include <string.h>

#include "promql/parse_int.h"

/* Prometheus's internal type names, which one message prints as they are. */
static const char *raw_type(enum tg_promql_type t)
{
    switch (t) {
    case TG_PROMQL_TYPE_SCALAR:
        return "scalar";
    case TG_PROMQL_TYPE_VECTOR:
        return "vector";
    case TG_PROMQL_TYPE_MATRIX:
        return "matrix";
    case TG_PROMQL_TYPE_STRING:
        return "string";
    default:
        return "none";
    }
}

static enum tg_promql_type check(struct tg_promql_parser *p, struct tg_promql_node *n);

static void expect_type(struct tg_promql_parser *p, struct tg_promql_node *n,
                        enum tg_promql_type want, const char *ctx, const char *fn)
{
    enum tg_promql_type t = check(p, n);
    if (t == want || p->failed)
        return;
    if (fn)
        tg_promql__errorf(p, n->pos.start, "expected type %s in %s \"%s\", got %s",
                          tg_promql_type_name(want), ctx, fn, tg_promql_type_name(t));
    else
        tg_promql__errorf(p, n->pos.start, "expected type %s in %s, got %s",
                          tg_promql_type_name(want), ctx, tg_promql_type_name(t));
}

/* Where the operator of a binary expression starts: the first non-space after the left
 * operand (comments between are not skipped, as in Prometheus). */
static uint32_t op_pos(struct tg_promql_parser *p, const struct tg_promql_node *n)
{
    uint32_t i = n->u.bin.lhs->pos.end;
    while (i < p->len &&
           (p->in[i] == ' ' || p->in[i] == '\t' || p->in[i] == '\n' || p->in[i] == '\r'))
        i++;
    return i;
}

static bool is_sv(enum tg_promql_type t)
{
    return t == TG_PROMQL_TYPE_SCALAR || t == TG_PROMQL_TYPE_VECTOR;
}

static void check_binary(struct tg_promql_parser *p, struct tg_promql_node *n)
{
    struct tg_promql_binary *b = &n->u.bin;
    enum tg_promql_type lt = check(p, b->lhs);
    enum tg_promql_type rt = check(p, b->rhs);
    if (p->failed)
        return;
    bool cmp = tg_promql_op_is_comparison(b->op), set = tg_promql_op_is_set(b->op);
    if (b->return_bool && !cmp)
        tg_promql__errorf(p, op_pos(p, n),
                          "bool modifier can only be used on comparison operators");
    if (cmp && !b->return_bool && lt == TG_PROMQL_TYPE_SCALAR && rt == TG_PROMQL_TYPE_SCALAR)
        tg_promql__errorf(p, op_pos(p, n), "comparisons between scalars must use BOOL modifier");
    if (set && b->vm.card == TG_PROMQL_CARD_ONE_TO_ONE)
        b->vm.card = TG_PROMQL_CARD_MANY_TO_MANY;
    for (uint32_t i = 0; b->vm.on && i < b->vm.labels.n; i++) {
        for (uint32_t j = 0; j < b->vm.include.n; j++) {
            if (strcmp(b->vm.labels.v[i], b->vm.include.v[j]) == 0)
                tg_promql__errorf(p, op_pos(p, n),
                                  "label \"%s\" must not occur in ON and GROUP clause at once",
                                  b->vm.labels.v[i]);
        }
    }
    if (!is_sv(lt))
        tg_promql__errorf(p, b->lhs->pos.start,
                          "binary expression must contain only scalar and instant vector types");
    if (!is_sv(rt))
        tg_promql__errorf(p, b->rhs->pos.start,
                          "binary expression must contain only scalar and instant vector types");
    if (lt != TG_PROMQL_TYPE_VECTOR || rt != TG_PROMQL_TYPE_VECTOR) {
        if (b->vm.labels.n > 0)
            tg_promql__errorf(p, n->pos.start,
                              "vector matching only allowed between instant vectors");
        b->has_vm = false;
    } else if (set) {
        if (b->vm.card == TG_PROMQL_CARD_ONE_TO_MANY || b->vm.card == TG_PROMQL_CARD_MANY_TO_ONE)
            tg_promql__errorf(p, n->pos.start, "no grouping allowed for \"%s\" operation",
                              tg_promql_op_str(b->op));
        if (b->vm.card != TG_PROMQL_CARD_MANY_TO_MANY)
            tg_promql__errorf(p, n->pos.start, "set operations must always be many-to-many");
    }
    if ((lt == TG_PROMQL_TYPE_SCALAR || rt == TG_PROMQL_TYPE_SCALAR) && set)
        tg_promql__errorf(p, n->pos.start,
                          "set operator \"%s\" not allowed in binary scalar expression",
                          tg_promql_op_str(b->op));
}

static void check_call(struct tg_promql_parser *p, struct tg_promql_node *n)
{
    const struct tg_promql_func *f = n->u.call.func;
    uint32_t nargs = n->u.call.nargs, ntypes = f->nargs;
    if (f->variadic == 0) {
        if (ntypes != nargs)
            tg_promql__errorf(p, n->pos.start, "expected %u argument(s) in call to \"%s\", got %u",
                              ntypes, f->name, nargs);
    } else {
        uint32_t na = ntypes - 1;
        if (na > nargs)
            tg_promql__errorf(p, n->pos.start,
                              "expected at least %u argument(s) in call to \"%s\", got %u", na,
                              f->name, nargs);
        else if (f->variadic > 0 && na + (uint32_t)f->variadic < nargs)
            tg_promql__errorf(p, n->pos.start,
                              "expected at most %u argument(s) in call to \"%s\", got %u",
                              na + (uint32_t)f->variadic, f->name, nargs);
    }
    for (uint32_t i = 0; i < nargs && !p->failed; i++) {
        uint32_t k = i;
        if (k >= ntypes) {
            if (f->variadic == 0)
                break;
            k = ntypes - 1;
        }
        expect_type(p, n->u.call.args[i], f->args[k], "call to function", f->name);
    }
}

static void check_selector(struct tg_promql_parser *p, struct tg_promql_node *n)
{
    const struct tg_promql_vector_sel *vs = &n->u.vs;
    if (vs->name) {
        for (uint32_t i = 0; i + 1 < vs->nmatchers; i++) {
            if (strcmp(vs->matchers[i].name, "__name__") == 0) {
                tg_promql__errorf(p, n->pos.start,
                                  "metric name must not be set twice: \"%s\" or \"%s\"", vs->name,
                                  vs->matchers[i].value);
                return;
            }
        }
        return;
    }
    for (uint32_t i = 0; i < vs->nmatchers; i++) {
        if (!tg_matcher_matches(&vs->matchers[i], ""))
            return;
    }
    tg_promql__errorf(p, n->pos.start,
                      "vector selector must contain at least one non-empty matcher");
}

static enum tg_promql_type check(struct tg_promql_parser *p, struct tg_promql_node *n)
{
    if (p->failed)
        return n->type;
    if (++p->depth > TG_PROMQL_MAX_DEPTH + 8) {
        /* The parser bounds the depth already; this only guards the invariant. */
        tg_promql__errorf(p, n->pos.start, "expression nested too deeply");
        return n->type;
    }
    switch (n->kind) {
    case TG_PROMQL_AGGREGATE: {
        struct tg_promql_aggregate *a = &n->u.agg;
        expect_type(p, a->expr, TG_PROMQL_TYPE_VECTOR, "aggregation expression", NULL);
        if (a->op == TG_PROMQL_AGG_TOPK || a->op == TG_PROMQL_AGG_BOTTOMK ||
            a->op == TG_PROMQL_AGG_QUANTILE)
            expect_type(p, a->param, TG_PROMQL_TYPE_SCALAR, "aggregation parameter", NULL);
        if (a->op == TG_PROMQL_AGG_COUNT_VALUES)
            expect_type(p, a->param, TG_PROMQL_TYPE_STRING, "aggregation parameter", NULL);
        break;
    }
    case TG_PROMQL_BINARY:
        check_binary(p, n);
        n->type = n->u.bin.lhs->type == TG_PROMQL_TYPE_SCALAR &&
                          n->u.bin.rhs->type == TG_PROMQL_TYPE_SCALAR
                      ? TG_PROMQL_TYPE_SCALAR
                      : TG_PROMQL_TYPE_VECTOR;
        break;
    case TG_PROMQL_CALL:
        check_call(p, n);
        break;
    case TG_PROMQL_PAREN:
        check(p, n->u.paren);
        break;
    case TG_PROMQL_UNARY: {
        enum tg_promql_type t = check(p, n->u.unary.expr);
        if (!is_sv(t))
            tg_promql__errorf(p, n->pos.start,
                              "unary expression only allowed on expressions of type scalar or "
                              "instant vector, got \"%s\"",
                              tg_promql_type_name(t));
        break;
    }
    case TG_PROMQL_SUBQUERY: {
        enum tg_promql_type t = check(p, n->u.sq.expr);
        if (t != TG_PROMQL_TYPE_VECTOR)
            tg_promql__errorf(p, n->pos.start,
                              "subquery is only allowed on instant vector, got %s instead",
                              raw_type(t));
        break;
    }
    case TG_PROMQL_MATRIX_SEL:
        check(p, n->u.ms.vs);
        break;
    case TG_PROMQL_VECTOR_SEL:
        check_selector(p, n);
        break;
    case TG_PROMQL_NUMBER:
    case TG_PROMQL_STRING:
        break;
    }
    p->depth--;
    return n->type;
}

void tg_promql__check(struct tg_promql_parser *p, struct tg_promql_node *n)
{
    p->depth = 0;
    check(p, n);
}
