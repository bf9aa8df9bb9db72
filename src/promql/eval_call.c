/* SPDX-License-Identifier: MIT */
/* Function calls: picks the arguments out of evaluated values and applies fn.h's
 * computations, with Prometheus 2.42's label rules (the name is dropped by every
 * function that changes a value, kept by last_over_time, sort and the label functions)
 * and its errors. label_replace uses PCRE2 for RE2 patterns, anchored as Prometheus
 * anchors them, and expands $1, ${1} and $name as Go's regexp.Expand does. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/eval_int.h"
#include "promql/fn.h"

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

static double scalar_arg(struct tg_promql_value *args, uint32_t i)
{
    return args[i].scalar;
}

/* Whether every series of `m` has the same metric name (or none has one). The series of
 * a selector or subquery have distinct label sets, so dropping one name they all share
 * cannot make two of them equal: the duplicate check, a hash of every label set at every
 * step, can be skipped. */
static bool one_name(const struct tg_promql_matrix *m)
{
    const char *first = m->n ? tg_labels_get(&m->v[0].labels, "__name__") : "";
    for (size_t i = 1; i < m->n; i++) {
        const struct tg_labels *ls = &m->v[i].labels;
        /* Sorted sets: __name__, when present, comes first ("_" sorts before letters). */
        const char *name = ls->n && strcmp(ls->v[0].name, "__name__") == 0 ? ls->v[0].value : "";
        if (strcmp(name, first) != 0)
            return false;
    }
    return true;
}

/* The labels of a range function's output for input series `ls` (number `pos`): without
 * the name. For a stable matrix, the node's memo works them out once per query and gives
 * equal label sets one group id, so that a duplicate shows as a group met twice in one
 * evaluation (-1 when the group is new to this one, as tg_promql__memo_slot); otherwise
 * they go to the step arena and *dup is left to the caller's check. */
static struct tg_labels no_name(struct tg_promql__ev *ev, struct tg_promql__memo *memo,
                                const struct tg_labels *ls, size_t pos, size_t nout, long *dup)
{
    if (!memo)
        return tg_promql_drop_name(ev->sa, ls);
    bool fresh;
    struct tg_promql__memo_in *in = tg_promql__memo_input(ev, memo, ls, pos, &fresh);
    if (fresh) {
        struct tg_labels out = tg_promql_drop_name(ev->qa, ls);
        size_t len = tg_promql_labels_key(&out, &ev->sig, &ev->sigcap);
        in->gid = tg_promql__memo_group(ev, memo, ev->sig, len, &fresh);
        if (fresh)
            memo->groups[in->gid].labels = out;
    }
    *dup = tg_promql__memo_slot(memo, in->gid, nout);
    return memo->groups[in->gid].labels;
}

