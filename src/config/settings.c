/* SPDX-License-Identifier: MIT */
/* Settings by name (settings.h): the table of sections the control API may change, how
 * an override reaches the schema reader of its section, and how every setting's
 * effective value is rendered as JSON. An override "circuit_breaker.timeout_ms" = 5000
 * becomes the one-key mapping {"timeout_ms": 5000}, read by the same reader as the
 * file's `circuit_breaker:` section over the values already there; readers leave keys
 * they do not see alone, which is what makes one key an override of the file. */
#include "config/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/diag_int.h"
#include "config/schema_int.h"
#include "config/schema_policy_int.h"
#include "config/yaml_compose_int.h"
#include "config/yaml_walk_int.h"

enum scope {
    SC_GLOBAL = 1,
    SC_UPSTREAM = 2,
    SC_ROUTE = 4,
};

typedef json_t *render_fn(const struct tg_config *cfg, const void *section);

/* A section of settings. `fixed` lists the keys that exist but cannot change without a
 * restart (NULL-terminated, with `why`); `closed` lists keys that change on reload but
 * not through the control API. */
struct section {
    const char *name;
    tg_config_walk_fn *read;
    size_t off; /* the section's struct in struct tg_config (or the config itself) */
    bool whole; /* `read` takes the whole config (timeouts, tracing) */
    unsigned scopes;
    render_fn *render;
    const char *const *fixed;
    const char *why;
    const char *const *closed;
};

/* ---------------------------------------------------------------- rendering */

static json_t *ms(int64_t us)
{
    return json_integer(us / 1000);
}

static json_t *render_breaker(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_breaker *b = sec;
    return json_pack("{s:b,s:I,s:f,s:I,s:I,s:I,s:I,s:I,s:f}", "enabled", b->enabled,
                     "timeout_ms", (json_int_t)b->timeout_ms, "failure_threshold",
                     b->failure_threshold, "recovery_time", (json_int_t)b->recovery_time,
                     "min_requests", (json_int_t)b->min_requests, "window_seconds",
                     (json_int_t)b->window_seconds, "window_requests",
                     (json_int_t)b->window_requests, "half_open_requests",
                     (json_int_t)b->half_open_requests, "latency_factor", b->latency_factor);
}

static const char *const per_names[] = {"global", "client_ip", "route"};

static json_t *cidr_text(const struct tg_cfg_cidr *c)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char a[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 8];
    if (memcmp(c->addr, mapped, 12) == 0 && c->bits >= 96) {
        inet_ntop(AF_INET, c->addr + 12, a, sizeof a);
        snprintf(out, sizeof out, "%s/%u", a, c->bits - 96u);
    } else {
        inet_ntop(AF_INET6, c->addr, a, sizeof a);
        snprintf(out, sizeof out, "%s/%u", a, c->bits);
    }
    return json_string(out);
}

static json_t *render_ratelimit(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_ratelimit *rl = sec;
    json_t *rules = json_array(), *trusted = json_array();
    for (uint32_t i = 0; i < rl->nrules; i++) {
        const struct tg_cfg_rl_rule *r = &rl->rules[i];
        json_array_append_new(
            rules, json_pack("{s:s,s:I,s:I,s:s,s:s}", "path_prefix", r->path_prefix,
                             "window_seconds", (json_int_t)r->window_seconds, "max",
                             (json_int_t)r->max, "key", r->key == TG_RL_GLOBAL ? "global" : "ip",
                             "message", r->message));
    }
    for (uint32_t i = 0; i < rl->ntrusted; i++)
        json_array_append_new(trusted, cidr_text(&rl->trusted[i]));
    return json_pack("{s:b,s:I,s:I,s:I,s:s,s:b,s:I,s:o,s:o}", "enabled", rl->enabled,
                     "requests_per_minute", (json_int_t)rl->requests_per_minute,
                     "requests_per_second", (json_int_t)rl->requests_per_second, "burst",
                     (json_int_t)rl->burst, "per", per_names[rl->per], "dry_run", rl->dry_run,
                     "max_clients", (json_int_t)rl->max_clients, "rules", rules,
                     "trusted_proxies", trusted);
}

