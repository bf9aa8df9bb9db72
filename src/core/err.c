/* SPDX-License-Identifier: MIT */
/* Error strings and the errbuf helper. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tg_strerror(int code)
{
    switch (code) {
    case TG_DONE:
        return "done";
    case TG_AGAIN:
        return "again";
    case TG_EPARSE:
        return "parse error";
    case TG_ELIMIT:
        return "limit exceeded";
    case TG_ECONFIG:
        return "invalid configuration";
    case TG_ESTORE:
        return "storage error";
    case TG_ETOOBIG:
        return "too large";
    case TG_ENOTFOUND:
        return "not found";
    case TG_ECLOSED:
        return "connection closed";
    case TG_EURI:
        return "request target too long";
    case TG_EVERSION:
        return "HTTP version not supported";
    case TG_ECODING:
        return "transfer coding not implemented";
    case TG_ERESTART:
        return "needs a restart";
    case TG_EEXEC:
        return "query execution failed";
    default:
        /* strerror() is not guaranteed thread-safe; strerrordesc_np (glibc 2.32+) is. */
        if (code < 0 && code > -4096) {
            const char *s = strerrordesc_np(-code);
            return s ? s : "unknown error";
        }
        return "unknown error";
    }
}

int tg_errbuf_set(struct tg_errbuf *eb, int code, const char *fmt, ...)
{
    if (!eb)
        return code;
    eb->code = code;
    /* A reused errbuf must not print the position of an earlier error. */
    eb->file[0] = '\0';
    eb->line = eb->column = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
    return code;
}
