/* SPDX-License-Identifier: MIT */
/* Unit tests for demo/agents.c and agents_json.c: the packed settings (every field at
 * its bounds survives a round trip, a patch changes only what it names), which
 * coordinations get stuck, cleanup, the pool model (coalition size and parallel
 * execution decide how many coordinations run), and strict parsing of the settings body
 * with the offending field named. No threads, no clock: delays are passed in. */
#include "demo/agents.h"

#include <string.h>

#include "core/err.h"
#include "tg_test.h"

#define MS 1000LL

static struct tg_demo_agents_config get(struct tg_demo_agents *a)
{
    struct tg_demo_agents_config c;
    tg_demo_agents_get(a, &c);
    return c;
}

static void test_settings(void)
{
    struct tg_demo_agents a;
    tg_demo_agents_init(&a);
    struct tg_demo_agents_config c = get(&a);
    TG_EXPECT_EQ(c.max_coalition_size, 10);
    TG_EXPECT_EQ(c.coordination_timeout_ms, 30000);
    TG_EXPECT(!c.parallel_execution);
    /* Upper bounds of every field at once: nothing spills into a neighbour. */
    struct tg_demo_agents_patch p = {
        .has =
            TG_DEMO_AGENTS_SET_COALITION | TG_DEMO_AGENTS_SET_TIMEOUT | TG_DEMO_AGENTS_SET_PARALLEL,
        .v = {TG_DEMO_AGENT_COALITION_MAX, TG_DEMO_AGENT_TIMEOUT_MAX_MS, true},
    };
    struct tg_demo_agents_config out;
    tg_demo_agents_set(&a, &p, &out);
    c = get(&a);
    TG_EXPECT_EQ(c.max_coalition_size, 100);
    TG_EXPECT_EQ(c.coordination_timeout_ms, 600000);
    TG_EXPECT(c.parallel_execution);
    TG_EXPECT_EQ(out.max_coalition_size, 100);
    /* A patch changes only the fields it names. */
    p = (struct tg_demo_agents_patch){.has = TG_DEMO_AGENTS_SET_TIMEOUT, .v = {0, 1, false}};
    tg_demo_agents_set(&a, &p, &out);
    c = get(&a);
    TG_EXPECT_EQ(c.max_coalition_size, 100);
    TG_EXPECT_EQ(c.coordination_timeout_ms, 1);
    TG_EXPECT(c.parallel_execution);
    TG_EXPECT_EQ(out.coordination_timeout_ms, 1);
    p = (struct tg_demo_agents_patch){.has = TG_DEMO_AGENTS_SET_PARALLEL, .v = {0, 0, false}};
    tg_demo_agents_set(&a, &p, &out);
    c = get(&a);
    TG_EXPECT(!c.parallel_execution);
    TG_EXPECT_EQ(c.max_coalition_size, 100);
    TG_EXPECT_EQ(c.coordination_timeout_ms, 1);
    /* An empty patch changes nothing and reports the settings. */
    p = (struct tg_demo_agents_patch){0};
    tg_demo_agents_set(&a, &p, &out);
    TG_EXPECT_EQ(out.max_coalition_size, 100);
    TG_EXPECT_EQ(out.coordination_timeout_ms, 1);
}