static json_t *render_features(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_features *f = sec;
    json_t *list = json_array();
    for (uint32_t i = 0; i < f->ndisabled; i++)
        json_array_append_new(list, json_string(f->disabled[i]));
    return json_pack("{s:o}", "disabled", list);
}

static json_t *render_fallback(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_fallback *f = sec;
    return json_pack("{s:b,s:I}", "enabled", f->enabled, "cache_ttl", (json_int_t)f->cache_ttl);
}

static json_t *render_cache(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_cache *c = sec;
    json_t *rules = json_array();
    for (uint32_t i = 0; i < c->nrules; i++)
        json_array_append_new(rules, json_pack("{s:s,s:I}", "path_glob", c->rules[i].path_glob,
                                               "ttl_seconds",
                                               (json_int_t)c->rules[i].ttl_seconds));
    return json_pack("{s:I,s:I,s:o}", "max_bytes", (json_int_t)c->max_bytes, "max_object_bytes",
                     (json_int_t)c->max_object_bytes, "rules", rules);
}

static json_t *render_retries(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_retries *r = sec;
    json_t *st = json_array();
    for (uint32_t i = 0; i < r->nstatuses; i++)
        json_array_append_new(st, json_integer(r->statuses[i]));
    return json_pack("{s:I,s:I,s:f,s:I,s:s,s:f,s:I,s:o}", "max_attempts",
                     (json_int_t)r->max_attempts, "base_delay_ms", (json_int_t)r->base_delay_ms,
                     "factor", r->factor, "max_delay_ms", (json_int_t)r->max_delay_ms, "jitter",
                     tg_config__jitter_names[r->jitter], "budget_ratio", r->budget_ratio,
                     "min_concurrent", (json_int_t)r->min_concurrent, "statuses", st);
}

static json_t *render_concurrency(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_concurrency *c = sec;
    return json_pack("{s:I,s:I,s:I,s:I,s:b,s:I,s:f}", "hard_limit", (json_int_t)c->hard_limit,
                     "soft_limit", (json_int_t)c->soft_limit, "queue", (json_int_t)c->queue,
                     "queue_timeout_ms", (json_int_t)c->queue_timeout_ms, "adaptive",
                     c->adaptive, "min_limit", (json_int_t)c->min_limit, "tolerance",
                     c->tolerance);
}

static json_t *render_timeouts(const struct tg_config *cfg, const void *sec)
{
    (void)sec;
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "default_ms",
                     ms(cfg->default_timeout_us), "critical_ms",
                     ms(cfg->critical_timeout_us), "per_try_ms",
                     ms(cfg->per_try_timeout_us), "header_ms",
                     ms(cfg->header_timeout_us), "request_body_ms", ms(cfg->body_timeout_us),
                     "idle_ms", ms(cfg->idle_timeout_us), "drain_ms", ms(cfg->drain_timeout_us));
}

static json_t *render_tracing(const struct tg_config *cfg, const void *sec)
{
    (void)sec;
    return json_pack("{s:b,s:f,s:I}", "enabled", cfg->tracing_enabled, "sample_rate",
                     cfg->trace_sample_rate, "buffer", (json_int_t)cfg->trace_buffer);
}

static json_t *render_process(const struct tg_config *cfg, const void *sec)
{
    (void)sec;
    return json_pack("{s:I}", "workers", (json_int_t)cfg->workers);
}

/* A password's source, never its value (the snapshot does not hold it anyway). */
static void set_secret(json_t *o, const struct tg_cfg_secret *sec)
{
    if (sec->file[0])
        json_object_set_new(o, "password_file", json_string(sec->file));
    if (sec->env[0])
        json_object_set_new(o, "password_env", json_string(sec->env));
}

