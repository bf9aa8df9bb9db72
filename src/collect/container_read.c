/* SPDX-License-Identifier: MIT */
/* Reading one cgroup v2 directory into cAdvisor's families (container.h). Each file is
 * small (a few hundred bytes; memory.stat about 1.5 KiB) and read whole into a stack
 * buffer; cgroup.procs, which lists every process of the cgroup, is only counted.
 *
 * The sources, as cAdvisor's cgroup v2 handler takes them: cpu.stat (usage, user, system
 * and the CFS counters), cpu.max (quota and period), memory.current, memory.stat (anon is
 * rss, file is cache, inactive_file is taken out of usage for the working set),
 * memory.max ("max" is 0, as cAdvisor prints an unlimited cgroup), memory.events ("max"
 * is the fail count, "oom_kill" the OOM events), pids.current and pids.max (tasks, so
 * threads), cgroup.procs (processes) and the PSI files. */
#include "collect/container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "collect/snap.h"

#define FILE_MAX 8192 /* memory.stat is the largest file read whole, ~1.5 KiB today */

struct rd {
    char dir[512];
    const char *name, *id;
    struct tg_csnap *out;
    struct tg_errbuf *eb;
};

/* Reads dir/file into buf (NUL-terminated). Bytes read, or -errno (-ENOENT: absent). */
static ssize_t slurp(const struct rd *r, const char *file, char *buf, size_t cap)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", r->dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* A decimal unsigned integer filling [s, e), nothing else. */
static bool parse_u64(const char *s, const char *e, uint64_t *v)
{
    if (s == e)
        return false;
    uint64_t x = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return true;
}

static int bad(const struct rd *r, const char *file, const char *what)
{
    return tg_errbuf_set(r->eb, TG_EPARSE, "cgroup %s: %s: bad value \"%.40s\"", r->id, file, what);
}

/* The value of `key` in a flat-keyed file ("key value" lines). 1 found, 0 absent, or
 * TG_EPARSE (reported) when its value is not a number. */
static int keyed(const struct rd *r, const char *file, const char *buf, const char *key,
                 uint64_t *v)
{
    size_t kl = strlen(key);
    for (const char *l = buf; *l;) {
        const char *nl = strchr(l, '\n');
        const char *end = nl ? nl : l + strlen(l);
        if ((size_t)(end - l) > kl && memcmp(l, key, kl) == 0 && l[kl] == ' ') {
            if (!parse_u64(l + kl + 1, end, v))
                return bad(r, file, l);
            return 1;
        }
        l = nl ? nl + 1 : end;
    }
    return 0;
}

/* A one-value file: a number, or "max" (then `*is_max`). 1, 0 absent, or an error. */
static int single(const struct rd *r, const char *file, uint64_t *v, bool *is_max)
{
    char buf[128];
    ssize_t n = slurp(r, file, buf, sizeof buf);
    if (n == -ENOENT)
        return 0;
    if (n < 0)
        return tg_errbuf_set(r->eb, (int)n, "cgroup %s: %s: %s", r->id, file, tg_strerror((int)n));
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    *is_max = strcmp(buf, "max") == 0;
    if (*is_max) {
        *v = 0;
        return 1;
    }
    return parse_u64(buf, buf + n, v) ? 1 : bad(r, file, buf);
}

static void emit(const struct rd *r, const char *fam, enum tg_metric_type type, const char *help,
                 double v)
{
    tg_csnap_family(r->out, fam, type, help, NULL);
    tg_csnap_addl(r->out, v, "container", r->name, "id", r->id, NULL);
}

/* Reads a flat-keyed file whole. 1 read, 0 absent, or an error (reported). */
static int read_keyed_file(const struct rd *r, const char *file, char *buf, size_t cap)
{
    ssize_t n = slurp(r, file, buf, cap);
    if (n == -ENOENT)
        return 0;
    if (n < 0)
        return tg_errbuf_set(r->eb, (int)n, "cgroup %s: %s: %s", r->id, file, tg_strerror((int)n));
    return 1;
}

