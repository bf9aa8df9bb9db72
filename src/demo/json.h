/* SPDX-License-Identifier: MIT */
/* JSON string escaping for demo API responses built by hand on the request path (where
 * jansson's allocations are not wanted). Valid UTF-8 passes through unchanged; every
 * byte that is not part of a valid UTF-8 sequence is written as \u00XX, so arbitrary
 * binary request bodies still give valid JSON. Known limit: a client cannot tell an
 * escaped raw byte 0xE9 from the character U+00E9 written as \u00e9 by someone else;
 * the demo API never produces the latter. Pure functions. */
#ifndef TG_DEMO_JSON_H
#define TG_DEMO_JSON_H

#include <stddef.h>

/* Worst-case output bytes per input byte (a control or invalid byte becomes \u00XX). */
#define TG_DEMO_JSON_ESC_MAX 6

/* Writes the escaped form of src[0..n) (without quotes) to `dst`, which must have room
 * for TG_DEMO_JSON_ESC_MAX * n bytes. Returns the bytes written. Cost: O(n). */
size_t tg_demo_json_escape(char *dst, const void *src, size_t n);

/* Length in bytes of the valid UTF-8 sequence starting at p[0..n), or 0 if p[0] does
 * not start one (overlong forms, surrogates and code points above U+10FFFF are
 * invalid, as RFC 3629 says). */
size_t tg_demo_utf8_seq_len(const unsigned char *p, size_t n);

#endif
