/* SPDX-License-Identifier: MIT */
/* Opening and closing the store, and the helpers audit.c and override.c share. Opening
 * checks the path first, so the usual mistakes (no such directory, a directory as the
 * path, a file system that refuses writes) read as such rather than as SQLite's "unable
 * to open database file"; then it opens the connection, checks that the file is a
 * tailguard store of a schema this build knows and is intact (PRAGMA quick_check), sets
 * WAL and synchronous=FULL, runs the migrations and prepares every statement once. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/schema_int.h"
#include "store/store_int.h"

/* How long a write waits for a lock held by another connection (an operator's sqlite3
 * shell, a second process) before failing. Writes run on the control thread, which also
 * serves the admin API and the metrics tick, so this bounds how long they can stall. */
#define BUSY_TIMEOUT_MS 2000

/* synchronous=FULL: in WAL mode every commit fsyncs the log, so a change acknowledged
 * to a client survives a power loss. NORMAL syncs only at checkpoints: it survives a
 * crash of the process but may lose the last commits when the machine loses power.
 * Control changes are rare (a few per incident) and each costs one fsync, so FULL is
 * cheap where it matters and NORMAL would break "a change answered 200 is on disk".
 * journal_size_limit: after a checkpoint the log is truncated back to 4 MiB, so one
 * burst of writes does not leave a large file behind. */
static const char writer_pragmas[] = "PRAGMA synchronous=FULL;"
                                     "PRAGMA foreign_keys=ON;"
                                     "PRAGMA journal_size_limit=4194304;";

