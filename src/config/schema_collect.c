/* SPDX-License-Identifier: MIT */
/* The collectors: section of the schema (docs/collectors.md): host, containers,
 * postgres, redis and probes. Beyond each key's type and range it refuses what would
 * only fail later, on the control loop, where nobody reads the error: a DSN holding a
 * password (the DSN is shown by the admin API), a probe over https (there is no TLS
 * client), a host name to resolve (a lookup would block the loop), a container target
 * that is none or two things at once. The checks that need tsdb.scrape_interval, which
 * may come later in the file, run once the root is read (tg_config__collectors_finish);
 * tg_config_validate then writes every interval and timeout left at 0 as its real value,
 * so the collectors never have to know the rule. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "config/config_int.h"
#include "config/pgdsn_int.h"
#include "config/schema_int.h"
#include "config/schema_policy_int.h"
#include "config/units.h"

#define MS TG_US_PER_MS
#define SEC TG_US_PER_S
#define HOUR TG_US_PER_H
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
/* A timeout left at 0 is the interval, but at most this: a collection that has not
 * answered in 10 s is down however rarely it runs. */
#define DEFAULT_TIMEOUT_CAP (10 * SEC)
/* Linux's PID_MAX_LIMIT, and TASK_COMM_LEN - 1: longer process names are cut. */
#define PID_MAX 4194304
#define COMM_MAX 15

static const char *const probe_methods[] = {"GET",    "HEAD",  "POST",    "PUT",
                                            "DELETE", "PATCH", "OPTIONS", NULL};

void tg_config__collectors_defaults(struct tg_config *cfg)
{
    struct tg_cfg_collectors *c = &cfg->collectors;
    memset(c, 0, sizeof *c);
    c->host.enabled = true;
    snprintf(c->host.procfs, sizeof c->host.procfs, "/proc");
    snprintf(c->host.sysfs, sizeof c->host.sysfs, "/sys");
    snprintf(c->host.rootfs, sizeof c->host.rootfs, "/");
    snprintf(c->containers.cgroup_root, sizeof c->containers.cgroup_root, "/sys/fs/cgroup");
}

/* An error about field `f` (present in the mapping just read), named by its key. */
static int field_err(struct tg_config_walk *w, const struct tg_config_field *f, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));
static int field_err(struct tg_config_walk *w, const struct tg_config_field *f, const char *fmt,
                     ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mark = tg_config__walk_push_key(w, f->key);
    int rc = tg_config__walk_err(w, f->node, "%s", msg);
    tg_config__walk_pop(w, mark);
    return rc;
}

/* Each present field of `f[0..n)` must hold an absolute path. */
static int check_abs_paths(struct tg_config_walk *w, const struct tg_config_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].node && ((const char *)f[i].out)[0] != '/')
            return field_err(w, &f[i], "must be an absolute path (starting with \"/\")");
    }
    return 0;
}

/* An instance label: 1 to 63 bytes, no control bytes. */
static int check_label(struct tg_config_walk *w, const struct tg_config_field *f)
{
    const char *s = f->out;
    bool ok = s[0] != '\0';
    for (; ok && *s; s++)
        ok = (unsigned char)*s >= 0x20 && *s != 0x7f;
    return ok ? 0 : field_err(w, f, "must be 1 to 63 bytes without control characters");
}

