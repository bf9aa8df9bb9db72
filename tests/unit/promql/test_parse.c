/* SPDX-License-Identifier: MIT */
/* Tests of the PromQL front end against Prometheus 2.42's own answers. The case tables
 * (parse_cases_*.inc) pair each query with what Prometheus 2.42 (the Debian package)
 * answered for it on /api/v1/format_query: "OK <printed form>", "ERR <message>", or
 * NULL where it printed the query in its multi-line pretty form, which is not the
 * String() form we print (those must parse and round-trip). The tables hold every
 * expression of the seeds (seed-inventory.md §b), every `eval` expression of
 * Prometheus's 2.42 test files (Apache-2.0, see tests/conformance/promql/LICENSE and
 * NOTICE), and our own edge cases. Every valid query must also print, parse again and
 * print the same. Then checks of the tree the evaluator reads. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/parse.h"
#include "tg_test.h"

struct pcase {
    const char *in, *want;
};

static const struct pcase own[] = {
#include "parse_cases_own.inc"
};
static const struct pcase conformance[] = {
#include "parse_cases_conformance.inc"
};
static const struct pcase seeds[] = {
#include "parse_cases_seeds.inc"
};

static void run_case(const struct pcase *c)
{
    struct tg_promql_node *e = NULL;
    struct tg_errbuf eb;
    int rc = tg_promql_parse(c->in, strlen(c->in), &e, &eb);
    if (c->want && strncmp(c->want, "ERR ", 4) == 0) {
        TG_EXPECT_EQ(rc, TG_EPARSE);
        TG_EXPECT(e == NULL);
        if (rc != 0)
            TG_EXPECT_STREQ(eb.msg, c->want + 4);
        else
            fprintf(stderr, "  accepted: %s\n", c->in);
        tg_promql_node_free(e);
        return;
    }
    TG_EXPECT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "  refused: %s: %s\n", c->in, eb.msg);
        return;
    }
    char *s = tg_promql_to_string(e);
    if (c->want)
        TG_EXPECT_STREQ(s, c->want + 3);
    struct tg_promql_node *again = NULL;
    TG_EXPECT_EQ(tg_promql_parse(s, strlen(s), &again, &eb), 0);
    if (again) {
        char *s2 = tg_promql_to_string(again);
        TG_EXPECT_STREQ(s2, s);
        TG_EXPECT_EQ(again->type, e->type);
        free(s2);
    }
    free(s);
    tg_promql_node_free(again);
    tg_promql_node_free(e);
}

static void run_table(const struct pcase *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_case(&t[i]);
}

static struct tg_promql_node *parse_ok(const char *q)
{
    struct tg_promql_node *e = NULL;
    struct tg_errbuf eb;
    int rc = tg_promql_parse(q, strlen(q), &e, &eb);
    TG_EXPECT_EQ(rc, 0);
    if (rc)
        fprintf(stderr, "  %s: %s\n", q, eb.msg);
    return e;
}

/* The fields the evaluator reads, for one query of each node kind. */
static void test_tree(void)
{
    struct tg_promql_node *e = parse_ok("a / on(x, y) group_left(z) b");
    if (e) {
        TG_EXPECT_EQ(e->kind, TG_PROMQL_BINARY);
        TG_EXPECT_EQ(e->type, TG_PROMQL_TYPE_VECTOR);
        TG_EXPECT_EQ(e->u.bin.op, TG_PROMQL_OP_DIV);
        TG_EXPECT(e->u.bin.has_vm && e->u.bin.vm.on);
        TG_EXPECT_EQ(e->u.bin.vm.card, TG_PROMQL_CARD_MANY_TO_ONE);
        TG_EXPECT_EQ(e->u.bin.vm.labels.n, 2);
        TG_EXPECT_EQ(e->u.bin.vm.include.n, 1);
        TG_EXPECT_STREQ(e->u.bin.vm.include.v[0], "z");
    }
    tg_promql_node_free(e);

    e = parse_ok("a and b");
    if (e)
        TG_EXPECT_EQ(e->u.bin.vm.card, TG_PROMQL_CARD_MANY_TO_MANY);
    tg_promql_node_free(e);

    e = parse_ok("2 * a");
    if (e)
        TG_EXPECT(!e->u.bin.has_vm);
    tg_promql_node_free(e);

    e = parse_ok("rate(http_requests_total{status=~\"5..\"}[5m] offset -1m @ 100.5)");
    if (e) {
        TG_EXPECT_EQ(e->kind, TG_PROMQL_CALL);
        TG_EXPECT_EQ(e->u.call.func->id, TG_PROMQL_FN_RATE);
        struct tg_promql_node *m = e->u.call.args[0];
        TG_EXPECT_EQ(m->kind, TG_PROMQL_MATRIX_SEL);
        TG_EXPECT_EQ(m->u.ms.range_ms, 300000);
        const struct tg_promql_vector_sel *vs = &m->u.ms.vs->u.vs;
        TG_EXPECT_STREQ(vs->name, "http_requests_total");
        TG_EXPECT_EQ(vs->nmatchers, 2);
        TG_EXPECT_STREQ(vs->matchers[1].name, "__name__");
        TG_EXPECT(tg_matcher_matches(&vs->matchers[0], "503"));
        TG_EXPECT(!tg_matcher_matches(&vs->matchers[0], "5000"));
        TG_EXPECT_EQ(vs->offset_ms, -60000);
        TG_EXPECT_EQ(vs->at.kind, TG_PROMQL_AT_TIME);
        TG_EXPECT_EQ(vs->at.at_ms, 100500);
    }
    tg_promql_node_free(e);

    e = parse_ok("max_over_time(deriv(x[5m])[1h:] @ end())");
    if (e) {
        struct tg_promql_node *sq = e->u.call.args[0];
        TG_EXPECT_EQ(sq->kind, TG_PROMQL_SUBQUERY);
        TG_EXPECT_EQ(sq->u.sq.range_ms, 3600000);
        TG_EXPECT_EQ(sq->u.sq.step_ms, 0);
        TG_EXPECT_EQ(sq->u.sq.at.kind, TG_PROMQL_AT_END);
    }
    tg_promql_node_free(e);

    e = parse_ok("topk by (a) (3, -x)");
    if (e) {
        TG_EXPECT_EQ(e->u.agg.op, TG_PROMQL_AGG_TOPK);
        TG_EXPECT_EQ(e->u.agg.param->kind, TG_PROMQL_NUMBER);
        TG_EXPECT_EQ(e->u.agg.expr->kind, TG_PROMQL_UNARY);
        TG_EXPECT(!e->u.agg.without && e->u.agg.grouping.n == 1);
    }
    tg_promql_node_free(e);

    e = parse_ok("-(2) ^ 2");
    if (e) {
        TG_EXPECT_EQ(e->kind, TG_PROMQL_UNARY);
        TG_EXPECT_EQ(e->type, TG_PROMQL_TYPE_SCALAR);
        TG_EXPECT_EQ(e->u.unary.expr->kind, TG_PROMQL_BINARY);
    }
    tg_promql_node_free(e);

    e = parse_ok("\"a\\x00b\"");
    if (e) {
        TG_EXPECT_EQ(e->u.string.len, 3);
        TG_EXPECT_EQ(e->u.string.s[1], 0);
    }
    tg_promql_node_free(e);
}

