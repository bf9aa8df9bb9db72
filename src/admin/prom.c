/* SPDX-License-Identifier: MIT */
/* /metrics on the admin listener; see prom.h. The chunk size is a trade: each chunk is
 * one send and one on_write turn of the control loop, and the buffer is held for as long
 * as the client takes to read it. 16 KiB keeps a 1000-endpoint exposition (a few MB) to a
 * few hundred turns while holding little memory per scraper. */
#include "admin/prom.h"

#include <errno.h>
#include <stdlib.h>

#include "core/err.h"
#include "http/server.h"
#include "metrics/expo.h"

#define CHUNK_BYTES (16 * 1024)

struct tg_admin_prom_stream {
    const struct tg_mcollectors *cs;
    struct tg_mscan scan;
    struct tg_expo e;
    bool done;
};

/* ---- the admin listener's own series ---------------------------------------------- */

static void one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                const char *help, double x)
{
    static const struct tg_mlabels none = {NULL, NULL, 0};
    v->family(v->ctx, &(struct tg_mfamily){name, help, NULL, type});
    v->value(v->ctx, &none, x);
}

struct labelled {
    const char *value;
    uint64_t n;
};

static void by_label(const struct tg_mvisitor *v, const char *name, const char *help,
                     const char *label, const struct labelled *s, size_t n)
{
    const char *const names[] = {label};
    v->family(v->ctx, &(struct tg_mfamily){name, help, NULL, TG_METRIC_COUNTER});
    for (size_t i = 0; i < n; i++)
        v->value(v->ctx, &(struct tg_mlabels){names, &s[i].value, 1}, (double)s[i].n);
}

int tg_admin_prom_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    const struct tg_admin_prom *ap = data;
    const struct tg_admin_reload *rl = &ap->reload;
    (void)cur;
    one(v, "tailguard_config_last_reload_successful", TG_METRIC_GAUGE,
        "1 when the last configuration reload was applied, 0 when it was refused.", rl->ok);
    one(v, "tailguard_config_last_reload_success_timestamp_seconds", TG_METRIC_GAUGE,
        "When a configuration was last applied (start or reload), since unix epoch.",
        (double)(rl->success_wall_us / 1000) / 1e3);
    one(v, "tailguard_config_restart_pending", TG_METRIC_GAUGE,
        "Settings of the applied configuration file that only take effect after a restart.",
        rl->restart_pending);

    struct tg_hsrv_stats hs;
    tg_hsrv_stats(ap->srv, &hs);
    one(v, "tailguard_admin_connections", TG_METRIC_GAUGE,
        "Connections open on the admin listener.", hs.conns);
    const struct labelled results[] = {{"accepted", hs.accepted}, {"refused", hs.rejected_cap}};
    by_label(v, "tailguard_admin_connections_total",
             "Connections to the admin listener: accepted, or refused at its connection cap.",
             "result", results, 2);
    const struct labelled refused[] = {{"400", hs.status_400}, {"405", hs.status_405},
                                       {"408", hs.status_408}, {"413", hs.status_413},
                                       {"414", hs.status_414}, {"431", hs.status_431},
                                       {"501", hs.status_501}, {"505", hs.status_505}};
    by_label(v, "tailguard_admin_refused_requests_total",
             "Requests the admin listener refused itself (malformed, too large, too slow...).",
             "status", refused, sizeof refused / sizeof refused[0]);
    one(v, "tailguard_admin_requests_total", TG_METRIC_COUNTER, "Requests handed to the admin API.",
        (double)hs.requests);
    const struct labelled closed[] = {{"idle", hs.timeouts_idle},
                                      {"write_timeout", hs.timeouts_write},
                                      {"evicted_idle", hs.evicted_idle},
                                      {"evicted_slow", hs.evicted_slow}};
    by_label(v, "tailguard_admin_closed_connections_total",
             "Admin connections closed by the listener: idle, a client not reading its answer, "
             "or evicted at the cap (idle or slow head).",
             "reason", closed, sizeof closed / sizeof closed[0]);
    one(v, "tailguard_admin_accept_errors_total", TG_METRIC_COUNTER,
        "Failed accept() calls on the admin listener (accepting pauses for 100 ms).",
        (double)hs.accept_errors);
    return TG_DONE;
}

/* ---- the exposition --------------------------------------------------------------- */

void tg_admin_prom_metrics(const struct tg_mcollectors *cs, struct tg_admin_resp *r)
{
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mscan scan;
    tg_mscan_init(&scan);
    tg_mscan_run(&scan, cs, &v); /* never pauses: the writer is never full */
    if (e.oom) {
        tg_expo_deinit(&e);
        tg_admin_resp_error(r, 500, "out of memory", NULL);
        return;
    }
    free(r->body);
    r->status = 200;
    r->content_type = TG_EXPO_CONTENT_TYPE;
    r->body = tg_expo_take(&e, &r->body_len);
}

struct tg_admin_prom_stream *tg_admin_prom_stream_new(const struct tg_mcollectors *cs)
{
    struct tg_admin_prom_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cs = cs;
    tg_expo_init(&s->e, CHUNK_BYTES);
    return s;
}

void tg_admin_prom_stream_free(struct tg_admin_prom_stream *s)
{
    if (!s)
        return;
    tg_expo_deinit(&s->e);
    free(s);
}

int tg_admin_prom_stream_next(struct tg_admin_prom_stream *s, const char **p, size_t *n)
{
    tg_expo_reset(&s->e);
    if (!s->done) {
        struct tg_mvisitor v = tg_expo_visitor(&s->e);
        s->done = tg_mscan_run(&s->scan, s->cs, &v) == TG_DONE;
    }
    if (s->e.oom)
        return -ENOMEM;
    *p = s->e.p;
    *n = s->e.len;
    return s->done ? TG_DONE : TG_AGAIN;
}
