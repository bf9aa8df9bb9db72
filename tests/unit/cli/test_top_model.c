/* SPDX-License-Identifier: MIT */
/* Tests for src/cli/top_model.c, the pure part of `tailguard top`: the admin API's
 * answers (samples in the documented shapes) parsed into rows, alerts, incidents and
 * traces; wrong shapes, every truncation of a good answer and seeded garbage refused
 * without a crash and without touching what was there; sorting, filters, sparklines,
 * and lines that are exactly as wide as the layout says at any width. */
#include "cli/top_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static const char STATS[] =
    "{\"window_s\":60,\"endpoints\":["
    "{\"endpoint\":\"/api/products\",\"method\":\"GET\",\"requests\":84,\"count\":84,"
    "\"rps\":1.4,\"avg_latency_ms\":23.6,\"p50_ms\":18.5,\"p90_ms\":44.6,\"p95_ms\":53.1,"
    "\"p99_ms\":73.4,\"max_ms\":73.4,\"error_rate\":0,\"status\":{\"2xx\":84}},"
    "{\"endpoint\":\"/api/v1/agents\",\"method\":\"GET\",\"requests\":77,\"count\":77,"
    "\"rps\":1.283,\"avg_latency_ms\":518.2,\"p50_ms\":808.9,\"p90_ms\":829.4,"
    "\"p95_ms\":841.7,\"p99_ms\":854,\"max_ms\":854.4,\"error_rate\":0.25,\"status\":{}},"
    "{\"endpoint\":\"/api/products/:id\",\"method\":\"POST\",\"requests\":85,\"count\":85,"
    "\"rps\":1.417,\"avg_latency_ms\":10.1,\"p50_ms\":9.3,\"p90_ms\":16.5,\"p95_ms\":21.4,"
    "\"p99_ms\":23.3,\"max_ms\":23.3,\"error_rate\":0,\"status\":{}}]}";

static const char ACTIVE[] = "{\"active\":9,\"by_endpoint\":{\"/api/v1/agents\":9,"
                             "\"/api/products\":2},\"oldest_ms\":804.5,\"requests\":[]}";

