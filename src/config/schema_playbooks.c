/* SPDX-License-Identifier: MIT */
/* The playbooks: section of the schema (docs/playbooks.md): guardrails, and rules that
 * match a diagnosis to an ordered list of control-API operations. An action's body is a
 * YAML mapping turned into the JSON the control API takes (plain scalars typed as YAML
 * 1.2's core schema types them: true/false, null, integers, floats, else strings). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/schema_int.h"
#include "config/schema_policy_int.h"
#include "config/units.h"

#define SEC TG_US_PER_S
#define MIN (60 * SEC)
#define HOUR TG_US_PER_H
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* In the order of diagnose/diagnosis.h's enums (the masks' bit numbers). */
static const char *const scopes[] = {"none", "targeted", "system_wide", NULL};
static const char *const patterns[] = {"none", "sudden", "gradual", "periodic", NULL};
static const char *const causes[] = {
    "database", "redis", "external_service", "cpu",     "memory", "upstream_server",
    "errors",   "cache", "capacity",         "unknown", NULL};
static const char *const levels[] = {"SEV-1", "SEV-2", "SEV-3", NULL};
static const char *const modes[] = {"suggest", "auto", NULL};
/* The §e operations a playbook may run (the path each maps to is diagnose/'s). */
static const char *const ops[] = {"BREAKER",     "TIMEOUTS", "RATE_LIMIT",  "FEATURES_DISABLE",
                                  "FALLBACK",    "RETRY",    "CONCURRENCY", "CACHE_WARM",
                                  "CACHE_PURGE", "GC",       "SCALE",       "EJECT",
                                  "TRACING",     NULL};

static void add(struct tg_cfg_playbooks *p, const char *name, unsigned scope, unsigned cause,
                const char *const *actions)
{
    struct tg_cfg_playbook *b = &p->list[p->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->match.scopes = scope;
    b->match.causes = cause;
    b->match.min_confidence = 0.5;
    for (; *actions; actions++)
        snprintf(b->actions[b->nactions++].op, sizeof b->actions[0].op, "%s", *actions);
}

/* The seeds' cases (issue: targeted slow endpoint, system-wide overload, failing
 * dependency, error burst, one slow server), most specific first: the first rule that
 * matches a diagnosis runs. */
static void shipped(struct tg_cfg_playbooks *p)
{
    static const char *const server[] = {"EJECT", NULL};
    static const char *const dep[] = {"TIMEOUTS", "BREAKER", "FALLBACK", NULL};
    static const char *const errors[] = {"BREAKER", "FEATURES_DISABLE", NULL};
    static const char *const overload[] = {"SCALE", "RATE_LIMIT", "FEATURES_DISABLE", NULL};
    static const char *const slow[] = {"FALLBACK", "BREAKER", NULL};
    p->n = 0;
    add(p, "slow-server", 0, 1u << 5, server);
    add(p, "failing-dependency", 0, (1u << 0) | (1u << 1) | (1u << 2), dep);
    add(p, "error-burst", 0, 1u << 6, errors);
    add(p, "system-overload", 1u << 2, (1u << 3) | (1u << 8), overload);
    add(p, "slow-endpoint", 1u << 1, 0, slow);
    p->defaults = true;
}

void tg_config__playbooks_defaults(struct tg_config *cfg)
{
    struct tg_cfg_playbooks *p = &cfg->playbooks;
    memset(p, 0, sizeof *p);
    p->enabled = true;
    p->max_actions = 3;
    p->cooldown_us = 2 * MIN;
    p->settle_us = 30 * SEC;
    p->verify_us = 2 * MIN;
    p->hold_us = 10 * MIN;
    p->min_samples = 5;
    shipped(p);
}

/* A list of names (or one name) into a bit mask over `names`. */
static int read_mask(struct tg_config_walk *w, yaml_node_t *node, const char *const *names,
                     unsigned *out)
{
    yaml_node_item_t *items = NULL;
    size_t n = 1;
    if (node->type == YAML_SEQUENCE_NODE) {
        int rc = tg_config__walk_seq(w, node, 16, &items, &n);
        if (rc)
            return rc;
    }
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = items ? tg_config__walk_node(w, items[i]) : node;
        int k = 0;
        struct tg_config_field f = {.key = "", .kind = TG_CONFIG_K_ENUM, .out = &k, .names = names};
        size_t mark = items ? tg_config__walk_push_index(w, i) : 0;
        int rc = tg_config__walk_value(w, it, &f);
        if (items)
            tg_config__walk_pop(w, mark);
        if (rc)
            return rc;
        *out |= 1u << k;
    }
    return 0;
}

