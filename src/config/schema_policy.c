/* SPDX-License-Identifier: MIT */
/* The YAML schema of the protection sections (policy.h): circuit_breaker (top level, per
 * upstream, per route), rate_limit, features, fallback, cache, retries, concurrency, and
 * their defaults. The same readers take control-API overrides (settings.c feeds them a
 * JSON value, which is YAML), so a value means the same thing and is checked the same
 * way wherever it comes from. Every reader leaves keys it does not see untouched: that
 * is what lets an override change one key over the file's section. */
#include "config/schema_policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/diag_int.h"

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

void tg_config__policy_defaults(struct tg_config *cfg)
{
    cfg->breaker = (struct tg_cfg_breaker){
        .enabled = false,
        .timeout_ms = 5000,
        .failure_threshold = 0.5,
        .recovery_time = 60,
        .min_requests = 20,
        .window_seconds = 10,
        .window_requests = 0,
        .half_open_requests = 3,
        .latency_factor = 0,
    };
    memset(&cfg->ratelimit, 0, sizeof cfg->ratelimit);
    cfg->ratelimit.per = TG_RL_GLOBAL;
    cfg->ratelimit.max_clients = 1000000;
    memset(&cfg->features, 0, sizeof cfg->features);
    cfg->fallback = (struct tg_cfg_fallback){.enabled = false, .cache_ttl = 3600};
    memset(&cfg->cache, 0, sizeof cfg->cache);
    cfg->cache.max_bytes = 64u << 20;
    cfg->cache.max_object_bytes = 1u << 20;
    cfg->retries = (struct tg_cfg_retries){
        .max_attempts = 3,
        .base_delay_ms = 0,
        .factor = 2,
        .max_delay_ms = 1000,
        .budget_ratio = 0.2,
        .min_concurrent = 3,
    };
    cfg->concurrency = (struct tg_cfg_concurrency){.queue_timeout_ms = 1000, .min_limit = 5,
                                                   .tolerance = 1.5};
    snprintf(cfg->store_path, sizeof cfg->store_path, "tailguard.db");
    cfg->tsdb = (struct tg_cfg_tsdb){.scrape_interval_us = 5000000,
                                     .retention_us = 2 * 3600 * 1000000LL,
                                     .max_bytes = 256u << 20,
                                     .save_interval_us = 300000000};
    snprintf(cfg->tsdb.path, sizeof cfg->tsdb.path, "tailguard.tsdb");
}

/* A plain decimal number in [lo, hi] into the double at `out`. */
static int read_number(struct tg_config_walk *w, yaml_node_t *node, double *out, double lo,
                       double hi, const char *noun, const char *what)
{
    const char *text;
    int rc = tg_config__walk_scalar(w, node, what, &text);
    if (rc)
        return rc;
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !(v >= lo) ||
        !(v <= hi))
        return tg_config__walk_err(w, node, "bad %s \"%s\" (use %s)", noun, text, what);
    *out = v;
    return 0;
}

int tg_config__read_ratio(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_number(w, node, arg, 0, 1, "ratio", "a decimal from 0 to 1");
}

int tg_config__read_factor(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_number(w, node, arg, 0, 1000, "factor", "a decimal from 0 to 1000");
}

static int read_growth(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_number(w, node, arg, 1, 10, "factor", "a decimal from 1 to 10");
}

static int read_tolerance(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_number(w, node, arg, 1.05, 10, "tolerance", "a decimal from 1.05 to 10");
}

