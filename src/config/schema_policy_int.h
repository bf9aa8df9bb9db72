/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: the readers of the protection sections (schema_policy.c),
 * used by the file schema (schema.c) and by control-API overrides (settings.c). Each is
 * a tg_config_walk_fn whose `arg` is the struct it fills. */
#ifndef TG_CONFIG_SCHEMA_POLICY_INT_H
#define TG_CONFIG_SCHEMA_POLICY_INT_H

#include "config/config.h"
#include "config/yaml_walk_int.h"

void tg_config__policy_defaults(struct tg_config *cfg);

/* Reads list `node` of at most `max` items, calling `item(w, node_i, i, arg)` for each
 * with the key path naming it ("rate_limit.rules[2]"); stops at the first error. */
typedef int tg_config_item_fn(struct tg_config_walk *w, yaml_node_t *item, size_t i, void *arg);
int tg_config__read_list(struct tg_config_walk *w, yaml_node_t *node, size_t max,
                         tg_config_item_fn *item, void *arg);

tg_config_walk_fn tg_config__read_ratio;       /* double * in 0..1 */
tg_config_walk_fn tg_config__read_factor;      /* double * in 0..1000 */
tg_config_walk_fn tg_config__read_breaker;     /* struct tg_cfg_breaker * */
tg_config_walk_fn tg_config__read_ratelimit;   /* struct tg_cfg_ratelimit * */
tg_config_walk_fn tg_config__read_features;    /* struct tg_cfg_features * */
tg_config_walk_fn tg_config__read_fallback;    /* struct tg_cfg_fallback * */
tg_config_walk_fn tg_config__read_cache;       /* struct tg_cfg_cache * */
tg_config_walk_fn tg_config__read_retries;     /* struct tg_cfg_retries * */
tg_config_walk_fn tg_config__read_concurrency; /* struct tg_cfg_concurrency * */

/* After a file is read: admin.token_file. 0 or TG_ECONFIG. */
int tg_config__policy_finish(struct tg_config *cfg, struct tg_errbuf *eb);

/* From tg_config_validate: upstream and route breakers take the top-level keys they
 * did not write; rate-limit rules without a message get the default one. */
void tg_config__policy_resolve(struct tg_config *cfg);

/* From tg_config_validate: the limits that span keys of the protection sections (a
 * rate limit with nothing to limit, a burst above its rate, per-key maxima). */
int tg_config__policy_check(const struct tg_config *cfg, struct tg_errbuf *eb);

#endif