static void test_stuck_and_cleanup(void)
{
    struct tg_demo_agents a;
    tg_demo_agents_init(&a);
    struct tg_demo_agents_pool pool;
    uint64_t remaining = 99;
    TG_EXPECT_EQ(tg_demo_agents_cleanup(&a, &remaining), 0);
    TG_EXPECT_EQ(remaining, 0);
    /* Fast coordinations: only every TG_DEMO_AGENT_STUCK_EVERY-th one gets stuck. */
    for (int i = 0; i < 2 * TG_DEMO_AGENT_STUCK_EVERY + 3; i++) {
        tg_demo_agents_begin(&a, 15 * MS, false);
        tg_demo_agents_end(&a);
    }
    tg_demo_agents_pool(&a, &pool);
    TG_EXPECT_EQ(pool.started_total, 2 * TG_DEMO_AGENT_STUCK_EVERY + 3);
    TG_EXPECT_EQ(pool.stale, 2);
    TG_EXPECT_EQ(pool.coordinations, 0);
    /* At or over the timeout, or hung: stuck. Just under: not. */
    struct tg_demo_agents_patch p = {.has = TG_DEMO_AGENTS_SET_TIMEOUT, .v = {0, 100, false}};
    struct tg_demo_agents_config out;
    tg_demo_agents_set(&a, &p, &out);
    tg_demo_agents_begin(&a, 100 * MS - 1, false);
    tg_demo_agents_begin(&a, 100 * MS, false);
    tg_demo_agents_begin(&a, 0, true);
    tg_demo_agents_pool(&a, &pool);
    TG_EXPECT_EQ(pool.stale, 4);
    TG_EXPECT_EQ(pool.coordinations, 3);
    /* Cleanup clears the stuck ones and leaves those in progress to finish. */
    TG_EXPECT_EQ(tg_demo_agents_cleanup(&a, &remaining), 4);
    TG_EXPECT_EQ(remaining, 3);
    TG_EXPECT_EQ(tg_demo_agents_cleanup(&a, &remaining), 0);
    tg_demo_agents_pool(&a, &pool);
    TG_EXPECT_EQ(pool.stale, 0);
    TG_EXPECT_EQ(pool.cleaned_total, 4);
    for (int i = 0; i < 3; i++)
        tg_demo_agents_end(&a);
    tg_demo_agents_pool(&a, &pool);
    TG_EXPECT_EQ(pool.coordinations, 0);
    TG_EXPECT_EQ(pool.idle, TG_DEMO_AGENT_POOL_SIZE);
}

static void test_model(void)
{
    struct tg_demo_agents_pool p;
    struct tg_demo_agents_config c = {10, 30000, false};
    tg_demo_agents_model(&c, 0, &p);
    TG_EXPECT_EQ(p.active, 0);
    TG_EXPECT_EQ(p.idle, TG_DEMO_AGENT_POOL_SIZE);
    TG_EXPECT_EQ(p.queued, 0);
    /* One at a time: the rest wait, whatever the pool could seat. */
    tg_demo_agents_model(&c, 4, &p);
    TG_EXPECT_EQ(p.active, 10);
    TG_EXPECT_EQ(p.idle, 6);
    TG_EXPECT_EQ(p.queued, 3);
    TG_EXPECT_EQ(p.coordinations, 4);
    /* The runbook's setting: coalitions of 5 in parallel seat three in a pool of 16. */
    c = (struct tg_demo_agents_config){5, 5000, true};
    tg_demo_agents_model(&c, 4, &p);
    TG_EXPECT_EQ(p.active, 15);
    TG_EXPECT_EQ(p.idle, 1);
    TG_EXPECT_EQ(p.queued, 1);
    tg_demo_agents_model(&c, 2, &p);
    TG_EXPECT_EQ(p.active, 10);
    TG_EXPECT_EQ(p.queued, 0);
    /* A coalition bigger than the pool takes the whole pool, one coordination at a time. */
    c = (struct tg_demo_agents_config){100, 5000, true};
    tg_demo_agents_model(&c, 3, &p);
    TG_EXPECT_EQ(p.active, TG_DEMO_AGENT_POOL_SIZE);
    TG_EXPECT_EQ(p.idle, 0);
    TG_EXPECT_EQ(p.queued, 2);
    c = (struct tg_demo_agents_config){1, 5000, true};
    tg_demo_agents_model(&c, 20, &p);
    TG_EXPECT_EQ(p.active, 16);
    TG_EXPECT_EQ(p.queued, 4);
}

/* Parses `body`; returns 0 or the error with its field in `field`. */
static int parse(const char *body, struct tg_demo_agents_patch *p, const char **field)
{
    static struct tg_demo_fault_err err;
    int rc = tg_demo_agents_parse(body, strlen(body), p, &err);
    *field = err.field;
    if (rc)
        TG_EXPECT(err.msg[0] != 0);
    return rc;
}