static const char *const stmt_sql[TG_STORE__NSTMT] = {
    [TG_STORE__BEGIN] = "BEGIN IMMEDIATE",
    [TG_STORE__COMMIT] = "COMMIT",
    [TG_STORE__ROLLBACK] = "ROLLBACK",
    [TG_STORE__AUDIT_INSERT] = "INSERT INTO audit(ts_us, actor, action, target, old_json,"
                               " new_json, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Ids only grow (AUTOINCREMENT) and rows only leave from the old end, so the rows
     * above max(id) - N are at most N: the bound costs no count. */
    [TG_STORE__AUDIT_TRIM_ROWS] = "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?1",
    [TG_STORE__AUDIT_TRIM_AGE] = "DELETE FROM audit WHERE ts_us < ?1",
    /* The audit_ts index gives both the `since` range and the order. */
    [TG_STORE__AUDIT_LIST] = "SELECT id, ts_us, actor, action, target, old_json, new_json,"
                             " result FROM audit WHERE ts_us >= ?1 AND (?2 IS NULL OR"
                             " action = ?2) AND (?3 IS NULL OR target = ?3)"
                             " AND (?5 = 0 OR ts_us <= ?5) AND (?6 = 0 OR"
                             " (target <> 'events' AND substr(target, 1, 8) <> 'incident'))"
                             " ORDER BY ts_us DESC, id DESC LIMIT ?4",
    [TG_STORE__AUDIT_COUNT] = "SELECT count(*) FROM audit",
    [TG_STORE__OV_PUT] = "INSERT INTO override(key, value_json, set_by, set_at_us)"
                         " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET"
                         " value_json = excluded.value_json, set_by = excluded.set_by,"
                         " set_at_us = excluded.set_at_us",
    [TG_STORE__OV_DELETE] = "DELETE FROM override WHERE key = ?1",
    [TG_STORE__OV_GET] = "SELECT key, value_json, set_by, set_at_us FROM override"
                         " WHERE key = ?1",
    [TG_STORE__OV_LIST] = "SELECT key, value_json, set_by, set_at_us FROM override"
                          " ORDER BY key",
    [TG_STORE__OV_COUNT] = "SELECT count(*) FROM override",
    [TG_STORE__ALERT_INSERT] = "INSERT INTO alert_history(ts_ms, alertname, state, labels_json,"
                               " annotations_json, value, active_at_ms, fired_at_ms,"
                               " resolved_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [TG_STORE__ALERT_TRIM_ROWS] = "DELETE FROM alert_history WHERE id <= (SELECT max(id) FROM"
                                  " alert_history) - ?1",
    [TG_STORE__ALERT_TRIM_AGE] = "DELETE FROM alert_history WHERE ts_ms < ?1",
    [TG_STORE__ALERT_LIST] = "SELECT id, ts_ms, alertname, state, labels_json, annotations_json,"
                             " value, active_at_ms, fired_at_ms, resolved_at_ms FROM"
                             " alert_history WHERE ts_ms >= ?1 AND (?2 IS NULL OR"
                             " alertname = ?2) ORDER BY ts_ms DESC, id DESC LIMIT ?3",
    [TG_STORE__ALERT_COUNT] = "SELECT count(*) FROM alert_history",
    [TG_STORE__AUDIT_GET] = "SELECT id, ts_us, actor, action, target, old_json, new_json,"
                            " result FROM audit WHERE id = ?1",
    [TG_STORE__EVENT_INSERT] = "INSERT INTO event(ts_us, type, service, version, text,"
                               " labels_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [TG_STORE__EVENT_TRIM_ROWS] = "DELETE FROM event WHERE id <= (SELECT max(id) FROM event) - ?1",
    [TG_STORE__EVENT_TRIM_AGE] = "DELETE FROM event WHERE ts_us < ?1",
    [TG_STORE__EVENT_LIST] = "SELECT id, ts_us, type, service, version, text, labels_json"
                             " FROM event WHERE ts_us >= ?1 AND (?2 = 0 OR ts_us <= ?2)"
                             " AND (?3 IS NULL OR type = ?3)"
                             " ORDER BY ts_us DESC, id DESC LIMIT ?4",
    [TG_STORE__EVENT_COUNT] = "SELECT count(*) FROM event",
    [TG_STORE__INC_INSERT] = "INSERT INTO incident(title, status, severity, opened_by, escalation,"
                             " opened_at_us, resolved_at_us, closed_at_us, quiet_since_us,"
                             " updated_at_us, fields_json) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                             " ?9, ?10, ?11, ?12)",
    [TG_STORE__INC_UPDATE] = "UPDATE incident SET title = ?2, status = ?3, severity = ?4,"
                             " opened_by = ?5, escalation = ?6, opened_at_us = ?7,"
                             " resolved_at_us = ?8, closed_at_us = ?9, quiet_since_us = ?10,"
                             " updated_at_us = ?11, fields_json = ?12 WHERE id = ?1",
    [TG_STORE__INC_GET] = "SELECT id, title, status, severity, opened_by, escalation,"
                          " opened_at_us, resolved_at_us, closed_at_us, quiet_since_us,"
                          " updated_at_us, fields_json FROM incident WHERE id = ?1",
    [TG_STORE__INC_LIST] = "SELECT id, title, status, severity, opened_by, escalation,"
                           " opened_at_us, resolved_at_us, closed_at_us, quiet_since_us,"
                           " updated_at_us, fields_json FROM incident WHERE (?1 IS NULL OR"
                           " status = ?1) AND (?2 = 0 OR status <> 'closed')"
                           " ORDER BY id DESC LIMIT ?3",
    [TG_STORE__INC_COUNT] = "SELECT count(*) FROM incident",
    /* Only closed incidents leave: one still open (or resolved, not yet written up) is
     * never dropped, however many there are. */
    [TG_STORE__INC_TRIM] = "DELETE FROM incident WHERE status = 'closed' AND id <="
                           " (SELECT max(id) FROM incident) - ?1",
    [TG_STORE__INC_ALERT_PUT] = "INSERT INTO incident_alert(incident_id, alertname, labels_json,"
                                " state, fired_at_us, resolved_at_us) VALUES (?1, ?2, ?3, ?4,"
                                " ?5, ?6) ON CONFLICT DO UPDATE SET state = excluded.state,"
                                " fired_at_us = excluded.fired_at_us,"
                                " resolved_at_us = excluded.resolved_at_us",
    [TG_STORE__INC_ALERT_LIST] = "SELECT alertname, labels_json, state, fired_at_us,"
                                 " resolved_at_us FROM incident_alert WHERE incident_id = ?1"
                                 " ORDER BY fired_at_us, alertname, labels_json",
    [TG_STORE__INC_NOTE_INSERT] = "INSERT INTO incident_timeline(incident_id, ts_us, kind, text,"
                                  " data_json) VALUES (?1, ?2, ?3, ?4, ?5)",
    [TG_STORE__INC_NOTE_TRIM] = "DELETE FROM incident_timeline WHERE incident_id = ?1 AND id <="
                                " (SELECT max(id) FROM incident_timeline WHERE"
                                " incident_id = ?1) - ?2",
    [TG_STORE__INC_NOTE_LIST] = "SELECT ts_us, kind, text, data_json FROM incident_timeline"
                                " WHERE incident_id = ?1 ORDER BY id",
    [TG_STORE__INC_ACT_INSERT] = "INSERT INTO incident_action(incident_id, ts_us, op, method,"
                                 " path, body_json, by_actor, verdict, undone_at_us, audit_id)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [TG_STORE__INC_ACT_TRIM] = "DELETE FROM incident_action WHERE incident_id = ?1 AND id <="
                               " (SELECT max(id) FROM incident_action WHERE"
                               " incident_id = ?1) - ?2",
    [TG_STORE__INC_ACT_LIST] = "SELECT id, ts_us, op, method, path, body_json, by_actor,"
                               " verdict, undone_at_us, audit_id FROM incident_action"
                               " WHERE incident_id = ?1 ORDER BY id",
    [TG_STORE__INC_ACT_UPDATE] = "UPDATE incident_action SET verdict = coalesce(?3, verdict),"
                                 " undone_at_us = coalesce(?4, undone_at_us)"
                                 " WHERE incident_id = ?1 AND audit_id = ?2",
};

