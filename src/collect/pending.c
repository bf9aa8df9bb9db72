/* SPDX-License-Identifier: MIT */
/* Kinds whose collectors are not built yet answer "not built". */
#include <errno.h>

#include "collect/kinds.h"

#define PENDING(fn)                                                                                \
    int fn(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,       \
           struct tg_errbuf *eb)                                                                   \
    {                                                                                              \
        (void)loop;                                                                                \
        (void)cfg;                                                                                 \
        (void)extra;                                                                               \
        (void)out;                                                                                 \
        return tg_errbuf_set(eb, -ENOSYS, "this collector is not built yet");                      \
    }

PENDING(tg_chost_make)