/* password_file and password_env, fields `f[0]` and `f[1]`. */
static int check_secret(struct tg_config_walk *w, const struct tg_config_field *f)
{
    const char *env = f[1].out;
    if (f[0].node && f[1].node)
        return field_err(w, &f[1], "give either password_file or password_env");
    if (f[0].node && !((const char *)f[0].out)[0])
        return field_err(w, &f[0], "empty path");
    if (f[1].node && (!env[0] || (env[0] >= '0' && env[0] <= '9') ||
                      strspn(env, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789_") != strlen(env)))
        return field_err(w, &f[1],
                         "not an environment variable name (letters, digits and _, "
                         "not starting with a digit)");
    return 0;
}

/* ------------------------------------------------------------------ host, containers */

static int read_host(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_host *h = arg;
    struct tg_config_field f[] = {
        {.key = "procfs", .kind = TG_CONFIG_K_STR, .out = h->procfs, .cap = sizeof h->procfs},
        {.key = "sysfs", .kind = TG_CONFIG_K_STR, .out = h->sysfs, .cap = sizeof h->sysfs},
        {.key = "rootfs", .kind = TG_CONFIG_K_STR, .out = h->rootfs, .cap = sizeof h->rootfs},
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &h->enabled},
        {.key = "interval",
         .kind = TG_CONFIG_K_DURATION,
         .out = &h->interval_us,
         .min = 100 * MS,
         .max = HOUR},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    return rc ? rc : check_abs_paths(w, f, 3);
}

/* A ".." segment would climb out of cgroup_root. */
static bool has_dotdot(const char *path)
{
    for (const char *seg = path; *seg;) {
        size_t len = strcspn(seg, "/");
        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return true;
        seg += len + (seg[len] == '/');
    }
    return false;
}

static int read_container(struct tg_config_walk *w, yaml_node_t *node, struct tg_cfg_container *ct,
                          yaml_node_t **name_node)
{
    uint32_t pid = 0;
    struct tg_config_field f[] = {
        {.key = "name",
         .kind = TG_CONFIG_K_NAME,
         .out = ct->name,
         .cap = sizeof ct->name,
         .required = true},
        {.key = "cgroup", .kind = TG_CONFIG_K_STR, .out = ct->cgroup, .cap = sizeof ct->cgroup},
        {.key = "process", .kind = TG_CONFIG_K_STR, .out = ct->process, .cap = sizeof ct->process},
        {.key = "pid", .kind = TG_CONFIG_K_U32, .out = &pid, .min = 1, .max = PID_MAX},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    *name_node = f[0].node;
    ct->pid = (int32_t)pid;
    /* With two of them, the one written last is the mistake. */
    const struct tg_config_field *last = NULL;
    int given = 0;
    for (size_t i = 1; i < NFIELDS(f); i++) {
        if (f[i].node && (!last || f[i].node->start_mark.index > last->node->start_mark.index))
            last = &f[i];
        given += f[i].node != NULL;
    }
    if (given == 0)
        return tg_config__walk_err(w, node, "give one of cgroup, process or pid");
    if (given > 1)
        return field_err(w, last, "give only one of cgroup, process or pid");
    if (f[1].node && (ct->cgroup[0] != '/' || has_dotdot(ct->cgroup)))
        return field_err(w, &f[1],
                         "must be a path under cgroup_root, starting with \"/\", "
                         "without \"..\"");
    size_t plen = strlen(ct->process);
    if (f[2].node && (plen == 0 || plen > COMM_MAX))
        return field_err(w, &f[2],
                         "a process name is 1 to %d bytes (the kernel keeps no "
                         "more of it)",
                         COMM_MAX);
    return 0;
}

static int container_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_containers *cs = arg;
    struct tg_cfg_container *ct = &cs->list[i];
    yaml_node_t *name_node = NULL;
    memset(ct, 0, sizeof *ct);
    int rc = read_container(w, item, ct, &name_node);
    for (uint32_t j = 0; rc == 0 && j < i; j++) {
        if (strcmp(cs->list[j].name, ct->name) == 0) {
            size_t mark = tg_config__walk_push_key(w, "name");
            rc = tg_config__walk_err(
                w, name_node, "duplicate container name \"%s\" (also targets[%u])", ct->name, j);
            tg_config__walk_pop(w, mark);
        }
    }
    if (rc == 0)
        cs->n++;
    return rc;
}

static int read_targets(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_containers *)arg)->n = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_COLLECT_TARGETS, container_item, arg);
}

