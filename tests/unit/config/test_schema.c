/* SPDX-License-Identifier: MIT */
/* The tailguard schema: a full config loads with exact values, defaults fill what is left
 * out, and every cross-key rule (servers, health timing, path templates, route overlap,
 * unique names, upstream references) refuses bad input at the exact line:column with
 * the exact message. */
#include "config/schema_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/units.h"
#include "tg_test.h"

static struct tg_errbuf eb;

static int load(const char *y)
{
    struct tg_config *c = NULL;
    memset(&eb, 0, sizeof eb);
    int rc = tg_config_load_string(y, strlen(y), "tailguard.yaml", &c, &eb);
    tg_config_free(c);
    return rc;
}

static void where(const char *y, const char *needle, int *line, int *col)
{
    const char *p = strstr(y, needle);
    *line = 1;
    *col = 1;
    for (const char *c = y; p && c < p; c++) {
        if (*c == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
    if (!p)
        *line = *col = -1;
}

#define EXPECT_ERR(y_, at_, msg_)                                                                  \
    do {                                                                                           \
        int l_, c_;                                                                                \
        where((y_), (at_), &l_, &c_);                                                              \
        TG_EXPECT_EQ(load(y_), TG_ECONFIG);                                                        \
        TG_EXPECT_STREQ(eb.file, "tailguard.yaml");                                                \
        TG_EXPECT_EQ(eb.line, l_);                                                                 \
        TG_EXPECT_EQ(eb.column, c_);                                                               \
        TG_EXPECT_STREQ(eb.msg, (msg_));                                                           \
    } while (0)

/* The schema example from the design, in full. */
static const char full[] =
    "listen: \"0.0.0.0:8001\"\n"
    "workers: 2\n"
    "admin: { listen: \"127.0.0.1:9091\", mount_on_proxy: true, token: \"s3cret\" }\n"
    "limits: { max_header_bytes: 32KiB, max_headers: 50, max_body_bytes: 10MiB, "
    "max_connections: 30000 }\n"
    "timeouts: { header: 5s, idle: 90s, default: 20s, critical: 2m, drain: 0 }\n"
    "endpoints: { max: 500, idle_timeout: 45m }\n"
    "upstreams:\n"
    "  - name: api\n"
    "    balance: p2c_ewma\n"
    "    keepalive: 64\n"
    "    keepalive_timeout: 4s\n"
    "    connect_timeout: 1500ms\n"
    "    servers: [\"127.0.0.1:8080\", { address: \"[::1]:8081\", weight: 2 }]\n"
    "    health_check: { path: /healthz, interval: 5s, timeout: 1s, rise: 4, fall: 6 }\n"
    "    passive: { failures: 0, eject_time: 45s }\n"
    "  - name: auth.v2\n"
    "    servers: [\"localhost:9000\"]\n"
    "default_upstream: auth.v2\n"
    "routes:\n"
    "  - { name: product, methods: [GET, HEAD], path: \"/api/products/:id\", upstream: api }\n"
    "  - { name: analytics, prefix: \"/api/analytics/\", upstream: api, feature: analytics, "
    "class: default, timeout: 5s }\n"
    "  - { name: content_generate, methods: [POST], path: \"/api/content/generate\", "
    "upstream: api, class: critical }\n"
    "  - { name: static, path: \"/static/*\" }\n";

static void test_full(void)
{
    struct tg_config *c = NULL;
    TG_EXPECT_EQ(tg_config_load_string(full, strlen(full), "tailguard.yaml", &c, &eb), 0);
    if (!c) {
        TG_EXPECT(!"full config did not load");
        fprintf(stderr, "%d:%d: %s\n", eb.line, eb.column, eb.msg);
        return;
    }
    TG_EXPECT_STREQ(c->file, "");
    TG_EXPECT_STREQ(c->listen.text, "0.0.0.0:8001");
    TG_EXPECT_EQ(c->workers, 2);
    TG_EXPECT_STREQ(c->admin_listen.text, "127.0.0.1:9091");
    TG_EXPECT(c->admin_mount_on_proxy);
    TG_EXPECT_STREQ(c->admin_token, "s3cret");
    TG_EXPECT_EQ(c->max_head_bytes, 32768);
    TG_EXPECT_EQ(c->max_headers, 50);
    TG_EXPECT_EQ(c->max_body_bytes, 10485760);
    TG_EXPECT_EQ(c->max_connections, 30000);
    TG_EXPECT_EQ(c->header_timeout_us, 5000000);
    TG_EXPECT_EQ(c->idle_timeout_us, 90000000);
    TG_EXPECT_EQ(c->default_timeout_us, 20000000);
    TG_EXPECT_EQ(c->critical_timeout_us, 120000000);
    TG_EXPECT_EQ(c->drain_timeout_us, 0);
    TG_EXPECT_EQ(c->max_endpoints, 500);
    TG_EXPECT_EQ(c->endpoint_idle_timeout_us, INT64_C(45) * 60 * 1000000);

    TG_EXPECT_EQ(c->nupstreams, 2);
    const struct tg_cfg_upstream *u = &c->upstreams[0];
    TG_EXPECT_STREQ(u->name, "api");
    TG_EXPECT_EQ(u->lb, TG_LB_P2C_EWMA);
    TG_EXPECT_EQ(u->keepalive, 64);
    TG_EXPECT_EQ(u->keepalive_timeout_us, 4 * TG_US_PER_S);
    TG_EXPECT_EQ(u->connect_timeout_us, 1500000);
    TG_EXPECT_EQ(u->nservers, 2);
    TG_EXPECT_STREQ(u->servers[0].addr.text, "127.0.0.1:8080");
    TG_EXPECT_EQ(u->servers[0].weight, 1);
    TG_EXPECT_STREQ(u->servers[1].addr.text, "[::1]:8081");
    TG_EXPECT_EQ(u->servers[1].weight, 2);
    TG_EXPECT(u->health.enabled);
    TG_EXPECT_STREQ(u->health.path, "/healthz");
    TG_EXPECT_EQ(u->health.interval_us, 5000000);
    TG_EXPECT_EQ(u->health.timeout_us, 1000000);
    TG_EXPECT_EQ(u->health.rise, 4);
    TG_EXPECT_EQ(u->health.fall, 6);
    TG_EXPECT_EQ(u->passive.failures, 0);
    TG_EXPECT_EQ(u->passive.eject_us, 45000000);

    u = &c->upstreams[1];
    TG_EXPECT_STREQ(u->name, "auth.v2");
    TG_EXPECT_EQ(u->lb, TG_LB_ROUND_ROBIN);
    TG_EXPECT_EQ(u->keepalive, 256);
    TG_EXPECT_EQ(u->keepalive_timeout_us, 60 * TG_US_PER_S);
    TG_EXPECT(c->tracing_enabled);
    TG_EXPECT(c->trace_sample_rate == 0.01);
    TG_EXPECT_EQ(c->trace_buffer, 2048);
    TG_EXPECT_STREQ(c->access_log, "");
    TG_EXPECT_EQ(u->connect_timeout_us, 2000000);
    TG_EXPECT_EQ(u->nservers, 1);
    TG_EXPECT_STREQ(u->servers[0].addr.text, "127.0.0.1:9000");
    TG_EXPECT(!u->health.enabled);
    TG_EXPECT_STREQ(u->health.path, "/health");
    TG_EXPECT_EQ(u->health.interval_us, 5000000);
    TG_EXPECT_EQ(u->health.timeout_us, 1000000);
    TG_EXPECT_EQ(u->health.rise, 2);
    TG_EXPECT_EQ(u->health.fall, 3);
    TG_EXPECT_EQ(u->passive.failures, 5);
    TG_EXPECT_EQ(u->passive.eject_us, 30000000);
    TG_EXPECT_EQ(c->default_upstream, 1);

    TG_EXPECT_EQ(c->nroutes, 4);
    const struct tg_cfg_route *r = &c->routes[0];
    TG_EXPECT_STREQ(r->name, "product");
    TG_EXPECT_EQ(r->methods, TG_CFG_M_GET | TG_CFG_M_HEAD);
    TG_EXPECT_EQ(r->match, TG_MATCH_TEMPLATE);
    TG_EXPECT_STREQ(r->path, "/api/products/:id");
    TG_EXPECT_EQ(r->upstream, 0);
    TG_EXPECT_EQ(r->cls, TG_CLASS_DEFAULT);
    TG_EXPECT_STREQ(r->feature, "");
    TG_EXPECT_EQ(r->timeout_us, 0);
    r = &c->routes[1];
    TG_EXPECT_STREQ(r->name, "analytics");
    TG_EXPECT_EQ(r->methods, 0);
    TG_EXPECT_EQ(r->match, TG_MATCH_PREFIX);
    TG_EXPECT_STREQ(r->path, "/api/analytics/");
    TG_EXPECT_EQ(r->upstream, 0);
    TG_EXPECT_STREQ(r->feature, "analytics");
    TG_EXPECT_EQ(r->cls, TG_CLASS_DEFAULT);
    TG_EXPECT_EQ(r->timeout_us, 5000000);
    r = &c->routes[2];
    TG_EXPECT_STREQ(r->name, "content_generate");
    TG_EXPECT_EQ(r->methods, TG_CFG_M_POST);
    TG_EXPECT_EQ(r->match, TG_MATCH_EXACT);
    TG_EXPECT_STREQ(r->path, "/api/content/generate");
    TG_EXPECT_EQ(r->cls, TG_CLASS_CRITICAL);
    r = &c->routes[3];
    TG_EXPECT_EQ(r->match, TG_MATCH_TEMPLATE);
    TG_EXPECT_EQ(r->upstream, TG_CFG_UPSTREAM_DEFAULT);

    /* Validation resolves the route without an upstream to the default one, and
     * mount_on_proxy adds the admin upstream and its three routes in front. */
    uint32_t nup = c->nupstreams;
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    TG_EXPECT_EQ(c->nroutes, 9);
    TG_EXPECT_EQ(c->nupstreams, nup + 1);
    TG_EXPECT_STREQ(c->upstreams[nup].name, "tailguard-admin");
    TG_EXPECT_STREQ(c->routes[0].path, "/api/v1/monitoring/agents/");
    TG_EXPECT_EQ(c->routes[0].upstream, c->default_upstream); /* app-specific: the app's */
    TG_EXPECT_STREQ(c->routes[2].name, "tailguard-admin-monitoring");
    TG_EXPECT_STREQ(c->routes[2].path, "/api/v1/monitoring/");
    TG_EXPECT_EQ(c->routes[2].upstream, nup);
    TG_EXPECT_EQ(c->routes[4].match, TG_MATCH_EXACT);
    TG_EXPECT_STREQ(c->routes[5].name, "product");
    TG_EXPECT_EQ(c->routes[8].upstream, 1);
    tg_config_free(c);
}

static void test_defaults(void)
{
    struct tg_config *c = NULL;
    const char *y = "upstreams: [{name: a, servers: [\"10.0.0.1:80\"], health_check: {}}]\n";
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), NULL, &c, &eb), 0);
    struct tg_config *d = tg_config_new_default();
    if (c) {
        TG_EXPECT_STREQ(c->listen.text, d->listen.text);
        TG_EXPECT_STREQ(c->admin_listen.text, d->admin_listen.text);
        TG_EXPECT_EQ(c->max_head_bytes, d->max_head_bytes);
        TG_EXPECT_EQ(c->idle_timeout_us, d->idle_timeout_us);
        TG_EXPECT_EQ(c->default_upstream, 0);
        TG_EXPECT_EQ(c->nroutes, 0);
        TG_EXPECT(c->routes == NULL);
        TG_EXPECT(c->upstreams[0].health.enabled);
        TG_EXPECT_EQ(c->upstreams[0].health.interval_us, 5000000);
    }
    tg_config_free(c);
    tg_config_free(d);

    y = "upstreams: [{name: a, servers: [\"10.0.0.1:80\"], health_check: {enabled: false, "
        "path: /x}}]\nroutes: []\n";
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), NULL, &c, &eb), 0);
    TG_EXPECT(c && !c->upstreams[0].health.enabled);
    TG_EXPECT_EQ(c ? c->nroutes : 99, 0);
    tg_config_free(c);

    /* Sections may come in any order: routes before the upstreams they name. */
    y = "routes: [{name: r, path: /, upstream: b}]\ndefault_upstream: b\n"
        "upstreams: [{name: a, servers: [\"10.0.0.1:80\"]}, {name: b, servers: [\":81\"]}]\n";
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), NULL, &c, &eb), 0);
    TG_EXPECT_EQ(c ? c->routes[0].upstream : 99, 1);
    TG_EXPECT_EQ(c ? c->default_upstream : 99, 1);
    TG_EXPECT_STREQ(c ? c->upstreams[1].servers[0].addr.text : "", "0.0.0.0:81");
    tg_config_free(c);
}

