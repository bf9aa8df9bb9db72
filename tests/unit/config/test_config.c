/* SPDX-License-Identifier: MIT */
/* Snapshot lifecycle: documented defaults, the --upstream flag, whole-config validation
 * (including route resolution and listener collisions), deep copies, error formatting and
 * the enum spellings. */
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "tg_test.h"

static struct tg_errbuf eb;

static struct tg_config *load(const char *y)
{
    struct tg_config *c = NULL;
    if (tg_config_load_string(y, strlen(y), "c.yaml", &c, &eb) != 0)
        fprintf(stderr, "load failed: %d:%d: %s\n", eb.line, eb.column, eb.msg);
    return c;
}

static void test_defaults(void)
{
    struct tg_config *c = tg_config_new_default();
    TG_EXPECT_STREQ(c->file, "");
    TG_EXPECT_STREQ(c->listen.text, "0.0.0.0:8000");
    TG_EXPECT_STREQ(c->admin_listen.text, "127.0.0.1:9090");
    TG_EXPECT(!c->admin_mount_on_proxy);
    TG_EXPECT_STREQ(c->admin_token, "");
    TG_EXPECT_EQ(c->workers, 0);
    TG_EXPECT_EQ(c->max_head_bytes, 16384);
    TG_EXPECT_EQ(c->max_headers, 100);
    TG_EXPECT_EQ(c->max_body_bytes, 0);
    TG_EXPECT_EQ(c->max_connections, 20000);
    TG_EXPECT_EQ(c->header_timeout_us, 10000000);
    TG_EXPECT_EQ(c->idle_timeout_us, 60000000);
    TG_EXPECT_EQ(c->default_timeout_us, 30000000);
    TG_EXPECT_EQ(c->critical_timeout_us, 60000000);
    TG_EXPECT_EQ(c->drain_timeout_us, 30000000);
    TG_EXPECT_EQ(c->nupstreams, 0);
    TG_EXPECT(c->upstreams == NULL);
    TG_EXPECT_EQ(c->nroutes, 0);
    TG_EXPECT_EQ(c->default_upstream, 0);
    TG_EXPECT_EQ(c->max_endpoints, 1000);
    TG_EXPECT_EQ(c->endpoint_idle_timeout_us, INT64_C(1800) * 1000000);

    /* Defaults alone are not a usable gateway: there is nowhere to send requests. */
    TG_EXPECT_EQ(tg_config_validate(c, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "no upstreams: add an \"upstreams:\" section or pass --upstream "
                            "host:port");
    TG_EXPECT_EQ(eb.line, 0);
    tg_config_free(c);
    tg_config_free(NULL);
}

static void test_flag_upstreams(void)
{
    struct tg_config *c = tg_config_new_default();
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "127.0.0.1:8080", &eb), 0);
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "[::1]:8081", &eb), 0);
    TG_EXPECT_EQ(c->nupstreams, 1);
    TG_EXPECT_STREQ(c->upstreams[0].name, "default");
    TG_EXPECT_EQ(c->upstreams[0].nservers, 2);
    TG_EXPECT_STREQ(c->upstreams[0].servers[1].addr.text, "[::1]:8081");
    TG_EXPECT_EQ(c->upstreams[0].servers[1].weight, 1);
    TG_EXPECT_EQ(c->upstreams[0].keepalive, 256);
    TG_EXPECT_EQ(c->upstreams[0].passive.failures, 5);

    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "localhost:8080", &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "--upstream: 127.0.0.1:8080 is already a server of upstream "
                            "\"default\"");
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "api:80", &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "--upstream: bad address \"api:80\": hostnames are not supported, "
                            "use an IP address");
    TG_EXPECT_STREQ(eb.file, "");
    TG_EXPECT_EQ(eb.line, 0);
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, ":0", &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "--upstream: 0.0.0.0:0: port 0 is not valid for a server");
    TG_EXPECT_EQ(c->upstreams[0].nservers, 2);
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "x", NULL), TG_ECONFIG);

    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    tg_config_free(c);

    /* With upstreams from the file, the flag adds to the default upstream. */
    c = load("upstreams:\n  - {name: a, servers: [\":1\"]}\n  - {name: b, servers: [\":2\"]}\n"
             "default_upstream: b\n");
    TG_EXPECT(c != NULL);
    if (c) {
        TG_EXPECT_EQ(tg_config_add_upstream_server(c, "10.0.0.9:80", &eb), 0);
        TG_EXPECT_EQ(c->nupstreams, 2);
        TG_EXPECT_EQ(c->upstreams[0].nservers, 1);
        TG_EXPECT_EQ(c->upstreams[1].nservers, 2);
        TG_EXPECT_STREQ(c->upstreams[1].servers[1].addr.text, "10.0.0.9:80");
    }
    tg_config_free(c);

    /* The server cap holds for flags too. */
    c = tg_config_new_default();
    char a[32];
    for (int i = 0; i < TG_CFG_MAX_SERVERS; i++) {
        snprintf(a, sizeof a, "10.1.%d.%d:80", i / 256, i % 256);
        TG_EXPECT_EQ(tg_config_add_upstream_server(c, a, &eb), 0);
    }
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "10.2.0.0:80", &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "--upstream: upstream \"default\" already has 1000 servers (the most)");
    tg_config_free(c);
}