/* A function over one range argument, once per series in the window. */
static int range_fn(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                    uint32_t mi, struct tg_promql_value *args, struct tg_promql_value *out)
{
    enum tg_promql_func_id id = n->u.call.func->id;
    struct tg_promql_matrix m;
    int64_t mint, maxt, range;
    int rc = tg_promql__eval_range_arg(ev, n->u.call.args[mi], ts, &m, &mint, &maxt, &range);
    if (rc < 0)
        return rc;
    out->type = TG_PROMQL_VVECTOR;
    if (id == TG_PROMQL_FN_ABSENT_OVER_TIME)
        return 0; /* handled by the caller, which needs only whether m is empty */
    /* The series of a selector or a subquery have distinct label sets: last_over_time,
     * which keeps them, needs no duplicate check, and no_name's memo does the others'. */
    struct tg_promql__memo *memo = m.stable ? tg_promql__memo_begin(ev, n) : NULL;
    out->vec.stable = memo || (m.stable && id == TG_PROMQL_FN_LAST_OVER_TIME);
    for (size_t i = 0; i < m.n; i++) {
        const struct tg_sample *s = m.v[i].s;
        size_t ns = m.v[i].n;
        bool may_drop = !m.v[i].no_drop;
        double v = 0;
        bool ok = true;
        switch (id) {
        case TG_PROMQL_FN_RATE:
            ok = tg_promql_extrapolated_rate(s, ns, mint, maxt, range, true, true, may_drop, &v);
            break;
        case TG_PROMQL_FN_INCREASE:
            ok = tg_promql_extrapolated_rate(s, ns, mint, maxt, range, true, false, may_drop,
                                             &v);
            break;
        case TG_PROMQL_FN_DELTA:
            ok = tg_promql_extrapolated_rate(s, ns, mint, maxt, range, false, false, true,
                                             &v);
            break;
        case TG_PROMQL_FN_IRATE:
            ok = tg_promql_instant_value(s, ns, true, &v);
            break;
        case TG_PROMQL_FN_IDELTA:
            ok = tg_promql_instant_value(s, ns, false, &v);
            break;
        case TG_PROMQL_FN_RESETS:
            v = may_drop ? tg_promql_resets(s, ns) : 0;
            break;
        case TG_PROMQL_FN_CHANGES:
            v = tg_promql_changes(s, ns);
            break;
        case TG_PROMQL_FN_DERIV: {
            double icpt;
            ok = ns >= 2;
            if (ok)
                tg_promql_linreg(s, ns, s[0].t, &v, &icpt);
            break;
        }
        case TG_PROMQL_FN_PREDICT_LINEAR: {
            double slope, icpt;
            ok = ns >= 2;
            if (ok) {
                tg_promql_linreg(s, ns, ts, &slope, &icpt);
                v = slope * scalar_arg(args, 1) + icpt;
            }
            break;
        }
        case TG_PROMQL_FN_HOLT_WINTERS: {
            double sf = scalar_arg(args, 1), tf = scalar_arg(args, 2);
            if (sf <= 0 || sf >= 1)
                return tg_errbuf_set(ev->eb, TG_EEXEC,
                                     "invalid smoothing factor. Expected: 0 < sf < 1, got: %f",
                                     sf);
            if (tf <= 0 || tf >= 1)
                return tg_errbuf_set(ev->eb, TG_EEXEC,
                                     "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
            ok = tg_promql_holt_winters(s, ns, sf, tf, &v);
            break;
        }
        case TG_PROMQL_FN_AVG_OVER_TIME:
            v = tg_promql_avg_over_time(s, ns);
            break;
        case TG_PROMQL_FN_SUM_OVER_TIME:
            v = tg_promql_sum_over_time(s, ns);
            break;
        case TG_PROMQL_FN_MIN_OVER_TIME:
            v = tg_promql_min_over_time(s, ns);
            break;
        case TG_PROMQL_FN_MAX_OVER_TIME:
            v = tg_promql_max_over_time(s, ns);
            break;
        case TG_PROMQL_FN_COUNT_OVER_TIME:
            v = (double)ns;
            break;
        case TG_PROMQL_FN_LAST_OVER_TIME:
            v = s[ns - 1].v;
            break;
        case TG_PROMQL_FN_PRESENT_OVER_TIME:
            v = 1;
            break;
        case TG_PROMQL_FN_STDVAR_OVER_TIME:
            v = tg_promql_stdvar_over_time(s, ns);
            break;
        case TG_PROMQL_FN_STDDEV_OVER_TIME:
            v = sqrt(tg_promql_stdvar_over_time(s, ns));
            break;
        case TG_PROMQL_FN_QUANTILE_OVER_TIME: {
            double *vals = tg_promql_alloc(ev->sa, (ns + 1) * sizeof *vals);
            for (size_t j = 0; j < ns; j++)
                vals[j] = s[j].v;
            v = tg_promql_quantile(scalar_arg(args, 0), vals, ns);
            break;
        }
        default:
            return tg_errbuf_set(ev->eb, TG_EEXEC, "function %s is not supported",
                                 n->u.call.func->name);
        }
        if (!ok)
            continue;
        long dup = -1;
        struct tg_labels ls = id == TG_PROMQL_FN_LAST_OVER_TIME
                                  ? m.v[i].labels
                                  : no_name(ev, memo, &m.v[i].labels, i, out->vec.n, &dup);
        if (dup >= 0)
            return tg_errbuf_set(ev->eb, TG_EEXEC,
                                 "vector cannot contain metrics with the same labelset");
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        o->labels = ls;
        o->t = ts;
        o->v = v;
    }
    if (memo || id == TG_PROMQL_FN_LAST_OVER_TIME)
        return 0;
    return one_name(&m) ? 0 : tg_promql__check_dups(ev, &out->vec);
}

/* The labels absent() and absent_over_time() give: those set by equality matchers of
 * the selector argument, except a name matched more than once or otherwise. */
static struct tg_labels absent_labels(struct tg_promql__ev *ev, const struct tg_promql_node *a)
{
    struct tg_labels none = {0};
    a = tg_promql__unparen(a);
    if (a->kind == TG_PROMQL_MATRIX_SEL)
        a = a->u.ms.vs;
    if (a->kind != TG_PROMQL_VECTOR_SEL)
        return none;
    tg_promql_lb_reset(&ev->lb, NULL);
    const struct tg_promql_vector_sel *vs = &a->u.vs;
    const char **has = tg_promql_alloc(ev->sa, (vs->nmatchers + 1) * sizeof *has);
    size_t nhas = 0;
    for (uint32_t i = 0; i < vs->nmatchers; i++) {
        const struct tg_matcher *m = &vs->matchers[i];
        if (strcmp(m->name, "__name__") == 0)
            continue;
        bool seen = false;
        for (size_t j = 0; j < nhas; j++)
            seen |= strcmp(has[j], m->name) == 0;
        if (m->type == TG_MATCH_EQUAL && !seen) {
            tg_promql_lb_set(&ev->lb, m->name, m->value);
            has[nhas++] = m->name;
        } else {
            tg_promql_lb_del(&ev->lb, m->name);
        }
    }
    return tg_promql_lb_labels(&ev->lb, ev->sa);
}

/* Go's regexp.Expand for `tmpl` over a match of `src`. */
static char *expand(struct tg_promql__ev *ev, pcre2_code *re, const char *tmpl, const char *src,
                    const PCRE2_SIZE *ov, uint32_t ngroups)
{
    size_t cap = strlen(tmpl) + strlen(src) * 4 + 16, len = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
#define PUTN(p, n)                                                                          \
    do {                                                                                    \
        size_t n_ = (n);                                                                    \
        if (len + n_ + 1 > cap) {                                                           \
            cap = (len + n_ + 1) * 2;                                                       \
            char *o_ = realloc(out, cap);                                                   \
            if (!o_)                                                                        \
                abort();                                                                    \
            out = o_;                                                                       \
        }                                                                                   \
        memcpy(out + len, (p), n_);                                                         \
        len += n_;                                                                          \
    } while (0)
    const char *t = tmpl;
    while (*t) {
        const char *d = strchr(t, '$');
        if (!d) {
            PUTN(t, strlen(t));
            break;
        }
        PUTN(t, (size_t)(d - t));
        t = d + 1;
        if (*t == '$') {
            PUTN("$", 1);
            t++;
            continue;
        }
        bool brace = *t == '{';
        const char *nm = brace ? t + 1 : t;
        size_t nl = 0;
        while (nm[nl] && (nm[nl] == '_' || (nm[nl] >= '0' && nm[nl] <= '9') ||
                          (nm[nl] >= 'a' && nm[nl] <= 'z') || (nm[nl] >= 'A' && nm[nl] <= 'Z')))
            nl++;
        if (nl == 0 || (brace && nm[nl] != '}')) {
            PUTN("$", 1); /* malformed: the $ is text */
            continue;
        }
        t = nm + nl + (brace ? 1 : 0);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)nl, nm);
        long num = -1;
        if (strspn(name, "0123456789") == nl && nl < 9)
            num = strtol(name, NULL, 10);
        else
            num = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
        if (num >= 0 && (uint32_t)num < ngroups && ov[2 * num] != PCRE2_UNSET)
            PUTN(src + ov[2 * num], ov[2 * num + 1] - ov[2 * num]);
    }
