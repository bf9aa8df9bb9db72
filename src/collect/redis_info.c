/* SPDX-License-Identifier: MIT */
/* INFO text to redis_exporter's families; see redis_info.h. One pass over the lines:
 * the section header ("# Keyspace") decides how a line is read, as in the exporter, and
 * a field of the table (redis_fields.c) becomes a plain series wherever it appears. A
 * line longer than the buffers below is skipped whole (no INFO field comes near). The
 * families of per-command lines alternate, which the snapshot regroups (snap.h). */
#include "collect/redis_info.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/redis_int.h"
#include "collect/snap.h"
#include "core/err.h"

#define KEY_MAX 128
#define VAL_MAX 512
#define NAME_MAX_ 160

enum section {
    SEC_OTHER = 0,
    SEC_SERVER,
    SEC_REPLICATION,
    SEC_COMMANDSTATS,
    SEC_ERRORSTATS,
    SEC_KEYSPACE,
};

/* The redis_instance_info labels, in the exporter's order, and what else the end of the
 * parse needs. */
static const char *const info_labels[] = {
    "role",     "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy",
    "tcp_port", "run_id",        "process_id"};
#define NINFO (sizeof info_labels / sizeof info_labels[0])

struct parse {
    struct tg_csnap *out;
    struct tg_credis_summary *sum;
    int64_t now_wall_s;
    enum section sec;
    char info[NINFO][96];
    char master_host[96], master_port[16], slave_read_only[8];
    uint64_t seen_db[2]; /* db0..db127 that had a Keyspace line */
    int rc;
    bool any;
};

static void set_rc(struct parse *p, int rc)
{
    if (rc < 0 && p->rc == 0)
        p->rc = rc;
}

/* Copies `src` into dst[0..cap), cut to fit (INFO values longer than a label needs are
 * not worth an error). */
static void scopy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The exporter's value reading: ok/true are 1, err/fail/false 0, else a number. */
static bool read_value(const char *v, double *out)
{
    if (strcmp(v, "ok") == 0 || strcmp(v, "true") == 0) {
        *out = 1;
        return true;
    }
    if (strcmp(v, "err") == 0 || strcmp(v, "fail") == 0 || strcmp(v, "false") == 0) {
        *out = 0;
        return true;
    }
    if (!*v)
        return false;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || errno == ERANGE)
        return false;
    *out = d;
    return true;
}

/* Adds one series to family redis_<name>. */
static void emit(struct parse *p, const char *name, enum tg_metric_type type, const char *help,
                 double v, size_t n, const char *const *ln, const char *const *lv)
{
    if (!p->out)
        return;
    char full[NAME_MAX_];
    snprintf(full, sizeof full, "redis_%s", name);
    set_rc(p, tg_csnap_family(p->out, full, type, help, NULL));
    set_rc(p, tg_csnap_add(p->out, v, n, ln, lv));
}

static void emit1(struct parse *p, const char *name, enum tg_metric_type type, const char *help,
                  double v, const char *label, const char *value)
{
    emit(p, name, type, help, v, label ? 1 : 0, &label, &value);
}

static int field_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct tg_credis__field *)elem)->info);
}

static const struct tg_credis__field *field_find(const char *key)
{
    return bsearch(key, tg_credis__fields, tg_credis__nfields, sizeof tg_credis__fields[0],
                   field_cmp);
}

/* The value of `name` in "a=1,b=2" lists (Keyspace, Commandstats, slaveN lines). */
static bool kv_get(const char *list, const char *name, double *out)
{
    size_t n = strlen(name);
    for (const char *s = list; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
        if (strncmp(s, name, n) == 0 && s[n] == '=') {
            char buf[64];
            size_t len = strcspn(s + n + 1, ",");
            if (len >= sizeof buf)
                return false;
            memcpy(buf, s + n + 1, len);
            buf[len] = '\0';
            return read_value(buf, out);
        }
    }
    return false;
}

static bool kv_str(const char *list, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *s = list; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
        if (strncmp(s, name, n) == 0 && s[n] == '=') {
            size_t len = strcspn(s + n + 1, ",");
            snprintf(out, cap, "%.*s", (int)len, s + n + 1);
            return true;
        }
    }
    return false;
}

/* db3:keys=10,expires=2,avg_ttl=5000 (Redis 7.2 adds subexpiry=N). Keys and expires are
 * required, as in the exporter; avg_ttl is milliseconds there and seconds here. */
