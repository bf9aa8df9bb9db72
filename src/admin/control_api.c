/* SPDX-License-Identifier: MIT */
/* The control API; see control_api.h. Each PUT maps its body's fields one to one onto
 * settings of one section ("timeout_ms" of PUT /circuit-breaker is the setting
 * circuit_breaker.timeout_ms, or upstreams[api].circuit_breaker.timeout_ms with
 * "upstream": "api"), so the section's schema reader judges every value, and the answer
 * is the section's effective values after the change. */
#include "admin/control_api.h"

#include <ctype.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/query.h"
#include "config/settings.h"
#include "control/runtime.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/process.h"
#include "proxy/gateway.h"
#include "store/audit.h"

#define PREFIX "/api/v1/system/"

/* A PUT that sets keys of one section. */
struct put_op {
    const char *path; /* after PREFIX */
    const char *section;
    bool scoped; /* accepts "upstream" or "route" */
};

static const struct put_op put_ops[] = {
    {"circuit-breaker", "circuit_breaker", true},
    {"timeouts", "timeouts", false},
    {"rate-limit", "rate_limit", false},
    {"tracing", "tracing", false},
    {"fallback", "fallback", false},
    {"retries", "retries", false},
    {"concurrency", "concurrency", false},
    {"cache", "cache", false},
    {"playbooks", "playbooks", false},
    {"autoscale", "autoscale", false},
};

static const struct tg_str *header(const struct tg_http_msg *m, const char *name)
{
    int i = tg_http1_find_header(m, name);
    return i < 0 ? NULL : &m->headers[i].value;
}

/* Equal strings in time that depends only on the length of the presented one. */
static bool same_secret(const char *want, const char *got, size_t got_len)
{
    size_t wl = strlen(want);
    unsigned char diff = (unsigned char)(wl != got_len);
    for (size_t i = 0; i < got_len; i++)
        diff |= (unsigned char)(got[i] ^ (i < wl ? want[i] : 0));
    return diff == 0;
}

int tg_admin_authorize(const struct tg_config *cfg, const struct tg_http_msg *m,
                       struct tg_admin_resp *r)
{
    if (!cfg->admin_token[0])
        return 0;
    const struct tg_str *h = header(m, "Authorization");
    static const char bearer[] = "Bearer ";
    if (h && h->len > sizeof bearer - 1 && strncasecmp(h->p, bearer, sizeof bearer - 1) == 0 &&
        same_secret(cfg->admin_token, h->p + sizeof bearer - 1, h->len - (sizeof bearer - 1)))
        return 0;
    tg_admin_resp_error(r, 401,
                        h ? "wrong token" : "this call needs Authorization: Bearer <token>",
                        NULL);
    r->extra = "WWW-Authenticate: Bearer realm=\"tailguard\"\r\n";
    return -1;
}

/* Who made the change: "token@addr" when a token was presented, else the address. A
 * request that came through the proxy (admin.mount_on_proxy) is from the loopback; its
 * client is the last X-Forwarded-For entry the gateway added. */
void tg_admin_actor(const struct tg_admin_control_ctx *c, const struct tg_config *cfg,
                    const struct tg_http_msg *m, char *buf, size_t cap)
{
    char addr[64];
    /* The gateway's own calls (admin/call.h) name themselves. */
    if (c->peer && strncmp(c->peer, "playbook:", 9) == 0) {
        snprintf(buf, cap, "%s", c->peer);
        return;
    }
    snprintf(addr, sizeof addr, "%s", c->peer ? c->peer : "?");
    const struct tg_str *xff = header(m, "X-Forwarded-For");
    if (xff && xff->len && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0)) {
        const char *last = xff->p + xff->len;
        const char *start = last;
        while (start > xff->p && start[-1] != ',')
            start--;
        while (start < last && *start == ' ')
            start++;
        size_t n = (size_t)(last - start);
        if (n > 0 && n < sizeof addr && strspn(start, "0123456789abcdefABCDEF.:") >= n)
            snprintf(addr, sizeof addr, "%.*s", (int)n, start);
    }
    snprintf(buf, cap, "%s%s", cfg->admin_token[0] ? "token@" : "", addr);
}

