/* SPDX-License-Identifier: MIT */
/* The playbooks of a configuration snapshot (the `playbooks:` section,
 * docs/playbooks.md): rules that match a diagnosis and apply the runbooks' mitigations
 * (seed-inventory.md §e) through the control API, with their guardrails. Plain data,
 * part of struct tg_config; src/diagnose/playbook*.c runs them. Without `rules:` the
 * shipped defaults apply (one per seed case: a slow endpoint, a system-wide overload, a
 * failing dependency, an error burst, one slow server), all in `suggest` mode. */
#ifndef TG_CONFIG_PLAYBOOKS_H
#define TG_CONFIG_PLAYBOOKS_H

#include <stdbool.h>
#include <stdint.h>

#define TG_CFG_MAX_PLAYBOOKS 32
#define TG_CFG_PB_MAX_ACTIONS 8
#define TG_CFG_PB_MAX_GLOBS 4
#define TG_CFG_PB_BODY_MAX 1024

/* The diagnosis values a rule matches, as bit masks in the order of the diagnosis' own
 * enums (diagnose/diagnosis.h: scope none/targeted/system_wide; pattern none/sudden/
 * gradual/periodic; causes database, redis, external_service, cpu, memory,
 * upstream_server, errors, cache, capacity, unknown). 0 = any. */
struct tg_cfg_pb_match {
    unsigned scopes;
    unsigned patterns;
    unsigned causes;                          /* any of them among the diagnosis' causes */
    double min_confidence;                    /* of that cause: 0.5 */
    int min_severity;                         /* 1..3: SEV-n or worse; 0 = any */
    char endpoints[TG_CFG_PB_MAX_GLOBS][128]; /* fnmatch globs: any affected endpoint */
    uint32_t nendpoints;
};

/* One action: a §e operation. Without `body`, the body the diagnosis suggested for that
 * operation (its rate limit from the baseline, the slow server to eject...); an action
 * with neither is skipped. */
struct tg_cfg_pb_action {
    char op[24]; /* BREAKER, TIMEOUTS, RATE_LIMIT, FEATURES_DISABLE, FALLBACK, ... */
    char body[TG_CFG_PB_BODY_MAX]; /* compact JSON object, "" = from the diagnosis */
};

struct tg_cfg_playbook {
    char name[64];
    bool automatic;  /* mode: auto; else suggest */
    bool mode_given; /* the rule wrote its mode (else playbooks.mode applies) */
    struct tg_cfg_pb_match match;
    struct tg_cfg_pb_action actions[TG_CFG_PB_MAX_ACTIONS];
    uint32_t nactions;
};

struct tg_cfg_playbooks {
    bool enabled;         /* the kill switch (PUT /api/v1/system/playbooks): true */
    bool dry_run;         /* decide and record, apply nothing: false */
    uint32_t max_actions; /* per incident: 3 */
    int64_t cooldown_us;  /* between two actions of one incident: 2 min */
    int64_t settle_us;    /* after an action, before judging it: 30 s */
    int64_t verify_us;    /* the window judged after the settle time (and before): 2 min */
    int64_t hold_us;      /* undo this long after the incident resolved: 10 min */
    uint32_t min_samples; /* points on each side before a verdict: 5 */
    bool defaults;        /* no rules: written: the shipped ones */
    struct tg_cfg_playbook list[TG_CFG_MAX_PLAYBOOKS];
    uint32_t n;
};

#endif