struct keyed_fam {
    const char *key, *fam, *help;
    enum tg_metric_type type;
    double scale;
};

/* Emits each of `fams` whose key is in the file. */
static int emit_keyed(const struct rd *r, const char *file, const char *buf,
                      const struct keyed_fam *fams, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        int rc = keyed(r, file, buf, fams[i].key, &v);
        if (rc < 0)
            return rc;
        if (rc == 1)
            emit(r, fams[i].fam, fams[i].type, fams[i].help, (double)v * fams[i].scale);
    }
    return 0;
}

static int read_cpu(const struct rd *r)
{
    char buf[FILE_MAX];
    int rc = read_keyed_file(r, "cpu.stat", buf, sizeof buf);
    if (rc == 0)
        return tg_errbuf_set(r->eb, -ENOENT, "cgroup %s: no cpu.stat: not a cgroup v2 directory",
                             r->id);
    if (rc < 0)
        return rc;
    /* cgroup v2 has no per-CPU usage, so there is one series, cpu="total", as cAdvisor
     * prints it when it has no per-CPU figures. */
    uint64_t usage;
    if ((rc = keyed(r, "cpu.stat", buf, "usage_usec", &usage)) < 0)
        return rc;
    if (rc == 1) {
        tg_csnap_family(r->out, "container_cpu_usage_seconds_total", TG_METRIC_COUNTER,
                        "Cumulative cpu time consumed in seconds.", "seconds");
        tg_csnap_addl(r->out, (double)usage / 1e6, "container", r->name, "cpu", "total", "id",
                      r->id, NULL);
    }
    static const struct keyed_fam fams[] = {
        {"user_usec", "container_cpu_user_seconds_total",
         "Cumulative user cpu time consumed in seconds.", TG_METRIC_COUNTER, 1e-6},
        {"system_usec", "container_cpu_system_seconds_total",
         "Cumulative system cpu time consumed in seconds.", TG_METRIC_COUNTER, 1e-6},
        {"nr_periods", "container_cpu_cfs_periods_total",
         "Number of elapsed enforcement period intervals.", TG_METRIC_COUNTER, 1},
        {"nr_throttled", "container_cpu_cfs_throttled_periods_total",
         "Number of throttled period intervals.", TG_METRIC_COUNTER, 1},
        {"throttled_usec", "container_cpu_cfs_throttled_seconds_total",
         "Total time duration the container has been throttled.", TG_METRIC_COUNTER, 1e-6},
    };
    return emit_keyed(r, "cpu.stat", buf, fams, sizeof fams / sizeof fams[0]);
}

/* cpu.max is "QUOTA PERIOD" in microseconds, QUOTA "max" when unlimited: cAdvisor then
 * prints the period alone. */
static int read_cpu_max(const struct rd *r)
{
    char buf[128];
    ssize_t n = slurp(r, "cpu.max", buf, sizeof buf);
    if (n == -ENOENT)
        return 0;
    if (n < 0)
        return tg_errbuf_set(r->eb, (int)n, "cgroup %s: cpu.max: %s", r->id, tg_strerror((int)n));
    char *sp = strchr(buf, ' ');
    char *end = buf + strcspn(buf, "\n");
    uint64_t quota = 0, period;
    if (!sp || sp > end || !parse_u64(sp + 1, end, &period) ||
        (strncmp(buf, "max ", 4) != 0 && !parse_u64(buf, sp, &quota)))
        return bad(r, "cpu.max", buf);
    emit(r, "container_spec_cpu_period", TG_METRIC_GAUGE, "CPU period of the container.",
         (double)period);
    if (quota != 0)
        emit(r, "container_spec_cpu_quota", TG_METRIC_GAUGE, "CPU quota of the container.",
             (double)quota);
    return 0;
}

