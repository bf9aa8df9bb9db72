/* SPDX-License-Identifier: MIT */
/* Runs Prometheus's PromQL test files (the 2.42 test language: load with the expanding
 * series notation, clear, eval / eval_fail / eval_ordered instant at) against the
 * tailguard parser and evaluator, the way Prometheus's own runner does: each eval is
 * checked as an instant query, then as a range query over [t - 1m, t + 1m] whose point
 * at t must agree, and again with @ t pinned on its selectors at other evaluation times
 * (unless it uses a function that reads the evaluation time). Values compare to 1e-6
 * relative, as Prometheus's runner does.
 *
 * Usage: promql_runner FILE.test...; prints passed/failed/skipped per file and exits 1 on
 * any failure. Native-histogram cases (values written {{...}}) are skipped with the
 * reason printed. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memstore.h"
#include "promql/eval.h"
#include "promql/parse.h"
#include "promql/value.h"

#define EPSILON 0.000001

struct counts {
    int passed, failed, skipped;
};

struct expect {
    bool has_labels; /* false: a scalar */
    struct tg_labels labels;
    double v;
};

struct evalcmd {
    bool fail, ordered;
    int64_t t;
    const char *expr;
    int line;
    struct expect *e;
    size_t ne;
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Prometheus's model.ParseDuration: [0-9]+ units y w d h m s ms, in that order. */
static bool parse_duration(const char *s, size_t len, int64_t *ms)
{
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000},
                 {"h", 3600000},          {"ms", 1},            {"m", 60000},
                 {"s", 1000}};
    const char *p = s, *end = s + len;
    *ms = 0;
    if (p == end)
        return false;
    if (len == 1 && *p == '0')
        return true;
    while (p < end) {
        if (!isdigit((unsigned char)*p))
            return false;
        int64_t n = 0;
        while (p < end && isdigit((unsigned char)*p))
            n = n * 10 + (*p++ - '0');
        size_t k = 0;
        for (; k < sizeof units / sizeof *units; k++) {
            size_t ul = strlen(units[k].u);
            if ((size_t)(end - p) >= ul && strncmp(p, units[k].u, ul) == 0 &&
                !(ul == 1 && units[k].u[0] == 'm' && p + 1 < end && p[1] == 's'))
                break;
        }
        if (k == sizeof units / sizeof *units)
            return false;
        *ms += n * units[k].ms;
        p += strlen(units[k].u);
    }
    return true;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A metric name and/or {label="value", ...} at *p, into `lb`. */
