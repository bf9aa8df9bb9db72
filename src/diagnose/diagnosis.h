/* SPDX-License-Identifier: MIT */
/* The decision tree of the runbooks (seed-inventory.md §d.2), as a pure function: what
 * the time-series store and the collectors said (struct tg_diag_input, filled by
 * gather.h) goes in, the diagnosis comes out (struct tg_diag_result, and its JSON for
 * GET /api/v1/monitoring/diagnosis and the incidents). No clock, no I/O: the time of the
 * evaluation is in the input, so every rule is unit-tested with made-up numbers.
 *
 * Steps: which endpoints are affected (enough traffic, and p95 above the endpoint's target
 * or above baseline_factor x its own baseline by at least min_excess); the scope (none,
 * targeted, system_wide); the categories of the affected endpoints; the pattern of their
 * p95 series (pattern.h); the correlations (high traffic, a deploy or config change
 * before the onset, the same hour a day ago, one slow server among its peers, a failing
 * dependency, a saturated resource); the causes, each with a confidence and the values
 * that support it; the severity from the profile's ladder; the runbook checks to run next
 * and the control-API operations that mitigate what was found. */
#ifndef TG_DIAGNOSE_DIAGNOSIS_H
#define TG_DIAGNOSE_DIAGNOSIS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/diagnosis.h"

#define TG_DIAG_MAX_ENDPOINTS 512
#define TG_DIAG_MAX_SERVERS 256
#define TG_DIAG_MAX_DEPS 64
#define TG_DIAG_MAX_EVENTS 64
#define TG_DIAG_MAX_CAUSES 12
#define TG_DIAG_MAX_CORR 16
#define TG_DIAG_MAX_EVIDENCE 4

/* One (endpoint, method) over the window. NaN = no data. */
struct tg_diag_ep {
    char endpoint[192];
    char method[16];
    double p95_s, p99_s;
    double baseline_p95_s; /* the same p95 over the baseline window before `window` */
    double day_p95_s;      /* the same p95 a day ago (time-of-day baseline) */
    double requests;       /* in the window */
    double rps, baseline_rps;
    double error_ratio;   /* 5xx / all */
    double timeouts;      /* upstream timeouts in the window */
    bool route;           /* the name is a configured route (control ops can be scoped) */
    const double *series; /* p95 over the lookback (gather owns it), NaN where empty */
};

/* One upstream server: its p95 over the window (upstream_request_duration_seconds). */
struct tg_diag_server {
    char upstream[64];
    char server[128];
    double p95_s;
    double requests;
    bool ejected; /* passive outlier detection holds it out now */
};

enum tg_diag_dep_kind { TG_DIAG_DEP_POSTGRES = 0, TG_DIAG_DEP_REDIS, TG_DIAG_DEP_PROBE };

/* A collector target the API depends on. Values NaN when the collector did not say. */
struct tg_diag_dep {
    enum tg_diag_dep_kind kind;
    char instance[128];
    bool up;
    double oldest_query_s; /* postgres: the oldest active statement or transaction */
    double backends;       /* postgres: connections */
    double mean_ms;        /* postgres: the slowest statement mean (pg_stat_statements) */
    double hit_ratio;      /* redis: keyspace hits / (hits + misses) over the window */
    double memory_ratio;   /* redis: used / maxmemory */
    double latency_s;      /* probe: its duration */
};

/* A change marker: a POSTed event or a control change from the audit log. */
struct tg_diag_event {
    int64_t id; /* the event's or the audit row's id */
    int64_t ts_ms;
    bool audit; /* a control change (config_change) rather than an event */
    char type[32];
    char service[64];
    char version[64];
    char text[160]; /* the audit row's action and target, or the event's text */
};

