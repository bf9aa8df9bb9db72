/* SPDX-License-Identifier: MIT */
/* The host collector target ("node", kinds.h): node_exporter's families read from the
 * procfs and rootfs of struct tg_cfg_host, so tests point it at fixture trees. A
 * collection runs inside start() on the control thread: it reads a dozen small /proc
 * files into one buffer it keeps (no allocation in the steady state beyond the
 * snapshot's own), parses each (host_*.c), and reports every node_exporter collector it
 * imitates in node_scrape_collector_success{collector} and
 * node_scrape_collector_duration_seconds{collector}, as node_exporter does. A file that
 * is missing or has lines that do not parse marks its collector 0 and logs once when
 * that changes; what did parse is still shown. The one source that could block,
 * statfs, runs on a worker thread (host_fs_worker.c). The collection fails as a whole
 * only when nothing at all could be read (a wrong procfs path) or memory ran out. */
#include "collect/kinds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/host_int.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"

#define FS_TIMEOUT_US 5000000 /* node_exporter's --collector.filesystem.mount-timeout */
#define FILE_MAX (16u << 20)  /* /proc/stat of a very large machine stays far below */
#define NSUB 12

struct chost {
    char procfs[256], rootfs[256];
    double tck;
    char *buf;
    size_t cap;
    struct tg_chost__cpu cpu;
    struct tg_chost__seen seen;
    struct tg_chost__fs *fs;
    uint32_t failing; /* bit i: subs[i] failed last time (logged once per change) */
};

/* node_exporter's collector names, the `collector` label. */
enum sub {
    CPU = 0,
    STAT,
    MEMINFO,
    VMSTAT,
    LOADAVG,
    FILEFD,
    DISKSTATS,
    NETDEV,
    PRESSURE,
    FILESYSTEM,
    TIME,
    UNAME
};
static const char *const subs[NSUB] = {"cpu",      "stat",       "meminfo",   "vmstat",
                                       "loadavg",  "filefd",     "diskstats", "netdev",
                                       "pressure", "filesystem", "time",      "uname"};

struct result {
    int rc; /* 0 ok, > 0 lines skipped, < 0 -errno */
    int64_t us;
};

/* <procfs>/<rel> into h->buf; its length, or -errno. */
static ssize_t read_file(struct chost *h, const char *rel)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%s", h->procfs, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    size_t len = 0;
    ssize_t rc = 0;
    for (;;) {
        if (len == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 65536;
            char *b = cap <= FILE_MAX ? realloc(h->buf, cap) : NULL;
            if (!b) {
                rc = cap <= FILE_MAX ? -ENOMEM : -EFBIG;
                break;
            }
            h->buf = b;
            h->cap = cap;
        }
        ssize_t r = read(fd, h->buf + len, h->cap - len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    return rc < 0 ? rc : (ssize_t)len;
}

static void run_stat(struct chost *h, struct tg_csnap *s, struct result *r)
{
    int64_t t0 = tg_clock_mono_us();
    ssize_t n = read_file(h, "stat");
    int stat_bad = 0;
    int rc = n < 0
                 ? (int)n
                 : tg_chost__parse_stat(h->buf, (size_t)n, s, &h->cpu, h->tck, &h->seen, &stat_bad);
    /* One read serves both collectors; each shows its time. */
    int64_t us = tg_clock_mono_us() - t0;
    r[CPU] = (struct result){rc, us};
    r[STAT] = (struct result){rc < 0 ? rc : stat_bad, us};
}

static int parse_one(struct chost *h, struct tg_csnap *s, enum sub k, const char *p, size_t n)
{
    switch (k) {
    case MEMINFO:
        return tg_chost__parse_meminfo(p, n, s, &h->seen);
    case VMSTAT:
        return tg_chost__parse_vmstat(p, n, s, &h->seen);
    case LOADAVG:
        return tg_chost__parse_loadavg(p, n, s);
    case FILEFD:
        return tg_chost__parse_filefd(p, n, s);
    case DISKSTATS:
        return tg_chost__parse_diskstats(p, n, s, &h->seen);
    case NETDEV:
        return tg_chost__parse_netdev(p, n, s, &h->seen);
    default:
        return -EINVAL;
    }
}

static void run_file(struct chost *h, struct tg_csnap *s, enum sub k, const char *rel,
                     struct result *r)
{
    int64_t t0 = tg_clock_mono_us();
    ssize_t n = read_file(h, rel);
    int rc = n < 0 ? (int)n : parse_one(h, s, k, h->buf, (size_t)n);
    r[k] = (struct result){rc, tg_clock_mono_us() - t0};
}

/* Kernels without PSI have no /proc/pressure: node_exporter then reports the collector
 * as not successful, and so does this. */
static void run_pressure(struct chost *h, struct tg_csnap *s, struct result *r)
{
    static const char *const res[3] = {"cpu", "io", "memory"};
    int64_t t0 = tg_clock_mono_us();
    int rc = 0;
    for (int i = 0; i < 3 && rc >= 0; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "pressure/%s", res[i]);
        ssize_t n = read_file(h, rel);
        int one = n < 0 ? (int)n : tg_chost__parse_pressure(res[i], h->buf, (size_t)n, s);
        rc = one < 0 ? one : rc + one;
    }
    r[PRESSURE] = (struct result){rc, tg_clock_mono_us() - t0};
}

static void run_call(struct tg_csnap *s, enum sub k, int (*fn)(struct tg_csnap *), struct result *r)
{
    int64_t t0 = tg_clock_mono_us();
    int rc = fn(s);
    r[k] = (struct result){rc, tg_clock_mono_us() - t0};
}