int tg_store__fail(struct tg_store *s, struct tg_errbuf *eb, const char *what)
{
    int code = sqlite3_extended_errcode(s->db) & 0xff;
    int sys = sqlite3_system_errno(s->db);
    if (sys > 0 && (code == SQLITE_IOERR || code == SQLITE_CANTOPEN || code == SQLITE_FULL))
        return tg_errbuf_set(eb, TG_ESTORE, "store %s: %s: %s (%s)", s->path, what,
                             sqlite3_errmsg(s->db), tg_strerror(-sys));
    return tg_errbuf_set(eb, TG_ESTORE, "store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

void tg_store__reset(sqlite3_stmt *st)
{
    /* Both return the last step's error, which the caller has already reported. */
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int tg_store__bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int tg_store__bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    return v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

int tg_store__run_int(struct tg_store *s, enum tg_store__stmt which, int64_t arg, int64_t arg2,
                      const char *what, int64_t *changed, struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[which];
    int b = sqlite3_bind_int64(st, 1, arg);
    if (b == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 2)
        b = sqlite3_bind_int64(st, 2, arg2);
    if (b != SQLITE_OK) {
        tg_store__reset(st);
        return tg_store__fail(s, eb, what);
    }
    int rc = tg_store__run(s, st, what, eb);
    if (rc == 0 && changed)
        *changed = sqlite3_changes(s->db);
    return rc;
}

int tg_store__run(struct tg_store *s, sqlite3_stmt *st, const char *what, struct tg_errbuf *eb)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : tg_store__fail(s, eb, what);
    tg_store__reset(st);
    return ret;
}

int tg_store__begin(struct tg_store *s, struct tg_errbuf *eb)
{
    if (s->read_only)
        return tg_errbuf_set(eb, TG_ESTORE, "store %s: opened read-only, cannot write", s->path);
    s->audit_rows_pending = 0;
    int rc = tg_store__run(s, s->stmt[TG_STORE__BEGIN], "cannot start a write", eb);
    if (rc)
        atomic_fetch_add_explicit(&s->write_errors, 1, memory_order_relaxed);
    return rc;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static int64_t count_rows(struct tg_store *s, enum tg_store__stmt which)
{
    sqlite3_stmt *st = s->stmt[which];
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    tg_store__reset(st);
    return n;
}

static void refresh_stats(struct tg_store *s)
{
    atomic_store_explicit(&s->file_bytes, file_size(s->path), memory_order_relaxed);
    atomic_store_explicit(&s->wal_bytes, file_size(s->wal_path), memory_order_relaxed);
    atomic_store_explicit(&s->overrides, count_rows(s, TG_STORE__OV_COUNT), memory_order_relaxed);
    atomic_store_explicit(&s->alert_rows, count_rows(s, TG_STORE__ALERT_COUNT),
                          memory_order_relaxed);
    atomic_store_explicit(&s->event_rows, count_rows(s, TG_STORE__EVENT_COUNT),
                          memory_order_relaxed);
    atomic_store_explicit(&s->incident_rows, count_rows(s, TG_STORE__INC_COUNT),
                          memory_order_relaxed);
}

int tg_store__commit(struct tg_store *s, struct tg_errbuf *eb)
{
    int rc = tg_store__run(s, s->stmt[TG_STORE__COMMIT], "cannot commit", eb);
    if (rc) {
        tg_store__rollback(s, rc);
        return rc;
    }
    atomic_fetch_add_explicit(&s->audit_rows, s->audit_rows_pending, memory_order_relaxed);
    s->audit_rows_pending = 0;
    atomic_fetch_add_explicit(&s->commits, 1, memory_order_relaxed);
    refresh_stats(s);
    /* After the commit, so the hook sees the row and may write in a transaction of its
     * own. The id is taken first: a write the hook makes cannot call it again for it. */
    int64_t audit_id = s->audit_hook_id;
    s->audit_hook_id = 0;
    if (audit_id && s->audit_hook)
        s->audit_hook(s->audit_hook_ctx, audit_id);
    return 0;
}

void tg_store_on_audit(struct tg_store *s, tg_store_audit_hook_fn *fn, void *ctx)
{
    s->audit_hook = fn;
    s->audit_hook_ctx = ctx;
}

void tg_store__rollback(struct tg_store *s, int rc)
{
    /* A failed statement may already have ended the transaction (SQLite rolls back by
     * itself after I/O errors and a full disk). */
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->stmt[TG_STORE__ROLLBACK]);
        tg_store__reset(s->stmt[TG_STORE__ROLLBACK]);
    }
    s->audit_rows_pending = 0;
    s->audit_hook_id = 0;
    if (rc == TG_ESTORE)
        atomic_fetch_add_explicit(&s->write_errors, 1, memory_order_relaxed);
}

/* The directory part of `path` ("." when there is none). NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int check_dir(const char *path, bool need_write, struct tg_errbuf *eb)
{
    char *dir = dir_of(path);
    if (!dir)
        return tg_errbuf_set(eb, -ENOMEM, "store %s: out of memory", path);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) == -1) {
        int e = errno;
        if (e == ENOENT)
            rc = tg_errbuf_set(eb, -ENOENT, "store %s: directory %s does not exist", path, dir);
        else if (e == ENOTDIR)
            rc = tg_errbuf_set(eb, -ENOTDIR,
                               "store %s: %s is not a directory (a part of it "
                               "is a file)",
                               path, dir);
        else
            rc = tg_errbuf_set(eb, -e, "store %s: directory %s: %s", path, dir, tg_strerror(-e));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = tg_errbuf_set(eb, -ENOTDIR, "store %s: %s is not a directory", path, dir);
    } else if (need_write && faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) == -1) {
        /* The write-ahead log and its index are files beside the database. */
        int e = errno;
        rc = tg_errbuf_set(eb, -e,
                           "store %s: cannot write in directory %s (%s); the store "
                           "keeps its write-ahead log there",
                           path, dir, tg_strerror(-e));
    }
    free(dir);
    return rc;
}

