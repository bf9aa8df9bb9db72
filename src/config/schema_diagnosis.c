/* SPDX-License-Identifier: MIT */
/* The diagnosis: section of the schema (docs/diagnosis.md): windows, thresholds,
 * per-endpoint targets, categories and the severity ladder of the decision tree. A
 * `profile` names one of the runbooks' policies (its global target and ladder, seed-
 * inventory.md §c.1); `target` and `severity` written beside it win over the profile's. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "config/config_int.h"
#include "config/schema_int.h"
#include "config/schema_policy_int.h"
#include "config/units.h"

#define MS TG_US_PER_MS
#define SEC TG_US_PER_S
#define MIN (60 * SEC)
#define HOUR TG_US_PER_H
#define DAY (24 * HOUR)
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* The runbooks' policies: 000 (SEV-1 > 5 s or timeouts, SEV-2 > 3 s, SEV-3 > 1 s), 001
 * (alert at p95 > 500 ms), 002 (P0 p99 > 5 s, P1 p95 > 2 s), 003 (P0 > 10 s, P1 > 5 s,
 * P2 > 2 s, P3 > 1 s; P2 and P3 both SEV-3 here), 004 (alert at p95 > 3 s). */
struct profile {
    const char *name;
    int64_t target_us;
    struct tg_cfg_diag_rung rungs[TG_CFG_DIAG_MAX_RUNGS];
    uint32_t nrungs;
};

static const struct profile profiles[] = {
    {"000",
     1 * SEC,
     {{"SEV-1", 5 * SEC, 0, true}, {"SEV-2", 3 * SEC, 0, false}, {"SEV-3", 1 * SEC, 0, false}},
     3},
    {"001",
     500 * MS,
     {{"SEV-1", 5 * SEC, 0, true}, {"SEV-2", 3 * SEC, 0, false}, {"SEV-3", 500 * MS, 0, false}},
     3},
    {"002", 2 * SEC, {{"SEV-1", 0, 5 * SEC, false}, {"SEV-2", 2 * SEC, 0, false}}, 2},
    {"003",
     2 * SEC,
     {{"SEV-1", 10 * SEC, 0, false}, {"SEV-2", 5 * SEC, 0, false}, {"SEV-3", 1 * SEC, 0, false}},
     3},
    {"004",
     3 * SEC,
     {{"SEV-1", 5 * SEC, 0, true}, {"SEV-2", 3 * SEC, 0, false}, {"SEV-3", 1 * SEC, 0, false}},
     3},
};
static const char *const profile_names[] = {"000", "001", "002", "003", "004", NULL};
static const char *const levels[] = {"SEV-1", "SEV-2", "SEV-3", NULL};

static void apply_profile(struct tg_cfg_diagnosis *d, const struct profile *p, bool target,
                          bool ladder)
{
    snprintf(d->profile, sizeof d->profile, "%s", p->name);
    if (target)
        d->target_us = p->target_us;
    if (ladder) {
        memcpy(d->rungs, p->rungs, sizeof d->rungs);
        d->nrungs = p->nrungs;
    }
}

static void add_target(struct tg_cfg_diagnosis *d, const char *method, const char *path,
                       int64_t p95_us)
{
    struct tg_cfg_diag_target *t = &d->targets[d->ntargets++];
    snprintf(t->method, sizeof t->method, "%s", method);
    snprintf(t->path, sizeof t->path, "%s", path);
    t->p95_us = p95_us;
}

static void add_category(struct tg_cfg_diagnosis *d, const char *name, const char *const *globs)
{
    struct tg_cfg_diag_category *c = &d->categories[d->ncategories++];
    snprintf(c->name, sizeof c->name, "%s", name);
    for (; *globs; globs++)
        snprintf(c->globs[c->nglobs++], sizeof c->globs[0], "%s", *globs);
}

void tg_config__diagnosis_defaults(struct tg_config *cfg)
{
    struct tg_cfg_diagnosis *d = &cfg->diagnosis;
    memset(d, 0, sizeof *d);
    d->enabled = true;
    d->on_alert = true;
    d->window_us = 5 * MIN;
    d->baseline_us = HOUR;
    d->lookback_us = HOUR;
    d->step_us = MIN;
    d->change_window_us = 30 * MIN;
    d->min_requests = 10;
    d->baseline_factor = 2;
    d->min_excess_us = 20 * MS;
    d->system_wide_share = 0.8;
    d->high_traffic_factor = 1.5;
    d->high_traffic_rps = 1000;
    d->error_ratio = 0.01;
    d->cpu_ratio = 0.8;
    d->memory_ratio = 0.85;
    d->db_query_us = 1 * SEC;
    d->db_mean_us = 100 * MS;
    d->db_backends = 50;
    d->cache_hit_ratio = 0.8;
    d->server_factor = 2;
    d->probe_latency_us = 1 * SEC;
    apply_profile(d, &profiles[0], true, true);
    /* Seed 004's per-endpoint targets (§c.2). */
    add_target(d, "GET", "/health", 200 * MS);
    add_target(d, "GET", "/api/products", 1 * SEC);
    add_target(d, "POST", "/api/content/generate", 60 * SEC);
    add_target(d, "GET", "/api/analytics/*", 2 * SEC);
    /* Seed 000's categories (§d.1 I12). */
    static const char *const agent[] = {"/api/v1/agents*", "/api/v1/coordination*", NULL};
    static const char *const kg[] = {"/api/v1/knowledge*", "*graph*", NULL};
    static const char *const auth[] = {"/auth*", "/api/v1/auth*", "*/token*", "*/login*", NULL};
    add_category(d, "agent", agent);
    add_category(d, "knowledge_graph", kg);
    add_category(d, "auth", auth);
}

