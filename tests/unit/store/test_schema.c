/* SPDX-License-Identifier: MIT */
/* Unit tests for src/store/schema.c: forward migrations run from the file's version up,
 * once, all or nothing; a version above the build's is refused; the real migrations
 * build the tables the other files use. Runs on in-memory databases. */
#include "store/schema_int.h"

#include <sqlite3.h>

#include "store_test.h"

static const char *const three[] = {
    "CREATE TABLE t1(a);",
    "CREATE TABLE t2(b); INSERT INTO t1 VALUES (2);",
    "CREATE TABLE t3(c); CREATE INDEX t3_c ON t3(c);",
};

static long long query(sqlite3 *db, const char *sql)
{
    int64_t v = -1;
    if (tg_store__query_int(db, sql, &v) != SQLITE_OK)
        return -1;
    return v;
}

static long long tables(sqlite3 *db)
{
    return query(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
}

static void test_from_empty(void)
{
    sqlite3 *db;
    TG_EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store__migrate(db, "mem", three, 3, &eb), 0);
    TG_EXPECT_EQ(query(db, "PRAGMA user_version"), 3);
    TG_EXPECT_EQ(query(db, "PRAGMA application_id"), TG_STORE__APP_ID);
    TG_EXPECT_EQ(tables(db), 3);
    /* Again: nothing to do, and nothing re-run (t1 would exist, t1 would get a 2nd row). */
    TG_EXPECT_EQ(tg_store__migrate(db, "mem", three, 3, &eb), 0);
    TG_EXPECT_EQ(query(db, "SELECT count(*) FROM t1"), 1);
    TG_EXPECT(sqlite3_get_autocommit(db));
    sqlite3_close(db);
}

static void test_from_older(void)
{
    sqlite3 *db;
    TG_EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store__migrate(db, "mem", three, 1, &eb), 0);
    TG_EXPECT_EQ(query(db, "PRAGMA user_version"), 1);
    TG_EXPECT_EQ(tables(db), 1);
    /* A later build: only steps 2 and 3 run (step 1 again would fail: t1 exists). */
    TG_EXPECT_EQ(tg_store__migrate(db, "mem", three, 3, &eb), 0);
    TG_EXPECT_EQ(query(db, "PRAGMA user_version"), 3);
    TG_EXPECT_EQ(tables(db), 3);
    sqlite3_close(db);
}

static void test_all_or_nothing(void)
{
    static const char *const broken[] = {
        "CREATE TABLE t1(a);",
        "CREATE TABLE t2(b);",
        "CREATE TABLE t3(c); CREATE TABLE t1(again);",
    };
    sqlite3 *db;
    TG_EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store__migrate(db, "mem", broken, 1, &eb), 0);
    TG_EXPECT_EQ(tg_store__migrate(db, "/x/store.db", broken, 3, &eb), TG_ESTORE);
    EXPECT_HAS(eb.msg, "store /x/store.db: upgrade to schema version 3 failed: table t1 "
                       "already exists");
    /* Step 2 ran and was rolled back with step 3: the file is as it was. */
    TG_EXPECT_EQ(query(db, "PRAGMA user_version"), 1);
    TG_EXPECT_EQ(tables(db), 1);
    TG_EXPECT(sqlite3_get_autocommit(db));
    sqlite3_close(db);
}

static void test_newer(void)
{
    sqlite3 *db;
    TG_EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    TG_EXPECT_EQ(sqlite3_exec(db, "PRAGMA user_version=7", NULL, NULL, NULL), SQLITE_OK);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store__migrate(db, "/x/store.db", three, 3, &eb), TG_ESTORE);
    TG_EXPECT_STREQ(eb.msg, "store /x/store.db: schema version 7 is newer than this build "
                            "knows (3): it was written by a newer tailguard");
    TG_EXPECT_EQ(query(db, "PRAGMA user_version"), 7);
    TG_EXPECT_EQ(tables(db), 0);
    TG_EXPECT(sqlite3_get_autocommit(db));
    sqlite3_close(db);
}

static void test_real_schema(void)
{
    sqlite3 *db;
    TG_EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    struct tg_errbuf eb = {0};
    TG_EXPECT_GE(tg_store__schema_version, 1);
    TG_EXPECT_EQ(tg_store__migrate(db, "mem", tg_store__migrations, tg_store__schema_version, &eb),
                 0);
    TG_EXPECT_EQ(query(db, "PRAGMA user_version"), tg_store__schema_version);
    TG_EXPECT_EQ(query(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
                           "('audit', 'audit_ts', 'override')"),
                 3);
    /* The audit listing's order comes from the index, not a sort. */
    sqlite3_stmt *st;
    TG_EXPECT_EQ(sqlite3_prepare_v2(db,
                                    "EXPLAIN QUERY PLAN SELECT id FROM audit WHERE ts_us >= 0 "
                                    "AND (NULL IS NULL OR action = NULL) ORDER BY ts_us DESC, "
                                    "id DESC LIMIT 10",
                                    -1, &st, NULL),
                 SQLITE_OK);
    int sorts = 0, index_used = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        sorts += strstr(d, "TEMP B-TREE") != NULL;
        index_used += strstr(d, "audit_ts") != NULL;
    }
    sqlite3_finalize(st);
    TG_EXPECT_EQ(sorts, 0);
    TG_EXPECT_EQ(index_used, 1);
    sqlite3_close(db);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_from_empty();
    test_from_older();
    test_all_or_nothing();
    test_newer();
    test_real_schema();
    return tg_test_report(argv[0]);
}
