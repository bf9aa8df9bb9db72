/* SPDX-License-Identifier: MIT */
/* The Prometheus API's JSON, written as Prometheus 2.42 writes it, byte for byte where
 * clients could tell: sample values as strings in Go's shortest form ("1.75", "1e-07",
 * "+Inf", "NaN", "-0"), timestamps as seconds with exactly three decimals when the
 * milliseconds are not zero, strings escaped as Go's encoding/json does (<, > and & as
 * \u003c..., invalid UTF-8 as \ufffd). A growing buffer; an allocation failure is
 * remembered and reported once at the end, so writers need no checks. Control thread. */
#ifndef TG_ADMIN_PROMAPI_JSON_H
#define TG_ADMIN_PROMAPI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_admin_jw {
    char *p; /* owned; NUL-terminated while !oom */
    size_t n, cap;
    bool oom;
};

void tg_admin_jw_raw(struct tg_admin_jw *w, const char *s, size_t n);
void tg_admin_jw_lit(struct tg_admin_jw *w, const char *s); /* a NUL-terminated literal */
/* A JSON string of `n` bytes of `s`, escaped as Go does. */
void tg_admin_jw_str(struct tg_admin_jw *w, const char *s, size_t n);
void tg_admin_jw_cstr(struct tg_admin_jw *w, const char *s);
void tg_admin_jw_int(struct tg_admin_jw *w, int64_t v);
/* A JSON number as encoding/json writes a float64 ("0.001", "1e-7", "1e+21"). */
void tg_admin_jw_num(struct tg_admin_jw *w, double v);
/* A sample value: "<v>" in Go's FormatFloat 'f' (or 'e' below 1e-6 and from 1e21). */
void tg_admin_jw_value(struct tg_admin_jw *w, double v);
/* A sample time: milliseconds written as seconds ("1435781451.781", "-0.5" is "-0.500"). */
void tg_admin_jw_ts(struct tg_admin_jw *w, int64_t ms);
void tg_admin_jw_free(struct tg_admin_jw *w);

/* Go's strconv.FormatFloat(v, fmt, -1, 64) with fmt 'f' or 'e' into buf; returns the
 * length. 'e' needs at most 32 bytes, 'f' up to 330 (5e-324 in full). */
size_t tg_admin_fmt_float(double v, char fmt, char *buf, size_t cap);

/* The length of the valid UTF-8 sequence at s (n > 0 bytes available), 0 when it is not
 * one (overlong, a surrogate, past U+10FFFF, cut short): what Go's encoders replace. */
size_t tg_admin_utf8_len(const unsigned char *s, size_t n);

#endif
