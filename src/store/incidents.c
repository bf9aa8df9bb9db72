/* SPDX-License-Identifier: MIT */
/* Incidents; see incidents.h. Every write is one transaction built from prepared
 * statements; the readers are one SELECT each (one snapshot). */
#include "store/incidents.h"

#include <errno.h>
#include <stdatomic.h>

#include "store/audit_int.h"
#include "store/store_int.h"

/* Binds the incident row's columns ?1..?12 (see the statements in store.c). */
static int bind_incident(sqlite3_stmt *st, const struct tg_store_incident *r)
{
    int b = sqlite3_bind_int64(st, 1, r->id);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 2, r->title);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, r->status);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 4, r->severity);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 5, r->opened_by);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 6, r->escalation);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 7, r->opened_at_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 8, r->resolved_at_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 9, r->closed_at_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 10, r->quiet_since_us);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 11, r->updated_at_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 12, r->fields_json);
    return b;
}

/* Steps `st` after its bindings (`b`, the last binding's result). */
static int step(struct tg_store *s, sqlite3_stmt *st, int b, const char *what,
                struct tg_errbuf *eb)
{
    if (b != SQLITE_OK) {
        tg_store__reset(st);
        return tg_store__fail(s, eb, what);
    }
    return tg_store__run(s, st, what, eb);
}

static int put_incident(struct tg_store *s, const struct tg_store_incident *r, int64_t *id,
                        struct tg_errbuf *eb)
{
    enum tg_store__stmt which = r->id ? TG_STORE__INC_UPDATE : TG_STORE__INC_INSERT;
    sqlite3_stmt *st = s->stmt[which];
    int rc = step(s, st, bind_incident(st, r), "cannot write the incident", eb);
    if (rc)
        return rc;
    if (!r->id) {
        *id = sqlite3_last_insert_rowid(s->db);
        return 0;
    }
    *id = r->id;
    if (sqlite3_changes(s->db) == 0)
        return tg_errbuf_set(eb, TG_ENOTFOUND, "store: no incident %lld", (long long)r->id);
    return 0;
}

static int put_alert(struct tg_store *s, int64_t id, const struct tg_store_incident_alert *a,
                     struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__INC_ALERT_PUT];
    int b = sqlite3_bind_int64(st, 1, id);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 2, a->alertname);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, a->labels_json);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 4, a->state);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 5, a->fired_at_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 6, a->resolved_at_us);
    return step(s, st, b, "cannot write the incident's alert", eb);
}

static int put_note(struct tg_store *s, int64_t id, const struct tg_store_incident_note *n,
                    struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__INC_NOTE_INSERT];
    int b = sqlite3_bind_int64(st, 1, id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 2, n->ts_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, n->kind);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 4, n->text);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 5, n->data_json);
    return step(s, st, b, "cannot write the incident's timeline", eb);
}

static int put_action(struct tg_store *s, int64_t id, const struct tg_store_incident_action *a,
                      struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__INC_ACT_INSERT];
    int b = sqlite3_bind_int64(st, 1, id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 2, a->ts_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, a->op);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 4, a->method);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 5, a->path);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 6, a->body_json);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 7, a->by);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 8, a->verdict);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 9, a->undone_at_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 10, a->audit_id);
    return step(s, st, b, "cannot write the incident's action", eb);
}

static int trim(struct tg_store *s, int64_t id, const struct tg_store_incident_write *w,
                struct tg_errbuf *eb)
{
    static const char what[] = "cannot trim the incidents";
    int64_t a = 0, b = 0, c = 0;
    int rc = tg_store__run_int(s, TG_STORE__INC_TRIM, TG_STORE_INCIDENTS_MAX_ROWS, 0, what, &a, eb);
    if (rc == 0 && w->nnotes)
        rc = tg_store__run_int(s, TG_STORE__INC_NOTE_TRIM, id, TG_STORE_INCIDENT_MAX_ENTRIES, what,
                               &b, eb);
    if (rc == 0 && w->nactions)
        rc = tg_store__run_int(s, TG_STORE__INC_ACT_TRIM, id, TG_STORE_INCIDENT_MAX_ENTRIES, what,
                               &c, eb);
    if (rc == 0)
        atomic_fetch_add_explicit(&s->incident_trimmed, (uint64_t)(a + b + c),
                                  memory_order_relaxed);
    return rc;
}

