/* SPDX-License-Identifier: MIT */
/* Snapshot lifecycle: defaults, the --upstream flag, whole-config validation, deep copy
 * and free. The YAML side lives in yaml_load.c and schema.c; this file holds what is
 * true of a config however it was built. */
#include "config/config.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/schema_int.h"
#include "config/schema_policy_int.h"
#include "config/diag_int.h"
#include "config/units.h"

const char *const tg_config__lb_names[] = {"round_robin", "least_conn", "p2c_ewma", NULL};
const char *const tg_config__class_names[] = {"default", "critical", NULL};
const char *const tg_config__tier_names[] = {"critical", "standard", "sheddable", NULL};
const char *const tg_config__jitter_names[] = {"full", "decorrelated", "none", NULL};
const char *const tg_config__method_names[] = {
    "OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", NULL};
static const char *const match_names[] = {"prefix", "template", "exact"};

void *tg_config__xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "tailguard: out of memory building the configuration\n");
        abort();
    }
    return p;
}

void *tg_config__xreallocarray(void *p, size_t n, size_t size)
{
    void *q = reallocarray(p, n ? n : 1, size ? size : 1);
    if (!q) {
        fprintf(stderr, "tailguard: out of memory building the configuration\n");
        abort();
    }
    return q;
}

void tg_config__set_init(struct tg_config_set *s, size_t n)
{
    memset(s, 0, sizeof *s);
    /* Twice the entries: hsearch_r probes by double hashing, slow near a full table. */
    if (!hcreate_r(2 * n + 1, &s->h)) {
        fprintf(stderr, "tailguard: out of memory building the configuration\n");
        abort();
    }
}

void tg_config__set_deinit(struct tg_config_set *s)
{
    hdestroy_r(&s->h);
}

long tg_config__set_add(struct tg_config_set *s, const char *key, long i)
{
    ENTRY e = {.key = (char *)key, .data = (void *)(intptr_t)i}, *found;
    if (!hsearch_r(e, ENTER, &found, &s->h))
        abort(); /* more keys than the set was sized for: a bug */
    return found->data == e.data ? -1 : (long)(intptr_t)found->data;
}

void tg_config__upstream_defaults(struct tg_cfg_upstream *u)
{
    memset(u, 0, sizeof *u);
    u->lb = TG_LB_ROUND_ROBIN;
    u->keepalive = 256;
    u->connect_timeout_us = 2 * TG_US_PER_S;
    u->keepalive_timeout_us = 60 * TG_US_PER_S;
    u->health.enabled = false;
    strcpy(u->health.path, "/health");
    u->health.interval_us = 5 * TG_US_PER_S;
    u->health.timeout_us = 1 * TG_US_PER_S;
    u->health.rise = 2;
    u->health.fall = 3;
    u->passive = (struct tg_cfg_passive){
        .failures = 5,
        .eject_us = 30 * TG_US_PER_S,
        .max_eject_us = 300 * TG_US_PER_S,
        .max_ejection_percent = 50,
        .latency_factor = 3,
        .latency_min_excess_us = 5 * TG_US_PER_MS,
        .latency_min_samples = 20,
        .slow_start_us = 30 * TG_US_PER_S,
        .slow_start_min_percent = 10,
    };
}

void tg_config__route_defaults(struct tg_cfg_route *r)
{
    memset(r, 0, sizeof *r);
    r->upstream = TG_CFG_UPSTREAM_DEFAULT;
    r->cls = TG_CLASS_DEFAULT;
    r->match = TG_MATCH_EXACT;
    r->tier = TG_TIER_STANDARD;
}

bool tg_config__name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