static int read_containers(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_containers *cs = arg;
    struct tg_config_field f[] = {
        {.key = "cgroup_root",
         .kind = TG_CONFIG_K_STR,
         .out = cs->cgroup_root,
         .cap = sizeof cs->cgroup_root},
        {.key = "interval",
         .kind = TG_CONFIG_K_DURATION,
         .out = &cs->interval_us,
         .min = 100 * MS,
         .max = HOUR},
        {.key = "targets", .kind = TG_CONFIG_K_FUNC, .fn = read_targets, .out = cs},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    return rc ? rc : check_abs_paths(w, f, 1);
}

/* ------------------------------------------------------------------ postgres, redis */

#define INTERVAL_FIELD(p)                                                                          \
    {                                                                                              \
        .key = "interval", .kind = TG_CONFIG_K_DURATION, .out = &(p)->interval_us,                 \
        .min = 100 * MS, .max = HOUR                                                               \
    }
#define TIMEOUT_FIELD(p)                                                                           \
    {                                                                                              \
        .key = "timeout", .kind = TG_CONFIG_K_DURATION, .out = &(p)->timeout_us, .min = 10 * MS,   \
        .max = HOUR                                                                                \
    }
#define SECRET_FIELDS(s)                                                                           \
    {.key = "password_file", .kind = TG_CONFIG_K_STR, .out = (s)->file, .cap = sizeof(s)->file},   \
    {                                                                                              \
        .key = "password_env", .kind = TG_CONFIG_K_STR, .out = (s)->env, .cap = sizeof(s)->env     \
    }

/* Refuses a name already taken by an earlier target of the kind (`names`, `stride`
 * bytes apart). `f` is the name field (NULL when the name is the default one, made
 * from `other`, the field it came from). */
static int check_unique(struct tg_config_walk *w, const char *names, size_t stride, size_t i,
                        const char *what, const struct tg_config_field *f,
                        const struct tg_config_field *other)
{
    const char *name = names + i * stride;
    for (size_t j = 0; j < i; j++) {
        if (strcmp(names + j * stride, name) == 0)
            return field_err(w, f->node ? f : other, "duplicate %s \"%s\" (also [%zu])%s", what,
                             name, j, f->node ? "" : "; set name");
    }
    return 0;
}

static int pg_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_collectors *c = arg;
    struct tg_cfg_postgres *pg = &c->postgres[i];
    memset(pg, 0, sizeof *pg);
    pg->statements = true;
    pg->statements_limit = 100;
    struct tg_config_field f[] = {
        {.key = "name", .kind = TG_CONFIG_K_STR, .out = pg->name, .cap = sizeof pg->name},
        {.key = "dsn",
         .kind = TG_CONFIG_K_STR,
         .out = pg->dsn,
         .cap = sizeof pg->dsn,
         .required = true},
        SECRET_FIELDS(&pg->password),
        INTERVAL_FIELD(pg),
        TIMEOUT_FIELD(pg),
        {.key = "statements", .kind = TG_CONFIG_K_BOOL, .out = &pg->statements},
        {.key = "statements_limit",
         .kind = TG_CONFIG_K_U32,
         .out = &pg->statements_limit,
         .min = 1,
         .max = 10000},
    };
    int rc = tg_config__walk_map(w, item, f, NFIELDS(f));
    if (rc == 0 && f[0].node)
        rc = check_label(w, &f[0]);
    if (rc == 0)
        rc = check_secret(w, &f[2]);
    if (rc == 0) {
        const char *why =
            tg_config__pgdsn_check(pg->dsn, f[0].node ? NULL : pg->name, sizeof pg->name);
        if (why)
            rc = field_err(w, &f[1], "%s", why);
    }
    if (rc == 0)
        rc = check_unique(w, c->postgres[0].name, sizeof c->postgres[0], i,
                          "PostgreSQL instance name", &f[0], &f[1]);
    if (rc == 0)
        c->npostgres++;
    return rc;
}

static int read_postgres(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_collectors *)arg)->npostgres = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_COLLECT_TARGETS, pg_item, arg);
}

/* host:port, [v6]:port (numeric: no lookup on the loop) or a unix socket path. */
static int check_redis_addr(struct tg_config_walk *w, const struct tg_config_field *f)
{
    const char *s = f->out;
    if (s[0] == '/') {
        if (strlen(s) >= sizeof((struct sockaddr_un *)0)->sun_path)
            return field_err(w, f, "a unix socket path is at most %zu bytes",
                             sizeof((struct sockaddr_un *)0)->sun_path - 1);
        return 0;
    }
    struct tg_addr a;
    struct tg_errbuf inner = {0};
    if (tg_addr_parse(s, &a, &inner) != 0)
        return field_err(w, f, "%s (or a unix socket path starting with \"/\")", inner.msg);
    if (tg_addr_port(&a) == 0)
        return field_err(w, f, "%s: port 0 is not a Redis port", a.text);
    if (strncmp(a.text, "0.0.0.0:", 8) == 0 || strncmp(a.text, "[::]:", 5) == 0)
        return field_err(w, f, "%s: a wildcard address is for listening; give the server's",
                         a.text);
    return 0;
}

