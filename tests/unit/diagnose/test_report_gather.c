/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/report_gather.c over a real embedded TSDB: ten minutes of
 * scrapes every 5 s of two endpoints, /a slow (and failing 1 in 11) from T0 on, /b fast.
 * The chart's p95 and p99 follow /a alone when the incident names it; the totals count
 * /a's requests and 5xx over the incident's span; the window is padded, stepped within
 * the point budget and never past now; no endpoint named means all of them; hostile
 * endpoint names are quoted into PromQL, not spliced; no opened_at is an error. */
#include "diagnose/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tg_test.h"
#include "tsdb/tsdb.h"

#define T0 1796056800000LL /* 2026-11-30T16:40:00Z, when /a turns slow */
#define START (T0 - 300000)
#define END (T0 + 300000)

static void append(struct tg_tsdb *db, const char *name, const char *ep, const char *le,
                   const char *status, int64_t t, double v)
{
    /* Sorted by name: __name__ < endpoint < le < method < status. */
    struct tg_label l[5];
    uint32_t n = 0;
    l[n++] = (struct tg_label){"__name__", name};
    l[n++] = (struct tg_label){"endpoint", ep};
    if (le)
        l[n++] = (struct tg_label){"le", le};
    l[n++] = (struct tg_label){"method", "GET"};
    if (status)
        l[n++] = (struct tg_label){"status", status};
    struct tg_labels ls = {l, n};
    TG_EXPECT_EQ(tg_tsdb_append(db, &ls, t, v), 0);
}

/* Each scrape adds 10 requests per endpoint: /a's land in (0.1 s, 1 s] from T0 on, and
 * one more /a request answers 500; everything else lands in [0, 0.1 s]. */
static struct tg_tsdb *fill(void)
{
    struct tg_tsdb_opts o = {.retention_ms = 24 * 3600 * 1000LL};
    struct tg_tsdb *db = tg_tsdb_new(&o);
    double fast[2] = {0, 0}, slow = 0, ok[2] = {0, 0}, err = 0;
    for (int64_t t = START; t <= END; t += 5000) {
        for (int e = 0; e < 2; e++) {
            const char *ep = e == 0 ? "/a" : "/b";
            bool is_slow = e == 0 && t >= T0;
            if (is_slow) {
                slow += 10;
                err += 1;
            } else {
                fast[e] += 10;
            }
            ok[e] += 10;
            double le01 = fast[e], all = fast[e] + (e == 0 ? slow : 0);
            append(db, "http_request_duration_seconds_bucket", ep, "+Inf", NULL, t,
                   all + (e == 0 ? err : 0));
            append(db, "http_request_duration_seconds_bucket", ep, "0.1", NULL, t, le01);
            append(db, "http_request_duration_seconds_bucket", ep, "1", NULL, t,
                   all + (e == 0 ? err : 0));
            append(db, "http_requests_total", ep, NULL, "200", t, ok[e]);
            if (e == 0 && t >= T0)
                append(db, "http_requests_total", ep, NULL, "500", t, err);
        }
    }
    return db;
}

static json_t *incident(const char *affected)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"id\": 1, \"opened_at\": \"2026-11-30T16:41:00.000Z\","
             " \"resolved_at\": \"2026-11-30T16:44:00.000Z\", \"affected_endpoints\": %s,"
             " \"diagnosis\": {\"affected\": [{\"endpoint\": \"/a\", \"target_ms\": 800},"
             "   {\"endpoint\": \"/x\", \"target_ms\": 500}]}}", affected);
    json_error_t e;
    json_t *v = json_loads(buf, 0, &e);
    TG_EXPECT(v != NULL);
    return v;
}

/* The point at `t`, which the window's steps must hit. */
static const struct tg_report_point *at(const struct tg_report_input *in, int64_t t)
{
    for (size_t i = 0; i < in->npoints; i++)
        if (in->points[i].t_ms == t)
            return &in->points[i];
    return NULL;
}

