/* SPDX-License-Identifier: MIT */
/* Keeps secrets out of the audit log (and out of anything else a caller writes down,
 * such as a log line about a change). A name is secret when it contains, in any case,
 * one of: token, password, passwd, secret, authorization, api_key, apikey, credential,
 * private_key, cookie. Matching by substring over-redacts (`token_file` is hidden too):
 * hiding a harmless value is the safe way to be wrong. tg_store_audit_append applies
 * this to every row itself; callers use it for text the store does not see. */
#ifndef TG_STORE_REDACT_H
#define TG_STORE_REDACT_H

#include <stdbool.h>

#include "core/err.h"

/* The text that replaces a secret value (a JSON string). */
#define TG_STORE_REDACTED "[redacted]"

/* True when `name` (a JSON field or a setting such as "admin.token") is secret. */
bool tg_store_is_secret(const char *name);

/* Copies JSON text `json` into *out (malloc'd; the caller frees it) with the value of
 * every object member whose name is secret, at any depth, replaced by "[redacted]". When
 * `name` (may be NULL) is secret, the whole value is replaced. Text with nothing to
 * redact is copied unchanged. Returns 0, TG_EPARSE with `eb` naming the position (not
 * JSON, or an object with a duplicate name), or -ENOMEM. */
int tg_store_redact(const char *json, const char *name, char **out, struct tg_errbuf *eb);

#endif
