/* SPDX-License-Identifier: MIT */
/* Binary operators (prometheus-compat.md §d.8): scalar-scalar arithmetic, vector-scalar
 * filters and arithmetic, and vector-vector matching (one-to-one, group_left/right, the
 * set operators) with Prometheus's label rules and its errors for ambiguous matches. */
#include <math.h>
#include <string.h>

#include "promql/eval_int.h"

/* The value of `l op r`; `*keep` is the comparison's outcome (true for arithmetic). */
static double elem(enum tg_promql_op op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case TG_PROMQL_OP_ADD:
        return l + r;
    case TG_PROMQL_OP_SUB:
        return l - r;
    case TG_PROMQL_OP_MUL:
        return l * r;
    case TG_PROMQL_OP_DIV:
        return l / r;
    case TG_PROMQL_OP_POW:
        return pow(l, r);
    case TG_PROMQL_OP_MOD:
        return fmod(l, r);
    case TG_PROMQL_OP_ATAN2:
        return atan2(l, r);
    case TG_PROMQL_OP_EQL:
        *keep = l == r;
        return l;
    case TG_PROMQL_OP_NEQ:
        *keep = l != r;
        return l;
    case TG_PROMQL_OP_GTR:
        *keep = l > r;
        return l;
    case TG_PROMQL_OP_LSS:
        *keep = l < r;
        return l;
    case TG_PROMQL_OP_GTE:
        *keep = l >= r;
        return l;
    case TG_PROMQL_OP_LTE:
        *keep = l <= r;
        return l;
    default:
        return NAN;
    }
}

/* Arithmetic drops the metric name; comparisons and atan2 keep it (2.42). */
static bool drops_name(enum tg_promql_op op)
{
    return op <= TG_PROMQL_OP_POW;
}

static int vector_scalar(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                         struct tg_promql_vector *vec, double sv, bool swap,
                         struct tg_promql_value *out)
{
    enum tg_promql_op op = n->u.bin.op;
    bool rb = n->u.bin.return_bool;
    out->type = TG_PROMQL_VVECTOR;
    for (size_t i = 0; i < vec->n; i++) {
        double l = vec->v[i].v, r = sv;
        if (swap) {
            l = sv;
            r = vec->v[i].v;
        }
        bool keep;
        double v = elem(op, l, r, &keep);
        /* A filter keeps the vector's value even when the scalar is on the left. */
        if (tg_promql_op_is_comparison(op) && swap)
            v = r;
        if (rb) {
            v = keep ? 1 : 0;
            keep = true;
        }
        if (!keep)
            continue;
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        *o = vec->v[i];
        o->v = v;
        if (drops_name(op) || rb)
            o->labels = tg_promql_drop_name(ev->sa, &o->labels);
    }
    return tg_promql__check_dups(ev, &out->vec);
}

/* Signatures of every sample of `v` under the matching rules, in ev->sa. */
static void signatures(struct tg_promql__ev *ev, const struct tg_promql_vmatch *vm,
                       const struct tg_promql_vector *v, char ***sig, size_t **len)
{
    *sig = tg_promql_alloc(ev->sa, (v->n + 1) * sizeof **sig);
    *len = tg_promql_alloc(ev->sa, (v->n + 1) * sizeof **len);
    for (size_t i = 0; i < v->n; i++) {
        size_t l = tg_promql_signature(&v->v[i].labels, vm->labels.v, vm->labels.n, vm->on,
                                       &ev->sig, &ev->sigcap);
        (*sig)[i] = tg_promql_strndup(ev->sa, ev->sig, l);
        (*len)[i] = l;
    }
}

