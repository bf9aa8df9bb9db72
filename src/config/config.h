/* SPDX-License-Identifier: MIT */
/* The gateway configuration: an immutable snapshot built from a YAML file (yaml_load.c),
 * command-line flags (tg_config_add_upstream_server) and defaults, then checked as a
 * whole by tg_config_validate. Once validated a snapshot is never written again; the
 * proxy publishes it by an atomic pointer swap and workers read it without locks, so
 * every field here is plain data and all arrays are owned by the snapshot.
 *
 * Lifecycle: tg_config_load_file (or tg_config_new_default) -> apply flags ->
 * tg_config_validate -> publish -> tg_config_free when no worker can still see it.
 * Loading and validating may be called from any thread; they touch no global state.
 * Allocation failure while building a snapshot aborts with a message (startup/reload
 * only, never on the request path). */
#ifndef TG_CONFIG_CONFIG_H
#define TG_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/addr.h"
#include "config/diagnosis.h"
#include "config/playbooks.h"
#include "config/policy.h"
#include "core/err.h"

enum tg_lb {
    TG_LB_ROUND_ROBIN = 0, /* "round_robin", weighted (smooth WRR, as nginx) */
    TG_LB_LEAST_CONN,      /* "least_conn", weighted by in-flight requests */
    TG_LB_P2C_EWMA,        /* "p2c_ewma": power of two choices on latency EWMA */
};

enum tg_route_class {
    TG_CLASS_DEFAULT = 0, /* "default": timeouts.default applies */
    TG_CLASS_CRITICAL,    /* "critical": timeouts.critical applies */
};

enum tg_route_match {
    TG_MATCH_PREFIX = 0, /* `prefix:` key; path starts with route.path */
    TG_MATCH_TEMPLATE,   /* `path:` with ":name" segments and/or a final "*" segment */
    TG_MATCH_EXACT,      /* `path:` without parameters */
};

/* Route method bits, 1u << n in the order of enum tg_http_method (config may not include
 * http/, so the proxy converts with `1u << msg->method` and should static-assert that
 * TG_CFG_M_TRACE == 1u << TG_HTTP_TRACE). A route with methods == 0 matches any method. */
#define TG_CFG_M_OTHER (1u << 0)
#define TG_CFG_M_GET (1u << 1)
#define TG_CFG_M_HEAD (1u << 2)
#define TG_CFG_M_POST (1u << 3)
#define TG_CFG_M_PUT (1u << 4)
#define TG_CFG_M_DELETE (1u << 5)
#define TG_CFG_M_PATCH (1u << 6)
#define TG_CFG_M_OPTIONS (1u << 7)
#define TG_CFG_M_CONNECT (1u << 8)
#define TG_CFG_M_TRACE (1u << 9)

/* route.upstream before tg_config_validate when the route named no upstream: it then
 * becomes cfg->default_upstream. After validation every route.upstream < nupstreams. */
#define TG_CFG_UPSTREAM_DEFAULT UINT32_MAX

/* limits.max_headers can not exceed the HTTP parser's fixed header array; this mirrors
 * TG_HTTP_MAX_HEADERS (the proxy should static-assert they agree). */
#define TG_CFG_MAX_HEADERS_LIMIT 100

/* Most `metrics.buckets` boundaries. */
#define TG_CFG_MAX_BUCKETS 64

/* A template path has at most this many segments ("/a/:id" has two): the proxy's route
 * compiler keeps them in a fixed array. */
#define TG_CFG_MAX_PATH_SEGMENTS 32

/* rules: and alerting: lists. */
#define TG_CFG_MAX_RULE_FILES 32
#define TG_CFG_MAX_EXTERNAL_LABELS 16
#define TG_CFG_MAX_ALERT_TARGETS 8

/* Size limits on the file itself and its lists, so a runaway file fails fast. */
#define TG_CFG_MAX_FILE_BYTES (16u << 20)
#define TG_CFG_MAX_UPSTREAMS 1000
#define TG_CFG_MAX_SERVERS 1000 /* per upstream */
#define TG_CFG_MAX_ROUTES 10000
/* Most worker threads (`workers`); the proxy's worker table has this many slots. */
#define TG_CFG_MAX_WORKERS 1024
/* Lists and mappings inside each other: a real config needs 5 (upstreams, an upstream,
 * servers, a server); the bound keeps a hostile file from costing more than its size. */
#define TG_CFG_MAX_DEPTH 64

struct tg_cfg_server {
    struct tg_addr addr; /* never port 0 */
    uint32_t weight;     /* 1..1000, default 1 */
};

