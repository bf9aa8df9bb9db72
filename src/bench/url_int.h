/* SPDX-License-Identifier: MIT */
/* Target URLs of the load generator: parsing http://host[:port][/path] and resolving the
 * host once, before any load starts. Only plain http (the generator measures the API, not a
 * TLS stack); hosts are IPv4 literals, bracketed IPv6 literals or names resolved with
 * getaddrinfo. All URLs of one run must share one origin (scheme, host, port), because the
 * connections of a run all go to one address. */
#ifndef TG_BENCH_URL_INT_H
#define TG_BENCH_URL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/err.h"

struct tg_bench_url {
    char host[256];      /* without IPv6 brackets */
    char port[8];        /* decimal, "80" when absent */
    char authority[272]; /* the Host header value, as written in the URL */
    const char *path;    /* "/..." (points into the parsed string), "/" when absent */
};

/* Parses `s` (which must outlive `u`: `path` points into it). Fragments are dropped by
 * the caller never sending them: a '#' in the URL is TG_EPARSE. Returns 0 or TG_EPARSE with
 * `eb` naming the problem. */
int tg_bench__parse_url(const char *s, struct tg_bench_url *u, struct tg_errbuf *eb);

/* True if `a` and `b` name the same host and port. */
bool tg_bench__same_origin(const struct tg_bench_url *a, const struct tg_bench_url *b);

/* Resolves the first address of `u` (TCP). Returns 0, or TG_ENOTFOUND with `eb` filled. */
int tg_bench__resolve(const struct tg_bench_url *u, struct sockaddr_storage *ss, socklen_t *len,
                      struct tg_errbuf *eb);

/* Connects once, blocking up to `timeout_ms`, and closes: the pre-flight check that turns
 * an unreachable target into a usage error before any thread starts. Returns 0 or -errno
 * (-ETIMEDOUT on timeout). */
int tg_bench__probe(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms);

/* Renders an address as host:port ("127.0.0.1:8080", "[::1]:8080"). */
void tg_bench__addr_str(const struct sockaddr_storage *ss, char *dst, size_t cap);

#endif
