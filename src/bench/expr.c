/* SPDX-License-Identifier: MIT */
/* Parsing and evaluation of result conditions (see expr_int.h). Hand-written because the
 * grammar is one line long: metric, operator, number, unit, optional modifiers. */
#include "bench/expr_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/units_int.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

/* "p95", "p99.9", "p999" (= 99.9, the JSON field's spelling), "p(95)". */
static int parse_pct(const char *p, const char *end, double *pct, const char **rest)
{
    bool paren = p < end && *p == '(';
    if (paren)
        p++;
    const char *d = p;
    while (p < end && (isdigit((unsigned char)*p) || *p == '.'))
        p++;
    size_t n = (size_t)(p - d);
    if (n == 0 || n > 12)
        return TG_EPARSE;
    char buf[16];
    memcpy(buf, d, n);
    buf[n] = 0;
    if (!memchr(buf, '.', n) && n > 2 && strcmp(buf, "100") != 0) {
        /* p999 -> 99.9, p9999 -> 99.99: after "99" the digits are decimals (HDR's and the
         * JSON keys' spelling); any other run of three digits is a typo. */
        if (buf[0] != '9' || buf[1] != '9')
            return TG_EPARSE;
        memmove(buf + 3, buf + 2, n - 2 + 1);
        buf[2] = '.';
    }
    char *e;
    double v = strtod(buf, &e);
    if (*e || !(v >= 0 && v <= 100))
        return TG_EPARSE;
    if (paren) {
        if (p >= end || *p != ')')
            return TG_EPARSE;
        p++;
    }
    *pct = v;
    *rest = p;
    return 0;
}

static int parse_metric(const char *p, const char *end, struct tg_bench_cond *c, const char **rest)
{
    static const struct {
        const char *name;
        enum tg_bench_metric m;
    } names[] = {{"min", TG_BENCH_M_MIN},       {"max", TG_BENCH_M_MAX},
                 {"mean", TG_BENCH_M_MEAN},     {"avg", TG_BENCH_M_MEAN},
                 {"errors", TG_BENCH_M_ERRORS}, {"error_rate", TG_BENCH_M_ERRORS},
                 {"rps", TG_BENCH_M_RPS}};
    if (p < end && *p == 'p' && p + 1 < end && (isdigit((unsigned char)p[1]) || p[1] == '(')) {
        c->metric = TG_BENCH_M_PCT;
        return parse_pct(p + 1, end, &c->pct, rest);
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].name);
        if ((size_t)(end - p) >= n && memcmp(p, names[i].name, n) == 0 &&
            (p + n == end || !isalnum((unsigned char)p[n]))) {
            c->metric = names[i].m;
            c->percent = strcmp(names[i].name, "error_rate") == 0;
            *rest = p + n;
            return 0;
        }
    }
    return TG_EPARSE;
}

static int parse_op(const char *p, const char *end, enum tg_bench_op *op, const char **rest)
{
    if (p >= end || (*p != '<' && *p != '>'))
        return TG_EPARSE;
    bool lt = *p == '<';
    p++;
    bool eq = p < end && *p == '=';
    if (eq)
        p++;
    *op = lt ? (eq ? TG_BENCH_OP_LE : TG_BENCH_OP_LT) : (eq ? TG_BENCH_OP_GE : TG_BENCH_OP_GT);
    *rest = p;
    return 0;
}

/* The bound and its unit, up to `end` (trailing spaces trimmed by the caller). */
static int parse_bound(const char *p, const char *end, struct tg_bench_cond *c)
{
    char buf[48];
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof buf)
        return TG_EPARSE;
    memcpy(buf, p, n);
    buf[n] = 0;
    if (tg_bench__cond_is_latency(c)) {
        int64_t us;
        bool bare = true;
        for (size_t i = 0; i < n; i++)
            if (isalpha((unsigned char)buf[i]))
                bare = false;
        if (bare) { /* milliseconds */
            char *e;
            double ms = strtod(buf, &e);
            if (*e || !(ms >= 0) || !isfinite(ms))
                return TG_EPARSE;
            c->bound = ms * 1000.0;
            return 0;
        }
        if (tg_bench__parse_duration(buf, &us) < 0)
            return TG_EPARSE;
        c->bound = (double)us;
        return 0;
    }
    if (c->metric == TG_BENCH_M_ERRORS && buf[n - 1] == '%') {
        c->percent = true;
        buf[--n] = 0;
    } else if (c->metric == TG_BENCH_M_RPS && n > 3 && strcmp(buf + n - 3, "rps") == 0) {
        buf[n -= 3] = 0;
    }
    char *e;
    double v = strtod(buf, &e);
    if (e == buf || *e || !(v >= 0) || !isfinite(v))
        return TG_EPARSE;
    if (c->percent && v > 100)
        return TG_EPARSE;
    c->bound = v;
    return 0;
}

