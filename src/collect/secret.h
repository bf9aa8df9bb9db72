/* SPDX-License-Identifier: MIT */
/* A collector's password, from where the configuration says it is (config.h's struct
 * tg_cfg_secret): the first line of a file, or an environment variable. Read when a
 * target is made, so a reload picks up a rotated secret. Messages name the file or the
 * variable, never the secret. */
#ifndef TG_COLLECT_SECRET_H
#define TG_COLLECT_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/err.h"

/* Reads the secret into out[0..cap) (NUL-terminated, line end removed); *has says
 * whether one is configured ("" and false when neither is). 0, or -errno / -ENOENT (the
 * variable is not set) / TG_ELIMIT (longer than cap - 1) with `eb` filled. */
int tg_csecret_read(const struct tg_cfg_secret *s, char *out, size_t cap, bool *has,
                    struct tg_errbuf *eb);

#endif
