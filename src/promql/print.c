/* SPDX-License-Identifier: MIT */
/* Canonical printing of a PromQL tree, as Prometheus 2.42's String() methods print it:
 * the form /api/v1/rules, format_query and alert generator URLs show. Numbers as Go's
 * %v (shortest digits, exponent below 1e-4 and from 1e+06), strings and matcher values
 * re-quoted with Go's %q, matchers sorted, aggregation modifiers before the argument,
 * durations in Prometheus's unit form, @ times with three decimals. */
#include "promql/parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/lex_int.h"

struct out {
    char *buf;
    size_t size, n;
};

static void put(struct out *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++, o->n++) {
        if (o->n + 1 < o->size)
            o->buf[o->n] = s[i];
    }
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void quote(struct out *o, const char *s, size_t len)
{
    size_t n = o->n;
    tg_promql__go_quote(o->buf, o->size, &n, s, len);
    o->n = n;
}

size_t tg_promql_format_duration(int64_t ms, char *buf, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
        bool exact;
    } units[] = {{"y", 365LL * 86400000, true},
                 {"w", 7LL * 86400000, true},
                 {"d", 86400000, false},
                 {"h", 3600000, false},
                 {"m", 60000, false},
                 {"s", 1000, false},
                 {"ms", 1, false}};
    struct out o = {buf, size, 0};
    if (ms == 0)
        puts_(&o, "0s");
    for (size_t i = 0; i < sizeof units / sizeof units[0] && ms > 0; i++) {
        /* Years and weeks only when nothing is left over: 90d reads better than 12w6d. */
        if (units[i].exact && ms % units[i].ms != 0)
            continue;
        int64_t v = ms / units[i].ms;
        if (v > 0) {
            char t[32];
            snprintf(t, sizeof t, "%lld%s", (long long)v, units[i].unit);
            puts_(&o, t);
            ms -= v * units[i].ms;
        }
    }
    if (size > 0)
        buf[o.n < size ? o.n : size - 1] = '\0';
    return o.n;
}

static void duration(struct out *o, int64_t ms)
{
    char t[48];
    tg_promql_format_duration(ms, t, sizeof t);
    puts_(o, t);
}

/* Go's %v of a float64: the shortest digits that read back as `v` (found by trying
 * precisions, since %.17g would print 0.10000000000000001), in exponent form when the
 * decimal exponent is below -4 or at least 6 (1e+06, 100000, 0.0001, 1e-05). */
