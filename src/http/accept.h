/* SPDX-License-Identifier: MIT */
/* Content negotiation on Accept-Encoding (RFC 9110 §12.5.3): how much a client wants a
 * given content coding, so a server that holds a compressed copy knows whether it may
 * send it. Pure function over header values; a hostile value costs one linear scan. */
#ifndef TG_HTTP_ACCEPT_H
#define TG_HTTP_ACCEPT_H

#include <stddef.h>

#include "http/http1.h"

/* The weight (0..1000, the qvalue in thousandths) the Accept-Encoding field values
 * `values[0..n)` (several header lines read as one comma-separated list) give to the
 * content coding `coding` (lowercase; "gzip" also matches the alias "x-gzip"): its own
 * element's weight, else the "*" element's, else -1 (not acceptable unless it is
 * "identity", which the caller decides). An element whose weight does not parse counts
 * as weight 0: a malformed preference is not a yes. */
int tg_http_coding_weight(const struct tg_str *values, size_t n, const char *coding);

#endif