struct tg_config *tg_config_new_default(void)
{
    struct tg_config *cfg = tg_config__xcalloc(1, sizeof *cfg);
    /* These literals are known-good; a failure here is a bug, not user input. */
    if (tg_addr_parse("0.0.0.0:8000", &cfg->listen, NULL) != 0 ||
        tg_addr_parse("127.0.0.1:9090", &cfg->admin_listen, NULL) != 0)
        abort();
    cfg->workers = 0;
    cfg->max_head_bytes = 16384;
    cfg->max_headers = 100;
    cfg->max_body_bytes = 0;
    cfg->max_connections = 20000;
    cfg->header_timeout_us = 10 * TG_US_PER_S;
    cfg->body_timeout_us = 10 * TG_US_PER_S;
    cfg->min_body_rate = 1024;
    cfg->idle_timeout_us = 60 * TG_US_PER_S;
    cfg->default_timeout_us = 30 * TG_US_PER_S;
    cfg->critical_timeout_us = 60 * TG_US_PER_S;
    cfg->drain_timeout_us = 30 * TG_US_PER_S;
    cfg->default_upstream = 0;
    cfg->max_endpoints = 1000;
    cfg->endpoint_idle_timeout_us = 30 * 60 * TG_US_PER_S;
    cfg->metrics_enabled = true;
    cfg->tracing_enabled = true;
    cfg->trace_sample_rate = 0.01;
    cfg->trace_buffer = 2048;
    tg_config__policy_defaults(cfg);
    tg_config__rules_defaults(cfg);
    tg_config__collectors_defaults(cfg);
    tg_config__diagnosis_defaults(cfg);
    tg_config__playbooks_defaults(cfg);
    tg_config__autoscale_defaults(cfg);
    tg_config__incidents_defaults(cfg);
    return cfg;
}

void tg_config_free(struct tg_config *cfg)
{
    if (!cfg)
        return;
    for (uint32_t i = 0; i < cfg->nupstreams; i++)
        free(cfg->upstreams[i].servers);
    free(cfg->upstreams);
    free(cfg->routes);
    free(cfg->file_keys);
    free(cfg);
}

struct tg_config *tg_config_clone(const struct tg_config *cfg)
{
    struct tg_config *c = tg_config__xcalloc(1, sizeof *c);
    *c = *cfg;
    c->upstreams = NULL;
    c->routes = NULL;
    if (cfg->nupstreams) {
        c->upstreams = tg_config__xcalloc(cfg->nupstreams, sizeof *c->upstreams);
        for (uint32_t i = 0; i < cfg->nupstreams; i++) {
            const struct tg_cfg_upstream *u = &cfg->upstreams[i];
            c->upstreams[i] = *u;
            c->upstreams[i].servers = tg_config__xcalloc(u->nservers, sizeof *u->servers);
            if (u->nservers)
                memcpy(c->upstreams[i].servers, u->servers, u->nservers * sizeof *u->servers);
        }
    }
    if (cfg->nroutes) {
        c->routes = tg_config__xcalloc(cfg->nroutes, sizeof *c->routes);
        memcpy(c->routes, cfg->routes, cfg->nroutes * sizeof *c->routes);
    }
    if (cfg->file_keys) {
        size_t n = strlen(cfg->file_keys) + 1;
        c->file_keys = tg_config__xcalloc(n, 1);
        memcpy(c->file_keys, cfg->file_keys, n);
    }
    return c;
}

int tg_config_upstream_index(const struct tg_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        if (strcmp(cfg->upstreams[i].name, name) == 0)
            return (int)i;
    }
    return TG_ENOTFOUND;
}

int tg_config_add_upstream_server(struct tg_config *cfg, const char *hostport, struct tg_errbuf *eb)
{
    struct tg_addr a;
    if (tg_addr_parse(hostport, &a, eb) != 0) {
        char msg[TG_ERRBUF_MSG];
        snprintf(msg, sizeof msg, "%s", eb ? eb->msg : "");
        return tg_config__errf(eb, TG_ECONFIG, NULL, 0, 0, "--upstream: %s", msg);
    }
    if (tg_addr_port(&a) == 0)
        return tg_config__errf(eb, TG_ECONFIG, NULL, 0, 0,
                               "--upstream: %s: port 0 is not valid for a server", a.text);
    if (cfg->nupstreams == 0) {
        cfg->upstreams = tg_config__xcalloc(1, sizeof *cfg->upstreams);
        tg_config__upstream_defaults(&cfg->upstreams[0]);
        strcpy(cfg->upstreams[0].name, "default");
        cfg->nupstreams = 1;
        cfg->default_upstream = 0;
    }
    if (cfg->default_upstream >= cfg->nupstreams)
        return tg_config__errf(eb, TG_ECONFIG, NULL, 0, 0,
                               "--upstream: default_upstream index %u is out of range",
                               cfg->default_upstream);
    struct tg_cfg_upstream *u = &cfg->upstreams[cfg->default_upstream];
    for (uint32_t i = 0; i < u->nservers; i++) {
        if (tg_addr_equal(&u->servers[i].addr, &a))
            return tg_config__errf(eb, TG_ECONFIG, NULL, 0, 0,
                                   "--upstream: %s is already a server of upstream \"%s\"", a.text,
                                   u->name);
    }
    if (u->nservers >= TG_CFG_MAX_SERVERS)
        return tg_config__errf(eb, TG_ECONFIG, NULL, 0, 0,
                               "--upstream: upstream \"%s\" already has %u servers (the most)",
                               u->name, u->nservers);
    u->servers = tg_config__xreallocarray(u->servers, u->nservers + 1, sizeof *u->servers);
    u->servers[u->nservers].addr = a;
    u->servers[u->nservers].weight = 1;
    u->nservers++;
    return 0;
}