struct tg_cfg_health {
    bool enabled;        /* true when `health_check:` is present (unless enabled: false) */
    char path[256];      /* "/health"; always starts with '/' */
    int64_t interval_us; /* 5 s */
    int64_t timeout_us;  /* 1 s, never above interval_us */
    uint32_t rise, fall; /* 2 and 3 consecutive results to mark up / down */
};

struct tg_cfg_passive {
    uint32_t failures;        /* errors in a row (connect errors, timeouts, resets, 502/503/504;
                               * every 5xx with count_5xx) that eject a server; 0 = off. 5 */
    bool count_5xx;           /* every 5xx counts as an error, not only 502/503/504: false */
    int64_t eject_us;         /* the first ejection's length: 30 s, growing on repeat */
    int64_t max_eject_us;     /* the longest ejection: 5 min */
    uint32_t max_ejection_percent; /* share of an upstream's servers out at once: 50 */
    double latency_factor;    /* latency EWMA above this × the servers' median ejects; 0 off. 3 */
    int64_t latency_min_excess_us; /* and at least this far above it: 5 ms */
    uint32_t latency_min_samples;  /* responses a server needs before it is judged: 20 */
    int64_t slow_start_us;    /* a returning server's weight ramps over this: 30 s, 0 off */
    uint32_t slow_start_min_percent; /* the ramp's starting weight: 10 */
};

struct tg_cfg_upstream {
    char name[64]; /* unique, [A-Za-z0-9_.-]+ */
    struct tg_cfg_server *servers;
    uint32_t nservers;  /* >= 1 */
    enum tg_lb lb;      /* round_robin */
    uint32_t keepalive; /* max idle pooled connections per server per worker; 32, 0 = off */
    struct tg_cfg_health health;
    struct tg_cfg_passive passive;
    int64_t connect_timeout_us; /* 2 s */
    int64_t keepalive_timeout_us; /* 60 s: an unused pooled connection is closed after it */
    struct tg_cfg_breaker breaker; /* after validation: its own keys over the top-level ones */
};

struct tg_cfg_route {
    char name[64];    /* unique, [A-Za-z0-9_.-]+; the `endpoint` metric label */
    unsigned methods; /* TG_CFG_M_* bits, 0 = any method */
    enum tg_route_match match;
    char path[256];    /* starts with '/'; no '?', '#', spaces or control bytes. Templates:
                        * a segment is a literal, ":name" ([A-Za-z0-9_]+, unique within the
                        * path) or, as the last segment only, "*" */
    uint32_t upstream; /* index into cfg->upstreams (see TG_CFG_UPSTREAM_DEFAULT) */
    enum tg_route_class cls;
    char feature[64];   /* feature switch name, "" = none */
    int64_t timeout_us; /* upstream response timeout; 0 = the class default */
    int64_t per_try_timeout_us; /* 0 = timeouts.per_try */
    bool retry_non_idempotent;  /* retry any method as if it were idempotent */
    /* admin.mount_on_proxy's routes for the runbooks' app-specific paths (agents): sent
     * to the application, whose 404 becomes 501 "unsupported" (it has no such part). */
    bool app_path;
    enum tg_tier tier;  /* standard */
    /* A breaker of its own when `circuit_breaker:` is given for the route (own_breaker);
     * after validation its unwritten keys come from the top-level section. */
    bool own_breaker;
    struct tg_cfg_breaker breaker;
};

/* collectors: (docs/collectors.md). Intervals of 0 take tsdb.scrape_interval; timeouts
 * of 0 take the interval, at most 10 s. tg_config_validate writes those values, so a
 * validated snapshot holds no 0 here (the "0" defaults below are before validation). A
 * timeout is never above its interval (the loader refuses it, with its position). */
#define TG_CFG_MAX_COLLECT_TARGETS 16 /* per kind */
#define TG_CFG_MAX_PROBES 64

struct tg_cfg_host {
    bool enabled;        /* true */
    char procfs[256];    /* "/proc" (node_exporter's --path.procfs) */
    char sysfs[256];     /* "/sys" */
    char rootfs[256];    /* "/": mount points are read under it (--path.rootfs) */
    int64_t interval_us; /* 0 */
};

struct tg_cfg_container {
    char name[64];     /* the `container` label; unique */
    char cgroup[256];  /* a cgroup v2 path under cgroup_root ("/system.slice/x.service") */
    char process[64];  /* or: the first process whose name (comm) is this */
    int32_t pid;       /* or: this process; exactly one of the three is set */
};

struct tg_cfg_containers {
    struct tg_cfg_container list[TG_CFG_MAX_COLLECT_TARGETS];
    uint32_t n;
    char cgroup_root[256]; /* "/sys/fs/cgroup" */
    int64_t interval_us;   /* 0 */
};

