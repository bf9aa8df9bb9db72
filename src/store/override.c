/* SPDX-License-Identifier: MIT */
/* Persisted overrides (see override.h): single puts and deletes, reads, and
 * tg_store_apply, which writes overrides and their audit row in one transaction. Values
 * are checked to be JSON before anything is written, so a bad value never reaches the
 * file and never costs a rollback. */
#include "store/override.h"

#include <errno.h>

#include "store/audit_int.h"
#include "store/redact_int.h"
#include "store/store_int.h"

static int put_one(struct tg_store *s, const char *key, const char *value_json, const char *set_by,
                   int64_t set_at_us, struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__OV_PUT];
    int b = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 2, value_json, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 3, set_by, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 4, set_at_us);
    if (b != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot write an override");
        tg_store__reset(st);
        return rc;
    }
    return tg_store__run(s, st, "cannot write an override", eb);
}

static int delete_one(struct tg_store *s, const char *key, struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__OV_DELETE];
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot delete an override");
        tg_store__reset(st);
        return rc;
    }
    int rc = tg_store__run(s, st, "cannot delete an override", eb);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = tg_errbuf_set(eb, TG_ENOTFOUND, "store: no override for \"%s\"", key);
    return rc;
}

/* Everything that can be refused without touching the file. */
static int check_set(const struct tg_store_set *set, struct tg_errbuf *eb)
{
    if (!set->key || !set->key[0])
        return tg_errbuf_set(eb, -EINVAL, "store: an override needs a key");
    return set->value_json ? tg_store__json_check(set->value_json, "the override's value", eb) : 0;
}

/* Ends the transaction the caller began: commits when `rc`, the result of the work done
 * in it, is 0; else rolls back and returns `rc`. */
static int finish(struct tg_store *s, int rc, struct tg_errbuf *eb)
{
    if (rc) {
        tg_store__rollback(s, rc);
        return rc;
    }
    return tg_store__commit(s, eb);
}

int tg_store_override_put(struct tg_store *s, const struct tg_store_override *ov,
                          struct tg_errbuf *eb)
{
    struct tg_store_set set = {.key = ov->key, .value_json = ov->value_json};
    if (!ov->value_json)
        return tg_errbuf_set(eb, -EINVAL, "store: override \"%s\" needs a value",
                             ov->key ? ov->key : "");
    int rc = check_set(&set, eb);
    if (rc == 0)
        rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    return finish(
        s, put_one(s, ov->key, ov->value_json, ov->set_by ? ov->set_by : "", ov->set_at_us, eb),
        eb);
}

int tg_store_override_delete(struct tg_store *s, const char *key, struct tg_errbuf *eb)
{
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    return finish(s, delete_one(s, key ? key : "", eb), eb);
}

/* Steps a SELECT of overrides, giving each row to `cb`. */
static int each_row(struct tg_store *s, sqlite3_stmt *st, tg_store_override_fn *cb, void *ctx,
                    int *rows, struct tg_errbuf *eb)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tg_store_override ov = {
            .key = (const char *)sqlite3_column_text(st, 0),
            .value_json = (const char *)sqlite3_column_text(st, 1),
            .set_by = (const char *)sqlite3_column_text(st, 2),
            .set_at_us = sqlite3_column_int64(st, 3),
        };
        (*rows)++;
        if ((ret = cb(ctx, &ov)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = tg_store__fail(s, eb, "cannot read the overrides");
    tg_store__reset(st);
    return ret;
}

int tg_store_override_get(struct tg_store *s, const char *key, tg_store_override_fn *cb, void *ctx,
                          struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__OV_GET];
    if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot read the overrides");
        tg_store__reset(st);
        return rc;
    }
    int rows = 0;
    int rc = each_row(s, st, cb, ctx, &rows, eb);
    if (rc == 0 && rows == 0)
        rc = tg_errbuf_set(eb, TG_ENOTFOUND, "store: no override for \"%s\"", key ? key : "");
    return rc;
}

int tg_store_override_list(struct tg_store *s, tg_store_override_fn *cb, void *ctx,
                           struct tg_errbuf *eb)
{
    int rows = 0;
    return each_row(s, s->stmt[TG_STORE__OV_LIST], cb, ctx, &rows, eb);
}

static int apply_steps(struct tg_store *s, const struct tg_store_set *sets, size_t n,
                       const struct tg_store_audit *row, int64_t *audit_id, struct tg_errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        int rc = sets[i].value_json
                     ? put_one(s, sets[i].key, sets[i].value_json, row->actor, row->ts_us, eb)
                     : delete_one(s, sets[i].key, eb);
        if (rc)
            return rc;
    }
    return tg_store__audit_insert(s, row, audit_id, eb);
}

int tg_store_apply(struct tg_store *s, const struct tg_store_set *sets, size_t n,
                   const struct tg_store_audit *row, int64_t *audit_id, struct tg_errbuf *eb)
{
    if (!row || !row->actor || !row->actor[0] || !row->action || !row->action[0])
        return tg_errbuf_set(eb, -EINVAL, "store: an audit row needs an actor and an action");
    for (size_t i = 0; i < n; i++) {
        int rc = check_set(&sets[i], eb);
        if (rc)
            return rc;
    }
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    return finish(s, apply_steps(s, sets, n, row, audit_id, eb), eb);
}