static void test_positions(void)
{
    struct tg_promql_node *e = NULL;
    struct tg_errbuf eb;
    const char *q = "sum(x)\n  + rate(y)";
    TG_EXPECT_EQ(tg_promql_parse(q, strlen(q), &e, &eb), TG_EPARSE);
    TG_EXPECT_EQ(eb.line, 2);
    TG_EXPECT_EQ(eb.column, 10);
    TG_EXPECT_STREQ(eb.msg, "2:10: parse error: expected type range vector in call to "
                            "function \"rate\", got instant vector");
    /* Not NUL-terminated: only `len` bytes count. */
    TG_EXPECT_EQ(tg_promql_parse("up{", 2, &e, &eb), 0);
    tg_promql_node_free(e);
}

static void test_depth(void)
{
    size_t n = 5000;
    char *q = malloc(2 * n + 2);
    memset(q, '(', n);
    q[n] = '1';
    memset(q + n + 1, ')', n);
    q[2 * n + 1] = '\0';
    struct tg_promql_node *e = NULL;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_promql_parse(q, strlen(q), &e, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "nested too deeply") != NULL);
    memset(q, '-', n);
    TG_EXPECT_EQ(tg_promql_parse(q, n + 1, &e, &eb), TG_EPARSE);
    free(q);
}