/* Secrets are read when a collector starts (and at each reload), never logged or shown
 * by /api/v1/system/config: only where they come from. */
struct tg_cfg_secret {
    char file[256]; /* first line of this file */
    char env[64];   /* or this environment variable */
};

struct tg_cfg_postgres {
    char name[64];   /* the instance label; unique. Default: host:port/dbname of the DSN */
    char dsn[512];   /* libpq key=value or postgresql:// URI, with no password in it */
    struct tg_cfg_secret password;
    int64_t interval_us, timeout_us; /* 0, 0 */
    bool statements;         /* pg_stat_statements when the extension is there: true */
    uint32_t statements_limit; /* queries per scrape, by total time: 100 */
};

struct tg_cfg_redis {
    char name[64];  /* the instance label; unique. Default: the address */
    char addr[256]; /* host:port, [v6]:port, or a unix socket path (starts with /) */
    char username[64]; /* ACL user, "" = default */
    struct tg_cfg_secret password;
    int64_t interval_us, timeout_us; /* 0, 0 */
};

struct tg_cfg_probe {
    char service[64]; /* the `service` label; unique */
    char url[512];    /* http://host:port/path (no TLS) */
    uint32_t method;  /* TG_CFG_M_GET (the only bit set) */
    uint32_t valid_status[8]; /* accepted status codes; none = any 2xx */
    uint32_t nvalid_status;
    int64_t interval_us, timeout_us; /* 0, 0 */
};

struct tg_cfg_collectors {
    struct tg_cfg_host host;
    struct tg_cfg_containers containers;
    struct tg_cfg_postgres postgres[TG_CFG_MAX_COLLECT_TARGETS];
    uint32_t npostgres;
    struct tg_cfg_redis redis[TG_CFG_MAX_COLLECT_TARGETS];
    uint32_t nredis;
    struct tg_cfg_probe probes[TG_CFG_MAX_PROBES];
    uint32_t nprobes;
};

/* autoscale: (docs/scale.md): the runbook's autoscale script, built in. The keys the
 * control API may change are those of PUT /api/v1/system/autoscale; the provider's keys
 * (what runs, where) change only in the file. */
enum tg_autoscale_provider {
    TG_AUTOSCALE_PROCESS = 0, /* "process": start and stop local instances of `command` */
    TG_AUTOSCALE_COMMAND,     /* "command": run `command` with {n}, then read the servers */
};
enum tg_autoscale_signal {
    TG_AUTOSCALE_P95 = 0, /* "p95" of every request through the gateway */
    TG_AUTOSCALE_P99,     /* "p99" */
};
struct tg_cfg_autoscale {
    bool enabled;              /* false */
    enum tg_autoscale_signal signal;
    uint32_t threshold_ms;     /* latency_threshold_ms: 1000 */
    uint32_t up_after;         /* 3 */
    uint32_t down_after;       /* 10 */
    uint32_t min, max;         /* 1, 5; min <= max */
    double check_interval_s;   /* 30 */
    double cooldown_s;         /* 60 */
    double window_s;           /* the signal's window: 60 */
    bool dry_run;              /* false */
    char upstream[64];         /* "" = the default upstream */
    enum tg_autoscale_provider provider;
    char command[512];         /* process: with {port}; command: with {n} */
    uint32_t port_lo, port_hi; /* ports: "18100-18199" (process) */
    char ready_path[256];      /* "" = ready when it accepts a TCP connection */
    int64_t ready_timeout_us;  /* 10 s for a started instance to answer */
    int64_t drain_timeout_us;  /* 30 s for in-flight requests of a leaving instance */
    int64_t stop_grace_us;     /* 5 s from SIGTERM to SIGKILL */
    int64_t command_timeout_us; /* 60 s for the command provider's command */
    char servers_file[256];    /* command: one host:port a line */
    char servers_dns[256];     /* or: name:port, every A/AAAA record */
};