#undef PUTN
    out[len] = 0;
    char *r = tg_promql_strdup(ev->sa, out);
    free(out);
    return r;
}

static const char *str_arg(const struct tg_promql_node *n, uint32_t i)
{
    return tg_promql__unparen(n->u.call.args[i])->u.string.s;
}

static int label_replace(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                         struct tg_promql_vector *in, struct tg_promql_value *out)
{
    const char *dst = str_arg(n, 1), *repl = str_arg(n, 2), *src = str_arg(n, 3);
    const char *pat = str_arg(n, 4);
    size_t plen = strlen(pat) + 8;
    char *full = tg_promql_alloc(ev->sa, plen);
    snprintf(full, plen, "^(?:%s)$", pat);
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)full, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &err, &off, NULL);
    if (!re)
        return tg_errbuf_set(ev->eb, TG_EEXEC,
                             "invalid regular expression in label_replace(): %s", pat);
    int rc = 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!valid_label_name(dst)) {
        rc = tg_errbuf_set(ev->eb, TG_EEXEC,
                           "invalid destination label name in label_replace(): %s", dst);
        goto done;
    }
    for (size_t i = 0; i < in->n; i++) {
        struct tg_promql_sample s = in->v[i];
        const char *sv = tg_labels_get(&s.labels, src);
        int m = pcre2_match(re, (PCRE2_SPTR)sv, strlen(sv), 0, 0, md, NULL);
        if (m > 0) {
            const char *res = expand(ev, re, repl, sv, pcre2_get_ovector_pointer(md),
                                     pcre2_get_ovector_count(md));
            tg_promql_lb_reset(&ev->lb, &s.labels);
            tg_promql_lb_set(&ev->lb, dst, res);
            s.labels = tg_promql_lb_labels(&ev->lb, ev->sa);
        }
        *tg_promql_vec_push(ev->sa, &out->vec) = s;
    }
    rc = tg_promql__check_dups(ev, &out->vec);