static int set_op(struct tg_promql__ev *ev, enum tg_promql_op op,
                  const struct tg_promql_vmatch *vm, struct tg_promql_vector *l,
                  struct tg_promql_vector *r, struct tg_promql_value *out)
{
    char **ls, **rs;
    size_t *ll, *rl;
    signatures(ev, vm, l, &ls, &ll);
    signatures(ev, vm, r, &rs, &rl);
    struct tg_promql_map rset = {0}, lset = {0};
    for (size_t i = 0; i < r->n; i++)
        tg_promql_map_get(ev->sa, &rset, rs[i], rl[i], 0);
    out->type = TG_PROMQL_VVECTOR;
    if (op == TG_PROMQL_OP_AND && (!l->n || !r->n))
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        bool in_r = tg_promql_map_get(ev->sa, &rset, ls[i], ll[i], -1) >= 0;
        if (op == TG_PROMQL_OP_OR || (op == TG_PROMQL_OP_AND) == in_r) {
            *tg_promql_vec_push(ev->sa, &out->vec) = l->v[i];
            tg_promql_map_get(ev->sa, &lset, ls[i], ll[i], 0);
        }
    }
    if (op == TG_PROMQL_OP_OR) {
        for (size_t i = 0; i < r->n; i++)
            if (tg_promql_map_get(ev->sa, &lset, rs[i], rl[i], -1) < 0)
                *tg_promql_vec_push(ev->sa, &out->vec) = r->v[i];
    }
    return 0;
}

/* The labels Prometheus's MatchLabels gives: the `on` labels, or all but the ignored
 * ones and the name. */
static struct tg_labels match_labels(struct tg_promql__ev *ev, const struct tg_promql_vmatch *vm,
                                     const struct tg_labels *ls)
{
    tg_promql_lb_reset(&ev->lb, ls);
    if (vm->on) {
        tg_promql_lb_keep(&ev->lb, vm->labels.v, vm->labels.n);
    } else {
        for (uint32_t i = 0; i < vm->labels.n; i++)
            tg_promql_lb_del(&ev->lb, vm->labels.v[i]);
        tg_promql_lb_del(&ev->lb, "__name__");
    }
    return tg_promql_lb_labels(&ev->lb, ev->sa);
}

static struct tg_labels result_labels(struct tg_promql__ev *ev, enum tg_promql_op op,
                                      const struct tg_promql_vmatch *vm,
                                      const struct tg_labels *l, const struct tg_labels *r)
{
    tg_promql_lb_reset(&ev->lb, l);
    if (drops_name(op))
        tg_promql_lb_del(&ev->lb, "__name__");
    if (vm->card == TG_PROMQL_CARD_ONE_TO_ONE) {
        if (vm->on) {
            tg_promql_lb_keep(&ev->lb, vm->labels.v, vm->labels.n);
        } else {
            for (uint32_t i = 0; i < vm->labels.n; i++)
                tg_promql_lb_del(&ev->lb, vm->labels.v[i]);
        }
    }
    for (uint32_t i = 0; i < vm->include.n; i++)
        tg_promql_lb_set(&ev->lb, vm->include.v[i], tg_labels_get(r, vm->include.v[i]));
    return tg_promql_lb_labels(&ev->lb, ev->sa);
}

static int dup_error(struct tg_promql__ev *ev, const struct tg_promql_vmatch *vm,
                     const struct tg_labels *a, const struct tg_labels *b)
{
    char g[256], x[512], y[512];
    struct tg_labels m = match_labels(ev, vm, a);
    tg_promql_labels_format(&m, g, sizeof g);
    tg_promql_labels_format(a, x, sizeof x);
    tg_promql_labels_format(b, y, sizeof y);
    return tg_errbuf_set(ev->eb, TG_EEXEC,
                         "found duplicate series for the match group %s on the %s hand-side "
                         "of the operation: [%s, %s];many-to-many matching not allowed: "
                         "matching labels must be unique on one side",
                         g, vm->card == TG_PROMQL_CARD_ONE_TO_MANY ? "left" : "right", x, y);
}