/* Strips " abort" and " over DURATION" from the end of [p, *end). */
static int parse_modifiers(const char *p, const char **end, struct tg_bench_cond *c)
{
    for (;;) {
        const char *e = *end;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        *end = e;
        const char *w = e;
        while (w > p && !isspace((unsigned char)w[-1]))
            w--;
        if (w == p)
            return 0;
        size_t wl = (size_t)(e - w);
        if (wl == 5 && memcmp(w, "abort", 5) == 0) {
            if (c->abort)
                return TG_EPARSE;
            c->abort = true;
            *end = w;
            continue;
        }
        const char *o = w;
        while (o > p && isspace((unsigned char)o[-1]))
            o--;
        if (o - p >= 4 && memcmp(o - 4, "over", 4) == 0 &&
            (o - 4 == p || isspace((unsigned char)o[-5]))) {
            char buf[32];
            if (wl >= sizeof buf || c->window_us)
                return TG_EPARSE;
            memcpy(buf, w, wl);
            buf[wl] = 0;
            int64_t us;
            if (tg_bench__parse_duration(buf, &us) < 0 || us < 1000000 ||
                us > TG_BENCH_WINDOW_MAX_US || us % 1000000)
                return TG_EPARSE;
            c->window_us = us;
            *end = o - 4;
            continue;
        }
        return 0;
    }
}

static int parse_one(const char *p, const char *end, bool allow_window, struct tg_bench_cond *c)
{
    memset(c, 0, sizeof *c);
    p = skip_ws(p, end);
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    size_t tl = (size_t)(end - p);
    if (tl == 0 || tl >= sizeof c->text)
        return TG_EPARSE;
    memcpy(c->text, p, tl);
    const char *e = end;
    if (allow_window && parse_modifiers(p, &e, c) < 0)
        return TG_EPARSE;
    const char *q;
    if (parse_metric(p, e, c, &q) < 0)
        return TG_EPARSE;
    q = skip_ws(q, e);
    if (parse_op(q, e, &c->op, &q) < 0)
        return TG_EPARSE;
    q = skip_ws(q, e);
    return parse_bound(q, e, c);
}

int tg_bench__parse_conds(const char *s, bool allow_window, struct tg_bench_cond *out, size_t cap,
                          size_t *n, struct tg_errbuf *eb)
{
    const char *p = s;
    bool any = false;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        if (*n >= cap)
            return tg_errbuf_set(eb, TG_EPARSE, "too many conditions (at most %zu)", cap);
        if (parse_one(p, end, allow_window, &out[*n]) < 0)
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "bad condition '%.*s' (expected e.g. p95<500ms, errors<1%%, "
                                 "rps>=100%s)",
                                 (int)(end - p), p,
                                 allow_window ? ", optionally followed by 'over 30s' and 'abort'"
                                              : "");
        (*n)++;
        any = true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return any ? 0 : tg_errbuf_set(eb, TG_EPARSE, "empty condition list");
}

bool tg_bench__cond_is_latency(const struct tg_bench_cond *c)
{
    return c->metric == TG_BENCH_M_PCT || c->metric == TG_BENCH_M_MIN ||
           c->metric == TG_BENCH_M_MAX || c->metric == TG_BENCH_M_MEAN;
}

double tg_bench__cond_value(const struct tg_bench_cond *c, const struct tg_bench_view *v)
{
    switch (c->metric) {
    case TG_BENCH_M_PCT:
        return (double)tg_hist_value_at(v->lat, c->pct);
    case TG_BENCH_M_MIN:
        return (double)tg_hist_min(v->lat);
    case TG_BENCH_M_MAX:
        return (double)tg_hist_max(v->lat);
    case TG_BENCH_M_MEAN:
        return tg_hist_mean(v->lat);
    case TG_BENCH_M_ERRORS:
        if (!c->percent)
            return (double)v->errors;
        return v->requests ? 100.0 * (double)v->errors / (double)v->requests : 0.0;
    case TG_BENCH_M_RPS:
        return v->elapsed_us > 0 ? (double)v->requests * 1e6 / (double)v->elapsed_us : 0.0;
    }
    return 0;
}

bool tg_bench__cond_holds(const struct tg_bench_cond *c, double value)
{
    switch (c->op) {
    case TG_BENCH_OP_LT:
        return value < c->bound;
    case TG_BENCH_OP_LE:
        return value <= c->bound;
    case TG_BENCH_OP_GT:
        return value > c->bound;
    case TG_BENCH_OP_GE:
        return value >= c->bound;
    }
    return false;
}

size_t tg_bench__fmt_cond_value(const struct tg_bench_cond *c, double value, char *dst, size_t cap)
{
    if (tg_bench__cond_is_latency(c))
        return tg_bench__fmt_latency(dst, cap, (int64_t)llround(value));
    int w;
    if (c->metric == TG_BENCH_M_ERRORS && c->percent) {
        w = snprintf(dst, cap, "%.2f%%", value);
    } else if (c->metric == TG_BENCH_M_ERRORS) {
        char n[32];
        tg_bench__fmt_count(n, sizeof n, (uint64_t)value);
        w = snprintf(dst, cap, "%s error%s", n, value == 1 ? "" : "s");
    } else {
        char n[32];
        tg_bench__fmt_rate(n, sizeof n, value);
        w = snprintf(dst, cap, "%s rps", n);
    }
    return w < 0 ? 0 : (size_t)w;
}