static void test_design_example_error(void)
{
    /* The message format promised in the design, at the promised position. */
    const char *y = "listen: \":8000\"\n"
                    "upstreams:\n"
                    "  - name: api\n"
                    "    servers: [\"127.0.0.1:8080\"]\n"
                    "    health_check:\n"
                    "      path: /health\n"
                    "      interval: 5x\n";
    TG_EXPECT_EQ(load(y), TG_ECONFIG);
    TG_EXPECT_EQ(eb.line, 7);
    TG_EXPECT_EQ(eb.column, 17);
    char buf[512];
    TG_EXPECT_STREQ(tg_config_format_error(&eb, buf, sizeof buf),
                    "tailguard.yaml:7:17: upstreams[0].health_check.interval: bad duration \"5x\" "
                    "(use 250ms, 10s, 2m)");
}

#define UP "upstreams:\n  - name: api\n"

#define SRV "upstreams: [{name: a, servers: [\"127.0.0.1:1\"]}]\n"

/* metrics.buckets and tracing.sample_rate: the two numeric lists/ratios of the file. */
static struct tg_config *load_keep(const char *y)
{
    struct tg_config *c = NULL;
    memset(&eb, 0, sizeof eb);
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), "tailguard.yaml", &c, &eb), 0);
    return c;
}

