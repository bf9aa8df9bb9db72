/* SPDX-License-Identifier: MIT */
/* The byte-class table behind every scan loop in src/http (see http1_int.h for the bit
 * meanings). It is written out rather than built at startup so it is const, shared by all
 * worker threads without initialisation order concerns, and reviewable row by row.
 * Generated once from the RFC 9110/3986 character sets; each row comment shows its bytes. */
#include "http/http1_int.h"

/* Values: 1 TCHAR, 2 VALUE, 4 TARGET, 8 AUTH, 16 QDTEXT, 32 HEX, 64 WS (OR-ed). */
/* clang-format off */
const uint8_t tg_http1__cclass[256] = {
      0,   0,   0,   0,   0,   0,   0,   0,   0,  82,   0,   0,   0,   0,   0,   0, /* 00 ................ */
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 10 ................ */
     82,  31,   6,  19,  31,  31,  31,  31,  30,  30,  31,  31,  30,  31,  31,  22, /* 20 .!"#$%&'()*+,-./ */
     63,  63,  63,  63,  63,  63,  63,  63,  63,  63,  30,  30,  22,  30,  22,  22, /* 30 0123456789:;<=>? */
     22,  63,  63,  63,  63,  63,  63,  31,  31,  31,  31,  31,  31,  31,  31,  31, /* 40 @ABCDEFGHIJKLMNO */
     31,  31,  31,  31,  31,  31,  31,  31,  31,  31,  31,  30,   6,  30,  23,  31, /* 50 PQRSTUVWXYZ[.]^_ */
     23,  63,  63,  63,  63,  63,  63,  31,  31,  31,  31,  31,  31,  31,  31,  31, /* 60 `abcdefghijklmno */
     31,  31,  31,  31,  31,  31,  31,  31,  31,  31,  31,  22,  23,  22,  31,   0, /* 70 pqrstuvwxyz{|}~. */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* 80 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* 90 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* a0 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* b0 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* c0 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* d0 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* e0 obs-text */
     18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18,  18, /* f0 obs-text */
};
/* clang-format on */
