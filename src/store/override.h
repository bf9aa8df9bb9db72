/* SPDX-License-Identifier: MIT */
/* Persisted control-API overrides: setting key → JSON value, with who set it and when.
 * At start the caller layers them over the configuration file (file → overrides →
 * flags), so a change made through the control API survives a restart. The store does
 * not interpret keys or values beyond checking that values are JSON; the control layer
 * owns their meaning.
 *
 * tg_store_apply is the call a control change uses: it writes the override(s) and the
 * audit row recording them in one transaction, so after a crash either both are on disk
 * or neither is. */
#ifndef TG_STORE_OVERRIDE_H
#define TG_STORE_OVERRIDE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/audit.h"
#include "store/store.h"

struct tg_store_override {
    const char *key;        /* non-empty */
    const char *value_json; /* JSON text (any JSON value) */
    const char *set_by;     /* actor, as in the audit log */
    int64_t set_at_us;      /* wall clock, µs since the Unix epoch */
};

/* One step of a change: sets `key` to `value_json`, or deletes it when that is NULL. */
struct tg_store_set {
    const char *key;
    const char *value_json;
};

/* Called once per override; its strings are valid only during the call. Return 0 to go
 * on; any other value stops and is returned. It must not call the same store. */
typedef int tg_store_override_fn(void *ctx, const struct tg_store_override *ov);

/* Inserts or replaces one override (its own transaction). Returns 0, -EINVAL (no key or
 * no value), TG_EPARSE (value not JSON) or TG_ESTORE. */
int tg_store_override_put(struct tg_store *s, const struct tg_store_override *ov,
                          struct tg_errbuf *eb);

/* Deletes one override. Returns 0, TG_ENOTFOUND (there was none) or TG_ESTORE. */
int tg_store_override_delete(struct tg_store *s, const char *key, struct tg_errbuf *eb);

/* Gives the override `key` to `cb`. Returns 0 (or the callback's value), TG_ENOTFOUND
 * without calling `cb`, or TG_ESTORE. */
int tg_store_override_get(struct tg_store *s, const char *key, tg_store_override_fn *cb, void *ctx,
                          struct tg_errbuf *eb);

/* Gives every override to `cb`, by key. Returns 0, the callback's value, or TG_ESTORE. */
int tg_store_override_list(struct tg_store *s, tg_store_override_fn *cb, void *ctx,
                           struct tg_errbuf *eb);

/* Applies `n` sets and deletes (in order; set_by and set_at come from `row`) and appends
 * `row` to the audit log (as tg_store_audit_append), in one transaction: when it returns
 * 0 all of it is on disk, otherwise none of it is. Errors: -EINVAL, TG_EPARSE (a value
 * not JSON), TG_ENOTFOUND (a delete of a key that has no override), TG_ESTORE. Sets
 * *audit_id when not NULL. Cost: one fsync. */
int tg_store_apply(struct tg_store *s, const struct tg_store_set *sets, size_t n,
                   const struct tg_store_audit *row, int64_t *audit_id, struct tg_errbuf *eb);

#endif
