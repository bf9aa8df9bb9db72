/* SPDX-License-Identifier: MIT */
/* Which mounts the host collector's filesystem families show, and how they look
 * (host_int.h). The mounts come from /proc/1/mounts (the host's view when the gateway
 * runs in a container with the host's /proc; /proc/mounts when that cannot be read),
 * filtered by Debian's node_exporter defaults: mount points under /dev, /proc, /run,
 * /sys, /mnt, /media, /var/lib/docker/... and /var/lib/containers/storage/..., and
 * pseudo file system types (cgroup, proc, overlay, squashfs, ...). The statfs calls
 * themselves run on the worker thread (host_fs_worker.c). */
#include "collect/host_int.h"

#include <errno.h>
#include <string.h>

#include "collect/snap.h"

static bool under(const char *mp, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(mp, dir, n) == 0 && (mp[n] == '\0' || mp[n] == '/');
}

/* ^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/) */
bool tg_chost__mountpoint_ignored(const char *mp)
{
    static const char *const dirs[] = {"/dev", "/proc", "/run", "/sys", "/mnt", "/media"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (under(mp, dirs[i]))
            return true;
    return (strncmp(mp, "/var/lib/docker/", 16) == 0 && mp[16]) ||
           (strncmp(mp, "/var/lib/containers/storage/", 28) == 0 && mp[28]);
}

bool tg_chost__fstype_ignored(const char *type)
{
    static const char *const types[] = {
        "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
        "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
        "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
        "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs",
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

/* The kernel writes a space, tab, newline or backslash in a mount point as \ooo. */
static void unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            char c = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            if (c) {
                *w++ = c;
                r += 4;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* The mount point as node_exporter labels it under --path.rootfs: `rootfs` taken off
 * the front ("/" when nothing is left). */
static void strip_root(char *mp, const char *rootfs)
{
    size_t n = strlen(rootfs);
    while (n > 1 && rootfs[n - 1] == '/')
        n--;
    if (n <= 1 && rootfs[0] == '/')
        return;
    if (strncmp(mp, rootfs, n) != 0)
        return;
    if (!mp[n]) {
        strcpy(mp, "/");
        return;
    }
    memmove(mp, mp + n, strlen(mp + n) + 1);
}

static bool ro_option(struct tg_chost__field opts)
{
    for (size_t i = 0; i < opts.n;) {
        size_t j = i;
        while (j < opts.n && opts.p[j] != ',')
            j++;
        if (j - i == 2 && opts.p[i] == 'r' && opts.p[i + 1] == 'o')
            return true;
        i = j + 1;
    }
    return false;
}

size_t tg_chost__parse_mounts(const char *p, size_t n, const char *rootfs,
                              struct tg_chost__mount *out, size_t max, int *bad)
{
    const char *end = p + n;
    struct tg_chost__field line, f[4];
    size_t k = 0;
    *bad = 0;
    while (tg_chost__line(&p, end, &line)) {
        size_t nf = tg_chost__fields(line, f, 4);
        if (nf == 0)
            continue;
        struct tg_chost__mount m = {0};
        if (nf < 4 || !tg_chost__str(f[0], m.device, sizeof m.device) ||
            !tg_chost__str(f[1], m.mountpoint, sizeof m.mountpoint) ||
            !tg_chost__str(f[2], m.fstype, sizeof m.fstype)) {
            (*bad)++;
            continue;
        }
        unescape(m.mountpoint);
        strip_root(m.mountpoint, rootfs);
        if (tg_chost__mountpoint_ignored(m.mountpoint) || tg_chost__fstype_ignored(m.fstype))
            continue;
        m.ro = ro_option(f[3]);
        bool dup = false;
        for (size_t i = 0; i < k && i < max && !dup; i++)
            dup = strcmp(out[i].mountpoint, m.mountpoint) == 0 &&
                  strcmp(out[i].device, m.device) == 0 && strcmp(out[i].fstype, m.fstype) == 0;
        if (dup)
            continue;
        if (k < max)
            out[k] = m;
        k++;
    }
    return k;
}
