/* SPDX-License-Identifier: MIT */
/* The container target (container.h): finds the cgroup at each collection, then reads it
 * (container_read.c). Everything finishes inside start(), so cancel() has nothing to
 * stop. A process that cannot be found, or a cgroup that is gone, fails the collection
 * with the reason (the set shows `up` 0 and the reason in /health/detailed); a failed
 * collection shows no container_* series, as a cAdvisor that lost a container does. */
#include "collect/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "core/clock.h"

struct ccontainer {
    struct tg_cfg_container cfg;
    char root[256]; /* the cgroup v2 root */
};

void tg_ccontainer_v2_root(const char *root, char *out, size_t cap)
{
    char probe[300];
    snprintf(probe, sizeof probe, "%s/cgroup.controllers", root);
    if (access(probe, F_OK) == 0) {
        snprintf(out, cap, "%s", root);
        return;
    }
    snprintf(probe, sizeof probe, "%s/unified/cgroup.controllers", root);
    if (access(probe, F_OK) == 0)
        snprintf(out, cap, "%s/unified", root);
    else
        snprintf(out, cap, "%s", root);
}

/* Reads a small /proc file into buf. Bytes, or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    ssize_t n;
    do
        n = read(fd, buf, cap - 1);
    while (n == -1 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n == -1)
        return -e;
    buf[n] = '\0';
    return n;
}

/* The "0::PATH" line of /proc/<pid>/cgroup (the v2 hierarchy). */
static int cgroup_of(const char *proc, long pid, char *path, size_t cap, struct tg_errbuf *eb)
{
    char file[300], buf[4096];
    snprintf(file, sizeof file, "%s/%ld/cgroup", proc, pid);
    ssize_t n = read_small(file, buf, sizeof buf);
    if (n == -ENOENT || n == -ESRCH)
        return tg_errbuf_set(eb, TG_ENOTFOUND, "process %ld not found", pid);
    if (n < 0)
        return tg_errbuf_set(eb, (int)n, "process %ld: cgroup: %s", pid, tg_strerror((int)n));
    for (char *l = buf; *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(l, "0::", 3) == 0 && l[3] == '/') {
            if (strlen(l + 3) >= cap)
                return tg_errbuf_set(eb, -ENAMETOOLONG, "process %ld: cgroup path too long", pid);
            snprintf(path, cap, "%s", l + 3);
            return 0;
        }
        l = nl ? nl + 1 : l + strlen(l);
    }
    return tg_errbuf_set(eb, TG_ENOTFOUND, "process %ld: no cgroup v2 entry", pid);
}

/* The lowest pid whose comm is `name`, or 0. /proc lists pids in increasing order; a
 * process that exits during the scan is simply not found. O(processes) reads of small
 * files, a millisecond or two on a host with a thousand processes. */
static long find_process(const char *proc, const char *name)
{
    DIR *d = opendir(proc);
    if (!d)
        return 0;
    long found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || (found && pid > found))
            continue;
        char file[300], comm[64];
        snprintf(file, sizeof file, "%s/%ld/comm", proc, pid);
        ssize_t n = read_small(file, comm, sizeof comm);
        if (n <= 0)
            continue;
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, name) == 0)
            found = pid;
    }
    closedir(d);
    return found;
}

int tg_ccontainer_resolve(const char *proc, const struct tg_cfg_container *c, char *path,
                          size_t cap, struct tg_errbuf *eb)
{
    if (c->cgroup[0]) {
        snprintf(path, cap, "%s%s", c->cgroup[0] == '/' ? "" : "/", c->cgroup);
        return 0;
    }
    long pid = c->pid;
    if (c->process[0] && (pid = find_process(proc, c->process)) == 0)
        return tg_errbuf_set(eb, TG_ENOTFOUND, "no process named \"%s\"", c->process);
    if (pid <= 0)
        return tg_errbuf_set(eb, TG_ECONFIG, "no cgroup, pid or process configured");
    return cgroup_of(proc, pid, path, cap, eb);
}

static void start(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg)
{
    struct ccontainer *t = impl;
    struct tg_errbuf eb = {0};
    char id[256];
    int rc = tg_ccontainer_resolve("/proc", &t->cfg, id, sizeof id, &eb);
    if (rc == 0)
        rc = tg_ccontainer_read(t->root, id, t->cfg.name, tg_clock_wall_us() / 1000, out, &eb);
    if (rc < 0)
        tg_csnap_reset(out); /* a failed collection shows nothing, not half the families */
    done(arg, rc, rc < 0 ? eb.msg : NULL);
}

/* Never called: start() always finishes before it returns. */
static void cancel(void *impl, struct tg_csnap *out)
{
    (void)impl;
    (void)out;
}

static void free_target(void *impl)
{
    free(impl);
}

static const struct tg_ctarget_ops ops = {start, cancel, free_target};

int tg_ccontainer_make(struct tg_loop *loop, const void *cfg, const void *extra,
                       struct tg_ctarget *out, struct tg_errbuf *eb)
{
    (void)loop;
    const struct tg_cfg_containers *all = extra;
    struct ccontainer *t = calloc(1, sizeof *t);
    if (!t)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    t->cfg = *(const struct tg_cfg_container *)cfg;
    tg_ccontainer_v2_root(all && all->cgroup_root[0] ? all->cgroup_root : TG_CCONTAINER_ROOT,
                          t->root, sizeof t->root);
    *out = (struct tg_ctarget){&ops, t};
    return 0;
}
