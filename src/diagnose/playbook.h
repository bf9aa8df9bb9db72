/* SPDX-License-Identifier: MIT */
/* The pure part of the playbooks: which rule a diagnosis matches, the operation and body
 * each action sends, and the guardrails that may refuse it. No clock, no I/O: the
 * diagnosis comes in as its JSON (GET /api/v1/monitoring/diagnosis, what an incident
 * keeps), the time as now_us. playbooks.h runs them. */
#ifndef TG_DIAGNOSE_PLAYBOOK_H
#define TG_DIAGNOSE_PLAYBOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* A §e operation as the control API takes it. */
struct tg_pb_op {
    const char *id;      /* "BREAKER" */
    const char *method;  /* "PUT" */
    const char *path;    /* "/api/v1/system/circuit-breaker" */
    bool sheds;          /* refuses requests by design (its errors are not a side effect) */
    const char *setting; /* the settings section it writes, for the undo; NULL: none */
};

/* The operation `id`, or NULL (also for a NULL id). */
const struct tg_pb_op *tg_pb_op(const char *id);

/* The first rule of `p` (in order) that `diag` matches, or NULL. A rule matches a
 * degraded diagnosis whose scope, pattern and severity are among the rule's (any when
 * the rule lists none), with one of the rule's causes at min_confidence or more (when
 * it lists any), and one affected endpoint matching one of its globs (any
 * when it has none). */
const struct tg_cfg_playbook *tg_pb_match(const struct tg_cfg_playbooks *p, const json_t *diag);

/* The body action `a` sends: its own, else a copy of the diagnosis' suggested body for
 * the same operation; NULL when neither exists (the action is skipped). New reference. */
json_t *tg_pb_body(const struct tg_cfg_pb_action *a, const json_t *diag);

/* What an incident's playbook has done so far. */
struct tg_pb_state {
    uint32_t actions;       /* applied (dry runs included) */
    int64_t last_action_us; /* 0 = none */
    bool verifying;         /* an action waits for its verdict */
};

/* NULL when the action may run at `now_us`, else why not: the kill switch, the most
 * actions per incident, one action judged at a time, the cooldown, and never shedding a
 * critical route (turning off a feature a critical route carries; a rate limit,
 * concurrency limit or breaker scoped to a critical route). */
const char *tg_pb_guard(const struct tg_cfg_playbooks *p, const struct tg_config *cfg,
                        const struct tg_pb_state *s, int64_t now_us, const struct tg_pb_op *op,
                        const json_t *body);

/* The verdict when the degradation had lasted too short a time before the action for a
 * test against it (fewer than `min_samples` points since its onset: a fast playbook acts
 * within seconds). The after-samples (`after[settle..n)`, NaN = none) are compared with
 * the levels the diagnosis measured: "helped" when their median is back near the
 * endpoints' baseline (at most 1.5 x it, or 20 ms above it) or within a target the
 * degradation had crossed; "no_effect" at the last look when it stays at 80 % or more of
 * the degraded level; else, and without `min_samples` after-samples, "inconclusive"
 * (final at the last look). Returns the verdict index of diagnose/verify.h
 * (0 inconclusive, 1 helped, 2 no_effect); *final tells whether it stands, `reason` (cap
 * bytes) names the values. */
int tg_pb_short_verdict(const double *after, size_t n, size_t settle, int min_samples,
                        double baseline_ms, double degraded_ms, double target_ms, int look,
                        int max_looks, bool *final, char *reason, size_t cap);

/* The worst baseline and degraded p95 (ms) and the smallest target of the diagnosis'
 * affected endpoints; NaN when absent. */
void tg_pb_levels(const json_t *diag, double *baseline_ms, double *degraded_ms,
                  double *target_ms);

#endif