static int vector_vector(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                         struct tg_promql_vector *l, struct tg_promql_vector *r,
                         struct tg_promql_value *out)
{
    const struct tg_promql_vmatch *vm = &n->u.bin.vm;
    enum tg_promql_op op = n->u.bin.op;
    out->type = TG_PROMQL_VVECTOR;
    if (tg_promql_op_is_set(op))
        return set_op(ev, op, vm, l, r, out);
    if (!l->n || !r->n)
        return 0;
    bool swap = vm->card == TG_PROMQL_CARD_ONE_TO_MANY;
    if (swap) {
        struct tg_promql_vector *t = l;
        l = r;
        r = t;
    }
    char **ls, **rs;
    size_t *ll, *rl;
    signatures(ev, vm, l, &ls, &ll);
    signatures(ev, vm, r, &rs, &rl);
    struct tg_promql_map rmap = {0}, matched = {0}, results = {0};
    for (size_t i = 0; i < r->n; i++) {
        long k = tg_promql_map_get(ev->sa, &rmap, rs[i], rl[i], (long)i);
        if (k >= 0)
            return dup_error(ev, vm, &r->v[i].labels, &r->v[k].labels);
    }
    for (size_t i = 0; i < l->n; i++) {
        long k = tg_promql_map_get(ev->sa, &rmap, ls[i], ll[i], -1);
        if (k < 0)
            continue;
        double vl = l->v[i].v, vr = r->v[k].v;
        if (swap) {
            vl = r->v[k].v;
            vr = l->v[i].v;
        }
        bool keep;
        double v = elem(op, vl, vr, &keep);
        if (n->u.bin.return_bool) {
            v = keep ? 1 : 0;
        } else if (!keep) {
            continue;
        }
        struct tg_labels m = result_labels(ev, op, vm, &l->v[i].labels, &r->v[k].labels);
        if (n->u.bin.return_bool)
            m = tg_promql_drop_name(ev->sa, &m);
        if (vm->card == TG_PROMQL_CARD_ONE_TO_ONE) {
            if (tg_promql_map_get(ev->sa, &matched, ls[i], ll[i], 0) >= 0)
                return tg_errbuf_set(ev->eb, TG_EEXEC,
                                     "multiple matches for labels: many-to-one matching must "
                                     "be explicit (group_left/group_right)");
        } else {
            /* The key is the match group plus the result's labels. */
            size_t klen = tg_promql_labels_key(&m, &ev->sig, &ev->sigcap);
            char *key = tg_promql_alloc(ev->sa, ll[i] + klen + 1);
            memcpy(key, ls[i], ll[i]);
            key[ll[i]] = '\x01';
            memcpy(key + ll[i] + 1, ev->sig, klen);
            if (tg_promql_map_get(ev->sa, &results, key, ll[i] + klen + 1, 0) >= 0)
                return tg_errbuf_set(ev->eb, TG_EEXEC,
                                     "multiple matches for labels: grouping labels must ensure "
                                     "unique matches");
        }
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        o->labels = m;
        o->t = l->v[i].t;
        o->v = v;
    }
    return tg_promql__check_dups(ev, &out->vec);
}

static double scalar_op(enum tg_promql_op op, double l, double r)
{
    bool keep;
    double v = elem(op, l, r, &keep);
    return tg_promql_op_is_comparison(op) ? (keep ? 1 : 0) : v;
}

int tg_promql__eval_binary(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                           int64_t ts, struct tg_promql_value *out)
{
    struct tg_promql_value l, r;
    int rc = tg_promql__eval(ev, n->u.bin.lhs, ts, &l);
    if (rc < 0)
        return rc;
    rc = tg_promql__eval(ev, n->u.bin.rhs, ts, &r);
    if (rc < 0)
        return rc;
    out->t = ts;
    if (l.type == TG_PROMQL_VSCALAR && r.type == TG_PROMQL_VSCALAR) {
        out->type = TG_PROMQL_VSCALAR;
        out->scalar = scalar_op(n->u.bin.op, l.scalar, r.scalar);
        return 0;
    }
    if (l.type == TG_PROMQL_VVECTOR && r.type == TG_PROMQL_VSCALAR)
        return vector_scalar(ev, n, &l.vec, r.scalar, false, out);
    if (l.type == TG_PROMQL_VSCALAR && r.type == TG_PROMQL_VVECTOR)
        return vector_scalar(ev, n, &r.vec, l.scalar, true, out);
    if (l.type == TG_PROMQL_VVECTOR && r.type == TG_PROMQL_VVECTOR)
        return vector_vector(ev, n, &l.vec, &r.vec, out);
    return tg_errbuf_set(ev->eb, TG_EEXEC,
                         "binary expression must contain only scalar and instant vector types");
}
