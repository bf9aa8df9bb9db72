/* SPDX-License-Identifier: MIT */
/* Internal to src/store/: the connection, its prepared statements and the helpers that
 * store.c shares with audit.c and override.c (statement steps, transactions, error
 * reports, the counters updated after each write). */
#ifndef TG_STORE_STORE_INT_H
#define TG_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* Statements prepared once at open (SQL text in store.c), reset after each use. */
enum tg_store__stmt {
    TG_STORE__BEGIN = 0,
    TG_STORE__COMMIT,
    TG_STORE__ROLLBACK,
    TG_STORE__AUDIT_INSERT,
    TG_STORE__AUDIT_TRIM_ROWS,
    TG_STORE__AUDIT_TRIM_AGE,
    TG_STORE__AUDIT_LIST,
    TG_STORE__AUDIT_COUNT,
    TG_STORE__OV_PUT,
    TG_STORE__OV_DELETE,
    TG_STORE__OV_GET,
    TG_STORE__OV_LIST,
    TG_STORE__OV_COUNT,
    TG_STORE__ALERT_INSERT,
    TG_STORE__ALERT_TRIM_ROWS,
    TG_STORE__ALERT_TRIM_AGE,
    TG_STORE__ALERT_LIST,
    TG_STORE__ALERT_COUNT,
    TG_STORE__AUDIT_GET,
    TG_STORE__EVENT_INSERT,
    TG_STORE__EVENT_TRIM_ROWS,
    TG_STORE__EVENT_TRIM_AGE,
    TG_STORE__EVENT_LIST,
    TG_STORE__EVENT_COUNT,
    TG_STORE__INC_INSERT,
    TG_STORE__INC_UPDATE,
    TG_STORE__INC_GET,
    TG_STORE__INC_LIST,
    TG_STORE__INC_COUNT,
    TG_STORE__INC_TRIM,
    TG_STORE__INC_ALERT_PUT,
    TG_STORE__INC_ALERT_LIST,
    TG_STORE__INC_NOTE_INSERT,
    TG_STORE__INC_NOTE_TRIM,
    TG_STORE__INC_NOTE_LIST,
    TG_STORE__INC_ACT_INSERT,
    TG_STORE__INC_ACT_TRIM,
    TG_STORE__INC_ACT_LIST,
    TG_STORE__INC_ACT_UPDATE,
    TG_STORE__NSTMT,
};

struct tg_store {
    sqlite3 *db;
    char *path;
    char *wal_path;
    bool read_only;
    int owner_fd; /* holds the owner lock (flock) of a writable file store, else -1 */
    int64_t audit_max_rows;
    int64_t audit_max_age_us;
    sqlite3_stmt *stmt[TG_STORE__NSTMT];
    /* Audit rows added (+) and trimmed (-) by the open transaction, folded into
     * `audit_rows` at commit, dropped at rollback. */
    int64_t audit_rows_pending;
    /* Written by the owning thread after each write, read by tg_store_stats anywhere. */
    _Atomic int64_t file_bytes, wal_bytes, audit_rows, overrides, alert_rows;
    _Atomic int64_t event_rows, incident_rows;
    _Atomic uint64_t alert_trimmed, event_trimmed, incident_trimmed;
    /* The audit row the open transaction added (0: none), given to the audit hook once
     * the transaction has committed (tg_store_on_audit). */
    int64_t audit_hook_id;
    tg_store_audit_hook_fn *audit_hook;
    void *audit_hook_ctx;
    _Atomic uint64_t commits, write_errors;
};

/* Fills `eb` with "store PATH: `what`: <SQLite's message>" (plus the system error when
 * SQLite had one) and returns TG_ESTORE. */
int tg_store__fail(struct tg_store *s, struct tg_errbuf *eb, const char *what);

/* Steps a statement that returns no row, then resets it. 0 or tg_store__fail(`what`). */
int tg_store__run(struct tg_store *s, sqlite3_stmt *st, const char *what, struct tg_errbuf *eb);

/* Binds text that may be NULL (SQL NULL then); borrowed until the reset. */
int tg_store__bind_text(sqlite3_stmt *st, int i, const char *v);

/* Binds an integer, 0 as SQL NULL (times that are not set). */
int tg_store__bind_opt(sqlite3_stmt *st, int i, int64_t v);

/* Runs a statement with one integer argument (a trim) and returns 0 with *changed set to
 * the rows it changed, or tg_store__fail(`what`). */
int tg_store__run_int(struct tg_store *s, enum tg_store__stmt which, int64_t arg, int64_t arg2,
                      const char *what, int64_t *changed, struct tg_errbuf *eb);

/* Resets `st` and drops its bindings (bound text is borrowed until then). */
void tg_store__reset(sqlite3_stmt *st);

/* BEGIN IMMEDIATE: takes the write lock now, so a busy file fails here, before any
 * work. -EROFS-style refusal (TG_ESTORE) on a read-only connection. */
int tg_store__begin(struct tg_store *s, struct tg_errbuf *eb);

/* COMMIT, then counters and sizes. On failure the transaction is rolled back. */
int tg_store__commit(struct tg_store *s, struct tg_errbuf *eb);

/* ROLLBACK of the open transaction (if any) after the work in it failed with `rc`; a
 * storage failure (TG_ESTORE) counts as a write error, a refused input does not. */
void tg_store__rollback(struct tg_store *s, int rc);

#endif
