/* SPDX-License-Identifier: MIT */
/* Unit tests for src/promql/eval_memo.c: inputs are told apart by the identity of their
 * label sets, whatever position they arrive at; groups are numbered afresh by first
 * appearance in each call. And, through the evaluator, range queries whose inputs take
 * the memo path (aggregations, histogram_quantile, range functions over a selector) give
 * exactly the same points as the same expressions made to take the ordinary path (an
 * added `+ 0` gives a vector of new label sets, which is not stable), over series that
 * come and go, groups whose members change, and buckets whose le is not a number. */
#include "promql/eval.h"

#include <math.h>
#include <string.h>

#include "promql/eval_int.h"
#include "promql/parse.h"
#include "tg_test.h"
#include "tsdb/tsdb.h"

#define MIN_MS 60000

static void test_memo_direct(void)
{
    struct tg_promql_arena qa = {0};
    struct tg_promql__ev ev = {.qa = &qa, .sa = &qa, .memo_steps = true};
    struct tg_label la[] = {{"a", "1"}}, lb[] = {{"a", "2"}};
    struct tg_labels a = {la, 1}, b = {lb, 1}, a2 = {la, 1};
    const struct tg_promql_node *node = (const void *)&ev; /* any address names a memo */
    struct tg_promql__memo *m = tg_promql__memo_begin(&ev, node);
    TG_EXPECT(tg_promql__memo_begin(&ev, node) == m);
    TG_EXPECT_EQ(m->call, 2u);
    bool fresh;
    struct tg_promql__memo_in *ia = tg_promql__memo_input(&ev, m, &a, 0, &fresh);
    TG_EXPECT(fresh);
    ia->gid = 7;
    struct tg_promql__memo_in *ib = tg_promql__memo_input(&ev, m, &b, 1, &fresh);
    TG_EXPECT(fresh);
    TG_EXPECT(ib != ia);
    /* The same array is the same input, at its old position or another one. */
    TG_EXPECT(tg_promql__memo_input(&ev, m, &a2, 0, &fresh) == ia && !fresh);
    TG_EXPECT(tg_promql__memo_input(&ev, m, &a2, 1, &fresh) == ia && !fresh);
    TG_EXPECT(tg_promql__memo_input(&ev, m, &b, 0, &fresh) == ib && !fresh);
    TG_EXPECT_EQ(ia->gid, 7);
    /* A shorter view of the same array is another label set. */
    struct tg_labels a0 = {la, 0};
    TG_EXPECT(tg_promql__memo_input(&ev, m, &a0, 0, &fresh) != ia && fresh);

    long g1 = tg_promql__memo_group(&ev, m, "x", 1, &fresh);
    TG_EXPECT(fresh);
    long g2 = tg_promql__memo_group(&ev, m, "y", 1, &fresh);
    TG_EXPECT(fresh);
    TG_EXPECT_EQ(tg_promql__memo_group(&ev, m, "x", 1, &fresh), g1);
    TG_EXPECT(!fresh);
    /* Call 1 meets g2 then g1; call 2 meets g1 only. */
    m->call++;
    TG_EXPECT_EQ(tg_promql__memo_slot(m, g2, 0), -1);
    TG_EXPECT_EQ(tg_promql__memo_slot(m, g1, 1), -1);
    TG_EXPECT_EQ(tg_promql__memo_slot(m, g2, 2), 0);
    TG_EXPECT_EQ(tg_promql__memo_slot(m, g1, 2), 1);
    m->call++;
    TG_EXPECT_EQ(tg_promql__memo_slot(m, g1, 0), -1);
    TG_EXPECT_EQ(tg_promql__memo_slot(m, g1, 1), 0);
    tg_promql_arena_deinit(&qa);
}

/* Series `h_bucket{e, le}` and `c_total{e, s}` over 40 minutes; some start late, some
 * stop early, one has a counter reset, one bucket has le="x". */
