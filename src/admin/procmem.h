/* SPDX-License-Identifier: MIT */
/* The process's own memory, read from /proc/self/statm, for /metrics and the gc view. */
#ifndef TG_ADMIN_PROCMEM_H
#define TG_ADMIN_PROCMEM_H

#include <stdint.h>

/* Resident and virtual size in bytes; both 0 if /proc cannot be read. */
void tg_admin_procmem(int64_t *rss_bytes, int64_t *vsize_bytes);

#endif
