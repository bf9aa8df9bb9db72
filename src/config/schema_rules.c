/* SPDX-License-Identifier: MIT */
/* The rules: and alerting: sections of the schema (docs/rules.md). Rule files are only
 * named here: reading them is the rule engine's job (rules/manager.h), so a bad rule
 * file is reported with promtool's messages by whoever loads it. Alert targets are
 * checked for the form the notifier takes, http://HOST:PORT[/PREFIX]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema_int.h"
#include "config/units.h"

#define SEC TG_US_PER_S
#define HOUR TG_US_PER_H

void tg_config__rules_defaults(struct tg_config *cfg)
{
    cfg->rules.evaluation_interval_us = 60 * SEC;
    cfg->alerting = (struct tg_cfg_alerting){
        .resend_delay_us = 60 * SEC,
        .timeout_us = 10 * SEC,
        .queue_capacity = 10000,
        .retries = 3,
        .backoff_us = SEC,
    };
}

/* A list of strings into `out[max][cap]`; `check` (may be NULL) judges each. */
static int read_strings(struct tg_config_walk *w, yaml_node_t *node, char *out, size_t cap,
                        size_t max, uint32_t *n,
                        int (*check)(struct tg_config_walk *w, yaml_node_t *at, const char *s))
{
    yaml_node_item_t *items;
    size_t count;
    int rc = tg_config__walk_seq(w, node, max, &items, &count);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        yaml_node_t *item = tg_config__walk_node(w, items[i]);
        size_t mark = tg_config__walk_push_index(w, i);
        const char *s;
        rc = tg_config__walk_scalar(w, item, "a string", &s);
        if (rc == 0 && (!s[0] || strlen(s) >= cap))
            rc = tg_config__walk_err(w, item, "must be 1 to %zu bytes long", cap - 1);
        if (rc == 0 && check)
            rc = check(w, item, s);
        if (rc == 0)
            snprintf(out + i * cap, cap, "%s", s);
        tg_config__walk_pop(w, mark);
    }
    if (rc == 0)
        *n = (uint32_t)count;
    return rc;
}

static int read_files(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_rules *r = arg;
    return read_strings(w, node, &r->files[0][0], sizeof r->files[0], TG_CFG_MAX_RULE_FILES,
                        &r->nfiles, NULL);
}

static bool label_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tg_cfg_label *)a)->name, ((const struct tg_cfg_label *)b)->name);
}

/* external_labels: {name: value}, added to alerts sent out (not to the API's). */
static int read_external_labels(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_rules *r = arg;
    if (node->type != YAML_MAPPING_NODE)
        return tg_config__walk_err(w, node, "expected a mapping of label names to values");
    uint32_t n = 0;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = tg_config__walk_node(w, p->key), *v = tg_config__walk_node(w, p->value);
        const char *name, *value;
        int rc = tg_config__walk_scalar(w, k, "a label name", &name);
        if (rc)
            return rc;
        size_t mark = tg_config__walk_push_key(w, name);
        if (!label_name_ok(name) || strncmp(name, "__", 2) == 0 ||
            strlen(name) >= sizeof r->external_labels[0].name)
            rc = tg_config__walk_err(w, k,
                                     "invalid label name (letters, digits and _, not "
                                     "starting with a digit or __)");
        else if (n == TG_CFG_MAX_EXTERNAL_LABELS)
            rc =
                tg_config__walk_err(w, k, "at most %d external labels", TG_CFG_MAX_EXTERNAL_LABELS);
        if (rc == 0)
            rc = tg_config__walk_scalar(w, v, "a string", &value);
        if (rc == 0 && (!value[0] || strlen(value) >= sizeof r->external_labels[0].value))
            rc = tg_config__walk_err(w, v, "must be 1 to %zu bytes long",
                                     sizeof r->external_labels[0].value - 1);
        for (uint32_t i = 0; rc == 0 && i < n; i++)
            if (strcmp(r->external_labels[i].name, name) == 0)
                rc = tg_config__walk_err(w, k, "duplicate label name");
        tg_config__walk_pop(w, mark);
        if (rc)
            return rc;
        snprintf(r->external_labels[n].name, sizeof r->external_labels[n].name, "%s", name);
        snprintf(r->external_labels[n].value, sizeof r->external_labels[n].value, "%s", value);
        n++;
    }
    qsort(r->external_labels, n, sizeof r->external_labels[0], label_cmp);
    r->nexternal_labels = n;
    return 0;
}

