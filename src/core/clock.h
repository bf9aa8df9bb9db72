/* SPDX-License-Identifier: MIT */
/* Clocks. Durations use CLOCK_MONOTONIC microseconds; wall time only for logs/stores. */
#ifndef TG_CORE_CLOCK_H
#define TG_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic microseconds (vDSO, no syscall on x86-64 Linux). */
int64_t tg_clock_mono_us(void);

/* Wall-clock microseconds since the Unix epoch. */
int64_t tg_clock_wall_us(void);

/* Formats wall-clock microseconds as UTC "2026-11-30T06:51:35Z" into buf[0..cap) (21
 * bytes suffice); returns buf. */
const char *tg_clock_iso(int64_t wall_us, char *buf, size_t cap);

/* The same with milliseconds, "2026-11-30T06:51:35.250Z" (25 bytes suffice), as the
 * incidents, events and diagnosis answer their times. */
const char *tg_clock_iso_ms(int64_t wall_us, char *buf, size_t cap);

#endif