static bool valid(const struct tg_store_incident_write *w)
{
    const struct tg_store_incident *r = w->inc;
    if (!r || !r->title || !r->status || !r->opened_by || !r->escalation || !r->fields_json)
        return false;
    for (size_t i = 0; i < w->nalerts; i++)
        if (!w->alerts[i].alertname || !w->alerts[i].labels_json || !w->alerts[i].state)
            return false;
    for (size_t i = 0; i < w->nnotes; i++)
        if (!w->notes[i].kind || !w->notes[i].text)
            return false;
    for (size_t i = 0; i < w->nactions; i++) {
        const struct tg_store_incident_action *a = &w->actions[i];
        if (!a->op || !a->method || !a->path || !a->by)
            return false;
    }
    return true;
}

static int write_all(struct tg_store *s, const struct tg_store_incident_write *w, int64_t *id,
                     struct tg_errbuf *eb)
{
    int rc = put_incident(s, w->inc, id, eb);
    for (size_t i = 0; rc == 0 && i < w->nalerts; i++)
        rc = put_alert(s, *id, &w->alerts[i], eb);
    for (size_t i = 0; rc == 0 && i < w->nnotes; i++)
        rc = put_note(s, *id, &w->notes[i], eb);
    for (size_t i = 0; rc == 0 && i < w->nactions; i++)
        rc = put_action(s, *id, &w->actions[i], eb);
    if (rc == 0 && w->audit)
        rc = tg_store__audit_insert(s, w->audit, NULL, eb);
    if (rc == 0)
        rc = trim(s, *id, w, eb);
    return rc;
}

int tg_store_incident_write(struct tg_store *s, const struct tg_store_incident_write *w,
                            int64_t *id, struct tg_errbuf *eb)
{
    if (!valid(w))
        return tg_errbuf_set(eb, -EINVAL, "store: an incident write misses a required field");
    int64_t got = 0;
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    if ((rc = write_all(s, w, &got, eb))) {
        tg_store__rollback(s, rc);
        return rc;
    }
    if ((rc = tg_store__commit(s, eb)) == 0 && id)
        *id = got;
    return rc;
}

int tg_store_incident_action_update(struct tg_store *s, int64_t incident_id, int64_t audit_id,
                                    const char *verdict, int64_t undone_at_us,
                                    struct tg_errbuf *eb)
{
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    sqlite3_stmt *st = s->stmt[TG_STORE__INC_ACT_UPDATE];
    int b = sqlite3_bind_int64(st, 1, incident_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 2, audit_id);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, verdict);
    if (b == SQLITE_OK)
        b = tg_store__bind_opt(st, 4, undone_at_us);
    if ((rc = step(s, st, b, "cannot update the incident's action", eb))) {
        tg_store__rollback(s, rc);
        return rc;
    }
    return tg_store__commit(s, eb);
}

/* ------------------------------------------------------------------ readers */

static const char *text_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A reader's row callback: turns the statement's current row into the caller's struct
 * and calls the caller. */
typedef int row_fn(sqlite3_stmt *st, void *cb, void *ctx);

static int read_rows(struct tg_store *s, enum tg_store__stmt which, int64_t id, row_fn *row,
                     void *cb, void *ctx, bool need_one, struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[which];
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
        tg_store__reset(st);
        return tg_store__fail(s, eb, "cannot read the incidents");
    }
    int rc, ret = 0;
    bool any = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        any = true;
        if ((ret = row(st, cb, ctx)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = tg_store__fail(s, eb, "cannot read the incidents");
    else if (ret == 0 && need_one && !any)
        ret = tg_errbuf_set(eb, TG_ENOTFOUND, "no incident %lld", (long long)id);
    tg_store__reset(st);
    return ret;
}

static int incident_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct tg_store_incident r = {
        .id = sqlite3_column_int64(st, 0),
        .title = text_col(st, 1),
        .status = text_col(st, 2),
        .severity = text_col(st, 3),
        .opened_by = text_col(st, 4),
        .escalation = text_col(st, 5),
        .opened_at_us = sqlite3_column_int64(st, 6),
        .resolved_at_us = sqlite3_column_int64(st, 7),
        .closed_at_us = sqlite3_column_int64(st, 8),
        .quiet_since_us = sqlite3_column_int64(st, 9),
        .updated_at_us = sqlite3_column_int64(st, 10),
        .fields_json = text_col(st, 11),
    };
    return ((tg_store_incident_fn *)cb)(ctx, &r);
}