static const char SPARK[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
    "{\"metric\":{\"endpoint\":\"/api/products\",\"method\":\"GET\"},"
    "\"values\":[[1796068715,\"0.05\"],[1796068725,\"NaN\"],[1796068735,\"0.1\"]]},"
    "{\"metric\":{\"endpoint\":\"/api/v1/agents\",\"method\":\"GET\"},"
    "\"values\":[[1796068725,\"0.98\"]]},"
    "{\"metric\":{\"endpoint\":\"other\",\"method\":\"GET\"},\"values\":[[1796068725,\"1\"]]}"
    "]}}";

static const char ALERTS[] =
    "{\"status\":\"success\",\"data\":{\"alerts\":["
    "{\"labels\":{\"alertname\":\"SlowCheckout\",\"severity\":\"critical\"},"
    "\"annotations\":{\"summary\":\"checkout slow\"},\"state\":\"pending\","
    "\"activeAt\":\"2026-11-30T10:00:00Z\",\"value\":\"1e+00\"},"
    "{\"labels\":{\"alertname\":\"APIHighLatency\",\"severity\":\"warning\","
    "\"endpoint\":\"/api/v1/agents\"},\"annotations\":{},\"state\":\"firing\","
    "\"activeAt\":\"2026-11-30T10:01:00Z\",\"value\":\"1e+00\"},"
    "{\"labels\":{\"alertname\":\"ErrorRatio\",\"severity\":\"critical\"},"
    "\"annotations\":{},\"state\":\"firing\",\"activeAt\":\"2026-11-30T10:02:00Z\","
    "\"value\":\"1e+00\"}]}}";

static const char INC_OPEN[] =
    "{\"incidents\":[{\"id\":7,\"title\":\"agents slow\",\"status\":\"open\","
    "\"severity\":\"SEV-2\",\"opened_at\":\"2026-11-30T10:01:30.250Z\",\"resolved_at\":null,"
    "\"closed_at\":null,\"opened_by\":\"alert\",\"escalation_level\":\"L1\","
    "\"ack_deadline\":null,\"alerts_total\":1,\"alerts_firing\":1},"
    "{\"id\":5,\"title\":\"by hand\",\"status\":\"open\",\"severity\":null,"
    "\"opened_at\":\"2026-11-30T09:00:00.000Z\"}]}";

static const char INC_MITIGATED[] =
    "{\"incidents\":[{\"id\":6,\"title\":\"db\",\"status\":\"mitigated\","
    "\"severity\":\"SEV-1\",\"opened_at\":\"2026-11-30T09:30:00.000Z\"}]}";

static const char TRACES[] =
    "[{\"request_id\":\"a\",\"endpoint\":\"/api/v1/agents\",\"method\":\"GET\","
    "\"path\":\"/api/v1/agents\",\"status\":200,\"cause\":\"ok\",\"duration_ms\":863.7,"
    "\"time\":\"2026-11-30T19:58:42.284Z\",\"upstream\":\"default/127.0.0.1:1\","
    "\"phases_ms\":{\"queue\":0,\"connect\":null,\"upstream_first_byte\":863.7,"
    "\"upstream_total\":863.7,\"transfer\":0},\"kept_because\":[\"sampled\"]},"
    "{\"request_id\":\"b\",\"endpoint\":\"/api/products\",\"method\":\"GET\","
    "\"path\":\"/api/products\",\"status\":200,\"cause\":\"ok\",\"duration_ms\":120,"
    "\"time\":\"2026-11-30T19:58:43.000Z\",\"upstream\":\"\",\"phases_ms\":{}},"
    "{\"request_id\":\"c\",\"endpoint\":\"/api/v1/agents\",\"method\":\"GET\","
    "\"path\":\"/api/v1/agents\",\"status\":504,\"cause\":\"upstream_timeout\","
    "\"duration_ms\":850,\"time\":\"2026-11-30T19:58:44.000Z\",\"upstream\":\"\","
    "\"phases_ms\":{\"queue\":1.5,\"connect\":0.2,\"upstream_first_byte\":null,"
    "\"upstream_total\":848,\"transfer\":null}},"
    "{\"request_id\":\"d\",\"endpoint\":\"/api/v1/agents\",\"method\":\"POST\","
    "\"path\":\"/api/v1/agents\",\"status\":200,\"cause\":\"ok\",\"duration_ms\":840,"
    "\"time\":\"2026-11-30T19:58:45.000Z\",\"upstream\":\"\",\"phases_ms\":{}}]";

static int parse_stats(struct tg_top_table *t, const char *s)
{
    struct tg_errbuf eb = {0};
    return tg_top_parse_stats(t, s, strlen(s), &eb);
}

static const struct tg_top_row *find(const struct tg_top_table *t, const char *ep)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].endpoint, ep) == 0)
            return &t->rows[i];
    return NULL;
}

/* Display columns of a line: a sparkline block is 3 bytes and one column. */
static int columns(const char *s)
{
    int c = 0;
    for (; *s; s++)
        c += ((unsigned char)*s & 0xC0) != 0x80;
    return c;
}