static int read_memory(const struct rd *r)
{
    uint64_t usage = 0, v;
    bool is_max, have_usage;
    int rc = single(r, "memory.current", &usage, &is_max);
    if (rc < 0)
        return rc;
    if ((have_usage = rc == 1 && !is_max))
        emit(r, "container_memory_usage_bytes", TG_METRIC_GAUGE,
             "Current memory usage in bytes, including all memory regardless of when it was "
             "accessed",
             (double)usage);
    char buf[FILE_MAX];
    if ((rc = read_keyed_file(r, "memory.stat", buf, sizeof buf)) < 0)
        return rc;
    if (rc == 1) {
        static const struct keyed_fam fams[] = {
            {"anon", "container_memory_rss", "Size of RSS in bytes.", TG_METRIC_GAUGE, 1},
            {"file", "container_memory_cache", "Number of bytes of page cache memory.",
             TG_METRIC_GAUGE, 1},
            {"file_mapped", "container_memory_mapped_file", "Size of memory mapped files in bytes.",
             TG_METRIC_GAUGE, 1},
        };
        if ((rc = emit_keyed(r, "memory.stat", buf, fams, sizeof fams / sizeof fams[0])) < 0)
            return rc;
        /* The working set is what the kernel cannot reclaim easily: usage less the
         * inactive page cache (never below zero), cAdvisor's definition. */
        if ((rc = keyed(r, "memory.stat", buf, "inactive_file", &v)) < 0)
            return rc;
        if (rc == 1 && have_usage)
            emit(r, "container_memory_working_set_bytes", TG_METRIC_GAUGE,
                 "Current working set in bytes.", v < usage ? (double)(usage - v) : 0);
    }
    if ((rc = single(r, "memory.peak", &v, &is_max)) < 0)
        return rc;
    if (rc == 1)
        emit(r, "container_memory_max_usage_bytes", TG_METRIC_GAUGE,
             "Maximum memory usage recorded in bytes", (double)v);
    if ((rc = single(r, "memory.swap.current", &v, &is_max)) < 0)
        return rc;
    if (rc == 1)
        emit(r, "container_memory_swap", TG_METRIC_GAUGE, "Container swap usage in bytes.",
             (double)v);
    /* "max" (no limit) is 0, as cAdvisor prints it; a ratio over it is then +Inf or NaN
     * in PromQL, which is the query's business, not a reason to leave the series out. */
    if ((rc = single(r, "memory.max", &v, &is_max)) < 0)
        return rc;
    if (rc == 1)
        emit(r, "container_spec_memory_limit_bytes", TG_METRIC_GAUGE,
             "Memory limit for the container.", (double)v);
    if ((rc = read_keyed_file(r, "memory.events", buf, sizeof buf)) <= 0)
        return rc;
    static const struct keyed_fam events[] = {
        {"max", "container_memory_failcnt", "Number of memory usage hits limits", TG_METRIC_COUNTER,
         1},
        {"oom_kill", "container_oom_events_total",
         "Count of out of memory events observed for the container", TG_METRIC_COUNTER, 1},
    };
    return emit_keyed(r, "memory.events", buf, events, sizeof events / sizeof events[0]);
}

/* Lines of cgroup.procs (one per process), counted while reading in blocks: a root
 * cgroup lists every process of the host. -ENOENT when absent. */
static int64_t count_procs(const struct rd *r)
{
    char path[600], buf[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", r->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    int64_t lines = 0;
    for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k == -1 ? errno : 0;
            close(fd);
            return e ? -e : lines;
        }
        for (ssize_t i = 0; i < k; i++)
            lines += buf[i] == '\n';
    }
}