static void test_parse(void)
{
    struct tg_demo_agents_patch p;
    const char *field;
    /* The runbook's body, as it writes it (newlines and indentation included). */
    TG_EXPECT_EQ(parse("{\n    \"max_coalition_size\": 5,\n    \"coordination_timeout_ms\": "
                       "5000,\n    \"parallel_execution\": true\n  }",
                       &p, &field),
                 0);
    TG_EXPECT_EQ(p.has, TG_DEMO_AGENTS_SET_COALITION | TG_DEMO_AGENTS_SET_TIMEOUT |
                            TG_DEMO_AGENTS_SET_PARALLEL);
    TG_EXPECT_EQ(p.v.max_coalition_size, 5);
    TG_EXPECT_EQ(p.v.coordination_timeout_ms, 5000);
    TG_EXPECT(p.v.parallel_execution);
    TG_EXPECT_EQ(parse("{\"parallel_execution\": false}", &p, &field), 0);
    TG_EXPECT_EQ(p.has, TG_DEMO_AGENTS_SET_PARALLEL);
    TG_EXPECT_EQ(parse("{}", &p, &field), 0);
    TG_EXPECT_EQ(p.has, 0);
    TG_EXPECT_EQ(
        parse("{\"max_coalition_size\": 1, \"coordination_timeout_ms\": 600000}", &p, &field), 0);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"", ""},
        {"{\"max_coalition_size\": 5", ""},
        {"[1]", ""},
        {"5", ""},
        {"{\"max_coalition_size\": 5, \"max_coalition_size\": 6}", ""},
        {"{\"max_coalition_size\": 0}", "max_coalition_size"},
        {"{\"max_coalition_size\": 101}", "max_coalition_size"},
        {"{\"max_coalition_size\": 5.0}", "max_coalition_size"},
        {"{\"max_coalition_size\": \"5\"}", "max_coalition_size"},
        {"{\"coordination_timeout_ms\": 0}", "coordination_timeout_ms"},
        {"{\"coordination_timeout_ms\": 600001}", "coordination_timeout_ms"},
        {"{\"coordination_timeout_ms\": -5}", "coordination_timeout_ms"},
        {"{\"parallel_execution\": 1}", "parallel_execution"},
        {"{\"parallel_execution\": null}", "parallel_execution"},
        {"{\"max_coalition_size\": 5, \"max_coalition\": 5}", "max_coalition"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TG_EXPECT_EQ(parse(bad[i].body, &p, &field), TG_EPARSE);
        TG_EXPECT_STREQ(field, bad[i].field);
    }
}

static void test_json(void)
{
    char buf[512];
    struct tg_demo_agents_config c = {5, 5000, true};
    int n = tg_demo_agents_config_json(buf, sizeof buf, &c);
    TG_EXPECT_MEMEQ(buf, n,
                    "{\"max_coalition_size\":5,\"coordination_timeout_ms\":5000,"
                    "\"parallel_execution\":true}");
    TG_EXPECT_EQ(tg_demo_agents_config_json(buf, 10, &c), -1);
    struct tg_demo_agents_pool p;
    tg_demo_agents_model(&c, 4, &p);
    p.started_total = 123;
    p.stale = 7;
    p.cleaned_total = 2;
    n = tg_demo_agents_pool_json(buf, sizeof buf, &p);
    TG_EXPECT_MEMEQ(buf, n,
                    "{\"pool_size\":16,\"active\":15,\"idle\":1,\"queued\":1,\"coordinations\":4,"
                    "\"coordinations_total\":123,\"stale_coordinations\":7,\"cleaned_total\":2,"
                    "\"max_coalition_size\":5,\"coordination_timeout_ms\":5000,"
                    "\"parallel_execution\":true}");
    TG_EXPECT_EQ(tg_demo_agents_pool_json(buf, 40, &p), -1);
}

int main(void)
{
    test_settings();
    test_stuck_and_cleanup();
    test_model();
    test_parse();
    test_json();
    return tg_test_report("test_agents");
}