/* The body as a JSON object, or NULL with the 400/415 response filled. */
json_t *tg_admin_body_object(const struct tg_http_msg *m, const char *body, size_t len,
                             bool optional, struct tg_admin_resp *r)
{
    const struct tg_str *ct = header(m, "Content-Type");
    if (ct && !(ct->len >= 16 && strncasecmp(ct->p, "application/json", 16) == 0 &&
                (ct->len == 16 || ct->p[16] == ';' || ct->p[16] == ' '))) {
        tg_admin_resp_error(r, 415, "the body must be JSON (Content-Type: application/json)",
                            NULL);
        return NULL;
    }
    if (len == 0) {
        if (optional)
            return json_object();
        tg_admin_resp_error(r, 400, "a JSON object body is required", NULL);
        return NULL;
    }
    json_error_t err;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!v || !json_is_object(v)) {
        char msg[300];
        if (v)
            snprintf(msg, sizeof msg, "the body must be a JSON object");
        else
            snprintf(msg, sizeof msg, "bad JSON at line %d column %d: %s", err.line, err.column,
                     err.text);
        json_decref(v);
        tg_admin_resp_error(r, 400, msg, NULL);
        return NULL;
    }
    return v;
}

/* The effective values of one section (with its scope prefix) of `cfg`. */
struct collect_ctx {
    const char *prefix;
    size_t plen;
    json_t *out;
};

static void collect(const struct tg_config_setting *s, void *vctx)
{
    struct collect_ctx *c = vctx;
    if (strncmp(s->key, c->prefix, c->plen) == 0 && !strchr(s->key + c->plen, '.'))
        json_object_set(c->out, s->key + c->plen, s->value);
}

static json_t *section_values(const struct tg_config *cfg, const char *prefix)
{
    struct collect_ctx c = {prefix, strlen(prefix), json_object()};
    tg_config_foreach_setting(cfg, collect, &c);
    return c.out;
}

/* Maps a runtime error onto the answer: the field is the body key the message is about. */
static void change_error(struct tg_admin_resp *r, int rc, const struct tg_errbuf *eb,
                         const char *prefix, json_t *body)
{
    const char *field = NULL, *k;
    json_t *v;
    size_t plen = strlen(prefix);
    json_object_foreach(body, k, v) {
        size_t kl = strlen(k);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "unknown key \"%.60s\"", k);
        if (strstr(eb->msg, quoted))
            field = k;
        else if (strncmp(eb->msg, prefix, plen) == 0 && strncmp(eb->msg + plen, k, kl) == 0 &&
            (eb->msg[plen + kl] == ':' || eb->msg[plen + kl] == '.' ||
             eb->msg[plen + kl] == '['))
            field = k;
    }
    int status = rc == TG_ERESTART || rc == TG_ELIMIT ? 409 : rc == TG_ESTORE ? 500 : 400;
    tg_admin_resp_error(r, status, eb->msg, field);
}

/* Runs the change and publishes the configuration it builds. 0, or the response filled. */
static int apply(const struct tg_admin_control_ctx *c, const struct tg_runtime_set *sets,
                 size_t n, const struct tg_runtime_who *who, const char *prefix, json_t *body,
                 struct tg_admin_resp *r, const struct tg_config **now)
{
    struct tg_errbuf eb = {0};
    struct tg_config *cfg = NULL;
    int rc = tg_runtime_change(c->rt, sets, n, who, tg_gateway_config(c->gw), &cfg, &eb);
    if (rc) {
        tg_log(TG_LOG_WARN, "control", "change-refused action=\"%s\" actor=%s error=\"%s\"",
               who->action, who->actor, eb.msg);
        change_error(r, rc, &eb, prefix, body);
        return -1;
    }
    if (tg_gateway_reload(c->gw, cfg, NULL, NULL, &eb) != 0) {
        /* Written but not applied: the next change or reload applies it; say so. */
        tg_log(TG_LOG_ERROR, "control", "change-not-applied action=\"%s\" error=\"%s\"",
               who->action, eb.msg);
        tg_admin_resp_error(r, 500, eb.msg, NULL);
        return -1;
    }
    tg_log(TG_LOG_INFO, "control", "changed action=\"%s\" actor=%s target=%s", who->action,
           who->actor, who->target);
    *now = tg_gateway_config(c->gw);
    return 0;
}

