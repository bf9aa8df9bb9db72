/* SPDX-License-Identifier: MIT */
/* Unit tests for demo/faults.c and faults_json.c: pattern strength over simulated time,
 * the capacity queue (FIFO booking of `concurrency` servers), evaluation against paths,
 * the registry (replace, delete, limit, reclamation of retired sets, which ASan checks for
 * leaks), and strict parsing with the offending field named. No clock, no threads: time
 * is passed in and the generator is seeded with a constant. */
#include "demo/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tg_test.h"

#define SEC 1000000LL

static struct tg_str S(const char *s) {
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static struct tg_demo_fault
fault(const char *ep)
{
    struct tg_demo_fault f;
    tg_demo_fault_defaults(&f);
    f.endpoint_len = (uint32_t)strlen(ep);
    memcpy(f.endpoint, ep, f.endpoint_len + 1);
    return f;
}

static void test_strength(void)
{
    struct tg_demo_fault f = fault("*");
    f.start_us = 100 * SEC;
    TG_EXPECT(tg_demo_fault_strength(&f, 100 * SEC) == 1.0);
    f.pattern = TG_DEMO_PATTERN_GRADUAL;
    f.ramp_us = 10 * SEC;
    TG_EXPECT(tg_demo_fault_strength(&f, 100 * SEC) == 0.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 99 * SEC) == 0.0); /* before start: clamp */
    TG_EXPECT(tg_demo_fault_strength(&f, 105 * SEC) == 0.5);
    TG_EXPECT(tg_demo_fault_strength(&f, 110 * SEC) == 1.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 500 * SEC) == 1.0);
    f.pattern = TG_DEMO_PATTERN_PERIODIC;
    f.period_us = 10 * SEC;
    f.duty = 0.3;
    TG_EXPECT(tg_demo_fault_strength(&f, 100 * SEC) == 1.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 102 * SEC) == 1.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 103 * SEC) == 0.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 109 * SEC) == 0.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 110 * SEC) == 1.0);
    TG_EXPECT(tg_demo_fault_strength(&f, 123 * SEC) == 0.0);
}

static void test_capacity(void)
{
    _Atomic int64_t slots[2] = {0, 0};
    int64_t ms = 1000;
    /* Six arrivals at t=0, two servers, 50 ms each: 50, 50, 100, 100, 150, 150. */
    int64_t want[] = {50, 50, 100, 100, 150, 150};
    for (int i = 0; i < 6; i++)
        TG_EXPECT_EQ(tg_demo_capacity_admit(slots, 2, 50 * ms, 0), want[i] * ms);
    /* Arriving at 120 ms: both servers busy until 150 ms -> done at 200 ms. */
    TG_EXPECT_EQ(tg_demo_capacity_admit(slots, 2, 50 * ms, 120 * ms), 80 * ms);
    /* Arriving after the queue drained: just the service time. */
    TG_EXPECT_EQ(tg_demo_capacity_admit(slots, 2, 50 * ms, 1000 * ms), 50 * ms);
}

static void test_eval(void)
{
    struct tg_demo_faults *r;
    TG_EXPECT_EQ(tg_demo_faults_new(&r, 1), 0);
    struct tg_demo_rng rng;
    tg_demo_rng_seed(&rng, 99);
    struct tg_demo_fault f = fault("/api/products");
    f.latency_us = 200000;
    f.error_rate = 1.0;
    f.error_status = 503;
    TG_EXPECT_EQ(tg_demo_faults_put(r, &f), 0);
    struct tg_demo_fault g = fault("*");
    g.latency_us = 1000;
    TG_EXPECT_EQ(tg_demo_faults_put(r, &g), 0);
    const struct tg_demo_fault_set *s = tg_demo_faults_current(r);
    TG_EXPECT_EQ(s->n, 2);
    struct tg_demo_effect e = {0};
    tg_demo_faults_eval(s, S("/api/products/1"), 0, &rng, &e);
    TG_EXPECT_EQ(e.delay_us, 201000);
    TG_EXPECT_EQ(e.status, 503);
    TG_EXPECT(!e.hang && !e.capacity);
    memset(&e, 0, sizeof e);
    tg_demo_faults_eval(s, S("/health"), 0, &rng, &e);
    TG_EXPECT_EQ(e.delay_us, 1000);
    TG_EXPECT_EQ(e.status, 0);
    /* Error rate 0.25 over many draws. */
    struct tg_demo_fault h = fault("/flaky");
    h.error_rate = 0.25;
    TG_EXPECT_EQ(tg_demo_faults_put(r, &h), 0);
    tg_demo_faults_quiescent(r, 0);
    s = tg_demo_faults_current(r);
    int errors = 0;
    for (int i = 0; i < 10000; i++) {
        memset(&e, 0, sizeof e);
        tg_demo_faults_eval(s, S("/flaky"), 0, &rng, &e);
        errors += e.status == 500;
    }
    TG_EXPECT(errors > 2300 && errors < 2700);
    tg_demo_faults_free(r);
}