int tg_config__read_breaker(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_breaker *b = arg;
    struct tg_config_field f[TG_BRK_KEYS] = {
        [TG_BRK_ENABLED] = {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &b->enabled},
        [TG_BRK_TIMEOUT] = {.key = "timeout_ms", .kind = TG_CONFIG_K_U32, .out = &b->timeout_ms,
                            .min = 1, .max = 600000},
        [TG_BRK_THRESHOLD] = {.key = "failure_threshold", .kind = TG_CONFIG_K_FUNC,
                              .fn = tg_config__read_ratio, .out = &b->failure_threshold},
        [TG_BRK_RECOVERY] = {.key = "recovery_time", .kind = TG_CONFIG_K_U32,
                             .out = &b->recovery_time, .min = 1, .max = 86400},
        [TG_BRK_MIN_REQUESTS] = {.key = "min_requests", .kind = TG_CONFIG_K_U32,
                                 .out = &b->min_requests, .min = 1, .max = 1000000},
        [TG_BRK_WINDOW_S] = {.key = "window_seconds", .kind = TG_CONFIG_K_U32,
                             .out = &b->window_seconds, .min = 1, .max = 3600},
        [TG_BRK_WINDOW_N] = {.key = "window_requests", .kind = TG_CONFIG_K_U32,
                             .out = &b->window_requests, .min = 0, .max = 65536},
        [TG_BRK_HALF_OPEN] = {.key = "half_open_requests", .kind = TG_CONFIG_K_U32,
                              .out = &b->half_open_requests, .min = 1, .max = 1000},
        [TG_BRK_LATENCY] = {.key = "latency_factor", .kind = TG_CONFIG_K_FUNC,
                            .fn = tg_config__read_factor, .out = &b->latency_factor},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    for (unsigned i = 0; i < TG_BRK_KEYS; i++) {
        if (f[i].node)
            b->set |= 1u << i;
    }
    if (rc == 0 && (b->set & (1u << TG_BRK_THRESHOLD)) && b->failure_threshold <= 0)
        return tg_config__walk_err(w, f[TG_BRK_THRESHOLD].node,
                                   "failure_threshold must be above 0 (a breaker that opens "
                                   "with no failure never lets a call through)");
    if (rc == 0 && (b->set & (1u << TG_BRK_LATENCY)) && b->latency_factor > 0 &&
        b->latency_factor < 1.1)
        return tg_config__walk_err(w, f[TG_BRK_LATENCY].node,
                                   "latency_factor %.3g would open on ordinary noise (use 0 for "
                                   "off, or at least 1.1)",
                                   b->latency_factor);
    return rc;
}

static const char *const per_names[] = {"global", "client_ip", "route", NULL};
static const char *const rule_key_names[] = {"global", "ip", NULL};

int tg_config__read_list(struct tg_config_walk *w, yaml_node_t *node, size_t max,
                         tg_config_item_fn *item, void *arg)
{
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, max, &items, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        rc = item(w, tg_config__walk_node(w, items[i]), i, arg);
        tg_config__walk_pop(w, mark);
    }
    return rc;
}

static int read_rule(struct tg_config_walk *w, yaml_node_t *node, struct tg_cfg_rl_rule *r)
{
    int key = 1;
    struct tg_config_field f[] = {
        {.key = "path_prefix", .kind = TG_CONFIG_K_STR, .out = r->path_prefix,
         .cap = sizeof r->path_prefix, .required = true},
        {.key = "window_seconds", .kind = TG_CONFIG_K_U32, .out = &r->window_seconds, .min = 1,
         .max = 86400, .required = true},
        {.key = "max", .kind = TG_CONFIG_K_U32, .out = &r->max, .min = 1, .max = 100000000,
         .required = true},
        {.key = "key", .kind = TG_CONFIG_K_ENUM, .out = &key, .names = rule_key_names},
        {.key = "message", .kind = TG_CONFIG_K_STR, .out = r->message, .cap = sizeof r->message},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    r->key = key == 0 ? TG_RL_GLOBAL : TG_RL_CLIENT_IP;
    if (rc == 0 && r->path_prefix[0] != '/')
        return tg_config__walk_err(w, f[0].node, "path_prefix must start with \"/\"");
    return rc;
}

static int rule_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_ratelimit *rl = arg;
    memset(&rl->rules[i], 0, sizeof rl->rules[i]);
    int rc = read_rule(w, item, &rl->rules[i]);
    if (rc == 0)
        rl->nrules++;
    return rc;
}

static int read_rules(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_ratelimit *)arg)->nrules = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_RL_RULES, rule_item, arg);
}

/* "10.0.0.0/8", "::1", "fd00::/8": an address alone is a /32 or /128. */
static int parse_cidr(const char *s, struct tg_cfg_cidr *c)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    long bits = -1;
    if (slash) {
        char *end;
        bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || bits < 0)
            return -1;
    }
    struct in_addr v4;
    memset(c, 0, sizeof *c);
    if (inet_pton(AF_INET, host, &v4) == 1) {
        if (bits > 32)
            return -1;
        c->addr[10] = c->addr[11] = 0xff;
        memcpy(c->addr + 12, &v4, 4);
        c->bits = (uint8_t)(96 + (bits < 0 ? 32 : bits));
        return 0;
    }
    if (inet_pton(AF_INET6, host, c->addr) == 1 && bits <= 128) {
        c->bits = (uint8_t)(bits < 0 ? 128 : bits);
        return 0;
    }
    return -1;
}