static void why_of(int rc, char *buf, size_t cap)
{
    if (rc > 0)
        snprintf(buf, cap, "%d lines skipped", rc);
    else
        snprintf(buf, cap, "%s", tg_strerror(rc));
}

/* node_scrape_collector_*, and a log line when a collector starts or stops failing. */
static void report(struct chost *h, struct tg_csnap *s, const struct result *r)
{
    static const char *const lname[1] = {"collector"};
    tg_csnap_family(s, "node_scrape_collector_duration_seconds", TG_METRIC_GAUGE,
                    "node_exporter: Duration of a collector scrape.", NULL);
    for (int i = 0; i < NSUB; i++)
        tg_csnap_add(s, (double)r[i].us / 1e6, 1, lname, &subs[i]);
    tg_csnap_family(s, "node_scrape_collector_success", TG_METRIC_GAUGE,
                    "node_exporter: Whether a collector succeeded.", NULL);
    for (int i = 0; i < NSUB; i++) {
        tg_csnap_add(s, r[i].rc == 0, 1, lname, &subs[i]);
        uint32_t bit = 1u << i;
        bool was = h->failing & bit, is = r[i].rc != 0;
        if (was == is)
            continue;
        h->failing ^= bit;
        char why[96];
        why_of(r[i].rc, why, sizeof why);
        if (is)
            tg_log(TG_LOG_WARN, "collect",
                   "host collector failed collector=%s procfs=%s err=\"%s\"", subs[i], h->procfs,
                   why);
        else
            tg_log(TG_LOG_INFO, "collect", "host collector recovered collector=%s", subs[i]);
    }
}

static void host_start(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg)
{
    struct chost *h = impl;
    struct result r[NSUB];
    run_stat(h, out, r);
    run_file(h, out, MEMINFO, "meminfo", r);
    run_file(h, out, VMSTAT, "vmstat", r);
    run_file(h, out, LOADAVG, "loadavg", r);
    run_file(h, out, FILEFD, "sys/fs/file-nr", r);
    run_file(h, out, DISKSTATS, "diskstats", r);
    run_file(h, out, NETDEV, "net/dev", r);
    run_pressure(h, out, r);
    int64_t t0 = tg_clock_mono_us();
    r[FILESYSTEM] = (struct result){tg_chost__fs_collect(h->fs, out, t0), tg_clock_mono_us() - t0};
    run_call(out, TIME, tg_chost__time, r);
    run_call(out, UNAME, tg_chost__uname, r);
    report(h, out, r);

    /* The files under procfs, not statfs (the worker may not have finished its first
     * pass) nor the system calls. */
    bool none = true;
    for (int i = CPU; i <= PRESSURE; i++)
        none = none && r[i].rc < 0;
    if (tg_csnap_oom(out)) {
        tg_csnap_reset(out);
        done(arg, -ENOMEM, "out of memory");
    } else if (none) {
        /* Not one file could be read: the procfs path is wrong, which a user must see
         * as the target being down rather than as a page of zeros. */
        char why[400];
        snprintf(why, sizeof why, "cannot read %s/stat: %s", h->procfs, tg_strerror(r[CPU].rc));
        tg_csnap_reset(out);
        done(arg, r[CPU].rc < 0 ? r[CPU].rc : -EIO, why);
    } else {
        done(arg, 0, NULL);
    }
}

/* start() always finishes before it returns, so there is never anything to cancel. */
static void host_cancel(void *impl, struct tg_csnap *out)
{
    (void)impl;
    (void)out;
}

static void host_free(void *impl)
{
    struct chost *h = impl;
    if (!h)
        return;
    tg_chost__fs_free(h->fs);
    tg_chost__cpu_deinit(&h->cpu);
    free(h->buf);
    free(h);
}

static const struct tg_ctarget_ops host_ops = {host_start, host_cancel, host_free};

static void path_or(char *dst, size_t cap, const char *v, const char *dflt)
{
    snprintf(dst, cap, "%s", v && v[0] ? v : dflt);
}

int tg_chost_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                  struct tg_errbuf *eb)
{
    (void)loop;
    (void)extra;
    const struct tg_cfg_host *c = cfg;
    struct chost *h = calloc(1, sizeof *h);
    if (!h)
        return tg_errbuf_set(eb, -ENOMEM, "host collector: out of memory");
    path_or(h->procfs, sizeof h->procfs, c ? c->procfs : NULL, "/proc");
    path_or(h->rootfs, sizeof h->rootfs, c ? c->rootfs : NULL, "/");
    long tck = sysconf(_SC_CLK_TCK);
    h->tck = tck > 0 ? (double)tck : 100;
    int rc = tg_chost__fs_new(&h->fs, h->procfs, h->rootfs, NULL, FS_TIMEOUT_US);
    if (rc) {
        host_free(h);
        return tg_errbuf_set(eb, rc, "host collector: cannot start its statfs thread: %s",
                             tg_strerror(rc));
    }
    *out = (struct tg_ctarget){&host_ops, h};
    return 0;
}

int tg_chost__set_statfs(struct tg_ctarget *t, tg_chost_statfs_fn *fn, int64_t timeout_us)
{
    struct chost *h = t->impl;
    struct tg_chost__fs *fs;
    int rc = tg_chost__fs_new(&fs, h->procfs, h->rootfs, fn, timeout_us);
    if (rc)
        return rc;
    tg_chost__fs_free(h->fs);
    h->fs = fs;
    return 0;
}

struct tg_chost__fs *tg_chost__fs_of(struct tg_ctarget *t)
{
    return ((struct chost *)t->impl)->fs;
}