static void test_registry(void)
{
    struct tg_demo_faults *r;
    TG_EXPECT_EQ(tg_demo_faults_new(&r, 2), 0);
    TG_EXPECT_EQ(tg_demo_faults_current(r)->n, 0);
    struct tg_demo_fault f = fault("/a");
    f.concurrency = 1;
    f.service_us = 10;
    TG_EXPECT_EQ(tg_demo_faults_put(r, &f), 0);
    /* Adding another endpoint keeps /a's capacity queue; replacing /a resets it. */
    const struct tg_demo_fault_set *s = tg_demo_faults_current(r);
    TG_EXPECT_EQ(tg_demo_capacity_admit(s->f[0].slots, 1, 10, 0), 10);
    struct tg_demo_fault b = fault("/b");
    TG_EXPECT_EQ(tg_demo_faults_put(r, &b), 0);
    s = tg_demo_faults_current(r);
    TG_EXPECT_EQ(s->n, 2);
    TG_EXPECT_STREQ(s->f[0].endpoint, "/a");
    TG_EXPECT_EQ(tg_demo_capacity_admit(s->f[0].slots, 1, 10, 0), 20);
    f.latency_us = 5;
    TG_EXPECT_EQ(tg_demo_faults_put(r, &f), 0);
    s = tg_demo_faults_current(r);
    TG_EXPECT_EQ(s->n, 2);
    int64_t ia = strcmp(s->f[0].endpoint, "/a") == 0 ? 0 : 1;
    TG_EXPECT_EQ(s->f[ia].latency_us, 5);
    TG_EXPECT_EQ(tg_demo_capacity_admit(s->f[ia].slots, 1, 10, 0), 10);
    /* Delete one, a missing one, then all. */
    TG_EXPECT_EQ(tg_demo_faults_delete(r, "/b", 2), 1);
    TG_EXPECT_EQ(tg_demo_faults_delete(r, "/b", 2), 0);
    TG_EXPECT_EQ(tg_demo_faults_current(r)->n, 1);
    TG_EXPECT_EQ(tg_demo_faults_delete(r, NULL, 0), 1);
    TG_EXPECT_EQ(tg_demo_faults_current(r)->n, 0);
    TG_EXPECT_EQ(tg_demo_faults_delete(r, NULL, 0), 0);
    /* The limit. */
    for (int i = 0; i < TG_DEMO_FAULTS_MAX; i++) {
        char ep[16];
        snprintf(ep, sizeof ep, "/e%d", i);
        struct tg_demo_fault x = fault(ep);
        TG_EXPECT_EQ(tg_demo_faults_put(r, &x), 0);
    }
    struct tg_demo_fault extra = fault("/one-too-many");
    TG_EXPECT_EQ(tg_demo_faults_put(r, &extra), TG_ELIMIT);
    struct tg_demo_fault again = fault("/e3"); /* replacing is still allowed */
    TG_EXPECT_EQ(tg_demo_faults_put(r, &again), 0);
    /* Reclamation: both readers pass a quiescent point; the rest is freed by _free
     * (ASan's leak check covers both paths). */
    tg_demo_faults_quiescent(r, 0);
    tg_demo_faults_quiescent(r, 1);
    tg_demo_faults_free(r);
    tg_demo_faults_free(NULL);
}

static void expect_parse_err(const char *body, const char *field)
{
    struct tg_demo_fault f;
    struct tg_demo_fault_err err;
    int rc = tg_demo_fault_parse(body, strlen(body), 0, &f, &err);
    TG_EXPECT_EQ(rc, TG_EPARSE);
    TG_EXPECT_STREQ(err.field, field);
    TG_EXPECT(err.msg[0] != 0);
}