static void test_metrics_and_tracing(void)
{
    struct tg_config *cfg = load_keep(SRV "metrics: { buckets: [0.05, 100ms, 2] }\n");
    if (!cfg)
        return;
    TG_EXPECT_EQ(cfg->nbuckets, 3);
    TG_EXPECT_EQ(cfg->buckets_us[0], 50000);
    TG_EXPECT_EQ(cfg->buckets_us[1], 100000);
    TG_EXPECT_EQ(cfg->buckets_us[2], 2000000);
    tg_config_free(cfg);
    cfg = NULL;
    EXPECT_ERR(SRV "metrics: { buckets: [0.05, 0.25, 0.1] }\n", "0.1]",
               "metrics.buckets[2]: buckets must be in ascending order");
    EXPECT_ERR(SRV "metrics: { buckets: [] }\n", "[]",
               "metrics.buckets: empty list (leave out buckets for the defaults)");
    EXPECT_ERR(SRV "metrics: { buckets: [5000] }\n", "5000",
               "metrics.buckets[0]: bad bucket \"5000\" (seconds from 0.000001 to 3600, or a "
               "duration such as 250ms)");
    EXPECT_ERR(SRV "tracing: { sample_rate: 1.5 }\n", "1.5",
               "tracing.sample_rate: bad ratio \"1.5\" (use a decimal from 0 to 1)");
    cfg = load_keep(SRV "tracing: { sample_rate: 0.25, buffer: 64 }\nmetrics: { enabled: false }\n"
                        "access_log: { path: \"-\", format: combined }\n");
    if (!cfg)
        return;
    TG_EXPECT(cfg->trace_sample_rate == 0.25);
    TG_EXPECT_EQ(cfg->trace_buffer, 64);
    TG_EXPECT(!cfg->metrics_enabled);
    TG_EXPECT_STREQ(cfg->access_log, "-");
    TG_EXPECT_EQ(cfg->access_log_format, TG_ACCESS_COMBINED);
    tg_config_free(cfg);
    cfg = NULL;
}