static bool keyspace_line(struct parse *p, const char *key, const char *val)
{
    char *end;
    if (strncmp(key, "db", 2) != 0 || key[2] < '0' || key[2] > '9')
        return false;
    unsigned long db = strtoul(key + 2, &end, 10);
    double keys, expires, ttl, cached;
    if (*end || !kv_get(val, "keys", &keys) || !kv_get(val, "expires", &expires))
        return false;
    const char *dbl[] = {"db"};
    emit(p, "db_keys", TG_METRIC_GAUGE, "Total number of keys by DB", keys, 1, dbl, &key);
    emit(p, "db_keys_expiring", TG_METRIC_GAUGE, "Total number of expiring keys by DB", expires, 1,
         dbl, &key);
    if (kv_get(val, "cached_keys", &cached))
        emit(p, "db_keys_cached", TG_METRIC_GAUGE, "Total number of cached keys by DB", cached, 1,
             dbl, &key);
    if (kv_get(val, "avg_ttl", &ttl))
        emit(p, "db_avg_ttl_seconds", TG_METRIC_GAUGE, "Avg TTL in seconds", ttl / 1000, 1, dbl,
             &key);
    if (db < 128)
        p->seen_db[db / 64] |= 1ull << (db % 64);
    if (p->sum) {
        p->sum->keys += keys;
        p->sum->keys_expiring += expires;
    }
    return true;
}

/* cmdstat_get:calls=21,usec=175,usec_per_call=8.33[,rejected_calls=0,failed_calls=0] */
static void commandstats_line(struct parse *p, const char *key, const char *val)
{
    static const char prefix[] = "cmdstat_";
    double calls, usec, rejected, failed;
    if (strncmp(key, prefix, sizeof prefix - 1) != 0 || !kv_get(val, "calls", &calls) ||
        !kv_get(val, "usec", &usec))
        return;
    const char *cmd = key + sizeof prefix - 1;
    emit1(p, "commands_total", TG_METRIC_COUNTER, "Total number of calls per command", calls, "cmd",
          cmd);
    emit1(p, "commands_duration_seconds_total", TG_METRIC_COUNTER,
          "Total amount of time in seconds spent per command", usec / 1e6, "cmd", cmd);
    /* Redis 6.2 on. */
    if (kv_get(val, "rejected_calls", &rejected) && kv_get(val, "failed_calls", &failed)) {
        emit1(p, "commands_rejected_calls_total", TG_METRIC_COUNTER,
              "Total number of errors within command execution per command", rejected, "cmd", cmd);
        emit1(p, "commands_failed_calls_total", TG_METRIC_COUNTER,
              "Total number of errors prior command execution per command", failed, "cmd", cmd);
    }
}

/* errorstat_ERR:count=4 */
static void errorstats_line(struct parse *p, const char *key, const char *val)
{
    static const char prefix[] = "errorstat_";
    double count;
    if (strncmp(key, prefix, sizeof prefix - 1) == 0 && kv_get(val, "count", &count))
        emit1(p, "errors_total", TG_METRIC_COUNTER, "Total number of errors per error type", count,
              "err", key + sizeof prefix - 1);
}

/* Replica side: the link to its master, labelled by master_host and master_port (which
 * come first in the section); master side: one line per connected replica. True when
 * the line was taken here (the exporter then skips the plain table). */
static bool replication_line(struct parse *p, const char *key, const char *val)
{
    const char *ml[] = {"master_host", "master_port"};
    const char *mv[] = {p->master_host, p->master_port};
    double v;
    if (strcmp(key, "master_link_status") == 0) {
        emit(p, "master_link_up", TG_METRIC_GAUGE, "Master link status on Redis slave",
             strcmp(val, "up") == 0, 2, ml, mv);
        return true;
    }
    if (strcmp(key, "master_last_io_seconds_ago") == 0 ||
        strcmp(key, "master_sync_in_progress") == 0 || strcmp(key, "slave_repl_offset") == 0) {
        if (read_value(val, &v))
            emit(p, key, TG_METRIC_GAUGE, key, v, 2, ml, mv);
        return true;
    }
    if (strncmp(key, "slave", 5) != 0 || key[5] < '0' || key[5] > '9')
        return false;
    char ip[64] = "", port[16] = "", state[32] = "";
    double offset, lag;
    if (!kv_get(val, "offset", &offset))
        return false;
    kv_str(val, "ip", ip, sizeof ip);
    kv_str(val, "port", port, sizeof port);
    kv_str(val, "state", state, sizeof state);
    const char *sl[] = {"slave_ip", "slave_port", "slave_state"};
    const char *sv[] = {ip, port, state};
    emit(p, "connected_slave_offset_bytes", TG_METRIC_GAUGE, "Offset of connected slave", offset, 3,
         sl, sv);
    if (kv_get(val, "lag", &lag))
        emit(p, "connected_slave_lag_seconds", TG_METRIC_GAUGE, "Lag of connected slave", lag, 3,
             sl, sv);
    return true;
}

