/* SPDX-License-Identifier: MIT */
/* Internal to src/store/: the audit append inside a transaction the caller holds, shared
 * by tg_store_audit_append and tg_store_apply. */
#ifndef TG_STORE_AUDIT_INT_H
#define TG_STORE_AUDIT_INT_H

#include <stdint.h>

#include "core/err.h"
#include "store/audit.h"
#include "store/store.h"

/* Validates and redacts `row`, inserts it and applies the retention. The caller has
 * begun a transaction and rolls it back on error. */
int tg_store__audit_insert(struct tg_store *s, const struct tg_store_audit *row, int64_t *id,
                           struct tg_errbuf *eb);

#endif
