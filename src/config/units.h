/* SPDX-License-Identifier: MIT */
/* Durations and byte sizes as users write them in the config file ("250ms", "1m30s",
 * "16KiB", "10MiB"). A duration always needs a unit, because a bare "30" is read as
 * seconds by some tools and milliseconds by others; the only unitless duration is "0".
 * Sizes are plain bytes without a unit, or IEC (KiB = 1024) and SI (kB = 1000) units;
 * the ambiguous "K", "KB", "M", "MB"-as-1024 spellings are refused with a hint. Pure
 * functions, thread-safe, no allocation. Called by the YAML schema and the admin API. */
#ifndef TG_CONFIG_UNITS_H
#define TG_CONFIG_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TG_US_PER_MS INT64_C(1000)
#define TG_US_PER_S INT64_C(1000000)
#define TG_US_PER_MIN (60 * TG_US_PER_S)
#define TG_US_PER_H (60 * TG_US_PER_MIN)

/* Parses `s` (NUL-terminated) as a duration: "0", or one or more <number><unit> parts,
 * where the number may have a decimal fraction and the unit is us, ms, s, m or h
 * ("1m30s", "1.5s", "250ms"). The result must be a whole number of microseconds and
 * fit in int64_t. On success stores microseconds in `*out_us` and returns 0; otherwise
 * returns TG_EPARSE with a message (no position) in `eb`, and leaves `*out_us` alone. */
int tg_units_parse_duration(const char *s, int64_t *out_us, struct tg_errbuf *eb);

/* Parses `s` as a byte size: digits, optionally followed directly by B, KiB, MiB, GiB,
 * TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000). Returns 0 and stores the
 * byte count, or TG_EPARSE with a message in `eb`. */
int tg_units_parse_size(const char *s, uint64_t *out_bytes, struct tg_errbuf *eb);

/* Writes `us` in the shortest exact form the parser accepts ("2m", "1500ms", "7us"),
 * NUL-terminated and truncated to `cap`. Returns the length it wanted, like snprintf.
 * Negative values are written with a leading "-" (the parser does not accept those). */
size_t tg_units_format_duration(int64_t us, char *buf, size_t cap);

/* Writes `bytes` as "<n>GiB", "<n>MiB", "<n>KiB" when exact, else as plain digits.
 * Same return convention as tg_units_format_duration. */
size_t tg_units_format_size(uint64_t bytes, char *buf, size_t cap);

#endif
