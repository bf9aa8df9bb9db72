/* SPDX-License-Identifier: MIT */
/* The protection policies of a configuration snapshot: circuit breaker, rate limit,
 * feature switches, cache and fallback, retries, concurrency. Plain data, part of struct
 * tg_config (config.h includes this file). Key names and units are the control API's
 * (docs/api.md, the runbooks' own field names: `timeout_ms`, `recovery_time` in seconds),
 * so one name means one thing in the file, in a control-API body and in
 * GET /api/v1/system/config. The decisions themselves live in src/protect/; the proxy
 * turns these structs into their parameters. */
#ifndef TG_CONFIG_POLICY_H
#define TG_CONFIG_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* Bits of struct tg_cfg_breaker.set: which keys this level wrote itself. An upstream's or
 * a route's breaker takes every key it did not write from the top-level one. */
enum tg_cfg_breaker_key {
    TG_BRK_ENABLED = 0,
    TG_BRK_TIMEOUT,
    TG_BRK_THRESHOLD,
    TG_BRK_RECOVERY,
    TG_BRK_MIN_REQUESTS,
    TG_BRK_WINDOW_S,
    TG_BRK_WINDOW_N,
    TG_BRK_HALF_OPEN,
    TG_BRK_LATENCY,
    TG_BRK_KEYS,
};

struct tg_cfg_breaker {
    bool enabled;              /* false */
    uint32_t timeout_ms;       /* 5000: slower calls count as failures and are cut */
    double failure_threshold;  /* 0.5: failure ratio over the window that opens it */
    uint32_t recovery_time;    /* 60 s open before half-open (the runbook's unit) */
    uint32_t min_requests;     /* 20 calls in the window before the ratio counts */
    uint32_t window_seconds;   /* 10: time-based window */
    uint32_t window_requests;  /* 0; > 0: count-based window of the last N calls */
    uint32_t half_open_requests; /* 3 probes let through while half-open */
    double latency_factor;     /* 0 = off; else open when p95 > factor x its baseline */
    uint32_t set;              /* 1u << enum tg_cfg_breaker_key written at this level */
};

enum tg_cfg_rl_per {
    TG_RL_GLOBAL = 0, /* one budget for all traffic */
    TG_RL_CLIENT_IP,  /* one budget per client address */
    TG_RL_ROUTE,      /* one budget per route (endpoint) */
};

/* A rule in the style of seed 004 (express-rate-limit): at most `max` requests per
 * `window_seconds` fixed window for paths under `path_prefix`, per client IP or for all
 * clients together, refused with `message`. Every matching rule applies. */
struct tg_cfg_rl_rule {
    char path_prefix[256];
    uint32_t window_seconds;
    uint32_t max;
    enum tg_cfg_rl_per key; /* TG_RL_CLIENT_IP ("ip", default) or TG_RL_GLOBAL */
    char message[256];      /* "" = "Too many requests, please try again later." */
};

/* A trusted proxy network: X-Forwarded-For is believed only from these peers. */
struct tg_cfg_cidr {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    uint8_t bits;     /* prefix length over the 128-bit form */
};

#define TG_CFG_MAX_RL_RULES 64
#define TG_CFG_MAX_TRUSTED 64
#define TG_CFG_MAX_FEATURES 64
#define TG_CFG_MAX_CACHE_RULES 64
#define TG_CFG_MAX_RETRY_STATUSES 16

struct tg_cfg_ratelimit {
    bool enabled;                 /* false */
    uint32_t requests_per_minute; /* 0; this or requests_per_second sets the rate */
    uint32_t requests_per_second; /* 0 */
    uint32_t burst;               /* 0 = one second's worth of the rate (at least 1) */
    enum tg_cfg_rl_per per;       /* global */
    bool dry_run;                 /* count would-be refusals, refuse nothing */
    uint32_t max_clients;         /* 1,000,000: per-client state kept (bounded table) */
    struct tg_cfg_rl_rule rules[TG_CFG_MAX_RL_RULES];
    uint32_t nrules;
    struct tg_cfg_cidr trusted[TG_CFG_MAX_TRUSTED];
    uint32_t ntrusted;
};

/* Feature switches: a disabled feature's routes answer 503 without touching the
 * upstream. A name no route declares as its `feature` matches paths with a segment of
 * that name (`analytics` sheds /api/analytics/...). */
struct tg_cfg_features {
    char disabled[TG_CFG_MAX_FEATURES][64];
    uint32_t ndisabled;
};

struct tg_cfg_fallback {
    bool enabled;       /* false */
    uint32_t cache_ttl; /* 3600 s: the oldest cached answer served when the upstream fails */
};

struct tg_cfg_cache_rule {
    char path_glob[256]; /* "*" matches any run of characters, "/api/products*" */
    uint32_t ttl_seconds;
};

struct tg_cfg_cache {
    uint64_t max_bytes;        /* 64 MiB for all entries */
    uint64_t max_object_bytes; /* 1 MiB for one response */
    struct tg_cfg_cache_rule rules[TG_CFG_MAX_CACHE_RULES];
    uint32_t nrules;
};

/* How a backoff is spread (protect/retry.h): uniformly below the exponential delay,
 * decorrelated from the previous wait, or exactly the exponential delay. */
enum tg_cfg_jitter {
    TG_CFG_JITTER_FULL = 0,
    TG_CFG_JITTER_DECORRELATED,
    TG_CFG_JITTER_NONE,
};

struct tg_cfg_retries {
    uint32_t max_attempts;  /* 3 tries in all, the first included; 1 = no retries */
    uint32_t base_delay_ms; /* 0: retry at once; else wait base x factor^(n-1) first */
    double factor;          /* 2 */
    uint32_t max_delay_ms;  /* 1000: cap on any wait */
    enum tg_cfg_jitter jitter; /* full */
    double budget_ratio;    /* 0.2: retries in flight at most this share of requests */
    uint32_t min_concurrent; /* 3: retries always allowed in flight, whatever the ratio */
    uint16_t statuses[TG_CFG_MAX_RETRY_STATUSES]; /* upstream 5xx statuses retried; none */
    uint32_t nstatuses;
};

struct tg_cfg_concurrency {
    uint32_t hard_limit;       /* 0 = off; in-flight requests per upstream, then 503 */
    uint32_t soft_limit;       /* 0 = off; above it sheddable routes are shed */
    uint32_t queue;            /* requests that may wait for a slot, all workers; 0 */
    uint32_t queue_timeout_ms; /* 1000 */
    bool adaptive;             /* the limit follows latency (gradient), under hard_limit */
    uint32_t min_limit;        /* 5: the adaptive limit's floor */
    double tolerance;          /* 1.5: latency over its baseline tolerated before a cut */
};

enum tg_tier {
    TG_TIER_CRITICAL = 0, /* shed last */
    TG_TIER_STANDARD,     /* default */
    TG_TIER_SHEDDABLE,    /* shed first */
};

#endif
