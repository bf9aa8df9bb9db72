/* SPDX-License-Identifier: MIT */
/* The runbooks' Redis checks as JSON; see redis_api.h. Both paths ask the server now,
 * on the Redis collector's connection (collect/redis.h), and answer from its callback:
 * the request holds the admin connection (async.h) and lets go of the Redis request if
 * the client leaves first. A server that is down, refuses or hangs is a 503 with the
 * reason within the target's timeout; the control loop never waits. */
#include "admin/redis_api.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admin/async.h"
#include "admin/query.h"
#include "admin/resp.h"
#include "collect/redis.h"
#include "collect/set.h"

#define SLOWLOG_PATH "/api/v1/monitoring/redis/slowlog"
#define INFO_PATH "/api/v1/monitoring/redis/info"
#define LIMIT_MAX 1000

/* One request in flight: what its answer needs. */
struct pending {
    struct tg_hconn *c;
    struct tg_credis *t;
    struct tg_credis_req *q;
    uint32_t limit;
};

static void respond(struct tg_hconn *c, struct tg_admin_resp *r)
{
    tg_admin_async_respond(c, r);
    tg_admin_resp_free(r);
}

static void unavailable(struct pending *p, const char *why)
{
    struct tg_admin_resp r = {0};
    json_t *v = json_pack("{s:s, s:s, s:s}", "error", "redis unavailable", "reason", why,
                          "instance", tg_credis_instance(p->t));
    tg_admin_resp_json(&r, 503, v);
    respond(p->c, &r);
}

/* Redis hands back what clients sent, which need not be UTF-8: such a string is shown
 * with '?' for each byte outside ASCII rather than dropped. */
static json_t *bytes_json(struct tg_credis_str s)
{
    json_t *v = json_stringn(s.p, s.len);
    if (v)
        return v;
    char *copy = malloc(s.len + 1);
    if (!copy)
        return json_string("");
    for (size_t i = 0; i < s.len; i++)
        copy[i] = (unsigned char)s.p[i] < 0x80 && s.p[i] ? s.p[i] : '?';
    v = json_stringn(copy, s.len);
    free(copy);
    return v;
}

static json_t *entry_json(const struct tg_credis_slowentry *e)
{
    json_t *args = json_array();
    size_t cmd_len = 0;
    for (size_t i = 0; i < e->nargs; i++)
        cmd_len += e->args[i].len + 1;
    char *cmd = malloc(cmd_len + 1);
    size_t at = 0;
    for (size_t i = 0; i < e->nargs; i++) {
        json_array_append_new(args, bytes_json(e->args[i]));
        if (cmd) {
            if (i)
                cmd[at++] = ' ';
            memcpy(cmd + at, e->args[i].p, e->args[i].len);
            at += e->args[i].len;
        }
    }
    json_t *command = bytes_json((struct tg_credis_str){cmd ? cmd : "", cmd ? at : 0});
    free(cmd);
    return json_pack(
        "{s:I, s:I, s:I, s:f, s:o, s:o, s:o, s:o}", "id", (json_int_t)e->id, "timestamp",
        (json_int_t)e->timestamp_s, "duration_us", (json_int_t)e->duration_us, "duration_ms",
        round((double)e->duration_us) / 1000.0, "command", command, "args", args, "client_addr",
        bytes_json(e->client_addr), "client_name", bytes_json(e->client_name));
}

static void on_slowlog(void *arg, int rc, const char *why, const struct tg_credis_slowentry *e,
                       size_t n)
{
    struct pending *p = arg;
    if (rc < 0) {
        unavailable(p, why);
        free(p);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, entry_json(&e[i]));
    struct tg_admin_resp r = {0};
    tg_admin_resp_json(&r, 200,
                       json_pack("{s:s, s:I, s:I, s:o}", "instance", tg_credis_instance(p->t),
                                 "limit", (json_int_t)p->limit, "count", (json_int_t)n, "entries",
                                 list));
    respond(p->c, &r);
    free(p);
}

/* A ratio or null when the denominator is 0 (no traffic yet; no maxmemory). */
static json_t *ratio(double num, double den)
{
    return den > 0 ? json_real(round(num / den * 1e4) / 1e4) : json_null();
}