static json_t *render_collectors(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_collectors *c = sec;
    const struct tg_cfg_host *h = &c->host;
    json_t *targets = json_array(), *pgs = json_array(), *rds = json_array(),
           *probes = json_array();
    for (uint32_t i = 0; i < c->containers.n; i++) {
        const struct tg_cfg_container *t = &c->containers.list[i];
        json_t *o = json_pack("{s:s}", "name", t->name);
        if (t->cgroup[0])
            json_object_set_new(o, "cgroup", json_string(t->cgroup));
        else if (t->process[0])
            json_object_set_new(o, "process", json_string(t->process));
        else
            json_object_set_new(o, "pid", json_integer(t->pid));
        json_array_append_new(targets, o);
    }
    for (uint32_t i = 0; i < c->npostgres; i++) {
        const struct tg_cfg_postgres *p = &c->postgres[i];
        json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:b,s:I}", "name", p->name, "dsn", p->dsn,
                              "interval_ms", ms(p->interval_us), "timeout_ms", ms(p->timeout_us),
                              "statements", p->statements, "statements_limit",
                              (json_int_t)p->statements_limit);
        set_secret(o, &p->password);
        json_array_append_new(pgs, o);
    }
    for (uint32_t i = 0; i < c->nredis; i++) {
        const struct tg_cfg_redis *r = &c->redis[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", r->name, "addr", r->addr,
                              "username", r->username, "interval_ms", ms(r->interval_us),
                              "timeout_ms", ms(r->timeout_us));
        set_secret(o, &r->password);
        json_array_append_new(rds, o);
    }
    for (uint32_t i = 0; i < c->nprobes; i++) {
        const struct tg_cfg_probe *p = &c->probes[i];
        json_t *st = json_array();
        for (uint32_t k = 0; k < p->nvalid_status; k++)
            json_array_append_new(st, json_integer(p->valid_status[k]));
        unsigned bit = 0;
        while (bit < 31 && !(p->method & (1u << bit)))
            bit++;
        json_array_append_new(
            probes, json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "service", p->service, "url", p->url,
                              "method", tg_config__method_names[bit < 10 ? bit : 0],
                              "interval_ms", ms(p->interval_us), "timeout_ms",
                              ms(p->timeout_us), "valid_status", st));
    }
    return json_pack(
        "{s:{s:b,s:s,s:s,s:s,s:o},s:{s:s,s:o,s:o},s:o,s:o,s:o}", "host", "enabled", h->enabled,
        "procfs", h->procfs, "sysfs", h->sysfs, "rootfs", h->rootfs, "interval_ms",
        ms(h->interval_us), "containers", "cgroup_root", c->containers.cgroup_root, "interval_ms",
        ms(c->containers.interval_us), "targets", targets, "postgres", pgs, "redis", rds,
        "probes", probes);
}

static json_t *render_autoscale(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_autoscale *a = sec;
    char ports[16] = "";
    if (a->port_lo)
        snprintf(ports, sizeof ports, "%u-%u", a->port_lo, a->port_hi);
    return json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:b,s:s,s:s,s:s,s:s,s:s,s:o,s:o,"
                     "s:o,s:o,s:s,s:s}",
                     "enabled", a->enabled, "signal", a->signal == TG_AUTOSCALE_P99 ? "p99" : "p95",
                     "latency_threshold_ms", (json_int_t)a->threshold_ms, "up_after",
                     (json_int_t)a->up_after, "down_after", (json_int_t)a->down_after, "min",
                     (json_int_t)a->min, "max", (json_int_t)a->max, "check_interval_s",
                     a->check_interval_s, "cooldown_s", a->cooldown_s, "window_s", a->window_s,
                     "dry_run", a->dry_run, "upstream", a->upstream, "provider",
                     a->provider == TG_AUTOSCALE_COMMAND ? "command" : "process", "command",
                     a->command, "ports", ports, "ready_path", a->ready_path, "ready_timeout_ms",
                     ms(a->ready_timeout_us), "drain_timeout_ms", ms(a->drain_timeout_us),
                     "stop_grace_ms", ms(a->stop_grace_us), "command_timeout_ms",
                     ms(a->command_timeout_us), "servers_file", a->servers_file, "servers_dns",
                     a->servers_dns);
}