static void test_stats_active_spark(void)
{
    struct tg_top_table t = {0};
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(parse_stats(&t, STATS), 0);
    TG_EXPECT_EQ(t.n, 3);
    const struct tg_top_row *r = find(&t, "/api/v1/agents");
    TG_EXPECT(r != NULL);
    if (!r)
        return;
    TG_EXPECT_STREQ(r->method, "GET");
    TG_EXPECT(fabs(r->p95_ms - 841.7) < 1e-9 && fabs(r->err_ratio - 0.25) < 1e-9);
    TG_EXPECT_EQ(r->requests, 77);
    TG_EXPECT(fabs(find(&t, "/api/products/:id")->rps - 1.417) < 1e-9);

    TG_EXPECT_EQ(tg_top_parse_active(&t, ACTIVE, strlen(ACTIVE), &eb), 0);
    TG_EXPECT_EQ(find(&t, "/api/v1/agents")->active, 9);
    TG_EXPECT_EQ(find(&t, "/api/products")->active, 2);
    TG_EXPECT_EQ(find(&t, "/api/products/:id")->active, 0);

    TG_EXPECT_EQ(tg_top_parse_spark(&t, SPARK, strlen(SPARK), &eb), 0);
    r = find(&t, "/api/products");
    TG_EXPECT_EQ(r->spark_n, 3);
    TG_EXPECT(fabs(r->spark[0] - 50) < 1e-9 && isnan(r->spark[1]) &&
              fabs(r->spark[2] - 100) < 1e-9);
    TG_EXPECT_EQ(find(&t, "/api/v1/agents")->spark_n, 1);
    /* The series is GET; the row is POST: no sparkline rather than another's. */
    TG_EXPECT_EQ(find(&t, "/api/products/:id")->spark_n, 0);

    /* More points than a sparkline holds: the newest are kept. */
    char big[8192];
    size_t o = (size_t)snprintf(big, sizeof big,
                                "{\"status\":\"success\",\"data\":{\"result\":"
                                "[{\"metric\":{\"endpoint\":\"/api/products\","
                                "\"method\":\"GET\"},\"values\":[");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s[%d,\"%d\"]", i ? "," : "", 1000 + i, i);
    snprintf(big + o, sizeof big - o, "]}]}}");
    TG_EXPECT_EQ(tg_top_parse_spark(&t, big, strlen(big), &eb), 0);
    r = find(&t, "/api/products");
    TG_EXPECT_EQ(r->spark_n, TG_TOP_SPARK_MAX);
    TG_EXPECT(fabs(r->spark[0] - 8000) < 1e-9 &&
              fabs(r->spark[TG_TOP_SPARK_MAX - 1] - 39000) < 1e-9);

    /* A Prometheus error answer is an error, and the rows keep their sparklines. */
    static const char perr[] = "{\"status\":\"error\",\"errorType\":\"timeout\","
                               "\"error\":\"query timed out\"}";
    TG_EXPECT_EQ(tg_top_parse_spark(&t, perr, strlen(perr), &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "query timed out") != NULL);
    TG_EXPECT_EQ(find(&t, "/api/products")->spark_n, TG_TOP_SPARK_MAX);
    tg_top_table_deinit(&t);
    tg_top_table_deinit(&t); /* a second deinit is harmless */
}

static void test_wrong_shapes(void)
{
    struct tg_top_table t = {0};
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(parse_stats(&t, STATS), 0);
    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "{\"endpoints\":{}}",
        "{\"endpoints\":[1]}",
        "{\"endpoints\":[{\"endpoint\":\"/a\",\"method\":\"GET\"}]}",
        "{\"endpoints\":[{\"endpoint\":\"/a\",\"method\":\"GET\",\"rps\":\"1\",\"p50_ms\":1,"
        "\"p95_ms\":1,\"p99_ms\":1,\"error_rate\":0,\"requests\":1}]}",
        "{\"endpoints\":[{\"endpoint\":7,\"method\":\"GET\"}]}",
        "{\"endpoints\":[],\"endpoints\":[]}", /* duplicate keys are refused */
        "{\"endpoints\":[]} trailing",
        "null",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb.msg[0] = '\0';
        TG_EXPECT_EQ(tg_top_parse_stats(&t, bad[i], strlen(bad[i]), &eb), TG_EPARSE);
        TG_EXPECT(eb.msg[0] != '\0');
        TG_EXPECT_EQ(t.n, 3); /* what was there stays */
    }
    TG_EXPECT_EQ(tg_top_parse_stats(&t, "{}", 2, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "endpoints") != NULL);
    /* An empty table is a good answer (no requests in the window). */
    TG_EXPECT_EQ(parse_stats(&t, "{\"window_s\":60,\"endpoints\":[]}"), 0);
    TG_EXPECT_EQ(t.n, 0);

    struct tg_top_alerts a = {0};
    TG_EXPECT_EQ(tg_top_parse_alerts(&a, "{\"data\":{}}", 11, &eb), TG_EPARSE);
    TG_EXPECT_EQ(tg_top_parse_alerts(&a, "{\"data\":{\"alerts\":[{}]}}", 23, &eb), TG_EPARSE);
    struct tg_top_incidents in = {0};
    TG_EXPECT_EQ(tg_top_parse_incidents(&in, "{\"incidents\":[{\"id\":\"1\",\"status\":\"open\"}]}",
                                        43, &eb),
                 TG_EPARSE);
    TG_EXPECT_EQ(in.n, 0);
    struct tg_top_traces tr = {0};
    TG_EXPECT_EQ(tg_top_parse_traces(&tr, "/a", "GET", 10, "{}", 2, &eb), TG_EPARSE);
    TG_EXPECT_EQ(tg_top_parse_active(&t, "{\"by_endpoint\":{\"/a\":\"x\"}}", 27, &eb), TG_EPARSE);
    tg_top_table_deinit(&t);
}

