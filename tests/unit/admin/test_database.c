/* SPDX-License-Identifier: MIT */
/* Unit tests for src/admin/database.c's pure parts: rows as JSON with their types,
 * slow-queries and index-candidates parameters (defaults, ranges, 400 naming the
 * parameter), the hook's strict body, and the connections summary. */
#include "admin/database_int.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static struct tg_str str(const char *s)
{
    return (struct tg_str){s, strlen(s)};
}

static char *dump(json_t *v)
{
    char *s =
        json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12)) /* as resp.c */;
    json_decref(v);
    return s;
}

static void test_rows(void)
{
    const char *names[] = {"query", "calls", "avg_ms", "ok"};
    struct tg_cpg_result *r = tg_cpg_result_new(4, names);
    const char *row1[] = {"select 1", "3", "101.25", "t"};
    const char *row2[] = {NULL, "x", NULL, "f"};
    tg_cpg_result_add_row(r, row1);
    tg_cpg_result_add_row(r, row2);
    char *s = dump(tg_admin__db_rows(r, "sinb"));
    TG_EXPECT_STREQ(s, "[{\"avg_ms\":101.25,\"calls\":3,\"ok\":true,\"query\":\"select 1\"},"
                       "{\"avg_ms\":null,\"calls\":null,\"ok\":false,\"query\":null}]");
    free(s);
    tg_cpg_result_free(r);
}

static int status_of(struct tg_admin_resp *r, const char *field)
{
    int st = r->status;
    TG_EXPECT(r->body && strstr(r->body, field) != NULL);
    tg_admin_resp_free(r);
    *r = (struct tg_admin_resp){0};
    return st;
}

static void test_slow_params(void)
{
    char mean[32], limit[16];
    struct tg_admin_resp r = {0};
    TG_EXPECT(tg_admin__db_slow_params(str(""), mean, limit, &r));
    TG_EXPECT_STREQ(mean, "100");
    TG_EXPECT_STREQ(limit, "20");
    TG_EXPECT(tg_admin__db_slow_params(str("min_mean_ms=2.5&limit=7"), mean, limit, &r));
    TG_EXPECT_STREQ(mean, "2.5");
    TG_EXPECT_STREQ(limit, "7");
    TG_EXPECT(!tg_admin__db_slow_params(str("min_mean_ms=-1"), mean, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"min_mean_ms\""), 400);
    TG_EXPECT(!tg_admin__db_slow_params(str("min_mean_ms=abc"), mean, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"min_mean_ms\""), 400);
    TG_EXPECT(!tg_admin__db_slow_params(str("limit=0"), mean, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"limit\""), 400);
    TG_EXPECT(!tg_admin__db_slow_params(str("limit=2.5"), mean, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"limit\""), 400);
    TG_EXPECT(!tg_admin__db_slow_params(str("limit=1001"), mean, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"limit\""), 400);
}

static void test_index_params(void)
{
    char schema[64], limit[16];
    struct tg_admin_resp r = {0};
    TG_EXPECT(tg_admin__db_index_params(str(""), schema, limit, &r));
    TG_EXPECT_STREQ(schema, "public");
    TG_EXPECT_STREQ(limit, "50");
    TG_EXPECT(tg_admin__db_index_params(str("schema=app_1"), schema, limit, &r));
    TG_EXPECT_STREQ(schema, "app_1");
    TG_EXPECT(!tg_admin__db_index_params(str("schema=a%27b"), schema, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"schema\""), 400);
    TG_EXPECT(!tg_admin__db_index_params(str("schema="), schema, limit, &r));
    TG_EXPECT_EQ(status_of(&r, "\"schema\""), 400);
}

static bool body(const char *text, double *older, bool *dry, struct tg_admin_resp *r)
{
    json_t *b = json_loads(text, 0, NULL);
    bool ok = tg_admin__db_terminate_body(b, older, dry, r);
    json_decref(b);
    return ok;
}

static void test_terminate_body(void)
{
    double older = 0;
    bool dry = true;
    struct tg_admin_resp r = {0};
    TG_EXPECT(body("{\"older_than_s\": 300}", &older, &dry, &r));
    TG_EXPECT(older == 300 && !dry);
    TG_EXPECT(body("{\"older_than_s\": 1.5, \"dry_run\": true}", &older, &dry, &r));
    TG_EXPECT(older == 1.5 && dry);
    TG_EXPECT(!body("{}", &older, &dry, &r));
    TG_EXPECT_EQ(status_of(&r, "\"older_than_s\""), 400);
    TG_EXPECT(!body("{\"older_than_s\": \"300\"}", &older, &dry, &r));
    TG_EXPECT_EQ(status_of(&r, "\"older_than_s\""), 400);
    TG_EXPECT(!body("{\"older_than_s\": 0}", &older, &dry, &r));
    TG_EXPECT_EQ(status_of(&r, "\"older_than_s\""), 400);
    TG_EXPECT(!body("{\"older_than_s\": 5, \"dry_run\": 1}", &older, &dry, &r));
    TG_EXPECT_EQ(status_of(&r, "\"dry_run\""), 400);
    TG_EXPECT(!body("{\"older_than_s\": 5, \"pid\": 1}", &older, &dry, &r));
    TG_EXPECT_EQ(status_of(&r, "\"pid\""), 400);
}

static void test_connections(void)
{
    const char *names[] = {"state", "connections", "max_duration_s", "max_connections"};
    struct tg_cpg_result *r = tg_cpg_result_new(4, names);
    const char *a[] = {"idle", "3", "12.5", "50"};
    const char *b[] = {"active", "2", "0.25", "50"};
    tg_cpg_result_add_row(r, a);
    tg_cpg_result_add_row(r, b);
    char *s = dump(tg_admin__db_connections(r));
    TG_EXPECT_STREQ(s, "{\"by_state\":[{\"connections\":3,\"max_duration_s\":12.5,\"state\":"
                       "\"idle\"},{\"connections\":2,\"max_duration_s\":0.25,\"state\":"
                       "\"active\"}],\"max_connections\":50,\"total\":5,\"usage_ratio\":0.1}");
    free(s);
    tg_cpg_result_free(r);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_rows();
    test_slow_params();
    test_index_params();
    test_terminate_body();
    test_connections();
    return tg_test_report(argv[0]);
}
