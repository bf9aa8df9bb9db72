/* SPDX-License-Identifier: MIT */
/* Protection watcher; see watch.h. */
#include "control/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "store/audit.h"

struct seen {
    char name[96];
    uint64_t seq;
};

struct tg_watch {
    struct tg_gateway *gw;
    struct tg_store *store;
    struct seen *v;
    size_t n, cap;
};

int tg_watch_new(struct tg_gateway *gw, struct tg_store *store, struct tg_watch **out)
{
    struct tg_watch *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->gw = gw;
    w->store = store;
    *out = w;
    return 0;
}

void tg_watch_free(struct tg_watch *w)
{
    if (!w)
        return;
    free(w->v);
    free(w);
}

static struct seen *find(struct tg_watch *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->v[i].name, name) == 0)
            return &w->v[i];
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct seen *nv = realloc(w->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        w->v = nv;
        w->cap = cap;
    }
    struct seen *s = &w->v[w->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->seq = 0;
    return s;
}

static void on_breaker(const struct tg_gateway_breaker_info *b, void *vw)
{
    struct tg_watch *w = vw;
    struct seen *s = find(w, b->name);
    const struct tg_breaker_transition *t = &b->stats.last;
    if (!s || t->seq == s->seq)
        return;
    uint64_t missed = t->seq - s->seq - 1;
    s->seq = t->seq;
    const char *from = tg_breaker_state_name(t->from), *to = tg_breaker_state_name(t->to);
    const char *why = tg_breaker_reason_name(t->reason);
    tg_log(t->to == TG_BREAKER_OPEN ? TG_LOG_WARN : TG_LOG_INFO, "protect",
           "breaker-transition breaker=%s from=%s to=%s reason=%s failure_ratio=%.3f "
           "window_calls=%llu missed=%llu",
           b->name, from, to, why, b->stats.failure_ratio,
           (unsigned long long)b->stats.window_calls, (unsigned long long)missed);
    if (!w->store)
        return;
    char action[64], old_json[64], new_json[256];
    snprintf(action, sizeof action, "circuit-breaker %s", to);
    snprintf(old_json, sizeof old_json, "{\"state\":\"%s\"}", from);
    snprintf(new_json, sizeof new_json,
             "{\"state\":\"%s\",\"reason\":\"%s\",\"failure_ratio\":%.3f,\"window_calls\":%llu,"
             "\"transitions_missed\":%llu}",
             to, why, b->stats.failure_ratio, (unsigned long long)b->stats.window_calls,
             (unsigned long long)missed);
    struct tg_store_audit row = {
        .ts_us = tg_clock_wall_us(),
        .actor = "tailguard",
        .action = action,
        .target = b->name,
        .old_json = old_json,
        .new_json = new_json,
    };
    struct tg_errbuf eb = {0};
    if (tg_store_audit_append(w->store, &row, NULL, &eb) != 0)
        tg_log(TG_LOG_ERROR, "protect", "audit-failed breaker=%s error=\"%s\"", b->name, eb.msg);
}

void tg_watch_tick(void *vw, int64_t now_us)
{
    struct tg_watch *w = vw;
    (void)now_us;
    tg_gateway_foreach_breaker(w->gw, on_breaker, w);
}