static void test_affected(struct tg_queryable *q)
{
    json_t *inc = incident("[{\"endpoint\": \"/a\", \"method\": \"GET\"}]");
    struct tg_report_input in;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_report_gather(q, inc, END + 5000, NULL, &in, &eb), 0);
    /* Three minutes padded by one on each side, steps of one second, at most 300 + 1. */
    TG_EXPECT_LE(in.npoints, TG_REPORT_MAX_POINTS + 1);
    TG_EXPECT_EQ(in.from_ms, T0);
    TG_EXPECT_EQ(in.to_ms, T0 + 300000);
    TG_EXPECT_EQ(in.points[1].t_ms - in.points[0].t_ms, 1000);
    TG_EXPECT(!in.all_endpoints);
    TG_EXPECT(in.target_ms == 500);
    TG_EXPECT(in.incident == inc);
    /* Before T0 + 20 s the 20 s rate window still sees fast requests; from then on /a is
     * all (0.1, 1]: p95 = 0.1 + 0.9 * 0.95 s (linear within the bucket). */
    const struct tg_report_point *p = at(&in, T0 + 120000);
    TG_EXPECT(p != NULL);
    if (p) {
        TG_EXPECT(fabs(p->p95_ms - 955) < 1);
        TG_EXPECT(fabs(p->p99_ms - 991) < 1);
    }
    /* 36 scrapes of 10 + 1 requests in three minutes (increase extrapolates a little). */
    TG_EXPECT(in.requests > 396 * 0.95 && in.requests < 396 * 1.1);
    TG_EXPECT(in.errors > 36 * 0.95 && in.errors < 36 * 1.1);
    tg_report_input_deinit(&in);
    TG_EXPECT(in.points == NULL && in.npoints == 0);

    /* /b alone: fast, no 5xx series at all, which counts as no error. */
    json_decref(inc);
    inc = incident("[{\"endpoint\": \"/b\", \"method\": \"GET\"}]");
    TG_EXPECT_EQ(tg_report_gather(q, inc, END + 5000, NULL, &in, &eb), 0);
    p = at(&in, T0 + 120000);
    TG_EXPECT(p && fabs(p->p95_ms - 95) < 1);
    TG_EXPECT(in.errors == 0);
    TG_EXPECT(in.requests > 360 * 0.95 && in.requests < 360 * 1.1);
    tg_report_input_deinit(&in);
    json_decref(inc);
}

static void test_all_and_window(struct tg_queryable *q)
{
    /* No endpoint named (nor a diagnosis): every endpoint, /a and /b together. */
    json_t *inc = json_pack("{s:s}", "opened_at", "2026-11-30T16:41:00Z");
    struct tg_report_input in;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_report_gather(q, inc, T0 + 240000, NULL, &in, &eb), 0);
    TG_EXPECT(in.all_endpoints);
    TG_EXPECT(isnan(in.target_ms));
    /* Still open at now = T0 + 4 min: the window ends at now, not past it. */
    TG_EXPECT_EQ(in.to_ms, T0 + 240000);
    TG_EXPECT_EQ(in.points[in.npoints - 1].t_ms, T0 + 240000);
    const struct tg_report_point *p = at(&in, T0 + 120000);
    /* Half fast, half slow (plus /a's errors): p95 in the slow bucket. */
    TG_EXPECT(p && p->p95_ms > 100 && p->p95_ms < 1000);
    TG_EXPECT(in.requests > 0);
    tg_report_input_deinit(&in);
    json_decref(inc);

    /* A long incident: the step grows, the point count stays within the budget. */
    inc = json_pack("{s:s, s:s}", "opened_at", "2026-11-30T10:00:00Z", "resolved_at",
                    "2026-11-30T16:44:00Z");
    struct tg_report_opts o = {.max_points = 100};
    TG_EXPECT_EQ(tg_report_gather(q, inc, END, &o, &in, &eb), 0);
    TG_EXPECT_LE(in.npoints, 101);
    TG_EXPECT_GE(in.npoints, 90);
    TG_EXPECT_EQ((in.points[1].t_ms - in.points[0].t_ms) % 1000, 0);
    tg_report_input_deinit(&in);
    json_decref(inc);
}

static void test_hostile_and_errors(struct tg_queryable *q)
{
    /* Quotes, backslashes, braces and a newline in a name: quoted, so the query parses
     * and simply matches nothing. */
    json_t *inc = incident("[{\"endpoint\": \"a\\\"b\\\\c}[5m]) or vector(1\\n\","
                           " \"method\": \"G\\\"\"}]");
    struct tg_report_input in;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_report_gather(q, inc, END, NULL, &in, &eb), 0);
    TG_EXPECT_STREQ(eb.msg, "");
    bool any = false;
    for (size_t i = 0; i < in.npoints; i++)
        any |= isfinite(in.points[i].p95_ms);
    TG_EXPECT(!any);
    TG_EXPECT(isnan(in.requests));
    TG_EXPECT(isnan(in.errors));
    tg_report_input_deinit(&in);
    json_decref(inc);

    inc = json_pack("{s:s}", "title", "no opening time");
    TG_EXPECT_EQ(tg_report_gather(q, inc, END, NULL, &in, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "opened_at") != NULL);
    TG_EXPECT(in.points == NULL);
    json_decref(inc);
}

int main(void)
{
    struct tg_tsdb *db = fill();
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    test_affected(&q);
    test_all_and_window(&q);
    test_hostile_and_errors(&q);
    tg_tsdb_free(db);
    return tg_test_report("diagnose/report_gather");
}