/* Control characters in names (a request path, a rule's label) never reach the screen. */
static void test_names_made_printable(void)
{
    struct tg_top_table t = {0};
    static const char s[] =
        "{\"endpoints\":[{\"endpoint\":\"/a\\u001b[2J\\u00e9\",\"method\":\"G\\tET\",\"rps\":1,"
        "\"p50_ms\":1,\"p95_ms\":1,\"p99_ms\":1,\"error_rate\":0,\"requests\":1}]}";
    TG_EXPECT_EQ(parse_stats(&t, s), 0);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/a?[2J??"); /* é is two bytes in UTF-8 */
    TG_EXPECT_STREQ(t.rows[0].method, "G?ET");
    tg_top_table_deinit(&t);
}

/* Every answer cut short anywhere is refused and changes nothing. */
static void test_truncations(void)
{
    static const char *const docs[] = {STATS, ACTIVE, SPARK, ALERTS, INC_OPEN, TRACES};
    struct tg_errbuf eb = {0};
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t len = strlen(docs[d]);
        for (size_t cut = 0; cut < len; cut++) {
            struct tg_top_table t = {0};
            struct tg_top_alerts a = {0};
            struct tg_top_incidents in = {0};
            struct tg_top_traces tr = {0};
            TG_EXPECT_EQ(parse_stats(&t, STATS), 0);
            int rc[6] = {
                tg_top_parse_stats(&t, docs[d], cut, &eb),
                tg_top_parse_active(&t, docs[d], cut, &eb),
                tg_top_parse_spark(&t, docs[d], cut, &eb),
                tg_top_parse_alerts(&a, docs[d], cut, &eb),
                tg_top_parse_incidents(&in, docs[d], cut, &eb),
                tg_top_parse_traces(&tr, "/api/v1/agents", "GET", 10, docs[d], cut, &eb),
            };
            for (int k = 0; k < 6; k++)
                if (rc[k] != TG_EPARSE)
                    TG_EXPECT_EQ(rc[k], TG_EPARSE);
            TG_EXPECT_EQ(t.n, 3);
            TG_EXPECT(a.n == 0 && in.n == 0 && tr.n == 0);
            tg_top_table_deinit(&t);
        }
    }
}

/* Seeded garbage: random bytes, and good answers with bytes changed. Whatever a parser
 * says, it does not crash (the sanitizer build checks the memory) and what it keeps is
 * well formed. */
static uint64_t rng = 88172645463325252ull;
static unsigned rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)rng;
}

static void feed(const char *buf, size_t len)
{
    struct tg_errbuf eb = {0};
    struct tg_top_table t = {0};
    struct tg_top_alerts a = {0};
    struct tg_top_incidents in = {0};
    struct tg_top_traces tr = {0};
    if (tg_top_parse_stats(&t, buf, len, &eb) == 0) {
        for (size_t i = 0; i < t.n; i++)
            TG_EXPECT(strlen(t.rows[i].endpoint) < TG_TOP_NAME_MAX);
    }
    tg_top_parse_active(&t, buf, len, &eb);
    tg_top_parse_spark(&t, buf, len, &eb);
    for (size_t i = 0; i < t.n; i++)
        TG_EXPECT(t.rows[i].spark_n >= 0 && t.rows[i].spark_n <= TG_TOP_SPARK_MAX);
    tg_top_parse_alerts(&a, buf, len, &eb);
    tg_top_parse_incidents(&in, buf, len, &eb);
    tg_top_parse_traces(&tr, "/api/v1/agents", "GET", 5, buf, len, &eb);
    TG_EXPECT(tr.n <= 5);
    tg_top_table_deinit(&t);
    tg_top_alerts_deinit(&a);
    tg_top_incidents_deinit(&in);
    tg_top_traces_deinit(&tr);
}