static void put_section(const struct tg_admin_control_ctx *c, const struct put_op *op,
                        json_t *body, const char *actor, struct tg_admin_resp *r)
{
    char prefix[128], action[96];
    const char *scope_field = NULL, *owner = NULL;
    if (op->scoped) {
        json_t *u = json_object_get(body, "upstream"), *rt = json_object_get(body, "route");
        if (u && rt) {
            tg_admin_resp_error(r, 400, "give either upstream or route", "route");
            return;
        }
        if (u || rt) {
            scope_field = u ? "upstream" : "route";
            owner = json_string_value(u ? u : rt);
            if (!owner || !*owner || strlen(owner) > 63 || strpbrk(owner, "[]. ")) {
                tg_admin_resp_error(r, 400, "must be the name of an upstream or route",
                                    scope_field);
                return;
            }
        }
    }
    if (owner)
        snprintf(prefix, sizeof prefix, "%s[%s].%s.", *scope_field == 'u' ? "upstreams" : "routes",
                 owner, op->section);
    else
        snprintf(prefix, sizeof prefix, "%s.", op->section);
    size_t n = json_object_size(body) - (owner ? 1 : 0);
    if (n == 0) {
        tg_admin_resp_error(r, 400, "no settings given", NULL);
        return;
    }
    struct tg_runtime_set *sets = calloc(n, sizeof *sets);
    char **keys = calloc(n, sizeof *keys), **vals = calloc(n, sizeof *vals);
    size_t i = 0;
    const char *k;
    json_t *v;
    bool ok = sets && keys && vals;
    json_object_foreach(body, k, v) {
        if (!ok || (scope_field && strcmp(k, scope_field) == 0))
            continue;
        size_t kl = strlen(prefix) + strlen(k) + 1;
        keys[i] = malloc(kl);
        vals[i] = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!keys[i] || !vals[i]) {
            ok = false;
            i++;
            continue;
        }
        snprintf(keys[i], kl, "%s%s", prefix, k);
        sets[i] = (struct tg_runtime_set){keys[i], vals[i]};
        i++;
    }
    snprintf(action, sizeof action, "PUT " PREFIX "%s", op->path);
    char target[128];
    snprintf(target, sizeof target, "%.*s", (int)(strlen(prefix) - 1), prefix);
    struct tg_runtime_who who = {actor, action, target};
    const struct tg_config *now;
    if (!ok)
        tg_admin_resp_error(r, 500, "out of memory", NULL);
    else if (apply(c, sets, n, &who, prefix, body, r, &now) == 0)
        tg_admin_resp_json(r, 200,
                           json_pack("{s:s,s:s,s:o}", "status", "ok", "setting", target,
                                     "effective", section_values(now, prefix)));
    for (size_t j = 0; j < n; j++) {
        free(keys ? keys[j] : NULL);
        free(vals ? vals[j] : NULL);
    }
    free(keys);
    free(vals);
    free(sets);
}

/* The routes a feature sheds: those that declare it, else (a feature no route declares)
 * every path with a segment of that name. */
static json_t *feature_matches(const struct tg_config *cfg, const char *name)
{
    json_t *routes = json_array();
    for (uint32_t i = 0; i < cfg->nroutes; i++) {
        if (strcmp(cfg->routes[i].feature, name) == 0)
            json_array_append_new(routes, json_string(cfg->routes[i].name));
    }
    if (json_array_size(routes))
        return json_pack("{s:s,s:o}", "matched_by", "route", "routes", routes);
    json_decref(routes);
    char glob[96];
    snprintf(glob, sizeof glob, "*/%s/* and */%s", name, name);
    return json_pack("{s:s,s:s}", "matched_by", "path_segment", "paths", glob);
}

static void features(const struct tg_admin_control_ctx *c, bool disable, json_t *body,
                     const char *actor, struct tg_admin_resp *r)
{
    const char *k;
    json_t *v, *list = json_object_get(body, "features");
    json_object_foreach(body, k, v) {
        if (strcmp(k, "features") != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field \"%.60s\" (allowed: features)", k);
            tg_admin_resp_error(r, 400, msg, k);
            return;
        }
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        tg_admin_resp_error(r, 400, "features must be a non-empty list of names", "features");
        return;
    }
    const struct tg_config *cur = tg_gateway_config(c->gw);
    json_t *next = json_array();
    for (uint32_t i = 0; i < cur->features.ndisabled; i++)
        json_array_append_new(next, json_string(cur->features.disabled[i]));
    size_t idx;
    json_array_foreach(list, idx, v) {
        const char *name = json_string_value(v);
        if (!name || !*name || strlen(name) > 63 ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                strlen(name)) {
            json_decref(next);
            tg_admin_resp_error(r, 400, "feature names are 1-63 of [A-Za-z0-9_.-]", "features");
            return;
        }
        size_t j;
        json_t *e;
        bool present = false;
        json_array_foreach(next, j, e) {
            if (strcmp(json_string_value(e), name) == 0) {
                present = true;
                if (!disable) {
                    json_array_remove(next, j);
                    break;
                }
            }
        }
        if (disable && !present)
            json_array_append_new(next, json_string(name));
    }
    char *val = json_dumps(next, JSON_COMPACT);
    json_decref(next);
    struct tg_runtime_set set = {"features.disabled", val};
    char action[64];
    snprintf(action, sizeof action, "POST " PREFIX "features/%s", disable ? "disable" : "enable");
    struct tg_runtime_who who = {actor, action, "features"};
    const struct tg_config *now;
    if (val && apply(c, &set, 1, &who, "features.", body, r, &now) == 0) {
        json_t *matched = json_object();
        json_array_foreach(list, idx, v)
            json_object_set_new(matched, json_string_value(v),
                                feature_matches(now, json_string_value(v)));
        json_t *dis = json_array();
        for (uint32_t i = 0; i < now->features.ndisabled; i++)
            json_array_append_new(dis, json_string(now->features.disabled[i]));
        tg_admin_resp_json(r, 200,
                           json_pack("{s:s,s:o,s:o}", "status", "ok", "disabled", dis,
                                     disable ? "shed" : "restored", matched));
    } else if (!val) {
        tg_admin_resp_error(r, 500, "out of memory", NULL);
    }
    free(val);
}