static bool is_wildcard(const struct tg_addr *a);

/* admin.mount_on_proxy: the proxy listener answers the monitoring and health API paths
 * too (the runbooks curl them on the application's port), and sends the control API's
 * paths to the admin listener, which has no control API to answer them with yet. The gateway does it
 * the way it does everything, by proxying: an internal upstream named tailguard-admin
 * pointing at the admin listener, and three routes placed before the user's, so the
 * admin handlers keep running on the control thread and nothing else changes. */
static int mount_admin(struct tg_config *cfg, struct tg_errbuf *eb)
{
    /* The runbooks' app-specific paths (the agent pool lives in the application) stay
     * with the default upstream: they come first. */
    static const struct {
        const char *name;
        enum tg_route_match match;
        const char *path;
        bool app;
    } paths[] = {
        {"app-monitoring-agents", TG_MATCH_PREFIX, "/api/v1/monitoring/agents/", true},
        {"app-system-agents", TG_MATCH_PREFIX, "/api/v1/system/agents/", true},
        {"tailguard-admin-monitoring", TG_MATCH_PREFIX, "/api/v1/monitoring/", false},
        {"tailguard-admin-system", TG_MATCH_PREFIX, "/api/v1/system/", false},
        {"tailguard-admin-health", TG_MATCH_EXACT, "/api/v1/health", false},
    };
    const size_t n = sizeof paths / sizeof paths[0];
    if (tg_addr_port(&cfg->admin_listen) == 0)
        return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                               "admin.mount_on_proxy: admin.listen needs a fixed port");
    if (tg_config_upstream_index(cfg, "tailguard-admin") >= 0)
        return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                               "upstreams: the name \"tailguard-admin\" is reserved for "
                               "admin.mount_on_proxy");
    struct tg_addr a = cfg->admin_listen;
    if (is_wildcard(&a)) {
        /* Reach a wildcard admin listener through loopback on the same port. */
        char text[32];
        snprintf(text, sizeof text, "127.0.0.1:%u", (unsigned)tg_addr_port(&a));
        if (tg_addr_parse(text, &a, eb) != 0)
            return TG_ECONFIG;
    }
    cfg->upstreams = tg_config__xreallocarray(cfg->upstreams, cfg->nupstreams + 1,
                                              sizeof *cfg->upstreams);
    uint32_t ui = cfg->nupstreams++;
    struct tg_cfg_upstream *u = &cfg->upstreams[ui];
    memset(u, 0, sizeof *u);
    tg_config__upstream_defaults(u);
    snprintf(u->name, sizeof u->name, "tailguard-admin");
    u->passive.failures = 0; /* never eject our own admin listener */
    u->passive.latency_factor = 0;
    u->servers = tg_config__xreallocarray(NULL, 1, sizeof *u->servers);
    u->servers[0].addr = a;
    u->servers[0].weight = 1;
    u->nservers = 1;
    cfg->routes = tg_config__xreallocarray(cfg->routes, cfg->nroutes + n, sizeof *cfg->routes);
    memmove(cfg->routes + n, cfg->routes, cfg->nroutes * sizeof *cfg->routes);
    for (size_t i = 0; i < n; i++) {
        struct tg_cfg_route *r = &cfg->routes[i];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", paths[i].name);
        snprintf(r->path, sizeof r->path, "%s", paths[i].path);
        r->match = paths[i].match;
        r->upstream = paths[i].app ? cfg->default_upstream : ui;
        r->app_path = paths[i].app;
    }
    cfg->nroutes += (uint32_t)n;
    cfg->mounted_routes = (uint32_t)n;
    return 0;
}

