/* SPDX-License-Identifier: MIT */
/* Unit tests for src/store/override.c on real files: put, get, list and delete round
 * trips that survive a reopen, refused keys and values, and tg_store_apply writing its
 * overrides and their audit row together or not at all (a refused step, a missing key,
 * a storage failure in the middle of the transaction). */
#include "store/override.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_test.h"

static char dir[PATH_MAX];

struct got {
    int n;
    char keys[8][64];
    char values[8][128];
    char set_by[64];
    int64_t set_at_us;
};

static int collect(void *ctx, const struct tg_store_override *ov)
{
    struct got *g = ctx;
    if (g->n < 8) {
        snprintf(g->keys[g->n], sizeof g->keys[0], "%s", ov->key);
        snprintf(g->values[g->n], sizeof g->values[0], "%s", ov->value_json);
    }
    snprintf(g->set_by, sizeof g->set_by, "%s", ov->set_by);
    g->set_at_us = ov->set_at_us;
    g->n++;
    return 0;
}

static struct tg_store *open_store(const char *name)
{
    char path[PATH_MAX];
    struct tg_store *s = NULL;
    struct tg_errbuf eb = {0};
    if (tg_store_open(tst_path(path, sizeof path, dir, name), NULL, &s, &eb) != 0) {
        fprintf(stderr, "open: %s\n", eb.msg);
        exit(1);
    }
    return s;
}

static long long rows(struct tg_store *s, const char *table)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return tst_sql_int(tg_store_path(s), sql);
}

static void test_round_trip(void)
{
    struct tg_store *s = open_store("rt.db");
    struct tg_errbuf eb = {0};
    struct tg_store_override ov = {.key = "timeouts.default_ms",
                                   .value_json = "10000",
                                   .set_by = "token:oncall",
                                   .set_at_us = 1700000000000000};
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), 0);
    ov = (struct tg_store_override){.key = "features.disabled",
                                    .value_json = "[\"analytics\"]",
                                    .set_by = "127.0.0.1:4242",
                                    .set_at_us = 1700000000000001};
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), 0);

    struct got g = {0};
    TG_EXPECT_EQ(tg_store_override_get(s, "timeouts.default_ms", collect, &g, &eb), 0);
    TG_EXPECT_EQ(g.n, 1);
    TG_EXPECT_STREQ(g.values[0], "10000");
    TG_EXPECT_STREQ(g.set_by, "token:oncall");
    TG_EXPECT_EQ(g.set_at_us, 1700000000000000);

    /* A put replaces the value and who set it. */
    ov = (struct tg_store_override){.key = "timeouts.default_ms",
                                    .value_json = "30000",
                                    .set_by = "token:lead",
                                    .set_at_us = 7};
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), 0);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.overrides, 2);
    tg_store_close(s);

    /* Durable across a reopen; listed by key. */
    s = open_store("rt.db");
    struct got all = {0};
    TG_EXPECT_EQ(tg_store_override_list(s, collect, &all, &eb), 0);
    TG_EXPECT_EQ(all.n, 2);
    TG_EXPECT_STREQ(all.keys[0], "features.disabled");
    TG_EXPECT_STREQ(all.values[0], "[\"analytics\"]");
    TG_EXPECT_STREQ(all.keys[1], "timeouts.default_ms");
    TG_EXPECT_STREQ(all.values[1], "30000");
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.overrides, 2);

    TG_EXPECT_EQ(tg_store_override_delete(s, "features.disabled", &eb), 0);
    TG_EXPECT_EQ(tg_store_override_delete(s, "features.disabled", &eb), TG_ENOTFOUND);
    EXPECT_HAS(eb.msg, "no override for \"features.disabled\"");
    struct got none = {0};
    TG_EXPECT_EQ(tg_store_override_get(s, "features.disabled", collect, &none, &eb), TG_ENOTFOUND);
    TG_EXPECT_EQ(none.n, 0);
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.overrides, 1);
    TG_EXPECT_EQ(st.write_errors_total, 0);
    tg_store_close(s);
}

static void test_refused(void)
{
    struct tg_store *s = open_store("refused.db");
    struct tg_errbuf eb = {0};
    struct tg_store_override ov = {.key = "", .value_json = "1", .set_by = "ops"};
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), -EINVAL);
    ov.key = "tracing.sample_rate";
    ov.value_json = NULL;
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), -EINVAL);
    ov.value_json = "0.1.2";
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), TG_EPARSE);
    EXPECT_HAS(eb.msg, "the override's value is not JSON");
    TG_EXPECT_EQ(rows(s, "override"), 0);
    tg_store_close(s);
}

static struct tg_store_audit change_row(const char *target, const char *new_json)
{
    return (struct tg_store_audit){.ts_us = 1700000000000000,
                                   .actor = "token:oncall",
                                   .action = "put circuit-breaker",
                                   .target = target,
                                   .old_json = "null",
                                   .new_json = new_json};
}