static void test_upstream_errors(void)
{
    EXPECT_ERR(UP "    servers: []\n", "[]",
               "upstreams[0].servers: empty list: an upstream needs at least one server");
    EXPECT_ERR(UP "    keepalive: 1\n", "name", "upstreams[0]: missing required key \"servers\"");
    EXPECT_ERR(UP "    servers: [\"127.0.0.1:1\", \"localhost:1\"]\n", "\"localhost",
               "upstreams[0].servers[1]: duplicate server 127.0.0.1:1 (also servers[0])");
    EXPECT_ERR(UP "    servers: [\"127.0.0.1:0\"]\n", "\"127",
               "upstreams[0].servers[0]: 127.0.0.1:0: port 0 is not valid for a server");
    EXPECT_ERR(UP "    servers: [{weight: 1, address: \":0\"}]\n", "\":0",
               "upstreams[0].servers[0]: 0.0.0.0:0: port 0 is not valid for a server");
    EXPECT_ERR(UP "    servers: [{weight: 2}]\n", "{weight",
               "upstreams[0].servers[0]: missing required key \"address\"");
    EXPECT_ERR(UP "    servers: [{address: \":1\", weight: 0}]\n", "0}",
               "upstreams[0].servers[0].weight: 0 is out of range (allowed 1 to 1000)");
    EXPECT_ERR(UP "    servers: [{address: \":1\", wieght: 2}]\n", "wieght",
               "upstreams[0].servers[0]: unknown key \"wieght\" (did you mean \"weight\"?)");
    EXPECT_ERR(UP "    servers: [[\":1\"]]\n", "[\":1",
               "upstreams[0].servers[0]: expected an address such as 127.0.0.1:8080, got a list");
    EXPECT_ERR(UP "    servers: [\"api.internal:80\"]\n", "\"api.",
               "upstreams[0].servers[0]: bad address \"api.internal:80\": hostnames are not "
               "supported, use an IP address");
    EXPECT_ERR(UP "    servers: \":1\"\n", "\":1",
               "upstreams[0].servers: expected a list, got the string \":1\"");
    EXPECT_ERR(
        "upstreams:\n  - {name: api, servers: [\":1\"]}\n  - {name: api, servers: [\":2\"]}\n",
        "api, servers: [\":2",
        "upstreams[1].name: duplicate upstream name \"api\" (also upstreams[0])");
    EXPECT_ERR("upstreams:\n  - {name: a b, servers: [\":1\"]}\n", "a b",
               "upstreams[0].name: bad name \"a b\" (use letters, digits, \"_\", \".\" and \"-\")");
    EXPECT_ERR("upstreams:\n  - {name: \"\", servers: [\":1\"]}\n", "\"\"",
               "upstreams[0].name: bad name \"\" (use letters, digits, \"_\", \".\" and \"-\")");
    EXPECT_ERR(
        "upstreams:\n  - {name: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, servers: [\":1\"]}"
        "\n",
        "aaa", "upstreams[0].name: too long (64 bytes, at most 63)");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    keepalive: 10001\n", "10001",
               "upstreams[0].keepalive: 10001 is out of range (allowed 0 to 10000)");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    connect_timeout: 11m\n", "11m",
               "upstreams[0].connect_timeout: 11m is out of range (allowed 1ms to 10m)");
}

