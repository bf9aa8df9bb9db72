/* SPDX-License-Identifier: MIT */
/* Demo API routing; see route.h. A fixed if-chain over some fifteen paths: cheaper and easier
 * to read than a table at this size. The benchmark paths ("/", "/health") come first. */
#include "demo/route.h"

#include <string.h>

#include "http/url.h"

static bool str_eq(struct tg_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* If `s` starts with `prefix`, stores the rest in `rest` and returns true. */
static bool str_after(struct tg_str s, const char *prefix, struct tg_str *rest)
{
    size_t n = strlen(prefix);
    if (s.len < n || memcmp(s.p, prefix, n) != 0)
        return false;
    rest->p = s.p + n;
    rest->len = s.len - (uint32_t)n;
    return true;
}

bool tg_demo_parse_u64(struct tg_str s, uint64_t *out)
{
    if (s.len == 0 || s.len > 19)
        return false;
    uint64_t v = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    *out = v;
    return true;
}

static bool is_get(enum tg_http_method m)
{
    return m == TG_HTTP_GET || m == TG_HTTP_HEAD;
}

static enum tg_demo_route_err want(struct tg_demo_route *r, enum tg_demo_ep ep, bool ok,
                                   const char *allow)
{
    r->ep = ep;
    if (ok)
        return TG_DEMO_ROUTE_OK;
    r->allow = allow;
    return TG_DEMO_ROUTE_BAD_METHOD;
}

/* Routes with a numeric last segment: /bytes/:n, /status/:code, /sleep/:ms. */
static enum tg_demo_route_err match_numeric(enum tg_http_method m, struct tg_str path,
                                            struct tg_demo_route *r, bool *matched)
{
    struct tg_str rest;
    enum tg_demo_ep ep;
    uint64_t lo = 0, hi;
    if (str_after(path, "/bytes/", &rest)) {
        ep = TG_DEMO_EP_BYTES;
        hi = TG_DEMO_MAX_BYTES;
    } else if (str_after(path, "/status/", &rest)) {
        /* 1xx is not a final status; answering one would hang the client. */
        ep = TG_DEMO_EP_STATUS;
        lo = 200;
        hi = 599;
    } else if (str_after(path, "/sleep/", &rest)) {
        ep = TG_DEMO_EP_SLEEP;
        hi = TG_DEMO_MAX_SLEEP_MS;
    } else {
        *matched = false;
        return TG_DEMO_ROUTE_NOT_FOUND;
    }
    *matched = true;
    r->ep = ep;
    if (!tg_demo_parse_u64(rest, &r->arg) || r->arg < lo || r->arg > hi)
        return TG_DEMO_ROUTE_BAD_ARG;
    if (ep == TG_DEMO_EP_BYTES && !is_get(m))
        return want(r, ep, false, "GET, HEAD");
    return TG_DEMO_ROUTE_OK;
}

static enum tg_demo_route_err match_api(enum tg_http_method m, struct tg_str path,
                                        struct tg_demo_route *r)
{
    struct tg_str rest;
    if (str_eq(path, "/api/products"))
        return want(r, TG_DEMO_EP_PRODUCTS, is_get(m), "GET, HEAD");
    if (str_after(path, "/api/products/", &rest)) {
        r->ep = TG_DEMO_EP_PRODUCT;
        if (!tg_demo_parse_u64(rest, &r->arg))
            return TG_DEMO_ROUTE_BAD_ARG;
        return want(r, TG_DEMO_EP_PRODUCT, is_get(m), "GET, HEAD");
    }
    if (str_after(path, "/api/analytics/", &rest) && rest.len > 0 &&
        !memchr(rest.p, '/', rest.len)) {
        r->name = rest;
        return want(r, TG_DEMO_EP_ANALYTICS, is_get(m), "GET, HEAD");
    }
    if (str_eq(path, "/api/content/generate"))
        return want(r, TG_DEMO_EP_GENERATE, m == TG_HTTP_POST, "POST");
    if (str_eq(path, "/api/v1/agents"))
        return want(r, TG_DEMO_EP_AGENTS, is_get(m), "GET, HEAD");
    if (str_eq(path, "/api/v1/monitoring/agents/pool"))
        return want(r, TG_DEMO_EP_AGENT_POOL, is_get(m), "GET, HEAD");
    if (str_eq(path, "/api/v1/system/agents/config"))
        return want(r, TG_DEMO_EP_AGENT_CONFIG, m == TG_HTTP_PUT, "PUT");
    if (str_eq(path, "/api/v1/system/agents/coordination/cleanup"))
        return want(r, TG_DEMO_EP_AGENT_CLEANUP, m == TG_HTTP_POST, "POST");
    return TG_DEMO_ROUTE_NOT_FOUND;
}

enum tg_demo_route_err tg_demo_route_match(enum tg_http_method m, struct tg_str path,
                                           struct tg_demo_route *r)
{
    memset(r, 0, sizeof *r);
    if (str_eq(path, "/"))
        return want(r, TG_DEMO_EP_ROOT, is_get(m), "GET, HEAD");
    if (str_eq(path, "/health"))
        return want(r, TG_DEMO_EP_HEALTH, is_get(m), "GET, HEAD");
    struct tg_str rest;
    if (str_after(path, "/api/", &rest)) {
        enum tg_demo_route_err e = match_api(m, path, r);
        if (e == TG_DEMO_ROUTE_NOT_FOUND)
            r->ep = TG_DEMO_EP_NOT_FOUND;
        return e;
    }
    if (str_eq(path, "/echo") || str_after(path, "/echo/", &rest)) {
        r->ep = TG_DEMO_EP_ECHO;
        return TG_DEMO_ROUTE_OK;
    }
    if (str_eq(path, "/_faults"))
        return want(r, TG_DEMO_EP_FAULTS, is_get(m) || m == TG_HTTP_POST || m == TG_HTTP_DELETE,
                    "GET, HEAD, POST, DELETE");
    bool matched;
    enum tg_demo_route_err e = match_numeric(m, path, r, &matched);
    if (matched)
        return e;
    r->ep = TG_DEMO_EP_NOT_FOUND;
    return TG_DEMO_ROUTE_NOT_FOUND;
}

bool tg_demo_path_selects(const char *pattern, size_t pattern_len, struct tg_str path)
{
    if (pattern_len == 1 && pattern[0] == '*')
        return true;
    if (pattern_len == 0 || path.len < pattern_len || memcmp(path.p, pattern, pattern_len) != 0)
        return false;
    return path.len == pattern_len || pattern[pattern_len - 1] == '/' || path.p[pattern_len] == '/';
}

bool tg_demo_query_get(struct tg_str query, const char *key, struct tg_str *value)
{
    return tg_http_query_param(query, key, value);
}

long tg_demo_url_decode(char *dst, size_t cap, struct tg_str s)
{
    return tg_http_url_decode(dst, cap, s);
}