static void on_info(void *arg, int rc, const char *why, const struct tg_credis_summary *s)
{
    struct pending *p = arg;
    if (rc < 0) {
        unavailable(p, why);
        free(p);
        return;
    }
    json_t *clients =
        json_pack("{s:f, s:f, s:f}", "connected", s->connected_clients, "blocked",
                  s->blocked_clients, "rejected_connections", s->rejected_connections);
    json_t *memory =
        json_pack("{s:f, s:f, s:f, s:o, s:f, s:s}", "used_bytes", s->used_memory, "rss_bytes",
                  s->used_memory_rss, "max_bytes", s->maxmemory, "used_ratio",
                  ratio(s->used_memory, s->maxmemory), "fragmentation_ratio",
                  s->mem_fragmentation_ratio, "policy", s->maxmemory_policy);
    json_t *keyspace = json_pack("{s:f, s:f, s:o, s:f, s:f, s:f, s:f}", "hits", s->keyspace_hits,
                                 "misses", s->keyspace_misses, "hit_rate",
                                 ratio(s->keyspace_hits, s->keyspace_hits + s->keyspace_misses),
                                 "keys", s->keys, "expiring", s->keys_expiring, "evicted",
                                 s->evicted_keys, "expired", s->expired_keys);
    struct tg_admin_resp r = {0};
    tg_admin_resp_json(&r, 200,
                       json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:o, s:o, s:o}", "instance",
                                 tg_credis_instance(p->t), "role", s->role, "version", s->version,
                                 "uptime_s", s->uptime_s, "ops_per_sec", s->ops_per_sec,
                                 "commands_processed", s->commands_processed, "connected_slaves",
                                 s->connected_slaves, "clients", clients, "memory", memory,
                                 "keyspace", keyspace));
    respond(p->c, &r);
    free(p);
}

static void on_client_gone(void *arg)
{
    struct pending *p = arg;
    tg_credis_req_cancel(p->q);
    free(p);
}

static void answer_now(struct tg_hconn *c, int status, const char *msg, const char *field)
{
    struct tg_admin_resp r = {0};
    tg_admin_resp_error(&r, status, msg, field);
    respond(c, &r);
}

/* The target `instance` names (the first Redis target when absent), or NULL after
 * answering why there is none. */
static struct tg_credis *target_of(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                                   struct tg_str query)
{
    char instance[256];
    int rc = tg_admin_query_get(query, "instance", instance, sizeof instance);
    if (rc == TG_EPARSE) {
        answer_now(c, 400, "instance is not a valid name", "instance");
        return NULL;
    }
    const char *name = rc == 0 ? instance : NULL;
    if (!x->set || tg_cset_count(x->set, TG_CKIND_REDIS) == 0) {
        answer_now(c, 404, "no Redis collector is configured (collectors.redis)", NULL);
        return NULL;
    }
    if (name && !tg_cset_has(x->set, TG_CKIND_REDIS, name)) {
        answer_now(c, 404, "no Redis collector has this instance name", "instance");
        return NULL;
    }
    struct tg_credis *t = tg_cset_impl(x->set, TG_CKIND_REDIS, name);
    if (!t)
        answer_now(c, 503, "the Redis collector could not be started (see /health/detailed)", NULL);
    return t;
}

bool tg_admin_redis(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                    const struct tg_http_msg *m, const char *body, size_t blen)
{
    (void)body;
    (void)blen;
    struct tg_str path = m->path;
#define PATH_IS(s) (path.len == sizeof(s) - 1 && memcmp(path.p, s, path.len) == 0)
    bool slowlog = PATH_IS(SLOWLOG_PATH), info = PATH_IS(INFO_PATH);
#undef PATH_IS
    if (!slowlog && !info)
        return false;
    if (m->method != TG_HTTP_GET && m->method != TG_HTTP_HEAD) {
        answer_now(c, 405, "method not allowed", NULL);
        return true;
    }
    uint64_t limit = 10;
    if (slowlog && !tg_admin_query_uint(m->query, "limit", 10, LIMIT_MAX, &limit)) {
        answer_now(c, 400, "limit must be from 1 to 1000", "limit");
        return true;
    }
    if (slowlog && limit == 0) {
        answer_now(c, 400, "limit must be from 1 to 1000", "limit");
        return true;
    }
    struct tg_credis *t = target_of(x, c, m->query);
    if (!t)
        return true;
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        answer_now(c, 503, "out of memory", NULL);
        return true;
    }
    *p = (struct pending){.c = c, .t = t, .limit = (uint32_t)limit};
    struct tg_errbuf eb = {0};
    int rc = slowlog ? tg_credis_slowlog(t, p->limit, on_slowlog, p, &p->q, &eb)
                     : tg_credis_info(t, on_info, p, &p->q, &eb);
    if (rc < 0) {
        unavailable(p, eb.msg[0] ? eb.msg : "cannot connect");
        free(p);
        return true;
    }
    tg_admin_async_hold(c, on_client_gone, p);
    return true;
}
