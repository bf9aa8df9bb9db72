/* SPDX-License-Identifier: MIT */
/* Aggregation operators (prometheus-compat.md §d.7): groups by the `by` labels or by all
 * but the `without` labels and the name, in order of first appearance, with 2.42's
 * arithmetic (running mean with Inf care, NaN-tolerant min/max, Welford variance) and its
 * topk/bottomk heap, reproduced step by step so that ties come out in the same order. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/eval_int.h"
#include "promql/fn.h"

struct group {
    struct tg_labels labels;
    double value, mean;
    size_t count;
    struct tg_promql_sample *heap; /* topk/bottomk: min(k, inputs) slots */
    size_t nheap;
    struct tg_promql_vector all; /* quantile: every value */
};

/* topk keeps the k largest in a min-heap, bottomk the k smallest in a max-heap; NaN is
 * "less" in both, so it is the first to go. */
static bool heap_less(bool rev, const struct tg_promql_sample *h, size_t i, size_t j)
{
    if (isnan(h[i].v))
        return true;
    return rev ? h[i].v > h[j].v : h[i].v < h[j].v;
}

static void heap_swap(struct tg_promql_sample *h, size_t i, size_t j)
{
    struct tg_promql_sample t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(bool rev, struct tg_promql_sample *h, size_t j)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!heap_less(rev, h, j, i))
            break;
        heap_swap(h, i, j);
        j = i;
    }
}

static void heap_down(bool rev, struct tg_promql_sample *h, size_t i, size_t n)
{
    for (;;) {
        size_t j = 2 * i + 1;
        if (j >= n)
            break;
        if (j + 1 < n && heap_less(rev, h, j + 1, j))
            j++;
        if (!heap_less(rev, h, j, i))
            break;
        heap_swap(h, i, j);
        i = j;
    }
}

static void heap_offer(bool rev, struct group *g, int64_t k, const struct tg_promql_sample *s)
{
    struct tg_promql_sample *h = g->heap;
    bool better = rev ? h[0].v > s->v : h[0].v < s->v;
    if (!((int64_t)g->nheap < k || better || isnan(h[0].v)))
        return;
    if ((int64_t)g->nheap == k) {
        if (k == 1) {
            h[0] = *s;
            return;
        }
        heap_swap(h, 0, g->nheap - 1);
        heap_down(rev, h, 0, g->nheap - 1);
        g->nheap--;
    }
    h[g->nheap++] = *s;
    heap_up(rev, h, g->nheap - 1);
}

/* Go's sort.Sort(sort.Reverse(heap)) on the short slices it gets here is an insertion
 * sort; doing the same keeps ties where Prometheus puts them. */
static void heap_sort_desc(bool rev, struct tg_promql_sample *h, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && heap_less(rev, h, j - 1, j); j--)
            heap_swap(h, j, j - 1);
}

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as `v`,
 * without an exponent. */