static void test_health_errors(void)
{
    EXPECT_ERR(UP "    servers: [\":1\"]\n    health_check: {interval: 1s, timeout: 2s}\n", "2s}",
               "upstreams[0].health_check.timeout: timeout 2s is longer than interval 1s");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    health_check: {interval: 500ms}\n", "500ms",
               "upstreams[0].health_check.interval: timeout 1s is longer than interval 500ms");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    health_check: {path: health}\n", "health}",
               "upstreams[0].health_check.path: must start with \"/\" and contain no spaces");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    health_check: {path: \"/a b\"}\n", "\"/a b",
               "upstreams[0].health_check.path: must start with \"/\" and contain no spaces");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    health_check: {rise: 0}\n", "0}",
               "upstreams[0].health_check.rise: 0 is out of range (allowed 1 to 100)");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    health_check: true\n", "true",
               "upstreams[0].health_check: expected a mapping, got \"true\"");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    passive: {failures: 1001}\n", "1001",
               "upstreams[0].passive.failures: 1001 is out of range (allowed 0 to 1000)");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    passive: {eject_time: 0}\n", "0}",
               "upstreams[0].passive.eject_time: 0 is out of range (allowed 1ms to 24h)");
    EXPECT_ERR(UP "    servers: [\":1\"]\n    passive: {eject: 1s}\n", "eject:",
               "upstreams[0].passive: unknown key \"eject\" (allowed: failures, count_5xx, eject_time, max_eject_time, max_ejection_percent, latency_factor, latency_min_excess, latency_min_samples, slow_start, slow_start_min_percent)");
}

#define R0 "upstreams: [{name: api, servers: [\":1\"]}, {name: auth, servers: [\":2\"]}]\nroutes:\n"