done:
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

static int label_join(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                      struct tg_promql_vector *in, struct tg_promql_value *out)
{
    const char *dst = str_arg(n, 1), *sep = str_arg(n, 2);
    uint32_t nsrc = n->u.call.nargs - 3;
    for (uint32_t j = 0; j < nsrc; j++)
        if (!valid_label_name(str_arg(n, 3 + j)))
            return tg_errbuf_set(ev->eb, TG_EEXEC,
                                 "invalid source label name in label_join(): %s",
                                 str_arg(n, 3 + j));
    if (!valid_label_name(dst))
        return tg_errbuf_set(ev->eb, TG_EEXEC,
                             "invalid destination label name in label_join(): %s", dst);
    for (size_t i = 0; i < in->n; i++) {
        struct tg_promql_sample s = in->v[i];
        size_t len = 0;
        for (uint32_t j = 0; j < nsrc; j++)
            len += strlen(tg_labels_get(&s.labels, str_arg(n, 3 + j))) + strlen(sep);
        char *joined = tg_promql_alloc(ev->sa, len + 1);
        for (uint32_t j = 0; j < nsrc; j++) {
            if (j)
                strcat(joined, sep);
            strcat(joined, tg_labels_get(&s.labels, str_arg(n, 3 + j)));
        }
        tg_promql_lb_reset(&ev->lb, &s.labels);
        tg_promql_lb_set(&ev->lb, dst, joined);
        s.labels = tg_promql_lb_labels(&ev->lb, ev->sa);
        *tg_promql_vec_push(ev->sa, &out->vec) = s;
    }
    return tg_promql__check_dups(ev, &out->vec);
}

/* Go's strconv.ParseFloat, as histogram_quantile reads `le`. */
static bool parse_le(const char *s, double *out)
{
    if (!*s || *s == ' ' || *s == '\t' || *s == '\n')
        return false;
    char *end;
    *out = strtod(s, &end);
    return *end == 0;
}

/* A bucket's le bound, and the signature of its group in ev->sig (its length returned):
 * buckets are grouped by every label but le, the name included. `*key` gets the labels
 * without le, in `arena`. -1 when le is not a number. */