/* Turns the usual path mistakes into messages that say what is wrong. SQLite would
 * report most of them as "unable to open database file", and a file it cannot write as
 * a read-only database, with the real reason lost. */
static int check_path(const char *path, bool read_only, struct tg_errbuf *eb)
{
    if (!path || !path[0])
        return tg_errbuf_set(eb, -EINVAL, "store: no path given");
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return tg_errbuf_set(eb, -EISDIR, "store %s: is a directory, not a file", path);
        if (!S_ISREG(st.st_mode))
            return tg_errbuf_set(eb, -EINVAL, "store %s: not a regular file", path);
        if (!read_only && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == -1) {
            int e = errno;
            return tg_errbuf_set(eb, -e, "store %s: cannot write the file: %s", path,
                                 tg_strerror(-e));
        }
    } else if (errno == ENOENT && read_only) {
        return tg_errbuf_set(eb, -ENOENT, "store %s: does not exist", path);
    } else if (errno != ENOENT && errno != ENOTDIR) {
        int e = errno;
        return tg_errbuf_set(eb, -e, "store %s: %s", path, tg_strerror(-e));
    }
    return check_dir(path, !read_only, eb);
}

static int open_db(struct tg_store *s, struct tg_errbuf *eb)
{
    int flags = SQLITE_OPEN_NOMUTEX |
                (s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (!s->db)
            return tg_errbuf_set(eb, -ENOMEM, "store %s: out of memory", s->path);
        int sys = sqlite3_system_errno(s->db);
        if (sys > 0)
            return tg_errbuf_set(eb, -sys, "store %s: cannot open: %s", s->path, tg_strerror(-sys));
        return tg_store__fail(s, eb, "cannot open");
    }
    /* SQLite falls back to reading when it cannot open the file for writing; the path
     * check catches the usual causes, this catches the rest. */
    if (!s->read_only && sqlite3_db_readonly(s->db, "main") == 1)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: can only be opened read-only (no "
                             "permission, or a read-only file system)",
                             s->path);
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* Defensive: no statement may corrupt the file on purpose (writable_schema and the
     * like); untrusted schema: functions with side effects stay out of triggers and
     * views that someone else may have added to the file. */
    if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL) != SQLITE_OK ||
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL) != SQLITE_OK)
        return tg_store__fail(s, eb, "cannot configure the connection");
    return 0;
}

