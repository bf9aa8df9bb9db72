/* SPDX-License-Identifier: MIT */
/* The store's schema as numbered forward migrations, and the runner that applies the
 * missing ones in one transaction (see schema_int.h). A new table or column is a new
 * entry at the end of tg_store__migrations; entries already released never change,
 * because files written with them exist. */
#include "store/schema_int.h"

#include <stdio.h>

const char *const tg_store__migrations[] = {
    /* 1: the audit log and the control-API overrides. Audit ids never repeat
     * (AUTOINCREMENT) so a client can page by id, and the retention by row count is a
     * range on id. Times are wall-clock µs since the epoch. */
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_us INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " old_json TEXT,"
    " new_json TEXT,"
    " result TEXT NOT NULL DEFAULT 'ok');"
    "CREATE INDEX audit_ts ON audit(ts_us);"
    "CREATE TABLE override ("
    " key TEXT PRIMARY KEY NOT NULL,"
    " value_json TEXT NOT NULL,"
    " set_by TEXT NOT NULL,"
    " set_at_us INTEGER NOT NULL"
    ") WITHOUT ROWID;",
    /* 2: the alert history, one row per transition of an alert instance to firing or to
     * resolved. Times are the rule evaluation's, wall-clock ms since the epoch, as
     * Prometheus gives them; resolved_at_ms is NULL on a firing row. */
    "CREATE TABLE alert_history ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_ms INTEGER NOT NULL,"
    " alertname TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " labels_json TEXT NOT NULL,"
    " annotations_json TEXT NOT NULL,"
    " value REAL,"
    " active_at_ms INTEGER NOT NULL,"
    " fired_at_ms INTEGER NOT NULL,"
    " resolved_at_ms INTEGER);"
    "CREATE INDEX alert_history_ts ON alert_history(ts_ms);",
    /* 3: events (change markers users post) and incidents. An incident is one row with
     * its editable fields as one JSON object (fields_json: they are read and written
     * together, and a new field needs no migration); its alerts, timeline and actions are
     * rows of their own, removed with it. Times are wall-clock µs since the epoch. */
    "CREATE TABLE event ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_us INTEGER NOT NULL,"
    " type TEXT NOT NULL,"
    " service TEXT, version TEXT, text TEXT, labels_json TEXT);"
    "CREATE INDEX event_ts ON event(ts_us);"
    "CREATE TABLE incident ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " title TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " severity TEXT,"
    " opened_by TEXT NOT NULL,"
    " escalation TEXT NOT NULL DEFAULT 'L1',"
    " opened_at_us INTEGER NOT NULL,"
    " resolved_at_us INTEGER, closed_at_us INTEGER, quiet_since_us INTEGER,"
    " updated_at_us INTEGER NOT NULL,"
    " fields_json TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX incident_status ON incident(status, id);"
    "CREATE TABLE incident_alert ("
    " incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,"
    " alertname TEXT NOT NULL,"
    " labels_json TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " fired_at_us INTEGER NOT NULL,"
    " resolved_at_us INTEGER,"
    " PRIMARY KEY (incident_id, alertname, labels_json)) WITHOUT ROWID;"
    "CREATE TABLE incident_timeline ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,"
    " ts_us INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " text TEXT NOT NULL,"
    " data_json TEXT);"
    "CREATE INDEX incident_timeline_inc ON incident_timeline(incident_id, id);"
    "CREATE TABLE incident_action ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,"
    " ts_us INTEGER NOT NULL,"
    " op TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,"
    " body_json TEXT,"
    " by_actor TEXT NOT NULL,"
    " verdict TEXT,"
    " undone_at_us INTEGER,"
    " audit_id INTEGER);"
    "CREATE INDEX incident_action_inc ON incident_action(incident_id, id);",
};

const int tg_store__schema_version =
    (int)(sizeof tg_store__migrations / sizeof tg_store__migrations[0]);

int tg_store__query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static int failed(sqlite3 *db, const char *path, const char *what, struct tg_errbuf *eb)
{
    tg_errbuf_set(eb, TG_ESTORE, "store %s: %s: %s", path, what, sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return TG_ESTORE;
}

int tg_store__migrate(sqlite3 *db, const char *path, const char *const *migrations, int n,
                      struct tg_errbuf *eb)
{
    /* IMMEDIATE: the version read below cannot change before this transaction ends, even
     * if another process opens the same file at the same moment. */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return failed(db, path, "cannot start the schema upgrade", eb);
    int64_t version = 0, app_id = 0;
    if (tg_store__query_int(db, "PRAGMA user_version", &version) != SQLITE_OK ||
        tg_store__query_int(db, "PRAGMA application_id", &app_id) != SQLITE_OK)
        return failed(db, path, "cannot read the schema version", eb);
    if (version > n) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return tg_errbuf_set(eb, TG_ESTORE,
                             "store %s: schema version %lld is newer than this "
                             "build knows (%d): it was written by a newer tailguard",
                             path, (long long)version, n);
    }
    if (version == n)
        return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
                   ? 0
                   : failed(db, path, "cannot end the schema check", eb);
    for (int64_t v = version; v < n; v++) {
        if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "upgrade to schema version %lld failed", (long long)v + 1);
            return failed(db, path, what, eb);
        }
    }
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d; PRAGMA application_id=%d", n,
             app_id ? (int)app_id : TG_STORE__APP_ID);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return failed(db, path, "cannot record the schema version", eb);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return failed(db, path, "cannot commit the schema upgrade", eb);
    return 0;
}
