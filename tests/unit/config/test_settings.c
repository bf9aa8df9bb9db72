/* SPDX-License-Identifier: MIT */
/* Settings by name: overrides read by the file's own schema readers over the file's
 * values (one key changes, its neighbours stay), errors that name the key, settings that
 * need a restart refused as such, scoped (per upstream, per route) breakers inheriting
 * the top-level keys they do not set, and the enumeration with each setting's origin. */
#include "config/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static struct tg_errbuf eb;

static const char *yaml = "upstreams:\n"
                          "  - name: api\n"
                          "    servers: [\"127.0.0.1:9001\"]\n"
                          "  - name: slow\n"
                          "    servers: [\"127.0.0.1:9002\"]\n"
                          "    circuit_breaker: { recovery_time: 5 }\n"
                          "routes:\n"
                          "  - { name: search, path: /search, upstream: api }\n"
                          "  - { name: report, prefix: /report/, tier: sheddable,\n"
                          "      circuit_breaker: { timeout_ms: 250 } }\n"
                          "timeouts: { default: 5s }\n"
                          "circuit_breaker: { enabled: false, failure_threshold: 0.25 }\n";

static struct tg_config *load(void)
{
    struct tg_config *c = NULL;
    if (tg_config_load_string(yaml, strlen(yaml), "c.yaml", &c, &eb) != 0)
        fprintf(stderr, "load failed: %d:%d: %s\n", eb.line, eb.column, eb.msg);
    return c;
}

static int apply(struct tg_config *c, const char *key, const char *json)
{
    memset(&eb, 0, sizeof eb);
    return tg_config_apply_override(c, key, json, &eb);
}

static void test_one_key_over_the_file(void)
{
    struct tg_config *c = load();
    TG_EXPECT(c != NULL);
    if (!c)
        return;
    TG_EXPECT_EQ(apply(c, "circuit_breaker.timeout_ms", "1000"), 0);
    TG_EXPECT_EQ(apply(c, "circuit_breaker.enabled", "true"), 0);
    TG_EXPECT_EQ(c->breaker.timeout_ms, 1000);
    TG_EXPECT(c->breaker.enabled);
    TG_EXPECT(c->breaker.failure_threshold == 0.25); /* the file's, untouched */
    TG_EXPECT_EQ(c->breaker.recovery_time, 60);      /* the default, untouched */
    TG_EXPECT_EQ(apply(c, "timeouts.default_ms", "10000"), 0);
    TG_EXPECT_EQ(c->default_timeout_us, 10000000);
    TG_EXPECT_EQ(apply(c, "tracing.sample_rate", "0.1"), 0);
    TG_EXPECT(c->trace_sample_rate == 0.1);
    TG_EXPECT_EQ(apply(c, "features.disabled", "[\"analytics\", \"recommendations\"]"), 0);
    TG_EXPECT_EQ(c->features.ndisabled, 2);
    TG_EXPECT_STREQ(c->features.disabled[1], "recommendations");
    TG_EXPECT_EQ(apply(c, "rate_limit.rules",
                       "[{\"path_prefix\": \"/api/\", \"window_seconds\": 900, \"max\": 100}]"),
                 0);
    TG_EXPECT_EQ(c->ratelimit.nrules, 1);
    TG_EXPECT_EQ(c->ratelimit.rules[0].max, 100);
    TG_EXPECT_EQ(apply(c, "rate_limit.requests_per_minute", "1000"), 0);
    TG_EXPECT_EQ(c->ratelimit.requests_per_minute, 1000);
    TG_EXPECT_EQ(apply(c, "fallback.cache_ttl", "3600"), 0);
    /* Retries on statuses with a backoff, and the per-try timeout, are live settings. */
    TG_EXPECT_EQ(apply(c, "retries.statuses", "[502, 503]"), 0);
    TG_EXPECT_EQ(apply(c, "retries.base_delay_ms", "200"), 0);
    TG_EXPECT_EQ(apply(c, "retries.jitter", "\"decorrelated\""), 0);
    TG_EXPECT_EQ(c->retries.nstatuses, 2);
    TG_EXPECT_EQ(c->retries.statuses[1], 503);
    TG_EXPECT_EQ(c->retries.base_delay_ms, 200);
    TG_EXPECT_EQ(c->retries.jitter, TG_CFG_JITTER_DECORRELATED);
    TG_EXPECT_EQ(c->retries.factor, 2); /* the default, untouched */
    TG_EXPECT_EQ(apply(c, "timeouts.per_try_ms", "300"), 0);
    TG_EXPECT_EQ(c->per_try_timeout_us, 300000);
    TG_EXPECT_EQ(c->default_timeout_us, 10000000); /* untouched */
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    TG_EXPECT_STREQ(c->ratelimit.rules[0].message, "Too many requests, please try again later.");
    tg_config_free(c);
}