static void test_validate(void)
{
    /* A file without upstreams is fine to load and is completed by flags. */
    struct tg_config *c = load("routes: [{name: r, path: /a}, {name: s, prefix: /}]\n");
    TG_EXPECT(c != NULL);
    if (!c)
        return;
    TG_EXPECT_EQ(c->routes[0].upstream, TG_CFG_UPSTREAM_DEFAULT);
    TG_EXPECT_EQ(tg_config_validate(c, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.file, "");
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "127.0.0.1:8080", &eb), 0);
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    TG_EXPECT_EQ(c->routes[0].upstream, 0);
    TG_EXPECT_EQ(c->routes[1].upstream, 0);
    /* Validation is idempotent. */
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);

    /* Programmatic edits (control API, flags) are caught too, by key name. */
    struct tg_config *d = tg_config_clone(c);
    d->default_upstream = 3;
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "default_upstream: index 3 is out of range (1 upstreams)");
    d->default_upstream = 0;
    d->routes[1].upstream = 7;
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "routes[1].upstream: index 7 is out of range");
    d->routes[1].upstream = 0;
    strcpy(d->routes[1].name, "r");
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "routes[1].name: duplicate route name \"r\" (also routes[0])");
    strcpy(d->routes[1].name, "bad name");
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "routes[1].name: bad name \"bad name\"");
    strcpy(d->routes[1].name, "s");
    d->max_headers = 101;
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "limits.max_headers: 101 is out of range (1-100)");
    d->max_headers = 100;
    d->idle_timeout_us = 0;
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    d->idle_timeout_us = 1;
    d->upstreams[0].nservers = 0;
    TG_EXPECT_EQ(tg_config_validate(d, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "upstreams[0].servers: upstream \"default\" has no servers");
    d->upstreams[0].nservers = 1;
    TG_EXPECT_EQ(tg_config_validate(d, &eb), 0);
    tg_config_free(d);
    tg_config_free(c);

    /* Duplicate upstream names can only come from programmatic edits. */
    c = load("upstreams:\n  - {name: a, servers: [\":1\"]}\n  - {name: b, servers: [\":2\"]}\n");
    if (c) {
        strcpy(c->upstreams[1].name, "a");
        TG_EXPECT_EQ(tg_config_validate(c, &eb), TG_ECONFIG);
        TG_EXPECT_STREQ(eb.msg, "upstreams[1].name: duplicate upstream name \"a\" (also "
                                "upstreams[0])");
        TG_EXPECT_STREQ(eb.file, "");
    }
    tg_config_free(c);
}