/* The top-level keys an override may set: `workers` alone (the gateway resizes its set of
 * worker threads when it changes), with the file's bounds. */
static const char *const process_keys[] = {"workers", NULL};

static int read_process(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_config *cfg = arg;
    struct tg_config_field f[] = {
        {.key = "workers",
         .kind = TG_CONFIG_K_U32,
         .out = &cfg->workers,
         .min = 0,
         .max = TG_CFG_MAX_WORKERS},
    };
    return tg_config__walk_map(w, node, f, sizeof f / sizeof f[0]);
}

/* ---------------------------------------------------------------- the table */

static const char *const tracing_fixed[] = {"buffer", NULL};
/* Changed by editing the file and reloading; the control API's PUT /timeouts carries
 * the two the runbook sets and the per-try timeout. */
static const char *const timeouts_closed[] = {"header_ms", "request_body_ms", "idle_ms",
                                              "drain_ms", NULL};
static const char *const ratelimit_closed[] = {"max_clients", NULL};
/* Collectors change on reload (the control thread rebuilds the changed targets), never
 * through the control API: there is no reader for an override of them. */
static json_t *render_playbooks(const struct tg_config *cfg, const void *sec)
{
    (void)cfg;
    const struct tg_cfg_playbooks *p = sec;
    json_t *rules = json_array();
    for (uint32_t i = 0; i < p->n; i++)
        json_array_append_new(rules, json_pack("{s:s,s:s}", "name", p->list[i].name, "mode",
                                               p->list[i].automatic ? "auto" : "suggest"));
    char d[4][32];
    const int64_t us[4] = {p->cooldown_us, p->settle_us, p->verify_us, p->hold_us};
    for (int i = 0; i < 4; i++)
        snprintf(d[i], sizeof d[i], "%gs", (double)us[i] / 1e6);
    return json_pack("{s:b,s:b,s:I,s:s,s:s,s:s,s:s,s:I,s:o}", "enabled", p->enabled, "dry_run",
                     p->dry_run, "max_actions", (json_int_t)p->max_actions, "cooldown", d[0],
                     "settle", d[1], "verify", d[2], "hold", d[3], "min_samples",
                     (json_int_t)p->min_samples, "rules", rules);
}

/* Only the kill switch and the dry run change through the control API; the rules and
 * guardrails are the file's. */
static const char *const playbooks_closed[] = {"max_actions", "cooldown", "settle", "verify",
                                               "hold", "min_samples", "rules", "mode", NULL};

static const char *const collectors_closed[] = {"host", "containers", "postgres", "redis",
                                                "probes", NULL};

/* What runs and where: from the file only, never from the control API (which would
 * otherwise run any command it is given); the provider is built at start. */
static const char *const autoscale_fixed[] = {"provider", NULL};
static const char *const autoscale_closed[] = {"command", "ports", "ready_path",
                                               "ready_timeout_ms", "drain_timeout_ms",
                                               "stop_grace_ms", "command_timeout_ms",
                                               "servers_file", "servers_dns", NULL};

