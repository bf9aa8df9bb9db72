/* SPDX-License-Identifier: MIT */
/* The agent pool's JSON: the settings body is read with jansson (control path, rare, and
 * strict so a misspelt key is a 400 naming it instead of a silently ignored setting);
 * the answers are a handful of numbers, formatted into the caller's buffer. */
#include "demo/agents.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static int fail(struct tg_demo_fault_err *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return TG_EPARSE;
}

static int get_int(json_t *v, const char *field, long long hi, uint32_t *out,
                   struct tg_demo_fault_err *err)
{
    if (!json_is_integer(v))
        return fail(err, field, "must be an integer");
    long long x = json_integer_value(v);
    if (x < 1 || x > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be between 1 and %lld", hi);
        return fail(err, field, msg);
    }
    *out = (uint32_t)x;
    return 0;
}

static int parse_member(const char *key, json_t *v, struct tg_demo_agents_patch *p,
                        struct tg_demo_fault_err *err)
{
    if (strcmp(key, "max_coalition_size") == 0) {
        p->has |= TG_DEMO_AGENTS_SET_COALITION;
        return get_int(v, key, TG_DEMO_AGENT_COALITION_MAX, &p->v.max_coalition_size, err);
    }
    if (strcmp(key, "coordination_timeout_ms") == 0) {
        p->has |= TG_DEMO_AGENTS_SET_TIMEOUT;
        return get_int(v, key, TG_DEMO_AGENT_TIMEOUT_MAX_MS, &p->v.coordination_timeout_ms, err);
    }
    if (strcmp(key, "parallel_execution") == 0) {
        if (!json_is_boolean(v))
            return fail(err, key, "must be true or false");
        p->has |= TG_DEMO_AGENTS_SET_PARALLEL;
        p->v.parallel_execution = json_is_true(v);
        return 0;
    }
    return fail(err, key, "unknown field");
}

int tg_demo_agents_parse(const char *body, size_t len, struct tg_demo_agents_patch *p,
                         struct tg_demo_fault_err *err)
{
    memset(p, 0, sizeof *p);
    err->msg[0] = err->field[0] = 0;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid JSON at line %d column %d: %.100s", je.line, je.column,
                 je.text);
        return fail(err, "", msg);
    }
    int rc = 0;
    if (!json_is_object(root)) {
        rc = fail(err, "", "body must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        rc = parse_member(key, v, p, err);
        if (rc)
            goto out;
    }
out:
    json_decref(root);
    return rc;
}

static int fit(int n, size_t cap)
{
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int tg_demo_agents_config_json(char *dst, size_t cap, const struct tg_demo_agents_config *c)
{
    return fit(snprintf(dst, cap,
                        "{\"max_coalition_size\":%" PRIu32 ",\"coordination_timeout_ms\":%" PRIu32
                        ",\"parallel_execution\":%s}",
                        c->max_coalition_size, c->coordination_timeout_ms,
                        c->parallel_execution ? "true" : "false"),
               cap);
}

int tg_demo_agents_pool_json(char *dst, size_t cap, const struct tg_demo_agents_pool *p)
{
    /* Flat, as the runbook's `jq` shows it: the pool's state, then the settings. */
    return fit(snprintf(dst, cap,
                        "{\"pool_size\":%" PRIu32 ",\"active\":%" PRIu32 ",\"idle\":%" PRIu32
                        ",\"queued\":%" PRIu64 ",\"coordinations\":%" PRIu64
                        ",\"coordinations_total\":%" PRIu64 ",\"stale_coordinations\":%" PRIu64
                        ",\"cleaned_total\":%" PRIu64 ",\"max_coalition_size\":%" PRIu32
                        ",\"coordination_timeout_ms\":%" PRIu32 ",\"parallel_execution\":%s}",
                        p->pool_size, p->active, p->idle, p->queued, p->coordinations,
                        p->started_total, p->stale, p->cleaned_total, p->config.max_coalition_size,
                        p->config.coordination_timeout_ms,
                        p->config.parallel_execution ? "true" : "false"),
               cap);
}
