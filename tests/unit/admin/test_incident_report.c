/* SPDX-License-Identifier: MIT */
/* Unit tests for src/admin/incident_report.c: no incident is 404; the format parameter
 * picks Markdown (default) or HTML with their content types and the headers that forbid
 * scripts, anything else is 400 naming the field; a store adds the chart's points; an
 * incident the store cannot chart (no opened_at) still gets its report. */
#include "admin/incident_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"
#include "tsdb/tsdb.h"

#define T0 1796056800000LL /* 2026-11-30T16:40:00Z */

static struct tg_str S(const char *s)
{
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static void answer(const json_t *inc, const struct tg_queryable *q, const char *query,
                   struct tg_admin_resp *r)
{
    memset(r, 0, sizeof *r);
    tg_admin_incident_report(inc, q, S(query), T0 + 600000, r);
}

static void test_formats(void)
{
    json_t *inc = json_pack("{s:i, s:s, s:s}", "id", 4, "title", "<b>x</b>", "opened_at",
                            "2026-11-30T16:40:00Z");
    struct tg_admin_resp r;
    answer(NULL, NULL, "", &r);
    TG_EXPECT_EQ(r.status, 404);
    tg_admin_resp_free(&r);

    answer(inc, NULL, "", &r);
    TG_EXPECT_EQ(r.status, 200);
    TG_EXPECT_STREQ(r.content_type, "text/markdown; charset=utf-8");
    const char *head = "# Incident 4: \\<b\\>x\\</b\\>\n";
    TG_EXPECT(r.body && strncmp(r.body, head, strlen(head)) == 0);
    TG_EXPECT_EQ(r.body_len, strlen(r.body));
    TG_EXPECT(r.extra && strstr(r.extra, "Content-Security-Policy: default-src 'none'"));
    tg_admin_resp_free(&r);

    answer(inc, NULL, "format=markdown", &r);
    TG_EXPECT_EQ(r.status, 200);
    TG_EXPECT_STREQ(r.content_type, "text/markdown; charset=utf-8");
    tg_admin_resp_free(&r);

    answer(inc, NULL, "x=1&format=html", &r);
    TG_EXPECT_EQ(r.status, 200);
    TG_EXPECT_STREQ(r.content_type, "text/html; charset=utf-8");
    TG_EXPECT(r.body && strncmp(r.body, "<!DOCTYPE html>", 15) == 0);
    TG_EXPECT(r.body && strstr(r.body, "&lt;b&gt;x&lt;/b&gt;") != NULL);
    TG_EXPECT(r.body && strstr(r.body, "no latency data") != NULL);
    TG_EXPECT(r.extra && strstr(r.extra, "X-Content-Type-Options: nosniff"));
    tg_admin_resp_free(&r);

    const char *bad[] = {"format=pdf", "format=", "format=HTML", "format=%zz",
                         "format=htmlhtmlhtmlhtmlhtml"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        answer(inc, NULL, bad[i], &r);
        TG_EXPECT_EQ(r.status, 400);
        TG_EXPECT(r.body && strstr(r.body, "\"field\":\"format\"") != NULL);
        tg_admin_resp_free(&r);
    }
    json_decref(inc);
}

static void test_store(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    /* A fast endpoint for ten minutes: 10 requests per 5 s, all under 100 ms. */
    for (int64_t t = T0 - 120000, n = 10; t <= T0 + 600000; t += 5000, n += 10) {
        const char *les[] = {"+Inf", "0.1"};
        for (int i = 0; i < 2; i++) {
            struct tg_label l[] = {{"__name__", "http_request_duration_seconds_bucket"},
                                   {"endpoint", "/a"}, {"le", les[i]}, {"method", "GET"}};
            struct tg_labels ls = {l, 4};
            TG_EXPECT_EQ(tg_tsdb_append(db, &ls, t, (double)n), 0);
        }
    }
    json_t *inc = json_pack("{s:s}", "opened_at", "2026-11-30T16:42:00Z");
    struct tg_admin_resp r;
    answer(inc, &q, "format=markdown", &r);
    TG_EXPECT_EQ(r.status, 200);
    TG_EXPECT(r.body && strstr(r.body, "| p95 | 95.0 ms | 95.0 ms | 95.0 ms |") != NULL);
    tg_admin_resp_free(&r);
    json_decref(inc);

    /* No opened_at: the store cannot chart it, the report is still there. */
    inc = json_pack("{s:i}", "id", 9);
    answer(inc, &q, "format=html", &r);
    TG_EXPECT_EQ(r.status, 200);
    TG_EXPECT(r.body && strstr(r.body, "no latency data") != NULL);
    tg_admin_resp_free(&r);
    json_decref(inc);
    tg_tsdb_free(db);
}

int main(void)
{
    test_formats();
    test_store();
    return tg_test_report("admin/incident_report");
}