/* A failure reading the file at open: says whether it is not a database at all, or one
 * that is damaged. */
static int read_failed(struct tg_store *s, int rc, struct tg_errbuf *eb)
{
    if ((rc & 0xff) == SQLITE_NOTADB)
        return tg_errbuf_set(eb, TG_ESTORE, "store %s: not an SQLite database (%s)", s->path,
                             sqlite3_errmsg(s->db));
    if ((rc & 0xff) == SQLITE_CORRUPT)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: damaged (%s); restore a backup, or "
                             "move the file aside to start with an empty store",
                             s->path, sqlite3_errmsg(s->db));
    return tg_store__fail(s, eb, "cannot read");
}

/* Is this a tailguard store, of a schema this build can use? */
static int check_identity(struct tg_store *s, struct tg_errbuf *eb)
{
    int64_t version, app_id, tables;
    int rc = tg_store__query_int(s->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = tg_store__query_int(s->db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK)
        rc = tg_store__query_int(s->db, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc != SQLITE_OK)
        return read_failed(s, rc, eb);
    if (app_id != 0 && app_id != TG_STORE__APP_ID)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: an SQLite database of another program "
                             "(application_id %#llx)",
                             s->path, (unsigned long long)app_id);
    if (app_id == 0 && version == 0 && tables > 0)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: an SQLite database that tailguard did "
                             "not create (it has tables but no schema version)",
                             s->path);
    if (version > tg_store__schema_version)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: schema version %lld is newer than this "
                             "build knows (%d): it was written by a newer tailguard",
                             s->path, (long long)version, tg_store__schema_version);
    if (s->read_only && version < tg_store__schema_version)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: schema version %lld, this build reads "
                             "%d: open it for writing once to upgrade it",
                             s->path, (long long)version, tg_store__schema_version);
    return 0;
}