static void test_route_errors(void)
{
    EXPECT_ERR(R0 "  - {name: a, path: /a, prefix: /a}\n", "/a}",
               "routes[0].prefix: use either path or prefix, not both");
    EXPECT_ERR(R0 "  - {name: a, upstream: api}\n", "{name: a,",
               "routes[0]: missing \"path\" (exact or template) or \"prefix\"");
    EXPECT_ERR(R0 "  - {path: /a}\n", "{path", "routes[0]: missing required key \"name\"");
    EXPECT_ERR(R0 "  - {name: a, path: api}\n", "api}",
               "routes[0].path: \"api\": must start with \"/\"");
    EXPECT_ERR(R0 "  - {name: a, prefix: \"\"}\n", "\"\"}",
               "routes[0].prefix: \"\": must start with \"/\"");
    EXPECT_ERR(R0 "  - {name: a, path: \"/a?b=1\"}\n", "\"/a?",
               "routes[0].path: \"/a?b=1\": may not contain \"?\" or \"#\" (routes match the path "
               "only)");
    EXPECT_ERR(R0 "  - {name: a, path: \"/a b\"}\n", "\"/a b",
               "routes[0].path: \"/a b\": may not contain spaces, control or non-ASCII bytes "
               "(percent-encode them)");
    EXPECT_ERR(R0 "  - {name: a, path: \"/caf\xc3\xa9\"}\n", "\"/caf",
               "routes[0].path: \"/caf\\xc3\\xa9\": may not contain spaces, control or non-ASCII "
               "bytes (percent-encode them)");
    EXPECT_ERR(R0 "  - {name: a, path: \"/a/:\"}\n", "\"/a/:",
               "routes[0].path: \"/a/:\": a parameter is \":\" and a name of letters, digits or "
               "\"_\" filling the segment, e.g. /items/:id");
    EXPECT_ERR(R0 "  - {name: a, path: \"/a/:id-x\"}\n", "\"/a/:",
               "routes[0].path: \"/a/:id-x\": a parameter is \":\" and a name of letters, digits "
               "or \"_\" filling the segment, e.g. /items/:id");
    EXPECT_ERR(R0 "  - {name: a, path: \"/a/*/b\"}\n", "\"/a/*",
               "routes[0].path: \"/a/*/b\": \"*\" must be the last segment");
    EXPECT_ERR(R0 "  - {name: a, path: \"/a/b*\"}\n", "\"/a/b*",
               "routes[0].path: \"/a/b*\": \"*\" must be a whole segment, e.g. /static/*");
    EXPECT_ERR(R0 "  - {name: a, path: \"/:id/x/:id\"}\n", "\"/:id",
               "routes[0].path: \"/:id/x/:id\": duplicate parameter name");
    EXPECT_ERR(R0 "  - {name: a, path: \"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/"
                  "21/22/23/24/25/26/27/28/29/30/31/32/:x\"}\n",
               "\"/1/",
               "routes[0].path: \"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/\"...: a "
               "template may have at most 32 segments");
    EXPECT_ERR(
        R0 "  - {name: a, prefix: \"/api/*\"}\n", "\"/api/*",
        "routes[0].prefix: \"/api/*\": a prefix matches literally; drop the \"*\" (\"/api/\" "
        "matches everything below /api/)");
    EXPECT_ERR(R0 "  - {name: a, path: /a}\n  - {name: a, path: /b}\n", "a, path: /b",
               "routes[1].name: duplicate route name \"a\" (also routes[0])");
    EXPECT_ERR(R0 "  - {name: a, path: \"/x/:id\"}\n  - {name: b, path: \"/x/:key\"}\n",
               "\"/x/:key", "routes[1]: matches the same requests as routes[0] (\"a\")");
    TG_EXPECT_EQ(load(R0 "  - {name: a, methods: [GET], prefix: /x}\n  - {name: b, prefix: /x}\n"),
                 TG_ECONFIG);
    TG_EXPECT_EQ(eb.line, 4);
    TG_EXPECT_EQ(eb.column, 23);
    TG_EXPECT_STREQ(eb.msg, "routes[1]: matches the same requests as routes[0] (\"a\")");
    /* With several routes on one pattern (disjoint methods), a clash names the earliest
     * route it meets, and a clash of pattern and of name names the earlier of the two. */
    EXPECT_ERR(R0 "  - {name: a, methods: [GET], path: \"/x/:id\"}\n"
                  "  - {name: b, methods: [POST], path: \"/x/:k\"}\n"
                  "  - {name: c, methods: [PUT, POST], path: \"/x/:z\"}\n",
               "\"/x/:z", "routes[2]: matches the same requests as routes[1] (\"b\")");
    EXPECT_ERR(R0 "  - {name: a, methods: [GET], path: \"/x/:id\"}\n"
                  "  - {name: b, methods: [POST], path: \"/x/:k\"}\n"
                  "  - {name: b, path: \"/x/:z\"}\n",
               "\"/x/:z", "routes[2]: matches the same requests as routes[0] (\"a\")");
    EXPECT_ERR(R0 "  - {name: a, methods: [GET], path: \"/y\"}\n"
                  "  - {name: b, methods: [POST], path: \"/x/:k\"}\n"
                  "  - {name: a, path: \"/x/:z\"}\n",
               "a, path: \"/x/:z", "routes[2].name: duplicate route name \"a\" (also routes[0])");
    EXPECT_ERR(R0 "  - {name: a, methods: [get], path: /a}\n", "get",
               "routes[0].methods[0]: methods are case-sensitive: use GET");
    EXPECT_ERR(R0 "  - {name: a, methods: [FETCH], path: /a}\n", "FETCH",
               "routes[0].methods[0]: unknown method \"FETCH\" (use GET, HEAD, POST, PUT, DELETE, "
               "PATCH, OPTIONS, CONNECT, TRACE)");
    EXPECT_ERR(R0 "  - {name: a, methods: [OTHER], path: /a}\n", "OTHER",
               "routes[0].methods[0]: unknown method \"OTHER\" (use GET, HEAD, POST, PUT, DELETE, "
               "PATCH, OPTIONS, CONNECT, TRACE)");
    EXPECT_ERR(R0 "  - {name: a, methods: [GET, POST, GET], path: /a}\n", "GET]",
               "routes[0].methods[2]: duplicate method GET");
    EXPECT_ERR(R0 "  - {name: a, methods: [], path: /a}\n", "[]",
               "routes[0].methods: empty list (leave out methods to match any method)");
    EXPECT_ERR(R0 "  - {name: a, methods: GET, path: /a}\n", "GET",
               "routes[0].methods: expected a list, got \"GET\"");
    EXPECT_ERR(R0 "  - {name: a, methods: [[GET]], path: /a}\n", "[GET",
               "routes[0].methods[0]: expected a method name such as GET, got a list");
    EXPECT_ERR(R0 "  - {name: a, path: /a, upstream: ap}\n", "ap}",
               "routes[0].upstream: unknown upstream \"ap\" (did you mean \"api\"?)");
    EXPECT_ERR(R0 "  - {name: a, path: /a}\n  - {name: b, path: /b, upstream: billing}\n",
               "billing", "routes[1].upstream: unknown upstream \"billing\" (defined: api, auth)");
    EXPECT_ERR("routes:\n  - {name: a, path: /a, upstream: api}\n", "api}",
               "routes[0].upstream: unknown upstream \"api\" (no upstreams are defined in this "
               "file)");
    EXPECT_ERR(R0 "  - {name: a, path: /a, class: urgent}\n", "urgent",
               "routes[0].class: unknown value \"urgent\" (allowed: default, critical)");
    EXPECT_ERR(R0 "  - {name: a, path: /a, feature: \"new ui\"}\n", "\"new ui",
               "routes[0].feature: bad name \"new ui\" (use letters, digits, \"_\", \".\" and "
               "\"-\")");
    EXPECT_ERR(R0 "  - {name: a, path: /a, timeout: 0}\n", "0}",
               "routes[0].timeout: 0 is out of range (allowed 1ms to 24h)");
    EXPECT_ERR(R0 "  - {name: a, path: /a, timout: 1s}\n", "timout",
               "routes[0]: unknown key \"timout\" (did you mean \"timeout\"?)");
    EXPECT_ERR(R0 "  - {name: a, path: /a}\ndefault_upstream: nope\n", "nope",
               "default_upstream: unknown upstream \"nope\" (defined: api, auth)");
}

