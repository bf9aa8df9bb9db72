/* SPDX-License-Identifier: MIT */
/* Internal to src/store/: the schema and its forward migrations. The file's version is
 * PRAGMA user_version (it lives in the database header and changes inside the same
 * transaction as the tables); migration i brings version i to i + 1. All pending
 * migrations run in one write transaction that first re-reads the version, so an
 * interrupted upgrade leaves the old version intact and running it twice is harmless.
 * Migrations only add: a table, a column with a default, an index. */
#ifndef TG_STORE_SCHEMA_INT_H
#define TG_STORE_SCHEMA_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "core/err.h"

/* PRAGMA application_id of a tailguard store ("tgrd"), so another program's SQLite file
 * is not mistaken for one. */
#define TG_STORE__APP_ID 0x74677264

/* The migrations of this build; the schema version it writes is their count. */
extern const char *const tg_store__migrations[];
extern const int tg_store__schema_version;

/* Runs migrations[v .. n-1] on `db` (v = its current user_version) in one transaction,
 * then sets user_version to `n` (and application_id on a new file). Returns 0,
 * TG_ESTORE when the file's version is above `n` (a newer build wrote it) or a step
 * fails; `path` only names the file in messages. */
int tg_store__migrate(sqlite3 *db, const char *path, const char *const *migrations, int n,
                      struct tg_errbuf *eb);

/* Reads one integer PRAGMA (or any one-integer query) into *out. SQLite's result code. */
int tg_store__query_int(sqlite3 *db, const char *sql, int64_t *out);

#endif
