/* SPDX-License-Identifier: MIT */
/* Lookup in a table of embedded files (core/embed.h). Tables are a few dozen entries. */
#include "core/embed.h"

#include <string.h>

const struct tg_embedded_file *tg_embedded_find(const struct tg_embedded_file *table,
                                                const char *name, size_t len)
{
    for (const struct tg_embedded_file *f = table; f && f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    return NULL;
}
