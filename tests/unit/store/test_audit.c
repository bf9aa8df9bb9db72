/* SPDX-License-Identifier: MIT */
/* Unit tests for src/store/audit.c on real files: append and list round trips, newest
 * first, the filters and the bounds of a listing, refused rows leave nothing behind,
 * secrets never reach the file, and retention by rows and by age. */
#include "store/audit.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_test.h"

static char dir[PATH_MAX];

/* Collected rows of one listing (copies of the fields the tests look at). */
struct seen {
    int n;
    int stop_after; /* the callback returns 7 after this many rows (0: never) */
    int64_t id[1100];
    int64_t ts[1100];
    char last_target[64];
};

static int collect(void *ctx, const struct tg_store_audit *row)
{
    struct seen *s = ctx;
    if (s->n < 1100) {
        s->id[s->n] = row->id;
        s->ts[s->n] = row->ts_us;
    }
    snprintf(s->last_target, sizeof s->last_target, "%s", row->target);
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

/* 1 when the file's bytes contain `needle`, 0 when not, -1 when it cannot be read. */
static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static struct tg_store *open_store(const char *name, const struct tg_store_opts *o)
{
    char path[PATH_MAX];
    struct tg_store *s = NULL;
    struct tg_errbuf eb = {0};
    int rc = tg_store_open(tst_path(path, sizeof path, dir, name), o, &s, &eb);
    if (rc != 0) {
        fprintf(stderr, "open: %s\n", eb.msg);
        exit(1);
    }
    return s;
}

static int append(struct tg_store *s, int64_t ts, const char *action, const char *target)
{
    struct tg_store_audit row = {
        .ts_us = ts, .actor = "ops", .action = action, .target = target, .new_json = "1"};
    return tg_store_audit_append(s, &row, NULL, NULL);
}

/* The fields of the one row a listing with `f` returns, checked by the callback. */
struct one {
    int n;
    struct tg_store_audit want;
};

static int check_one(void *ctx, const struct tg_store_audit *row)
{
    struct one *o = ctx;
    o->n++;
    TG_EXPECT_EQ(row->id, o->want.id);
    TG_EXPECT_EQ(row->ts_us, o->want.ts_us);
    TG_EXPECT_STREQ(row->actor, o->want.actor);
    TG_EXPECT_STREQ(row->action, o->want.action);
    TG_EXPECT_STREQ(row->target, o->want.target);
    if (o->want.old_json)
        TG_EXPECT_STREQ(row->old_json, o->want.old_json);
    else
        TG_EXPECT(row->old_json == NULL);
    TG_EXPECT_STREQ(row->new_json, o->want.new_json);
    TG_EXPECT_STREQ(row->result, o->want.result);
    return 0;
}

static void test_round_trip(void)
{
    struct tg_store *s = open_store("rt.db", NULL);
    struct tg_errbuf eb = {0};
    struct tg_store_audit row = {
        .ts_us = 1700000000123456,
        .actor = "token:oncall",
        .action = "put circuit-breaker",
        .target = "circuit_breaker",
        .old_json = "{\"enabled\":false}",
        .new_json = "{\"enabled\":true,\"timeout_ms\":5000,\"failure_threshold\":0.5}",
        .result = "ok",
    };
    int64_t id = 0;
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, &id, &eb), 0);
    TG_EXPECT_GT(id, 0);
    struct one o = {.want = row};
    o.want.id = id;
    TG_EXPECT_EQ(tg_store_audit_list(s, NULL, check_one, &o, &eb), 0);
    TG_EXPECT_EQ(o.n, 1);

    /* NULL target and result have their documented defaults; NULL values stay NULL. */
    struct tg_store_audit bare = {.ts_us = 5, .actor = "127.0.0.1:5000", .action = "gc"};
    int64_t id2 = 0;
    TG_EXPECT_EQ(tg_store_audit_append(s, &bare, &id2, &eb), 0);
    TG_EXPECT_GT(id2, id);
    /* NULL values: read back through SQL, since check_one compares strings. */
    struct tg_store_audit_filter f = {.action = "gc"};
    struct seen seen = {0};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &seen, &eb), 0);
    TG_EXPECT_EQ(seen.n, 1);
    TG_EXPECT_EQ(seen.id[0], id2);
    TG_EXPECT_STREQ(seen.last_target, "");
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT count(*) FROM audit WHERE action = 'gc' "
                                               "AND old_json IS NULL AND new_json IS NULL AND "
                                               "result = 'ok'"),
                 1);

    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 2);
    TG_EXPECT_EQ(st.commits_total, 2);
    tg_store_close(s);
}

