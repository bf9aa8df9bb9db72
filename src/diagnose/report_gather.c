/* SPDX-License-Identifier: MIT */
/* The report's data from the TSDB: p95 and p99 of the incident window and the request
 * and error totals of its duration, by PromQL through the same evaluator the HTTP API
 * uses, so the chart shows what a query_range of the same expression would.
 *
 * Which series: the incident's affected endpoints, each an exact {endpoint, method}
 * pair joined with `or` before the sum (a regex over endpoints and another over methods
 * would also take the pairs nobody named); every endpoint when none is named, or when
 * so many are that the incident is system-wide anyway. Label values are written as
 * PromQL string literals, escaped, since the incident's endpoints may come from a user. */
#include "diagnose/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/report_int.h"
#include "promql/eval.h"
#include "promql/parse.h"

#define MAX_PAIRS 50
#define QUERY_CAP 16384

struct window {
    int64_t opened, end;    /* the incident's span */
    int64_t from, to, step; /* the chart's */
    int64_t rate;
};

/* Appends `s` as a PromQL double-quoted string; false when `q` is full. */
static bool put_quoted(char *q, size_t *len, const char *s)
{
    size_t n = *len;
    if (n + 1 >= QUERY_CAP)
        return false;
    q[n++] = '"';
    for (; *s; s++) {
        if (n + 3 >= QUERY_CAP)
            return false;
        if (*s == '"' || *s == '\\')
            q[n++] = '\\';
        if (*s == '\n') {
            q[n++] = '\\';
            q[n++] = 'n';
            continue;
        }
        q[n++] = *s;
    }
    q[n++] = '"';
    q[n] = '\0';
    *len = n;
    return true;
}

static bool put(char *q, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= QUERY_CAP)
        return false;
    memcpy(q + *len, s, n + 1);
    *len += n;
    return true;
}

/* The {endpoint, method} pairs to select, or NULL for every endpoint: none named, one
 * without an endpoint (it would select them all anyway), or more than MAX_PAIRS. */
static const json_t *pairs_of(const json_t *inc)
{
    const json_t *l = json_object_get(inc, "affected_endpoints");
    if (json_array_size(l) == 0)
        l = json_object_get(json_object_get(inc, "diagnosis"), "affected");
    if (json_array_size(l) == 0 || json_array_size(l) > MAX_PAIRS)
        return NULL;
    size_t i;
    json_t *p;
    json_array_foreach(l, i, p)
        if (!tg_report__str(p, "endpoint"))
            return NULL;
    return l;
}

/* Writes `fn(metric{pair matchers, extra}[range])`, joined with " or " over the pairs (or
 * once, without pair matchers, for every endpoint). False when it does not fit. */
static bool selection(char *q, size_t *len, const json_t *pairs, const char *fn,
                      const char *metric, const char *extra, const char *range)
{
    size_t i, n = pairs ? json_array_size(pairs) : 1;
    for (i = 0; i < n; i++) {
        const json_t *p = pairs ? json_array_get(pairs, i) : NULL;
        const char *ep = tg_report__str(p, "endpoint"), *m = tg_report__str(p, "method");
        bool ok = put(q, len, i ? " or " : "") && put(q, len, fn) && put(q, len, "(") &&
                  put(q, len, metric) && put(q, len, "{");
        if (ep)
            ok = ok && put(q, len, "endpoint=") && put_quoted(q, len, ep);
        if (ep && m)
            ok = ok && put(q, len, ",method=") && put_quoted(q, len, m);
        if (*extra)
            ok = ok && put(q, len, ep ? "," : "") && put(q, len, extra);
        ok = ok && put(q, len, "}[") && put(q, len, range) && put(q, len, "])");
        if (!ok)
            return false;
    }
    return true;
}

static int eval(const struct tg_queryable *qa, const char *query, const struct window *w,
                bool range, int64_t deadline_us, struct tg_promql_result *res,
                struct tg_errbuf *eb)
{
    struct tg_promql_node *node = NULL;
    int rc = tg_promql_parse(query, strlen(query), &node, eb);
    if (rc < 0)
        return rc;
    struct tg_promql_opts po = {.deadline_us = deadline_us};
    if (range)
        rc = tg_promql_eval_range(qa, node, w->from, w->to, w->step, &po, res, eb);
    else
        rc = tg_promql_eval_instant(qa, node, w->end, &po, res, eb);
    tg_promql_node_free(node);
    return rc;
}

/* Fills the p95 (`p99` false) or the p99 of the points, which sit at from + i * step. */
static int quantile(const struct tg_queryable *qa, const json_t *pairs, const struct window *w,
                    bool p99, int64_t deadline_us, struct tg_report_input *out,
                    struct tg_errbuf *eb)
{
    char query[QUERY_CAP], range[32];
    size_t len = 0;
    snprintf(range, sizeof range, "%lldms", (long long)w->rate);
    snprintf(query, sizeof query, "histogram_quantile(%s, sum by (le) (", p99 ? "0.99" : "0.95");
    len = strlen(query);
    if (!selection(query, &len, pairs, "rate", "http_request_duration_seconds_bucket", "",
                   range) ||
        !put(query, &len, "))"))
        return tg_errbuf_set(eb, TG_ELIMIT, "the affected endpoints make too long a query");
    struct tg_promql_result res = {0};
    int rc = eval(qa, query, w, true, deadline_us, &res, eb);
    if (rc == 0 && res.value.type == TG_PROMQL_VMATRIX && res.value.mat.n > 0) {
        const struct tg_promql_series *s = &res.value.mat.v[0];
        for (size_t i = 0; i < s->n; i++) {
            size_t k = (size_t)((s->s[i].t - w->from) / w->step);
            if (k < out->npoints) {
                double ms = s->s[i].v * 1000;
                *(p99 ? &out->points[k].p99_ms : &out->points[k].p95_ms) = ms;
            }
        }
    }
    tg_promql_result_free(&res);
    return rc;
}