static const struct section sections[] = {
    {"timeouts", tg_config__read_timeouts, 0, true, SC_GLOBAL, render_timeouts, NULL, NULL,
     timeouts_closed},
    {"tracing", tg_config__read_tracing, 0, true, SC_GLOBAL, render_tracing, tracing_fixed,
     "each worker's trace ring is sized at start", NULL},
    {"circuit_breaker", tg_config__read_breaker, offsetof(struct tg_config, breaker), false,
     SC_GLOBAL | SC_UPSTREAM | SC_ROUTE, render_breaker, NULL, NULL, NULL},
    {"rate_limit", tg_config__read_ratelimit, offsetof(struct tg_config, ratelimit), false,
     SC_GLOBAL, render_ratelimit, NULL, NULL, ratelimit_closed},
    {"features", tg_config__read_features, offsetof(struct tg_config, features), false,
     SC_GLOBAL, render_features, NULL, NULL, NULL},
    {"fallback", tg_config__read_fallback, offsetof(struct tg_config, fallback), false,
     SC_GLOBAL, render_fallback, NULL, NULL, NULL},
    {"cache", tg_config__read_cache, offsetof(struct tg_config, cache), false, SC_GLOBAL,
     render_cache, NULL, NULL, NULL},
    {"retries", tg_config__read_retries, offsetof(struct tg_config, retries), false, SC_GLOBAL,
     render_retries, NULL, NULL, NULL},
    {"concurrency", tg_config__read_concurrency, offsetof(struct tg_config, concurrency), false,
     SC_GLOBAL, render_concurrency, NULL, NULL, NULL},
    {"playbooks", tg_config__read_playbooks, offsetof(struct tg_config, playbooks), false,
     SC_GLOBAL, render_playbooks, NULL, NULL, playbooks_closed},
    {"collectors", NULL, offsetof(struct tg_config, collectors), false, SC_GLOBAL,
     render_collectors, NULL, NULL, collectors_closed},
    {"autoscale", tg_config__read_autoscale, offsetof(struct tg_config, autoscale), false,
     SC_GLOBAL, render_autoscale, autoscale_fixed, "the provider is started with the gateway",
     autoscale_closed},
    /* Top-level keys, shown without a section prefix. */
    {"", read_process, 0, true, SC_GLOBAL, render_process, NULL, NULL, NULL},
};
#define NSECTIONS (sizeof sections / sizeof sections[0])