static void test_order_and_filters(void)
{
    struct tg_store_opts o = {0};
    struct tg_store *s = open_store("filters.db", &o);
    struct tg_errbuf eb = {0};
    /* Wall time is not monotonic: row 3 is stamped before row 2 (a clock step back). */
    TG_EXPECT_EQ(append(s, 1000, "put timeouts", "timeouts"), 0);
    TG_EXPECT_EQ(append(s, 3000, "put rate-limit", "rate_limit"), 0);
    TG_EXPECT_EQ(append(s, 2000, "put timeouts", "timeouts"), 0);
    TG_EXPECT_EQ(append(s, 3000, "disable features", "features"), 0);

    struct seen all = {0};
    TG_EXPECT_EQ(tg_store_audit_list(s, NULL, collect, &all, &eb), 0);
    TG_EXPECT_EQ(all.n, 4);
    /* Newest first by wall time, then by id among equal times. */
    TG_EXPECT_EQ(all.ts[0], 3000);
    TG_EXPECT_EQ(all.ts[1], 3000);
    TG_EXPECT_GT(all.id[0], all.id[1]);
    TG_EXPECT_EQ(all.ts[2], 2000);
    TG_EXPECT_EQ(all.ts[3], 1000);

    struct seen since = {0};
    struct tg_store_audit_filter f = {.since_us = 2000};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &since, &eb), 0);
    TG_EXPECT_EQ(since.n, 3);

    struct seen by_action = {0};
    f = (struct tg_store_audit_filter){.action = "put timeouts"};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &by_action, &eb), 0);
    TG_EXPECT_EQ(by_action.n, 2);
    TG_EXPECT_EQ(by_action.ts[0], 2000);

    struct seen by_target = {0};
    f = (struct tg_store_audit_filter){.target = "rate_limit", .since_us = 1};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &by_target, &eb), 0);
    TG_EXPECT_EQ(by_target.n, 1);
    TG_EXPECT_STREQ(by_target.last_target, "rate_limit");

    struct seen both = {0};
    f = (struct tg_store_audit_filter){.target = "timeouts", .action = "put rate-limit"};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &both, &eb), 0);
    TG_EXPECT_EQ(both.n, 0);

    struct seen limited = {0};
    f = (struct tg_store_audit_filter){.limit = 2};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &limited, &eb), 0);
    TG_EXPECT_EQ(limited.n, 2);

    /* A callback that stops: its value comes back, no more rows are given. */
    struct seen stop = {.stop_after = 3};
    TG_EXPECT_EQ(tg_store_audit_list(s, NULL, collect, &stop, &eb), 7);
    TG_EXPECT_EQ(stop.n, 3);
    tg_store_close(s);
}

static void test_list_bounds(void)
{
    struct tg_store_opts o = {0};
    struct tg_store *s = open_store("bounds.db", &o);
    struct tg_errbuf eb = {0};
    /* 1,100 rows written directly in one transaction (1,100 appends would be 1,100
     * fsyncs); ts_us 10000 .. 11099. */
    TG_EXPECT_EQ(tst_sql(tg_store_path(s),
                         "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 1099) INSERT INTO audit(ts_us, actor, action) "
                         "SELECT 10000 + i, 'ops', 'put tracing' FROM n"),
                 SQLITE_OK);
    struct seen dflt = {0};
    TG_EXPECT_EQ(tg_store_audit_list(s, NULL, collect, &dflt, &eb), 0);
    TG_EXPECT_EQ(dflt.n, TG_STORE_AUDIT_LIST_DEFAULT);
    TG_EXPECT_EQ(dflt.ts[0], 10000 + 1099);

    struct seen capped = {0};
    struct tg_store_audit_filter f = {.limit = 5000};
    TG_EXPECT_EQ(tg_store_audit_list(s, &f, collect, &capped, &eb), 0);
    TG_EXPECT_EQ(capped.n, TG_STORE_AUDIT_LIST_MAX);
    TG_EXPECT_EQ(capped.ts[999], 10000 + 100);
    tg_store_close(s);
}

static void test_refused(void)
{
    struct tg_store *s = open_store("refused.db", NULL);
    struct tg_errbuf eb = {0};
    struct tg_store_audit row = {.ts_us = 1, .action = "put x"};
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, NULL, &eb), -EINVAL);
    EXPECT_HAS(eb.msg, "needs an actor and an action");
    row.actor = "ops";
    row.action = "";
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, NULL, &eb), -EINVAL);
    row.action = "put x";
    row.old_json = "{\"a\":1";
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, NULL, &eb), TG_EPARSE);
    EXPECT_HAS(eb.msg, "the audit row's old value is not JSON");
    row.old_json = NULL;
    row.new_json = "tru";
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, NULL, &eb), TG_EPARSE);
    EXPECT_HAS(eb.msg, "the audit row's new value is not JSON");

    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 0);
    TG_EXPECT_EQ(st.commits_total, 0);
    TG_EXPECT_EQ(st.write_errors_total, 0); /* refused input is not a storage failure */
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT count(*) FROM audit"), 0);
    /* The connection is usable after a refusal inside a transaction. */
    row.new_json = "true";
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, NULL, &eb), 0);
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT count(*) FROM audit"), 1);
    tg_store_close(s);
}

