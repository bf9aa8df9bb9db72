/* SPDX-License-Identifier: MIT */
/* The process's own figures under the names every Prometheus client library uses
 * (process_cpu_seconds_total, process_resident_memory_bytes, ...), plus the build's
 * tailguard_build_info, as one collector (collect.h); and the memory reading the admin
 * API's views share. Read from /proc/self and getrusage at each visit. */
#ifndef TG_METRICS_PROCESS_H
#define TG_METRICS_PROCESS_H

#include <stdint.h>

#include "metrics/collect.h"

/* Resident and virtual size in bytes, from /proc/self/statm; both 0 if it cannot be read. */
void tg_process_memory(int64_t *rss_bytes, int64_t *vsize_bytes);

/* What the collector needs: when the process started (wall clock, microseconds). */
struct tg_process_info {
    int64_t start_wall_us;
};

/* The collector (tg_mcollect_fn); `data` is a struct tg_process_info. Its families are
 * few and always present: it describes them in one go. */
int tg_process_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

#endif
