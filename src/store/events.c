/* SPDX-License-Identifier: MIT */
/* Events; see events.h. Ids only grow, so the row bound is a range on id, as for the
 * audit log. */
#include "store/events.h"

#include <errno.h>
#include <stdatomic.h>

#include "store/audit_int.h"
#include "store/store_int.h"

static int insert(struct tg_store *s, const struct tg_store_event *ev, int64_t *id,
                  struct tg_errbuf *eb)
{
    sqlite3_stmt *st = s->stmt[TG_STORE__EVENT_INSERT];
    int b = sqlite3_bind_int64(st, 1, ev->ts_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 2, ev->type);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, ev->service);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 4, ev->version);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 5, ev->text);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 6, ev->labels_json);
    if (b != SQLITE_OK) {
        tg_store__reset(st);
        return tg_store__fail(s, eb, "cannot write the event");
    }
    int rc = tg_store__run(s, st, "cannot write the event", eb);
    if (rc == 0 && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int trim(struct tg_store *s, int64_t newest_us, struct tg_errbuf *eb)
{
    int64_t n = 0, m = 0;
    int rc = tg_store__run_int(s, TG_STORE__EVENT_TRIM_ROWS, TG_STORE_EVENTS_MAX_ROWS, 0,
                               "cannot trim the events", &n, eb);
    if (rc == 0 && newest_us > TG_STORE_EVENTS_MAX_AGE_US)
        rc = tg_store__run_int(s, TG_STORE__EVENT_TRIM_AGE, newest_us - TG_STORE_EVENTS_MAX_AGE_US,
                               0, "cannot trim the events", &m, eb);
    if (rc == 0)
        atomic_fetch_add_explicit(&s->event_trimmed, (uint64_t)(n + m), memory_order_relaxed);
    return rc;
}

int tg_store_events_append(struct tg_store *s, const struct tg_store_event *ev,
                           const struct tg_store_audit *audit, int64_t *id,
                           struct tg_errbuf *eb)
{
    if (!ev || !ev->type || !ev->type[0])
        return tg_errbuf_set(eb, -EINVAL, "store: an event needs a type");
    int rc = tg_store__begin(s, eb);
    if (rc)
        return rc;
    rc = insert(s, ev, id, eb);
    if (rc == 0 && audit)
        rc = tg_store__audit_insert(s, audit, NULL, eb);
    if (rc == 0)
        rc = trim(s, ev->ts_us, eb);
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

int tg_store_events_list(struct tg_store *s, const struct tg_store_events_filter *f,
                         tg_store_event_fn *cb, void *ctx, struct tg_errbuf *eb)
{
    unsigned limit = f->limit == 0                         ? TG_STORE_EVENTS_LIST_DEFAULT
                     : f->limit > TG_STORE_EVENTS_LIST_MAX ? TG_STORE_EVENTS_LIST_MAX
                                                           : f->limit;
    sqlite3_stmt *st = s->stmt[TG_STORE__EVENT_LIST];
    int b = sqlite3_bind_int64(st, 1, f->since_us);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 2, f->until_us);
    if (b == SQLITE_OK)
        b = tg_store__bind_text(st, 3, f->type);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 4, limit);
    if (b != SQLITE_OK) {
        int rc = tg_store__fail(s, eb, "cannot read the events");
        tg_store__reset(st);
        return rc;
    }
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tg_store_event ev = {
            .id = sqlite3_column_int64(st, 0),
            .ts_us = sqlite3_column_int64(st, 1),
            .type = text_col(st, 2),
            .service = text_col(st, 3),
            .version = text_col(st, 4),
            .text = text_col(st, 5),
            .labels_json = text_col(st, 6),
        };
        if ((ret = cb(ctx, &ev)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = tg_store__fail(s, eb, "cannot read the events");
    tg_store__reset(st);
    return ret;
}