static bool listed(const char *const *list, const char *key)
{
    for (; list && *list; list++) {
        if (strcmp(*list, key) == 0)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- overrides */

struct parsed_key {
    enum scope scope;
    char owner[64]; /* upstream or route name */
    const struct section *sec;
    const char *field; /* within the key string */
};

static int parse_key(const char *key, struct parsed_key *pk, struct tg_errbuf *eb)
{
    memset(pk, 0, sizeof *pk);
    pk->scope = SC_GLOBAL;
    const char *p = key;
    for (int s = 0; s < 2; s++) {
        const char *pre = s ? "routes[" : "upstreams[";
        size_t n = strlen(pre);
        if (strncmp(p, pre, n) != 0)
            continue;
        const char *close = strchr(p + n, ']');
        if (!close || close == p + n || (size_t)(close - p - n) >= sizeof pk->owner ||
            close[1] != '.')
            return tg_errbuf_set(eb, TG_ENOTFOUND, "%s: bad scope (write %sNAME].section.key)",
                                 key, pre);
        memcpy(pk->owner, p + n, (size_t)(close - p - n));
        pk->scope = s ? SC_ROUTE : SC_UPSTREAM;
        p = close + 2;
    }
    const char *dot = strchr(p, '.');
    for (size_t i = 0; i < NSECTIONS; i++) {
        const struct section *sec = &sections[i];
        size_t n = strlen(sec->name);
        if (n == 0 ? dot == NULL : (dot && (size_t)(dot - p) == n && strncmp(p, sec->name, n) == 0)) {
            pk->sec = sec;
            pk->field = n ? dot + 1 : p;
            break;
        }
    }
    if (!pk->sec || !*pk->field || (!pk->sec->read && !listed(pk->sec->fixed, pk->field)) ||
        (!*pk->sec->name && !listed(process_keys, pk->field)))
        return tg_errbuf_set(eb, TG_ENOTFOUND, "%s: not a setting the control API can change",
                             key);
    if (!(pk->sec->scopes & pk->scope))
        return tg_errbuf_set(eb, TG_ENOTFOUND, "%s: %s cannot be set per %s", key,
                             pk->sec->name, pk->scope == SC_ROUTE ? "route" : "upstream");
    if (listed(pk->sec->fixed, pk->field))
        return tg_errbuf_set(eb, TG_ERESTART, "%s: needs a restart (%s)", key, pk->sec->why);
    if (listed(pk->sec->closed, pk->field))
        return tg_errbuf_set(eb, TG_ENOTFOUND,
                             "%s: not changed through the control API (edit the file and reload)",
                             key);
    return 0;
}

/* The struct the override lands in, or NULL (unknown upstream or route). */
static void *target(struct tg_config *cfg, const struct parsed_key *pk)
{
    if (pk->scope == SC_UPSTREAM) {
        int i = tg_config_upstream_index(cfg, pk->owner);
        return i < 0 ? NULL : &cfg->upstreams[i].breaker;
    }
    if (pk->scope == SC_ROUTE) {
        for (uint32_t i = 0; i < cfg->nroutes; i++) {
            if (strcmp(cfg->routes[i].name, pk->owner) == 0) {
                cfg->routes[i].own_breaker = true;
                return &cfg->routes[i].breaker;
            }
        }
        return NULL;
    }
    return pk->sec->whole ? (void *)cfg : (char *)cfg + pk->sec->off;
}

/* Reads `{"<field>": <json>}` with the section's reader (a top-level key: the root's
 * own reader for that key alone). */
static int read_override(const struct parsed_key *pk, const char *key, void *dst,
                         const char *json, struct tg_errbuf *eb)
{
    /* Exactly one JSON value, re-encoded, so nothing in it can add a key. */
    json_error_t jerr;
    json_t *value = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    char *canon = value ? json_dumps(value, JSON_ENCODE_ANY) : NULL;
    json_decref(value);
    if (!canon)
        return tg_errbuf_set(eb, TG_ECONFIG, "%s: not a JSON value (%s)", key, jerr.text);
    size_t flen = strlen(pk->field), jlen = strlen(canon);
    char *text = tg_config__xcalloc(flen + jlen + 16, 1);
    snprintf(text, flen + jlen + 16, "{\"%s\": %s}", pk->field, canon);
    free(canon);
    yaml_parser_t parser;
    yaml_document_t doc;
    struct tg_config_source src = {.label = "override", .text = text, .len = strlen(text)};
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, src.len);
    struct tg_errbuf inner = {0};
    int rc = tg_config__compose(&parser, &src, &doc, &inner);
    if (rc == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        struct tg_config_walk w = {.doc = &doc, .file = "", .eb = &inner};
        /* Messages name the whole key: "upstreams[api].circuit_breaker.timeout_ms". */
        size_t plen = strlen(key) - flen;
        plen = plen ? plen - 1 : 0;
        if (plen >= sizeof w.path)
            plen = sizeof w.path - 1;
        memcpy(w.path, key, plen);
        w.path[plen] = '\0';
        w.pathlen = plen;
        if (!root) {
            rc = tg_errbuf_set(&inner, TG_ECONFIG, "empty value");
        } else {
            rc = pk->sec->read(&w, root, dst);
        }
    } else {
        rc = TG_ECONFIG;
        snprintf(inner.msg, sizeof inner.msg, "%s: not a JSON value", key);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(text);
    if (rc)
        tg_errbuf_set(eb, rc == TG_EPARSE ? TG_ECONFIG : rc, "%s", inner.msg);
    return rc == TG_EPARSE ? TG_ECONFIG : rc;
}

int tg_config_apply_override(struct tg_config *cfg, const char *key, const char *json,
                             struct tg_errbuf *eb)
{
    struct parsed_key pk;
    int rc = parse_key(key, &pk, eb);
    if (rc)
        return rc;
    if (strpbrk(pk.field, ".[]\"{}:, "))
        return tg_errbuf_set(eb, TG_ENOTFOUND, "%s: not a setting the control API can change",
                             key);
    void *dst = target(cfg, &pk);
    if (!dst)
        return tg_errbuf_set(eb, TG_ENOTFOUND, "%s: no %s named \"%s\"", key,
                             pk.scope == SC_ROUTE ? "route" : "upstream", pk.owner);
    return read_override(&pk, key, dst, json, eb);
}

/* ---------------------------------------------------------------- enumeration */

static bool file_has(const struct tg_config *cfg, const char *path)
{
    if (!cfg->file_keys)
        return false;
    char pat[260];
    size_t n = strlen(path);
    if (n + 3 > sizeof pat)
        return false;
    pat[0] = '\n';
    memcpy(pat + 1, path, n);
    pat[n + 1] = '\n';
    pat[n + 2] = '\0';
    return strstr(cfg->file_keys, pat) != NULL;
}

/* The file key of a setting: the `_ms` spellings of timeouts also come as durations. */
static bool in_file(const struct tg_config *cfg, const char *prefix_file, const char *sec,
                    const char *field)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s%s%s", prefix_file, sec, *sec ? "." : "", field);
    if (file_has(cfg, path))
        return true;
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, "_ms") == 0) {
        path[n - 3] = '\0';
        return file_has(cfg, path);
    }
    return false;
}