static void test_route_accepts(void)
{
    struct tg_config *c = NULL;
    const char *y = R0 "  - {name: a, methods: [GET], path: \"/x/:id\"}\n"
                       "  - {name: b, methods: [POST, PUT], path: \"/x/:key\"}\n"
                       "  - {name: c, path: \"/x/:id/y\"}\n"
                       "  - {name: d, path: \"/v1/items:batchGet\"}\n"
                       "  - {name: e, path: \"/x/\"}\n"
                       "  - {name: f, prefix: \"/x/\"}\n"
                       "  - {name: g, path: \"/\"}\n"
                       "  - {name: h, path: \"/*\"}\n"
                       "  - {name: i, path: \"/:a/:b/*\", methods: [DELETE, PATCH, OPTIONS, "
                       "CONNECT, TRACE, HEAD]}\n"
                       "  - {name: j, path: \"/%7Euser\"}\n"
                       "  - {name: k, path: \"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/"
                       "20/21/22/23/24/25/26/27/28/29/30/31/:x\"}\n"
                       "  - {name: l, path: \"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/"
                       "20/21/22/23/24/25/26/27/28/29/30/31/32/33/34\"}\n"
                       /* A prefix is literal, ":" included: these are two prefixes. */
                       "  - {name: m, prefix: \"/p/:a\"}\n"
                       "  - {name: n, prefix: \"/p/:b\"}\n";
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), NULL, &c, &eb), 0);
    if (!c) {
        fprintf(stderr, "%d:%d: %s\n", eb.line, eb.column, eb.msg);
        TG_EXPECT(!"routes did not load");
        return;
    }
    TG_EXPECT_EQ(c->nroutes, 14);
    TG_EXPECT_EQ(c->routes[10].match, TG_MATCH_TEMPLATE);
    TG_EXPECT_EQ(c->routes[11].match, TG_MATCH_EXACT);
    TG_EXPECT_EQ(c->routes[1].methods, TG_CFG_M_POST | TG_CFG_M_PUT);
    TG_EXPECT_EQ(c->routes[2].match, TG_MATCH_TEMPLATE);
    TG_EXPECT_EQ(c->routes[3].match, TG_MATCH_EXACT);
    TG_EXPECT_EQ(c->routes[4].match, TG_MATCH_EXACT);
    TG_EXPECT_EQ(c->routes[5].match, TG_MATCH_PREFIX);
    TG_EXPECT_EQ(c->routes[6].match, TG_MATCH_EXACT);
    TG_EXPECT_EQ(c->routes[7].match, TG_MATCH_TEMPLATE);
    TG_EXPECT_EQ(c->routes[8].match, TG_MATCH_TEMPLATE);
    TG_EXPECT_EQ(c->routes[8].methods, TG_CFG_M_DELETE | TG_CFG_M_PATCH | TG_CFG_M_OPTIONS |
                                           TG_CFG_M_CONNECT | TG_CFG_M_TRACE | TG_CFG_M_HEAD);
    TG_EXPECT_STREQ(c->routes[9].path, "/%7Euser");
    tg_config_free(c);
}

