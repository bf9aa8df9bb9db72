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

/* The collectors: section (schema_collect.c); `arg` is the struct tg_cfg_collectors. */
tg_config_walk_fn tg_config__read_collectors;
void tg_config__collectors_defaults(struct tg_config *cfg);
/* Once the root is read (tsdb.scrape_interval known): each timeout against its interval,
 * and relative password files taken from cfg->file's directory. `node` is the
 * collectors: mapping (NULL when absent). 0 or TG_ECONFIG with `w->eb` filled. */
int tg_config__collectors_finish(struct tg_config_walk *w, yaml_node_t *node,
                                 struct tg_config *cfg);
/* From tg_config_validate: intervals of 0 become tsdb.scrape_interval, timeouts of 0 the
 * interval but at most 10 s. Idempotent. */
void tg_config__collectors_resolve(struct tg_config *cfg);

/* The diagnosis: section (schema_diagnosis.c); `arg` is the struct tg_cfg_diagnosis. */
tg_config_walk_fn tg_config__read_diagnosis;
void tg_config__diagnosis_defaults(struct tg_config *cfg);

/* The playbooks: section (schema_playbooks.c); `arg` is the struct tg_cfg_playbooks. */
tg_config_walk_fn tg_config__read_playbooks;
void tg_config__playbooks_defaults(struct tg_config *cfg);

/* The autoscale: section (schema_scale.c); `arg` is the struct tg_cfg_autoscale. */
tg_config_walk_fn tg_config__read_autoscale;
void tg_config__autoscale_defaults(struct tg_config *cfg);
/* From tg_config_validate: autoscale.upstream names an upstream. 0 or TG_ECONFIG. */
int tg_config__autoscale_check(const struct tg_config *cfg, struct tg_errbuf *eb);

/* The incidents: section (schema_incidents.c); `arg` is the struct tg_cfg_incidents. */
tg_config_walk_fn tg_config__read_incidents;
void tg_config__incidents_defaults(struct tg_config *cfg);

#endif