static void test_listener_collisions(void)
{
    static const struct {
        const char *listen, *admin;
        bool ok;
    } cases[] = {
        {"0.0.0.0:8000", "127.0.0.1:9090", true},  {"127.0.0.1:8000", "127.0.0.1:8000", false},
        {"0.0.0.0:9090", "127.0.0.1:9090", false}, {"127.0.0.1:9090", "0.0.0.0:9090", false},
        {"[::]:9090", "127.0.0.1:9090", false},    {"127.0.0.1:9090", "127.0.0.2:9090", true},
        {"127.0.0.1:0", "127.0.0.1:0", true},      {"[::1]:9090", "127.0.0.1:9090", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tg_config *c = tg_config_new_default();
        TG_EXPECT_EQ(tg_config_add_upstream_server(c, "127.0.0.1:1", &eb), 0);
        TG_EXPECT_EQ(tg_addr_parse(cases[i].listen, &c->listen, NULL), 0);
        TG_EXPECT_EQ(tg_addr_parse(cases[i].admin, &c->admin_listen, NULL), 0);
        TG_EXPECT_EQ(tg_config_validate(c, &eb), cases[i].ok ? 0 : TG_ECONFIG);
        if (!cases[i].ok)
            TG_EXPECT(strstr(eb.msg, "admin.listen: ") == eb.msg);
        tg_config_free(c);
    }
    struct tg_config *c = load("listen: \":9090\"\nupstreams: [{name: a, servers: [\":1\"]}]\n");
    if (c) {
        TG_EXPECT_EQ(tg_config_validate(c, &eb), TG_ECONFIG);
        TG_EXPECT_STREQ(eb.msg, "admin.listen: 127.0.0.1:9090 collides with listen 0.0.0.0:9090 "
                                "(use another port; admin.mount_on_proxy also serves admin on "
                                "the proxy port)");
    }
    tg_config_free(c);
}

static void test_clone(void)
{
    struct tg_config *c =
        load("upstreams: [{name: a, servers: [\":1\", \":2\"]}, {name: b, servers: [\":3\"]}]\n"
             "routes: [{name: r, path: /a, upstream: b}]\n");
    if (!c)
        return;
    struct tg_config *d = tg_config_clone(c);
    TG_EXPECT(d->upstreams != c->upstreams);
    TG_EXPECT(d->upstreams[0].servers != c->upstreams[0].servers);
    TG_EXPECT(d->routes != c->routes);
    TG_EXPECT_EQ(d->nupstreams, 2);
    TG_EXPECT_EQ(d->upstreams[0].nservers, 2);
    TG_EXPECT_STREQ(d->upstreams[0].servers[1].addr.text, "0.0.0.0:2");
    TG_EXPECT_EQ(d->routes[0].upstream, 1);
    d->upstreams[0].servers[0].weight = 9;
    strcpy(d->routes[0].name, "changed");
    TG_EXPECT_EQ(c->upstreams[0].servers[0].weight, 1);
    TG_EXPECT_STREQ(c->routes[0].name, "r");
    tg_config_free(c);
    tg_config_free(d);

    c = tg_config_new_default();
    d = tg_config_clone(c);
    TG_EXPECT(d->upstreams == NULL && d->routes == NULL);
    tg_config_free(c);
    tg_config_free(d);
}

static void test_helpers(void)
{
    struct tg_errbuf e = {.line = 3, .column = 5, .file = "f.yaml", .msg = "m"};
    char buf[300];
    TG_EXPECT_STREQ(tg_config_format_error(&e, buf, sizeof buf), "f.yaml:3:5: m");
    e.line = 0;
    TG_EXPECT_STREQ(tg_config_format_error(&e, buf, sizeof buf), "f.yaml: m");
    e.file[0] = '\0';
    TG_EXPECT_STREQ(tg_config_format_error(&e, buf, sizeof buf), "m");

    TG_EXPECT_STREQ(tg_config_lb_name(TG_LB_ROUND_ROBIN), "round_robin");
    TG_EXPECT_STREQ(tg_config_lb_name(TG_LB_LEAST_CONN), "least_conn");
    TG_EXPECT_STREQ(tg_config_lb_name(TG_LB_P2C_EWMA), "p2c_ewma");
    TG_EXPECT_STREQ(tg_config_lb_name((enum tg_lb)9), "?");
    TG_EXPECT_STREQ(tg_config_class_name(TG_CLASS_DEFAULT), "default");
    TG_EXPECT_STREQ(tg_config_class_name(TG_CLASS_CRITICAL), "critical");
    TG_EXPECT_STREQ(tg_config_match_name(TG_MATCH_PREFIX), "prefix");
    TG_EXPECT_STREQ(tg_config_match_name(TG_MATCH_TEMPLATE), "template");
    TG_EXPECT_STREQ(tg_config_match_name(TG_MATCH_EXACT), "exact");

    /* Method bits follow enum tg_http_method's order. */
    TG_EXPECT_EQ(TG_CFG_M_GET, 1u << 1);
    TG_EXPECT_EQ(TG_CFG_M_TRACE, 1u << 9);
    TG_EXPECT_STREQ(tg_config__method_names[5], "DELETE");
    TG_EXPECT(tg_config__method_names[10] == NULL);

    TG_EXPECT(tg_config__name_ok("api.v2-eu_1"));
    TG_EXPECT(!tg_config__name_ok(""));
    TG_EXPECT(!tg_config__name_ok("a/b"));
    TG_EXPECT(!tg_config__name_ok("a b"));
    TG_EXPECT(
        tg_config__name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    TG_EXPECT(
        !tg_config__name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

    struct tg_config *c = load("upstreams: [{name: a, servers: [\":1\"]}, {name: b, servers: "
                               "[\":3\"]}]\n");
    if (c) {
        TG_EXPECT_EQ(tg_config_upstream_index(c, "a"), 0);
        TG_EXPECT_EQ(tg_config_upstream_index(c, "b"), 1);
        TG_EXPECT_EQ(tg_config_upstream_index(c, "c"), TG_ENOTFOUND);
    }
    tg_config_free(c);
}

/* A config with one upstream and `n` routes named r0, r1, ..., validated. */
static void validate_routes(size_t n, void *arg)
{
    (void)arg;
    struct tg_config *c = tg_config_new_default();
    TG_EXPECT_EQ(tg_config_add_upstream_server(c, "127.0.0.1:1", &eb), 0);
    c->routes = calloc(n, sizeof *c->routes);
    c->nroutes = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        snprintf(c->routes[i].name, sizeof c->routes[i].name, "r%zu", i);
        snprintf(c->routes[i].path, sizeof c->routes[i].path, "/r%zu", i);
        c->routes[i].upstream = TG_CFG_UPSTREAM_DEFAULT;
    }
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    tg_config_free(c);
}

/* Validation checks names in O(1) each (it compared every pair before). */
static void test_validate_cost(void)
{
    double g = tg_test_growth(validate_routes, 2500, 16, NULL);
    TG_EXPECT(g < 4);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_defaults();
    test_flag_upstreams();
    test_validate();
    test_listener_collisions();
    test_clone();
    test_helpers();
    test_validate_cost();
    return tg_test_report(argv[0]);
}
