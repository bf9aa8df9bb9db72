/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: snapshot helpers shared by config.c (defaults, flags,
 * validation) and schema.c (the YAML mapping), so both build upstreams and routes with
 * the same defaults and the same rules for names. */
#ifndef TG_CONFIG_CONFIG_INT_H
#define TG_CONFIG_CONFIG_INT_H

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

/* The YAML spellings, indexed by enum value, NULL-terminated. */
extern const char *const tg_config__lb_names[];
extern const char *const tg_config__class_names[];
extern const char *const tg_config__method_names[]; /* index = bit number; [0] "OTHER" */

#endif