static void emit_section(const struct tg_config *cfg, const struct section *sec, json_t *obj,
                         const char *prefix_key, const char *prefix_file,
                         tg_config_setting_fn *fn, void *ctx)
{
    const char *field;
    json_t *v;
    json_object_foreach(obj, field, v) {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s%s", prefix_key, sec->name, *sec->name ? "." : "",
                 field);
        bool fixed = listed(sec->fixed, field);
        struct tg_config_setting s = {
            .key = key,
            .value = v,
            .in_file = in_file(cfg, prefix_file, sec->name, field),
            .live = !fixed,
            .overridable = !fixed && !listed(sec->closed, field),
            .why = fixed ? sec->why : NULL,
        };
        fn(&s, ctx);
    }
}

void tg_config_foreach_setting(const struct tg_config *cfg, tg_config_setting_fn *fn, void *ctx)
{
    for (size_t i = 0; i < NSECTIONS; i++) {
        const struct section *sec = &sections[i];
        json_t *obj = sec->render(cfg, sec->whole ? (const void *)cfg
                                                  : (const char *)cfg + sec->off);
        emit_section(cfg, sec, obj, "", "", fn, ctx);
        json_decref(obj);
        if (!(sec->scopes & SC_UPSTREAM))
            continue;
        for (uint32_t u = 0; u < cfg->nupstreams; u++) {
            if (strcmp(cfg->upstreams[u].name, "tailguard-admin") == 0)
                continue;
            char pk[96], pf[32];
            snprintf(pk, sizeof pk, "upstreams[%s].", cfg->upstreams[u].name);
            snprintf(pf, sizeof pf, "upstreams[%u].", u);
            obj = sec->render(cfg, &cfg->upstreams[u].breaker);
            emit_section(cfg, sec, obj, pk, pf, fn, ctx);
            json_decref(obj);
        }
        /* Routes with a breaker of their own. The routes admin.mount_on_proxy adds come
         * first and were never in the file, so file positions are counted from the end. */
        for (uint32_t r = 0; r < cfg->nroutes; r++) {
            if (!cfg->routes[r].own_breaker)
                continue;
            char pk[96], pf[32];
            snprintf(pk, sizeof pk, "routes[%s].", cfg->routes[r].name);
            uint32_t mounted = cfg->mounted_routes;
            snprintf(pf, sizeof pf, "routes[%u].", r >= mounted ? r - mounted : r);
            obj = sec->render(cfg, &cfg->routes[r].breaker);
            emit_section(cfg, sec, obj, pk, pf, fn, ctx);
            json_decref(obj);
        }
    }
}

struct find_ctx {
    const char *key;
    json_t *found;
};

static void find_one(const struct tg_config_setting *s, void *vctx)
{
    struct find_ctx *f = vctx;
    if (!f->found && strcmp(s->key, f->key) == 0)
        f->found = json_incref(s->value);
}

json_t *tg_config_setting_value(const struct tg_config *cfg, const char *key)
{
    struct find_ctx f = {.key = key};
    tg_config_foreach_setting(cfg, find_one, &f);
    return f.found;
}