static void test_garbage(void)
{
    static const char *const docs[] = {STATS, ACTIVE, SPARK, ALERTS, INC_OPEN, TRACES};
    static const char alphabet[] = "{}[]\":,0123456789.eE-+ \\untrefals/aGET\x01\xff";
    char buf[2048];
    for (int round = 0; round < 3000; round++) {
        size_t len;
        if (round % 3 == 0) {
            len = rnd() % 200;
            for (size_t i = 0; i < len; i++)
                buf[i] = alphabet[rnd() % (sizeof alphabet - 1)];
        } else {
            const char *d = docs[rnd() % (sizeof docs / sizeof docs[0])];
            len = strlen(d);
            memcpy(buf, d, len);
            for (int k = 1 + (int)(rnd() % 4); k > 0; k--)
                buf[rnd() % len] =
                    round % 3 == 1 ? alphabet[rnd() % (sizeof alphabet - 1)] : (char)(rnd() & 0xff);
        }
        feed(buf, len);
    }
    /* Deep nesting is refused by the parser's depth limit, not by the stack. */
    static char deep[20001];
    memset(deep, '[', sizeof deep - 1);
    feed(deep, sizeof deep - 1);
}

static void test_alerts_incidents_traces(void)
{
    struct tg_errbuf eb = {0};
    struct tg_top_alerts a = {0};
    TG_EXPECT_EQ(tg_top_parse_alerts(&a, ALERTS, strlen(ALERTS), &eb), 0);
    TG_EXPECT_EQ(a.n, 3);
    /* Firing before pending, critical before warning, whatever the answer's order. */
    TG_EXPECT_STREQ(a.v[0].name, "ErrorRatio");
    TG_EXPECT_STREQ(a.v[1].name, "APIHighLatency");
    TG_EXPECT_STREQ(a.v[1].where, "endpoint=/api/v1/agents");
    TG_EXPECT_STREQ(a.v[2].name, "SlowCheckout");
    TG_EXPECT_STREQ(a.v[2].where, "checkout slow");
    char line[256];
    tg_top_format_alert(&a.v[1], 200, line, sizeof line);
    TG_EXPECT_STREQ(line,
                    "FIRING  warning  APIHighLatency  endpoint=/api/v1/agents  since 10:01:00");
    TG_EXPECT_EQ(tg_top_format_alert(&a.v[1], 6, line, sizeof line), 6);
    TG_EXPECT_STREQ(line, "FIRING");
    tg_top_alerts_deinit(&a);

    struct tg_top_incidents in = {0};
    TG_EXPECT_EQ(tg_top_parse_incidents(&in, INC_OPEN, strlen(INC_OPEN), &eb), 0);
    TG_EXPECT_EQ(tg_top_parse_incidents(&in, INC_MITIGATED, strlen(INC_MITIGATED), &eb), 0);
    tg_top_incidents_sort(&in);
    TG_EXPECT_EQ(in.n, 3);
    TG_EXPECT_EQ(in.v[0].id, 6); /* SEV-1, though mitigated */
    TG_EXPECT_EQ(in.v[1].id, 7);
    TG_EXPECT_EQ(in.v[2].id, 5); /* no severity last */
    tg_top_format_incident(&in.v[1], 200, line, sizeof line);
    TG_EXPECT_STREQ(line, "INCIDENT #7 open SEV-2 opened 10:01:30  agents slow");
    tg_top_incidents_deinit(&in);

    struct tg_top_traces tr = {0};
    TG_EXPECT_EQ(tg_top_parse_traces(&tr, "/api/v1/agents", "GET", 10, TRACES, strlen(TRACES), &eb),
                 0);
    TG_EXPECT_EQ(tr.n, 2); /* the other endpoint and the POST are not this row's */
    TG_EXPECT(fabs(tr.v[0].duration_ms - 863.7) < 1e-9 && tr.v[0].status == 200);
    TG_EXPECT(isnan(tr.v[0].phase_ms[1]) && fabs(tr.v[0].phase_ms[2] - 863.7) < 1e-9);
    TG_EXPECT_STREQ(tr.v[1].cause, "upstream_timeout");
    tg_top_format_trace(&tr.v[0], 200, line, sizeof line);
    TG_EXPECT_STREQ(line, "   863.7ms    200  19:58:42.284 ok                  0.0        -    "
                          "863.7    863.7      0.0  /api/v1/agents");
    TG_EXPECT_EQ(tg_top_parse_traces(&tr, "/api/v1/agents", "GET", 1, TRACES, strlen(TRACES), &eb),
                 0);
    TG_EXPECT_EQ(tr.n, 1);
    tg_top_traces_deinit(&tr);
}