/* The setting `workers`, like any other change (persisted, audited, published); the
 * gateway starts or retires threads when it publishes it. The answer comes once the new
 * workers run; removed ones may still be finishing their requests (`retiring`). */
static void workers(const struct tg_admin_control_ctx *c, json_t *body, const char *actor,
                    struct tg_admin_resp *r)
{
    json_t *n = json_object_get(body, "count");
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "count") != 0) {
            tg_admin_resp_error(r, 400, "unknown field (allowed: count)", k);
            return;
        }
    }
    if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 256) {
        tg_admin_resp_error(r, 400, "count must be an integer from 1 to 256", "count");
        return;
    }
    uint32_t want = (uint32_t)json_integer_value(n), before, running, retiring;
    char val[16];
    snprintf(val, sizeof val, "%u", want);
    struct tg_runtime_set set = {"workers", val};
    struct tg_runtime_who who = {actor, "PUT " PREFIX "workers", "workers"};
    struct tg_errbuf eb = {0};
    struct tg_config *cfg = NULL;
    tg_gateway_worker_counts(c->gw, &before, &retiring);
    int64_t start = tg_clock_mono_us();
    int rc = tg_runtime_change(c->rt, &set, 1, &who, tg_gateway_config(c->gw), &cfg, &eb);
    if (rc == TG_ELIMIT) {
        tg_admin_resp_error(r, 409,
                            "workers: set by --workers, which wins over the control API; "
                            "restart without --workers to change it here",
                            "count");
        return;
    }
    if (rc) {
        tg_admin_resp_error(r, rc == TG_ESTORE ? 500 : 400, eb.msg, "count");
        return;
    }
    if (tg_gateway_reload(c->gw, cfg, NULL, NULL, &eb) != 0) {
        tg_admin_resp_error(r, 500, eb.msg, NULL);
        return;
    }
    tg_gateway_worker_counts(c->gw, &running, &retiring);
    int64_t took = tg_clock_mono_us() - start;
    tg_log(TG_LOG_INFO, "control", "changed action=\"%s\" actor=%s target=workers count=%u",
           who.action, actor, want);
    if (running != want) {
        char msg[160];
        snprintf(msg, sizeof msg, "workers: %u of %u running (the log says why)", running, want);
        tg_admin_resp_error(r, 500, msg, NULL);
        return;
    }
    tg_admin_resp_json(r, 200,
                       json_pack("{s:s,s:s,s:{s:I},s:I,s:I,s:f}", "status", "ok", "setting",
                                 "workers", "effective", "workers", (json_int_t)running,
                                 "previous", (json_int_t)before, "retiring",
                                 (json_int_t)retiring, "took_ms", (double)took / 1000.0));
}

/* Appends the audit row of an action that changes no setting. 0, or the 500 filled. */
int tg_admin_audit_action(const struct tg_admin_control_ctx *c, const char *actor,
                          const char *action, const char *target, const char *detail,
                          struct tg_admin_resp *r)
{
    struct tg_store_audit row = {.ts_us = tg_clock_wall_us(),
                                 .actor = actor,
                                 .action = action,
                                 .target = target,
                                 .new_json = detail};
    struct tg_errbuf eb = {0};
    if (tg_store_audit_append(tg_runtime_store(c->rt), &row, NULL, &eb) != 0) {
        tg_admin_resp_error(r, 500, eb.msg, NULL);
        return -1;
    }
    return 0;
}

