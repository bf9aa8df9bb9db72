/* SPDX-License-Identifier: MIT */
/* The pure parts of admin/database.c, shared with its unit tests: query-parameter and
 * body validation, and rows turned into JSON. */
#ifndef TG_ADMIN_DATABASE_INT_H
#define TG_ADMIN_DATABASE_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "admin/resp.h"
#include "collect/postgres.h"
#include "http/http1.h"

/* The rows of `r` as an array of objects keyed by column name; `types` has one letter
 * per column: 's' string, 'i' integer, 'n' number, 'b' boolean (SQL NULL is null, and
 * a cell that does not read as its type too). */
json_t *tg_admin__db_rows(const struct tg_cpg_result *r, const char *types);

/* slow-queries: min_mean_ms (default 100, the runbook's threshold; 0..1e9) and limit
 * (default 20, 1..1000), as text parameters for the query. false with the 400 in `r`. */
bool tg_admin__db_slow_params(struct tg_str query, char min_mean_ms[32], char limit[16],
                              struct tg_admin_resp *r);

/* index-candidates: schema (default "public", a plain identifier) and limit (default 50,
 * 1..1000). */
bool tg_admin__db_index_params(struct tg_str query, char schema[64], char limit[16],
                               struct tg_admin_resp *r);

/* The hook's body: {"older_than_s": number >= 1, "dry_run": bool (false)}; any other
 * field, a missing older_than_s or a wrong type is a 400 naming the field. */
bool tg_admin__db_terminate_body(json_t *body, double *older_than_s, bool *dry_run,
                                 struct tg_admin_resp *r);

/* connections: the rows as by_state, their total and max_connections (and the ratio). */
json_t *tg_admin__db_connections(const struct tg_cpg_result *r);

#endif
