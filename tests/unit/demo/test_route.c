/* SPDX-License-Identifier: MIT */
/* Unit tests for demo/route.c: every endpoint shape (the agent pool's paths included),
 * argument bounds, method rules, the fault selector's segment-boundary prefix rule, query
 * lookup and percent-decoding. */
#include "demo/route.h"

#include <string.h>

#include "tg_test.h"

static struct tg_str S(const char *s) {
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static enum tg_demo_route_err
match(enum tg_http_method m, const char *path, struct tg_demo_route *r)
{
    return tg_demo_route_match(m, S(path), r);
}

static void test_endpoints(void)
{
    struct tg_demo_route r;
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_ROOT);
    TG_EXPECT_EQ(match(TG_HTTP_HEAD, "/health", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_HEALTH);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/products", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_PRODUCTS);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/products/42", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_PRODUCT);
    TG_EXPECT_EQ(r.arg, 42);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/products/abc", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/analytics/weekly", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_ANALYTICS);
    TG_EXPECT_MEMEQ(r.name.p, r.name.len, "weekly");
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/analytics/", &r), TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/analytics/a/b", &r), TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/api/content/generate", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_GENERATE);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/v1/agents", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_AGENTS);
    TG_EXPECT_EQ(match(TG_HTTP_PATCH, "/echo", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_ECHO);
    TG_EXPECT_EQ(match(TG_HTTP_OTHER, "/echo/deeper/path", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_ECHO);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/echoes", &r), TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(match(TG_HTTP_DELETE, "/_faults", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_FAULTS);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/missing", &r), TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_NOT_FOUND);
}

static void test_numeric_bounds(void)
{
    struct tg_demo_route r;
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/bytes/0", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/bytes/68719476736", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.arg, 68719476736ull);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/bytes/68719476737", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/bytes/99999999999999999999", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/bytes/", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/bytes/-1", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/bytes/10", &r), TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/status/503", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.arg, 503);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/status/199", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/status/600", &r), TG_DEMO_ROUTE_BAD_ARG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/sleep/600000", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/sleep/600001", &r), TG_DEMO_ROUTE_BAD_ARG);
}

static void test_methods(void)
{
    struct tg_demo_route r;
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/health", &r), TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_STREQ(r.allow, "GET, HEAD");
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/content/generate", &r), TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_STREQ(r.allow, "POST");
    TG_EXPECT_EQ(match(TG_HTTP_PUT, "/_faults", &r), TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_EQ(match(TG_HTTP_DELETE, "/api/products/1", &r), TG_DEMO_ROUTE_BAD_METHOD);
}

/* The runbooks' app-specific agent paths, with exactly their methods. */
static void test_agent_paths(void)
{
    struct tg_demo_route r;
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/v1/monitoring/agents/pool", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_AGENT_POOL);
    TG_EXPECT_EQ(match(TG_HTTP_HEAD, "/api/v1/monitoring/agents/pool", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/api/v1/monitoring/agents/pool", &r),
                 TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_STREQ(r.allow, "GET, HEAD");
    TG_EXPECT_EQ(match(TG_HTTP_PUT, "/api/v1/system/agents/config", &r), TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_AGENT_CONFIG);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/v1/system/agents/config", &r), TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_STREQ(r.allow, "PUT");
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/api/v1/system/agents/coordination/cleanup", &r),
                 TG_DEMO_ROUTE_OK);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_AGENT_CLEANUP);
    TG_EXPECT_EQ(match(TG_HTTP_DELETE, "/api/v1/system/agents/coordination/cleanup", &r),
                 TG_DEMO_ROUTE_BAD_METHOD);
    TG_EXPECT_STREQ(r.allow, "POST");
    /* Whole paths only: neighbours and extensions are not the agent paths. */
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/v1/monitoring/agents/pool/x", &r),
                 TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(match(TG_HTTP_GET, "/api/v1/monitoring/agents", &r), TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(match(TG_HTTP_PUT, "/api/v1/system/agents/configs", &r),
                 TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(match(TG_HTTP_POST, "/api/v1/system/agents/coordination", &r),
                 TG_DEMO_ROUTE_NOT_FOUND);
    TG_EXPECT_EQ(r.ep, TG_DEMO_EP_NOT_FOUND);
}

static void test_selects(void)
{
    TG_EXPECT(tg_demo_path_selects("*", 1, S("/anything")));
    TG_EXPECT(tg_demo_path_selects("/api/products", 13, S("/api/products")));
    TG_EXPECT(tg_demo_path_selects("/api/products", 13, S("/api/products/7")));
    TG_EXPECT(!tg_demo_path_selects("/api/products", 13, S("/api/productsx")));
    TG_EXPECT(!tg_demo_path_selects("/api/products", 13, S("/api")));
    TG_EXPECT(tg_demo_path_selects("/api/", 5, S("/api/x")));
    TG_EXPECT(tg_demo_path_selects("/", 1, S("/health")));
    TG_EXPECT(!tg_demo_path_selects("", 0, S("/health")));
}

static void test_query_and_decode(void)
{
    struct tg_str v;
    TG_EXPECT(tg_demo_query_get(S("a=1&chunked=1&b"), "chunked", &v));
    TG_EXPECT_MEMEQ(v.p, v.len, "1");
    TG_EXPECT(tg_demo_query_get(S("a=1&b"), "b", &v));
    TG_EXPECT_EQ(v.len, 0);
    TG_EXPECT(!tg_demo_query_get(S("ab=1"), "a", &v));
    TG_EXPECT(!tg_demo_query_get(S(""), "a", &v));
    char buf[32];
    long n = tg_demo_url_decode(buf, sizeof buf, S("%2Fapi%2fproducts+x"));
    TG_EXPECT_MEMEQ(buf, n, "/api/products x");
    TG_EXPECT_EQ(tg_demo_url_decode(buf, sizeof buf, S("%2")), -1);
    TG_EXPECT_EQ(tg_demo_url_decode(buf, sizeof buf, S("%zz")), -1);
    TG_EXPECT_EQ(tg_demo_url_decode(buf, 3, S("abcd")), -1);
    uint64_t x;
    TG_EXPECT(tg_demo_parse_u64(S("18446744073709551"), &x));
    TG_EXPECT(!tg_demo_parse_u64(S("12a"), &x));
}

int main(void)
{
    test_endpoints();
    test_numeric_bounds();
    test_methods();
    test_agent_paths();
    test_selects();
    test_query_and_decode();
    return tg_test_report("test_route");
}