static bool is_wildcard(const struct tg_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return false;
}

/* Two listeners collide when they share a non-zero port and either the address or a
 * wildcard; with Linux's default bindv6only=0, [::] also takes the IPv4 port. */
static bool listeners_collide(const struct tg_addr *a, const struct tg_addr *b)
{
    uint16_t port = tg_addr_port(a);
    if (port == 0 || port != tg_addr_port(b))
        return false;
    return tg_addr_equal(a, b) || is_wildcard(a) || is_wildcard(b);
}

/* Names, servers and uniqueness of the upstreams. */
static int check_upstreams(const struct tg_config *cfg, struct tg_errbuf *eb)
{
    const char *file = cfg->file;
    struct tg_config_set names;
    int rc = 0;
    tg_config__set_init(&names, cfg->nupstreams);
    for (uint32_t i = 0; i < cfg->nupstreams && rc == 0; i++) {
        const struct tg_cfg_upstream *u = &cfg->upstreams[i];
        long j;
        if (!tg_config__name_ok(u->name))
            rc = tg_config__errf(eb, TG_ECONFIG, file, 0, 0, "upstreams[%u].name: bad name \"%s\"",
                                 i, u->name);
        else if (u->nservers == 0)
            rc = tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                                 "upstreams[%u].servers: upstream \"%s\" has no servers", i,
                                 u->name);
        else if ((j = tg_config__set_add(&names, u->name, i)) >= 0)
            rc = tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                                 "upstreams[%u].name: duplicate upstream name \"%s\" "
                                 "(also upstreams[%ld])",
                                 i, u->name, j);
    }
    tg_config__set_deinit(&names);
    return rc;
}

/* Names and uniqueness of the routes; resolves their default upstream. */
static int check_routes(struct tg_config *cfg, struct tg_errbuf *eb)
{
    const char *file = cfg->file;
    struct tg_config_set names;
    int rc = 0;
    tg_config__set_init(&names, cfg->nroutes);
    for (uint32_t i = 0; i < cfg->nroutes && rc == 0; i++) {
        struct tg_cfg_route *r = &cfg->routes[i];
        long j;
        if (r->upstream == TG_CFG_UPSTREAM_DEFAULT)
            r->upstream = cfg->default_upstream;
        if (!tg_config__name_ok(r->name))
            rc = tg_config__errf(eb, TG_ECONFIG, file, 0, 0, "routes[%u].name: bad name \"%s\"", i,
                                 r->name);
        else if ((j = tg_config__set_add(&names, r->name, i)) >= 0)
            rc = tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                                 "routes[%u].name: duplicate route name \"%s\" (also routes[%ld])",
                                 i, r->name, j);
        else if (r->upstream >= cfg->nupstreams)
            rc = tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                                 "routes[%u].upstream: index %u is out of range", i, r->upstream);
    }
    tg_config__set_deinit(&names);
    return rc;
}

/* A count window can never hold more calls than its size: a breaker needing more would
 * never open. Checked once the upstream and route breakers have taken the top-level keys
 * they did not write, since the two keys may come from different levels. */
static int breaker_check(const struct tg_config *cfg, const struct tg_cfg_breaker *b,
                         const char *kind, const char *name, struct tg_errbuf *eb)
{
    if (!b->window_requests || b->min_requests <= b->window_requests)
        return 0;
    char where[160];
    if (kind)
        snprintf(where, sizeof where, "%s[%s].circuit_breaker", kind, name);
    else
        snprintf(where, sizeof where, "circuit_breaker");
    return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                           "%s.min_requests: %u is above window_requests %u (a window of that "
                           "many calls could never open it)",
                           where, b->min_requests, b->window_requests);
}

static int breakers_check(const struct tg_config *cfg, struct tg_errbuf *eb)
{
    int rc = breaker_check(cfg, &cfg->breaker, NULL, "", eb);
    for (uint32_t i = 0; rc == 0 && i < cfg->nupstreams; i++)
        rc = breaker_check(cfg, &cfg->upstreams[i].breaker, "upstreams", cfg->upstreams[i].name,
                           eb);
    for (uint32_t i = 0; rc == 0 && i < cfg->nroutes; i++)
        if (cfg->routes[i].own_breaker)
            rc = breaker_check(cfg, &cfg->routes[i].breaker, "routes", cfg->routes[i].name, eb);
    return rc;
}