/* The GC call: the response cache drops entries past their retention (nothing still
 * servable is evicted: that would only cost the upstream), then malloc gives back what
 * it can. */
static void gc(const struct tg_admin_control_ctx *c, const char *actor, struct tg_admin_resp *r)
{
    int64_t before, after, vs;
    tg_process_memory(&before, &vs);
    struct tg_cache *cache = tg_gateway_cache(c->gw);
    struct tg_cache_trim_result t = {0};
    if (cache)
        t = tg_cache_trim(cache, tg_clock_mono_us(), SIZE_MAX);
    malloc_trim(0);
    tg_process_memory(&after, &vs);
    json_t *cj = json_pack("{s:I,s:I,s:I,s:I}", "expired", (json_int_t)t.expired, "evicted",
                           (json_int_t)t.evicted, "bytes_before", (json_int_t)t.bytes_before,
                           "bytes_after", (json_int_t)t.bytes_after);
    json_t *out = json_pack("{s:s,s:s,s:I,s:I,s:o}", "status", "ok", "action",
                            "cache_trim,malloc_trim", "rss_before_bytes", (json_int_t)before,
                            "rss_after_bytes", (json_int_t)after, "cache", cj);
    char *detail = json_dumps(out, JSON_COMPACT);
    if (tg_admin_audit_action(c, actor, "POST " PREFIX "gc", "process", detail, r) == 0)
        tg_admin_resp_json(r, 200, out);
    else
        json_decref(out);
    free(detail);
}

/* Only the fields in allowed[] (NULL-terminated); else 400 naming the first other. */
static bool only_fields(json_t *body, const char *const *allowed, const char *list,
                        struct tg_admin_resp *r)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (!*a) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown field \"%.60s\" (allowed: %s)", k, list);
            tg_admin_resp_error(r, 400, msg, k);
            return false;
        }
    }
    return true;
}

/* POST /upstreams/eject {"upstream", "server", "duration_s"}: one server out of rotation
 * for a while (1 s to 1 h, default 300 s), under its upstream's ejection cap, slow start
 * on its return. What a playbook does about one slow server among healthy peers. */
static void eject(const struct tg_admin_control_ctx *c, json_t *body, const char *actor,
                  struct tg_admin_resp *r)
{
    static const char *const allowed[] = {"upstream", "server", "duration_s", NULL};
    if (!only_fields(body, allowed, "upstream, server, duration_s", r))
        return;
    const char *up = json_string_value(json_object_get(body, "upstream"));
    const char *srv = json_string_value(json_object_get(body, "server"));
    json_t *d = json_object_get(body, "duration_s");
    if (!up || !*up) {
        tg_admin_resp_error(r, 400, "upstream must be an upstream's name", "upstream");
        return;
    }
    if (!srv || !*srv) {
        tg_admin_resp_error(r, 400, "server must be a server's host:port as configured", "server");
        return;
    }
    double secs = d ? json_number_value(d) : 300;
    if (d && (!json_is_number(d) || secs < 1 || secs > 3600)) {
        tg_admin_resp_error(r, 400, "duration_s must be a number from 1 to 3600", "duration_s");
        return;
    }
    struct tg_errbuf eb = {0};
    int rc = tg_gateway_eject(c->gw, up, srv, (int64_t)(secs * 1e6), &eb);
    if (rc) {
        tg_admin_resp_error(r, rc == TG_ENOTFOUND ? 404 : 409, eb.msg,
                            rc == TG_ENOTFOUND ? "server" : NULL);
        return;
    }
    json_t *out = json_pack("{s:s,s:s,s:s,s:f}", "status", "ok", "upstream", up, "server", srv,
                            "duration_s", secs);
    char *detail = json_dumps(out, JSON_COMPACT);
    char target[200];
    snprintf(target, sizeof target, "upstreams[%s].servers[%s]", up, srv);
    if (tg_admin_audit_action(c, actor, "POST " PREFIX "upstreams/eject", target, detail, r) == 0)
        tg_admin_resp_json(r, 200, out);
    else
        json_decref(out);
    free(detail);
}

/* A request target a cache key can be: "/path" or "/path?query", printable, no spaces. */
static bool target_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 1024 || s[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    }
    return true;
}

/* POST /cache/purge: {"keys": [...]} (path and query exactly), {"prefix": "..."} or
 * {"pattern": "..."} (fnmatch, or a key-store name like "products:category:*"). */
