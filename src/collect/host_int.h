/* SPDX-License-Identifier: MIT */
/* Inside the host collector (host.c and its host_*.c sources, one per kind of /proc
 * file): the target's state, the line and field scanner every parser uses, the parsers
 * themselves and the statfs worker of the filesystem families.
 *
 * Every parser takes a whole file's text (`p`, `n` bytes, not NUL-terminated), adds its
 * families to a snapshot and returns how many lines it had to skip (malformed, a
 * garbage number, a duplicate name), or -ENOMEM when the snapshot ran out of memory.
 * What parses is kept: one bad line costs that line, not the file. The callers turn a
 * skipped line or a missing file into node_scrape_collector_success{collector} 0.
 * Parsers never read past `n` and never allocate beyond the snapshot, so they are
 * fuzzed directly (tests/fuzz/fuzz_host_proc.c). */
#ifndef TG_COLLECT_HOST_INT_H
#define TG_COLLECT_HOST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/vfs.h>

struct tg_csnap;
struct tg_ctarget;

/* ---- scanning ------------------------------------------------------------------- */

struct tg_chost__field {
    const char *p;
    size_t n;
};

/* The next line of [*p, end) (without its newline) in `line`; false at the end. */
bool tg_chost__line(const char **p, const char *end, struct tg_chost__field *line);

/* Splits `line` on blanks into at most `max` fields; returns how many there are in all
 * (possibly more than `max`, of which only the first `max` are filled). */
size_t tg_chost__fields(struct tg_chost__field line, struct tg_chost__field *f, size_t max);

/* A decimal integer made of digits only; false on anything else or on overflow. */
bool tg_chost__u64(struct tg_chost__field f, uint64_t *out);

/* A finite decimal number ("2.21", "0.00"); false on anything else. */
bool tg_chost__num(struct tg_chost__field f, double *out);

/* Copies `f` into buf[0..cap) as a C string; false when it does not fit or is empty. */
bool tg_chost__str(struct tg_chost__field f, char *buf, size_t cap);

/* Names seen in one file, to keep the first of duplicates (the kernel never repeats a
 * name; a damaged or hostile file might). A 64-bit hash per name: a collision would
 * hide a name, with odds far below anything else that can go wrong here. */
#define TG_CHOST_SEEN_MAX 1024
struct tg_chost__seen {
    uint64_t h[TG_CHOST_SEEN_MAX];
    size_t n;
};

/* True the first time `a` (+ `b`, may be NULL) is offered since the last reset; false
 * for a repeat and once the set is full (the rest of the file is then skipped). */
bool tg_chost__first(struct tg_chost__seen *seen, const char *a, const char *b);

/* ---- parsers ----------------------------------------------------------------------- */

/* What the cpu parser remembers between collections: the highest value seen of each
 * counter, so that a counter the kernel moves backwards (iowait, and idle on tickless
 * kernels) never looks like a counter reset to rate(). */
#define TG_CHOST_CPU_MODES 10
struct tg_chost__cpu {
    uint64_t (*ticks)[TG_CHOST_CPU_MODES]; /* [cpu][mode], by cpu number */
    size_t ncpu;
};
void tg_chost__cpu_deinit(struct tg_chost__cpu *c);

/* /proc/stat: node_cpu_seconds_total, node_cpu_guest_seconds_total (`clamp` may be
 * NULL, `tck` is sysconf(_SC_CLK_TCK)); and the "stat" collector's families
 * (node_boot_time_seconds, node_context_switches_total, node_forks_total,
 * node_intr_total, node_procs_running, node_procs_blocked), whose skipped lines are
 * counted apart in `*stat_bad`. */
int tg_chost__parse_stat(const char *p, size_t n, struct tg_csnap *s, struct tg_chost__cpu *clamp,
                         double tck, struct tg_chost__seen *seen, int *stat_bad);
/* /proc/meminfo: node_memory_<Key>[_bytes]. */
int tg_chost__parse_meminfo(const char *p, size_t n, struct tg_csnap *s,
                            struct tg_chost__seen *seen);
