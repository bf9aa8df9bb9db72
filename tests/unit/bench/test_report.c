/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/report.c: the JSON object carries every field the issue and
 * docs/bench.md promise (and only in the models they belong to), numbers are in the stated
 * units, strings are escaped; the text summary shows the percentile table, status codes,
 * errors by kind and threshold verdicts; the capacity report states the answer. */
#include "bench/report_int.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static char *render(const struct tg_bench_report *r, bool json)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (json)
        tg_bench__report_json(f, r);
    else
        tg_bench__report_text(f, r);
    fclose(f);
    return out;
}

static bool has(const char *s, const char *needle)
{
    bool ok = strstr(s, needle) != NULL;
    if (!ok)
        fprintf(stderr, "missing: %s\n", needle);
    return ok;
}

static void test_plain(void)
{
    static struct tg_bench_opts o;
    static struct tg_bench_stats t;
    static struct tg_bench_run_result res;
    memset(&o, 0, sizeof o);
    o.model = TG_BENCH_OPEN;
    o.keepalive = true;
    o.duration_us = 10000000;
    struct tg_errbuf eb;
    size_t n = 0;
    tg_bench__parse_conds("p95<500ms,errors<1% over 5s", true, o.thresholds, 4, &n, &eb);
    o.nthresholds = n;
    tg_bench__stats_init(&t);
    for (int i = 1; i <= 1000; i++) {
        tg_hist_record(&t.lat, 50000 + i);
        tg_hist_record(&t.lat_unc, 40000 + i);
    }
    t.requests = 1002;
    t.responses = 1001;
    t.status[200] = 1000;
    t.status[503] = 1;
    t.errors[TG_BENCH_E_HTTP] = 1;
    t.errors[TG_BENCH_E_TIMEOUT] = 1;
    t.late = 3;
    t.bytes_out = 100000;
    t.bytes_in = 200000;
    t.connects = 7;
    struct tg_bench_verdict v[2] = {{.ok = true, .judged = true, .value = 50950},
                                    {.ok = false, .judged = true, .value = 2.5}};
    const char *urls[] = {"http://127.0.0.1:8080/\"q\""};
    struct tg_bench_report r = {.o = &o,
                                .urls = urls,
                                .nurls = 1,
                                .addr = "127.0.0.1:8080",
                                .nreqs = 1,
                                .threads = 2,
                                .conns = 1000,
                                .offered_rps = 100,
                                .send_us = 10000000,
                                .total = &t,
                                .elapsed_us = 10020000,
                                .res = &res,
                                .verdicts = v};
    char *j = render(&r, true);
    const char *keys[] = {
        "\"url\":\"http://127.0.0.1:8080/\\\"q\\\"\"",
        "\"model\":\"open\"",
        "\"threads\":2",
        "\"connections\":1000",
        "\"requests\":1002",
        "\"responses\":1001",
        "\"rps\":100.0",
        "\"offered_rps\":100.0",
        "\"errors\":2",
        "\"errors_by_kind\":{\"connect\":0,"
        "\"timeout\":1,\"reset\":0,\"bad_response\":0,\"http\":1}",
        "\"status\":{\"200\":1000,\"503\":1}",
        "\"bytes\":{\"sent\":100000,\"received\":200000}",
        "\"latency_ms\":{\"min\":50.001,\"p50\":",
        "\"p90\":",
        "\"p95\":",
        "\"p99\":",
        "\"p999\":",
        "\"p9999\":",
        "\"max\":51.000",
        "\"mean\":50.50",
        "\"latency_uncorrected_ms\":{\"min\":40.001",
        "\"late_sends\":3",
        "\"thresholds\":[{\"threshold\":\"p95<500ms\",\"ok\":true,\"value\":50.950,\"unit\":\"ms\","
        "\"window_s\":0,\"abort\":false}",
        "{\"threshold\":\"errors<1% over 5s\",\"ok\":false,\"value\":2.5000,\"unit\":\"%\","
        "\"window_s\":5,\"abort\":false}",
        "\"interrupted\":false"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        TG_EXPECT(has(j, keys[i]));
    TG_EXPECT(j[strlen(j) - 1] == '\n');
    int depth = 0, bad = 0;
    for (const char *p = j; *p; p++) {
        depth += (*p == '{') - (*p == '}');
        bad += depth < 0;
    }
    TG_EXPECT_EQ(depth, 0);
    TG_EXPECT_EQ(bad, 0);
    free(j);

    char *s = render(&r, false);
    TG_EXPECT(has(s, "p99.9"));
    TG_EXPECT(has(s, "p99.99"));
    TG_EXPECT(has(s, "corrected"));
    TG_EXPECT(has(s, "uncorrected"));
    TG_EXPECT(has(s, "200: 1,000"));
    TG_EXPECT(has(s, "503: 1"));
    TG_EXPECT(has(s, "timeout 1"));
    TG_EXPECT(has(s, "FAIL  errors<1% over 5s"));
    TG_EXPECT(has(s, "ok    p95<500ms"));
    TG_EXPECT(has(s, "3 late sends"));
    free(s);

    /* The closed model has no uncorrected figure and no late sends. */
    o.model = TG_BENCH_CLOSED;
    j = render(&r, true);
    TG_EXPECT(strstr(j, "latency_uncorrected_ms") == NULL);
    TG_EXPECT(strstr(j, "late_sends") == NULL);
    TG_EXPECT(strstr(j, "offered_rps") == NULL);
    TG_EXPECT(has(j, "\"model\":\"closed\""));
    free(j);
}

static void test_capacity(void)
{
    static struct tg_bench_opts o;
    static struct tg_bench_stats t;
    memset(&o, 0, sizeof o);
    o.model = TG_BENCH_OPEN;
    o.step_us = 5000000;
    struct tg_errbuf eb;
    tg_bench__parse_conds("p95<500ms", false, o.slo, 4, &o.nslo, &eb);
    tg_bench__stats_init(&t);
    static struct tg_bench_search s;
    tg_bench__search_init(&s, 1000, 1e6, 0.05, 20);
    struct tg_bench_step a = {
        .rate = 4200, .achieved_rps = 4200, .p95_us = 430000, .mean_us = 200000, .ok = true};
    struct tg_bench_step b = {
        .rate = 8400, .achieved_rps = 5000, .p95_us = 2000000, .mean_us = 900000, .ok = false};
    snprintf(b.why, sizeof b.why, "2.00 s (SLO p95<500ms)");
    tg_bench__search_add(&s, &a);
    tg_bench__search_add(&s, &b);
    struct tg_bench_capacity cap;
    tg_bench__search_conclude(&s, &cap);
    const char *urls[] = {"http://127.0.0.1:8080/"};
    struct tg_bench_report r = {.o = &o,
                                .urls = urls,
                                .nurls = 1,
                                .addr = "127.0.0.1:8080",
                                .threads = 1,
                                .conns = 1000,
                                .total = &t,
                                .search = &s,
                                .cap = &cap};
    char *txt = render(&r, false);
    TG_EXPECT(has(txt, "max sustainable: 4,200 rps at p95 430 ms"));
    TG_EXPECT(has(txt, "concurrency limit 840"));
    TG_EXPECT(has(txt, "rate limit 3,780 rps"));
    free(txt);
    char *j = render(&r, true);
    TG_EXPECT(has(j, "\"capacity\":{\"slo\":[\"p95<500ms\"],\"step_s\":5.000,\"found\":true,"
                     "\"interrupted\":false,"
                     "\"max_sustainable_rps\":4200.0,\"p95_ms_at_max\":430.000"));
    TG_EXPECT(has(j, "\"working_concurrency\":840.00,\"suggested\":{\"rate_limit_rps\":3780,"
                     "\"concurrency_limit\":840}"));
    TG_EXPECT(has(j, "\"knee_rps\":4200.0"));
    TG_EXPECT(has(j, "\"reason\":\"2.00 s (SLO p95<500ms)\""));
    free(j);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_plain();
    test_capacity();
    return tg_test_report(argv[0]);
}