static void test_sort_and_filter(void)
{
    struct tg_top_table t = {0};
    TG_EXPECT_EQ(parse_stats(&t, STATS), 0);
    tg_top_sort(&t, TG_TOP_COL_P95, true);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/api/v1/agents");
    TG_EXPECT_STREQ(t.rows[2].endpoint, "/api/products/:id");
    tg_top_sort(&t, TG_TOP_COL_ENDPOINT, false);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/api/products");
    TG_EXPECT_STREQ(t.rows[1].endpoint, "/api/products/:id");
    tg_top_sort(&t, TG_TOP_COL_ENDPOINT, true);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/api/v1/agents");
    tg_top_sort(&t, TG_TOP_COL_METHOD, true);
    TG_EXPECT_STREQ(t.rows[0].method, "POST");
    tg_top_sort(&t, TG_TOP_COL_ERR, true);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/api/v1/agents");
    /* Ties (no errors on two rows) go by name, so refreshes do not shuffle them. */
    TG_EXPECT_STREQ(t.rows[1].endpoint, "/api/products");
    tg_top_sort(&t, TG_TOP_COL_ERR, false);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/api/products");
    TG_EXPECT_STREQ(t.rows[2].endpoint, "/api/v1/agents");
    tg_top_sort(&t, TG_TOP_COL_RPS, true);
    TG_EXPECT_STREQ(t.rows[0].endpoint, "/api/products/:id");
    TG_EXPECT(tg_top_col_desc(TG_TOP_COL_P95) && !tg_top_col_desc(TG_TOP_COL_ENDPOINT));
    TG_EXPECT_STREQ(tg_top_col_name(TG_TOP_COL_ERR), "ERR%");

    const struct tg_top_row *agents = find(&t, "/api/v1/agents"),
                            *id = find(&t, "/api/products/:id");
    TG_EXPECT(tg_top_match(agents, ""));
    TG_EXPECT(tg_top_match(agents, "AGENT"));
    TG_EXPECT(!tg_top_match(id, "agent"));
    TG_EXPECT(tg_top_match(id, "post")); /* the method too */
    TG_EXPECT(tg_top_match(id, "/api/products/*"));
    TG_EXPECT(!tg_top_match(agents, "/api/products/*"));
    TG_EXPECT(!tg_top_match(agents, "agents*")); /* a glob is anchored */
    TG_EXPECT(tg_top_match(agents, "*AGENTS"));
    TG_EXPECT(tg_top_match(id, "/api/products/[:]id"));
    tg_top_table_deinit(&t);
}

static void test_sparkline(void)
{
    char out[256];
    double v[] = {0, 1, 2, 3, 4, 5, 6, 7};
    TG_EXPECT_EQ(tg_top_sparkline(v, 8, 8, false, out, sizeof out), 8);
    TG_EXPECT_STREQ(out, "_.-:=+*#");
    tg_top_sparkline(v, 8, 8, true, out, sizeof out);
    TG_EXPECT_STREQ(out, "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588");
    /* Wider than the points: blanks first, newest at the right; narrower: the newest. */
    tg_top_sparkline(v, 3, 6, false, out, sizeof out);
    TG_EXPECT_STREQ(out, "   _=#");
    tg_top_sparkline(v, 8, 2, false, out, sizeof out);
    TG_EXPECT_STREQ(out, "*#");
    double gap[] = {800, NAN, 800, 400};
    tg_top_sparkline(gap, 4, 4, false, out, sizeof out);
    TG_EXPECT_STREQ(out, "# #=");
    double flat[] = {0, 0};
    tg_top_sparkline(flat, 2, 2, false, out, sizeof out);
    TG_EXPECT_STREQ(out, "__");
    TG_EXPECT_EQ(tg_top_sparkline(v, 0, 3, false, out, sizeof out), 3);
    TG_EXPECT_STREQ(out, "   ");
    /* Too small a buffer for the width: nothing, rather than half a block. */
    TG_EXPECT_EQ(tg_top_sparkline(v, 8, 8, true, out, 10), 0);
    TG_EXPECT_STREQ(out, "");
}