static int trusted_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_ratelimit *rl = arg;
    const char *s;
    int rc = tg_config__walk_scalar(w, item, "an address or network such as 10.0.0.0/8", &s);
    if (rc == 0 && parse_cidr(s, &rl->trusted[i]) != 0)
        rc = tg_config__walk_err(w, item,
                                 "bad network \"%s\" (use an address or a CIDR such as "
                                 "10.0.0.0/8 or fd00::/8)",
                                 s);
    if (rc == 0)
        rl->ntrusted++;
    return rc;
}

static int read_trusted(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_ratelimit *)arg)->ntrusted = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_TRUSTED, trusted_item, arg);
}

int tg_config__read_ratelimit(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_ratelimit *rl = arg;
    int per = (int)rl->per;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &rl->enabled},
        {.key = "requests_per_minute", .kind = TG_CONFIG_K_U32, .out = &rl->requests_per_minute,
         .min = 0, .max = 100000000},
        {.key = "requests_per_second", .kind = TG_CONFIG_K_U32, .out = &rl->requests_per_second,
         .min = 0, .max = 10000000},
        {.key = "burst", .kind = TG_CONFIG_K_U32, .out = &rl->burst, .min = 0, .max = 10000000},
        {.key = "per", .kind = TG_CONFIG_K_ENUM, .out = &per, .names = per_names},
        {.key = "dry_run", .kind = TG_CONFIG_K_BOOL, .out = &rl->dry_run},
        {.key = "max_clients", .kind = TG_CONFIG_K_U32, .out = &rl->max_clients, .min = 1024,
         .max = 100000000},
        {.key = "rules", .kind = TG_CONFIG_K_FUNC, .fn = read_rules, .out = rl},
        {.key = "trusted_proxies", .kind = TG_CONFIG_K_FUNC, .fn = read_trusted, .out = rl},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    rl->per = (enum tg_cfg_rl_per)per;
    /* One rate: the key written last wins, so an override of requests_per_minute
     * replaces a file's requests_per_second rather than clashing with it. */
    if (f[1].node && !f[2].node)
        rl->requests_per_second = 0;
    else if (f[2].node && !f[1].node)
        rl->requests_per_minute = 0;
    else if (rc == 0 && f[1].node && f[2].node && rl->requests_per_minute &&
             rl->requests_per_second)
        return tg_config__walk_err(w, f[2].node,
                                   "give either requests_per_minute or requests_per_second");
    return rc;
}

static int feature_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_features *ft = arg;
    (void)i;
    struct tg_config_field f = {.key = "", .kind = TG_CONFIG_K_NAME,
                                .out = ft->disabled[ft->ndisabled], .cap = sizeof ft->disabled[0]};
    int rc = tg_config__walk_value(w, item, &f);
    bool dup = false;
    for (uint32_t j = 0; rc == 0 && j < ft->ndisabled; j++)
        dup |= strcmp(ft->disabled[j], ft->disabled[ft->ndisabled]) == 0;
    if (rc == 0 && !dup)
        ft->ndisabled++;
    return rc;
}

static int read_feature_list(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_features *)arg)->ndisabled = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_FEATURES, feature_item, arg);
}

int tg_config__read_features(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config_field f[] = {
        {.key = "disabled", .kind = TG_CONFIG_K_FUNC, .fn = read_feature_list, .out = arg},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

int tg_config__read_fallback(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_fallback *fb = arg;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &fb->enabled},
        {.key = "cache_ttl", .kind = TG_CONFIG_K_U32, .out = &fb->cache_ttl, .min = 1,
         .max = 30 * 86400},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

static int cache_rule_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_cache *c = arg;
    struct tg_cfg_cache_rule *r = &c->rules[i];
    memset(r, 0, sizeof *r);
    struct tg_config_field f[] = {
        {.key = "path_glob", .kind = TG_CONFIG_K_STR, .out = r->path_glob,
         .cap = sizeof r->path_glob, .required = true},
        {.key = "ttl_seconds", .kind = TG_CONFIG_K_U32, .out = &r->ttl_seconds, .min = 1,
         .max = 365 * 86400, .required = true},
    };
    int rc = tg_config__walk_map(w, item, f, NFIELDS(f));
    if (rc == 0 && r->path_glob[0] != '/')
        rc = tg_config__walk_err(w, f[0].node, "path_glob must start with \"/\"");
    if (rc == 0)
        c->nrules++;
    return rc;
}

static int read_cache_rules(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_cache *)arg)->nrules = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_CACHE_RULES, cache_rule_item, arg);
}

