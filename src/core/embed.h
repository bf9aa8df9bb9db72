/* SPDX-License-Identifier: MIT */
/* Files built into the binary: cmake/embed.cmake turns files of the source tree (the
 * demo's rule files, the dashboard's assets) into tables of these, so what ships is what
 * the tree holds, not a second copy in src/. */
#ifndef TG_CORE_EMBED_H
#define TG_CORE_EMBED_H

#include <stddef.h>

struct tg_embedded_file {
    const char *name; /* path relative to the table's base folder; NULL ends a table */
    const char *data; /* NUL-terminated */
    size_t len;
    const char *hash; /* first 16 hex digits of the SHA-256 of the bytes */
    const char *gz;   /* the bytes gzip-compressed, or NULL (not asked for, or no smaller) */
    size_t gz_len;
};

/* The entry named `name` (`len` bytes, not NUL-terminated), or NULL. */
const struct tg_embedded_file *tg_embedded_find(const struct tg_embedded_file *table,
                                                const char *name, size_t len);

#endif