static int redis_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_collectors *c = arg;
    struct tg_cfg_redis *r = &c->redis[i];
    memset(r, 0, sizeof *r);
    struct tg_config_field f[] = {
        {.key = "name", .kind = TG_CONFIG_K_STR, .out = r->name, .cap = sizeof r->name},
        {.key = "addr",
         .kind = TG_CONFIG_K_STR,
         .out = r->addr,
         .cap = sizeof r->addr,
         .required = true},
        SECRET_FIELDS(&r->password),
        INTERVAL_FIELD(r),
        TIMEOUT_FIELD(r),
        {.key = "username", .kind = TG_CONFIG_K_STR, .out = r->username, .cap = sizeof r->username},
    };
    int rc = tg_config__walk_map(w, item, f, NFIELDS(f));
    if (rc == 0 && f[0].node)
        rc = check_label(w, &f[0]);
    if (rc == 0)
        rc = check_secret(w, &f[2]);
    if (rc == 0)
        rc = check_redis_addr(w, &f[1]);
    if (rc == 0 && !f[0].node) {
        if (strlen(r->addr) >= sizeof r->name)
            rc = field_err(w, &f[1],
                           "longer than %zu bytes, too long for the instance name: "
                           "set name",
                           sizeof r->name - 1);
        else
            memcpy(r->name, r->addr, strlen(r->addr) + 1);
    }
    if (rc == 0)
        rc = check_unique(w, c->redis[0].name, sizeof c->redis[0], i, "Redis instance name", &f[0],
                          &f[1]);
    if (rc == 0)
        c->nredis++;
    return rc;
}

static int read_redis(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_collectors *)arg)->nredis = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_COLLECT_TARGETS, redis_item, arg);
}

/* ------------------------------------------------------------------ probes */

/* http://HOST[:PORT][/PATH], HOST numeric or localhost: what the control plane's HTTP
 * client speaks (http/client.h), checked here so the mistake is found at load. */
static int check_probe_url(struct tg_config_walk *w, const struct tg_config_field *f)
{
    const char *url = f->out;
    if (strncmp(url, "https://", 8) == 0)
        return field_err(w, f, "https is not supported (the probes have no TLS): use http://");
    if (strncmp(url, "http://", 7) != 0)
        return field_err(w, f, "expected an http:// URL such as http://127.0.0.1:8080/health");
    const char *auth = url + 7;
    size_t alen = strcspn(auth, "/?#");
    if (auth[alen] == '#' || strpbrk(auth + alen, " \t\r\n#"))
        return field_err(w, f, "the path may not contain spaces, control characters or \"#\"");
    for (const char *p = auth + alen; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return field_err(w, f, "the path may not contain control characters");
    }
    char hostport[300];
    bool has_port = auth[0] == '[' ? memchr(auth, ']', alen) &&
                                         ((const char *)memchr(auth, ']', alen))[1] == ':'
                                   : memchr(auth, ':', alen) != NULL;
    snprintf(hostport, sizeof hostport, "%.*s%s", (int)alen, auth, has_port ? "" : ":80");
    struct tg_addr a;
    struct tg_errbuf inner = {0};
    if (alen == 0 || tg_addr_parse(hostport, &a, &inner) != 0)
        return field_err(w, f,
                         "%s (the host is an IP address or localhost: names are not "
                         "looked up)",
                         alen ? inner.msg : "no host");
    if (tg_addr_port(&a) == 0)
        return field_err(w, f, "port 0");
    return 0;
}

static int status_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_probe *p = arg;
    uint32_t v = 0;
    struct tg_config_field f = {
        .key = "", .kind = TG_CONFIG_K_U32, .out = &v, .min = 100, .max = 599};
    (void)i;
    int rc = tg_config__walk_value(w, item, &f);
    if (rc == 0)
        p->valid_status[p->nvalid_status++] = v;
    return rc;
}

