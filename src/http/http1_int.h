/* SPDX-License-Identifier: MIT */
/* Internal to src/http: the byte classes shared by the head parser (http1.c) and the
 * chunked scanner (chunked.c). One 256-byte table of bit flags, so a scan loop costs one
 * load and one test per byte and the whole table stays in a single cache line pair. The
 * classes follow RFC 9110 §5.6 (tchar, field-vchar, qdtext) and RFC 3986 (authority). */
#ifndef TG_HTTP_HTTP1_INT_H
#define TG_HTTP_HTTP1_INT_H

#include <stdint.h>

enum tg_http1__cclass {
    TG_HTTP1__TCHAR = 1 << 0,  /* token character: header names, methods, codings */
    TG_HTTP1__VALUE = 1 << 1,  /* field content: SP, HT, VCHAR, obs-text (0x80-0xff) */
    TG_HTTP1__TARGET = 1 << 2, /* request-target byte: VCHAR except '#' */
    TG_HTTP1__AUTH = 1 << 3,   /* authority byte: unreserved, sub-delims, '%', ':', '[', ']' */
    TG_HTTP1__QDTEXT = 1 << 4, /* quoted-string text: VALUE minus '"' and '\\' */
    TG_HTTP1__HEX = 1 << 5,    /* hex digit */
    TG_HTTP1__WS = 1 << 6,     /* SP or HT (OWS, BWS) */
};

/* Bit flags from enum tg_http1__cclass for every byte value. */
extern const uint8_t tg_http1__cclass[256];

#endif
