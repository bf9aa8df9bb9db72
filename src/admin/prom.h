/* SPDX-License-Identifier: MIT */
/* GET /metrics: every collector of the list (metrics/collect.h) written in the Prometheus
 * text exposition format 0.0.4 (prometheus-compat.md §a) by the one writer (metrics/
 * expo.h), HELP and TYPE for every family, clean under `promtool check metrics`. An
 * HTTP/1.1 GET is streamed in chunks as the client reads them (bounded memory: one chunk
 * plus one item, whatever the number of endpoints); HEAD and HTTP/1.0 get one whole body
 * with Content-Length. Also the admin listener's own collector. Control thread. */
#ifndef TG_ADMIN_PROM_H
#define TG_ADMIN_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin/resp.h"
#include "metrics/collect.h"

struct tg_hsrv;

/* What the last configuration reload did (Prometheus' own config_last_reload_* idea). */
struct tg_admin_reload {
    bool ok;                  /* the last reload was applied (true before any reload) */
    int64_t success_wall_us;  /* when a configuration was last applied (start or reload) */
    uint32_t restart_pending; /* settings the applied file changes that wait for a restart */
};

/* The admin listener's figures for its collector: the server (its counters) and the
 * reload outcome. */
struct tg_admin_prom {
    const struct tg_hsrv *srv;
    struct tg_admin_reload reload;
};

/* The admin listener's collector (tg_mcollect_fn; `data` is a struct tg_admin_prom):
 * reload outcome, connections, refusals, requests, closes, accept errors. */
int tg_admin_prom_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

/* The whole exposition of `cs` as one body in `r` (HEAD, HTTP/1.0, tests). */
void tg_admin_prom_metrics(const struct tg_mcollectors *cs, struct tg_admin_resp *r);

/* A streamed exposition: one per response, owned by the connection that sends it. */
struct tg_admin_prom_stream;

/* Starts a scan of `cs` (borrowed until tg_admin_prom_stream_free). NULL without memory. */
struct tg_admin_prom_stream *tg_admin_prom_stream_new(const struct tg_mcollectors *cs);
void tg_admin_prom_stream_free(struct tg_admin_prom_stream *s);

/* The next chunk of text into *p, *n (valid until the next call or the free): TG_AGAIN
 * with *n > 0 while there is more; TG_DONE with the last bytes (*n may be 0) once the
 * scan is over; -ENOMEM (give up the response) when the writer ran out of memory. */
int tg_admin_prom_stream_next(struct tg_admin_prom_stream *s, const char **p, size_t *n);

#endif
