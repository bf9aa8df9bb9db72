/* SPDX-License-Identifier: MIT */
/* Unit tests for src/proxy/route.c: exact, prefix and template matching with method
 * masks and first-match-wins order, and tg_route_template (endpoint names for unmatched
 * paths). The config is built by hand (calloc'd routes), not loaded from YAML, so only
 * the layout of struct tg_config / struct tg_cfg_route matters here. */
#include "proxy/route.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "http/http1.h"
#include "tg_test.h"

/* The proxy converts a parsed method with 1u << method: the bits must agree. */
_Static_assert(TG_CFG_M_OTHER == 1u << TG_HTTP_OTHER, "method bit");
_Static_assert(TG_CFG_M_GET == 1u << TG_HTTP_GET, "method bit");
_Static_assert(TG_CFG_M_HEAD == 1u << TG_HTTP_HEAD, "method bit");
_Static_assert(TG_CFG_M_POST == 1u << TG_HTTP_POST, "method bit");
_Static_assert(TG_CFG_M_PUT == 1u << TG_HTTP_PUT, "method bit");
_Static_assert(TG_CFG_M_DELETE == 1u << TG_HTTP_DELETE, "method bit");
_Static_assert(TG_CFG_M_PATCH == 1u << TG_HTTP_PATCH, "method bit");
_Static_assert(TG_CFG_M_OPTIONS == 1u << TG_HTTP_OPTIONS, "method bit");
_Static_assert(TG_CFG_M_CONNECT == 1u << TG_HTTP_CONNECT, "method bit");
_Static_assert(TG_CFG_M_TRACE == 1u << TG_HTTP_TRACE, "method bit");

struct rdef {
    enum tg_route_match match;
    unsigned methods;
    const char *path;
};

static struct tg_config *make_cfg(const struct rdef *defs, size_t n)
{
    struct tg_config *cfg = calloc(1, sizeof *cfg);
    TG_EXPECT(cfg != NULL);
    cfg->routes = calloc(n ? n : 1, sizeof *cfg->routes);
    TG_EXPECT(cfg->routes != NULL);
    cfg->nroutes = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        struct tg_cfg_route *r = &cfg->routes[i];
        snprintf(r->name, sizeof r->name, "r%zu", i);
        r->methods = defs[i].methods;
        r->match = defs[i].match;
        snprintf(r->path, sizeof r->path, "%s", defs[i].path);
    }
    return cfg;
}

static void free_cfg(struct tg_config *cfg)
{
    free(cfg->routes);
    free(cfg);
}

static struct tg_str str_of(const char *s)
{
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static int match(const struct tg_route_table *t, enum tg_http_method m, const char *path)
{
    return tg_route_match(t, m, str_of(path));
}

/* Expects route `want` for `path` (GET), printing the path on a mismatch. */
#define EXPECT_ROUTE(t, m, path, want)                                                             \
    do {                                                                                           \
        int got_ = match((t), (m), (path));                                                        \
        if (got_ != (want))                                                                        \
            fprintf(stderr, "  path \"%s\"\n", (path));                                            \
        TG_EXPECT_EQ(got_, (want));                                                                \
    } while (0)

/* ---- matching --------------------------------------------------------------------- */

static void test_empty_table(void)
{
    struct tg_config *cfg = make_cfg(NULL, 0);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    TG_EXPECT(t != NULL);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/anything", -1);
    tg_route_table_free(t);
    tg_route_table_free(NULL);
    free_cfg(cfg);
}

static void test_exact(void)
{
    static const struct rdef defs[] = {
        {TG_MATCH_EXACT, 0, "/health"},
        {TG_MATCH_EXACT, 0, "/"},
        {TG_MATCH_EXACT, 0, "/api/v1/items"},
    };
    struct tg_config *cfg = make_cfg(defs, 3);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/health", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/", 1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/v1/items", 2);
    /* Exact means exact: no trailing slash, no longer or shorter path, case-sensitive. */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/health/", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/healthz", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/healt", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/Health", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/v1/items/", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/v1", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "", -1);
    /* Matching uses the slice length, not a NUL: bytes past len are ignored. */
    TG_EXPECT_EQ(tg_route_match(t, TG_HTTP_GET, (struct tg_str){"/healthXYZ", 7}), 0);
    tg_route_table_free(t);
    free_cfg(cfg);
}

static void test_prefix(void)
{
    static const struct rdef defs[] = {
        {TG_MATCH_PREFIX, 0, "/api/"},
        {TG_MATCH_PREFIX, 0, "/static"},
        {TG_MATCH_PREFIX, 0, "/"},
    };
    struct tg_config *cfg = make_cfg(defs, 3);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/x/y", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api", 2); /* shorter than the prefix */
    /* A prefix is a byte prefix, not a segment prefix (config.h: "path starts with"). */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/static", 1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/static/app.js", 1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/staticfoo", 1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/stati", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/other", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "*", -1);
    tg_route_table_free(t);
    free_cfg(cfg);
}

