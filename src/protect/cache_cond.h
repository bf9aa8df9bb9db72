/* SPDX-License-Identifier: MIT */
/* Conditional GET against a stored response (RFC 9110 §13): whether a client that already
 * holds the representation gets 304 Not Modified instead of the body. If-None-Match is
 * evaluated with the weak comparison (a W/ prefix on either side is ignored) and "*"
 * matches any stored response; only when the request has no If-None-Match does
 * If-Modified-Since apply, against the stored Last-Modified, or its Date when it has
 * none (RFC 9111 §4.3.2). Only a stored 200 is ever answered 304. Malformed conditions
 * match nothing, so the client gets the full answer. Pure functions over bytes, for the
 * proxy's cache answers and the fuzz target. */
#ifndef TG_PROTECT_CACHE_COND_H
#define TG_PROTECT_CACHE_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protect/cache_policy.h"

/* True if the request fields `req[0..n)` make the stored response (its status, and its
 * header block `head[0..hlen)` of "Name: value\r\n" lines as tg_cache_entry_head gives
 * it) a 304 for this client. */
bool tg_cache_not_modified(const struct tg_cache_field *req, uint32_t n, int status,
                           const char *head, size_t hlen);

/* Whether a stored header line named `name[0..len)` belongs in a 304 (RFC 9110 §15.4.5:
 * the fields a 200 would have carried that describe the cache's copy, not the body). */
bool tg_cache_304_keeps(const char *name, size_t len);

#endif