static struct tg_tsdb *store(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    static const char *es[] = {"a", "b", "c"}, *les[] = {"0.1", "0.5", "1", "+Inf", "x"};
    for (int e = 0; e < 3; e++) {
        for (int l = 0; l < 5; l++) {
            struct tg_label lv[] = {{"__name__", "h_bucket"}, {"e", es[e]}, {"le", les[l]}};
            struct tg_labels ls = {lv, 3};
            for (int i = 0; i <= 40; i++) {
                if ((e == 1 && i < 12) || (e == 2 && i > 25))
                    continue; /* b starts late, c stops early */
                double v = (double)(i * (l + 1) * (e + 2));
                TG_EXPECT_EQ(tg_tsdb_append(db, &ls, (int64_t)i * MIN_MS, v), 0);
            }
        }
        for (int s = 0; s < 3; s++) {
            char sv[2] = {(char)('0' + s), 0};
            struct tg_label lv[] = {{"__name__", "c_total"}, {"e", es[e]}, {"s", sv}};
            struct tg_labels ls = {lv, 3};
            for (int i = 0; i <= 40; i++) {
                if (s == 2 && e == 0 && (i < 8 || i > 30))
                    continue;
                double v = (double)(i * (s + 1)) + (e == 1 && i >= 20 ? -15.0 : 0);
                TG_EXPECT_EQ(tg_tsdb_append(db, &ls, (int64_t)i * MIN_MS, v), 0);
            }
        }
    }
    return db;
}

static int range(struct tg_tsdb *db, const char *q, struct tg_promql_result *res)
{
    struct tg_queryable qa;
    tg_tsdb_queryable(db, &qa);
    struct tg_promql_node *n = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_promql_parse(q, strlen(q), &n, &eb), 0);
    memset(res, 0, sizeof *res);
    int rc = tg_promql_eval_range(&qa, n, 2 * MIN_MS, 40 * MIN_MS, MIN_MS / 2, NULL, res, &eb);
    tg_promql_node_free(n);
    return rc;
}

static bool same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void expect_same(struct tg_tsdb *db, const char *memo_q, const char *plain_q)
{
    struct tg_promql_result a, b;
    TG_EXPECT_EQ(range(db, memo_q, &a), 0);
    TG_EXPECT_EQ(range(db, plain_q, &b), 0);
    TG_EXPECT(a.value.mat.n > 0);
    TG_EXPECT_EQ(a.value.mat.n, b.value.mat.n);
    for (size_t i = 0; i < a.value.mat.n && i < b.value.mat.n; i++) {
        const struct tg_promql_series *x = &a.value.mat.v[i], *y = &b.value.mat.v[i];
        TG_EXPECT(tg_promql_labels_equal(&x->labels, &y->labels));
        TG_EXPECT_EQ(x->n, y->n);
        for (size_t j = 0; j < x->n && j < y->n; j++) {
            TG_EXPECT_EQ(x->s[j].t, y->s[j].t);
            TG_EXPECT(same(x->s[j].v, y->s[j].v));
        }
    }
    tg_promql_result_free(&a);
    tg_promql_result_free(&b);
}

static void test_memo_equals_plain(void)
{
    struct tg_tsdb *db = store();
    expect_same(db, "histogram_quantile(0.9, sum by (le, e) (rate(h_bucket[5m])))",
                "histogram_quantile(0.9, sum by (le, e) (rate(h_bucket[5m]) + 0))");
    expect_same(db, "histogram_quantile(0.5, rate(h_bucket[3m]))",
                "histogram_quantile(0.5, rate(h_bucket[3m]) + 0)");
    expect_same(db, "sum by (le) (increase(h_bucket[5m]))",
                "sum by (le) (increase(h_bucket[5m]) + 0)");
    expect_same(db, "sum without (s) (rate(c_total[4m]))",
                "sum without (s) (rate(c_total[4m]) + 0)");
    expect_same(db, "avg by (s) (c_total)", "avg by (s) (c_total + 0)");
    expect_same(db, "count(c_total)", "count(c_total + 0)");
    expect_same(db, "topk(2, resets(c_total[10m]))", "topk(2, resets(c_total[10m]) + 0)");
    expect_same(db, "quantile by (e) (0.3, delta(c_total[6m]))",
                "quantile by (e) (0.3, delta(c_total[6m]) + 0)");
    expect_same(db, "max by (e) (sum by (e, s) (c_total))",
                "max by (e) (sum by (e, s) (c_total + 0))");
    tg_tsdb_free(db);
}

int main(void)
{
    test_memo_direct();
    test_memo_equals_plain();
    return tg_test_report("promql_eval_memo");
}
