/* SPDX-License-Identifier: MIT */
/* URL component decoding shared by everything that reads query strings (the demo API's
 * fault parameters, the admin API's query parameters). */
#ifndef TG_HTTP_URL_H
#define TG_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http1.h"

/* Percent-decodes `s` into dst[0..cap) ('+' becomes a space, as in form encoding). Returns
 * the decoded length, or -1 if a %-escape is malformed ("%", "%4", "%zz") or the result
 * does not fit. Does not NUL-terminate, and "%00" decodes to a NUL byte: a caller that
 * wants a C string must refuse it (admin/query.c does). */
long tg_http_url_decode(char *dst, size_t cap, struct tg_str s);

/* Finds query parameter `name` in `query` (the part after '?', as the parser slices it)
 * and points `value` at its raw, still encoded value ("" for "a" or "a="). Returns false
 * if absent. The first occurrence wins. */
bool tg_http_query_param(struct tg_str query, const char *name, struct tg_str *value);

#endif
