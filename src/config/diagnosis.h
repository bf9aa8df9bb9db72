/* SPDX-License-Identifier: MIT */
/* The diagnosis settings of a configuration snapshot (the `diagnosis:` section,
 * docs/diagnosis.md): the decision tree's windows, thresholds, per-endpoint targets,
 * endpoint categories and severity ladder (seed-inventory.md §c and §d.2). Plain data,
 * part of struct tg_config (config.h includes this file); src/diagnose/ reads it. Every
 * window and threshold has the seeds' default, so a test can use seconds. */
#ifndef TG_CONFIG_DIAGNOSIS_H
#define TG_CONFIG_DIAGNOSIS_H

#include <stdbool.h>
#include <stdint.h>

#define TG_CFG_DIAG_MAX_TARGETS 64
#define TG_CFG_DIAG_MAX_CATEGORIES 16
#define TG_CFG_DIAG_MAX_GLOBS 8
#define TG_CFG_DIAG_MAX_RUNGS 4

/* A per-endpoint latency target (seed 004's table, §c.2): the first whose method and path
 * glob (fnmatch(3), against the endpoint name) match wins; else diagnosis.target. */
struct tg_cfg_diag_target {
    char method[16]; /* "" = any */
    char path[256];
    int64_t p95_us;
};

/* Endpoints whose name matches one of `globs` belong to category `name` (§d.1 I12). */
struct tg_cfg_diag_category {
    char name[64];
    char globs[TG_CFG_DIAG_MAX_GLOBS][128];
    uint32_t nglobs;
};

/* One rung of the severity ladder, checked in order; the first that holds wins. A rung
 * holds when the worst affected p95 is above p95, or its p99 above p99 (0 = not used),
 * or, with `timeouts`, any upstream timeout happened in the window. */
struct tg_cfg_diag_rung {
    char level[8]; /* "SEV-1", "SEV-2" or "SEV-3" */
    int64_t p95_us;
    int64_t p99_us;
    bool timeouts;
};

struct tg_cfg_diagnosis {
    bool enabled;               /* true: GET /api/v1/monitoring/diagnosis answers */
    bool on_alert;              /* true: a firing alert runs it and attaches it to the incident */
    char profile[8];            /* "000" (default), "001", "002", "003", "004": target and ladder */
    int64_t window_us;          /* 5 m: the "now" window of rates and quantiles */
    int64_t baseline_us;        /* 1 h: the window before `window` compared against */
    int64_t lookback_us;        /* 1 h: the p95 series the pattern is read from */
    int64_t step_us;            /* 1 m: that series' step */
    int64_t change_window_us;   /* 30 m: a deploy or config change this long before onset */
    int64_t target_us;          /* the profile's global p95 target (000: 1 s) */
    uint32_t min_requests;      /* 10 requests in the window before an endpoint counts */
    double baseline_factor;     /* 2: p95 above this x its baseline is degraded */
    int64_t min_excess_us;      /* 20 ms: and at least this far above it (noise floor) */
    double system_wide_share;   /* 0.8 of the endpoints with traffic affected */
    double high_traffic_factor; /* 1.5 x the baseline rate */
    uint32_t high_traffic_rps;  /* 1000 req/s (003/004 KPI) */
    double error_ratio;         /* 0.01 (001) */
    double cpu_ratio;           /* 0.8 */
    double memory_ratio;        /* 0.85 */
    int64_t db_query_us;        /* 1 s: an active statement or transaction this old */
    int64_t db_mean_us;         /* 100 ms: pg_stat_statements mean */
    uint32_t db_backends;       /* 50 (004's warning band) */
    double cache_hit_ratio;     /* 0.8 (002) */
    double server_factor;       /* 2: one server's p95 above this x its peers' median */
    int64_t probe_latency_us;   /* 1 s: an external service slower than this */
    struct tg_cfg_diag_rung rungs[TG_CFG_DIAG_MAX_RUNGS];
    uint32_t nrungs;
    struct tg_cfg_diag_target targets[TG_CFG_DIAG_MAX_TARGETS];
    uint32_t ntargets;
    struct tg_cfg_diag_category categories[TG_CFG_DIAG_MAX_CATEGORIES];
    uint32_t ncategories;
};

#endif
