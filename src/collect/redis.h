/* SPDX-License-Identifier: MIT */
/* The Redis collector: one target per configured server (collectors.redis), made by
 * tg_credis_make (kinds.h) and scheduled by the set (set.h). Each scrape sends INFO ALL
 * and SLOWLOG LEN in one write on a connection kept between scrapes (and CONFIG GET
 * maxmemory only when INFO lacks it), and turns the replies into redis_exporter's
 * families (redis_info.h) plus redis_up. The connection is made again after an error;
 * a cancelled scrape (the set's deadline: a hung server) drops it, so a server that
 * stopped answering costs one socket and nothing else. AUTH is sent first on each new
 * connection when a password is configured (read from its file or environment variable
 * when the target is made; never logged or shown; a failed AUTH shows Redis's reply,
 * which holds no secret).
 *
 * The admin API's Redis diagnostics ride on the same connection (connecting it if it is
 * down): tg_credis_slowlog (SLOWLOG GET) and tg_credis_info (INFO, summed up). Each
 * answers through its callback exactly once, at the latest after the target's timeout
 * (5 s when none is set), with a reason when the server is down, refuses or hangs. All
 * calls are on the control loop's thread. */
#ifndef TG_COLLECT_REDIS_H
#define TG_COLLECT_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "collect/redis_info.h"
#include "core/err.h"

struct tg_credis;     /* a target, as tg_cset_impl returns it for the "redis" kind */
struct tg_credis_req; /* a diagnostic request in flight */

/* The instance label: the configured name, else the address. */
const char *tg_credis_instance(const struct tg_credis *t);

/* A string from the server (any bytes, not NUL-terminated). */
struct tg_credis_str {
    const char *p;
    size_t len;
};

/* One SLOWLOG entry. Redis before 4.0 has no client address or name (then empty). */
struct tg_credis_slowentry {
    int64_t id;
    int64_t timestamp_s; /* Unix time the command was logged */
    int64_t duration_us;
    const struct tg_credis_str *args; /* the command and its arguments as Redis logged them
                                       * (long ones cut, secrets of AUTH and the like hidden) */
    size_t nargs;
    struct tg_credis_str client_addr, client_name;
};

/* `rc` 0: `e[0..n)` are the entries, newest first, valid for the call. Else `why` says
 * why not (one line, no secret). */
typedef void tg_credis_slowlog_fn(void *arg, int rc, const char *why,
                                  const struct tg_credis_slowentry *e, size_t n);
typedef void tg_credis_info_fn(void *arg, int rc, const char *why,
                               const struct tg_credis_summary *s);

/* Sends SLOWLOG GET `limit` (INFO) on the target's connection. 0 with *out set: `cb`
 * will be called once, never from inside this call. Else a negative code with `eb`
 * filled (connection cannot be made: no callback). */
int tg_credis_slowlog(struct tg_credis *t, uint32_t limit, tg_credis_slowlog_fn *cb, void *arg,
                      struct tg_credis_req **out, struct tg_errbuf *eb);
int tg_credis_info(struct tg_credis *t, tg_credis_info_fn *cb, void *arg,
                   struct tg_credis_req **out, struct tg_errbuf *eb);

/* The caller lost interest (its client went away): the callback will not be called. */
void tg_credis_req_cancel(struct tg_credis_req *r);

#endif
