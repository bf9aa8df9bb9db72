/* SPDX-License-Identifier: MIT */
/* Events and control changes as one list; see events.h. Both tables are read newest
 * first up to the page size into copies, then merged: at most two pages of
 * TG_EVENTS_LIST_MAX rows in memory, at human rates of change. */
#include "diagnose/events.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/events.h"

/* A row copied out of its callback: the strings live in `buf`, one allocation. */
struct row {
    struct tg_event ev;
    char *buf;
};

struct rows {
    struct row *v;
    size_t n, cap;
    bool oom;
};

/* Copies the strings `src[0..n-1]` into one buffer and points `dst` at the copies. */
static char *copy_strings(const char *const *src, const char **dst, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += src[i] ? strlen(src[i]) + 1 : 0;
    char *buf = malloc(len ? len : 1), *p = buf;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        dst[i] = NULL;
        if (src[i]) {
            size_t l = strlen(src[i]) + 1;
            memcpy(p, src[i], l);
            dst[i] = p;
            p += l;
        }
    }
    return buf;
}

static struct row *push(struct rows *rs)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 32;
        struct row *v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        rs->v = v;
        rs->cap = cap;
    }
    struct row *r = &rs->v[rs->n];
    memset(r, 0, sizeof *r);
    return r;
}

static int from_event(void *ctx, const struct tg_store_event *e)
{
    struct rows *rs = ctx;
    struct row *r = push(rs);
    const char *src[] = {e->type, e->service, e->version, e->text, e->labels_json};
    const char *dst[5];
    if (!r || !(r->buf = copy_strings(src, dst, 5))) {
        rs->oom = true;
        return -ENOMEM;
    }
    r->ev = (struct tg_event){.id = e->id, .ts_us = e->ts_us, .type = dst[0], .service = dst[1],
                              .version = dst[2], .text = dst[3], .labels_json = dst[4],
                              .source = "event"};
    rs->n++;
    return 0;
}

static int from_audit(void *ctx, const struct tg_store_audit *a)
{
    struct rows *rs = ctx;
    struct row *r = push(rs);
    const char *src[] = {a->actor, a->action, a->target, a->old_json, a->new_json};
    const char *dst[5];
    if (!r || !(r->buf = copy_strings(src, dst, 5))) {
        rs->oom = true;
        return -ENOMEM;
    }
    r->ev = (struct tg_event){.id = a->id, .ts_us = a->ts_us, .type = "config_change",
                              .text = dst[1], .source = "audit", .audit_id = a->id,
                              .actor = dst[0], .action = dst[1], .target = dst[2],
                              .old_json = dst[3], .new_json = dst[4]};
    rs->n++;
    return 0;
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].buf);
    free(rs->v);
}

/* Is `a` newer than `b` (time, then id)? */
static bool newer(const struct tg_event *a, const struct tg_event *b)
{
    return a->ts_us != b->ts_us ? a->ts_us > b->ts_us : a->id > b->id;
}

static int merge(const struct rows *ev, const struct rows *au, unsigned limit, tg_event_fn *cb,
                 void *ctx)
{
    size_t i = 0, j = 0;
    for (unsigned k = 0; k < limit && (i < ev->n || j < au->n); k++) {
        bool take_ev = j == au->n || (i < ev->n && newer(&ev->v[i].ev, &au->v[j].ev));
        int rc = cb(ctx, take_ev ? &ev->v[i++].ev : &au->v[j++].ev);
        if (rc)
            return rc;
    }
    return 0;
}

int tg_events_query(struct tg_store *s, const struct tg_events_filter *f, tg_event_fn *cb,
                    void *ctx, struct tg_errbuf *eb)
{
    unsigned limit = f->limit == 0                  ? TG_EVENTS_LIST_DEFAULT
                     : f->limit > TG_EVENTS_LIST_MAX ? TG_EVENTS_LIST_MAX
                                                     : f->limit;
    bool audit_only = f->type && strcmp(f->type, "config_change") == 0;
    struct rows ev = {0}, au = {0};
    int rc = 0;
    if (!audit_only) {
        struct tg_store_events_filter ef = {f->since_us, f->until_us, f->type, limit};
        rc = tg_store_events_list(s, &ef, from_event, &ev, eb);
    }
    if (rc == 0 && (!f->type || audit_only)) {
        struct tg_store_audit_filter af = {.since_us = f->since_us, .until_us = f->until_us,
                                           .limit = limit, .changes_only = true};
        rc = tg_store_audit_list(s, &af, from_audit, &au, eb);
    }
    if (ev.oom || au.oom)
        rc = tg_errbuf_set(eb, -ENOMEM, "events: out of memory");
    if (rc == 0)
        rc = merge(&ev, &au, limit, cb, ctx);
    rows_free(&ev);
    rows_free(&au);
    return rc;
}

int tg_events_list(struct tg_store *s, int64_t since_us, int64_t until_us, tg_event_fn *cb,
                   void *ctx, struct tg_errbuf *eb)
{
    const struct tg_events_filter f = {.since_us = since_us, .until_us = until_us,
                                       .limit = TG_EVENTS_LIST_MAX};
    return tg_events_query(s, &f, cb, ctx, eb);
}