static void test_errors_name_the_key(void)
{
    struct tg_config *c = load();
    if (!c)
        return;
    TG_EXPECT_EQ(apply(c, "circuit_breaker.timeout_ms", "0"), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "circuit_breaker.timeout_ms: 0 is out of range (allowed 1 to 600000)");
    TG_EXPECT_EQ(apply(c, "circuit_breaker.timeout_ms", "\"5000\""), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "circuit_breaker.timeout_ms: expected an integer") == eb.msg);
    TG_EXPECT_EQ(apply(c, "circuit_breaker.failure_threshold", "1.5"), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "circuit_breaker.failure_threshold: bad ratio") == eb.msg);
    TG_EXPECT_EQ(apply(c, "circuit_breaker.nope", "1"), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "unknown key \"nope\"") != NULL);
    TG_EXPECT_EQ(apply(c, "nope.enabled", "true"), TG_ENOTFOUND);
    TG_EXPECT_EQ(apply(c, "listen", "\"0.0.0.0:1\""), TG_ENOTFOUND);
    TG_EXPECT_EQ(apply(c, "timeouts.idle_ms", "5"), TG_ENOTFOUND);
    TG_EXPECT(strstr(eb.msg, "edit the file and reload") != NULL);
    /* Not a way to smuggle other keys in. */
    TG_EXPECT_EQ(apply(c, "circuit_breaker.enabled", "true, \"timeout_ms\": 1"), TG_ECONFIG);
    TG_EXPECT_EQ(apply(c, "circuit_breaker.enabled\": true, \"x", "1"), TG_ENOTFOUND);
    TG_EXPECT_EQ(apply(c, "circuit_breaker.enabled", ""), TG_ECONFIG);
    /* Lists: each item is judged, and the message names its index. */
    TG_EXPECT_EQ(apply(c, "rate_limit.trusted_proxies", "[\"10.0.0.0/8\", \"10.0.0.1/33\"]"),
                 TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "rate_limit.trusted_proxies[1]: bad network") == eb.msg);
    TG_EXPECT_EQ(apply(c, "cache.rules", "[{\"path_glob\": \"api\", \"ttl_seconds\": 5}]"),
                 TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "cache.rules[0]: path_glob must start") == eb.msg);
    TG_EXPECT_EQ(apply(c, "rate_limit.rules", "[{\"path_prefix\": \"/a\"}]"), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "rate_limit.rules[0]: missing required key") == eb.msg);
    TG_EXPECT_EQ(apply(c, "features.disabled", "[\"a\", \"b\", \"a\"]"), 0);
    TG_EXPECT_EQ(c->features.ndisabled, 2); /* duplicates fold */
    TG_EXPECT_EQ(apply(c, "retries.statuses", "[502, 499]"), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "retries.statuses[1]: 499 is out of range") == eb.msg);
    TG_EXPECT_EQ(apply(c, "retries.jitter", "\"sometimes\""), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "retries.jitter: ") == eb.msg);
    TG_EXPECT_EQ(apply(c, "timeouts.per_try_ms", "-1"), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "timeouts.per_try_ms: ") == eb.msg);
    TG_EXPECT_EQ(c->breaker.timeout_ms, 5000);
    /* Settings bound to what is built at start. */
    TG_EXPECT_EQ(apply(c, "tracing.buffer", "64"), TG_ERESTART);
    TG_EXPECT(strstr(eb.msg, "needs a restart") != NULL);
    /* The worker count is live, within the file's bounds; other top-level keys are not
     * settings the control API knows. */
    TG_EXPECT_EQ(apply(c, "workers", "16"), 0);
    TG_EXPECT_EQ(c->workers, 16);
    TG_EXPECT_EQ(apply(c, "workers", "1025"), TG_ECONFIG);
    TG_EXPECT(strstr(eb.msg, "workers: 1025 is out of range") == eb.msg);
    TG_EXPECT_EQ(apply(c, "workers", "-1"), TG_ECONFIG);
    TG_EXPECT_EQ(c->workers, 16);
    TG_EXPECT_EQ(apply(c, "nope", "1"), TG_ENOTFOUND);
    /* Scopes: the owner must exist, and only breakers are per upstream or route. */
    TG_EXPECT_EQ(apply(c, "upstreams[nope].circuit_breaker.enabled", "true"), TG_ENOTFOUND);
    TG_EXPECT_STREQ(eb.msg, "upstreams[nope].circuit_breaker.enabled: no upstream named \"nope\"");
    TG_EXPECT_EQ(apply(c, "upstreams[api].rate_limit.enabled", "true"), TG_ENOTFOUND);
    TG_EXPECT_EQ(apply(c, "upstreams[api.circuit_breaker.enabled", "true"), TG_ENOTFOUND);
    tg_config_free(c);
}