/* A glob must compile for fnmatch: its only failure is a malformed bracket, which fnmatch
 * reports as no match, so it is refused here instead of silently never matching. */
static bool glob_ok(const char *g)
{
    int open = 0;
    for (const char *p = g; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '[')
            open++;
        else if (*p == ']' && open)
            open--;
    }
    return g[0] && open == 0 && fnmatch(g, "", 0) != -1;
}

static int read_rung(struct tg_config_walk *w, yaml_node_t *node, struct tg_cfg_diag_rung *r)
{
    int lv = -1;
    struct tg_config_field f[] = {
        {.key = "level", .kind = TG_CONFIG_K_ENUM, .out = &lv, .names = levels},
        {.key = "p95", .kind = TG_CONFIG_K_DURATION, .out = &r->p95_us, .min = 0, .max = DAY},
        {.key = "p99", .kind = TG_CONFIG_K_DURATION, .out = &r->p99_us, .min = 0, .max = DAY},
        {.key = "timeouts", .kind = TG_CONFIG_K_BOOL, .out = &r->timeouts},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    if (!f[0].node)
        return tg_config__walk_err(w, node, "level is required (SEV-1, SEV-2 or SEV-3)");
    if (!r->p95_us && !r->p99_us && !r->timeouts)
        return tg_config__walk_err(w, node, "give p95, p99 or timeouts: true");
    snprintf(r->level, sizeof r->level, "%s", levels[lv]);
    return 0;
}

static int read_rungs(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_diagnosis *d = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_DIAG_MAX_RUNGS, &items, &n);
    if (rc)
        return rc;
    memset(d->rungs, 0, sizeof d->rungs);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        rc = read_rung(w, tg_config__walk_node(w, items[i]), &d->rungs[i]);
        tg_config__walk_pop(w, mark);
    }
    d->nrungs = (uint32_t)n;
    return rc;
}

static int read_target(struct tg_config_walk *w, yaml_node_t *node, struct tg_cfg_diag_target *t)
{
    struct tg_config_field f[] = {
        {.key = "method", .kind = TG_CONFIG_K_NAME, .out = t->method, .cap = sizeof t->method},
        {.key = "path", .kind = TG_CONFIG_K_STR, .out = t->path, .cap = sizeof t->path},
        {.key = "p95", .kind = TG_CONFIG_K_DURATION, .out = &t->p95_us, .min = MS, .max = DAY},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    if (!f[1].node || !f[2].node)
        return tg_config__walk_err(w, node, "a target needs path and p95");
    if (!glob_ok(t->path)) {
        size_t mark = tg_config__walk_push_key(w, "path");
        rc = tg_config__walk_err(w, f[1].node, "not a valid glob (an unclosed \"[\"?)");
        tg_config__walk_pop(w, mark);
    }
    return rc;
}

static int read_targets(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_diagnosis *d = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_DIAG_MAX_TARGETS, &items, &n);
    if (rc)
        return rc;
    memset(d->targets, 0, sizeof d->targets);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        rc = read_target(w, tg_config__walk_node(w, items[i]), &d->targets[i]);
        tg_config__walk_pop(w, mark);
    }
    d->ntargets = (uint32_t)n;
    return rc;
}

static int read_globs(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_diag_category *c = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_DIAG_MAX_GLOBS, &items, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        yaml_node_t *it = tg_config__walk_node(w, items[i]);
        const char *s;
        rc = tg_config__walk_scalar(w, it, "a path glob", &s);
        if (!rc && (strlen(s) >= sizeof c->globs[0] || !glob_ok(s)))
            rc = tg_config__walk_err(w, it, "not a valid glob of at most %zu bytes",
                                     sizeof c->globs[0] - 1);
        if (!rc)
            snprintf(c->globs[i], sizeof c->globs[0], "%s", s);
        tg_config__walk_pop(w, mark);
    }
    c->nglobs = rc ? 0 : (uint32_t)n;
    return rc;
}