static void test_secrets_stay_out(void)
{
    struct tg_store *s = open_store("secrets.db", NULL);
    struct tg_errbuf eb = {0};
    struct tg_store_audit row = {
        .ts_us = 1,
        .actor = "ops",
        .action = "put notifier",
        .target = "notifier",
        .old_json = "{\"url\":\"http://a\",\"token\":\"old-s3cret\"}",
        .new_json = "{\"url\":\"http://b\",\"headers\":{\"Authorization\":\"Bearer new-s3cret\"}}",
    };
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, NULL, &eb), 0);
    struct tg_store_audit whole = {.ts_us = 2,
                                   .actor = "ops",
                                   .action = "rotate",
                                   .target = "admin.token",
                                   .old_json = "\"old-s3cret\"",
                                   .new_json = "\"new-s3cret\""};
    TG_EXPECT_EQ(tg_store_audit_append(s, &whole, NULL, &eb), 0);
    const char *path = tg_store_path(s);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM audit WHERE old_json LIKE '%s3cret%' "
                                   "OR new_json LIKE '%s3cret%'"),
                 0);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM audit WHERE old_json = "
                                   "'{\"url\":\"http://a\",\"token\":\"[redacted]\"}'"),
                 1);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM audit WHERE new_json = "
                                   "'\"[redacted]\"' AND old_json = '\"[redacted]\"'"),
                 1);
    tg_store_close(s);
    /* Not in the file's bytes either (the WAL is folded in at close). */
    char file[PATH_MAX];
    TG_EXPECT_EQ(file_contains(tst_path(file, sizeof file, dir, "secrets.db"), "s3cret"), 0);
    TG_EXPECT_EQ(file_contains(file, "[redacted]"), 1);
}

static void test_retention_rows(void)
{
    struct tg_store_opts o = {.audit_max_rows = 10};
    struct tg_store *s = open_store("rows.db", &o);
    struct tg_errbuf eb = {0};
    for (int i = 1; i <= 25; i++)
        TG_EXPECT_EQ(append(s, i, "put x", "x"), 0);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 10);
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT count(*) FROM audit"), 10);
    struct seen seen = {0};
    TG_EXPECT_EQ(tg_store_audit_list(s, NULL, collect, &seen, &eb), 0);
    TG_EXPECT_EQ(seen.n, 10);
    TG_EXPECT_EQ(seen.ts[0], 25);
    TG_EXPECT_EQ(seen.ts[9], 16);
    tg_store_close(s);
    /* A lower bound at the next open applies at the next append; the count is re-read. */
    o.audit_max_rows = 4;
    s = open_store("rows.db", &o);
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 10);
    TG_EXPECT_EQ(append(s, 26, "put x", "x"), 0);
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 4);
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT min(ts_us) FROM audit"), 23);
    tg_store_close(s);
}

static void test_retention_age(void)
{
    struct tg_store_opts o = {.audit_max_age_us = 1000};
    struct tg_store *s = open_store("age.db", &o);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(append(s, 10000, "a", ""), 0);
    TG_EXPECT_EQ(append(s, 10500, "b", ""), 0);
    TG_EXPECT_EQ(append(s, 11000, "c", ""), 0); /* cutoff 10000: nothing is older */
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT count(*) FROM audit"), 3);
    TG_EXPECT_EQ(append(s, 11600, "d", ""), 0); /* cutoff 10600: drops a and b */
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 2);
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT min(ts_us) FROM audit"), 11000);
    /* The periodic trim, with no append. */
    TG_EXPECT_EQ(tg_store_audit_trim(s, 12100, &eb), 0);
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 1);
    TG_EXPECT_EQ(tg_store_audit_trim(s, 99999, &eb), 0);
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.audit_rows, 0);
    TG_EXPECT_EQ(tst_sql_int(tg_store_path(s), "SELECT count(*) FROM audit"), 0);
    tg_store_close(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    tst_mkdtemp(dir, sizeof dir);
    test_round_trip();
    test_order_and_filters();
    test_list_bounds();
    test_refused();
    test_secrets_stay_out();
    test_retention_rows();
    test_retention_age();
    tst_rmtree(dir);
    return tg_test_report(argv[0]);
}
