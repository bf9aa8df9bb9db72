/* SPDX-License-Identifier: MIT */
/* Internal to src/store/: the JSON check for override values, and redaction with the
 * value named in its error message. */
#ifndef TG_STORE_REDACT_INT_H
#define TG_STORE_REDACT_INT_H

#include "core/err.h"

/* 0 when `json` is one JSON value (any type, no duplicate object names), else TG_EPARSE
 * with `eb` saying "store: `what` is not JSON: line L column C: ...". */
int tg_store__json_check(const char *json, const char *what, struct tg_errbuf *eb);

/* tg_store_redact, with "store: `what` is not JSON: ..." as its parse error. */
int tg_store__redact(const char *json, const char *name, const char *what, char **out,
                     struct tg_errbuf *eb);

#endif