static void test_duration_format(void)
{
    char b[32];
    TG_EXPECT_EQ(tg_promql_format_duration(0, b, sizeof b), 2);
    TG_EXPECT_STREQ(b, "0s");
    tg_promql_format_duration(5400000, b, sizeof b);
    TG_EXPECT_STREQ(b, "1h30m");
    tg_promql_format_duration(90LL * 86400000, b, sizeof b);
    TG_EXPECT_STREQ(b, "90d");
    tg_promql_format_duration(14LL * 86400000, b, sizeof b);
    TG_EXPECT_STREQ(b, "2w");
    tg_promql_format_duration(365LL * 86400000, b, sizeof b);
    TG_EXPECT_STREQ(b, "1y");
}

static void test_print_truncates(void)
{
    struct tg_promql_node *e = parse_ok("sum by (le) (rate(x[5m]))");
    char b[8];
    if (e) {
        TG_EXPECT_EQ(tg_promql_print(e, b, sizeof b), 25);
        TG_EXPECT_STREQ(b, "sum by ");
    }
    tg_promql_node_free(e);
}

static void test_functions(void)
{
    TG_EXPECT_EQ(TG_PROMQL_FN_COUNT_, 70);
    for (int i = 0; i < TG_PROMQL_FN_COUNT_; i++) {
        const struct tg_promql_func *f = tg_promql_func_get((enum tg_promql_func_id)i);
        TG_EXPECT_EQ(f->id, i);
        TG_EXPECT(tg_promql_func_lookup(f->name, strlen(f->name)) == f);
    }
    TG_EXPECT(tg_promql_func_lookup("Rate", 4) == NULL);
}

/* tg_promql_parse_selector: the answers are Prometheus 2.42's own /federate answers to
 * the same match[] values (its 400 body is the ParseMetricSelector error). */
static void test_selector(void)
{
    static const struct pcase cases[] = {
        {"up", "OK up"},
        {"up{job=\"a\",}", "OK up{job=\"a\"}"},
        {"{job=~\".*\"}", "OK {job=~\".*\"}"}, /* matches "": fine here, not in a query */
        {"sum", "OK sum"},
        {"", "ERR 1:1: parse error: unexpected end of input"},
        {"up{", "ERR 1:4: parse error: unexpected end of input inside braces"},
        {"up[5m]", "ERR 1:3: parse error: unexpected \"[\""},
        {"rate(up[5m])", "ERR 1:5: parse error: unexpected \"(\""},
        {"up offset 5m", "ERR 1:4: parse error: unexpected <offset>"},
        {"1", "ERR 1:1: parse error: unexpected number \"1\""},
        {"up == 1", "ERR 1:4: parse error: unexpected <op:==>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tg_promql_node *e = NULL;
        struct tg_errbuf eb;
        const struct pcase *c = &cases[i];
        int rc = tg_promql_parse_selector(c->in, strlen(c->in), &e, &eb);
        if (c->want[0] == 'E') {
            TG_EXPECT_EQ(rc, TG_EPARSE);
            TG_EXPECT(e == NULL);
            TG_EXPECT_STREQ(eb.msg, c->want + 4);
        } else {
            TG_EXPECT_EQ(rc, 0);
            TG_EXPECT(e && e->kind == TG_PROMQL_VECTOR_SEL);
            char *str = e ? tg_promql_to_string(e) : NULL;
            TG_EXPECT_STREQ(str, c->want + 3);
            free(str);
        }
        tg_promql_node_free(e);
    }
}

int main(void)
{
    run_table(own, sizeof own / sizeof own[0]);
    run_table(conformance, sizeof conformance / sizeof conformance[0]);
    run_table(seeds, sizeof seeds / sizeof seeds[0]);
    test_tree();
    test_positions();
    test_depth();
    test_duration_format();
    test_print_truncates();
    test_functions();
    test_selector();
    return tg_test_report("promql_parse");
}
