/* SPDX-License-Identifier: MIT */
/* Prometheus rule files (prometheus-compat.md §c.1): groups of recording and alerting
 * rules, read with the same verdicts as `promtool check rules` (2.42): strict YAML
 * (an unknown key is an error), a bare list of rules without `groups:` refused with
 * Prometheus's message and a hint, group names non-empty and unique in the file, each
 * rule exactly one of `record`/`alert`, an `expr` that PromQL accepts, recording rules
 * without `for`, `keep_firing_for` or annotations, valid metric and label names, label
 * templates that parse. Every error of the file is reported, each with its line, as
 * promtool lists them all. */
#ifndef TG_RULES_RULEFILE_H
#define TG_RULES_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "promql/ast.h"
#include "rules/template.h"

struct tg_rule_kv {
    char *name, *value;      /* the value as written (a template for alerting rules) */
    struct tg_template *tmpl; /* alerting rules: parsed; NULL for recording rules */
};

struct tg_rule {
    bool alert;            /* alerting rule; else recording */
    char *name;            /* `alert:` or `record:` */
    char *expr_text;       /* as written */
    struct tg_promql_node *expr;
    int64_t for_ms, keep_firing_for_ms;
    struct tg_rule_kv *labels;
    size_t nlabels;
    struct tg_rule_kv *annotations;
    size_t nannotations;
    int line;              /* where the rule starts in the file */
};

struct tg_rule_group {
    char *name;
    int64_t interval_ms; /* 0: the configured default */
    uint32_t limit;      /* 0: no limit */
    struct tg_rule *rules;
    size_t nrules;
};

struct tg_rule_file {
    char *path;
    struct tg_rule_group *groups;
    size_t ngroups;
};

/* The problems found in a file, in file order. */
struct tg_rule_errors {
    char **msgs;
    size_t n;
};

void tg_rule_errors_free(struct tg_rule_errors *e);

/* Reads `path`. 0 with `*out` set when the file has no error; else TG_ECONFIG with every
 * problem in `errs` (and `*out` NULL); -errno when the file cannot be read (also in
 * `errs`). */
int tg_rulefile_load(const char *path, struct tg_rule_file **out, struct tg_rule_errors *errs);

/* The same from text in memory; `path` names it in messages. */
int tg_rulefile_parse(const char *path, const char *text, size_t len, struct tg_rule_file **out,
                      struct tg_rule_errors *errs);

void tg_rulefile_free(struct tg_rule_file *f);

/* The number of rules of the file. */
size_t tg_rulefile_count(const struct tg_rule_file *f);

/* Prometheus's duration format ("5m", "1h30m", "0s", "90s", "1d", "2w", "1y", "100ms"):
 * true with the milliseconds in *ms. */
bool tg_rule_duration(const char *s, int64_t *ms);

#endif
