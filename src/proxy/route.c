/* SPDX-License-Identifier: MIT */
/* Route table compilation and matching, endpoint templating; see route.h. */
#include "proxy/route.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 32
_Static_assert(TG_CFG_MAX_PATH_SEGMENTS <= MAX_SEGS, "config allows more template segments than the matcher holds");

enum seg_kind { SEG_LIT = 0, SEG_PARAM, SEG_REST };

struct seg {
    enum seg_kind kind;
    const char *p;
    uint32_t len;
};

struct compiled {
    unsigned methods;
    enum tg_route_match match;
    const char *path;
    uint32_t path_len;
    uint32_t nsegs;
    struct seg segs[MAX_SEGS];
};

struct tg_route_table {
    uint32_t n;
    struct compiled r[];
};

static void split_template(struct compiled *c)
{
    const char *p = c->path, *end = c->path + c->path_len;
    c->nsegs = 0;
    while (p < end && c->nsegs < MAX_SEGS) {
        if (*p == '/')
            p++;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        struct seg *g = &c->segs[c->nsegs++];
        g->p = s;
        g->len = (uint32_t)(p - s);
        if (g->len && s[0] == ':')
            g->kind = SEG_PARAM;
        else if (g->len == 1 && s[0] == '*')
            g->kind = SEG_REST;
        else
            g->kind = SEG_LIT;
    }
    /* "/a/:id/" is the same route as "/a/:id": match_template accepts one trailing slash
     * on the path, so a final empty segment would only make the slash mandatory. */
    if (c->nsegs > 1 && c->segs[c->nsegs - 1].len == 0)
        c->nsegs--;
}

int tg_route_table_new(const struct tg_config *cfg, struct tg_route_table **out)
{
    struct tg_route_table *t = calloc(1, sizeof *t + cfg->nroutes * sizeof(struct compiled));
    if (!t)
        return -ENOMEM;
    t->n = cfg->nroutes;
    for (uint32_t i = 0; i < cfg->nroutes; i++) {
        const struct tg_cfg_route *r = &cfg->routes[i];
        struct compiled *c = &t->r[i];
        c->methods = r->methods;
        c->match = r->match;
        c->path = r->path;
        c->path_len = (uint32_t)strlen(r->path);
        if (c->match == TG_MATCH_TEMPLATE)
            split_template(c);
    }
    *out = t;
    return 0;
}

void tg_route_table_free(struct tg_route_table *t)
{
    free(t);
}

static bool match_template(const struct compiled *c, struct tg_str path)
{
    const char *p = path.p, *end = path.p + path.len;
    for (uint32_t i = 0; i < c->nsegs; i++) {
        const struct seg *g = &c->segs[i];
        if (g->kind == SEG_REST)
            return true;
        if (p >= end || *p != '/')
            return false;
        p++;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        uint32_t len = (uint32_t)(p - s);
        if (g->kind == SEG_PARAM) {
            if (len == 0)
                return false;
        } else if (len != g->len || memcmp(s, g->p, len) != 0) {
            return false;
        }
    }
    /* A trailing slash is the same resource for template routes. */
    return p == end || (p + 1 == end && *p == '/');
}

int tg_route_match(const struct tg_route_table *t, enum tg_http_method m, struct tg_str path)
{
    unsigned bit = 1u << (unsigned)m;
    /* HEAD is GET without the body (RFC 9110 §9.3.2): a GET route answers it too. */
    if (m == TG_HTTP_HEAD)
        bit |= 1u << TG_HTTP_GET;
    for (uint32_t i = 0; i < t->n; i++) {
        const struct compiled *c = &t->r[i];
        if (c->methods && !(c->methods & bit))
            continue;
        switch (c->match) {
        case TG_MATCH_EXACT:
            if (path.len == c->path_len && memcmp(path.p, c->path, path.len) == 0)
                return (int)i;
            break;
        case TG_MATCH_PREFIX:
            if (path.len >= c->path_len && memcmp(path.p, c->path, c->path_len) == 0)
                return (int)i;
            break;
        case TG_MATCH_TEMPLATE:
            if (match_template(c, path))
                return (int)i;
            break;
        }
    }
    return -1;
}

static bool all_digits(const char *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

static bool is_uuid(const char *s, uint32_t n)
{
    if (n != 36)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool is_long_hex(const char *s, uint32_t n)
{
    if (n < 16)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

size_t tg_route_template(struct tg_str path, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = path.p, *end = path.p + path.len;
    unsigned segs = 0;
    if (cap == 0)
        return 0;
#define PUT(src, n)                                                                         \
    do {                                                                                    \
        size_t n_ = (n);                                                                    \
        if (o + n_ >= cap)                                                                  \
            n_ = cap - 1 - o;                                                               \
        memcpy(out + o, (src), n_);                                                         \
        o += n_;                                                                            \
    } while (0)
    /* The loop writes the '/' before each segment, also for a path without a leading
     * one ("*", a CONNECT authority); only the empty path needs it here. */
    if (p == end)
        PUT("/", 1);
    while (p < end) {
        if (*p == '/')
            p++;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        uint32_t len = (uint32_t)(p - s);
        if (len == 0 && p >= end) {
            if (o == 0)
                PUT("/", 1);
            break;
        }
        if (++segs > 8) {
            PUT("/*", 2);
            break;
        }
        PUT("/", 1);
        if (all_digits(s, len) || is_uuid(s, len) || is_long_hex(s, len))
            PUT(":id", 3);
        else
            PUT(s, len);
    }
#undef PUT
    out[o] = '\0';
    return o;
}
