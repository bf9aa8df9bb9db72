/* SPDX-License-Identifier: MIT */
/* Query-string access for admin handlers: percent-decoding lookups by name, and the
 * typed readers the monitoring and control APIs share (durations, integers). */
#ifndef TG_ADMIN_QUERY_H
#define TG_ADMIN_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http1.h"

/* Copies the decoded value of parameter `name` into out[0..cap) (NUL-terminated) and
 * returns true; false if absent or longer than cap - 1. `+` decodes to a space. */
bool tg_admin_query_get(struct tg_str query, const char *name, char *out, size_t cap);

/* Reads a window/duration parameter ("30s", "5m", or plain seconds) as whole seconds.
 * Absent: `def`. Returns false (and leaves *out alone) if present but invalid or outside
 * 1..max seconds. */
bool tg_admin_query_seconds(struct tg_str query, const char *name, uint32_t def, uint32_t max,
                            uint32_t *out);

/* Reads a non-negative integer parameter; absent: `def`; false if invalid or > max. */
bool tg_admin_query_uint(struct tg_str query, const char *name, uint64_t def, uint64_t max,
                         uint64_t *out);

#endif
