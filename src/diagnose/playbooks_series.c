/* SPDX-License-Identifier: MIT */
/* The samples of a verdict (playbooks_int.h): three range queries over the store, from
 * the verify window before the action to now, one point per scrape interval, each point
 * a rate over four scrape intervals (so every point has samples behind it). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "diagnose/playbooks_int.h"
#include "diagnose/report.h"
#include "promql/eval.h"
#include "promql/parse.h"

/* Appends `s` to out as a regex literal inside a PromQL double-quoted string: regex
 * metacharacters escaped for RE2, then backslashes and quotes for the string. */
static size_t put_literal(char *out, size_t o, size_t cap, const char *s)
{
    for (; *s && o + 4 < cap; s++) {
        if (strchr("\\.^$|?*+()[]{}", *s)) {
            out[o++] = '\\';
            out[o++] = '\\';
        } else if (*s == '"') {
            out[o++] = '\\';
        }
        out[o++] = *s;
    }
    out[o] = '\0';
    return o;
}

/* "A|B|C" of the affected endpoints; 0 when there is none. */
static size_t endpoints_re(const json_t *diag, char *out, size_t cap, double *target_ms)
{
    size_t o = 0, i, n = 0;
    json_t *a;
    *target_ms = NAN;
    out[0] = '\0';
    json_array_foreach(json_object_get(diag, "affected"), i, a)
    {
        const char *e = json_string_value(json_object_get(a, "endpoint"));
        if (!e || o + strlen(e) * 3 + 8 >= cap)
            continue;
        if (n++)
            out[o++] = '|';
        o = put_literal(out, o, cap, e);
        double t = json_number_value(json_object_get(a, "target_ms"));
        if (t > 0 && (isnan(*target_ms) || t < *target_ms))
            *target_ms = t;
    }
    return n;
}

static int range(const struct tg_queryable *q, const char *qs, int64_t start, int64_t end,
                 int64_t step, double *out, size_t n)
{
    struct tg_errbuf eb = {0};
    struct tg_promql_node *expr = NULL;
    int rc = tg_promql_parse(qs, strlen(qs), &expr, &eb);
    struct tg_promql_result res = {0};
    if (rc == 0)
        rc = tg_promql_eval_range(q, expr, start, end, step, NULL, &res, &eb);
    for (size_t i = 0; i < n; i++)
        out[i] = NAN;
    bool any = false;
    if (rc == 0 && res.value.mat.n > 0) {
        const struct tg_promql_series *s = &res.value.mat.v[0];
        for (size_t k = 0; k < s->n; k++) {
            int64_t idx = (s->s[k].t - start) / step;
            if (idx >= 0 && (size_t)idx < n) {
                out[idx] = s->s[k].v;
                any = true;
            }
        }
    }
    tg_promql_result_free(&res);
    tg_promql_node_free(expr);
    return rc ? rc : any ? 0 : 1;
}

void tg_pb__samples_free(struct tg_pb_samples *s)
{
    free(s->p95_before); /* the one block every series points into */
    memset(s, 0, sizeof *s);
}

int tg_pb__samples(const struct tg_queryable *q, const struct tg_config *cfg, const json_t *diag,
                   int64_t at_ms, int64_t now_ms, bool errors, struct tg_pb_samples *out)
{
    memset(out, 0, sizeof *out);
    char re[2048];
    if (endpoints_re(diag, re, sizeof re, &out->target_ms) == 0)
        return -EINVAL;
    int64_t step = cfg->tsdb.scrape_interval_us / 1000;
    if (step <= 0)
        step = 1000;
    int64_t rate = 4 * step;
    int64_t start = at_ms - cfg->playbooks.verify_us / 1000;
    /* The "before" is the degradation the action answered: from its onset (once a rate
     * window has passed it) when that is later than the verify window's start. Before
     * the onset the endpoints were fine, and comparing with that would blame the action
     * for the fault. Too few points left: the verdict is inconclusive, not a pass. */
    int64_t onset;
    if (tg_report_parse_time(json_string_value(json_object_get(diag, "onset")), &onset) &&
        onset + rate > start)
        start = onset + rate < at_ms ? onset + rate : at_ms - step;
    start = at_ms - (at_ms - start) / step * step; /* whole steps before the action */
    size_t nb = (size_t)((at_ms - start) / step);
    size_t na = now_ms > at_ms ? (size_t)((now_ms - at_ms) / step) + 1 : 0;
    size_t n = nb + na;
    if (na == 0 || n > 11000)
        return -EINVAL;
    double *mem = calloc(3 * n, sizeof *mem);
    if (!mem)
        return -ENOMEM;
    char qs[2 * 2048 + 512]; /* the endpoints regex may appear twice */
    snprintf(qs, sizeof qs,
             "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
             "{endpoint=~\"%s\"}[%lldms]))) * 1000",
             re, (long long)rate);
    int rc = range(q, qs, start, start + (int64_t)(n - 1) * step, step, mem, n);
    if (rc != 0) {
        free(mem);
        return rc < 0 ? rc : -ENODATA;
    }
    out->p95_before = mem;
    out->p95_after = mem + nb;
    out->nbefore = nb;
    out->nafter = na;
    snprintf(qs, sizeof qs,
             "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
             "{endpoint!~\"%s\",endpoint!=\"other\"}[%lldms]))) * 1000",
             re, (long long)rate);
    if (range(q, qs, start, start + (int64_t)(n - 1) * step, step, mem + n, n) == 0) {
        out->ctl_before = mem + n;
        out->ctl_after = mem + n + nb;
    }
    if (errors) {
        snprintf(qs, sizeof qs,
                 "(sum(rate(http_requests_total{endpoint=~\"%s\",status=~\"5..\"}[%lldms])) or "
                 "vector(0)) / sum(rate(http_requests_total{endpoint=~\"%s\"}[%lldms]))",
                 re, (long long)rate, re, (long long)rate);
        if (range(q, qs, start, start + (int64_t)(n - 1) * step, step, mem + 2 * n, n) == 0) {
            out->err_before = mem + 2 * n;
            out->err_after = mem + 2 * n + nb;
        }
    }
    /* The first after-points still average in requests from before the action (a rate
     * window), and the settle time is the action's to take hold. */
    int64_t settle =
        cfg->playbooks.settle_us / 1000 > rate ? cfg->playbooks.settle_us / 1000 : rate;
    out->settle_points = (int)((settle + step - 1) / step);
    return 0;
}