static void format_f(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e is [-]d[.ddd]e[+-]xx: place the point by the exponent. */
    char digits[32];
    size_t nd = 0;
    const char *c = e;
    bool neg = *c == '-';
    if (neg)
        c++;
    for (; *c && *c != 'e'; c++)
        if (*c != '.')
            digits[nd++] = *c;
    int exp = atoi(c + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    size_t len = 0;
    if (neg)
        out[len++] = '-';
    int point = exp + 1; /* digits before the point */
    if (point <= 0) {
        out[len++] = '0';
        out[len++] = '.';
        for (int i = 0; i < -point; i++)
            out[len++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[len++] = digits[i];
    } else {
        for (int i = 0; i < point; i++)
            out[len++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd) {
            out[len++] = '.';
            for (size_t i = (size_t)point; i < nd; i++)
                out[len++] = digits[i];
        }
    }
    out[len] = 0;
    (void)cap;
}

static bool valid_label_name(const char *s)
{
    if (!*s)
        return false;
    for (const char *c = s; *c; c++) {
        bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
        if (!alpha && !(c > s && *c >= '0' && *c <= '9'))
            return false;
    }
    return true;
}

static void accumulate(enum tg_promql_agg op, struct group *g, const struct tg_promql_sample *s)
{
    g->count++;
    switch (op) {
    case TG_PROMQL_AGG_SUM:
        g->value += s->v;
        break;
    case TG_PROMQL_AGG_AVG:
        if (isinf(g->mean)) {
            /* Inf stays Inf unless NaN or the other Inf arrives. */
            if (isinf(s->v) && (g->mean > 0) == (s->v > 0))
                break;
            if (!isinf(s->v) && !isnan(s->v))
                break;
        }
        g->mean += s->v / (double)g->count - g->mean / (double)g->count;
        break;
    case TG_PROMQL_AGG_MAX:
        if (g->value < s->v || isnan(g->value))
            g->value = s->v;
        break;
    case TG_PROMQL_AGG_MIN:
        if (g->value > s->v || isnan(g->value))
            g->value = s->v;
        break;
    case TG_PROMQL_AGG_STDDEV:
    case TG_PROMQL_AGG_STDVAR: {
        double delta = s->v - g->mean;
        g->mean += delta / (double)g->count;
        g->value += delta * (s->v - g->mean);
        break;
    }
    default:
        break;
    }
}

/* How one evaluation of an aggregation finds the group of each input: by the signature of
 * its labels in a map of this evaluation (`idx`), or, for stable inputs, through the
 * node's memo, which works each input's group out once per query. */
struct grouper {
    const struct tg_promql_aggregate *a;
    char **names;
    size_t nnames;
    struct tg_promql_map idx;
    struct tg_promql__memo *memo; /* NULL: signatures at every evaluation */
};

/* The labels of the group of `ls`, in `arena`: the `by` labels, or all but the `without`
 * labels and the name. */
static struct tg_labels group_labels(struct tg_promql__ev *ev, const struct grouper *gr,
                                     const struct tg_labels *ls, struct tg_promql_arena *arena)
{
    tg_promql_lb_reset(&ev->lb, ls);
    if (gr->a->without) {
        for (size_t j = 0; j < gr->nnames; j++)
            tg_promql_lb_del(&ev->lb, gr->names[j]);
        tg_promql_lb_del(&ev->lb, "__name__");
    } else {
        tg_promql_lb_keep(&ev->lb, gr->names, gr->nnames);
    }
    return tg_promql_lb_labels(&ev->lb, arena);
}

/* The index of the group of `ls` (input number `pos`) among the `ngroups` this
 * evaluation has, or -1 when `ls` opens a new group (index `ngroups`), whose labels go to
 * `*labels`. */
static long group_of(struct tg_promql__ev *ev, struct grouper *gr, const struct tg_labels *ls,
                     size_t pos, size_t ngroups, struct tg_labels *labels)
{
    const struct tg_promql_aggregate *a = gr->a;
    if (!gr->memo) {
        size_t len = tg_promql_signature(ls, gr->names, gr->nnames, !a->without, &ev->sig,
                                         &ev->sigcap);
        long gi = tg_promql_map_get(ev->sa, &gr->idx, ev->sig, len, (long)ngroups);
        if (gi < 0)
            *labels = group_labels(ev, gr, ls, ev->sa);
        return gi;
    }
    bool fresh;
    struct tg_promql__memo_in *in = tg_promql__memo_input(ev, gr->memo, ls, pos, &fresh);
    if (fresh) {
        size_t len = tg_promql_signature(ls, gr->names, gr->nnames, !a->without, &ev->sig,
                                         &ev->sigcap);
        in->gid = tg_promql__memo_group(ev, gr->memo, ev->sig, len, &fresh);
        if (fresh)
            gr->memo->groups[in->gid].labels = group_labels(ev, gr, ls, ev->qa);
    }
    long gi = tg_promql__memo_slot(gr->memo, in->gid, ngroups);
    if (gi < 0)
        *labels = gr->memo->groups[in->gid].labels;
    return gi;
}

static int agg_param(struct tg_promql__ev *ev, const struct tg_promql_aggregate *a, int64_t ts,
                     double *num, const char **str)
{
    if (!a->param)
        return 0;
    struct tg_promql_value p;
    int rc = tg_promql__eval(ev, a->param, ts, &p);
    if (rc < 0)
        return rc;
    if (p.type == TG_PROMQL_VSTRING)
        *str = p.str;
    else
        *num = p.scalar;
    return 0;
}

static void emit(struct tg_promql__ev *ev, enum tg_promql_agg op, double q, struct group *g,
                 struct tg_promql_vector *out)
{
    double v = g->value;
    switch (op) {
    case TG_PROMQL_AGG_TOPK:
    case TG_PROMQL_AGG_BOTTOMK: {
        bool rev = op == TG_PROMQL_AGG_BOTTOMK;
        heap_sort_desc(rev, g->heap, g->nheap);
        for (size_t i = 0; i < g->nheap; i++)
            *tg_promql_vec_push(ev->sa, out) = g->heap[i];
        return;
    }
    case TG_PROMQL_AGG_AVG:
        v = g->mean;
        break;
    case TG_PROMQL_AGG_COUNT:
    case TG_PROMQL_AGG_COUNT_VALUES:
        v = (double)g->count;
        break;
    case TG_PROMQL_AGG_STDVAR:
        v = g->value / (double)g->count;
        break;
    case TG_PROMQL_AGG_STDDEV:
        v = sqrt(g->value / (double)g->count);
        break;
    case TG_PROMQL_AGG_GROUP:
        v = 1;
        break;
    case TG_PROMQL_AGG_QUANTILE: {
        double *vals = tg_promql_alloc(ev->sa, (g->all.n + 1) * sizeof *vals);
        for (size_t i = 0; i < g->all.n; i++)
            vals[i] = g->all.v[i].v;
        v = tg_promql_quantile(q, vals, g->all.n);
        break;
    }
    default:
        break;
    }
    struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, out);
    o->labels = g->labels;
    o->v = v;
}

int tg_promql__eval_agg(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                        struct tg_promql_value *out)
{
    const struct tg_promql_aggregate *a = &n->u.agg;
    double num = 0;
    const char *str = NULL;
    int rc = agg_param(ev, a, ts, &num, &str);
    if (rc < 0)
        return rc;
    struct tg_promql_value in;
    rc = tg_promql__eval(ev, a->expr, ts, &in);
    if (rc < 0)
        return rc;
    out->type = TG_PROMQL_VVECTOR;
    out->t = ts;
    int64_t k = 0;
    if (a->op == TG_PROMQL_AGG_TOPK || a->op == TG_PROMQL_AGG_BOTTOMK) {
        if (!(num >= -9223372036854775808.0 && num < 9223372036854775808.0))
            return tg_errbuf_set(ev->eb, TG_EEXEC, "Scalar value %g overflows int64", num);
        k = (int64_t)num;
        if (k < 1)
            return 0;
    }
    char **names = a->grouping.v;
    size_t nnames = a->grouping.n;
    if (a->op == TG_PROMQL_AGG_COUNT_VALUES) {
        if (!valid_label_name(str))
            return tg_errbuf_set(ev->eb, TG_EEXEC, "invalid label name \"%s\"", str);
        if (!a->without) {
            names = tg_promql_alloc(ev->sa, (nnames + 1) * sizeof *names);
            if (nnames)
                memcpy(names, a->grouping.v, nnames * sizeof *names);
            names[nnames++] = (char *)str;
        }
    }
    struct grouper gr = {.a = a, .names = names, .nnames = nnames};
    /* count_values makes new label sets, so its inputs have no identity to remember. */
    if (in.vec.stable && a->op != TG_PROMQL_AGG_COUNT_VALUES)
        gr.memo = tg_promql__memo_begin(ev, n);
    out->vec.stable = gr.memo != NULL;
    struct group *groups = tg_promql_alloc(ev->sa, (in.vec.n + 1) * sizeof *groups);
    size_t ngroups = 0;
    for (size_t i = 0; i < in.vec.n; i++) {
        struct tg_promql_sample s = in.vec.v[i];
        if (a->op == TG_PROMQL_AGG_COUNT_VALUES) {
            char buf[64];
            format_f(s.v, buf, sizeof buf);
            tg_promql_lb_reset(&ev->lb, &s.labels);
            tg_promql_lb_set(&ev->lb, str, tg_promql_strdup(ev->sa, buf));
            s.labels = tg_promql_lb_labels(&ev->lb, ev->sa);
        }
        struct tg_labels glabels;
        long gi = group_of(ev, &gr, &s.labels, i, ngroups, &glabels);
        if (gi >= 0) {
            struct group *g = &groups[gi];
            if (a->op == TG_PROMQL_AGG_TOPK || a->op == TG_PROMQL_AGG_BOTTOMK) {
                g->count++;
                heap_offer(a->op == TG_PROMQL_AGG_BOTTOMK, g, k, &s);
            } else if (a->op == TG_PROMQL_AGG_QUANTILE) {
                g->count++;
                *tg_promql_vec_push(ev->sa, &g->all) = s;
            } else {
                accumulate(a->op, g, &s);
            }
            continue;
        }
        struct group *g = &groups[ngroups++];
        g->labels = glabels;
        g->value = g->mean = s.v;
        g->count = 1;
        if (a->op == TG_PROMQL_AGG_STDDEV || a->op == TG_PROMQL_AGG_STDVAR)
            g->value = 0;
        if (a->op == TG_PROMQL_AGG_TOPK || a->op == TG_PROMQL_AGG_BOTTOMK) {
            size_t room = (uint64_t)k < in.vec.n ? (size_t)k : in.vec.n;
            g->heap = tg_promql_alloc(ev->sa, (room + 1) * sizeof *g->heap);
            g->heap[0] = s;
            g->nheap = 1;
        } else if (a->op == TG_PROMQL_AGG_QUANTILE) {
            *tg_promql_vec_push(ev->sa, &g->all) = s;
        }
    }
    for (size_t i = 0; i < ngroups; i++)
        emit(ev, a->op, num, &groups[i], &out->vec);
    /* No duplicate check: a group's labels are exactly the labels its signature was made
     * of, so distinct groups have distinct label sets, and topk/bottomk pass on samples
     * of an input that was already checked. */
    return 0;
}