int tg_config__read_cache(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_cache *c = arg;
    struct tg_config_field f[] = {
        {.key = "max_bytes", .kind = TG_CONFIG_K_SIZE, .out = &c->max_bytes, .min = 0,
         .max = 1ull << 40},
        {.key = "max_object_bytes", .kind = TG_CONFIG_K_SIZE, .out = &c->max_object_bytes,
         .min = 1, .max = 1ull << 32},
        {.key = "rules", .kind = TG_CONFIG_K_FUNC, .fn = read_cache_rules, .out = c},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

static int status_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_retries *r = arg;
    uint32_t v = 0;
    struct tg_config_field f = {.key = "", .kind = TG_CONFIG_K_U32, .out = &v, .min = 500,
                                .max = 599};
    (void)i;
    int rc = tg_config__walk_value(w, item, &f);
    if (rc == 0)
        r->statuses[r->nstatuses++] = (uint16_t)v;
    return rc;
}

static int read_statuses(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_retries *)arg)->nstatuses = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_RETRY_STATUSES, status_item, arg);
}

int tg_config__read_retries(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_retries *r = arg;
    int jitter = (int)r->jitter;
    struct tg_config_field f[] = {
        {.key = "max_attempts", .kind = TG_CONFIG_K_U32, .out = &r->max_attempts, .min = 1,
         .max = 10},
        {.key = "base_delay_ms", .kind = TG_CONFIG_K_U32, .out = &r->base_delay_ms, .min = 0,
         .max = 60000},
        {.key = "factor", .kind = TG_CONFIG_K_FUNC, .fn = read_growth, .out = &r->factor},
        {.key = "max_delay_ms", .kind = TG_CONFIG_K_U32, .out = &r->max_delay_ms, .min = 0,
         .max = 600000},
        {.key = "budget_ratio", .kind = TG_CONFIG_K_FUNC, .fn = tg_config__read_ratio,
         .out = &r->budget_ratio},
        {.key = "min_concurrent", .kind = TG_CONFIG_K_U32, .out = &r->min_concurrent, .min = 0,
         .max = 100000},
        {.key = "statuses", .kind = TG_CONFIG_K_FUNC, .fn = read_statuses, .out = r},
        {.key = "jitter",
         .kind = TG_CONFIG_K_ENUM,
         .out = &jitter,
         .names = tg_config__jitter_names},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    r->jitter = (enum tg_cfg_jitter)jitter;
    return rc;
}

int tg_config__read_concurrency(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_concurrency *c = arg;
    struct tg_config_field f[] = {
        {.key = "hard_limit", .kind = TG_CONFIG_K_U32, .out = &c->hard_limit, .min = 0,
         .max = 10000000},
        {.key = "soft_limit", .kind = TG_CONFIG_K_U32, .out = &c->soft_limit, .min = 0,
         .max = 10000000},
        {.key = "queue", .kind = TG_CONFIG_K_U32, .out = &c->queue, .min = 0, .max = 65535},
        {.key = "queue_timeout_ms", .kind = TG_CONFIG_K_U32, .out = &c->queue_timeout_ms,
         .min = 1, .max = 600000},
        {.key = "adaptive", .kind = TG_CONFIG_K_BOOL, .out = &c->adaptive},
        {.key = "min_limit", .kind = TG_CONFIG_K_U32, .out = &c->min_limit, .min = 1,
         .max = 10000000},
        {.key = "tolerance", .kind = TG_CONFIG_K_FUNC, .fn = read_tolerance, .out = &c->tolerance},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc == 0 && c->hard_limit && c->soft_limit > c->hard_limit)
        return tg_config__walk_err(w, f[1].node ? f[1].node : f[0].node,
                                   "soft_limit %u is above hard_limit %u", c->soft_limit,
                                   c->hard_limit);
    return rc;
}

/* Fills the keys an upstream's or route's breaker did not write from the top level. */
static void inherit(struct tg_cfg_breaker *b, const struct tg_cfg_breaker *top)
{
    struct tg_cfg_breaker own = *b;
    uint32_t set = b->set;
    *b = *top;
    b->set = set;
#define TAKE(bit, field)                                                                    \
    if (set & (1u << (bit)))                                                                \
    b->field = own.field
    TAKE(TG_BRK_ENABLED, enabled);
    TAKE(TG_BRK_TIMEOUT, timeout_ms);
    TAKE(TG_BRK_THRESHOLD, failure_threshold);
    TAKE(TG_BRK_RECOVERY, recovery_time);
    TAKE(TG_BRK_MIN_REQUESTS, min_requests);
    TAKE(TG_BRK_WINDOW_S, window_seconds);
    TAKE(TG_BRK_WINDOW_N, window_requests);
    TAKE(TG_BRK_HALF_OPEN, half_open_requests);
    TAKE(TG_BRK_LATENCY, latency_factor);
#undef TAKE
}

void tg_config__policy_resolve(struct tg_config *cfg)
{
    for (uint32_t i = 0; i < cfg->nupstreams; i++)
        inherit(&cfg->upstreams[i].breaker, &cfg->breaker);
    for (uint32_t i = 0; i < cfg->nroutes; i++) {
        if (cfg->routes[i].own_breaker)
            inherit(&cfg->routes[i].breaker, &cfg->breaker);
    }
    for (uint32_t i = 0; i < cfg->ratelimit.nrules; i++) {
        if (!cfg->ratelimit.rules[i].message[0])
            snprintf(cfg->ratelimit.rules[i].message, sizeof cfg->ratelimit.rules[i].message,
                     "Too many requests, please try again later.");
    }
}

/* The first line of the token file, without its line end. */
static int read_token_file(struct tg_config *cfg, struct tg_errbuf *eb)
{
    FILE *f = fopen(cfg->admin_token_file, "re");
    if (!f)
        return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                               "admin.token_file: cannot open %s: %s", cfg->admin_token_file,
                               strerror(errno));
    char line[sizeof cfg->admin_token + 2];
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = got ? strcspn(line, "\r\n") : 0;
    if (n == 0 || n >= sizeof cfg->admin_token)
        return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                               "admin.token_file: %s: %s", cfg->admin_token_file,
                               n ? "the token is longer than 127 bytes"
                                 : "the first line is empty");
    memcpy(cfg->admin_token, line, n);
    cfg->admin_token[n] = '\0';
    return 0;
}

