/* SPDX-License-Identifier: MIT */
/* The store: one SQLite file for what must survive a restart. Today it holds the audit
 * log of control changes (store/audit.h), the persisted control-API overrides
 * (store/override.h), the alert history (store/alerts.h), events (store/events.h) and
 * incidents (store/incidents.h); later tables join it through numbered forward
 * migrations. The API is synchronous and plain C for the
 * control thread: nothing on the request path calls it. A `struct tg_store` is used by
 * one thread at a time; a second one opened read-only may read from another thread while
 * the writer writes (WAL). Only tg_store_stats may be called from any thread.
 *
 * Guarantees: a write that returned 0 is on disk (synchronous=FULL, see docs/store.md);
 * a file that is not a store, is damaged, was written by a newer build or cannot be
 * written is refused at open with a message naming the path and the problem. */
#ifndef TG_STORE_STORE_H
#define TG_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Defaults of the audit retention when tg_store_open gets no options. */
#define TG_STORE_AUDIT_MAX_ROWS_DEFAULT 100000
#define TG_STORE_AUDIT_MAX_AGE_US_DEFAULT (90LL * 86400 * 1000000)

struct tg_store;

struct tg_store_opts {
    /* Audit retention: each append drops the oldest rows beyond `audit_max_rows` and rows
     * older than `audit_max_age_us` before the new row's time. 0 means no bound. */
    int64_t audit_max_rows;
    int64_t audit_max_age_us;
    /* A reading connection: the file must exist and be a store of this build's schema;
     * every write fails. For readers on other threads (the admin API). */
    bool read_only;
    /* Skips PRAGMA quick_check at open (it reads the whole file: 0.15 to 0.5 s for
     * 100 MB on the test VM, see docs/store.md). */
    bool skip_quick_check;
};

/* What /metrics shows about the store. Sizes are as on disk, read after each write. */
struct tg_store_stats {
    int64_t file_bytes; /* the database file */
    int64_t wal_bytes;  /* its write-ahead log beside it (0 when absent) */
    int64_t audit_rows;
    int64_t overrides;
    int64_t alert_rows;           /* rows of the alert history (store/alerts.h) */
    uint64_t alert_trimmed_total; /* history rows dropped by its retention */
    int64_t event_rows;           /* posted events (store/events.h) */
    uint64_t event_trimmed_total; /* events dropped by their retention */
    int64_t incident_rows;        /* incidents (store/incidents.h) */
    /* Incidents, timeline entries and actions dropped by the incidents' retention. */
    uint64_t incident_trimmed_total;
    uint64_t commits_total;      /* write transactions that reached the disk */
    uint64_t write_errors_total; /* writes that failed and were rolled back */
};

/* Opens (creating if needed, unless read-only) the store at `path` and brings its schema
 * up to date. `opts` NULL means the defaults above. Returns 0 with *out set, or a
 * negative code with `eb` filled and *out NULL: -ENOENT (the file or its directory does
 * not exist), -ENOTDIR, -EISDIR, -EROFS / -EACCES / -EPERM (cannot be written),
 * TG_ESTORE (not a store, damaged, a newer schema, or any SQLite failure). */
int tg_store_open(const char *path, const struct tg_store_opts *opts, struct tg_store **out,
                  struct tg_errbuf *eb);

/* Closes the connection; the last writer to close folds the WAL back into the file.
 * Accepts NULL. */
void tg_store_close(struct tg_store *s);

/* The path given at open. */
const char *tg_store_path(const struct tg_store *s);

/* Copies the counters (relaxed atomic loads): callable from any thread. The sizes and
 * counts are those after this connection's last write (for a reader: at its open), so
 * /metrics reads the writer's. */
void tg_store_stats(const struct tg_store *s, struct tg_store_stats *out);

/* Called after each committed write that appended an audit row, with the row's id (read
 * it with tg_store_audit_get): how every control change, wherever it is made, reaches
 * the incidents' timelines. It may write to the store. One hook; NULL removes it. */
typedef void tg_store_audit_hook_fn(void *ctx, int64_t audit_id);
void tg_store_on_audit(struct tg_store *s, tg_store_audit_hook_fn *fn, void *ctx);

#endif