static int alert_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct tg_store_incident_alert a = {
        .alertname = text_col(st, 0),
        .labels_json = text_col(st, 1),
        .state = text_col(st, 2),
        .fired_at_us = sqlite3_column_int64(st, 3),
        .resolved_at_us = sqlite3_column_int64(st, 4),
    };
    return ((tg_store_incident_alert_fn *)cb)(ctx, &a);
}

static int note_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct tg_store_incident_note n = {
        .ts_us = sqlite3_column_int64(st, 0),
        .kind = text_col(st, 1),
        .text = text_col(st, 2),
        .data_json = text_col(st, 3),
    };
    return ((tg_store_incident_note_fn *)cb)(ctx, &n);
}

static int action_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct tg_store_incident_action a = {
        .id = sqlite3_column_int64(st, 0),
        .ts_us = sqlite3_column_int64(st, 1),
        .op = text_col(st, 2),
        .method = text_col(st, 3),
        .path = text_col(st, 4),
        .body_json = text_col(st, 5),
        .by = text_col(st, 6),
        .verdict = text_col(st, 7),
        .undone_at_us = sqlite3_column_int64(st, 8),
        .audit_id = sqlite3_column_int64(st, 9),
    };
    return ((tg_store_incident_action_fn *)cb)(ctx, &a);
}

int tg_store_incident_get(struct tg_store *s, int64_t id, tg_store_incident_fn *cb, void *ctx,
                          struct tg_errbuf *eb)
{
    return read_rows(s, TG_STORE__INC_GET, id, incident_row, (void *)cb, ctx, true, eb);
}

int tg_store_incident_alerts(struct tg_store *s, int64_t id, tg_store_incident_alert_fn *cb,
                             void *ctx, struct tg_errbuf *eb)
{
    return read_rows(s, TG_STORE__INC_ALERT_LIST, id, alert_row, (void *)cb, ctx, false, eb);
}

int tg_store_incident_timeline(struct tg_store *s, int64_t id, tg_store_incident_note_fn *cb,
                               void *ctx, struct tg_errbuf *eb)
{
    return read_rows(s, TG_STORE__INC_NOTE_LIST, id, note_row, (void *)cb, ctx, false, eb);
}

int tg_store_incident_actions(struct tg_store *s, int64_t id, tg_store_incident_action_fn *cb,
                              void *ctx, struct tg_errbuf *eb)
{
    return read_rows(s, TG_STORE__INC_ACT_LIST, id, action_row, (void *)cb, ctx, false, eb);
}

int tg_store_incidents_list(struct tg_store *s, const struct tg_store_incidents_filter *f,
                            tg_store_incident_fn *cb, void *ctx, struct tg_errbuf *eb)
{
    unsigned limit = f->limit == 0                            ? TG_STORE_INCIDENTS_LIST_DEFAULT
                     : f->limit > TG_STORE_INCIDENTS_LIST_MAX ? TG_STORE_INCIDENTS_LIST_MAX
                                                              : f->limit;
    sqlite3_stmt *st = s->stmt[TG_STORE__INC_LIST];
    int b = tg_store__bind_text(st, 1, f->status);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(st, 2, f->not_closed);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 3, limit);
    if (b != SQLITE_OK) {
        tg_store__reset(st);
        return tg_store__fail(s, eb, "cannot read the incidents");
    }
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = incident_row(st, (void *)cb, ctx)) != 0)
            break;
    if (ret == 0 && rc != SQLITE_DONE)
        ret = tg_store__fail(s, eb, "cannot read the incidents");
    tg_store__reset(st);
    return ret;
}