struct tg_config {
    char file[256];              /* "" when not loaded by tg_config_load_file */
    struct tg_addr listen;       /* 0.0.0.0:8000 */
    struct tg_addr admin_listen; /* 127.0.0.1:9090 */
    bool admin_mount_on_proxy;   /* false */
    /* Bearer token of the control API: admin.token, else the first line of
     * admin.token_file, else $TAILGUARD_ADMIN_TOKEN; "" = none, allowed only while the
     * admin listener is on loopback. */
    char admin_token[128];
    char admin_token_file[256];
    uint32_t workers;            /* 0 = number of cores */
    uint32_t max_head_bytes;     /* 16 KiB; request head above it -> 431 */
    uint32_t max_headers;        /* 100, at most TG_CFG_MAX_HEADERS_LIMIT */
    uint64_t max_body_bytes;     /* 0 = unlimited; else larger bodies -> 413 */
    uint32_t max_connections;    /* 20000, whole process */
    int64_t header_timeout_us;   /* 10 s to receive a request head -> 408 */
    /* Slow request bodies (408): at most `body_timeout_us` (10 s) between two reads of a
     * body the gateway is ready to read, and, past that first budget, an average of at
     * least `min_body_rate` bytes/s (1 KiB/s; 0 = no rate rule), Apache's MinRate idea. */
    int64_t body_timeout_us;
    uint64_t min_body_rate;
    int64_t idle_timeout_us;     /* 60 s keep-alive idle */
    int64_t default_timeout_us;  /* 30 s upstream response timeout, class default */
    int64_t critical_timeout_us; /* 60 s, class critical */
    /* 0 = none: a try with no response head this long after its request went out is
     * abandoned and retried (idempotent requests), else answered 504. */
    int64_t per_try_timeout_us;
    int64_t drain_timeout_us;    /* 30 s graceful stop */
    struct tg_cfg_upstream *upstreams;
    uint32_t nupstreams;
    uint32_t default_upstream; /* index; 0 */
    struct tg_cfg_route *routes;
    uint32_t nroutes;
    uint32_t max_endpoints; /* 1000 */
    /* 30 min: an endpoint named from request paths (not a route) with no request for this
     * long is removed from metrics; also the window of its probation. */
    int64_t endpoint_idle_timeout_us;
    bool metrics_enabled;   /* true: record per-request metrics (off only to measure their cost) */
    /* `le` bounds of http_request_duration_seconds, in µs, ascending; nbuckets 0 = the
     * built-in list (5 ms .. 120 s). */
    int64_t buckets_us[TG_CFG_MAX_BUCKETS];
    uint32_t nbuckets;
    bool tracing_enabled;   /* true */
    double trace_sample_rate; /* 0.01: share of requests traced besides slow and failed ones */
    uint32_t trace_buffer;  /* 2048 traces kept per worker */
    char access_log[256];   /* "" = off, "-" = stderr, else a file path (appended to) */
    enum tg_access_format { TG_ACCESS_JSON = 0, TG_ACCESS_COMBINED } access_log_format;
    /* Protections (policy.h). The top-level breaker is every upstream's default. */
    struct tg_cfg_breaker breaker;
    struct tg_cfg_ratelimit ratelimit;
    struct tg_cfg_features features;
    struct tg_cfg_fallback fallback;
    struct tg_cfg_cache cache;
    struct tg_cfg_retries retries;
    struct tg_cfg_concurrency concurrency;
    char store_path[256]; /* "tailguard.db": audit log and control-API overrides */
    /* The embedded time-series store (docs/tsdb.md); read at start only. */
    struct tg_cfg_tsdb {
        int64_t scrape_interval_us; /* 5 s */
        int64_t retention_us;       /* 2 h */
        uint64_t max_bytes;         /* 256 MiB; 0 = no cap */
        int64_t save_interval_us;   /* 5 min */
        char path[256];             /* "tailguard.tsdb"; "" or ":memory:" = not saved */
    } tsdb;
    /* Prometheus rule files and how they run (docs/rules.md); applied on reload. */
    struct tg_cfg_rules {
        char files[TG_CFG_MAX_RULE_FILES][256]; /* as written: relative to the file's dir */
        uint32_t nfiles;
        int64_t evaluation_interval_us; /* 1 min: groups without an interval of their own */
        struct tg_cfg_label {
            char name[64];
            char value[192];
        } external_labels[TG_CFG_MAX_EXTERNAL_LABELS]; /* sorted by name */
        uint32_t nexternal_labels;
        char external_url[256]; /* "" = http://<admin.listen> */
    } rules;
    /* Where alerts go (docs/rules.md); applied on reload. */
    struct tg_cfg_alerting {
        char alertmanagers[TG_CFG_MAX_ALERT_TARGETS][256]; /* http://host:port[/prefix] */
        uint32_t nalertmanagers;
        char webhooks[TG_CFG_MAX_ALERT_TARGETS][256];
        uint32_t nwebhooks;
        int64_t resend_delay_us; /* 1 min, as Prometheus */
        int64_t timeout_us;      /* 10 s per request */
        uint32_t queue_capacity; /* 10000 alerts per target */
        uint32_t retries;        /* 3 */
        int64_t backoff_us;      /* 1 s before the first retry, doubling */
    } alerting;
    /* What the collectors read besides the gateway (docs/collectors.md); applied on
     * reload. Every collector but host is off until configured. */
    struct tg_cfg_collectors collectors;
    struct tg_cfg_diagnosis diagnosis; /* diagnosis.h */
    struct tg_cfg_playbooks playbooks; /* playbooks.h */
    struct tg_cfg_autoscale autoscale;
    /* Incidents opened from alerts (docs/config.md "incidents"); applied on reload. */
    struct tg_cfg_incidents {
        bool enabled;             /* true: a firing alert opens or joins an incident */
        int64_t quiet_period_us;  /* 5 min: every alert resolved this long -> resolved */
        int64_t escalation_l2_us; /* 30 min: L1 -> L2 (seed 001; seed 002's step) */
        int64_t escalation_l3_us; /* 60 min: L2 -> L3 */
        int64_t ack_deadline_us;  /* 15 min: SEV-2 and above (seed 002's P1) */
    } incidents;
    /* Where each setting came from (settings.c): the key paths the file wrote, as
     * "\nkey\n" runs in one string owned by the snapshot (NULL = none). */
    char *file_keys;
    uint32_t mounted_routes; /* routes admin.mount_on_proxy put before the file's */
};