static void test_parse(void)
{
    struct tg_demo_fault f;
    struct tg_demo_fault_err err;
    const char *ok = "{\"endpoint\":\"/api/products\",\"latency_ms\":500,\"error_rate\":0.2,"
                     "\"error_status\":503,\"hang\":false,\"pattern\":\"periodic\","
                     "\"ramp_s\":30,\"period_s\":2.5,\"duty\":0.25,"
                     "\"capacity\":{\"concurrency\":4,\"service_ms\":10}}";
    TG_EXPECT_EQ(tg_demo_fault_parse(ok, strlen(ok), 7, &f, &err), 0);
    TG_EXPECT_STREQ(f.endpoint, "/api/products");
    TG_EXPECT_EQ(f.latency_us, 500000);
    TG_EXPECT(f.error_rate == 0.2 && f.duty == 0.25);
    TG_EXPECT_EQ(f.error_status, 503);
    TG_EXPECT_EQ(f.pattern, TG_DEMO_PATTERN_PERIODIC);
    TG_EXPECT_EQ(f.period_us, 2500000);
    TG_EXPECT_EQ(f.ramp_us, 30000000);
    TG_EXPECT_EQ(f.concurrency, 4);
    TG_EXPECT_EQ(f.service_us, 10000);
    TG_EXPECT_EQ(f.start_us, 7);
    const char *min = "{\"endpoint\":\"*\"}";
    TG_EXPECT_EQ(tg_demo_fault_parse(min, strlen(min), 0, &f, &err), 0);
    TG_EXPECT_EQ(f.error_status, 500);
    TG_EXPECT_EQ(f.pattern, TG_DEMO_PATTERN_SUDDEN);
    expect_parse_err("{bad", "");
    expect_parse_err("[]", "");
    expect_parse_err("{\"endpoint\":\"/a\",\"endpoint\":\"/b\"}", "");
    expect_parse_err("{}", "endpoint");
    expect_parse_err("{\"endpoint\":\"\"}", "endpoint");
    expect_parse_err("{\"endpoint\":5}", "endpoint");
    expect_parse_err("{\"endpoint\":\"/a\",\"bogus\":1}", "bogus");
    expect_parse_err("{\"endpoint\":\"/a\",\"latency_ms\":-1}", "latency_ms");
    expect_parse_err("{\"endpoint\":\"/a\",\"error_rate\":\"x\"}", "error_rate");
    expect_parse_err("{\"endpoint\":\"/a\",\"error_status\":500.5}", "error_status");
    expect_parse_err("{\"endpoint\":\"/a\",\"hang\":\"yes\"}", "hang");
    expect_parse_err("{\"endpoint\":\"/a\",\"duty\":2}", "duty");
    expect_parse_err("{\"endpoint\":\"/a\",\"period_s\":0}", "period_s");
    expect_parse_err("{\"endpoint\":\"/a\",\"capacity\":4}", "capacity");
    expect_parse_err("{\"endpoint\":\"/a\",\"capacity\":{\"concurrency\":2,\"x\":1}}",
                     "capacity.x");
}

static void test_to_json(void)
{
    struct tg_demo_faults *r;
    TG_EXPECT_EQ(tg_demo_faults_new(&r, 1), 0);
    char *s = tg_demo_faults_to_json(tg_demo_faults_current(r), 0);
    TG_EXPECT_STREQ(s, "{\"faults\":[]}");
    free(s);
    struct tg_demo_fault f = fault("/x");
    f.concurrency = 3;
    f.service_us = 20000;
    TG_EXPECT_EQ(tg_demo_faults_put(r, &f), 0);
    s = tg_demo_faults_to_json(tg_demo_faults_current(r), 0);
    TG_EXPECT(s && strstr(s, "\"endpoint\":\"/x\"") && strstr(s, "\"concurrency\":3"));
    free(s);
    tg_demo_faults_free(r);
}

int main(void)
{
    test_strength();
    test_capacity();
    test_eval();
    test_registry();
    test_parse();
    test_to_json();
    return tg_test_report("test_faults");
}
