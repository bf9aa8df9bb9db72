/* SPDX-License-Identifier: MIT */
/* The tailguard YAML schema: one table of fields per section, read by yaml_walk.c, plus
 * the checks that span keys. Upstream references (routes[].upstream, default_upstream)
 * are resolved after the whole root mapping is read, so sections may appear in any
 * order. Ranges below are deliberately wide; they exist to catch unit mistakes such as
 * "timeout: 30ms" meant as seconds, or a keepalive pool of a million. */
#include "config/schema_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_int.h"
#include "config/diag_int.h"
#include "config/schema_policy_int.h"
#include "config/units.h"

#define MS TG_US_PER_MS
#define SEC TG_US_PER_S
#define HOUR TG_US_PER_H
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
#define TG_STR_(x) #x
#define TG_STR(x) TG_STR_(x)

struct root_state {
    struct tg_config *cfg;
    yaml_node_t **route_upstream; /* per route: its `upstream:` value node, or NULL */
};

static int read_admin(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    struct tg_config_field f[] = {
        {.key = "listen", .kind = TG_CONFIG_K_ADDR, .out = &cfg->admin_listen},
        {.key = "mount_on_proxy", .kind = TG_CONFIG_K_BOOL, .out = &cfg->admin_mount_on_proxy},
        {.key = "token",
         .kind = TG_CONFIG_K_STR,
         .out = cfg->admin_token,
         .cap = sizeof cfg->admin_token},
        {.key = "token_file",
         .kind = TG_CONFIG_K_STR,
         .out = cfg->admin_token_file,
         .cap = sizeof cfg->admin_token_file},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

static int read_limits(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    uint64_t head = cfg->max_head_bytes;
    struct tg_config_field f[] = {
        {.key = "max_header_bytes",
         .kind = TG_CONFIG_K_SIZE,
         .out = &head,
         .min = 1024,
         .max = 1 << 20},
        {.key = "max_headers",
         .kind = TG_CONFIG_K_U32,
         .out = &cfg->max_headers,
         .min = 1,
         .max = TG_CFG_MAX_HEADERS_LIMIT},
        {.key = "max_body_bytes",
         .kind = TG_CONFIG_K_SIZE,
         .out = &cfg->max_body_bytes,
         .min = 0,
         .max = INT64_MAX},
        {.key = "max_connections",
         .kind = TG_CONFIG_K_U32,
         .out = &cfg->max_connections,
         .min = 1,
         .max = 10000000},
        {.key = "min_request_body_rate",
         .kind = TG_CONFIG_K_SIZE,
         .out = &cfg->min_body_rate,
         .min = 0,
         .max = 1ull << 40},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    cfg->max_head_bytes = (uint32_t)head;
    return rc;
}

int tg_config__read_timeouts(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    uint32_t default_ms = 0, critical_ms = 0, per_try_ms = 0;
    struct tg_config_field f[] = {
        {.key = "header",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->header_timeout_us,
         .min = MS,
         .max = HOUR},
        {.key = "request_body",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->body_timeout_us,
         .min = MS,
         .max = HOUR},
        {.key = "idle",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->idle_timeout_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "default",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->default_timeout_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "critical",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->critical_timeout_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "drain",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->drain_timeout_us,
         .min = 0,
         .max = HOUR},
        /* The control API's spelling (milliseconds, the runbook's PUT /timeouts). */
        {.key = "default_ms", .kind = TG_CONFIG_K_U32, .out = &default_ms, .min = 1,
         .max = 86400000},
        {.key = "critical_ms", .kind = TG_CONFIG_K_U32, .out = &critical_ms, .min = 1,
         .max = 86400000},
        /* 0 turns the per-try timeout off. */
        {.key = "per_try",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->per_try_timeout_us,
         .min = 0,
         .max = 24 * HOUR},
        {.key = "per_try_ms", .kind = TG_CONFIG_K_U32, .out = &per_try_ms, .min = 0,
         .max = 86400000},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    /* Each duration and its millisecond spelling: default, critical, per_try. */
    static const int pairs[][2] = {{3, 6}, {4, 7}, {8, 9}};
    int64_t *const outs[] = {&cfg->default_timeout_us, &cfg->critical_timeout_us,
                             &cfg->per_try_timeout_us};
    const uint32_t vals[] = {default_ms, critical_ms, per_try_ms};
    for (int i = 0; rc == 0 && i < 3; i++) {
        yaml_node_t *dur = f[pairs[i][0]].node, *ms = f[pairs[i][1]].node;
        if (ms && dur)
            rc = tg_config__walk_err(w, ms, "give either %s or %s", f[pairs[i][0]].key,
                                     f[pairs[i][1]].key);
        else if (ms)
            *outs[i] = (int64_t)vals[i] * MS;
    }
    return rc;
}

int tg_config__read_tracing(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &cfg->tracing_enabled},
        {.key = "sample_rate", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_ratio,
         .out = &cfg->trace_sample_rate},
        {.key = "buffer", .kind = TG_CONFIG_K_U32, .out = &cfg->trace_buffer, .min = 16,
         .max = 1 << 20},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

/* metrics.buckets: histogram boundaries in seconds (Prometheus' convention), ascending,
 * from 1 µs to 1 hour; or durations with units ("250ms"). */
static int read_buckets(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_MAX_BUCKETS, &items, &n);
    if (rc)
        return rc;
    if (n == 0)
        return tg_config__walk_err(w, node, "empty list (leave out buckets for the defaults)");
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = tg_config__walk_node(w, items[i]);
        size_t mark = tg_config__walk_push_index(w, i);
        const char *s;
        rc = tg_config__walk_scalar(w, item, "a duration in seconds such as 0.25", &s);
        int64_t us = -1;
        if (rc == 0) {
            char *end;
            double v = strtod(s, &end);
            if (*s && !*end)
                us = v >= 1e-6 && v <= 3600 ? (int64_t)(v * 1e6 + 0.5) : -1;
            else if (tg_units_parse_duration(s, &us, NULL) != 0 || us < 1 || us > HOUR)
                us = -1;
            if (us < 0)
                rc = tg_config__walk_err(w, item, "bad bucket \"%s\" (seconds from 0.000001 "
                                                  "to 3600, or a duration such as 250ms)", s);
            else if (i > 0 && us <= cfg->buckets_us[i - 1])
                rc = tg_config__walk_err(w, item, "buckets must be in ascending order");
        }
        if (rc == 0)
            cfg->buckets_us[i] = us;
        tg_config__walk_pop(w, mark);
    }
    if (rc == 0)
        cfg->nbuckets = (uint32_t)n;
    return rc;
}

static int read_metrics(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &cfg->metrics_enabled},
        {.key = "buckets", .kind = TG_CONFIG_K_FUNC, .fn = read_buckets, .out = cfg},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

static const char *const access_format_names[] = {"json", "combined", NULL};

static int read_access_log(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    int format = (int)cfg->access_log_format;
    struct tg_config_field f[] = {
        {.key = "path", .kind = TG_CONFIG_K_STR, .out = cfg->access_log,
         .cap = sizeof cfg->access_log, .required = true},
        {.key = "format", .kind = TG_CONFIG_K_ENUM, .out = &format, .names = access_format_names},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    cfg->access_log_format = (enum tg_access_format)format;
    return rc;
}

static int read_endpoints(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    struct tg_config_field f[] = {
        {.key = "max",
         .kind = TG_CONFIG_K_U32,
         .out = &cfg->max_endpoints,
         .min = 1,
         .max = 100000},
        {.key = "idle_timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cfg->endpoint_idle_timeout_us,
         .min = SEC,
         .max = 7 * 24 * HOUR},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

static int read_health(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_health *h = arg;
    h->enabled = true;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &h->enabled},
        {.key = "path", .kind = TG_CONFIG_K_STR, .out = h->path, .cap = sizeof h->path},
        {.key = "interval",
         .kind = TG_CONFIG_K_DURATION,
         .out = &h->interval_us,
         .min = MS,
         .max = HOUR},
        {.key = "timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &h->timeout_us,
         .min = MS,
         .max = HOUR},
        {.key = "rise", .kind = TG_CONFIG_K_U32, .out = &h->rise, .min = 1, .max = 100},
        {.key = "fall", .kind = TG_CONFIG_K_U32, .out = &h->fall, .min = 1, .max = 100},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    if (f[1].node && (h->path[0] != '/' || strpbrk(h->path, " \t\r\n#"))) {
        size_t mark = tg_config__walk_push_key(w, "path");
        rc = tg_config__walk_err(w, f[1].node, "must start with \"/\" and contain no spaces");
        tg_config__walk_pop(w, mark);
        return rc;
    }
    if (h->timeout_us > h->interval_us) {
        char t[32], i[32];
        size_t mark = tg_config__walk_push_key(w, f[3].node ? "timeout" : "interval");
        tg_units_format_duration(h->timeout_us, t, sizeof t);
        tg_units_format_duration(h->interval_us, i, sizeof i);
        rc = tg_config__walk_err(w, f[3].node ? f[3].node : f[2].node,
                                 "timeout %s is longer than interval %s", t, i);
        tg_config__walk_pop(w, mark);
    }
    return rc;
}

static int read_passive(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_passive *p = arg;
    struct tg_config_field f[] = {
        {.key = "failures", .kind = TG_CONFIG_K_U32, .out = &p->failures, .min = 0, .max = 1000},
        {.key = "count_5xx", .kind = TG_CONFIG_K_BOOL, .out = &p->count_5xx},
        {.key = "eject_time",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->eject_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "max_eject_time",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->max_eject_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "max_ejection_percent", .kind = TG_CONFIG_K_U32,
         .out = &p->max_ejection_percent, .min = 0, .max = 100},
        {.key = "latency_factor", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_factor,
         .out = &p->latency_factor},
        {.key = "latency_min_excess",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->latency_min_excess_us,
         .min = 0,
         .max = HOUR},
        {.key = "latency_min_samples", .kind = TG_CONFIG_K_U32, .out = &p->latency_min_samples,
         .min = 1, .max = 65535},
        {.key = "slow_start",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->slow_start_us,
         .min = 0,
         .max = HOUR},
        {.key = "slow_start_min_percent", .kind = TG_CONFIG_K_U32,
         .out = &p->slow_start_min_percent, .min = 1, .max = 100},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    /* A factor of 1 or less would eject every server at or above the median. */
    if (rc == 0 && p->latency_factor != 0 && p->latency_factor <= 1)
        return tg_config__walk_err(w, f[5].node, "latency_factor must be 0 (off) or above 1");
    if (rc == 0 && p->max_eject_us < p->eject_us) {
        if (f[3].node)
            return tg_config__walk_err(w, f[3].node, "max_eject_time is shorter than eject_time");
        p->max_eject_us = p->eject_us; /* a long eject_time alone is not an error */
    }
    return rc;
}

/* One entry of `servers:`: "host:port" or {address: "host:port", weight: n}. */
static int read_server(struct tg_config_walk *w, yaml_node_t *node, struct tg_cfg_server *s)
{
    yaml_node_t *at = node;
    int rc;
    s->weight = 1;
    if (node->type == YAML_MAPPING_NODE) {
        struct tg_config_field f[] = {
            {.key = "address", .kind = TG_CONFIG_K_ADDR, .out = &s->addr, .required = true},
            {.key = "weight", .kind = TG_CONFIG_K_U32, .out = &s->weight, .min = 1, .max = 1000},
        };
        rc = tg_config__walk_map(w, node, f, NFIELDS(f));
        at = f[0].node;
    } else {
        struct tg_config_field f = {.key = "", .kind = TG_CONFIG_K_ADDR, .out = &s->addr};
        rc = tg_config__walk_value(w, node, &f);
    }
    if (rc == 0 && tg_addr_port(&s->addr) == 0)
        rc = tg_config__walk_err(w, at, "%s: port 0 is not valid for a server", s->addr.text);
    return rc;
}

static int read_servers(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_upstream *u = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_MAX_SERVERS, &items, &n);
    if (rc)
        return rc;
    if (n == 0)
        return tg_config__walk_err(w, node, "empty list: an upstream needs at least one server");
    u->servers = tg_config__xcalloc(n, sizeof *u->servers);
    /* The normalised text is equal exactly when the addresses are (addr.c rebuilds it from
     * the parsed bytes). */
    struct tg_config_set seen;
    tg_config__set_init(&seen, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = tg_config__walk_node(w, items[i]);
        struct tg_cfg_server *s = &u->servers[i];
        size_t mark = tg_config__walk_push_index(w, i);
        rc = read_server(w, item, s);
        long j = rc ? -1 : tg_config__set_add(&seen, s->addr.text, (long)i);
        if (j >= 0)
            rc = tg_config__walk_err(w, item, "duplicate server %s (also servers[%ld])",
                                     s->addr.text, j);
        tg_config__walk_pop(w, mark);
        if (rc == 0)
            u->nservers++;
    }
    tg_config__set_deinit(&seen);
    return rc;
}

static int read_upstream(struct tg_config_walk *w, yaml_node_t *node, struct tg_cfg_upstream *u,
                         yaml_node_t **name_node)
{
    int lb = (int)u->lb;
    struct tg_config_field f[] = {
        {.key = "name",
         .kind = TG_CONFIG_K_NAME,
         .out = u->name,
         .cap = sizeof u->name,
         .required = true},
        {.key = "balance", .kind = TG_CONFIG_K_ENUM, .out = &lb, .names = tg_config__lb_names},
        {.key = "keepalive", .kind = TG_CONFIG_K_U32, .out = &u->keepalive, .min = 0, .max = 10000},
        {.key = "connect_timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &u->connect_timeout_us,
         .min = MS,
         .max = 10 * TG_US_PER_MIN},
        {.key = "keepalive_timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &u->keepalive_timeout_us,
         .min = MS,
         .max = HOUR},
        {.key = "servers",
         .kind = TG_CONFIG_K_FUNC,
         .fn = read_servers,
         .out = u,
         .required = true},
        {.key = "health_check", .kind = TG_CONFIG_K_FUNC, .fn = read_health, .out = &u->health},
        {.key = "passive", .kind = TG_CONFIG_K_FUNC, .fn = read_passive, .out = &u->passive},
        {.key = "circuit_breaker", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_breaker,
         .out = &u->breaker},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    u->lb = (enum tg_lb)lb;
    *name_node = f[0].node;
    return rc;
}

static int read_upstreams(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct root_state *st = arg;
    struct tg_config *cfg = st->cfg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_MAX_UPSTREAMS, &items, &n);
    if (rc)
        return rc;
    cfg->upstreams = tg_config__xcalloc(n, sizeof *cfg->upstreams);
    struct tg_config_set names;
    tg_config__set_init(&names, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = tg_config__walk_node(w, items[i]);
        struct tg_cfg_upstream *u = &cfg->upstreams[i];
        size_t mark = tg_config__walk_push_index(w, i);
        tg_config__upstream_defaults(u);
        cfg->nupstreams++; /* counted before reading, so tg_config_free sees its servers */
        yaml_node_t *name_node = NULL;
        rc = read_upstream(w, item, u, &name_node);
        long j = rc ? -1 : tg_config__set_add(&names, u->name, (long)i);
        if (j >= 0) {
            tg_config__walk_push_key(w, "name");
            rc = tg_config__walk_err(
                w, name_node, "duplicate upstream name \"%s\" (also upstreams[%ld])", u->name, j);
        }
        tg_config__walk_pop(w, mark);
    }
    tg_config__set_deinit(&names);
    return rc;
}

static int read_methods(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    unsigned *bits = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, 16, &items, &n);
    if (rc)
        return rc;
    if (n == 0)
        return tg_config__walk_err(w, node, "empty list (leave out methods to match any method)");
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = tg_config__walk_node(w, items[i]);
        size_t mark = tg_config__walk_push_index(w, i);
        const char *s;
        rc = tg_config__walk_scalar(w, item, "a method name such as GET", &s);
        unsigned bit = 0;
        for (unsigned m = 1; rc == 0 && tg_config__method_names[m]; m++) {
            if (strcmp(s, tg_config__method_names[m]) == 0)
                bit = 1u << m;
            else if (!bit && strcasecmp(s, tg_config__method_names[m]) == 0)
                rc = tg_config__walk_err(w, item, "methods are case-sensitive: use %s",
                                         tg_config__method_names[m]);
        }
        if (rc == 0 && !bit) {
            char q[TG_CONFIG_QUOTE_CAP];
            rc = tg_config__walk_err(w, item,
                                     "unknown method %s (use GET, HEAD, POST, PUT, DELETE, "
                                     "PATCH, OPTIONS, CONNECT, TRACE)",
                                     tg_config__quote(q, sizeof q, s, item->data.scalar.length));
        }
        if (rc == 0 && (*bits & bit))
            rc = tg_config__walk_err(w, item, "duplicate method %s", s);
        *bits |= bit;
        tg_config__walk_pop(w, mark);
    }
    return rc;
}

/* Checks a route path or prefix and classifies it. Returns NULL when fine, else the
 * complaint. Templates: see struct tg_cfg_route in config.h. */
static const char *check_path(const char *p, bool prefix, enum tg_route_match *match)
{
    static const char ident[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    if (p[0] != '/')
        return "must start with \"/\"";
    for (const char *c = p; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return "may not contain spaces, control or non-ASCII bytes (percent-encode them)";
        if (*c == '?' || *c == '#')
            return "may not contain \"?\" or \"#\" (routes match the path only)";
    }
    if (prefix) {
        *match = TG_MATCH_PREFIX;
        if (strchr(p, '*'))
            return "a prefix matches literally; drop the \"*\" (\"/api/\" matches everything "
                   "below /api/)";
        return NULL;
    }
    bool tmpl = false;
    const char *seg = p + 1;
    size_t nsegs = 0;
    for (;; nsegs++) {
        size_t len = strcspn(seg, "/");
        if (seg[0] == ':') {
            if (len == 1 || strspn(seg + 1, ident) != len - 1)
                return "a parameter is \":\" and a name of letters, digits or \"_\" filling the "
                       "segment, e.g. /items/:id";
            /* Parameter names must be unique: scan the earlier part of the path. */
            for (const char *q = strstr(p, "/:"); q && q + 1 < seg; q = strstr(q + 1, "/:")) {
                size_t qlen = strcspn(q + 1, "/");
                if (qlen == len && memcmp(q + 1, seg, len) == 0)
                    return "duplicate parameter name";
            }
            tmpl = true;
        } else if (memchr(seg, '*', len)) {
            if (len != 1)
                return "\"*\" must be a whole segment, e.g. /static/*";
            if (seg[1] != '\0')
                return "\"*\" must be the last segment";
            tmpl = true;
        }
        if (seg[len] == '\0')
            break;
        seg += len + 1;
    }
    if (tmpl && nsegs >= TG_CFG_MAX_PATH_SEGMENTS)
        return "a template may have at most " TG_STR(TG_CFG_MAX_PATH_SEGMENTS) " segments";
    *match = tmpl ? TG_MATCH_TEMPLATE : TG_MATCH_EXACT;
    return NULL;
}

/* Routes of the same kind whose paths are equal, where any ":name" segment of a template
 * equals any other, match the same paths; they meet under this key: the kind, then the
 * path with each parameter reduced to ":". Prefixes and exact paths are literal. `key`
 * holds TG_ROUTE_KEY_CAP bytes. */
#define TG_ROUTE_KEY_CAP (sizeof((struct tg_cfg_route *)0)->path + 1)
static void pattern_key(const struct tg_cfg_route *r, char *key)
{
    size_t o = 0;
    key[o++] = (char)('0' + (int)r->match);
    for (const char *p = r->path; *p;) {
        key[o++] = *p;
        if (r->match == TG_MATCH_TEMPLATE && p[0] == '/' && p[1] == ':') {
            key[o++] = ':';
            p += 1 + strcspn(p + 1, "/");
        } else {
            p++;
        }
    }
    key[o] = '\0';
}

/* The duplicate checks of routes[0..n), one route at a time in file order. Routes with
 * the same key are chained in order; a chain without a conflict holds routes with
 * disjoint, non-empty method sets, so it never grows past one route per method. */
struct route_index {
    struct tg_config_set names, patterns;
    char (*keys)[TG_ROUTE_KEY_CAP];
    uint32_t *next; /* the next route with the same key, UINT32_MAX at the end */
};

static void route_index_init(struct route_index *x, size_t n)
{
    tg_config__set_init(&x->names, n);
    tg_config__set_init(&x->patterns, n);
    x->keys = tg_config__xcalloc(n, sizeof *x->keys);
    x->next = tg_config__xcalloc(n, sizeof *x->next);
}

static void route_index_deinit(struct route_index *x)
{
    tg_config__set_deinit(&x->names);
    tg_config__set_deinit(&x->patterns);
    free(x->keys);
    free(x->next);
}

/* Adds routes[i]; returns the earliest earlier route that has its name (`*same_name`) or
 * matches the same requests, or -1. */
static long route_index_add(struct route_index *x, const struct tg_cfg_route *routes, uint32_t i,
                            bool *same_name)
{
    const struct tg_cfg_route *r = &routes[i];
    long by_name = tg_config__set_add(&x->names, r->name, i);
    pattern_key(r, x->keys[i]);
    x->next[i] = UINT32_MAX;
    long k = tg_config__set_add(&x->patterns, x->keys[i], i), clash = -1;
    for (; k >= 0; k = x->next[k] == UINT32_MAX ? -1 : (long)x->next[k]) {
        const struct tg_cfg_route *o = &routes[k];
        if (!o->methods || !r->methods || (o->methods & r->methods)) {
            clash = k;
            break;
        }
        if (x->next[k] == UINT32_MAX) {
            x->next[k] = i;
            break;
        }
    }
    *same_name = by_name >= 0 && (clash < 0 || by_name <= clash);
    return *same_name ? by_name : clash;
}

struct route_ctx {
    struct tg_cfg_route *r;
    yaml_node_t **upstream; /* out: the `upstream:` value node */
    yaml_node_t *name;      /* out: the `name:` value node */
    yaml_node_t *path;      /* out: the `path:` or `prefix:` value node */
};

static int read_route(struct tg_config_walk *w, yaml_node_t *node, struct route_ctx *rc_)
{
    struct tg_cfg_route *r = rc_->r;
    char path[sizeof r->path] = "", prefix[sizeof r->path] = "", upstream[64];
    int cls = (int)r->cls, tier = (int)r->tier;
    struct tg_config_field f[] = {
        {.key = "name",
         .kind = TG_CONFIG_K_NAME,
         .out = r->name,
         .cap = sizeof r->name,
         .required = true},
        {.key = "methods", .kind = TG_CONFIG_K_FUNC, .fn = read_methods, .out = &r->methods},
        {.key = "path", .kind = TG_CONFIG_K_STR, .out = path, .cap = sizeof path},
        {.key = "prefix", .kind = TG_CONFIG_K_STR, .out = prefix, .cap = sizeof prefix},
        {.key = "upstream", .kind = TG_CONFIG_K_NAME, .out = upstream, .cap = sizeof upstream},
        {.key = "class", .kind = TG_CONFIG_K_ENUM, .out = &cls, .names = tg_config__class_names},
        {.key = "feature", .kind = TG_CONFIG_K_NAME, .out = r->feature, .cap = sizeof r->feature},
        {.key = "timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &r->timeout_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "tier", .kind = TG_CONFIG_K_ENUM, .out = &tier, .names = tg_config__tier_names},
        {.key = "circuit_breaker", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_breaker,
         .out = &r->breaker},
        {.key = "per_try_timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &r->per_try_timeout_us,
         .min = MS,
         .max = 24 * HOUR},
        {.key = "retry_non_idempotent",
         .kind = TG_CONFIG_K_BOOL,
         .out = &r->retry_non_idempotent},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    r->cls = (enum tg_route_class)cls;
    r->tier = (enum tg_tier)tier;
    r->own_breaker = f[9].node != NULL;
    *rc_->upstream = f[4].node;
    rc_->name = f[0].node;
    rc_->path = f[2].node ? f[2].node : f[3].node;
    if (f[2].node && f[3].node) {
        size_t mark = tg_config__walk_push_key(w, "prefix");
        rc = tg_config__walk_err(w, f[3].node, "use either path or prefix, not both");
        tg_config__walk_pop(w, mark);
        return rc;
    }
    if (!f[2].node && !f[3].node)
        return tg_config__walk_err(w, node, "missing \"path\" (exact or template) or \"prefix\"");
    bool is_prefix = f[3].node != NULL;
    const char *why = check_path(is_prefix ? prefix : path, is_prefix, &r->match);
    if (why) {
        char q[TG_CONFIG_QUOTE_CAP];
        const char *p = is_prefix ? prefix : path;
        size_t mark = tg_config__walk_push_key(w, is_prefix ? "prefix" : "path");
        rc = tg_config__walk_err(w, is_prefix ? f[3].node : f[2].node, "%s: %s",
                                 tg_config__quote(q, sizeof q, p, strlen(p)), why);
        tg_config__walk_pop(w, mark);
        return rc;
    }
    memcpy(r->path, is_prefix ? prefix : path, sizeof r->path);
    return 0;
}

static int read_routes(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct root_state *st = arg;
    struct tg_config *cfg = st->cfg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_MAX_ROUTES, &items, &n);
    if (rc)
        return rc;
    cfg->routes = tg_config__xcalloc(n, sizeof *cfg->routes);
    st->route_upstream = tg_config__xcalloc(n, sizeof *st->route_upstream);
    struct route_index x;
    route_index_init(&x, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = tg_config__walk_node(w, items[i]);
        struct tg_cfg_route *r = &cfg->routes[i];
        struct route_ctx ctx = {.r = r, .upstream = &st->route_upstream[i]};
        size_t mark = tg_config__walk_push_index(w, i);
        tg_config__route_defaults(r);
        rc = read_route(w, item, &ctx);
        bool same_name = false;
        long j = rc ? -1 : route_index_add(&x, cfg->routes, (uint32_t)i, &same_name);
        if (j >= 0 && same_name) {
            tg_config__walk_push_key(w, "name");
            rc = tg_config__walk_err(w, ctx.name, "duplicate route name \"%s\" (also routes[%ld])",
                                     r->name, j);
        } else if (j >= 0) {
            rc = tg_config__walk_err(w, ctx.path,
                                     "matches the same requests as routes[%ld] (\"%s\")", j,
                                     cfg->routes[j].name);
        }
        tg_config__walk_pop(w, mark);
        if (rc == 0)
            cfg->nroutes++;
    }
    route_index_deinit(&x);
    return rc;
}

/* Looks up the upstream named by `node` (already checked to be a name) into `*index`. */
static int resolve(struct tg_config_walk *w, const struct tg_config *cfg, yaml_node_t *node,
                   uint32_t *index)
{
    const char *name = (const char *)node->data.scalar.value;
    int i = tg_config_upstream_index(cfg, name);
    if (i >= 0) {
        *index = (uint32_t)i;
        return 0;
    }
    if (cfg->nupstreams == 0)
        return tg_config__walk_err(w, node,
                                   "unknown upstream \"%s\" (no upstreams are defined "
                                   "in this file)",
                                   name);
    const char *names[32];
    char list[160] = "";
    size_t n = cfg->nupstreams < 32 ? cfg->nupstreams : 32;
    for (size_t k = 0; k < n; k++)
        names[k] = cfg->upstreams[k].name;
    const char *near = tg_config__suggest(name, names, n);
    if (near)
        return tg_config__walk_err(w, node, "unknown upstream \"%s\" (did you mean \"%s\"?)", name,
                                   near);
    for (size_t k = 0, o = 0; k < n && o < sizeof list; k++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", names[k]);
    return tg_config__walk_err(w, node, "unknown upstream \"%s\" (defined: %s)", name, list);
}

static int read_store(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    struct tg_config_field f[] = {
        {.key = "path", .kind = TG_CONFIG_K_STR, .out = cfg->store_path,
         .cap = sizeof cfg->store_path},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc == 0 && f[0].node && !cfg->store_path[0])
        return tg_config__walk_err(w, f[0].node, "empty path (use \":memory:\" for none)");
    return rc;
}

/* Scrapes under 100 ms would be most of the control thread's time; retention under a
 * scrape makes no series. */
static int read_tsdb(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_tsdb *t = arg;
    struct tg_config_field f[] = {
        {.key = "scrape_interval", .kind = TG_CONFIG_K_DURATION, .out = &t->scrape_interval_us,
         .min = 100 * MS, .max = HOUR},
        {.key = "retention", .kind = TG_CONFIG_K_DURATION, .out = &t->retention_us,
         .min = TG_US_PER_MIN, .max = 366 * 24 * HOUR},
        {.key = "max_bytes", .kind = TG_CONFIG_K_SIZE, .out = &t->max_bytes, .min = 0,
         .max = 1ull << 40},
        {.key = "save_interval", .kind = TG_CONFIG_K_DURATION, .out = &t->save_interval_us,
         .min = SEC, .max = 24 * HOUR},
        {.key = "path", .kind = TG_CONFIG_K_STR, .out = t->path, .cap = sizeof t->path},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

int tg_config__schema_read(struct tg_config_walk *w, yaml_node_t *root, struct tg_config *cfg)
{
    struct root_state st = {.cfg = cfg};
    char default_name[64];
    struct tg_config_field f[] = {
        {.key = "listen", .kind = TG_CONFIG_K_ADDR, .out = &cfg->listen},
        {.key = "workers",
         .kind = TG_CONFIG_K_U32,
         .out = &cfg->workers,
         .min = 0,
         .max = TG_CFG_MAX_WORKERS},
        {.key = "admin", .kind = TG_CONFIG_K_FUNC, .fn = read_admin, .out = cfg},
        {.key = "limits", .kind = TG_CONFIG_K_FUNC, .fn = read_limits, .out = cfg},
        {.key = "timeouts", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_timeouts, .out = cfg},
        {.key = "endpoints", .kind = TG_CONFIG_K_FUNC, .fn = read_endpoints, .out = cfg},
        {.key = "upstreams", .kind = TG_CONFIG_K_FUNC, .fn = read_upstreams, .out = &st},
        {.key = "default_upstream",
         .kind = TG_CONFIG_K_NAME,
         .out = default_name,
         .cap = sizeof default_name},
        {.key = "routes", .kind = TG_CONFIG_K_FUNC, .fn = read_routes, .out = &st},
        {.key = "tracing", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_tracing, .out = cfg},
        {.key = "access_log", .kind = TG_CONFIG_K_FUNC, .fn = read_access_log, .out = cfg},
        {.key = "metrics", .kind = TG_CONFIG_K_FUNC, .fn = read_metrics, .out = cfg},
        {.key = "circuit_breaker", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_breaker,
         .out = &cfg->breaker},
        {.key = "rate_limit", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_ratelimit,
         .out = &cfg->ratelimit},
        {.key = "features", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_features,
         .out = &cfg->features},
        {.key = "fallback", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_fallback,
         .out = &cfg->fallback},
        {.key = "cache", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_cache,
         .out = &cfg->cache},
        {.key = "retries", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_retries,
         .out = &cfg->retries},
        {.key = "concurrency", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_concurrency,
         .out = &cfg->concurrency},
        {.key = "store", .kind = TG_CONFIG_K_FUNC, .fn = read_store, .out = cfg},
        {.key = "tsdb", .kind = TG_CONFIG_K_FUNC, .fn = read_tsdb, .out = &cfg->tsdb},
        {.key = "rules", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_rules, .out = &cfg->rules},
        {.key = "alerting", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_alerting,
         .out = &cfg->alerting},
        {.key = "playbooks", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_playbooks,
         .out = &cfg->playbooks},
        {.key = "diagnosis", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_diagnosis,
         .out = &cfg->diagnosis},
        {.key = "autoscale", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_autoscale,
         .out = &cfg->autoscale},
        {.key = "incidents", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_incidents,
         .out = &cfg->incidents},
        /* Last: tg_config__collectors_finish below takes the last field's node. */
        {.key = "collectors", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_collectors,
         .out = &cfg->collectors},
    };
    int rc = tg_config__walk_map(w, root, f, NFIELDS(f));
    if (rc == 0)
        rc = tg_config__collectors_finish(w, f[NFIELDS(f) - 1].node, cfg);
    if (rc == 0 && f[7].node) {
        size_t mark = tg_config__walk_push_key(w, "default_upstream");
        rc = resolve(w, cfg, f[7].node, &cfg->default_upstream);
        tg_config__walk_pop(w, mark);
    }
    for (uint32_t i = 0; rc == 0 && i < cfg->nroutes; i++) {
        if (!st.route_upstream[i])
            continue;
        size_t mark = tg_config__walk_push_key(w, "routes");
        tg_config__walk_push_index(w, i);
        tg_config__walk_push_key(w, "upstream");
        rc = resolve(w, cfg, st.route_upstream[i], &cfg->routes[i].upstream);
        tg_config__walk_pop(w, mark);
    }
    free(st.route_upstream);
    return rc;
}
