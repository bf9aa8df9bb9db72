/* SPDX-License-Identifier: MIT */
/* The alert history; see alerts.h. Retention works as the audit log's: ids only grow,
 * so the row bound is a range on id. */
#include "store/alerts.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>

#include "store/store_int.h"

static int bind_row(sqlite3_stmt *st, const struct tg_store_alert *r)
{
    int b = sqlite3_bind_int64(st, 1, r->ts_ms);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 2, r->alertname, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 3, r->state, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 4, r->labels_json, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 5, r->annotations_json, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = isnan(r->value) ? sqlite3_bind_null(st, 6) : sqlite3_bind_double(st, 6, r->value);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 7, r->active_at_ms);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 8, r->fired_at_ms);
    if (b == SQLITE_OK)
        b = r->resolved_at_ms ? sqlite3_bind_int64(st, 9, r->resolved_at_ms)
                              : sqlite3_bind_null(st, 9);
    return b;
}

static int trim(struct tg_store *s, enum tg_store__stmt which, int64_t arg, struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[which];
    if (sqlite3_bind_int64(st, 1, arg) != SQLITE_OK) {
        tg_store__reset(st);
        return tg_store__fail(s, eb, "cannot trim the alert history");
    }
    int rc = tg_store__run(s, st, "cannot trim the alert history", eb);
    if (rc == 0)
        atomic_fetch_add_explicit(&s->alert_trimmed, (uint64_t)sqlite3_changes(s->db),
                                  memory_order_relaxed);
    return rc;
}

int tg_store_alerts_append(struct tg_store *s, const struct tg_store_alert *rows, size_t n,
                           struct tg_errbuf *eb)
{
    int64_t newest = 0;
    for (size_t i = 0; i < n; i++) {
        const struct tg_store_alert *r = &rows[i];
        if (!r->alertname || !r->state || !r->labels_json || !r->annotations_json)
            return tg_errbuf_set(eb, -EINVAL,
                                 "store: an alert row needs a name, a state and "
                                 "its labels and annotations");
        if (r->ts_ms > newest)
            newest = r->ts_ms;
    }
    if (n == 0)
        return 0;
    int rc = tg_store__begin(s, eb);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_stmt *st = s->stmt[TG_STORE__ALERT_INSERT];
        if (bind_row(st, &rows[i]) != SQLITE_OK) {
            rc = tg_store__fail(s, eb, "cannot write the alert history");
            tg_store__reset(st);
        } else {
            rc = tg_store__run(s, st, "cannot write the alert history", eb);
        }
    }
    if (rc == 0)
        rc = trim(s, TG_STORE__ALERT_TRIM_ROWS, TG_STORE_ALERTS_MAX_ROWS, eb);
    if (rc == 0 && newest > TG_STORE_ALERTS_MAX_AGE_MS)
        rc = trim(s, TG_STORE__ALERT_TRIM_AGE, newest - TG_STORE_ALERTS_MAX_AGE_MS, eb);
    if (rc) {
        tg_store__rollback(s, rc);
        return rc;
    }
    return tg_store__commit(s, eb);
}

static const char *text_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int tg_store_alerts_list(struct tg_store *s, const struct tg_store_alerts_filter *f,
                         tg_store_alert_fn *cb, void *ctx, struct tg_errbuf *eb)
{
    unsigned limit = f->limit == 0                         ? TG_STORE_ALERTS_LIST_DEFAULT
                     : f->limit > TG_STORE_ALERTS_LIST_MAX ? TG_STORE_ALERTS_LIST_MAX
                                                           : f->limit;
    sqlite3_stmt *st = s->stmt[TG_STORE__ALERT_LIST];
    int b = sqlite3_bind_int64(st, 1, f->since_ms);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 2, f->alertname, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 3, limit);
    if (b != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot read the alert history");
        tg_store__reset(st);
        return rc;
    }
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tg_store_alert row = {
            .id = sqlite3_column_int64(st, 0),
            .ts_ms = sqlite3_column_int64(st, 1),
            .alertname = text_col(st, 2),
            .state = text_col(st, 3),
            .labels_json = text_col(st, 4),
            .annotations_json = text_col(st, 5),
            .value = sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 6),
            .active_at_ms = sqlite3_column_int64(st, 7),
            .fired_at_ms = sqlite3_column_int64(st, 8),
            .resolved_at_ms = sqlite3_column_int64(st, 9),
        };
        if ((ret = cb(ctx, &row)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = tg_store__fail(s, eb, "cannot read the alert history");
    tg_store__reset(st);
    return ret;
}