static int read_valid_status(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_probe *p = arg;
    p->nvalid_status = 0;
    if (node->type == YAML_SEQUENCE_NODE &&
        node->data.sequence.items.start == node->data.sequence.items.top)
        return tg_config__walk_err(w, node, "empty list (leave out valid_status for any 2xx)");
    return tg_config__read_list(w, node, sizeof p->valid_status / sizeof p->valid_status[0],
                                status_item, p);
}

static int probe_item(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg)
{
    struct tg_cfg_collectors *c = arg;
    struct tg_cfg_probe *p = &c->probes[i];
    memset(p, 0, sizeof *p);
    int method = 0;
    struct tg_config_field f[] = {
        {.key = "service",
         .kind = TG_CONFIG_K_NAME,
         .out = p->service,
         .cap = sizeof p->service,
         .required = true},
        {.key = "url",
         .kind = TG_CONFIG_K_STR,
         .out = p->url,
         .cap = sizeof p->url,
         .required = true},
        INTERVAL_FIELD(p),
        TIMEOUT_FIELD(p),
        {.key = "method", .kind = TG_CONFIG_K_ENUM, .out = &method, .names = probe_methods},
        {.key = "valid_status", .kind = TG_CONFIG_K_FUNC, .fn = read_valid_status, .out = p},
    };
    int rc = tg_config__walk_map(w, item, f, NFIELDS(f));
    /* probe_methods follows tg_config__method_names from GET on (bit 1). */
    p->method = 1u << (method + 1);
    if (rc == 0)
        rc = check_probe_url(w, &f[1]);
    if (rc == 0)
        rc = check_unique(w, c->probes[0].service, sizeof c->probes[0], i, "service", &f[0], &f[0]);
    if (rc == 0)
        c->nprobes++;
    return rc;
}

static int read_probes(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    ((struct tg_cfg_collectors *)arg)->nprobes = 0;
    return tg_config__read_list(w, node, TG_CFG_MAX_PROBES, probe_item, arg);
}

int tg_config__read_collectors(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_collectors *c = arg;
    struct tg_config_field f[] = {
        {.key = "host", .kind = TG_CONFIG_K_FUNC, .fn = read_host, .out = &c->host},
        {.key = "containers",
         .kind = TG_CONFIG_K_FUNC,
         .fn = read_containers,
         .out = &c->containers},
        {.key = "postgres", .kind = TG_CONFIG_K_FUNC, .fn = read_postgres, .out = c},
        {.key = "redis", .kind = TG_CONFIG_K_FUNC, .fn = read_redis, .out = c},
        {.key = "probes", .kind = TG_CONFIG_K_FUNC, .fn = read_probes, .out = c},
    };
    return tg_config__walk_map(w, node, f, NFIELDS(f));
}

/* ------------------------------------------------------------------ after the root */

/* The kinds with a timeout, seen alike: `n` targets `stride` bytes apart from `base`. */
struct timed {
    const char *key;
    char *base;
    size_t stride;
    uint32_t n;
    size_t interval_off, timeout_off;
    struct tg_cfg_secret *secret0; /* the first target's password, NULL for probes */
};

static size_t timed_kinds(struct tg_cfg_collectors *c, struct timed *t)
{
    t[0] = (struct timed){"postgres",
                          (char *)c->postgres,
                          sizeof c->postgres[0],
                          c->npostgres,
                          offsetof(struct tg_cfg_postgres, interval_us),
                          offsetof(struct tg_cfg_postgres, timeout_us),
                          &c->postgres[0].password};
    t[1] = (struct timed){"redis",
                          (char *)c->redis,
                          sizeof c->redis[0],
                          c->nredis,
                          offsetof(struct tg_cfg_redis, interval_us),
                          offsetof(struct tg_cfg_redis, timeout_us),
                          &c->redis[0].password};
    t[2] = (struct timed){"probes",
                          (char *)c->probes,
                          sizeof c->probes[0],
                          c->nprobes,
                          offsetof(struct tg_cfg_probe, interval_us),
                          offsetof(struct tg_cfg_probe, timeout_us),
                          NULL};
    return 3;
}

