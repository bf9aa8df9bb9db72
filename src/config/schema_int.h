/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: the tailguard schema, i.e. which YAML keys exist, their types,
 * ranges and defaults, and the checks that need more than one key (path vs prefix,
 * health timeout vs interval, unique names, upstream references). docs/config.md is the
 * user-facing description of the same tables; keep them in step. */
#ifndef TG_CONFIG_SCHEMA_INT_H
#define TG_CONFIG_SCHEMA_INT_H

#include <yaml.h>

#include "config/config.h"
#include "config/yaml_walk_int.h"

/* Reads the document root into `cfg`, which must hold the defaults and no upstreams or
 * routes. Returns 0 or TG_ECONFIG with `w->eb` filled; on error `cfg` may be partly
 * filled but is always safe to pass to tg_config_free. */
int tg_config__schema_read(struct tg_config_walk *w, yaml_node_t *root, struct tg_config *cfg);

/* Section readers the control-API overrides reuse (settings.c); `arg` is the config. */
tg_config_walk_fn tg_config__read_timeouts;
tg_config_walk_fn tg_config__read_tracing;

/* The rules: and alerting: sections (schema_rules.c); `arg` is the section's struct. */
tg_config_walk_fn tg_config__read_rules;
tg_config_walk_fn tg_config__read_alerting;
void tg_config__rules_defaults(struct tg_config *cfg);

#endif
