/* SPDX-License-Identifier: MIT */
/* Unit tests for src/promql/eval_call.c over a small store, for the shortcuts a range
 * query relies on: a range function skips its duplicate check only when every input
 * series has the same name (two names that collide once dropped still fail, as in
 * Prometheus), and histogram_quantile gathers buckets by group in one pass (groups whose
 * buckets arrive interleaved, at every step of a range query). And sort() and
 * sort_desc() of an empty vector (a step with no sample), which must not hand qsort a
 * null array (undefined behaviour, caught by the sanitizers). */
#include "promql/eval.h"

#include <math.h>
#include <string.h>

#include "promql/parse.h"
#include "tg_test.h"
#include "tsdb/tsdb.h"

#define MIN_MS 60000

static void add(struct tg_tsdb *db, const char *name, const char *k1, const char *v1,
                const char *k2, const char *v2, double per_min)
{
    struct tg_label l[3] = {{"__name__", name}, {k1, v1}, {k2, v2}};
    struct tg_labels ls = {l, k2 ? 3 : 2};
    for (int i = 0; i <= 20; i++)
        TG_EXPECT_EQ(tg_tsdb_append(db, &ls, (int64_t)i * MIN_MS, per_min * i), 0);
}

static int eval(struct tg_tsdb *db, const char *q, int64_t start, int64_t end,
                struct tg_promql_result *res, struct tg_errbuf *eb)
{
    struct tg_queryable qa;
    tg_tsdb_queryable(db, &qa);
    struct tg_promql_node *n = NULL;
    int rc = tg_promql_parse(q, strlen(q), &n, eb);
    TG_EXPECT_EQ(rc, 0);
    if (rc)
        return rc;
    memset(res, 0, sizeof *res);
    rc = start == end ? tg_promql_eval_instant(&qa, n, end, NULL, res, eb)
                      : tg_promql_eval_range(&qa, n, start, end, MIN_MS, NULL, res, eb);
    tg_promql_node_free(n);
    return rc;
}

static void test_range_fn_duplicates(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    add(db, "a_total", "x", "1", NULL, NULL, 60);
    add(db, "a_total", "x", "2", NULL, NULL, 120);
    add(db, "b_total", "x", "1", NULL, NULL, 60);
    struct tg_promql_result res;
    struct tg_errbuf eb = {0};

    /* One name: no collision, one output per series. */
    TG_EXPECT_EQ(eval(db, "rate(a_total[5m])", 10 * MIN_MS, 10 * MIN_MS, &res, &eb), 0);
    TG_EXPECT_EQ(res.value.vec.n, 2u);
    tg_promql_result_free(&res);

    /* Two names, x="1" in both: the same labels once the names go. */
    TG_EXPECT_EQ(
        eval(db, "rate({__name__=~\"a_total|b_total\"}[5m])", 10 * MIN_MS, 10 * MIN_MS, &res, &eb),
        TG_EEXEC);
    TG_EXPECT_STREQ(eb.msg, "vector cannot contain metrics with the same labelset");
    tg_promql_result_free(&res);
    TG_EXPECT_EQ(
        eval(db, "rate({__name__=~\"a_total|b_total\"}[5m])", 5 * MIN_MS, 10 * MIN_MS, &res, &eb),
        TG_EEXEC);
    tg_promql_result_free(&res);

    /* Two names that stay apart: x="2" only under a_total. */
    TG_EXPECT_EQ(eval(db, "rate({__name__=~\"a_total|b_total\",x=\"2\"}[5m])", 10 * MIN_MS,
                      10 * MIN_MS, &res, &eb),
                 0);
    TG_EXPECT_EQ(res.value.vec.n, 1u);
    tg_promql_result_free(&res);
    tg_tsdb_free(db);
}

static void test_histogram_quantile_groups(void)
{
    /* Two histograms whose buckets sort interleaved (e = a, b by le): a has all of its
     * requests under 0.1, b all of them between 0.1 and 1. */
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    static const char *le[] = {"0.1", "1", "+Inf"};
    for (int i = 0; i < 3; i++) {
        add(db, "h_bucket", "e", "a", "le", le[i], 60);
        add(db, "h_bucket", "e", "b", "le", le[i], i == 0 ? 0 : 60);
    }
    struct tg_promql_result res;
    struct tg_errbuf eb = {0};
    const char *q = "histogram_quantile(0.5, sum by (le, e) (rate(h_bucket[5m])))";
    TG_EXPECT_EQ(eval(db, q, 5 * MIN_MS, 10 * MIN_MS, &res, &eb), 0);
    TG_EXPECT_EQ(res.value.mat.n, 2u);
    for (size_t i = 0; i < res.value.mat.n; i++) {
        const struct tg_promql_series *s = &res.value.mat.v[i];
        bool a = strcmp(tg_labels_get(&s->labels, "e"), "a") == 0;
        TG_EXPECT_EQ(s->n, 6u);
        /* The median falls in the middle of the one bucket each has requests in. */
        for (size_t j = 0; j < s->n; j++)
            TG_EXPECT(fabs(s->s[j].v - (a ? 0.05 : 0.55)) < 1e-12);
    }
    tg_promql_result_free(&res);
    tg_tsdb_free(db);
}

static void test_sort_empty(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    add(db, "a_total", "x", "1", NULL, NULL, 60);
    add(db, "a_total", "x", "2", NULL, NULL, 120);
    struct tg_promql_result res;
    struct tg_errbuf eb = {0};
    static const char *const qs[] = {"sort(a_total{x=\"3\"})", "sort_desc(a_total{x=\"3\"})"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        TG_EXPECT_EQ(eval(db, qs[i], 10 * MIN_MS, 10 * MIN_MS, &res, &eb), 0);
        TG_EXPECT_EQ(res.value.vec.n, 0u);
        tg_promql_result_free(&res);
        TG_EXPECT_EQ(eval(db, qs[i], 5 * MIN_MS, 10 * MIN_MS, &res, &eb), 0);
        TG_EXPECT_EQ(res.value.mat.n, 0u);
        tg_promql_result_free(&res);
    }
    /* Steps before the first sample are empty, the later ones sorted. */
    TG_EXPECT_EQ(eval(db, "sort_desc(a_total)", -10 * MIN_MS, 10 * MIN_MS, &res, &eb), 0);
    TG_EXPECT_EQ(res.value.mat.n, 2u);
    tg_promql_result_free(&res);
    tg_tsdb_free(db);
}

int main(void)
{
    test_range_fn_duplicates();
    test_histogram_quantile_groups();
    test_sort_empty();
    return tg_test_report("promql_eval_call");
}