int tg_config__policy_finish(struct tg_config *cfg, struct tg_errbuf *eb)
{
    if (cfg->admin_token[0] && cfg->admin_token_file[0])
        return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                               "admin: give either token or token_file");
    if (cfg->admin_token_file[0])
        return read_token_file(cfg, eb);
    return 0;
}

int tg_config__policy_check(const struct tg_config *cfg, struct tg_errbuf *eb)
{
    const struct tg_cfg_ratelimit *rl = &cfg->ratelimit;
    const char *file = cfg->file;
    uint32_t rate = rl->requests_per_minute ? rl->requests_per_minute : rl->requests_per_second;
    if (rl->enabled && !rate && !rl->nrules)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "rate_limit: enabled with nothing to limit (give "
                               "requests_per_minute, requests_per_second or rules)");
    if (rl->burst && rate && rl->burst > rate)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "rate_limit.burst: %u is above the rate's %u requests", rl->burst,
                               rate);
    /* Per-key state counts in 16 bits and spaces requests at least 1 µs apart. */
    if (rl->per != TG_RL_GLOBAL && rl->requests_per_second > 1000000)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "rate_limit.requests_per_second: at most 1000000 per %s",
                               rl->per == TG_RL_CLIENT_IP ? "client" : "route");
    /* The adaptive limit moves between min_limit and hard_limit, its ceiling; a queue
     * holds requests over a limit. Checked here, where the file's values and a control
     * change's have been merged. */
    const struct tg_cfg_concurrency *cc = &cfg->concurrency;
    if (cc->adaptive && !cc->hard_limit)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "concurrency.adaptive: needs hard_limit (the highest limit it "
                               "may reach)");
    if (cc->adaptive && cc->min_limit > cc->hard_limit)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "concurrency.min_limit: %u is above hard_limit %u", cc->min_limit,
                               cc->hard_limit);
    if (cc->queue && !cc->hard_limit)
        return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                               "concurrency.queue: needs hard_limit (requests wait for a slot "
                               "under it)");
    /* Parts of the protections that are not built yet are refused, not accepted and
     * ignored. */
    for (uint32_t i = 0; i < rl->nrules; i++) {
        uint32_t most = rl->rules[i].key == TG_RL_GLOBAL ? 16777215 : 65535;
        if (rl->rules[i].max > most)
            return tg_config__errf(eb, TG_ECONFIG, file, 0, 0,
                                   "rate_limit.rules[%u].max: at most %u per window%s", i, most,
                                   rl->rules[i].key == TG_RL_GLOBAL ? "" : " for each client");
    }
    return 0;
}