/* sum(increase(...)) over the incident's span at its end; NaN when nothing matched. */
static int total(const struct tg_queryable *qa, const json_t *pairs, const struct window *w,
                 const char *extra, int64_t deadline_us, double *v, struct tg_errbuf *eb)
{
    char query[QUERY_CAP], range[32];
    size_t len = 0;
    int64_t span = w->end - w->opened;
    snprintf(range, sizeof range, "%lldms", (long long)(span > 1000 ? span : 1000));
    if (!put(query, &len, "sum(") ||
        !selection(query, &len, pairs, "increase", "http_requests_total", extra, range) ||
        !put(query, &len, ")"))
        return tg_errbuf_set(eb, TG_ELIMIT, "the affected endpoints make too long a query");
    struct tg_promql_result res = {0};
    int rc = eval(qa, query, w, false, deadline_us, &res, eb);
    *v = NAN;
    if (rc == 0 && res.value.type == TG_PROMQL_VVECTOR && res.value.vec.n > 0)
        *v = res.value.vec.v[0].v;
    tg_promql_result_free(&res);
    return rc;
}

static void window_for(const struct tg_report_opts *o, int64_t opened, int64_t end,
                       int64_t now_ms, struct window *w)
{
    int max_points = o->max_points > 1 ? o->max_points : TG_REPORT_MAX_POINTS;
    w->opened = opened;
    w->end = end < opened ? opened : end;
    int64_t span = w->end - w->opened;
    int64_t pad = o->pad_ms > 0 ? o->pad_ms : span / 10 > 60000 ? span / 10 : 60000;
    w->from = opened - pad;
    w->to = w->end + pad < now_ms ? w->end + pad : now_ms;
    if (w->to <= w->from)
        w->to = w->from + 1000;
    /* Whole seconds, so that points fall on the same instants in every report; with both
     * ends included that is at most max_points + 1 points. */
    int64_t step = (w->to - w->from + max_points - 1) / max_points;
    w->step = (step + 999) / 1000 * 1000;
    w->from = w->from / w->step * w->step;
    int64_t rate = o->rate_ms > 0 ? o->rate_ms : 2 * w->step;
    w->rate = o->rate_ms > 0 || rate >= 20000 ? rate : 20000;
}

static double target_of(const json_t *inc)
{
    double t = NAN;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(json_object_get(inc, "diagnosis"), "affected"), i, a) {
        double v = tg_report__num(a, "target_ms");
        if (isfinite(v) && v > 0 && !(v >= t))
            t = v;
    }
    return t;
}

int tg_report_gather(const struct tg_queryable *q, const json_t *incident, int64_t now_ms,
                     const struct tg_report_opts *opts, struct tg_report_input *out,
                     struct tg_errbuf *eb)
{
    static const struct tg_report_opts defaults = {0};
    const struct tg_report_opts *o = opts ? opts : &defaults;
    memset(out, 0, sizeof *out);
    int64_t opened, end;
    if (!tg_report__time(incident, "opened_at", &opened))
        return tg_errbuf_set(eb, TG_EPARSE, "the incident has no readable opened_at");
    if (!tg_report__time(incident, "resolved_at", &end) &&
        !tg_report__time(incident, "closed_at", &end))
        end = now_ms;
    struct window w;
    window_for(o, opened, end < now_ms ? end : now_ms, now_ms, &w);
    size_t n = (size_t)((w.to - w.from) / w.step) + 1;
    out->points = malloc(n * sizeof *out->points);
    if (!out->points)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    out->npoints = n;
    for (size_t i = 0; i < n; i++)
        out->points[i] = (struct tg_report_point){w.from + (int64_t)i * w.step, NAN, NAN};
    const json_t *pairs = pairs_of(incident);
    int rc = quantile(q, pairs, &w, false, o->deadline_us, out, eb);
    if (rc == 0)
        rc = quantile(q, pairs, &w, true, o->deadline_us, out, eb);
    if (rc == 0)
        rc = total(q, pairs, &w, "", o->deadline_us, &out->requests, eb);
    if (rc == 0)
        rc = total(q, pairs, &w, "status=~\"5..\"", o->deadline_us, &out->errors, eb);
    if (rc < 0) {
        tg_report_input_deinit(out);
        return rc;
    }
    /* No 5xx series at all means no 5xx answer, once there were requests to count. */
    if (isfinite(out->requests) && !isfinite(out->errors))
        out->errors = 0;
    out->incident = incident;
    out->from_ms = w.from;
    out->to_ms = w.to;
    out->target_ms = target_of(incident);
    out->all_endpoints = pairs == NULL;
    out->now_ms = now_ms;
    return 0;
}

void tg_report_input_deinit(struct tg_report_input *in)
{
    free(in->points);
    memset(in, 0, sizeof *in);
}