static void test_scoped_breakers_inherit(void)
{
    struct tg_config *c = load();
    if (!c)
        return;
    TG_EXPECT_EQ(apply(c, "upstreams[api].circuit_breaker.enabled", "true"), 0);
    TG_EXPECT_EQ(apply(c, "circuit_breaker.timeout_ms", "2000"), 0);
    TG_EXPECT_EQ(apply(c, "routes[search].circuit_breaker.min_requests", "5"), 0);
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    const struct tg_cfg_upstream *api = &c->upstreams[0], *slow = &c->upstreams[1];
    TG_EXPECT(api->breaker.enabled);
    TG_EXPECT_EQ(api->breaker.timeout_ms, 2000);    /* top level, overridden */
    TG_EXPECT(api->breaker.failure_threshold == 0.25); /* top level, from the file */
    TG_EXPECT(!slow->breaker.enabled);
    TG_EXPECT_EQ(slow->breaker.recovery_time, 5);   /* its own */
    TG_EXPECT_EQ(slow->breaker.timeout_ms, 2000);
    TG_EXPECT(c->routes[0].own_breaker);
    TG_EXPECT_EQ(c->routes[0].breaker.min_requests, 5);
    TG_EXPECT_EQ(c->routes[0].breaker.timeout_ms, 2000);
    TG_EXPECT(c->routes[1].own_breaker);
    TG_EXPECT_EQ(c->routes[1].breaker.timeout_ms, 250);
    TG_EXPECT_EQ(c->routes[1].tier, TG_TIER_SHEDDABLE);
    TG_EXPECT_EQ(c->routes[0].tier, TG_TIER_STANDARD);
    tg_config_free(c);
}

struct seen {
    int n, in_file, fixed;
    bool timeouts_default_in_file, slow_recovery_in_file, route_timeout_in_file;
    bool threshold_in_file, timeout_in_file;
    long long slow_recovery;
};

static void collect(const struct tg_config_setting *s, void *vctx)
{
    struct seen *z = vctx;
    z->n++;
    z->in_file += s->in_file;
    z->fixed += !s->live;
    if (strcmp(s->key, "timeouts.default_ms") == 0)
        z->timeouts_default_in_file = s->in_file;
    if (strcmp(s->key, "upstreams[slow].circuit_breaker.recovery_time") == 0) {
        z->slow_recovery_in_file = s->in_file;
        z->slow_recovery = json_integer_value(s->value);
    }
    if (strcmp(s->key, "routes[report].circuit_breaker.timeout_ms") == 0)
        z->route_timeout_in_file = s->in_file;
    if (strcmp(s->key, "circuit_breaker.failure_threshold") == 0)
        z->threshold_in_file = s->in_file;
    if (strcmp(s->key, "circuit_breaker.timeout_ms") == 0)
        z->timeout_in_file = s->in_file;
}

static void test_enumeration(void)
{
    struct tg_config *c = load();
    if (!c)
        return;
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    struct seen z = {0};
    tg_config_foreach_setting(c, collect, &z);
    TG_EXPECT(z.n > 60);
    TG_EXPECT(z.timeouts_default_in_file);
    TG_EXPECT(z.slow_recovery_in_file);
    TG_EXPECT_EQ(z.slow_recovery, 5);
    TG_EXPECT(z.route_timeout_in_file);
    TG_EXPECT(z.threshold_in_file);
    TG_EXPECT(!z.timeout_in_file);
    TG_EXPECT_EQ(z.fixed, 2); /* tracing.buffer, autoscale.provider */
    json_t *v = tg_config_setting_value(c, "circuit_breaker.failure_threshold");
    TG_EXPECT(v && json_real_value(v) == 0.25);
    json_decref(v);
    TG_EXPECT(tg_config_setting_value(c, "circuit_breaker.nope") == NULL);
    tg_config_free(c);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_one_key_over_the_file();
    test_errors_name_the_key();
    test_scoped_breakers_inherit();
    test_enumeration();
    return tg_test_report(argv[0]);
}