static bool parse_metric(const char **pp, struct tg_promql_arena *a, struct tg_promql_lb *lb)
{
    const char *p = *pp;
    tg_promql_lb_reset(lb, NULL);
    const char *n0 = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
        p++;
    if (p > n0)
        tg_promql_lb_set(lb, "__name__", tg_promql_strndup(a, n0, (size_t)(p - n0)));
    if (*p == '{') {
        p++;
        for (;;) {
            p = skip_ws(p);
            if (*p == '}') {
                p++;
                break;
            }
            const char *k0 = p;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            char *name = tg_promql_strndup(a, k0, (size_t)(p - k0));
            p = skip_ws(p);
            if (*p++ != '=')
                return false;
            p = skip_ws(p);
            char q = *p++;
            if (q != '"' && q != '\'')
                return false;
            char *val = tg_promql_alloc(a, strlen(p) + 1);
            size_t vl = 0;
            while (*p && *p != q) {
                if (*p == '\\' && p[1]) {
                    p++;
                    val[vl++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                    p++;
                } else {
                    val[vl++] = *p++;
                }
            }
            if (*p++ != q)
                return false;
            tg_promql_lb_set(lb, name, val);
            p = skip_ws(p);
            if (*p == ',')
                p++;
        }
    }
    if (p == *pp)
        return false;
    *pp = p;
    return true;
}

/* A number as the series notation writes it: no hex (0x10 is 0 repeated 10 times). */
static bool parse_number(const char **pp, double *v)
{
    const char *p = *pp, *s = p;
    if (*p == '+' || *p == '-')
        p++;
    if (strncasecmp(p, "inf", 3) == 0 || strncasecmp(p, "nan", 3) == 0) {
        p += 3;
    } else {
        const char *d = p;
        while (isdigit((unsigned char)*p) || *p == '.')
            p++;
        if (p == d)
            return false;
        if ((*p == 'e' || *p == 'E') &&
            (isdigit((unsigned char)p[1]) ||
             ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
            p += 2;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(p - s), s);
    *v = strtod(tmp, NULL);
    *pp = p;
    return true;
}

struct seqval {
    bool omitted;
    double v;
};

/* The values of a series description: `1 2 _ stale 0+10x5 1-1x3 _x4 3x2`. Returns the
 * count written to `out` (grown with realloc), or -1 on a syntax error. */
static long parse_values(const char *p, struct seqval **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
#define PUSH(o, x)                                                                          \
    do {                                                                                    \
        if (n == cap) {                                                                     \
            cap = cap ? cap * 2 : 64;                                                       \
            *out = realloc(*out, cap * sizeof **out);                                       \
            if (!*out)                                                                      \
                abort();                                                                    \
        }                                                                                   \
        (*out)[n].omitted = (o);                                                            \
        (*out)[n++].v = (x);                                                                \
    } while (0)
    for (;;) {
        p = skip_ws(p);
        if (!*p)
            break;
        if (*p == '_') {
            p++;
            long times = 1;
            if (*p == 'x') {
                times = strtol(p + 1, (char **)&p, 10);
            }
            for (long i = 0; i < times; i++)
                PUSH(true, 0);
            continue;
        }
        if (strncmp(p, "stale", 5) == 0) {
            p += 5;
            PUSH(false, tg_stale_nan());
            continue;
        }
        double a, b = 0;
        if (!parse_number(&p, &a))
            return -1;
        if (*p == '+' || *p == '-') {
            if (!parse_number(&p, &b))
                return -1;
            if (*p != 'x')
                return -1;
        }
        if (*p == 'x') {
            long times = strtol(p + 1, (char **)&p, 10);
            for (long i = 0; i <= times; i++) {
                PUSH(false, a);
                a += b;
            }
            continue;
        }
        PUSH(false, a);
    }
#undef PUSH
    return (long)n;
}

static bool almost_equal(double a, double b)
{
    const double min_normal = 2.2250738585072014e-308;
    if (isnan(a) && isnan(b))
        return true;
    if (a == b)
        return true;
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || diff < min_normal)
        return diff < EPSILON * min_normal;
    return diff / (fabs(a) + fabs(b)) < EPSILON;
}

static char errmsg[1024];

/* Puts `pfx` in front of errmsg. */
static void prefix_err(const char *pfx)
{
    char m[sizeof errmsg + 128];
    snprintf(m, sizeof m, "%s%s", pfx, errmsg);
    m[sizeof errmsg - 1] = 0;
    memcpy(errmsg, m, sizeof errmsg);
}

/* Compares a vector or scalar result with the expectations, as Prometheus's
 * compareResult does. */
static bool compare(const struct evalcmd *c, const struct tg_promql_value *v)
{
    char lb[512];
    if (v->type == TG_PROMQL_VMATRIX) {
        snprintf(errmsg, sizeof errmsg, "received range result on instant evaluation");
        return false;
    }
    if (v->type == TG_PROMQL_VSCALAR) {
        if (c->ne != 1 || c->e[0].has_labels || !almost_equal(c->e[0].v, v->scalar)) {
            snprintf(errmsg, sizeof errmsg, "expected scalar %g but got %g",
                     c->ne ? c->e[0].v : NAN, v->scalar);
            return false;
        }
        return true;
    }
    if (v->type != TG_PROMQL_VVECTOR) {
        snprintf(errmsg, sizeof errmsg, "unexpected result type %d", v->type);
        return false;
    }
    bool *seen = calloc(c->ne + 1, 1);
    bool ok = true;
    for (size_t i = 0; i < v->vec.n && ok; i++) {
        size_t j = 0;
        while (j < c->ne && !(c->e[j].has_labels &&
                              tg_promql_labels_equal(&c->e[j].labels, &v->vec.v[i].labels)))
            j++;
        tg_promql_labels_format(&v->vec.v[i].labels, lb, sizeof lb);
        if (j == c->ne) {
            snprintf(errmsg, sizeof errmsg, "unexpected metric %s in result", lb);
            ok = false;
        } else if (c->ordered && j != i) {
            snprintf(errmsg, sizeof errmsg, "expected metric %s at position %zu but was at %zu",
                     lb, j + 1, i + 1);
            ok = false;
        } else if (!almost_equal(c->e[j].v, v->vec.v[i].v)) {
            snprintf(errmsg, sizeof errmsg, "expected %g for %s but got %g", c->e[j].v, lb,
                     v->vec.v[i].v);
            ok = false;
        }
        if (ok)
            seen[j] = true;
    }
    for (size_t j = 0; j < c->ne && ok; j++) {
        if (!seen[j]) {
            tg_promql_labels_format(&c->e[j].labels, lb, sizeof lb);
            snprintf(errmsg, sizeof errmsg, "expected metric %s with %g not found", lb,
                     c->e[j].v);
            ok = false;
        }
    }
    free(seen);
    return ok;
}

static bool unsafe_for_at(const struct tg_promql_node *n)
{
    if (!n)
        return false;
    switch (n->kind) {
    case TG_PROMQL_CALL: {
        static const char *const unsafe[] = {
            "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour",
            "minute",        "month",        "year",        "predict_linear", "time",
            "timestamp"};
        for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++)
            if (strcmp(n->u.call.func->name, unsafe[i]) == 0)
                return true;
        for (uint32_t i = 0; i < n->u.call.nargs; i++)
            if (unsafe_for_at(n->u.call.args[i]))
                return true;
        return false;
    }
    case TG_PROMQL_MATRIX_SEL:
        return unsafe_for_at(n->u.ms.vs);
    case TG_PROMQL_SUBQUERY:
        return unsafe_for_at(n->u.sq.expr);
    case TG_PROMQL_UNARY:
        return unsafe_for_at(n->u.unary.expr);
    case TG_PROMQL_BINARY:
        return unsafe_for_at(n->u.bin.lhs) || unsafe_for_at(n->u.bin.rhs);
    case TG_PROMQL_AGGREGATE:
        return unsafe_for_at(n->u.agg.expr) || unsafe_for_at(n->u.agg.param);
    case TG_PROMQL_PAREN:
        return unsafe_for_at(n->u.paren);
    default:
        return false;
    }
}

/* Pins @ t on every selector and outermost subquery that has none, as Prometheus's runner
 * does for its @ variants; selectors inside subqueries are left alone. */
static void pin_at(struct tg_promql_node *n, int64_t t)
{
    if (!n)
        return;
    switch (n->kind) {
    case TG_PROMQL_VECTOR_SEL:
        if (n->u.vs.at.kind == TG_PROMQL_AT_NONE) {
            n->u.vs.at.kind = TG_PROMQL_AT_TIME;
            n->u.vs.at.at_ms = t;
        }
        break;
    case TG_PROMQL_MATRIX_SEL:
        pin_at(n->u.ms.vs, t);
        break;
    case TG_PROMQL_SUBQUERY:
        if (n->u.sq.at.kind == TG_PROMQL_AT_NONE) {
            n->u.sq.at.kind = TG_PROMQL_AT_TIME;
            n->u.sq.at.at_ms = t;
        }
        break;
    case TG_PROMQL_CALL:
        for (uint32_t i = 0; i < n->u.call.nargs; i++)
            pin_at(n->u.call.args[i], t);
        break;
    case TG_PROMQL_UNARY:
        pin_at(n->u.unary.expr, t);
        break;
    case TG_PROMQL_BINARY:
        pin_at(n->u.bin.lhs, t);
        pin_at(n->u.bin.rhs, t);
        break;
    case TG_PROMQL_AGGREGATE:
        pin_at(n->u.agg.expr, t);
        pin_at(n->u.agg.param, t);
        break;
    case TG_PROMQL_PAREN:
        pin_at(n->u.paren, t);
        break;
    default:
        break;
    }
}

static const struct tg_promql_opts opts = {.subquery_step_ms = 60000, .max_samples = 10000};

/* One evaluation time of one eval command: instant, then range mode. */
static bool run_one(const struct evalcmd *c, const struct tg_queryable *q,
                    const struct tg_promql_node *expr, int64_t t)
{
    struct tg_errbuf eb = {0};
    struct tg_promql_result res = {0};
    int rc = tg_promql_eval_instant(q, expr, t, &opts, &res, &eb);
    bool ok;
    if (rc < 0) {
        ok = c->fail;
        if (!ok)
            snprintf(errmsg, sizeof errmsg, "error evaluating query: %s", eb.msg);
        tg_promql_result_free(&res);
        return ok;
    }
    if (c->fail) {
        snprintf(errmsg, sizeof errmsg, "expected error evaluating query but got none");
        tg_promql_result_free(&res);
        return false;
    }
    ok = compare(c, &res.value);
    enum tg_promql_vtype type = res.value.type;
    tg_promql_result_free(&res);
    if (!ok)
        return false;
    struct tg_promql_result rr = {0};
    rc = tg_promql_eval_range(q, expr, t - 60000, t + 60000, 60000, &opts, &rr, &eb);
    if (rc < 0) {
        snprintf(errmsg, sizeof errmsg, "error in range mode: %s", eb.msg);
        tg_promql_result_free(&rr);
        return false;
    }
    if (!c->ordered) {
        struct tg_promql_value v = {0};
        v.type = type == TG_PROMQL_VSCALAR ? TG_PROMQL_VSCALAR : TG_PROMQL_VVECTOR;
        for (size_t i = 0; i < rr.value.mat.n; i++) {
            const struct tg_promql_series *s = &rr.value.mat.v[i];
            for (size_t j = 0; j < s->n; j++) {
                if (s->s[j].t != t)
                    continue;
                struct tg_promql_sample *o = tg_promql_vec_push(&rr.arena, &v.vec);
                o->labels = s->labels;
                o->v = s->s[j].v;
                v.scalar = s->s[j].v;
                break;
            }
        }
        ok = compare(c, &v);
        if (!ok)
            prefix_err("range mode: ");
    }
    tg_promql_result_free(&rr);
    return ok;
}

static bool run_eval(const struct evalcmd *c, const struct tg_queryable *q)
{
    struct tg_errbuf eb = {0};
    struct tg_promql_node *expr = NULL;
    if (tg_promql_parse(c->expr, strlen(c->expr), &expr, &eb) < 0) {
        snprintf(errmsg, sizeof errmsg, "parse error: %s", eb.msg);
        return false;
    }
    bool ok = run_one(c, q, expr, c->t);
    if (ok && !unsafe_for_at(expr)) {
        pin_at(expr, c->t);
        int64_t ts[5] = {-10 * c->t, 0, c->t / 5, c->t, 10 * c->t};
        size_t nts = 5;
        if (c->t == 0) {
            ts[0] = -1000, ts[1] = 0, ts[2] = 1000;
            nts = 3;
        }
        for (size_t i = 0; i < nts && ok; i++) {
            ok = run_one(c, q, expr, ts[i]);
            if (!ok) {
                char pfx[64];
                snprintf(pfx, sizeof pfx, "with @ pinned, at %lld ms: ", (long long)ts[i]);
                prefix_err(pfx);
            }
        }
    }
    tg_promql_node_free(expr);
    return ok;
}

/* Lines trimmed, comments blanked, as Prometheus's getLines does. */
static char **split_lines(char *buf, size_t *n)
{
    size_t cap = 256;
    char **lines = malloc(cap * sizeof *lines);
    *n = 0;
    for (char *p = buf; p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        size_t l = strlen(p);
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r'))
            p[--l] = 0;
        if (*p == '#')
            *p = 0;
        if (*n == cap)
            lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[(*n)++] = p;
        p = nl ? nl + 1 : NULL;
    }
    return lines;
}

static int run_load(char **lines, size_t nlines, size_t *i, struct memstore *ms,
                    struct tg_promql_arena *a, struct tg_promql_lb *lb)
{
    const char *p = skip_ws(lines[*i] + 4);
    int64_t gap;
    if (!parse_duration(p, strlen(p), &gap))
        return -1;
    while (*i + 1 < nlines && *lines[*i + 1]) {
        (*i)++;
        const char *s = lines[*i];
        if (!parse_metric(&s, a, lb))
            return -1;
        struct tg_labels ls = tg_promql_lb_labels(lb, a);
        struct seqval *vals;
        long nv = parse_values(s, &vals);
        if (nv < 0)
            return -1;
        for (long k = 0; k < nv; k++)
            if (!vals[k].omitted)
                memstore_add(ms, &ls, k * gap, vals[k].v);
        free(vals);
    }
    return 0;
}

static void run_file(const char *path, struct counts *cnt)
{
    char *buf = read_file(path);
    if (!buf) {
        fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
        cnt->failed++;
        return;
    }
    size_t nlines;
    char **lines = split_lines(buf, &nlines);
    struct memstore *ms = memstore_new();
    struct tg_queryable q = memstore_queryable(ms);
    struct tg_promql_arena a = {0};
    struct tg_promql_lb lb = {0};
    for (size_t i = 0; i < nlines; i++) {
        char *l = lines[i];
        if (!*l)
            continue;
        if (strncmp(l, "clear", 5) == 0) {
            memstore_clear(ms);
            continue;
        }
        if (strncmp(l, "load", 4) == 0) {
            bool native = false;
            for (size_t j = i + 1; j < nlines && *lines[j]; j++)
                native |= strstr(lines[j], "{{") != NULL;
            if (native) {
                printf("  skip line %zu: load of native histograms\n", i + 1);
                while (i + 1 < nlines && *lines[i + 1])
                    i++;
                continue;
            }
            if (run_load(lines, nlines, &i, ms, &a, &lb) < 0) {
                printf("  FAIL line %zu: cannot parse load\n", i + 1);
                cnt->failed++;
            }
            continue;
        }
        if (strncmp(l, "eval", 4) != 0) {
            printf("  FAIL line %zu: unknown command %s\n", i + 1, l);
            cnt->failed++;
            continue;
        }
        struct evalcmd c = {0};
        c.line = (int)i + 1;
        char *p = l + 4;
        if (strncmp(p, "_fail", 5) == 0)
            c.fail = true, p += 5;
        else if (strncmp(p, "_ordered", 8) == 0)
            c.ordered = true, p += 8;
        p = (char *)skip_ws(p);
        if (strncmp(p, "instant", 7) != 0) {
            printf("  FAIL line %d: only instant evaluation is supported\n", c.line);
            cnt->failed++;
            continue;
        }
        p = (char *)skip_ws(p + 7);
        if (strncmp(p, "at", 2) == 0) {
            p = (char *)skip_ws(p + 2);
            char *d = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            if (!parse_duration(d, (size_t)(p - d), &c.t)) {
                printf("  FAIL line %d: bad time\n", c.line);
                cnt->failed++;
                continue;
            }
        }
        c.expr = skip_ws(p);
        bool native = false, bad = false;
        c.e = calloc(nlines, sizeof *c.e);
        while (i + 1 < nlines && *lines[i + 1]) {
            i++;
            const char *s = lines[i];
            native |= strstr(s, "{{") != NULL;
            struct expect *e = &c.e[c.ne];
            const char *t = s;
            if (parse_number(&t, &e->v) && !*skip_ws(t)) {
                c.ne++;
                break;
            }
            if (!parse_metric(&s, &a, &lb)) {
                bad = true;
                continue;
            }
            e->has_labels = true;
            e->labels = tg_promql_lb_labels(&lb, &a);
            struct seqval *vals;
            long nv = parse_values(s, &vals);
            if (nv != 1) {
                bad |= !native;
            } else {
                e->v = vals[0].v;
            }
            free(vals);
            c.ne++;
        }
        if (native) {
            printf("  skip line %d: native histogram expectations: %s\n", c.line, c.expr);
            cnt->skipped++;
        } else if (bad) {
            printf("  FAIL line %d: cannot parse expectations\n", c.line);
            cnt->failed++;
        } else if (run_eval(&c, &q)) {
            cnt->passed++;
        } else {
            printf("  FAIL line %d: %s: %s\n", c.line, c.expr, errmsg);
            cnt->failed++;
        }
        free(c.e);
    }
    tg_promql_lb_deinit(&lb);
    tg_promql_arena_deinit(&a);
    memstore_free(ms);
    free(lines);
    free(buf);
}

int main(int argc, char **argv)
{
    struct counts total = {0};
    for (int i = 1; i < argc; i++) {
        struct counts c = {0};
        const char *base = strrchr(argv[i], '/');
        printf("%s\n", base ? base + 1 : argv[i]);
        run_file(argv[i], &c);
        printf("%s: %d passed, %d failed, %d skipped\n", base ? base + 1 : argv[i], c.passed,
               c.failed, c.skipped);
        total.passed += c.passed;
        total.failed += c.failed;
        total.skipped += c.skipped;
    }
    printf("total: %d passed, %d failed, %d skipped\n", total.passed, total.failed,
           total.skipped);
    return total.failed ? 1 : 0;
}
