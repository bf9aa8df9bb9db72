/* SPDX-License-Identifier: MIT */
/* Ready-to-send requests: each spec becomes its complete HTTP/1.1 request bytes, built once
 * before the run, shared read-only by every thread, so sending a request is one send(2)
 * of a pre-built buffer (no formatting, no allocation per request). Several requests are
 * mixed by their weights through a precomputed smooth weighted round-robin cycle: exact
 * proportions over every cycle, no random draw, O(1) per pick. */
#ifndef TG_BENCH_REQUEST_INT_H
#define TG_BENCH_REQUEST_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/scenario_int.h"
#include "core/err.h"
#include "http/http1.h"

struct tg_bench_req {
    char *bytes; /* the whole request: head and body */
    uint32_t len;
    enum tg_http_method method; /* how the response is framed (HEAD has no body) */
    uint32_t weight;
};

struct tg_bench_reqset {
    struct tg_bench_req *r;
    uint32_t n;
    uint32_t *cycle; /* request indices, one weighted round */
    uint32_t cycle_len;
};

#define TG_BENCH_CYCLE_MAX 1000000 /* sum of weights after dividing by their gcd */

/* Builds the requests of specs[0..n) (bodies already loaded). `hdrs` are the global -H
 * headers, added to every request before its own. Host and User-Agent are added unless
 * given; "Connection: close" when `keepalive` is off; Content-Length when there is a body
 * (or the method is POST, PUT or PATCH). Content-Length and Transfer-Encoding may not be
 * given. Returns 0, TG_EPARSE (bad header or method, `eb` filled) or -ENOMEM. */
int tg_bench__reqset_build(struct tg_bench_reqset *rs, const struct tg_bench_reqspec *specs,
                           uint32_t n, const char *const *hdrs, uint32_t nhdrs, bool keepalive,
                           struct tg_errbuf *eb);

/* Frees what build allocated. Accepts a zeroed or partly built set. */
void tg_bench__reqset_deinit(struct tg_bench_reqset *rs);

/* Validates a "Name: value" header (token name, no CR/LF/NUL in the value). */
bool tg_bench__header_ok(const char *h);

#endif