static void cache_purge(const struct tg_admin_control_ctx *c, json_t *body, const char *actor,
                        struct tg_admin_resp *r)
{
    static const char *const allowed[] = {"keys", "prefix", "pattern", NULL};
    if (!only_fields(body, allowed, "keys, prefix, pattern", r))
        return;
    if (json_object_size(body) != 1) {
        tg_admin_resp_error(r, 400, "give exactly one of keys, prefix, pattern", NULL);
        return;
    }
    json_t *keys = json_object_get(body, "keys"), *prefix = json_object_get(body, "prefix");
    json_t *pattern = json_object_get(body, "pattern");
    size_t idx;
    json_t *v;
    if (keys) {
        bool ok = json_is_array(keys) && json_array_size(keys) > 0 && json_array_size(keys) <= 1000;
        json_array_foreach(keys, idx, v) ok = ok && target_ok(json_string_value(v));
        if (!ok) {
            tg_admin_resp_error(r, 400,
                                "keys must be 1-1000 request targets (\"/path\" or "
                                "\"/path?query\", printable, no spaces)",
                                "keys");
            return;
        }
    } else if (prefix && !(json_is_string(prefix) && json_string_length(prefix) > 0 &&
                           json_string_length(prefix) <= 1024)) {
        tg_admin_resp_error(r, 400, "prefix must be a string of 1-1024 bytes", "prefix");
        return;
    } else if (pattern && !(json_is_string(pattern) && json_string_length(pattern) > 0 &&
                            json_string_length(pattern) <= 1024)) {
        tg_admin_resp_error(r, 400, "pattern must be a string of 1-1024 bytes", "pattern");
        return;
    }
    struct tg_cache *cache = tg_gateway_cache(c->gw);
    long purged = 0;
    if (cache && keys) {
        json_array_foreach(keys, idx, v) {
            const char *k = json_string_value(v), *q = strchr(k, '?');
            size_t plen = q ? (size_t)(q - k) : strlen(k);
            purged += (long)tg_cache_purge_key(cache, k, plen, q ? q + 1 : "", q ? strlen(q + 1) : 0);
        }
    } else if (cache && prefix) {
        purged = (long)tg_cache_purge_prefix(cache, json_string_value(prefix),
                                             json_string_length(prefix));
    } else if (cache) {
        purged = tg_cache_purge_pattern(cache, json_string_value(pattern));
    }
    if (purged < 0) {
        tg_admin_resp_error(r, 400, "not a usable pattern", "pattern");
        return;
    }
    json_t *what = json_deep_copy(body);
    json_object_set_new(what, "purged", json_integer(purged));
    char *detail = json_dumps(what, JSON_COMPACT);
    json_decref(what);
    if (tg_admin_audit_action(c, actor, "POST " PREFIX "cache/purge", "cache", detail, r) == 0) {
        tg_log(TG_LOG_INFO, "control", "cache-purged actor=%s entries=%ld", actor, purged);
        tg_admin_resp_json(r, 200, json_pack("{s:s,s:I}", "status", "ok", "purged",
                                             (json_int_t)purged));
    }
    free(detail);
}

/* POST /cache/warm {"paths": [...]}: GETs through the gateway of each path that lacks an
 * entry fresh for the next minute; answered at once (202), the fetches go on. */
static void cache_warm(const struct tg_admin_control_ctx *c, json_t *body, const char *actor,
                       struct tg_admin_resp *r)
{
    static const char *const allowed[] = {"paths", NULL};
    if (!only_fields(body, allowed, "paths", r))
        return;
    json_t *paths = json_object_get(body, "paths");
    size_t idx;
    json_t *v;
    bool ok = json_is_array(paths) && json_array_size(paths) > 0 && json_array_size(paths) <= 100;
    json_array_foreach(paths, idx, v) ok = ok && target_ok(json_string_value(v));
    if (!ok) {
        tg_admin_resp_error(r, 400,
                            "paths must be 1-100 request targets (\"/path\" or \"/path?query\", "
                            "printable, no spaces)",
                            "paths");
        return;
    }
    if (!tg_gateway_cache_active(c->gw)) {
        tg_admin_resp_error(r, 409,
                            "the cache is off: add cache.rules or turn fallback on (and keep "
                            "cache.max_bytes above 0)",
                            "paths");
        return;
    }
    json_t *started = json_array(), *fresh = json_array(), *skipped = json_array();
    json_t *failed = json_array();
    json_array_foreach(paths, idx, v) {
        const char *p = json_string_value(v);
        int rc = tg_gateway_cache_warm(c->gw, p, 60 * 1000000LL);
        json_array_append(rc == TG_GATEWAY_WARM_STARTED      ? started
                          : rc == TG_GATEWAY_WARM_FRESH      ? fresh
                          : rc == TG_GATEWAY_WARM_NOT_CACHED ? skipped
                                                             : failed,
                          v);
    }
    json_t *out = json_pack("{s:s,s:o,s:o,s:o,s:o}", "status", "accepted", "warming", started,
                            "fresh", fresh, "not_cached", skipped, "failed", failed);
    char *detail = json_dumps(out, JSON_COMPACT);
    if (tg_admin_audit_action(c, actor, "POST " PREFIX "cache/warm", "cache", detail, r) == 0)
        tg_admin_resp_json(r, 202, out);
    else
        json_decref(out);
    free(detail);
}