static long bucket_key(struct tg_promql__ev *ev, const struct tg_labels *ls,
                       struct tg_promql_arena *arena, double *le, struct tg_labels *key)
{
    if (!parse_le(tg_labels_get(ls, "le"), le))
        return -1;
    tg_promql_lb_reset(&ev->lb, ls);
    tg_promql_lb_del(&ev->lb, "le");
    *key = tg_promql_lb_labels(&ev->lb, arena);
    return (long)tg_promql_labels_key(key, &ev->sig, &ev->sigcap);
}

/* The index of a bucket's group among the `ng` of this evaluation, `ng` for a new group
 * (whose output labels, without le and the name, go to `*labels`), -1 to skip it. */
static long bucket_group(struct tg_promql__ev *ev, struct tg_promql_map *idx, size_t ng,
                         const struct tg_labels *ls, double *le, struct tg_labels *labels)
{
    struct tg_labels key;
    long len = bucket_key(ev, ls, ev->sa, le, &key);
    if (len < 0)
        return -1;
    long g = tg_promql_map_get(ev->sa, idx, ev->sig, (size_t)len, (long)ng);
    if (g < 0) {
        g = (long)ng;
        *labels = tg_promql_drop_name(ev->sa, &key);
    }
    return g;
}

/* The same through the node's memo, for stable inputs: each input's labels are read once
 * per query, and its group is numbered again in each evaluation by first appearance. */
static long bucket_group_memo(struct tg_promql__ev *ev, struct tg_promql__memo *memo, size_t ng,
                              const struct tg_labels *ls, size_t pos, double *le,
                              struct tg_labels *labels)
{
    bool fresh;
    struct tg_promql__memo_in *in = tg_promql__memo_input(ev, memo, ls, pos, &fresh);
    if (fresh) {
        struct tg_labels key;
        long len = bucket_key(ev, ls, ev->qa, &in->le, &key);
        if (len >= 0) {
            in->gid = tg_promql__memo_group(ev, memo, ev->sig, (size_t)len, &fresh);
            if (fresh)
                memo->groups[in->gid].labels = tg_promql_drop_name(ev->qa, &key);
        }
    }
    if (in->gid < 0)
        return -1;
    *le = in->le;
    long slot = tg_promql__memo_slot(memo, in->gid, ng);
    if (slot < 0) {
        slot = (long)ng;
        *labels = memo->groups[in->gid].labels;
    }
    return slot;
}

static int histogram_quantile(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                              double phi, struct tg_promql_vector *in,
                              struct tg_promql_value *out)
{
    struct tg_promql_map idx = {0};
    struct tg_promql__memo *memo = in->stable ? tg_promql__memo_begin(ev, n) : NULL;
    out->vec.stable = memo != NULL;
    size_t ng = 0;
    struct tg_labels *labels = tg_promql_alloc(ev->sa, (in->n + 1) * sizeof *labels);
    struct tg_promql_bucket *b = tg_promql_alloc(ev->sa, (in->n + 1) * sizeof *b);
    size_t *group = tg_promql_alloc(ev->sa, (in->n + 1) * sizeof *group);
    size_t nb = 0;
    for (size_t i = 0; i < in->n; i++) {
        double le;
        const struct tg_labels *ls = &in->v[i].labels;
        long g = memo ? bucket_group_memo(ev, memo, ng, ls, i, &le, &labels[ng])
                      : bucket_group(ev, &idx, ng, ls, &le, &labels[ng]);
        if (g < 0)
            continue;
        if ((size_t)g == ng)
            ng++;
        b[nb].upper = le;
        b[nb].count = in->v[i].v;
        group[nb++] = (size_t)g;
    }
    out->type = TG_PROMQL_VVECTOR;
    /* Buckets gathered by group with a counting sort, keeping their input order within a
     * group: one pass, where a scan of all buckets per group costs groups x buckets. */
    size_t *first = tg_promql_alloc(ev->sa, (ng + 1) * sizeof *first);
    for (size_t i = 0; i < nb; i++)
        first[group[i] + 1]++;
    for (size_t g = 0; g < ng; g++)
        first[g + 1] += first[g];
    struct tg_promql_bucket *gb = tg_promql_alloc(ev->sa, (nb + 1) * sizeof *gb);
    size_t *fill = tg_promql_alloc(ev->sa, (ng + 1) * sizeof *fill);
    for (size_t i = 0; i < nb; i++)
        gb[first[group[i]] + fill[group[i]]++] = b[i];
    for (size_t g = 0; g < ng; g++) {
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        o->labels = labels[g];
        o->v = tg_promql_bucket_quantile(phi, gb + first[g], first[g + 1] - first[g]);
    }
    return tg_promql__check_dups(ev, &out->vec);
}