static void test_methods(void)
{
    static const struct rdef defs[] = {
        {TG_MATCH_EXACT, TG_CFG_M_GET, "/items"},
        {TG_MATCH_EXACT, TG_CFG_M_POST | TG_CFG_M_PUT, "/items"},
        {TG_MATCH_EXACT, TG_CFG_M_OTHER, "/items"},
        {TG_MATCH_EXACT, 0, "/items"}, /* any method */
        {TG_MATCH_PREFIX, TG_CFG_M_DELETE, "/"},
        {TG_MATCH_TEMPLATE, TG_CFG_M_TRACE, "/t/:x"},
    };
    struct tg_config *cfg = make_cfg(defs, 6);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/items", 0);
    EXPECT_ROUTE(t, TG_HTTP_POST, "/items", 1);
    EXPECT_ROUTE(t, TG_HTTP_PUT, "/items", 1);
    EXPECT_ROUTE(t, TG_HTTP_OTHER, "/items", 2);
    /* A GET route takes HEAD too (RFC 9110 §9.3.2: HEAD is GET without the body). */
    EXPECT_ROUTE(t, TG_HTTP_HEAD, "/items", 0);
    EXPECT_ROUTE(t, TG_HTTP_PATCH, "/items", 3);
    EXPECT_ROUTE(t, TG_HTTP_OPTIONS, "/items", 3);
    EXPECT_ROUTE(t, TG_HTTP_CONNECT, "/items", 3);
    EXPECT_ROUTE(t, TG_HTTP_TRACE, "/items", 3);
    EXPECT_ROUTE(t, TG_HTTP_DELETE, "/items", 3); /* first match wins over the prefix */
    EXPECT_ROUTE(t, TG_HTTP_DELETE, "/other", 4);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/other", -1);
    EXPECT_ROUTE(t, TG_HTTP_TRACE, "/t/1", 5);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/t/1", -1);
    EXPECT_ROUTE(t, TG_HTTP_DELETE, "/t/1", 4);
    tg_route_table_free(t);
    free_cfg(cfg);
}

static void test_first_match_wins(void)
{
    /* Config order decides, not specificity. */
    static const struct rdef defs[] = {
        {TG_MATCH_PREFIX, 0, "/api/"},         {TG_MATCH_EXACT, 0, "/api/special"},
        {TG_MATCH_TEMPLATE, 0, "/users/:id"},  {TG_MATCH_EXACT, 0, "/users/me"},
        {TG_MATCH_EXACT, 0, "/orders/latest"}, {TG_MATCH_TEMPLATE, 0, "/orders/:id"},
    };
    struct tg_config *cfg = make_cfg(defs, 6);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/special", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/users/me", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/orders/latest", 4);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/orders/17", 5);
    tg_route_table_free(t);
    free_cfg(cfg);
}

static void test_templates(void)
{
    static const struct rdef defs[] = {
        {TG_MATCH_TEMPLATE, 0, "/api/products/:id"},           /* 0 */
        {TG_MATCH_TEMPLATE, 0, "/api/users/:uid/orders/:oid"}, /* 1 */
        {TG_MATCH_TEMPLATE, 0, "/static/*"},                   /* 2 */
        {TG_MATCH_TEMPLATE, 0, "/files/:bucket/*"},            /* 3 */
        {TG_MATCH_TEMPLATE, 0, "/:tenant/dashboard"},          /* 4 */
        {TG_MATCH_TEMPLATE, 0, "/v2/items/:id/"},              /* 5: declared with '/' */
    };
    struct tg_config *cfg = make_cfg(defs, 6);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);

    /* ":param" takes exactly one non-empty segment. */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/123", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/abc-def", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/:id", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products//", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products//x", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/1/2", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/product/1", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/productsX/1", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "api/products/1", -1);
    /* A trailing slash is the same resource, but only one. */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/123/", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/products/123//", -1);

    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/users/7/orders/9", 1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/users/7/orders/9/", 1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/users//orders/9", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/users/7/orders/", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/api/users/7/order/9", -1);

    /* "*" takes the rest, any depth, including nothing after the literal part. */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/static/app.js", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/static/a/b/c/d.css", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/static/", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/static", 2);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/staticx/a", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/files/b1/x/y", 3);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/files/b1", 3);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/files//x", -1); /* the param before "*" is still required */

    /* Parameter as the first segment. */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/acme/dashboard", 4);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/acme/dashboard/", 4);
    EXPECT_ROUTE(t, TG_HTTP_GET, "//dashboard", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/dashboard", -1);

    /* A template declared with a trailing slash matches with and without it too. */
    EXPECT_ROUTE(t, TG_HTTP_GET, "/v2/items/5/", 5);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/v2/items/5", 5);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/v2/items/", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/v2/items/5/x", -1);

    EXPECT_ROUTE(t, TG_HTTP_GET, "", -1);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/", -1);
    tg_route_table_free(t);
    free_cfg(cfg);
}