/* A snapshot with every default and no upstreams or routes. Never returns NULL. */
struct tg_config *tg_config_new_default(void);

/* Reads and parses the YAML file at `path`. On success stores a new snapshot (not yet
 * validated: apply flags, then call tg_config_validate) in `*out` and returns 0. On
 * failure `*out` is NULL, `eb` holds file, line, column and "key.path: message", and the
 * return is -errno (cannot read), TG_EPARSE (not YAML) or TG_ECONFIG (YAML, but not a
 * valid config). */
int tg_config_load_file(const char *path, struct tg_config **out, struct tg_errbuf *eb);

/* As tg_config_load_file, from memory. `name` labels error messages (NULL: "<string>");
 * cfg->file stays "". `yaml` need not be NUL-terminated. */
int tg_config_load_string(const char *yaml, size_t len, const char *name, struct tg_config **out,
                          struct tg_errbuf *eb);

/* The --upstream flag: parses `hostport` and appends it (weight 1) to the default
 * upstream, first creating an upstream named "default" when there is none. Returns 0 or
 * TG_ECONFIG (bad address, port 0, duplicate server, too many servers). */
int tg_config_add_upstream_server(struct tg_config *cfg, const char *hostport,
                                  struct tg_errbuf *eb);

/* Cross-checks after flags are applied and resolves routes without an upstream to the
 * default upstream: at least one upstream, each with a server; unique names; indexes in
 * range; admin.listen differs from listen. Returns 0 or TG_ECONFIG with the key named in
 * the message (no line numbers: the values may come from flags). */
int tg_config_validate(struct tg_config *cfg, struct tg_errbuf *eb);

/* A deep copy, for building the next snapshot from the current one. */
struct tg_config *tg_config_clone(const struct tg_config *cfg);

void tg_config_free(struct tg_config *cfg); /* accepts NULL */

/* Reload support (live.c). Every setting takes effect at run time except a few bound to
 * what is built once at start: listen, admin.listen, workers, endpoints.max,
 * tracing.buffer. This copies those from `running` into `next` (a new snapshot, before
 * it is published) and calls `fn` (may be NULL) for each one `next` wanted to change,
 * with both values as text and what holds the setting; returns how many. */
typedef void tg_config_kept_fn(const char *key, const char *running, const char *wanted,
                               const char *why, void *ctx);
unsigned tg_config_keep_restart_only(const struct tg_config *running, struct tg_config *next,
                                     tg_config_kept_fn *fn, void *ctx);

/* Index of the upstream called `name`, or TG_ENOTFOUND. O(nupstreams). */
int tg_config_upstream_index(const struct tg_config *cfg, const char *name);

/* Formats `eb` the way the command line prints it, "file:line:column: message" (the
 * position parts are left out when unknown). Returns `buf`. */
const char *tg_config_format_error(const struct tg_errbuf *eb, char *buf, size_t cap);

/* The YAML spelling of each enum value, e.g. "p2c_ewma", "critical", "template". */
const char *tg_config_lb_name(enum tg_lb lb);
const char *tg_config_class_name(enum tg_route_class cls);
const char *tg_config_match_name(enum tg_route_match match);
const char *tg_config_tier_name(enum tg_tier tier);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool tg_config_addr_is_loopback(const struct tg_addr *a);

#endif