static void test_layout(void)
{
    struct tg_top_table t = {0};
    TG_EXPECT_EQ(parse_stats(&t, STATS), 0);
    double sp[] = {10, 20, 841};
    memcpy(t.rows[1].spark, sp, sizeof sp);
    t.rows[1].spark_n = 3;
    char hdr[2048], row[2048];
    struct tg_top_layout l;
    static const int widths[] = {200, 159, 120, 100, 80, 60, 40, 30, 20, 12, 5, 1, 0};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        for (int utf8 = 0; utf8 < 2; utf8++) {
            tg_top_layout(widths[w], &t, TG_TOP_COL_P95, &l);
            TG_EXPECT(l.width <= widths[w]);
            TG_EXPECT(l.show[TG_TOP_COL_P95]); /* the sort column is never dropped */
            tg_top_format_header(&l, TG_TOP_COL_P95, true, hdr, sizeof hdr);
            TG_EXPECT_EQ(columns(hdr), l.width);
            for (size_t i = 0; i < t.n; i++) {
                tg_top_format_row(&l, &t.rows[i], utf8, row, sizeof row);
                TG_EXPECT_EQ(columns(row), l.width);
            }
        }
    }
    tg_top_layout(160, &t, TG_TOP_COL_P95, &l);
    for (int c = 0; c < TG_TOP_COLS; c++)
        TG_EXPECT(l.show[c]);
    TG_EXPECT(l.spark_w >= 8);
    TG_EXPECT_EQ(l.name_w, (int)strlen("/api/products/:id"));
    tg_top_format_header(&l, TG_TOP_COL_P95, true, hdr, sizeof hdr);
    TG_EXPECT_STREQ(hdr, "ENDPOINT          METHOD      RPS      P50     P95v      P99   ERR% "
                         "ACTIVE P95 (5m)                      ");
    tg_top_format_row(&l, &t.rows[1], false, row, sizeof row);
    TG_EXPECT_STREQ(row,
                    "/api/v1/agents    GET        1.28    809ms    842ms    854ms    25%      0 "
                    "                           __#");
    /* Narrow: the sparkline and P50 go first; the names are cut at their start. */
    tg_top_layout(40, &t, TG_TOP_COL_P95, &l);
    TG_EXPECT(!l.spark_w && !l.show[TG_TOP_COL_P50] && l.show[TG_TOP_COL_RPS]);
    tg_top_layout(20, &t, TG_TOP_COL_RPS, &l);
    TG_EXPECT(l.show[TG_TOP_COL_RPS] && !l.show[TG_TOP_COL_P95]);
    tg_top_format_row(&l, &t.rows[2], false, row, sizeof row);
    TG_EXPECT_STREQ(row, "~roducts/:id    1.42");
    tg_top_table_deinit(&t);

    /* No rows yet: the layout still holds the headings. */
    tg_top_layout(100, NULL, TG_TOP_COL_P95, &l);
    tg_top_format_header(&l, TG_TOP_COL_ENDPOINT, false, hdr, sizeof hdr);
    TG_EXPECT(strncmp(hdr, "ENDPOINT^", 9) == 0);
}

static void test_vlayout(void)
{
    struct tg_top_vlayout v;
    tg_top_vlayout(45, 5, 3, true, &v);
    TG_EXPECT_EQ(v.message_y, 1);
    TG_EXPECT(v.alerts_y == 2 && v.alert_lines == 3);
    TG_EXPECT(v.incidents_y == 5 && v.incident_lines == 2);
    TG_EXPECT_EQ(v.table_y, 7);
    TG_EXPECT_EQ(v.footer_y, 44);
    TG_EXPECT_EQ(v.rows, 44 - 8);
    tg_top_vlayout(24, 0, 0, false, &v);
    TG_EXPECT(v.message_y == -1 && v.table_y == 1 && v.rows == 21 && v.footer_y == 23);
    /* Short: the table keeps three rows before alerts get a line. */
    tg_top_vlayout(8, 3, 1, false, &v);
    TG_EXPECT_EQ(v.alert_lines, 2);
    TG_EXPECT_EQ(v.incident_lines, 0);
    TG_EXPECT_EQ(v.rows, 3);
    tg_top_vlayout(5, 3, 1, true, &v);
    TG_EXPECT(v.alert_lines == 0 && v.table_y == 2 && v.rows == 1 && v.footer_y == 4);
    for (int h = 0; h < 50; h++) {
        tg_top_vlayout(h, 9, 9, true, &v);
        TG_EXPECT(v.rows >= 0 && v.table_y + v.rows < (h > 1 ? h : 2));
        TG_EXPECT(v.footer_y < h);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    test_stats_active_spark();
    test_wrong_shapes();
    test_names_made_printable();
    test_truncations();
    test_garbage();
    test_alerts_incidents_traces();
    test_sort_and_filter();
    test_sparkline();
    test_layout();
    test_vlayout();
    return tg_test_report(argv[0]);
}