/* The longest template the config allows (32 segments) matches exactly its depth. */
static void test_template_depth(void)
{
    char tmpl[256] = "", path[256] = "";
    size_t to = 0, po = 0;
    for (int i = 0; i < 32; i++) {
        to += (size_t)snprintf(tmpl + to, sizeof tmpl - to, i == 31 ? "/:p%d" : "/s%d", i);
        po += (size_t)snprintf(path + po, sizeof path - po, "/s%d", i);
    }
    struct rdef def = {TG_MATCH_TEMPLATE, 0, tmpl};
    struct tg_config *cfg = make_cfg(&def, 1);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, path, 0);
    char longer[300];
    snprintf(longer, sizeof longer, "%s/x", path);
    EXPECT_ROUTE(t, TG_HTTP_GET, longer, -1);
    path[po - 4] = '\0'; /* drop the last segment "/s31" */
    EXPECT_ROUTE(t, TG_HTTP_GET, path, -1);
    tg_route_table_free(t);
    free_cfg(cfg);
}

/* The table borrows the config's strings; it does not copy the routes array. Many
 * routes, the last one matching, to exercise the scan. */
static void test_many_routes(void)
{
    enum { N = 500 };
    struct rdef *defs = calloc(N, sizeof *defs);
    char(*paths)[32] = calloc(N, sizeof *paths);
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof paths[i], "/svc%d/:id", i);
        defs[i] = (struct rdef){TG_MATCH_TEMPLATE, TG_CFG_M_GET, paths[i]};
    }
    struct tg_config *cfg = make_cfg(defs, N);
    struct tg_route_table *t = NULL;
    TG_EXPECT_EQ(tg_route_table_new(cfg, &t), 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/svc0/1", 0);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/svc499/1", 499);
    EXPECT_ROUTE(t, TG_HTTP_GET, "/svc500/1", -1);
    EXPECT_ROUTE(t, TG_HTTP_POST, "/svc499/1", -1);
    tg_route_table_free(t);
    free_cfg(cfg);
    free(paths);
    free(defs);
}

/* ---- endpoint templates ----------------------------------------------------------- */

static void expect_tmpl(const char *path, const char *want, int line)
{
    char out[512];
    memset(out, 'Q', sizeof out);
    size_t n = tg_route_template(str_of(path), out, sizeof out);
    tg_test_checks++;
    if (n != strlen(want) || strcmp(out, want) != 0) {
        fprintf(stderr, "  path \"%s\"\n", path);
        tg_test_fail_s(__FILE__, line, "tg_route_template", out, want);
    }
}

#define EXPECT_TMPL(path, want) expect_tmpl((path), (want), __LINE__)

