/* SPDX-License-Identifier: MIT */
/* Parsing and formatting of the quantities the load generator's command line and reports
 * use: durations ("10s", "2m", "1m30s", "500ms"), counts, rates, and human renderings
 * (4,200; 12.3 ms; 1.2 MB). Pure functions, unit tested. */
#ifndef TG_BENCH_UNITS_INT_H
#define TG_BENCH_UNITS_INT_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration: one or more <number><unit> parts with units us, ms, s, m, h
 * ("1m30s", "1.5s"), or a bare number of seconds. Result in microseconds, >= 0. Returns 0
 * or TG_EPARSE (also for overflow beyond 10 years). */
int tg_bench__parse_duration(const char *s, int64_t *out_us);

/* Parses a decimal integer in [min, max]. Returns 0 or TG_EPARSE. */
int tg_bench__parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a finite number > 0 and <= max (a request rate; "1k" style suffixes k and M are
 * accepted). Returns 0 or TG_EPARSE. */
int tg_bench__parse_rate(const char *s, double max, double *out);

/* Renders `n` with thousands separators ("4,200"). Returns the length written. */
size_t tg_bench__fmt_count(char *dst, size_t cap, uint64_t n);

/* Renders a rate: thousands separators below 100 rps keep one decimal ("12.5", "4,200"). */
size_t tg_bench__fmt_rate(char *dst, size_t cap, double rps);

/* Renders microseconds as milliseconds with three significant digits at least
 * ("0.123", "12.35", "430.1", "1,234"). No unit. */
size_t tg_bench__fmt_ms(char *dst, size_t cap, int64_t us);

/* Renders microseconds as a short duration with its unit ("850 us", "12.3 ms", "1.23 s"). */
size_t tg_bench__fmt_latency(char *dst, size_t cap, int64_t us);

/* Renders a byte count ("512 B", "1.2 KB", "34.5 MB", "1.1 GB"; decimal units). */
size_t tg_bench__fmt_bytes(char *dst, size_t cap, uint64_t n);

/* Renders a duration as the command line writes it ("10s", "1m30s", "250ms"). */
size_t tg_bench__fmt_duration(char *dst, size_t cap, int64_t us);

#endif
