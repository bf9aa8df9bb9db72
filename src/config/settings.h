/* SPDX-License-Identifier: MIT */
/* The settings a running gateway can change, by name. A setting is "section.key"
 * ("circuit_breaker.timeout_ms", "features.disabled"), optionally scoped to one upstream
 * or route ("upstreams[api].circuit_breaker.enabled", "routes[search].circuit_breaker.
 * timeout_ms"). Values are JSON. The runtime layer (control/) builds every snapshot as:
 * the file, then the persisted control-API overrides (tg_config_apply_override, in the
 * order they were made), then the command-line flags, then tg_config_validate; this
 * file owns the names, which of them may change without a restart, how an override is
 * read (by the same schema readers as the file, so it is checked the same way) and how
 * the effective value of each is shown (GET /api/v1/system/config). */
#ifndef TG_CONFIG_SETTINGS_H
#define TG_CONFIG_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "core/err.h"

/* Applies one override to `cfg` (a snapshot not yet validated). `json` is the value as
 * JSON text. Returns 0; TG_ENOTFOUND when `key` names no setting, or an upstream or route
 * that does not exist; TG_ERESTART when the setting exists but cannot change without a
 * restart (`eb` says why); TG_ECONFIG when the value is wrong, with `eb` naming the key
 * ("circuit_breaker.timeout_ms: 0 is out of range (allowed 1 to 600000)"). On failure
 * `cfg` may be partly changed: apply to a copy. */
int tg_config_apply_override(struct tg_config *cfg, const char *key, const char *json,
                             struct tg_errbuf *eb);

/* One setting as GET /api/v1/system/config shows it. `value` is borrowed for the call. */
struct tg_config_setting {
    const char *key;
    json_t *value;
    bool in_file; /* the configuration file wrote it (else a default, an override or a flag) */
    bool live;    /* changes without a restart (by reload or control API) */
    bool overridable; /* the control API may change it */
    const char *why;  /* when not live: what is built from it at start */
};
typedef void tg_config_setting_fn(const struct tg_config_setting *s, void *ctx);

/* Calls `fn` for every setting of `cfg` (validated), in a stable order. */
void tg_config_foreach_setting(const struct tg_config *cfg, tg_config_setting_fn *fn, void *ctx);

/* The effective value of one setting (a new reference), or NULL when there is none. */
json_t *tg_config_setting_value(const struct tg_config *cfg, const char *key);

#endif