/* /proc/vmstat: node_vmstat_<key> for node_exporter's default fields. */
int tg_chost__parse_vmstat(const char *p, size_t n, struct tg_csnap *s,
                           struct tg_chost__seen *seen);
/* /proc/loadavg: node_load1, node_load5, node_load15. */
int tg_chost__parse_loadavg(const char *p, size_t n, struct tg_csnap *s);
/* /proc/sys/fs/file-nr: node_filefd_allocated, node_filefd_maximum. */
int tg_chost__parse_filefd(const char *p, size_t n, struct tg_csnap *s);
/* /proc/pressure/<resource> ("cpu", "io", "memory"): node_pressure_*_seconds_total. */
int tg_chost__parse_pressure(const char *resource, const char *p, size_t n, struct tg_csnap *s);
/* /proc/diskstats: node_disk_* per device, node_exporter's default device filter. */
int tg_chost__parse_diskstats(const char *p, size_t n, struct tg_csnap *s,
                              struct tg_chost__seen *seen);
/* /proc/net/dev: node_network_*_total per device, the Debian default filter (no "lo"). */
int tg_chost__parse_netdev(const char *p, size_t n, struct tg_csnap *s,
                           struct tg_chost__seen *seen);

/* node_time_seconds (the wall clock) and node_uname_info (uname(2)): 0 or -errno. */
int tg_chost__time(struct tg_csnap *s);
int tg_chost__uname(struct tg_csnap *s);

/* Device filters (node_exporter's default expressions, matched by hand). */
bool tg_chost__disk_ignored(const char *dev);
bool tg_chost__netdev_ignored(const char *dev);
bool tg_chost__mountpoint_ignored(const char *mp);
bool tg_chost__fstype_ignored(const char *type);

/* ---- filesystems -------------------------------------------------------------------- */

#define TG_CHOST_FS_STR 256
struct tg_chost__mount {
    char device[TG_CHOST_FS_STR], mountpoint[TG_CHOST_FS_STR], fstype[64];
    bool ro;
    int err;                                       /* 0, or -errno of statfs; device_error 1 */
    uint64_t size, free, avail, files, files_free; /* bytes, bytes, bytes, inodes, inodes */
};

/* A mounts file (/proc/1/mounts) into out[0..max): the mounts node_exporter's default
 * excludes keep, once per (device, mount point, type), mount points relative to
 * `rootfs` ("/" for none). Returns how many, and the skipped lines in `*bad`. */
size_t tg_chost__parse_mounts(const char *p, size_t n, const char *rootfs,
                              struct tg_chost__mount *out, size_t max, int *bad);

typedef int tg_chost_statfs_fn(const char *path, struct statfs *st);

struct tg_chost__fs;

/* The statfs worker: a thread that reads the mounts and calls statfs for each, so a
 * mount that hangs (a dead NFS server) never blocks the control thread. -errno. */
int tg_chost__fs_new(struct tg_chost__fs **out, const char *procfs, const char *rootfs,
                     tg_chost_statfs_fn *fn, int64_t timeout_us);
/* Stops it; a thread stuck in statfs is left behind and frees the shared state when
 * its call returns. Accepts NULL. */
void tg_chost__fs_free(struct tg_chost__fs *fs);
/* Adds the latest results to `s` (node_filesystem_*) and asks for a fresh pass.
 * `now_us` is CLOCK_MONOTONIC. Returns the skipped lines of the last pass, or -errno
 * when it could not read the mounts (or a hang could not be worked around). */
int tg_chost__fs_collect(struct tg_chost__fs *fs, struct tg_csnap *s, int64_t now_us);
/* Whether a first pass has completed (for tests). */
bool tg_chost__fs_ready(struct tg_chost__fs *fs);

/* Tests: the statfs to call and the hang timeout of the target `t` made by
 * tg_chost_make (restarts its worker). -errno. */
int tg_chost__set_statfs(struct tg_ctarget *t, tg_chost_statfs_fn *fn, int64_t timeout_us);
/* Tests: the worker of the target `t`. */
struct tg_chost__fs *tg_chost__fs_of(struct tg_ctarget *t);

#endif