static void get_config(const struct tg_admin_control_ctx *c, struct tg_admin_resp *r)
{
    const struct tg_config *cfg = tg_gateway_config(c->gw);
    tg_admin_resp_json(r, 200,
                       json_pack("{s:o,s:o,s:s}", "settings", tg_runtime_settings(c->rt, cfg),
                                 "overrides", tg_runtime_overrides(c->rt), "file",
                                 cfg->file[0] ? cfg->file : ""));
}

static int audit_row(void *vout, const struct tg_store_audit *row)
{
    json_t *out = vout;
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)row->id, "actor",
                          row->actor, "action", row->action, "target",
                          row->target ? row->target : "", "result",
                          row->result ? row->result : "ok", "time", "");
    char at[32];
    json_object_set_new(o, "time", json_string(tg_clock_iso(row->ts_us, at, sizeof at)));
    json_object_set_new(o, "old", row->old_json ? json_loads(row->old_json, JSON_DECODE_ANY, NULL)
                                                : json_null());
    json_object_set_new(o, "new", row->new_json ? json_loads(row->new_json, JSON_DECODE_ANY, NULL)
                                                : json_null());
    json_array_append_new(out, o);
    return 0;
}

static void get_audit(const struct tg_admin_control_ctx *c, const struct tg_http_msg *m,
                      struct tg_admin_resp *r)
{
    uint64_t limit, since;
    if (!tg_admin_query_uint(m->query, "limit", 100, 1000, &limit) || limit == 0) {
        tg_admin_resp_error(r, 400, "limit must be an integer from 1 to 1000", "limit");
        return;
    }
    if (!tg_admin_query_uint(m->query, "since", 0, 1ull << 40, &since)) {
        tg_admin_resp_error(r, 400, "since must be Unix seconds", "since");
        return;
    }
    struct tg_store_audit_filter f = {.since_us = (int64_t)since * 1000000,
                                      .limit = (unsigned)limit};
    json_t *rows = json_array();
    struct tg_errbuf eb = {0};
    if (tg_store_audit_list(tg_runtime_store(c->rt), &f, audit_row, rows, &eb) != 0) {
        json_decref(rows);
        tg_admin_resp_error(r, 500, eb.msg, NULL);
        return;
    }
    tg_admin_resp_json(r, 200, json_pack("{s:o}", "entries", rows));
}

static void delete_override(const struct tg_admin_control_ctx *c, const char *key,
                            const char *actor, struct tg_admin_resp *r)
{
    struct tg_runtime_set set = {key, NULL};
    char action[300];
    snprintf(action, sizeof action, "DELETE " PREFIX "overrides/%.200s", key);
    struct tg_runtime_who who = {actor, action, key};
    const struct tg_config *now;
    json_t *none = json_object();
    struct tg_errbuf eb = {0};
    struct tg_config *cfg = NULL;
    int rc = tg_runtime_change(c->rt, &set, 1, &who, tg_gateway_config(c->gw), &cfg, &eb);
    if (rc) {
        tg_admin_resp_error(r, rc == TG_ENOTFOUND ? 404 : rc == TG_ESTORE ? 500 : 409, eb.msg,
                            NULL);
    } else if (tg_gateway_reload(c->gw, cfg, NULL, NULL, &eb) != 0) {
        tg_admin_resp_error(r, 500, eb.msg, NULL);
    } else {
        now = tg_gateway_config(c->gw);
        json_t *v = tg_config_setting_value(now, key);
        tg_admin_resp_json(r, 200,
                           json_pack("{s:s,s:s,s:o}", "status", "ok", "setting", key, "effective",
                                     v ? v : json_null()));
    }
    json_decref(none);
}

