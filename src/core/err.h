/* SPDX-License-Identifier: MIT */
/* Error codes. Functions that can fail return 0 or a negative code: -errno for system
 * errors (libuv's rule), or a project code from the reserved range below. Producers that
 * resume return TG_DONE / TG_AGAIN. Messages users must read go into a struct tg_errbuf:
 * fixed size, filled by the layer that detects the problem, never heap-allocated. */
#ifndef TG_CORE_ERR_H
#define TG_CORE_ERR_H

#include <stddef.h>

enum tg_err {
    TG_DONE = 1,
    TG_AGAIN = 0,
    /* Project codes live below -10000 so they never collide with -errno. */
    TG_EPARSE = -10001,  /* malformed input */
    TG_ELIMIT = -10002,  /* a configured limit was exceeded */
    TG_ECONFIG = -10003, /* invalid configuration */
    TG_ESTORE = -10004,  /* storage failure */
    TG_ETOOBIG = -10005, /* header block larger than allowed (HTTP 431) */
    TG_ENOTFOUND = -10006,
    TG_ECLOSED = -10007, /* peer closed before a complete message */
    TG_EURI = -10008,     /* request line (target) longer than allowed (HTTP 414) */
    TG_EVERSION = -10009, /* HTTP major version other than 1 (HTTP 505) */
    TG_ECODING = -10010,  /* a transfer coding we do not implement (HTTP 501) */
    TG_ERESTART = -10011, /* the setting cannot change without a restart */
    TG_EEXEC = -10012,    /* a query failed while it ran (PromQL "execution", HTTP 422) */
};

#define TG_ERRBUF_MSG 256

/* Error report for users: code, position (0 when unknown) and a message. */
struct tg_errbuf {
    int code;
    int line, column;
    char file[128];
    char msg[TG_ERRBUF_MSG];
};

/* Returns a static description of `code` (project or -errno). Thread-safe. */
const char *tg_strerror(int code);

/* Fills `eb` (if not NULL) with `code` and a printf-formatted message; returns `code`. */
int tg_errbuf_set(struct tg_errbuf *eb, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