/* http://HOST:PORT with an optional path: what the notifier's client speaks. */
static int check_url(struct tg_config_walk *w, yaml_node_t *at, const char *s)
{
    const char *host = strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
    const char *colon = host ? strchr(host, ':') : NULL;
    const char *slash = host ? strchr(host, '/') : NULL;
    bool ok = host && colon && colon > host && (!slash || colon < slash);
    if (ok) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        ok = end > colon + 1 && (*end == '\0' || *end == '/') && port > 0 && port < 65536;
    }
    return ok ? 0
              : tg_config__walk_err(w, at,
                                    "expected a URL such as http://127.0.0.1:9093 "
                                    "(http, a host and a port)");
}

static int read_external_url(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_rules *r = arg;
    const char *s;
    int rc = tg_config__walk_scalar(w, node, "a URL", &s);
    if (rc == 0 && (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
        rc = tg_config__walk_err(w, node, "expected an http:// or https:// URL");
    if (rc == 0 && strlen(s) >= sizeof r->external_url)
        rc = tg_config__walk_err(w, node, "longer than %zu bytes", sizeof r->external_url - 1);
    if (rc == 0) {
        snprintf(r->external_url, sizeof r->external_url, "%s", s);
        size_t n = strlen(r->external_url);
        while (n > 0 && r->external_url[n - 1] == '/') /* Prometheus drops it too */
            r->external_url[--n] = '\0';
    }
    return rc;
}

int tg_config__read_rules(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_rules *r = arg;
    struct tg_config_field f[] = {
        {.key = "files", .kind = TG_CONFIG_K_FUNC, .fn = read_files, .out = r},
        {.key = "evaluation_interval",
         .kind = TG_CONFIG_K_DURATION,
         .out = &r->evaluation_interval_us,
         .min = 100 * TG_US_PER_MS,
         .max = HOUR},
        {.key = "external_labels", .kind = TG_CONFIG_K_FUNC, .fn = read_external_labels, .out = r},
        {.key = "external_url", .kind = TG_CONFIG_K_FUNC, .fn = read_external_url, .out = r},
    };
    return tg_config__walk_map(w, node, f, sizeof f / sizeof f[0]);
}

static int read_alertmanagers(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_alerting *a = arg;
    return read_strings(w, node, &a->alertmanagers[0][0], sizeof a->alertmanagers[0],
                        TG_CFG_MAX_ALERT_TARGETS, &a->nalertmanagers, check_url);
}

static int read_webhooks(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_alerting *a = arg;
    return read_strings(w, node, &a->webhooks[0][0], sizeof a->webhooks[0],
                        TG_CFG_MAX_ALERT_TARGETS, &a->nwebhooks, check_url);
}

int tg_config__read_alerting(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_alerting *a = arg;
    struct tg_config_field f[] = {
        {.key = "alertmanagers", .kind = TG_CONFIG_K_FUNC, .fn = read_alertmanagers, .out = a},
        {.key = "webhooks", .kind = TG_CONFIG_K_FUNC, .fn = read_webhooks, .out = a},
        {.key = "resend_delay",
         .kind = TG_CONFIG_K_DURATION,
         .out = &a->resend_delay_us,
         .min = 100 * TG_US_PER_MS,
         .max = 24 * HOUR},
        {.key = "timeout",
         .kind = TG_CONFIG_K_DURATION,
         .out = &a->timeout_us,
         .min = 10 * TG_US_PER_MS,
         .max = 5 * 60 * SEC},
        {.key = "queue_capacity",
         .kind = TG_CONFIG_K_U32,
         .out = &a->queue_capacity,
         .min = 1,
         .max = 1000000},
        {.key = "retries", .kind = TG_CONFIG_K_U32, .out = &a->retries, .min = 0, .max = 100},
        {.key = "backoff",
         .kind = TG_CONFIG_K_DURATION,
         .out = &a->backoff_us,
         .min = 10 * TG_US_PER_MS,
         .max = HOUR},
    };
    return tg_config__walk_map(w, node, f, sizeof f / sizeof f[0]);
}