/* Reads the file once from start to end so that quick_check finds it in the page cache.
 * quick_check visits pages in b-tree order, which on a cold cache is random I/O: 2 to
 * 6 s for a 100 MB store on the test VM, against 0.15 to 0.5 s after this sequential
 * read (which runs at the disk's 400 MB/s; bench/store_open.c). posix_fadvise(WILLNEED)
 * and readahead(2) were tried and left most of the file unread (4.6 s and 4.2 s). Best
 * effort: an error here only loses the speed-up. */
static void prefetch(const char *path)
{
    enum { CHUNK = 1 << 20 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = fd == -1 ? NULL : malloc(CHUNK);
    if (buf) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        off_t off = 0;
        ssize_t n;
        while ((n = pread(fd, buf, CHUNK, off)) > 0)
            off += n;
    }
    free(buf);
    if (fd != -1)
        close(fd);
}

/* quick_check reads every page and checks each b-tree's structure (not that indexes
 * match their tables: that is the much slower integrity_check). */
static int quick_check(struct tg_store *s, struct tg_errbuf *eb)
{
    prefetch(s->path);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return read_failed(s, rc, eb);
    rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(st, 0);
        if (!res || strcmp(res, "ok") != 0)
            ret = tg_errbuf_set(eb, TG_ESTORE,
                                "store %s: damaged (quick_check: %s); restore a "
                                "backup, or move the file aside to start with an empty store",
                                s->path, res ? res : "no answer");
    } else {
        ret = read_failed(s, rc, eb);
    }
    sqlite3_finalize(st);
    return ret;
}

static int set_wal(struct tg_store *s, struct tg_errbuf *eb)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return read_failed(s, rc, eb);
    rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_ROW) {
        ret = read_failed(s, rc, eb);
    } else {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        /* ":memory:" has no file to log beside: its journal stays in memory. */
        bool memory = strcmp(s->path, ":memory:") == 0 && mode && strcmp(mode, "memory") == 0;
        if (!memory && (!mode || strcmp(mode, "wal") != 0))
            ret = tg_errbuf_set(eb, TG_ESTORE,
                                "store %s: cannot use WAL mode (journal mode "
                                "stays \"%s\")",
                                s->path, mode ? mode : "?");
    }
    sqlite3_finalize(st);
    if (ret == 0 && sqlite3_exec(s->db, writer_pragmas, NULL, NULL, NULL) != SQLITE_OK)
        ret = tg_store__fail(s, eb, "cannot configure the connection");
    return ret;
}

static int prepare_all(struct tg_store *s, struct tg_errbuf *eb)
{
    for (int i = 0; i < TG_STORE__NSTMT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK)
            return tg_store__fail(s, eb, "cannot prepare a statement");
    }
    return 0;
}

/* One writer process per file: two gateways writing the same store would each apply its
 * own overrides and interleave audit rows, a mix neither operator asked for. SQLite's own
 * locks only serialise the writes. An flock on the file (Linux keeps flock and SQLite's
 * POSIX locks apart) says the file is taken, and goes away with the process, however it
 * ends. Readers (read_only) do not take it. */