bool tg_admin_control(const struct tg_admin_control_ctx *c, const struct tg_http_msg *req,
                      const char *body, size_t body_len, struct tg_admin_resp *r)
{
    size_t plen = sizeof PREFIX - 1;
    if (req->path.len < plen || memcmp(req->path.p, PREFIX, plen) != 0)
        return false;
    char sub[256];
    size_t sl = req->path.len - plen;
    if (sl >= sizeof sub) {
        tg_admin_resp_error(r, 404, "not found", NULL);
        return true;
    }
    memcpy(sub, req->path.p + plen, sl);
    sub[sl] = '\0';
    enum tg_http_method m = req->method;
    bool get = m == TG_HTTP_GET || m == TG_HTTP_HEAD;
    if (strncmp(sub, "agents/", 7) == 0) {
        json_t *e = json_pack("{s:s,s:s,s:s}", "status", "unsupported", "component", "agents",
                              "error",
                              "app-specific: tailguard forwards it to the application with "
                              "admin.mount_on_proxy on the proxy port");
        tg_admin_resp_json(r, 501, e);
        return true;
    }
    if (!c->rt) {
        tg_admin_resp_error(r, 404, "not found", NULL);
        return true;
    }
    const struct tg_config *cfg = tg_gateway_config(c->gw);
    if (strcmp(sub, "config") == 0 || strcmp(sub, "audit") == 0) {
        if (!get)
            tg_admin_resp_error(r, 405, "method not allowed", NULL);
        else if (sub[0] == 'c')
            get_config(c, r);
        else
            get_audit(c, req, r);
        return true;
    }
    if (strcmp(sub, "autoscale") == 0 && get) {
        tg_admin_autoscale_get(c, r);
        return true;
    }
    const struct put_op *op = NULL;
    for (size_t i = 0; i < sizeof put_ops / sizeof put_ops[0]; i++) {
        if (strcmp(sub, put_ops[i].path) == 0)
            op = &put_ops[i];
    }
    bool is_features = strcmp(sub, "features/disable") == 0 || strcmp(sub, "features/enable") == 0;
    bool is_override = strncmp(sub, "overrides/", 10) == 0 && sub[10];
    bool is_cache_op = strcmp(sub, "cache/purge") == 0 || strcmp(sub, "cache/warm") == 0 ||
                       strcmp(sub, "upstreams/eject") == 0;
    bool known = op || is_features || is_override || is_cache_op ||
                 strcmp(sub, "workers") == 0 || strcmp(sub, "gc") == 0 ||
                 strcmp(sub, "scale") == 0;
    if (!known) {
        tg_admin_resp_error(r, 404, "not found", NULL);
        return true;
    }
    enum tg_http_method want = op || strcmp(sub, "workers") == 0 ? TG_HTTP_PUT
                               : is_override                   ? TG_HTTP_DELETE
                                                               : TG_HTTP_POST;
    if (m != want) {
        tg_admin_resp_error(r, 405, "method not allowed", NULL);
        return true;
    }
    if (tg_admin_authorize(cfg, req, r) != 0)
        return true;
    char actor[96];
    tg_admin_actor(c, cfg, req, actor, sizeof actor);
    if (is_override) {
        /* Setting names hold brackets, which clients percent-encode. */
        char key[256];
        size_t o = 0;
        for (const char *p = sub + 10; *p && o + 1 < sizeof key; p++) {
            unsigned x;
            if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
                sscanf(p + 1, "%2x", &x) == 1 && x >= 0x20 && x < 0x7f) {
                key[o++] = (char)x;
                p += 2;
            } else {
                key[o++] = *p;
            }
        }
        key[o] = '\0';
        delete_override(c, key, actor, r);
        return true;
    }
    json_t *obj = tg_admin_body_object(req, body, body_len, strcmp(sub, "gc") == 0, r);
    if (!obj)
        return true;
    if (op)
        put_section(c, op, obj, actor, r);
    else if (is_features)
        features(c, sub[9] == 'd', obj, actor, r);
    else if (strcmp(sub, "workers") == 0)
        workers(c, obj, actor, r);
    else if (strcmp(sub, "cache/purge") == 0)
        cache_purge(c, obj, actor, r);
    else if (strcmp(sub, "cache/warm") == 0)
        cache_warm(c, obj, actor, r);
    else if (strcmp(sub, "upstreams/eject") == 0)
        eject(c, obj, actor, r);
    else if (strcmp(sub, "scale") == 0)
        tg_admin_scale_post(c, obj, actor, r);
    else if (json_object_size(obj))
        tg_admin_resp_error(r, 400, "gc takes no parameters", json_object_iter_key(
                                                                  json_object_iter(obj)));
    else
        gc(c, actor, r);
    json_decref(obj);
    return true;
}
