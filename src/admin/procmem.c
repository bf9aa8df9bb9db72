/* SPDX-License-Identifier: MIT */
/* Process memory; see procmem.h. */
#include "admin/procmem.h"

#include <stdio.h>
#include <unistd.h>

void tg_admin_procmem(int64_t *rss_bytes, int64_t *vsize_bytes)
{
    long rss_pages = 0, vsize_pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &vsize_pages, &rss_pages) != 2)
            vsize_pages = rss_pages = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    *rss_bytes = (int64_t)rss_pages * page;
    *vsize_bytes = (int64_t)vsize_pages * page;
}