static int take_owner_lock(struct tg_store *s, struct tg_errbuf *eb)
{
    s->owner_fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (s->owner_fd == -1) {
        int e = errno;
        return tg_errbuf_set(eb, -e, "store %s: cannot open: %s", s->path, tg_strerror(-e));
    }
    if (flock(s->owner_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    int e = errno;
    if (e == EWOULDBLOCK)
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: in use by another tailguard process (each gateway "
                             "needs a store file of its own: store.path or --store)",
                             s->path);
    return tg_errbuf_set(eb, -e, "store %s: cannot lock: %s", s->path, tg_strerror(-e));
}

int tg_store_open(const char *path, const struct tg_store_opts *opts, struct tg_store **out,
                  struct tg_errbuf *eb)
{
    static const struct tg_store_opts defaults = {
        .audit_max_rows = TG_STORE_AUDIT_MAX_ROWS_DEFAULT,
        .audit_max_age_us = TG_STORE_AUDIT_MAX_AGE_US_DEFAULT,
    };
    const struct tg_store_opts *o = opts ? opts : &defaults;
    *out = NULL;
    /* ":memory:" is SQLite's database that lives and dies with the connection: for a
     * gateway started without a file to keep its control changes in. */
    int rc = path && strcmp(path, ":memory:") == 0 && !o->read_only
                 ? 0
                 : check_path(path, o->read_only, eb);
    if (rc)
        return rc;
    struct tg_store *s = calloc(1, sizeof *s);
    if (s)
        s->owner_fd = -1;
    if (!s || !(s->path = strdup(path)) || asprintf(&s->wal_path, "%s-wal", path) == -1) {
        if (s)
            s->wal_path = NULL; /* asprintf leaves it undefined on failure */
        rc = tg_errbuf_set(eb, -ENOMEM, "store %s: out of memory", path);
        goto fail;
    }
    s->read_only = o->read_only;
    s->audit_max_rows = o->audit_max_rows > 0 ? o->audit_max_rows : 0;
    s->audit_max_age_us = o->audit_max_age_us > 0 ? o->audit_max_age_us : 0;
    if ((rc = open_db(s, eb)) || (rc = check_identity(s, eb)))
        goto fail;
    /* check_identity has read the file, so SQLite has created it. */
    if (!s->read_only && strcmp(path, ":memory:") != 0 && (rc = take_owner_lock(s, eb)))
        goto fail;
    if (!o->skip_quick_check && (rc = quick_check(s, eb)))
        goto fail;
    if (!s->read_only &&
        ((rc = set_wal(s, eb)) || (rc = tg_store__migrate(s->db, s->path, tg_store__migrations,
                                                          tg_store__schema_version, eb))))
        goto fail;
    if ((rc = prepare_all(s, eb)))
        goto fail;
    atomic_store_explicit(&s->audit_rows, count_rows(s, TG_STORE__AUDIT_COUNT),
                          memory_order_relaxed);
    refresh_stats(s);
    *out = s;
    return 0;
fail:
    tg_store_close(s);
    return rc;
}

void tg_store_close(struct tg_store *s)
{
    if (!s)
        return;
    bool ready = s->stmt[TG_STORE__NSTMT - 1] != NULL;
    for (int i = 0; i < TG_STORE__NSTMT; i++)
        sqlite3_finalize(s->stmt[i]);
    /* optimize: refreshes the planner's statistics where they are stale; cheap. */
    if (ready && !s->read_only)
        sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
    sqlite3_close(s->db);
    if (s->owner_fd != -1)
        close(s->owner_fd); /* after the close: the last write is out before the lock goes */
    free(s->path);
    free(s->wal_path);
    free(s);
}

const char *tg_store_path(const struct tg_store *s)
{
    return s->path;
}

void tg_store_stats(const struct tg_store *s, struct tg_store_stats *out)
{
    out->file_bytes = atomic_load_explicit(&s->file_bytes, memory_order_relaxed);
    out->wal_bytes = atomic_load_explicit(&s->wal_bytes, memory_order_relaxed);
    out->audit_rows = atomic_load_explicit(&s->audit_rows, memory_order_relaxed);
    out->overrides = atomic_load_explicit(&s->overrides, memory_order_relaxed);
    out->alert_rows = atomic_load_explicit(&s->alert_rows, memory_order_relaxed);
    out->alert_trimmed_total = atomic_load_explicit(&s->alert_trimmed, memory_order_relaxed);
    out->event_rows = atomic_load_explicit(&s->event_rows, memory_order_relaxed);
    out->event_trimmed_total = atomic_load_explicit(&s->event_trimmed, memory_order_relaxed);
    out->incident_rows = atomic_load_explicit(&s->incident_rows, memory_order_relaxed);
    out->incident_trimmed_total =
        atomic_load_explicit(&s->incident_trimmed, memory_order_relaxed);
    out->commits_total = atomic_load_explicit(&s->commits, memory_order_relaxed);
    out->write_errors_total = atomic_load_explicit(&s->write_errors, memory_order_relaxed);
}