static void summarize(struct tg_credis_summary *s, const char *key, const char *val, double v,
                      bool num)
{
    struct {
        const char *key;
        double *dst;
    } const map[] = {
        {"connected_clients", &s->connected_clients},
        {"blocked_clients", &s->blocked_clients},
        {"connected_slaves", &s->connected_slaves},
        {"rejected_connections", &s->rejected_connections},
        {"used_memory", &s->used_memory},
        {"used_memory_rss", &s->used_memory_rss},
        {"maxmemory", &s->maxmemory},
        {"mem_fragmentation_ratio", &s->mem_fragmentation_ratio},
        {"keyspace_hits", &s->keyspace_hits},
        {"keyspace_misses", &s->keyspace_misses},
        {"evicted_keys", &s->evicted_keys},
        {"expired_keys", &s->expired_keys},
        {"instantaneous_ops_per_sec", &s->ops_per_sec},
        {"total_commands_processed", &s->commands_processed},
        {"uptime_in_seconds", &s->uptime_s},
    };
    for (size_t i = 0; num && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(key, map[i].key) == 0)
            *map[i].dst = v;
    if (num && strcmp(key, "maxmemory") == 0)
        s->has_maxmemory = true;
    if (strcmp(key, "role") == 0)
        scopy(s->role, sizeof s->role, val);
    else if (strcmp(key, "redis_version") == 0)
        scopy(s->version, sizeof s->version, val);
    else if (strcmp(key, "maxmemory_policy") == 0)
        scopy(s->maxmemory_policy, sizeof s->maxmemory_policy, val);
}

static bool isalnum_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A field of the table, or one of the exporter's name prefixes it passes through. */
static void plain_line(struct parse *p, const char *key, bool num, double v)
{
    const struct tg_credis__field *f = field_find(key);
    char name[KEY_MAX];
    if (!f && strncmp(key, "cluster_", 8) != 0)
        return;
    if (!num)
        return;
    if (f) {
        scopy(name, sizeof name, f->name);
    } else {
        /* The exporter's name sanitising: anything but [a-zA-Z0-9_] becomes '_'. */
        size_t i = 0;
        for (; key[i] && i < sizeof name - 1; i++)
            name[i] = (isalnum_ascii(key[i]) || key[i] == '_') ? key[i] : '_';
        name[i] = '\0';
    }
    enum tg_metric_type type = f ? f->type : TG_METRIC_GAUGE;
    if (strcmp(name, "latest_fork_usec") == 0) {
        snprintf(name, sizeof name, "latest_fork_seconds");
        v /= 1e6;
    }
    char help[KEY_MAX + 16];
    snprintf(help, sizeof help, "INFO field %s", key);
    emit(p, name, type, help, v, 0, NULL, NULL);
}

static void line(struct parse *p, const char *key, const char *val)
{
    p->any = true;
    double v = 0;
    bool num = read_value(val, &v);
    if (p->sum)
        summarize(p->sum, key, val, v, num);
    for (size_t i = 0; i < NINFO; i++)
        if (strcmp(key, info_labels[i]) == 0)
            scopy(p->info[i], sizeof p->info[i], val);
    if (strcmp(key, "master_host") == 0)
        scopy(p->master_host, sizeof p->master_host, val);
    else if (strcmp(key, "master_port") == 0)
        scopy(p->master_port, sizeof p->master_port, val);
    else if (strcmp(key, "slave_read_only") == 0)
        scopy(p->slave_read_only, sizeof p->slave_read_only, val);

    switch (p->sec) {
    case SEC_REPLICATION:
        if (replication_line(p, key, val))
            return;
        break;
    case SEC_SERVER:
        if (strcmp(key, "uptime_in_seconds") == 0 && num)
            emit(p, "start_time_seconds", TG_METRIC_GAUGE,
                 "Start time of the Redis instance since unix epoch in seconds.",
                 (double)p->now_wall_s - v, 0, NULL, NULL);
        break;
    case SEC_COMMANDSTATS:
        commandstats_line(p, key, val);
        return;
    case SEC_ERRORSTATS:
        errorstats_line(p, key, val);
        return;
    case SEC_KEYSPACE:
        if (keyspace_line(p, key, val))
            return;
        break;
    case SEC_OTHER:
        break;
    }
    plain_line(p, key, num, v);
}