struct tg_diag_input {
    int64_t now_ms;
    int64_t step_ms; /* of the series */
    size_t nseries;  /* points of every series, the last one at now_ms */
    struct tg_diag_ep *eps;
    size_t neps;
    /* The whole gateway. */
    double rps, baseline_rps, error_ratio, timeouts;
    struct tg_diag_server *servers;
    size_t nservers;
    struct tg_diag_dep *deps;
    size_t ndeps;
    struct tg_diag_event *events;
    size_t nevents;
    bool host; /* the host collector answered */
    double cpu_ratio, memory_ratio;
    double cache_hit_ratio; /* the gateway's response cache over the window, NaN unused */
    uint32_t breakers_open;
    const char *features[8]; /* configured feature switches, for the suggestions */
    size_t nfeatures;
    bool autoscale;     /* scaling is configured: suggest it */
    uint32_t instances; /* the pool's servers now, for a scale suggestion */
};

enum tg_diag_scope { TG_DIAG_SCOPE_NONE = 0, TG_DIAG_SCOPE_TARGETED, TG_DIAG_SCOPE_SYSTEM };
enum tg_diag_pattern {
    TG_DIAG_PAT_NONE = 0,
    TG_DIAG_PAT_SUDDEN,
    TG_DIAG_PAT_GRADUAL,
    TG_DIAG_PAT_PERIODIC,
};
enum tg_diag_cause {
    TG_DIAG_C_DATABASE = 0,
    TG_DIAG_C_REDIS,
    TG_DIAG_C_EXTERNAL,
    TG_DIAG_C_CPU,
    TG_DIAG_C_MEMORY,
    TG_DIAG_C_SERVER,
    TG_DIAG_C_ERRORS,
    TG_DIAG_C_CACHE,
    TG_DIAG_C_CAPACITY,
    TG_DIAG_C_UNKNOWN,
    TG_DIAG_C_COUNT,
};
enum tg_diag_corr {
    TG_DIAG_K_HIGH_TRAFFIC = 0,
    TG_DIAG_K_DEPLOYMENT,
    TG_DIAG_K_CONFIG_CHANGE,
    TG_DIAG_K_TIME_OF_DAY,
    TG_DIAG_K_SERVER,
    TG_DIAG_K_DEPENDENCY,
    TG_DIAG_K_RESOURCE,
};

struct tg_diag_cause_out {
    enum tg_diag_cause cause;
    double confidence;
    char evidence[TG_DIAG_MAX_EVIDENCE][200];
    size_t nevidence;
    char target[128]; /* the server or dependency it names, or "" */
};

struct tg_diag_corr_out {
    enum tg_diag_corr kind;
    char evidence[240];
    size_t index; /* into input servers / deps / events for the kinds that name one */
};

struct tg_diag_result {
    bool degraded;
    int severity; /* 1..3 (SEV-n), 0 = none */
    enum tg_diag_scope scope;
    size_t affected[TG_DIAG_MAX_ENDPOINTS]; /* indexes into input eps, worst p95 first */
    double target_s[TG_DIAG_MAX_ENDPOINTS]; /* each affected endpoint's target */
    size_t naffected, ntraffic;
    unsigned categories; /* bit i: cfg categories[i] */
    enum tg_diag_pattern pattern;
    int64_t onset_ms; /* 0 = unknown */
    int64_t period_ms;
    char pattern_evidence[200];
    struct tg_diag_corr_out corr[TG_DIAG_MAX_CORR];
    size_t ncorr;
    struct tg_diag_cause_out causes[TG_DIAG_MAX_CAUSES]; /* by confidence, highest first */
    size_t ncauses;
};

/* The target p95 of (endpoint, method): the first matching cfg target, else cfg's. */
double tg_diag_target_s(const struct tg_cfg_diagnosis *cfg, const char *endpoint,
                        const char *method);

/* Runs the tree over `in`. Never fails: missing data only means fewer findings. */
void tg_diag_decide(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                    struct tg_diag_result *out);

const char *tg_diag_scope_name(enum tg_diag_scope s);
const char *tg_diag_pattern_name(enum tg_diag_pattern p);
const char *tg_diag_cause_name(enum tg_diag_cause c);
const char *tg_diag_corr_name(enum tg_diag_corr k);

/* The answer of GET /api/v1/monitoring/diagnosis (the keys, and `at`,
 * `baseline_s`, `targets`): a new reference, NULL only on ENOMEM. */
json_t *tg_diag_json(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                     const struct tg_diag_result *r);

#endif