#define MASK_READER(fn, names)                                                                     \
    static int fn(struct tg_config_walk *w, yaml_node_t *node, void *arg)                          \
    {                                                                                              \
        return read_mask(w, node, names, arg);                                                     \
    }
MASK_READER(read_scopes, scopes)
MASK_READER(read_patterns, patterns)
MASK_READER(read_causes, causes)

static int read_globs(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_pb_match *m = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_PB_MAX_GLOBS, &items, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        yaml_node_t *it = tg_config__walk_node(w, items[i]);
        const char *s;
        rc = tg_config__walk_scalar(w, it, "an endpoint glob", &s);
        if (!rc && (!s[0] || strlen(s) >= sizeof m->endpoints[0]))
            rc = tg_config__walk_err(w, it, "1 to %zu bytes", sizeof m->endpoints[0] - 1);
        if (!rc)
            snprintf(m->endpoints[i], sizeof m->endpoints[0], "%s", s);
        tg_config__walk_pop(w, mark);
    }
    m->nendpoints = rc ? 0 : (uint32_t)n;
    return rc;
}

static int read_match(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_pb_match *m = arg;
    int sev = -1;
    struct tg_config_field f[] = {
        {.key = "scope", .kind = TG_CONFIG_K_FUNC, .fn = read_scopes, .out = &m->scopes},
        {.key = "pattern", .kind = TG_CONFIG_K_FUNC, .fn = read_patterns, .out = &m->patterns},
        {.key = "cause", .kind = TG_CONFIG_K_FUNC, .fn = read_causes, .out = &m->causes},
        {.key = "min_confidence",
         .kind = TG_CONFIG_K_FUNC,
         .fn = tg_config__read_ratio,
         .out = &m->min_confidence},
        {.key = "severity", .kind = TG_CONFIG_K_ENUM, .out = &sev, .names = levels},
        {.key = "endpoints", .kind = TG_CONFIG_K_FUNC, .fn = read_globs, .out = m},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc == 0 && f[4].node)
        m->min_severity = sev + 1;
    return rc;
}

/* A plain scalar as YAML 1.2's core schema types it; quoted ones are strings. */
static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (!strcmp(s, "null") || !strcmp(s, "~") || !s[0])
        return json_null();
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*s && !*end && errno == 0)
        return json_integer(i);
    double d = strtod(s, &end);
    if (*s && !*end && isfinite(d) && strspn(s, "+-0123456789.eE") == strlen(s))
        return json_real(d);
    return json_string(s);
}