static int cmp_asc(const void *x, const void *y)
{
    double a = ((const struct tg_promql_sample *)x)->v, b = ((const struct tg_promql_sample *)y)->v;
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b); /* NaN last */
    return (a > b) - (a < b);
}

static int cmp_desc(const void *x, const void *y)
{
    double a = ((const struct tg_promql_sample *)x)->v, b = ((const struct tg_promql_sample *)y)->v;
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a < b) - (a > b);
}

/* Elementwise functions of an instant vector: drop the name, map the value. */
static int map_vector(struct tg_promql__ev *ev, const struct tg_promql_node *n,
                      struct tg_promql_value *args, struct tg_promql_value *out)
{
    enum tg_promql_func_id id = n->u.call.func->id;
    const char *name = n->u.call.func->name;
    struct tg_promql_vector *in = &args[0].vec;
    tg_promql_math_fn *f = tg_promql_math_lookup(name);
    if (!f)
        f = tg_promql_date_lookup(name);
    out->type = TG_PROMQL_VVECTOR;
    double lo = -INFINITY, hi = INFINITY, to = 1;
    if (id == TG_PROMQL_FN_CLAMP) {
        lo = scalar_arg(args, 1);
        hi = scalar_arg(args, 2);
        if (hi < lo)
            return 0;
    } else if (id == TG_PROMQL_FN_CLAMP_MIN) {
        lo = scalar_arg(args, 1);
    } else if (id == TG_PROMQL_FN_CLAMP_MAX) {
        hi = scalar_arg(args, 1);
    } else if (id == TG_PROMQL_FN_ROUND && n->u.call.nargs > 1) {
        to = scalar_arg(args, 1);
    }
    double inv = 1.0 / to;
    bool sel_arg = n->u.call.nargs > 0 &&
                   tg_promql__unparen(n->u.call.args[0])->kind == TG_PROMQL_VECTOR_SEL;
    for (size_t i = 0; i < in->n; i++) {
        double v = in->v[i].v;
        switch (id) {
        case TG_PROMQL_FN_CLAMP:
        case TG_PROMQL_FN_CLAMP_MIN:
        case TG_PROMQL_FN_CLAMP_MAX:
            v = fmax(lo, fmin(hi, v));
            /* Go's math.Max/Min return NaN for a NaN argument; fmax/fmin do not. */
            if (isnan(in->v[i].v) || isnan(lo) || isnan(hi))
                v = NAN;
            break;
        case TG_PROMQL_FN_ROUND:
            v = floor(v * inv + 0.5) / inv;
            break;
        case TG_PROMQL_FN_TIMESTAMP:
            /* A selector's samples carry their own times; computed values are at the
             * evaluation time, as Prometheus's range evaluation stamps them. */
            v = (double)(sel_arg ? in->v[i].t : out->t) / 1000;
            break;
        default:
            if (!f)
                return tg_errbuf_set(ev->eb, TG_EEXEC, "function %s is not supported", name);
            v = f(v);
        }
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        o->labels = tg_promql_drop_name(ev->sa, &in->v[i].labels);
        o->v = v;
    }
    return tg_promql__check_dups(ev, &out->vec);
}