static void test_template_names(void)
{
    /* Numbers become :id. */
    EXPECT_TMPL("/api/products/123", "/api/products/:id");
    EXPECT_TMPL("/api/products/0", "/api/products/:id");
    EXPECT_TMPL("/users/42/orders/7", "/users/:id/orders/:id");
    EXPECT_TMPL("/123", "/:id");
    EXPECT_TMPL("/v2/items", "/v2/items"); /* digits inside a word stay */
    EXPECT_TMPL("/12a/x", "/12a/x");       /* short, mixed: not an id */
    EXPECT_TMPL("/-1", "/-1");

    /* UUIDs (any case) become :id; near-misses stay. */
    EXPECT_TMPL("/orders/123e4567-e89b-12d3-a456-426614174000", "/orders/:id");
    EXPECT_TMPL("/orders/123E4567-E89B-12D3-A456-426614174000/items", "/orders/:id/items");
    EXPECT_TMPL("/o/123e4567-e89b-12d3-a456-42661417400", "/o/123e4567-e89b-12d3-a456-42661417400");
    EXPECT_TMPL("/o/123e4567xe89b-12d3-a456-426614174000",
                "/o/123e4567xe89b-12d3-a456-426614174000");
    EXPECT_TMPL("/o/123e4567-e89b-12d3-a456-42661417400g",
                "/o/123e4567-e89b-12d3-a456-42661417400g");

    /* Long hex (>= 16 digits) becomes :id; shorter hex stays. */
    EXPECT_TMPL("/blob/0123456789abcdef", "/blob/:id");
    EXPECT_TMPL("/blob/0123456789ABCDEF0123", "/blob/:id");
    EXPECT_TMPL("/commit/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/commit/:id");
    EXPECT_TMPL("/blob/0123456789abcde", "/blob/0123456789abcde"); /* 15 */
    EXPECT_TMPL("/blob/deadbeef", "/blob/deadbeef");
    EXPECT_TMPL("/blob/abc", "/blob/abc");
    EXPECT_TMPL("/blob/0123456789abcdeg", "/blob/0123456789abcdeg");

    /* Root and empty. */
    EXPECT_TMPL("", "/");
    EXPECT_TMPL("/", "/");
    EXPECT_TMPL("/a/", "/a"); /* trailing slash dropped */
    EXPECT_TMPL("/a/1/", "/a/:id");

    /* Double slashes are kept as empty segments (not collapsed). */
    EXPECT_TMPL("//a", "//a");
    EXPECT_TMPL("/a//b", "/a//b");
    EXPECT_TMPL("/a//", "/a/");
    EXPECT_TMPL("//", "/");

    /* Paths without a leading slash (OPTIONS *, CONNECT authority) get exactly one. */
    EXPECT_TMPL("*", "/*");
    EXPECT_TMPL("example.com:443", "/example.com:443");
    EXPECT_TMPL("a/1", "/a/:id");

    /* At most 8 segments are kept; the rest become one "*" segment. */
    EXPECT_TMPL("/1/2/3/4/5/6/7/8", "/:id/:id/:id/:id/:id/:id/:id/:id");
    EXPECT_TMPL("/a/b/c/d/e/f/g/h", "/a/b/c/d/e/f/g/h");
    EXPECT_TMPL("/a/b/c/d/e/f/g/h/", "/a/b/c/d/e/f/g/h");
    EXPECT_TMPL("/a/b/c/d/e/f/g/h/i", "/a/b/c/d/e/f/g/h/*");
    EXPECT_TMPL("/a/b/c/d/e/f/g/h/i/j/k/l/m", "/a/b/c/d/e/f/g/h/*");
    EXPECT_TMPL("/a/b/c/d/e/f/g/h/1/2", "/a/b/c/d/e/f/g/h/*");
}

static void test_template_truncation(void)
{
    const char *path = "/api/products/123/reviews";
    const char *full = "/api/products/:id/reviews";
    size_t full_len = strlen(full);
    char out[64];

    /* cap 0: writes nothing at all. */
    out[0] = 'Q';
    TG_EXPECT_EQ(tg_route_template(str_of(path), out, 0), 0);
    TG_EXPECT_EQ(out[0], 'Q');

    /* Every cap from 1 to beyond the full length: a NUL-terminated prefix of the full
     * name, cap - 1 bytes long when truncated, and nothing written past cap. */
    for (size_t cap = 1; cap <= full_len + 3; cap++) {
        memset(out, 'Q', sizeof out);
        size_t n = tg_route_template(str_of(path), out, cap);
        size_t want = cap - 1 < full_len ? cap - 1 : full_len;
        TG_EXPECT_EQ(n, want);
        TG_EXPECT_EQ(out[n], '\0');
        TG_EXPECT_EQ(strlen(out), n);
        TG_EXPECT(strncmp(out, full, n) == 0);
        TG_EXPECT_EQ(out[cap], 'Q');
    }

    /* Truncation inside ":id" and inside the trailing "*" segment. */
    memset(out, 'Q', sizeof out);
    TG_EXPECT_EQ(tg_route_template(str_of("/123"), out, 3), 2);
    TG_EXPECT_STREQ(out, "/:");
    TG_EXPECT_EQ(tg_route_template(str_of("/a/b/c/d/e/f/g/h/i"), out, 18), 17);
    TG_EXPECT_STREQ(out, "/a/b/c/d/e/f/g/h/");
    TG_EXPECT_EQ(tg_route_template(str_of(""), out, 1), 0);
    TG_EXPECT_STREQ(out, "");

    /* A very long segment is cut at cap - 1 too. */
    char big[400];
    big[0] = '/';
    memset(big + 1, 'x', sizeof big - 2);
    big[sizeof big - 1] = '\0';
    char small[100];
    TG_EXPECT_EQ(tg_route_template(str_of(big), small, sizeof small), sizeof small - 1);
    TG_EXPECT_EQ(small[sizeof small - 1], '\0');
    TG_EXPECT_EQ(small[0], '/');
    TG_EXPECT_EQ(small[98], 'x');

    /* The input slice's length is honoured (no NUL needed). */
    TG_EXPECT_EQ(tg_route_template((struct tg_str){"/a/1?q=2", 4}, out, sizeof out), 6);
    TG_EXPECT_STREQ(out, "/a/:id");
}

int main(int argc, char **argv)
{
    (void)argc;
    test_empty_table();
    test_exact();
    test_prefix();
    test_methods();
    test_first_match_wins();
    test_templates();
    test_template_depth();
    test_many_routes();
    test_template_names();
    test_template_truncation();
    return tg_test_report(argv[0]);
}