static int64_t *field_at(const struct timed *t, uint32_t i, size_t off)
{
    return (int64_t *)(t->base + i * t->stride + off);
}

/* The value node of `key` in mapping `map`, or NULL. */
static yaml_node_t *map_get(struct tg_config_walk *w, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = tg_config__walk_node(w, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return tg_config__walk_node(w, p->value);
    }
    return NULL;
}

static yaml_node_t *item_at(struct tg_config_walk *w, yaml_node_t *seq, uint32_t i)
{
    return tg_config__walk_node(w, seq->data.sequence.items.start[i]);
}

/* A relative password_file is taken from the configuration file's directory, as the
 * other files the configuration names are. */
static int resolve_secret(struct tg_config_walk *w, const char *cfg_file, struct tg_cfg_secret *s,
                          yaml_node_t *at)
{
    const char *slash = strrchr(cfg_file, '/');
    if (!s->file[0] || s->file[0] == '/' || !slash)
        return 0;
    char path[sizeof s->file];
    int n = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - cfg_file), cfg_file, s->file);
    if (n < 0 || (size_t)n >= sizeof path) {
        size_t mark = tg_config__walk_push_key(w, "password_file");
        int rc = tg_config__walk_err(w, at,
                                     "longer than %zu bytes once taken from the "
                                     "configuration file's directory",
                                     sizeof path - 1);
        tg_config__walk_pop(w, mark);
        return rc;
    }
    memcpy(s->file, path, sizeof path);
    return 0;
}

int tg_config__collectors_finish(struct tg_config_walk *w, yaml_node_t *node, struct tg_config *cfg)
{
    struct timed t[3];
    size_t nk = timed_kinds(&cfg->collectors, t);
    int rc = 0;
    for (size_t k = 0; k < nk && rc == 0; k++) {
        yaml_node_t *list = map_get(w, node, t[k].key);
        for (uint32_t i = 0; i < t[k].n && rc == 0; i++) {
            yaml_node_t *item = item_at(w, list, i), *at = map_get(w, item, "timeout");
            int64_t interval = *field_at(&t[k], i, t[k].interval_off);
            int64_t timeout = *field_at(&t[k], i, t[k].timeout_off);
            int64_t effective = interval ? interval : cfg->tsdb.scrape_interval_us;
            size_t mark = tg_config__walk_push_key(w, "collectors");
            tg_config__walk_push_key(w, t[k].key);
            tg_config__walk_push_index(w, i);
            if (t[k].secret0)
                rc = resolve_secret(
                    w, cfg->file, (struct tg_cfg_secret *)((char *)t[k].secret0 + i * t[k].stride),
                    map_get(w, item, "password_file"));
            if (rc == 0 && at && timeout > effective) {
                char a[32], b[32];
                tg_units_format_duration(timeout, a, sizeof a);
                tg_units_format_duration(effective, b, sizeof b);
                tg_config__walk_push_key(w, "timeout");
                rc = tg_config__walk_err(w, at, "timeout %s is longer than the interval, %s%s", a,
                                         b, interval ? "" : " (tsdb.scrape_interval)");
            }
            tg_config__walk_pop(w, mark);
        }
    }
    return rc;
}

void tg_config__collectors_resolve(struct tg_config *cfg)
{
    struct tg_cfg_collectors *c = &cfg->collectors;
    int64_t scrape = cfg->tsdb.scrape_interval_us;
    if (!c->host.interval_us)
        c->host.interval_us = scrape;
    if (!c->containers.interval_us)
        c->containers.interval_us = scrape;
    struct timed t[3];
    size_t nk = timed_kinds(c, t);
    for (size_t k = 0; k < nk; k++) {
        for (uint32_t i = 0; i < t[k].n; i++) {
            int64_t *interval = field_at(&t[k], i, t[k].interval_off);
            int64_t *timeout = field_at(&t[k], i, t[k].timeout_off);
            if (!*interval)
                *interval = scrape;
            if (!*timeout)
                *timeout = *interval < DEFAULT_TIMEOUT_CAP ? *interval : DEFAULT_TIMEOUT_CAP;
        }
    }
}