static void number(struct out *o, double v)
{
    if (isnan(v)) {
        puts_(o, "NaN");
        return;
    }
    if (isinf(v)) {
        puts_(o, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e is "[-]d[.ddd]e[+-]XX": split into sign, digits and exponent. */
    char digits[24];
    size_t nd = 0;
    const char *c = e;
    bool neg = *c == '-';
    if (neg)
        c++;
    for (; *c && *c != 'e'; c++) {
        if (*c != '.')
            digits[nd++] = *c;
    }
    int exp = atoi(c + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char t[64];
    size_t k = 0;
    if (neg)
        t[k++] = '-';
    if (exp < -4 || exp >= 6) {
        t[k++] = digits[0];
        if (nd > 1) {
            t[k++] = '.';
            memcpy(t + k, digits + 1, nd - 1);
            k += nd - 1;
        }
        k += (size_t)snprintf(t + k, sizeof t - k, "e%c%02d", exp < 0 ? '-' : '+',
                              exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        t[k++] = '0';
        t[k++] = '.';
        for (int i = -1; i > exp; i--)
            t[k++] = '0';
        memcpy(t + k, digits, nd);
        k += nd;
    } else {
        for (int i = 0; i <= exp; i++)
            t[k++] = (size_t)i < nd ? digits[i] : '0';
        if (nd > (size_t)exp + 1) {
            t[k++] = '.';
            memcpy(t + k, digits + exp + 1, nd - (size_t)exp - 1);
            k += nd - (size_t)exp - 1;
        }
    }
    put(o, t, k);
}

static void strlist(struct out *o, const struct tg_promql_strlist *l)
{
    puts_(o, "(");
    for (uint32_t i = 0; i < l->n; i++) {
        if (i)
            puts_(o, ", ");
        puts_(o, l->v[i]);
    }
    puts_(o, ")");
}

static void at_offset(struct out *o, const struct tg_promql_at *at, int64_t off)
{
    char t[64];
    if (at->kind == TG_PROMQL_AT_TIME) {
        snprintf(t, sizeof t, " @ %.3f", (double)at->at_ms / 1000.0);
        puts_(o, t);
    } else if (at->kind == TG_PROMQL_AT_START) {
        puts_(o, " @ start()");
    } else if (at->kind == TG_PROMQL_AT_END) {
        puts_(o, " @ end()");
    }
    if (off > 0) {
        puts_(o, " offset ");
        duration(o, off);
    } else if (off < 0) {
        puts_(o, " offset -");
        duration(o, -off);
    }
}

static const char *const match_ops[] = {"=", "!=", "=~", "!~"};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name{matchers} without modifiers. The matchers print sorted as strings, leaving out
 * the __name__="name" the parser added. */
static void selector(struct out *o, const struct tg_promql_vector_sel *vs)
{
    if (vs->name)
        puts_(o, vs->name);
    char *strs[64], **v = strs;
    if (vs->nmatchers > 64 && !(v = malloc(vs->nmatchers * sizeof *v)))
        return;
    uint32_t n = 0;
    for (uint32_t i = 0; i < vs->nmatchers; i++) {
        const struct tg_matcher *m = &vs->matchers[i];
        if (vs->name && m->type == TG_MATCH_EQUAL && strcmp(m->name, "__name__") == 0 &&
            strcmp(m->value, vs->name) == 0)
            continue;
        struct out s = {NULL, 0, 0};
        puts_(&s, m->name);
        puts_(&s, match_ops[m->type]);
        quote(&s, m->value, strlen(m->value));
        char *str = malloc(s.n + 1);
        if (!str)
            continue;
        s.buf = str, s.size = s.n + 1, s.n = 0;
        puts_(&s, m->name);
        puts_(&s, match_ops[m->type]);
        quote(&s, m->value, strlen(m->value));
        str[s.n] = '\0';
        v[n++] = str;
    }
    if (n > 0) {
        qsort(v, n, sizeof *v, cmp_str);
        puts_(o, "{");
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                puts_(o, ",");
            puts_(o, v[i]);
            free(v[i]);
        }
        puts_(o, "}");
    }
    if (v != strs)
        free(v);
}

static void node(struct out *o, const struct tg_promql_node *n)
{
    switch (n->kind) {
    case TG_PROMQL_NUMBER:
        number(o, n->u.number);
        break;
    case TG_PROMQL_STRING:
        quote(o, n->u.string.s, n->u.string.len);
        break;
    case TG_PROMQL_VECTOR_SEL:
        selector(o, &n->u.vs);
        at_offset(o, &n->u.vs.at, n->u.vs.offset_ms);
        break;
    case TG_PROMQL_MATRIX_SEL: {
        const struct tg_promql_vector_sel *vs = &n->u.ms.vs->u.vs;
        selector(o, vs);
        puts_(o, "[");
        duration(o, n->u.ms.range_ms);
        puts_(o, "]");
        at_offset(o, &vs->at, vs->offset_ms);
        break;
    }
    case TG_PROMQL_SUBQUERY:
        node(o, n->u.sq.expr);
        puts_(o, "[");
        duration(o, n->u.sq.range_ms);
        puts_(o, ":");
        if (n->u.sq.step_ms)
            duration(o, n->u.sq.step_ms);
        puts_(o, "]");
        at_offset(o, &n->u.sq.at, n->u.sq.offset_ms);
        break;
    case TG_PROMQL_UNARY:
        puts_(o, tg_promql_op_str(n->u.unary.op));
        node(o, n->u.unary.expr);
        break;
    case TG_PROMQL_BINARY: {
        const struct tg_promql_binary *b = &n->u.bin;
        node(o, b->lhs);
        puts_(o, " ");
        puts_(o, tg_promql_op_str(b->op));
        if (b->return_bool)
            puts_(o, " bool");
        if (b->has_vm && (b->vm.labels.n > 0 || b->vm.on)) {
            puts_(o, b->vm.on ? " on " : " ignoring ");
            strlist(o, &b->vm.labels);
            if (b->vm.card == TG_PROMQL_CARD_MANY_TO_ONE ||
                b->vm.card == TG_PROMQL_CARD_ONE_TO_MANY) {
                puts_(o,
                      b->vm.card == TG_PROMQL_CARD_MANY_TO_ONE ? " group_left " : " group_right ");
                strlist(o, &b->vm.include);
            }
        }
        puts_(o, " ");
        node(o, b->rhs);
        break;
    }
    case TG_PROMQL_AGGREGATE: {
        const struct tg_promql_aggregate *a = &n->u.agg;
        puts_(o, tg_promql_agg_str(a->op));
        if (a->without || a->grouping.n > 0) {
            puts_(o, a->without ? " without " : " by ");
            strlist(o, &a->grouping);
            puts_(o, " ");
        }
        puts_(o, "(");
        if (a->param) {
            node(o, a->param);
            puts_(o, ", ");
        }
        node(o, a->expr);
        puts_(o, ")");
        break;
    }
    case TG_PROMQL_CALL:
        puts_(o, n->u.call.func->name);
        puts_(o, "(");
        for (uint32_t i = 0; i < n->u.call.nargs; i++) {
            if (i)
                puts_(o, ", ");
            node(o, n->u.call.args[i]);
        }
        puts_(o, ")");
        break;
    case TG_PROMQL_PAREN:
        puts_(o, "(");
        node(o, n->u.paren);
        puts_(o, ")");
        break;
    }
}

size_t tg_promql_print(const struct tg_promql_node *n, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    node(&o, n);
    if (size > 0)
        buf[o.n < size ? o.n : size - 1] = '\0';
    return o.n;
}

char *tg_promql_to_string(const struct tg_promql_node *n)
{
    size_t len = tg_promql_print(n, NULL, 0);
    char *s = malloc(len + 1);
    if (s)
        tg_promql_print(n, s, len + 1);
    return s;
}
