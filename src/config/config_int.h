/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: snapshot helpers shared by config.c (defaults, flags,
 * validation) and schema.c (the YAML mapping), so both build upstreams and routes with
 * the same defaults and the same rules for names. */
#ifndef TG_CONFIG_CONFIG_INT_H
#define TG_CONFIG_CONFIG_INT_H

#include <search.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* calloc / reallocarray that print a message and abort on failure (config is built at
 * startup or reload, never on the request path; see config.h). */
void *tg_config__xcalloc(size_t n, size_t size);
void *tg_config__xreallocarray(void *p, size_t n, size_t size);

/* Fills `u` with the documented defaults and no servers. */
void tg_config__upstream_defaults(struct tg_cfg_upstream *u);

/* Fills `r` with defaults: any method, class default, default upstream. */
void tg_config__route_defaults(struct tg_cfg_route *r);

/* True when `s` is a valid upstream, route or feature name: 1 to 63 characters from
 * [A-Za-z0-9_.-]. */
bool tg_config__name_ok(const char *s);

/* A set of strings for the duplicate checks of long lists (10k routes, 1000 servers in
 * each of 1000 upstreams), where comparing each entry with every earlier one took
 * seconds: libc's hsearch_r, sized once for `n` entries, O(1) per entry. Keys are
 * borrowed and must outlive the set. Allocation failure aborts, as for the config. */
struct tg_config_set {
    struct hsearch_data h;
};
void tg_config__set_init(struct tg_config_set *s, size_t n);
void tg_config__set_deinit(struct tg_config_set *s);

/* Adds `key` with index `i` and returns -1, or, when an equal key is already there,
 * returns that key's index and leaves the set unchanged. At most `n` keys. */
long tg_config__set_add(struct tg_config_set *s, const char *key, long i);

/* The YAML spellings, indexed by enum value, NULL-terminated. */
extern const char *const tg_config__lb_names[];
extern const char *const tg_config__class_names[];
extern const char *const tg_config__tier_names[];
extern const char *const tg_config__jitter_names[]; /* enum tg_cfg_jitter */
extern const char *const tg_config__method_names[]; /* index = bit number; [0] "OTHER" */

#endif
