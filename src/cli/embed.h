/* SPDX-License-Identifier: MIT */
/* The demo's rule files, built into the binary (CMakeLists.txt, cmake/embed.cmake): the
 * demo writes its rule files from here, so they are examples/rules/ as shipped, not a
 * second copy to keep in step. */
#ifndef TG_CLI_EMBED_H
#define TG_CLI_EMBED_H

#include "core/embed.h"

/* the .yml files of examples/rules/ */
extern const struct tg_embedded_file tg_cli_demo_rules[];

#endif