int tg_config_validate(struct tg_config *cfg, struct tg_errbuf *eb)
{
    const char *file = cfg->file;
    int rc;
    if (cfg->nupstreams == 0)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "no upstreams: add an \"upstreams:\" section or pass "
                               "--upstream host:port");
    if ((rc = check_upstreams(cfg, eb)) != 0)
        return rc;
    if (cfg->default_upstream >= cfg->nupstreams)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "default_upstream: index %u is out of range (%u upstreams)",
                               cfg->default_upstream, cfg->nupstreams);
    if ((rc = check_routes(cfg, eb)) != 0)
        return rc;
    if (cfg->max_headers == 0 || cfg->max_headers > TG_CFG_MAX_HEADERS_LIMIT)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "limits.max_headers: %u is out of range (1-%u)", cfg->max_headers,
                               TG_CFG_MAX_HEADERS_LIMIT);
    if (cfg->max_head_bytes < 1024 || cfg->max_connections == 0 || cfg->max_endpoints == 0)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "limits: max_header_bytes must be at least 1KiB and "
                               "max_connections, endpoints.max at least 1");
    if (cfg->header_timeout_us <= 0 || cfg->idle_timeout_us <= 0 || cfg->default_timeout_us <= 0 ||
        cfg->critical_timeout_us <= 0 || cfg->drain_timeout_us < 0)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "timeouts: header, idle, default and critical must be above 0");
    if (listeners_collide(&cfg->listen, &cfg->admin_listen))
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "admin.listen: %s collides with listen %s (use another port; "
                               "admin.mount_on_proxy also serves admin on the proxy port)",
                               cfg->admin_listen.text, cfg->listen.text);
    /* The control API changes what the gateway does: reachable from beyond this
     * machine, it must be behind a token. */
    if (!cfg->admin_token[0] && !tg_config_addr_is_loopback(&cfg->admin_listen))
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "admin.listen: %s is not a loopback address and no admin token is "
                               "set (admin.token_file or $TAILGUARD_ADMIN_TOKEN)",
                               cfg->admin_listen.text);
    if (!cfg->admin_token[0] && cfg->admin_mount_on_proxy &&
        !tg_config_addr_is_loopback(&cfg->listen))
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "admin.mount_on_proxy: the proxy listens on %s, beyond loopback, "
                               "and no admin token is set (admin.token_file or "
                               "$TAILGUARD_ADMIN_TOKEN)",
                               cfg->listen.text);
    tg_config__policy_resolve(cfg);
    tg_config__collectors_resolve(cfg);
    if ((rc = tg_config__policy_check(cfg, eb)) != 0 || (rc = breakers_check(cfg, eb)) != 0 ||
        (rc = tg_config__autoscale_check(cfg, eb)) != 0)
        return rc;
    if (cfg->admin_mount_on_proxy)
        return mount_admin(cfg, eb);
    return 0;
}

bool tg_config_addr_is_loopback(const struct tg_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
    if (a->ss.ss_family == AF_INET6) {
        const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(v6) ||
               (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
    }
    return false;
}

const char *tg_config_tier_name(enum tg_tier t)
{
    return (unsigned)t <= TG_TIER_SHEDDABLE ? tg_config__tier_names[t] : "?";
}

const char *tg_config_format_error(const struct tg_errbuf *eb, char *buf, size_t cap)
{
    if (eb->file[0] && eb->line > 0)
        snprintf(buf, cap, "%s:%d:%d: %s", eb->file, eb->line, eb->column, eb->msg);
    else if (eb->file[0])
        snprintf(buf, cap, "%s: %s", eb->file, eb->msg);
    else
        snprintf(buf, cap, "%s", eb->msg);
    return buf;
}

const char *tg_config_lb_name(enum tg_lb lb)
{
    return (unsigned)lb <= TG_LB_P2C_EWMA ? tg_config__lb_names[lb] : "?";
}

const char *tg_config_class_name(enum tg_route_class cls)
{
    return (unsigned)cls <= TG_CLASS_CRITICAL ? tg_config__class_names[cls] : "?";
}

const char *tg_config_match_name(enum tg_route_match match)
{
    return (unsigned)match <= TG_MATCH_EXACT ? match_names[match] : "?";
}