static int read_pids(const struct rd *r)
{
    uint64_t v;
    bool is_max;
    int64_t procs = count_procs(r);
    if (procs >= 0)
        emit(r, "container_processes", TG_METRIC_GAUGE,
             "Number of processes running inside "
             "the container.",
             (double)procs);
    else if (procs != -ENOENT)
        return tg_errbuf_set(r->eb, (int)procs, "cgroup %s: cgroup.procs: %s", r->id,
                             tg_strerror((int)procs));
    int rc = single(r, "pids.current", &v, &is_max);
    if (rc < 0)
        return rc;
    if (rc == 1)
        emit(r, "container_threads", TG_METRIC_GAUGE,
             "Number of threads running inside the container", (double)v);
    if ((rc = single(r, "pids.max", &v, &is_max)) < 0)
        return rc;
    if (rc == 1)
        emit(r, "container_threads_max", TG_METRIC_GAUGE,
             "Maximum number of threads allowed inside the container, infinity if value is "
             "zero",
             (double)v);
    return 0;
}

/* A PSI file: "some avg10=.. avg60=.. avg300=.. total=USEC" and the same for "full".
 * cAdvisor's names: "some" is waiting, "full" is stalled. */
static int read_pressure(const struct rd *r, const char *res)
{
    char file[32], buf[512], fam[96];
    snprintf(file, sizeof file, "%s.pressure", res);
    ssize_t n = slurp(r, file, buf, sizeof buf);
    if (n == -ENOENT || n == -EOPNOTSUPP)
        return 0;
    if (n < 0)
        return tg_errbuf_set(r->eb, (int)n, "cgroup %s: %s: %s", r->id, file, tg_strerror((int)n));
    static const char *const kinds[2][2] = {{"some ", "waiting"}, {"full ", "stalled"}};
    for (int k = 0; k < 2; k++) {
        const char *l = strstr(buf, kinds[k][0]);
        if (!l || (l != buf && l[-1] != '\n'))
            continue;
        const char *t = strstr(l, "total=");
        const char *end = l + strcspn(l, "\n");
        uint64_t usec;
        if (!t || t > end || !parse_u64(t + 6, end, &usec))
            return bad(r, file, l);
        snprintf(fam, sizeof fam, "container_pressure_%s_%s_seconds_total", res, kinds[k][1]);
        char help[128];
        snprintf(help, sizeof help, "Total time duration that %s tasks %s on %s resources.",
                 k ? "all" : "some", k ? "were stalled" : "waited", res);
        tg_csnap_family(r->out, fam, TG_METRIC_COUNTER, help, "seconds");
        tg_csnap_addl(r->out, (double)usec / 1e6, "container", r->name, "id", r->id, NULL);
    }
    return 0;
}

int tg_ccontainer_read(const char *root, const char *id, const char *name, int64_t wall_ms,
                       struct tg_csnap *out, struct tg_errbuf *eb)
{
    struct rd r = {.name = name, .id = id, .out = out, .eb = eb};
    if ((size_t)snprintf(r.dir, sizeof r.dir, "%s%s", root, strcmp(id, "/") ? id : "") >=
        sizeof r.dir)
        return tg_errbuf_set(eb, -ENAMETOOLONG, "cgroup %s: path too long", id);
    if (access(r.dir, F_OK) == -1) {
        int e = -errno;
        return tg_errbuf_set(eb, e, "cgroup %s: %s", id, tg_strerror(e));
    }
    int rc;
    if ((rc = read_cpu(&r)) < 0 || (rc = read_cpu_max(&r)) < 0 || (rc = read_memory(&r)) < 0 ||
        (rc = read_pids(&r)) < 0 || (rc = read_pressure(&r, "cpu")) < 0 ||
        (rc = read_pressure(&r, "memory")) < 0 || (rc = read_pressure(&r, "io")) < 0)
        return rc;
    emit(&r, "container_last_seen", TG_METRIC_GAUGE,
         "Last time a container was seen by the "
         "exporter",
         (double)wall_ms / 1000.0);
    return tg_csnap_oom(out) ? tg_errbuf_set(eb, -ENOMEM, "out of memory") : 0;
}