/* `n` routes with distinct names and templates. */
static void many_routes(size_t n, void *arg)
{
    (void)arg;
    size_t cap = n * 64 + 128, o = 0;
    char *y = malloc(cap);
    o += (size_t)snprintf(y, cap, "upstreams: [{name: a, servers: [\"127.0.0.1:1\"]}]\nroutes:\n");
    for (size_t i = 0; i < n; i++)
        o +=
            (size_t)snprintf(y + o, cap - o, "  - {name: r%zu, path: \"/v%zu/items/:id\"}\n", i, i);
    TG_EXPECT_EQ(load(y), 0);
    free(y);
}

/* Duplicate checks cost O(1) per route: comparing each route with every earlier one took
 * 1.7 s for 10k routes (the most allowed), on every load and reload. */
static void test_route_cost(void)
{
    double g = tg_test_growth(many_routes, TG_CFG_MAX_ROUTES / 16, 16, NULL);
    TG_EXPECT(g < 4);
}

/* The tsdb: section: its defaults, each key, and the bounds that keep a scrape from
 * eating the control thread. */
static void test_tsdb(void)
{
    struct tg_config *c = NULL;
    const char *y = "tsdb: {scrape_interval: 200ms, retention: 30m, max_bytes: 1MiB, "
                    "save_interval: 10s, path: x.tsdb}\n";
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), NULL, &c, &eb), 0);
    if (c) {
        TG_EXPECT_EQ(c->tsdb.scrape_interval_us, 200000);
        TG_EXPECT_EQ(c->tsdb.retention_us, 1800000000LL);
        TG_EXPECT_EQ(c->tsdb.max_bytes, 1u << 20);
        TG_EXPECT_EQ(c->tsdb.save_interval_us, 10000000);
        TG_EXPECT_STREQ(c->tsdb.path, "x.tsdb");
    }
    tg_config_free(c);
    struct tg_config *d = tg_config_new_default();
    TG_EXPECT_EQ(d->tsdb.scrape_interval_us, 5000000);
    TG_EXPECT_EQ(d->tsdb.retention_us, 7200000000LL);
    TG_EXPECT_EQ(d->tsdb.max_bytes, 256u << 20);
    TG_EXPECT_EQ(d->tsdb.save_interval_us, 300000000LL);
    TG_EXPECT_STREQ(d->tsdb.path, "tailguard.tsdb");
    tg_config_free(d);
    TG_EXPECT_EQ(load("tsdb: {max_bytes: 0, path: \"\"}\n"), 0);
    TG_EXPECT_EQ(load("tsdb: {scrape_interval: 10ms}\n"), TG_ECONFIG);
    TG_EXPECT_EQ(load("tsdb: {retention: 10s}\n"), TG_ECONFIG);
    TG_EXPECT_EQ(load("tsdb: {save_interval: 0s}\n"), TG_ECONFIG);
    TG_EXPECT_EQ(load("tsdb: {scrape: 5s}\n"), TG_ECONFIG);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_tsdb();
    test_full();
    test_defaults();
    test_design_example_error();
    test_upstream_errors();
    test_metrics_and_tracing();
    test_health_errors();
    test_route_errors();
    test_route_accepts();
    test_route_cost();
    return tg_test_report(argv[0]);
}
