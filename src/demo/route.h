/* SPDX-License-Identifier: MIT */
/* Request routing of the demo API: maps a method and a path to an endpoint and its
 * numeric or string argument. Pure (no I/O, no allocation), so unit tests cover every
 * path shape; the connection code calls it once per request. Also the path-prefix rule
 * that fault injection uses to select endpoints. */
#ifndef TG_DEMO_ROUTE_H
#define TG_DEMO_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http1.h"

enum tg_demo_ep {
    TG_DEMO_EP_NOT_FOUND = 0,
    TG_DEMO_EP_ROOT,      /* GET /                     "ok", for benchmarks */
    TG_DEMO_EP_HEALTH,    /* GET /health */
    TG_DEMO_EP_PRODUCTS,  /* GET /api/products */
    TG_DEMO_EP_PRODUCT,   /* GET /api/products/:id      arg = id */
    TG_DEMO_EP_ANALYTICS, /* GET /api/analytics/:report name = report */
    TG_DEMO_EP_GENERATE,  /* POST /api/content/generate */
    TG_DEMO_EP_AGENTS,    /* GET /api/v1/agents */
    TG_DEMO_EP_ECHO,      /* any /echo (and /echo/...) */
    TG_DEMO_EP_BYTES,     /* GET /bytes/:n               arg = n */
    TG_DEMO_EP_STATUS,    /* any /status/:code           arg = code */
    TG_DEMO_EP_SLEEP,     /* any /sleep/:ms              arg = ms */
    TG_DEMO_EP_FAULTS,    /* GET, POST, DELETE /_faults */
    /* The runbooks' app-specific agent paths (agents.h): */
    TG_DEMO_EP_AGENT_POOL,    /* GET /api/v1/monitoring/agents/pool */
    TG_DEMO_EP_AGENT_CONFIG,  /* PUT /api/v1/system/agents/config */
    TG_DEMO_EP_AGENT_CLEANUP, /* POST /api/v1/system/agents/coordination/cleanup */
};

/* Route errors, answered by the caller before any endpoint logic runs. */
enum tg_demo_route_err {
    TG_DEMO_ROUTE_OK = 0,
    TG_DEMO_ROUTE_NOT_FOUND,  /* 404 */
    TG_DEMO_ROUTE_BAD_METHOD, /* 405, `allow` names the methods */
    TG_DEMO_ROUTE_BAD_ARG,    /* 400: a numeric argument out of range or not a number */
};

#define TG_DEMO_MAX_BYTES (64ull << 30) /* /bytes/:n upper bound, 64 GiB */
#define TG_DEMO_MAX_SLEEP_MS 600000     /* /sleep/:ms upper bound, 10 minutes */
#define TG_DEMO_MAX_PRODUCT_ID 1000     /* /api/products/:id above this is 404 */

struct tg_demo_route {
    enum tg_demo_ep ep;
    uint64_t arg;       /* numeric argument, see enum tg_demo_ep */
    struct tg_str name; /* string argument (slice of the path) */
    const char *allow;  /* for TG_DEMO_ROUTE_BAD_METHOD: value of the Allow header */
};

/* Matches `path` (no query). HEAD is accepted wherever GET is. Returns a route error;
 * `r` is filled in every case (ep = TG_DEMO_EP_NOT_FOUND when nothing matched). */
enum tg_demo_route_err tg_demo_route_match(enum tg_http_method method, struct tg_str path,
                                           struct tg_demo_route *r);

/* Fault-injection selector: true if `pattern` is "*" or a prefix of `path` ending at a
 * segment boundary ("/api/products" selects "/api/products" and "/api/products/7", not
 * "/api/productsx"; a pattern ending in '/' selects everything below it). */
bool tg_demo_path_selects(const char *pattern, size_t pattern_len, struct tg_str path);

/* Finds `key` in a query string ("a=1&b=2") and returns its value slice; false if
 * absent. A key without '=' has an empty value. */
bool tg_demo_query_get(struct tg_str query, const char *key, struct tg_str *value);

/* Percent-decodes `s` into dst[0..cap) ('+' becomes a space, as in form encoding).
 * Returns the decoded length, or -1 if a %-escape is malformed or it does not fit. */
long tg_demo_url_decode(char *dst, size_t cap, struct tg_str s);

/* Parses a decimal slice into `*out` (no sign, no spaces, at most 19 digits). */
bool tg_demo_parse_u64(struct tg_str s, uint64_t *out);

#endif