static enum section section_of(const char *name)
{
    if (strcmp(name, "Server") == 0)
        return SEC_SERVER;
    if (strcmp(name, "Replication") == 0)
        return SEC_REPLICATION;
    if (strcmp(name, "Commandstats") == 0)
        return SEC_COMMANDSTATS;
    if (strcmp(name, "Errorstats") == 0)
        return SEC_ERRORSTATS;
    if (strcmp(name, "Keyspace") == 0)
        return SEC_KEYSPACE;
    return SEC_OTHER;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* One line, trimmed as Go's strings.TrimSpace does (ASCII space only). */
static void one_line(struct parse *p, const char *s, size_t n)
{
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    if (n >= 2 && s[0] == '#' && s[1] == ' ') {
        char name[KEY_MAX];
        snprintf(name, sizeof name, "%.*s", (int)(n - 2 < sizeof name ? n - 2 : sizeof name - 1),
                 s + 2);
        p->sec = section_of(name);
        return;
    }
    const char *colon = n >= 2 ? memchr(s, ':', n) : NULL;
    if (!colon)
        return;
    size_t klen = (size_t)(colon - s), vlen = n - klen - 1;
    char key[KEY_MAX], val[VAL_MAX];
    /* A NUL inside would make the C strings lie about the line: skip it. */
    if (klen >= sizeof key || vlen >= sizeof val || memchr(s, '\0', n))
        return;
    memcpy(key, s, klen);
    key[klen] = '\0';
    memcpy(val, colon + 1, vlen);
    val[vlen] = '\0';
    line(p, key, val);
}

static void finish(struct parse *p, uint32_t ndb)
{
    const char *dbl[] = {"db"};
    for (uint32_t db = 0; db < ndb && db < 128; db++) {
        if (p->seen_db[db / 64] & (1ull << (db % 64)))
            continue;
        char name[16];
        snprintf(name, sizeof name, "db%u", db);
        const char *v = name;
        emit(p, "db_keys", TG_METRIC_GAUGE, "Total number of keys by DB", 0, 1, dbl, &v);
        emit(p, "db_keys_expiring", TG_METRIC_GAUGE, "Total number of expiring keys by DB", 0, 1,
             dbl, &v);
    }
    const char *iv[NINFO];
    for (size_t i = 0; i < NINFO; i++)
        iv[i] = p->info[i];
    emit(p, "instance_info", TG_METRIC_GAUGE, "Information about the Redis instance", 1, NINFO,
         info_labels, iv);
    if (strcmp(p->info[0], "slave") == 0) {
        const char *sl[] = {"master_host", "master_port", "read_only"};
        const char *sv[] = {p->master_host, p->master_port, p->slave_read_only};
        emit(p, "slave_info", TG_METRIC_GAUGE, "Information about the Redis slave", 1, 3, sl, sv);
    }
}

int tg_credis_info_parse(const char *text, size_t len, uint32_t ndb, int64_t now_wall_s,
                         struct tg_csnap *out, struct tg_credis_summary *sum)
{
    struct parse p = {.out = out, .sum = sum, .now_wall_s = now_wall_s};
    if (sum)
        *sum = (struct tg_credis_summary){0};
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        one_line(&p, text + i, n);
        i += n + 1;
    }
    if (!p.any)
        return TG_EPARSE;
    finish(&p, ndb);
    return p.rc;
}

double tg_credis_hit_ratio(const struct tg_credis_summary *s)
{
    double total = s->keyspace_hits + s->keyspace_misses;
    return total > 0 ? s->keyspace_hits / total : -1;
}
