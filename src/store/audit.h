/* SPDX-License-Identifier: MIT */
/* The audit log: who changed what, when, from which value to which, and how it ended.
 * Rows are appended by the control thread (alone, or together with the override they
 * record through tg_store_apply in store/override.h) and listed newest first for
 * `GET /api/v1/system/audit`. Old and new values are JSON text; secret fields in them are
 * redacted before they reach the file (store/redact.h). Retention (rows, age) is set at
 * open and applied by each append. */
#ifndef TG_STORE_AUDIT_H
#define TG_STORE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* Bounds of one listing: the default page and the most rows one call may return. */
#define TG_STORE_AUDIT_LIST_DEFAULT 100
#define TG_STORE_AUDIT_LIST_MAX 1000

struct tg_store_audit {
    int64_t id;           /* set by the store (increasing); ignored on append */
    int64_t ts_us;        /* wall clock, µs since the Unix epoch */
    const char *actor;    /* a token name or a peer address; required */
    const char *action;   /* what was done, e.g. "put circuit-breaker"; required */
    const char *target;   /* the setting or object acted on; NULL is stored as "" */
    const char *old_json; /* JSON text or NULL */
    const char *new_json; /* JSON text or NULL */
    const char *result;   /* "ok", or why it failed; NULL is stored as "ok" */
};

/* Appends `row` in its own transaction, after redacting secrets in its values (a field
 * whose name looks secret, or both values whole when `target` does), then applies the
 * retention. Sets *id (if not NULL) to the row's id. Returns 0, -EINVAL (actor or action
 * missing), TG_EPARSE (a value is not JSON), or TG_ESTORE. Nothing is written on error.
 * Cost: one fsync. */
int tg_store_audit_append(struct tg_store *s, const struct tg_store_audit *row, int64_t *id,
                          struct tg_errbuf *eb);

/* Drops rows older than `now_us - audit_max_age_us` (wall clock), for a periodic tick
 * when nothing is appended. Returns 0 or TG_ESTORE. */
int tg_store_audit_trim(struct tg_store *s, int64_t now_us, struct tg_errbuf *eb);

struct tg_store_audit_filter {
    int64_t since_us;   /* rows with ts_us >= since_us; 0: all */
    int64_t until_us;   /* rows with ts_us <= until_us; 0: no bound */
    /* Leaves out the rows that record no change of the gateway: target "events" (a
     * posted event) or beginning with "incident" (an incident's edit). */
    bool changes_only;
    unsigned limit;     /* 0: TG_STORE_AUDIT_LIST_DEFAULT; capped at TG_STORE_AUDIT_LIST_MAX */
    const char *action; /* exact match; NULL: any */
    const char *target; /* exact match; NULL: any */
};

/* Called once per row; the row's strings are valid only during the call. Return 0 to go
 * on; any other value stops the listing and is returned by it. It must not call the same
 * `struct tg_store`. */
typedef int tg_store_audit_fn(void *ctx, const struct tg_store_audit *row);

/* Streams the rows matching `f` (NULL: no filter) newest first (wall time, then id) to
 * `cb`. Returns 0 when all were given, the callback's non-zero value, or TG_ESTORE (some
 * rows may have been given before the error). One read transaction: a writer on another
 * connection does not change what one call sees. */
int tg_store_audit_list(struct tg_store *s, const struct tg_store_audit_filter *f,
                        tg_store_audit_fn *cb, void *ctx, struct tg_errbuf *eb);

/* Gives the row `id` to `cb`. Returns 0 (or the callback's value), TG_ENOTFOUND without
 * calling `cb`, or TG_ESTORE. */
int tg_store_audit_get(struct tg_store *s, int64_t id, tg_store_audit_fn *cb, void *ctx,
                       struct tg_errbuf *eb);

#endif
