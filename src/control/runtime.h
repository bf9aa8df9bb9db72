/* SPDX-License-Identifier: MIT */
/* The one runtime-state layer. Every configuration the gateway runs is built here the
 * same way, whatever asked for it (start, SIGHUP, a control-API change, drain): the
 * file as last read (the base), then the persisted control-API overrides, then the
 * command-line flags, then validation; settings that cannot change without a restart
 * keep their running values and are reported. Overrides live in the store (SQLite)
 * together with the audit log, and a change is on disk, with its audit row, before it is
 * published. Control thread only, except tg_runtime_load_base. */
#ifndef TG_CONTROL_RUNTIME_H
#define TG_CONTROL_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/settings.h"
#include "core/err.h"
#include "store/audit.h"
#include "store/store.h"

/* Applies the command-line flags to `cfg`. Called on whichever thread builds. */
typedef int tg_runtime_flags_fn(void *ctx, struct tg_config *cfg, struct tg_errbuf *eb);

struct tg_runtime_opts {
    const char *file;              /* NULL: defaults and flags only */
    tg_runtime_flags_fn *flags;    /* may be NULL */
    void *flags_ctx;
    const char *const *flag_keys;  /* settings the flags set (NULL-terminated), for layers */
    const char *store_path;        /* NULL: store.path of the file; without a file,
                                    * ":memory:" (changes then do not survive a restart) */
};

struct tg_runtime;

/* Reads the file and the store and builds the first configuration into *out. Returns 0,
 * or a negative code with `eb` saying what is wrong with the file, the flags or the
 * store (a damaged or unwritable store is an error here, at start). */
int tg_runtime_new(const struct tg_runtime_opts *opts, struct tg_runtime **rt,
                   struct tg_config **out, struct tg_errbuf *eb);
void tg_runtime_free(struct tg_runtime *rt); /* accepts NULL */

/* Reload, step one, on any thread: reads the file alone into *base. It reads nothing the
 * control thread changes. */
int tg_runtime_load_base(const struct tg_runtime *rt, struct tg_config **base,
                         struct tg_errbuf *eb);

/* Reload, step two, on the control thread: builds the configuration from `base`
 * (taken), the overrides and the flags, over `running` (restart-only settings reported
 * through `kept`). On success `base` becomes the runtime's base. An override that no
 * longer applies to the new file (its upstream or route is gone, its value no longer
 * valid) is left out of this configuration, logged and kept in the store. */
int tg_runtime_rebuild(struct tg_runtime *rt, struct tg_config *base,
                       const struct tg_config *running, tg_config_kept_fn *kept, void *kept_ctx,
                       struct tg_config **out, struct tg_errbuf *eb);

/* One step of a control change: set `key` to JSON `json`, or drop its override when
 * `json` is NULL. */
struct tg_runtime_set {
    const char *key;
    const char *json;
};

/* Who asked, for the audit log. */
struct tg_runtime_who {
    const char *actor;  /* token name or peer address */
    const char *action; /* "PUT /api/v1/system/circuit-breaker" */
    const char *target; /* "circuit_breaker" */
};

/* A control change: builds the configuration with `sets` applied over the current
 * overrides; if it is valid, writes the overrides and an audit row (old and new values)
 * in one transaction, then keeps them and returns the configuration to publish in *out.
 * Nothing is changed or written on failure. Errors: TG_ENOTFOUND (no such setting,
 * upstream or route), TG_ERESTART (needs a restart), TG_ECONFIG (a bad value, `eb`
 * names the key), TG_ELIMIT (a flag sets it: `eb` names the flag), TG_ESTORE. */
int tg_runtime_change(struct tg_runtime *rt, const struct tg_runtime_set *sets, size_t n,
                      const struct tg_runtime_who *who, const struct tg_config *running,
                      struct tg_config **out, struct tg_errbuf *eb);

/* The servers of an upstream that the autoscaler manages (scale/): a layer applied after
 * the flags, in memory only, never persisted as overrides, since the instances it names
 * do not outlive the process (process provider) or are read again at the next check
 * (command provider). `replace`: they are the upstream's servers; else they join the
 * servers the file and the flags give (one already there is not added twice). Builds
 * the configuration with the new list over the running one; on success keeps the list
 * for every later build (changes, reloads) and returns the configuration to publish.
 * `n` 0 with `replace` false drops the layer for that upstream. Errors: TG_ENOTFOUND (no
 * such upstream), TG_ECONFIG (the list makes the configuration invalid). A later file
 * without that upstream leaves the layer out of its builds (logged). */
int tg_runtime_set_servers(struct tg_runtime *rt, const char *upstream, bool replace,
                           const struct tg_addr *servers, size_t n,
                           const struct tg_config *running, struct tg_config **out,
                           struct tg_errbuf *eb);

/* Where a setting's value comes from. */
enum tg_runtime_layer {
    TG_LAYER_DEFAULT = 0,
    TG_LAYER_FILE,
    TG_LAYER_OVERRIDE,
    TG_LAYER_FLAG,
};
const char *tg_runtime_layer_name(enum tg_runtime_layer l);

/* Every setting of `cfg` as an array of {"key","value","layer","live", and for
 * overrides "set_by","set_at"} objects (a new reference). */
json_t *tg_runtime_settings(const struct tg_runtime *rt, const struct tg_config *cfg);

/* The overrides in force: {"key": value, ...} (a new reference). */
json_t *tg_runtime_overrides(const struct tg_runtime *rt);

/* True when `key`, or a setting below it ("circuit_breaker" for
 * "circuit_breaker.enabled"), has an override. */
bool tg_runtime_has_override(const struct tg_runtime *rt, const char *key);

/* The store (audit listing, /metrics). */
struct tg_store *tg_runtime_store(struct tg_runtime *rt);

#endif
