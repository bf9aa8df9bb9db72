/* SPDX-License-Identifier: MIT */
/* Files of the source tree built into the binary (cmake/embed.cmake generates the
 * tables): the demo writes its rule files from here, so they are examples/rules/ as
 * shipped, not a second copy to keep in step. */
#ifndef TG_CLI_EMBED_H
#define TG_CLI_EMBED_H

#include <stddef.h>

struct tg_embedded_file {
    const char *name; /* base name; NULL ends a table */
    const char *data; /* NUL-terminated */
    size_t len;
};

/* the .yml files of examples/rules/ */
extern const struct tg_embedded_file tg_cli_demo_rules[];

#endif
