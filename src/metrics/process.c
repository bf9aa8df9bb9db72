/* SPDX-License-Identifier: MIT */
/* The process collector; see process.h. */
#include "metrics/process.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/err.h"

void tg_process_memory(int64_t *rss_bytes, int64_t *vsize_bytes)
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

static long open_fds(void)
{
    long fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        fds += e->d_name[0] != '.';
    closedir(d);
    return fds - 1; /* the directory stream's own descriptor */
}

static void one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                const char *unit, const char *help, double x)
{
    static const struct tg_mlabels none = {NULL, NULL, 0};
    v->family(v->ctx, &(struct tg_mfamily){name, help, unit, type});
    v->value(v->ctx, &none, x);
}

int tg_process_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    const struct tg_process_info *p = data;
    (void)cur;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    one(v, "process_cpu_seconds_total", TG_METRIC_COUNTER, "seconds",
        "Total user and system CPU time spent in seconds.",
        (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
            ru.ru_stime.tv_usec / 1e6);
    int64_t rss, vsize;
    tg_process_memory(&rss, &vsize);
    one(v, "process_resident_memory_bytes", TG_METRIC_GAUGE, "bytes",
        "Resident memory size in bytes.", (double)rss);
    one(v, "process_virtual_memory_bytes", TG_METRIC_GAUGE, "bytes",
        "Virtual memory size in bytes.", (double)vsize);
    one(v, "process_open_fds", TG_METRIC_GAUGE, NULL, "Number of open file descriptors.",
        (double)open_fds());
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0)
        one(v, "process_max_fds", TG_METRIC_GAUGE, NULL, "Maximum number of open file descriptors.",
            (double)nofile.rlim_cur);
    one(v, "process_start_time_seconds", TG_METRIC_GAUGE, "seconds",
        "Start time of the process since unix epoch in seconds.",
        (double)(p->start_wall_us / 1000) / 1e3);
    static const char *const ver_name[] = {"version"};
    static const char *const ver[] = {TG_VERSION};
    v->family(v->ctx, &(struct tg_mfamily){"tailguard_build_info", "Build information (always 1).",
                                           NULL, TG_METRIC_GAUGE});
    v->value(v->ctx, &(struct tg_mlabels){ver_name, ver, 1}, 1);
    return TG_DONE;
}
