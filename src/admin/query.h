/* SPDX-License-Identifier: MIT */
/* Query-string access for admin handlers: percent-decoding lookups by name, and the
 * typed readers the monitoring and control APIs share (durations, integers). */
#ifndef TG_ADMIN_QUERY_H
#define TG_ADMIN_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "http/http1.h"

/* Copies the decoded value of parameter `name` into out[0..cap) (NUL-terminated); `+`
 * decodes to a space. Returns 0, TG_ENOTFOUND when the parameter is absent, or TG_EPARSE
 * when it is present but unusable: a malformed %-escape, a NUL byte (%00), or longer than
 * cap - 1 bytes. A bad value is never taken for an absent one: the caller answers 400. */
int tg_admin_query_get(struct tg_str query, const char *name, char *out, size_t cap);

/* Reads a window/duration parameter ("30s", "5m", or plain seconds) as whole seconds.
 * Absent: `def`. Returns false (and leaves *out alone) if present but invalid or outside
 * 1..max seconds. Plain seconds are decimal digits only, as for tg_admin_query_uint. */
bool tg_admin_query_seconds(struct tg_str query, const char *name, uint32_t def, uint32_t max,
                            uint32_t *out);

/* Reads a non-negative integer parameter; absent: `def`. Returns false if the value is not
 * plain decimal digits (a sign, space, exponent, "0x", an empty value, anything that does
 * not decode), does not fit 64 bits, or is above `max`. */
bool tg_admin_query_uint(struct tg_str query, const char *name, uint64_t def, uint64_t max,
                         uint64_t *out);

#endif