static json_t *node_json(struct tg_config_walk *w, yaml_node_t *n, int depth)
{
    if (!n || depth > 16)
        return NULL;
    if (n->type == YAML_SCALAR_NODE)
        return scalar_json(n);
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            json_t *v = node_json(w, tg_config__walk_node(w, *it), depth + 1);
            if (!v || json_array_append_new(a, v)) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    json_t *o = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = tg_config__walk_node(w, p->key);
        json_t *v = node_json(w, tg_config__walk_node(w, p->value), depth + 1);
        if (!k || k->type != YAML_SCALAR_NODE || !v ||
            json_object_set_new(o, (const char *)k->data.scalar.value, v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int read_body(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_pb_action *a = arg;
    if (node->type != YAML_MAPPING_NODE)
        return tg_config__walk_err(w, node, "must be a mapping (the operation's JSON body)");
    json_t *j = node_json(w, node, 0);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int rc = 0;
    if (!s)
        rc = tg_config__walk_err(w, node, "cannot be turned into JSON (nested too deep?)");
    else if (strlen(s) >= sizeof a->body)
        rc = tg_config__walk_err(w, node, "longer than %zu bytes as JSON", sizeof a->body - 1);
    else
        snprintf(a->body, sizeof a->body, "%s", s);
    free(s);
    return rc;
}

static int read_actions(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_playbook *b = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_PB_MAX_ACTIONS, &items, &n);
    if (!rc && n == 0)
        rc = tg_config__walk_err(w, node, "a playbook needs at least one action");
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        struct tg_cfg_pb_action *a = &b->actions[i];
        int op = -1;
        struct tg_config_field f[] = {
            {.key = "op", .kind = TG_CONFIG_K_ENUM, .out = &op, .names = ops},
            {.key = "body", .kind = TG_CONFIG_K_FUNC, .fn = read_body, .out = a},
        };
        yaml_node_t *it = tg_config__walk_node(w, items[i]);
        rc = tg_config__walk_map(w, it, f, NFIELDS(f));
        if (!rc && !f[0].node)
            rc = tg_config__walk_err(w, it, "an action needs op");
        if (!rc)
            snprintf(a->op, sizeof a->op, "%s", ops[op]);
        tg_config__walk_pop(w, mark);
    }
    b->nactions = rc ? 0 : (uint32_t)n;
    return rc;
}

static int read_rules(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_playbooks *p = arg;
    yaml_node_item_t *items;
    size_t n;
    int rc = tg_config__walk_seq(w, node, TG_CFG_MAX_PLAYBOOKS, &items, &n);
    if (rc)
        return rc;
    p->n = 0;
    p->defaults = false;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t mark = tg_config__walk_push_index(w, i);
        struct tg_cfg_playbook *b = &p->list[i];
        memset(b, 0, sizeof *b);
        b->match.min_confidence = 0.5;
        int mode = -1;
        struct tg_config_field f[] = {
            {.key = "name", .kind = TG_CONFIG_K_NAME, .out = b->name, .cap = sizeof b->name},
            {.key = "mode", .kind = TG_CONFIG_K_ENUM, .out = &mode, .names = modes},
            {.key = "match", .kind = TG_CONFIG_K_FUNC, .fn = read_match, .out = &b->match},
            {.key = "actions", .kind = TG_CONFIG_K_FUNC, .fn = read_actions, .out = b},
        };
        yaml_node_t *it = tg_config__walk_node(w, items[i]);
        rc = tg_config__walk_map(w, it, f, NFIELDS(f));
        if (!rc && (!f[0].node || !f[3].node))
            rc = tg_config__walk_err(w, it, "a playbook needs name and actions");
        for (size_t j = 0; !rc && j < i; j++)
            if (strcmp(p->list[j].name, b->name) == 0)
                rc = tg_config__walk_err(w, it, "playbook \"%s\" is defined twice", b->name);
        b->automatic = mode == 1;
        b->mode_given = mode >= 0;
        tg_config__walk_pop(w, mark);
        p->n = (uint32_t)i + 1;
    }
    return rc;
}

int tg_config__read_playbooks(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_playbooks *p = arg;
    int mode = -1;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &p->enabled},
        {.key = "dry_run", .kind = TG_CONFIG_K_BOOL, .out = &p->dry_run},
        {.key = "mode", .kind = TG_CONFIG_K_ENUM, .out = &mode, .names = modes},
        {.key = "max_actions",
         .kind = TG_CONFIG_K_U32,
         .out = &p->max_actions,
         .min = 0,
         .max = 100},
        {.key = "cooldown",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->cooldown_us,
         .min = 0,
         .max = 24 * HOUR},
        {.key = "settle",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->settle_us,
         .min = 0,
         .max = HOUR},
        {.key = "verify",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->verify_us,
         .min = SEC,
         .max = 24 * HOUR},
        {.key = "hold",
         .kind = TG_CONFIG_K_DURATION,
         .out = &p->hold_us,
         .min = 0,
         .max = 7 * 24 * HOUR},
        {.key = "min_samples",
         .kind = TG_CONFIG_K_U32,
         .out = &p->min_samples,
         .min = 1,
         .max = 10000},
        {.key = "rules", .kind = TG_CONFIG_K_FUNC, .fn = read_rules, .out = p},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    /* `mode` sets every rule that does not say its own (the shipped ones all). */
    for (uint32_t i = 0; rc == 0 && mode >= 0 && i < p->n; i++)
        if (!p->list[i].mode_given)
            p->list[i].automatic = mode == 1;
    return rc;
}