static int read_categories(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_diagnosis *d = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_DIAG_MAX_CATEGORIES, &items, &n);
    if (rc)
        return rc;
    memset(d->categories, 0, sizeof d->categories);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        struct tg_cfg_diag_category *c = &d->categories[i];
        struct tg_config_field f[] = {
            {.key = "name", .kind = TG_CONFIG_K_NAME, .out = c->name, .cap = sizeof c->name},
            {.key = "paths", .kind = TG_CONFIG_K_FUNC, .fn = read_globs, .out = c},
        };
        yaml_node_t *it = tg_config__walk_node(w, items[i]);
        rc = tg_config__walk_map(w, it, f, NFIELDS(f));
        if (!rc && (!f[0].node || !c->nglobs))
            rc = tg_config__walk_err(w, it, "a category needs a name and paths");
        for (size_t j = 0; !rc && j < i; j++) {
            if (strcmp(d->categories[j].name, c->name) == 0)
                rc = tg_config__walk_err(w, it, "category \"%s\" is defined twice", c->name);
        }
        tg_config__walk_pop(w, mark);
    }
    d->ncategories = (uint32_t)n;
    return rc;
}

int tg_config__read_diagnosis(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_diagnosis *d = arg;
    int prof = 0;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &d->enabled},
        {.key = "on_alert", .kind = TG_CONFIG_K_BOOL, .out = &d->on_alert},
        {.key = "profile", .kind = TG_CONFIG_K_ENUM, .out = &prof, .names = profile_names},
        {.key = "target",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->target_us,
         .min = MS,
         .max = DAY},
        {.key = "severity", .kind = TG_CONFIG_K_FUNC, .fn = read_rungs, .out = d},
        {.key = "window",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->window_us,
         .min = SEC,
         .max = DAY},
        {.key = "baseline",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->baseline_us,
         .min = SEC,
         .max = 7 * DAY},
        {.key = "lookback",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->lookback_us,
         .min = SEC,
         .max = 7 * DAY},
        {.key = "step",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->step_us,
         .min = 100 * MS,
         .max = HOUR},
        {.key = "change_window",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->change_window_us,
         .min = SEC,
         .max = 7 * DAY},
        {.key = "min_requests",
         .kind = TG_CONFIG_K_U32,
         .out = &d->min_requests,
         .min = 1,
         .max = 1000000},
        {.key = "baseline_factor",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_factor,
         .out = &d->baseline_factor},
        {.key = "system_wide_share",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_ratio,
         .out = &d->system_wide_share},
        {.key = "high_traffic_factor",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_factor,
         .out = &d->high_traffic_factor},
        {.key = "high_traffic_rps",
         .kind = TG_CONFIG_K_U32,
         .out = &d->high_traffic_rps,
         .min = 1,
         .max = 100000000},
        {.key = "error_ratio",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_ratio,
         .out = &d->error_ratio},
        {.key = "cpu_ratio",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_ratio,
         .out = &d->cpu_ratio},
        {.key = "memory_ratio",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_ratio,
         .out = &d->memory_ratio},
        {.key = "db_query",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->db_query_us,
         .min = MS,
         .max = DAY},
        {.key = "db_mean",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->db_mean_us,
         .min = 0,
         .max = DAY},
        {.key = "db_backends",
         .kind = TG_CONFIG_K_U32,
         .out = &d->db_backends,
         .min = 1,
         .max = 1000000},
        {.key = "cache_hit_ratio",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_ratio,
         .out = &d->cache_hit_ratio},
        {.key = "server_factor",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_factor,
         .out = &d->server_factor},
        {.key = "probe_latency",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->probe_latency_us,
         .min = MS,
         .max = DAY},
        {.key = "min_excess",
         .kind = TG_CONFIG_K_DURATION,
         .out = &d->min_excess_us,
         .min = 0,
         .max = HOUR},
        {.key = "targets", .kind = TG_CONFIG_K_FUNC, .fn = read_targets, .out = d},
        {.key = "categories", .kind = TG_CONFIG_K_FUNC, .fn = read_categories, .out = d},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    if (f[2].node)
        apply_profile(d, &profiles[prof], !f[3].node, !f[4].node);
    if (d->baseline_factor <= 1 && f[11].node) {
        size_t mark = tg_config__walk_push_key(w, "baseline_factor");
        rc = tg_config__walk_err(w, f[11].node, "must be above 1");
        tg_config__walk_pop(w, mark);
    }
    if (!rc && d->server_factor <= 1 && f[22].node) {
        size_t mark = tg_config__walk_push_key(w, "server_factor");
        rc = tg_config__walk_err(w, f[22].node, "must be above 1");
        tg_config__walk_pop(w, mark);
    }
    if (!rc && d->high_traffic_factor <= 1 && f[13].node) {
        size_t mark = tg_config__walk_push_key(w, "high_traffic_factor");
        rc = tg_config__walk_err(w, f[13].node, "must be above 1");
        tg_config__walk_pop(w, mark);
    }
    if (!rc && d->step_us > d->lookback_us)
        rc = tg_config__walk_err(w, node, "step is longer than lookback");
    return rc;
}