int tg_promql__eval_call(struct tg_promql__ev *ev, const struct tg_promql_node *n, int64_t ts,
                         struct tg_promql_value *out)
{
    const struct tg_promql_call *c = &n->u.call;
    enum tg_promql_func_id id = c->func->id;
    struct tg_promql_value args[8] = {{0}};
    int32_t mi = -1;
    out->t = ts;
    if (c->nargs > 8)
        return tg_errbuf_set(ev->eb, TG_EEXEC, "too many arguments");
    for (uint32_t i = 0; i < c->nargs; i++) {
        const struct tg_promql_node *a = c->args[i];
        if (a->type == TG_PROMQL_TYPE_MATRIX) {
            if (mi < 0)
                mi = (int32_t)i;
            continue;
        }
        int rc;
        const struct tg_promql_node *u = tg_promql__unparen(a);
        if (id == TG_PROMQL_FN_TIMESTAMP && u->kind == TG_PROMQL_VECTOR_SEL)
            rc = tg_promql__eval_vector_sel_times(ev, u, ts, &args[i]);
        else
            rc = tg_promql__eval(ev, a, ts, &args[i]);
        if (rc < 0)
            return rc;
    }
    if (mi >= 0) {
        int rc = range_fn(ev, n, ts, (uint32_t)mi, args, out);
        if (rc < 0 || id != TG_PROMQL_FN_ABSENT_OVER_TIME)
            return rc;
        struct tg_promql_matrix m;
        int64_t mint, maxt, range;
        rc = tg_promql__eval_range_arg(ev, c->args[mi], ts, &m, &mint, &maxt, &range);
        if (rc < 0 || m.n)
            return rc;
        struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
        o->labels = absent_labels(ev, c->args[mi]);
        o->v = 1;
        return 0;
    }
    switch (id) {
    case TG_PROMQL_FN_TIME:
        out->type = TG_PROMQL_VSCALAR;
        out->scalar = (double)ts / 1000;
        return 0;
    case TG_PROMQL_FN_PI:
        out->type = TG_PROMQL_VSCALAR;
        out->scalar = M_PI;
        return 0;
    case TG_PROMQL_FN_SCALAR:
        out->type = TG_PROMQL_VSCALAR;
        out->scalar = args[0].vec.n == 1 ? args[0].vec.v[0].v : NAN;
        return 0;
    case TG_PROMQL_FN_VECTOR:
        out->type = TG_PROMQL_VVECTOR;
        tg_promql_vec_push(ev->sa, &out->vec)->v = args[0].scalar;
        return 0;
    case TG_PROMQL_FN_ABSENT:
        out->type = TG_PROMQL_VVECTOR;
        if (args[0].vec.n == 0) {
            struct tg_promql_sample *o = tg_promql_vec_push(ev->sa, &out->vec);
            o->labels = absent_labels(ev, c->args[0]);
            o->v = 1;
        }
        return 0;
    case TG_PROMQL_FN_SORT:
    case TG_PROMQL_FN_SORT_DESC:
        *out = args[0];
        /* An empty vector's array may be NULL, which qsort must not be given even for
         * zero elements. */
        if (out->vec.n > 1)
            qsort(out->vec.v, out->vec.n, sizeof *out->vec.v,
                  id == TG_PROMQL_FN_SORT ? cmp_asc : cmp_desc);
        return 0;
    case TG_PROMQL_FN_LABEL_REPLACE:
        out->type = TG_PROMQL_VVECTOR;
        return label_replace(ev, n, &args[0].vec, out);
    case TG_PROMQL_FN_LABEL_JOIN:
        out->type = TG_PROMQL_VVECTOR;
        return label_join(ev, n, &args[0].vec, out);
    case TG_PROMQL_FN_HISTOGRAM_QUANTILE:
        return histogram_quantile(ev, n, args[0].scalar, &args[1].vec, out);
    case TG_PROMQL_FN_HISTOGRAM_COUNT:
    case TG_PROMQL_FN_HISTOGRAM_SUM:
    case TG_PROMQL_FN_HISTOGRAM_FRACTION:
        /* Native histograms only: float samples give nothing. */
        out->type = TG_PROMQL_VVECTOR;
        return 0;
    default:
        break;
    }
    if (c->nargs == 0 && tg_promql_date_lookup(c->func->name)) {
        out->type = TG_PROMQL_VVECTOR;
        tg_promql_vec_push(ev->sa, &out->vec)->v =
            tg_promql_date_lookup(c->func->name)((double)(ts / 1000));
        return 0;
    }
    return map_vector(ev, n, args, out);
}
