/* SPDX-License-Identifier: MIT */
/* The audit log (see audit.h): append with redaction and retention inside the caller's
 * transaction, trim by age, and the newest-first listing. The listing is one SELECT, so
 * it reads one snapshot; with WAL, a reader on its own connection never waits for the
 * writer and the writer never waits for it. */
#include "store/audit.h"

#include <errno.h>
#include <stdlib.h>

#include "store/audit_int.h"
#include "store/redact_int.h"
#include "store/store_int.h"

static int trim_age(struct tg_store *s, int64_t now_us, struct tg_errbuf *eb)
{
    if (s->audit_max_age_us == 0 || now_us <= s->audit_max_age_us)
        return 0;
    sqlite3_stmt *st = s->stmt[TG_STORE__AUDIT_TRIM_AGE];
    if (sqlite3_bind_int64(st, 1, now_us - s->audit_max_age_us) != SQLITE_OK)
        return tg_store__fail(s, eb, "cannot trim the audit log");
    int rc = tg_store__run(s, st, "cannot trim the audit log", eb);
    if (rc == 0)
        s->audit_rows_pending -= sqlite3_changes(s->db);
    return rc;
}

static int trim_rows(struct tg_store *s, struct tg_errbuf *eb)
{
    if (s->audit_max_rows == 0)
        return 0;
    sqlite3_stmt *st = s->stmt[TG_STORE__AUDIT_TRIM_ROWS];
    if (sqlite3_bind_int64(st, 1, s->audit_max_rows) != SQLITE_OK)
        return tg_store__fail(s, eb, "cannot trim the audit log");
    int rc = tg_store__run(s, st, "cannot trim the audit log", eb);
    if (rc == 0)
        s->audit_rows_pending -= sqlite3_changes(s->db);
    return rc;
}

static int insert(struct tg_store *s, const struct tg_store_audit *row, const char *old_json,
                  const char *new_json, int64_t *id, struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__AUDIT_INSERT];
    /* Text is bound as SQLITE_STATIC: it is borrowed until tg_store__run resets. */
    int b = sqlite3_bind_int64(st, 1, row->ts_us);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 2, row->actor, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 3, row->action, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 4, row->target ? row->target : "", -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 5, old_json, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 6, new_json, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 7, row->result ? row->result : "ok", -1, SQLITE_STATIC);
    if (b != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot write the audit row");
        tg_store__reset(st);
        return rc;
    }
    int rc = tg_store__run(s, st, "cannot write the audit row", eb);
    if (rc == 0) {
        s->audit_rows_pending++;
        s->audit_hook_id = sqlite3_last_insert_rowid(s->db);
        if (id)
            *id = sqlite3_last_insert_rowid(s->db);
    }
    return rc;
}

/* Redacts one value into *out (NULL stays NULL). */
static int redact(const char *json, const char *target, const char *what, char **out,
                  struct tg_errbuf *eb)
{
    *out = NULL;
    return json ? tg_store__redact(json, target, what, out, eb) : 0;
}

int tg_store__audit_insert(struct tg_store *s, const struct tg_store_audit *row, int64_t *id,
                           struct tg_errbuf *eb)
{
    if (!row || !row->actor || !row->actor[0] || !row->action || !row->action[0])
        return tg_errbuf_set(eb, -EINVAL, "store: an audit row needs an actor and an action");
    char *old_json = NULL, *new_json = NULL;
    int rc = redact(row->old_json, row->target, "the audit row's old value", &old_json, eb);
    if (rc == 0)
        rc = redact(row->new_json, row->target, "the audit row's new value", &new_json, eb);
    if (rc == 0)
        rc = insert(s, row, old_json, new_json, id, eb);
    if (rc == 0)
        rc = trim_rows(s, eb);
    if (rc == 0)
        rc = trim_age(s, row->ts_us, eb);
    free(old_json);
    free(new_json);
    return rc;
}

int tg_store_audit_append(struct tg_store *s, const struct tg_store_audit *row, int64_t *id,
                          struct tg_errbuf *eb)
{
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    rc = tg_store__audit_insert(s, row, id, eb);
    if (rc) {
        tg_store__rollback(s, rc);
        return rc;
    }
    return tg_store__commit(s, eb);
}

int tg_store_audit_trim(struct tg_store *s, int64_t now_us, struct tg_errbuf *eb)
{
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    rc = trim_age(s, now_us, eb);
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

static struct tg_store_audit row_of(sqlite3_stmt *st)
{
    return (struct tg_store_audit){
        .id = sqlite3_column_int64(st, 0),
        .ts_us = sqlite3_column_int64(st, 1),
        .actor = text_col(st, 2),
        .action = text_col(st, 3),
        .target = text_col(st, 4),
        .old_json = text_col(st, 5),
        .new_json = text_col(st, 6),
        .result = text_col(st, 7),
    };
}

int tg_store_audit_get(struct tg_store *s, int64_t id, tg_store_audit_fn *cb, void *ctx,
                       struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__AUDIT_GET];
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot read the audit log");
        tg_store__reset(st);
        return rc;
    }
    int rc = sqlite3_step(st), ret;
    if (rc == SQLITE_ROW) {
        struct tg_store_audit row = row_of(st);
        ret = cb(ctx, &row);
    } else if (rc == SQLITE_DONE) {
        ret = tg_errbuf_set(eb, TG_ENOTFOUND, "store: no audit row %lld", (long long)id);
    } else {
        ret = tg_store__fail(s, eb, "cannot read the audit log");
    }
    tg_store__reset(st);
    return ret;
}

int tg_store_audit_list(struct tg_store *s, const struct tg_store_audit_filter *f,
                        tg_store_audit_fn *cb, void *ctx, struct tg_errbuf *eb)
{
    static const struct tg_store_audit_filter all = {0};
    if (!f)
        f = &all;
    unsigned limit = f->limit == 0                        ? TG_STORE_AUDIT_LIST_DEFAULT
                     : f->limit > TG_STORE_AUDIT_LIST_MAX ? TG_STORE_AUDIT_LIST_MAX
                                                          : f->limit;
    sqlite3_stmt *st = s->stmt[TG_STORE__AUDIT_LIST];
    int b = sqlite3_bind_int64(st, 1, f->since_us);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 2, f->action, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 3, f->target, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 4, limit);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 5, f->until_us);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(st, 6, f->changes_only);
    if (b != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot read the audit log");
        tg_store__reset(st);
        return rc;
    }
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tg_store_audit row = row_of(st);
        if ((ret = cb(ctx, &row)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = tg_store__fail(s, eb, "cannot read the audit log");
    tg_store__reset(st);
    return ret;
}