static void test_apply(void)
{
    struct tg_store *s = open_store("apply.db");
    struct tg_errbuf eb = {0};
    struct tg_store_set sets[] = {
        {.key = "circuit_breaker.enabled", .value_json = "true"},
        {.key = "circuit_breaker.timeout_ms", .value_json = "5000"},
    };
    struct tg_store_audit row = change_row("circuit_breaker", "{\"enabled\":true}");
    int64_t id = 0;
    TG_EXPECT_EQ(tg_store_apply(s, sets, 2, &row, &id, &eb), 0);
    TG_EXPECT_GT(id, 0);
    struct got g = {0};
    TG_EXPECT_EQ(tg_store_override_get(s, "circuit_breaker.timeout_ms", collect, &g, &eb), 0);
    TG_EXPECT_STREQ(g.values[0], "5000");
    TG_EXPECT_STREQ(g.set_by, "token:oncall"); /* who and when come from the audit row */
    TG_EXPECT_EQ(g.set_at_us, 1700000000000000);
    TG_EXPECT_EQ(rows(s, "audit"), 1);

    /* A delete and a set in one change, with no audit values at all. */
    struct tg_store_set undo[] = {
        {.key = "circuit_breaker.enabled", .value_json = NULL},
        {.key = "circuit_breaker.timeout_ms", .value_json = "10000"},
    };
    struct tg_store_audit undo_row = {.ts_us = 2, .actor = "ops", .action = "reset"};
    TG_EXPECT_EQ(tg_store_apply(s, undo, 2, &undo_row, NULL, &eb), 0);
    TG_EXPECT_EQ(rows(s, "override"), 1);
    TG_EXPECT_EQ(rows(s, "audit"), 2);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.overrides, 1);
    TG_EXPECT_EQ(st.audit_rows, 2);
    TG_EXPECT_EQ(st.commits_total, 2);
    tg_store_close(s);
}

/* A change that fails at any step leaves no override and no audit row. */
static void test_apply_all_or_nothing(void)
{
    struct tg_store *s = open_store("atomic.db");
    struct tg_errbuf eb = {0};
    struct tg_store_audit row = change_row("x", "1");

    /* Refused before the transaction: a bad value in the second step. */
    struct tg_store_set bad_value[] = {{.key = "a", .value_json = "1"},
                                       {.key = "b", .value_json = "{"}};
    TG_EXPECT_EQ(tg_store_apply(s, bad_value, 2, &row, NULL, &eb), TG_EPARSE);
    struct tg_store_set no_key[] = {{.key = "a", .value_json = "1"}, {.key = NULL}};
    TG_EXPECT_EQ(tg_store_apply(s, no_key, 2, &row, NULL, &eb), -EINVAL);
    struct tg_store_audit no_actor = {.action = "put"};
    TG_EXPECT_EQ(tg_store_apply(s, bad_value, 1, &no_actor, NULL, &eb), -EINVAL);

    /* Refused inside it: the first step was written, then a delete finds nothing. */
    struct tg_store_set missing[] = {{.key = "a", .value_json = "1"},
                                     {.key = "never-set", .value_json = NULL}};
    TG_EXPECT_EQ(tg_store_apply(s, missing, 2, &row, NULL, &eb), TG_ENOTFOUND);
    EXPECT_HAS(eb.msg, "never-set");
    /* And an audit value that is not JSON, checked after the overrides were written. */
    struct tg_store_audit bad_audit = change_row("x", "nope");
    TG_EXPECT_EQ(tg_store_apply(s, bad_value, 1, &bad_audit, NULL, &eb), TG_EPARSE);
    TG_EXPECT_EQ(rows(s, "override"), 0);
    TG_EXPECT_EQ(rows(s, "audit"), 0);

    /* A storage failure at the audit insert, after the override is written in the same
     * transaction (a trigger stands in for a full disk or an I/O error there). */
    TG_EXPECT_EQ(tst_sql(tg_store_path(s), "CREATE TRIGGER fail BEFORE INSERT ON audit BEGIN "
                                           "SELECT RAISE(ABORT, 'injected failure'); END"),
                 SQLITE_OK);
    struct tg_store_set one[] = {{.key = "a", .value_json = "1"}};
    TG_EXPECT_EQ(tg_store_apply(s, one, 1, &row, NULL, &eb), TG_ESTORE);
    EXPECT_HAS(eb.msg, "cannot write the audit row: injected failure");
    EXPECT_HAS(eb.msg, tg_store_path(s));
    TG_EXPECT_EQ(rows(s, "override"), 0);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.write_errors_total, 1);
    TG_EXPECT_EQ(st.commits_total, 0);
    TG_EXPECT_EQ(st.overrides, 0);
    TG_EXPECT_EQ(st.audit_rows, 0);

    /* The connection recovers once the cause is gone. */
    TG_EXPECT_EQ(tst_sql(tg_store_path(s), "DROP TRIGGER fail"), SQLITE_OK);
    TG_EXPECT_EQ(tg_store_apply(s, one, 1, &row, NULL, &eb), 0);
    TG_EXPECT_EQ(rows(s, "override"), 1);
    TG_EXPECT_EQ(rows(s, "audit"), 1);
    tg_store_close(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    tst_mkdtemp(dir, sizeof dir);
    test_round_trip();
    test_refused();
    test_apply();
    test_apply_all_or_nothing();
    tst_rmtree(dir);
    return tg_test_report(argv[0]);
}
