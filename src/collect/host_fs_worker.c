/* SPDX-License-Identifier: MIT */
/* The statfs worker of the host collector (host_int.h). statfs on a mount whose server
 * is gone (NFS, CIFS, a FUSE daemon that hangs) blocks in the kernel, uninterruptibly
 * and for as long as it likes, so it never runs on the control thread. One thread per
 * target reads the mounts and calls statfs for each, one after the other, and keeps the
 * results of its last whole pass; each collection shows those and asks for a new pass,
 * so the figures are one interval old (they are gauges that move slowly).
 *
 * A hang. When one call has lasted longer than the timeout (5 s, node_exporter's
 * --collector.filesystem.mount-timeout), the collection marks that mount point stuck
 * (it shows node_filesystem_device_error 1 and no sizes), leaves the blocked thread
 * behind and starts a new one, which skips stuck mount points. The blocked thread
 * finishes when its call returns: it clears the mark, so the next pass measures the
 * mount again, and exits. At most STUCK_MAX threads are ever left behind; past that
 * the filesystem collector reports failure until one returns. node_exporter does the
 * same with a goroutine per call.
 *
 * Memory: the shared state is counted (the target and each thread hold a reference)
 * and freed by whoever lets go last, so a target freed while a thread is stuck leaves
 * nothing dangling. */
#include "collect/host_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/snap.h"
#include "core/clock.h"

#define STUCK_MAX 8
#define FIRST_MOUNTS 32
#define MOUNTS_MAX 4096 /* more mounts than this are left out */
#define MOUNTS_FILE_MAX (4u << 20)
#define ABANDONED 1 /* pass(): this thread was replaced */

struct tg_chost__fs {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    bool stop, want;
    uint64_t gen; /* the current thread's; an older one has been left behind */
    pthread_t thread;
    char procfs[256], rootfs[256];
    tg_chost_statfs_fn *fn;
    int64_t timeout_us;
    /* the last whole pass */
    struct tg_chost__mount *res;
    size_t nres, capres;
    int res_rc;
    bool ready;
    /* the call in progress */
    bool busy;
    int64_t busy_since_us;
    char busy_mp[TG_CHOST_FS_STR];
    char stuck[STUCK_MAX][TG_CHOST_FS_STR];
    size_t nstuck;
};

struct pass_buf {
    struct tg_chost__mount *m;
    size_t n, cap;
    char *text;
    size_t tcap;
};

static void destroy(struct tg_chost__fs *fs)
{
    pthread_mutex_destroy(&fs->mu);
    pthread_cond_destroy(&fs->cv);
    free(fs->res);
    free(fs);
}

/* Drops a reference; the lock is held on entry and released. */
static void unref_unlock(struct tg_chost__fs *fs)
{
    bool last = --fs->refs == 0;
    pthread_mutex_unlock(&fs->mu);
    if (last)
        destroy(fs);
}

static bool stuck(const struct tg_chost__fs *fs, const char *mp)
{
    for (size_t i = 0; i < fs->nstuck; i++)
        if (strcmp(fs->stuck[i], mp) == 0)
            return true;
    return false;
}

static void unstick(struct tg_chost__fs *fs, const char *mp)
{
    for (size_t i = 0; i < fs->nstuck; i++)
        if (strcmp(fs->stuck[i], mp) == 0) {
            memcpy(fs->stuck[i], fs->stuck[--fs->nstuck], TG_CHOST_FS_STR);
            return;
        }
}

/* The whole of a small file into b->text; its length, or -errno. */
static ssize_t slurp(const char *path, struct pass_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    size_t len = 0;
    for (;;) {
        if (len + 4096 > b->tcap) {
            size_t cap = b->tcap ? b->tcap * 2 : 16384;
            char *t = cap <= MOUNTS_FILE_MAX ? realloc(b->text, cap) : NULL;
            if (!t) {
                close(fd);
                return -ENOMEM;
            }
            b->text = t;
            b->tcap = cap;
        }
        ssize_t r = read(fd, b->text + len, b->tcap - len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    return (ssize_t)len;
}

/* Reads and filters the mounts into b->m; the skipped lines, or -errno. */
static int read_mounts(struct tg_chost__fs *fs, struct pass_buf *b)
{
    char path[300];
    snprintf(path, sizeof path, "%s/1/mounts", fs->procfs);
    ssize_t len = slurp(path, b);
    if (len < 0) {
        snprintf(path, sizeof path, "%s/mounts", fs->procfs);
        len = slurp(path, b);
    }
    if (len < 0)
        return (int)len;
    int bad;
    for (;;) {
        b->n = tg_chost__parse_mounts(b->text, (size_t)len, fs->rootfs, b->m, b->cap, &bad);
        if (b->n <= b->cap)
            return bad;
        size_t cap = b->n < MOUNTS_MAX ? b->n : MOUNTS_MAX;
        if (cap <= b->cap) {
            b->n = b->cap;
            return bad + 1;
        }
        void *m = realloc(b->m, cap * sizeof *b->m);
        if (!m)
            return -ENOMEM;
        b->m = m;
        b->cap = cap;
    }
}

/* One statfs, with the bookkeeping that lets a collection see it hang. */
static int measure(struct tg_chost__fs *fs, uint64_t gen, struct tg_chost__mount *m)
{
    char path[2 * TG_CHOST_FS_STR + 2];
    size_t rn = strlen(fs->rootfs);
    while (rn > 0 && fs->rootfs[rn - 1] == '/')
        rn--;
    snprintf(path, sizeof path, "%.*s%s", (int)rn, fs->rootfs, m->mountpoint);

    pthread_mutex_lock(&fs->mu);
    if (fs->stop || fs->gen != gen) {
        pthread_mutex_unlock(&fs->mu);
        return ABANDONED;
    }
    if (stuck(fs, m->mountpoint)) {
        pthread_mutex_unlock(&fs->mu);
        m->err = -ETIMEDOUT;
        return 0;
    }
    fs->busy = true;
    fs->busy_since_us = tg_clock_mono_us();
    snprintf(fs->busy_mp, sizeof fs->busy_mp, "%s", m->mountpoint);
    pthread_mutex_unlock(&fs->mu);

    struct statfs st;
    int rc = fs->fn(path, &st) == -1 ? -errno : 0;

    pthread_mutex_lock(&fs->mu);
    if (fs->gen != gen) {
        unstick(fs, m->mountpoint); /* it answered: measure it again next time */
        pthread_mutex_unlock(&fs->mu);
        return ABANDONED;
    }
    fs->busy = false;
    pthread_mutex_unlock(&fs->mu);
    m->err = rc;
    if (rc == 0) {
        double bs = (double)st.f_bsize;
        m->size = (uint64_t)((double)st.f_blocks * bs);
        m->free = (uint64_t)((double)st.f_bfree * bs);
        m->avail = (uint64_t)((double)st.f_bavail * bs);
        m->files = st.f_files;
        m->files_free = st.f_ffree;
    }
    return 0;
}

static void *worker(void *arg)
{
    struct tg_chost__fs *fs = arg;
    struct pass_buf b = {0};
    pthread_mutex_lock(&fs->mu);
    uint64_t gen = fs->gen;
    for (;;) {
        while (!fs->stop && fs->gen == gen && !fs->want)
            pthread_cond_wait(&fs->cv, &fs->mu);
        if (fs->stop || fs->gen != gen)
            break;
        fs->want = false;
        pthread_mutex_unlock(&fs->mu);

        int rc = read_mounts(fs, &b);
        for (size_t i = 0; rc >= 0 && i < b.n; i++)
            if (measure(fs, gen, &b.m[i]) == ABANDONED) {
                pthread_mutex_lock(&fs->mu);
                goto out;
            }
        pthread_mutex_lock(&fs->mu);
        if (fs->gen != gen)
            break;
        /* Publish by swapping arrays, so neither side copies or allocates. */
        struct tg_chost__mount *m = fs->res;
        size_t cap = fs->capres;
        fs->res = b.m;
        fs->capres = b.cap;
        fs->nres = rc >= 0 ? b.n : 0;
        fs->res_rc = rc;
        fs->ready = true;
        b.m = m;
        b.cap = cap;
    }
out:
    free(b.m);
    free(b.text);
    unref_unlock(fs);
    return NULL;
}

/* Starts a thread for the current generation; the lock is held. */
static int spawn(struct tg_chost__fs *fs)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    int rc = pthread_create(&fs->thread, &a, worker, fs);
    pthread_attr_destroy(&a);
    if (rc)
        return -rc;
    fs->refs++;
    return 0;
}

int tg_chost__fs_new(struct tg_chost__fs **out, const char *procfs, const char *rootfs,
                     tg_chost_statfs_fn *fn, int64_t timeout_us)
{
    struct tg_chost__fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return -ENOMEM;
    pthread_mutex_init(&fs->mu, NULL);
    pthread_cond_init(&fs->cv, NULL);
    snprintf(fs->procfs, sizeof fs->procfs, "%s", procfs);
    snprintf(fs->rootfs, sizeof fs->rootfs, "%s", rootfs[0] ? rootfs : "/");
    fs->fn = fn ? fn : statfs;
    fs->timeout_us = timeout_us;
    fs->refs = 1;
    fs->want = true; /* a first pass now, so the first collection has figures */
    pthread_mutex_lock(&fs->mu);
    int rc = spawn(fs);
    pthread_mutex_unlock(&fs->mu);
    if (rc) {
        destroy(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

void tg_chost__fs_free(struct tg_chost__fs *fs)
{
    if (!fs)
        return;
    pthread_mutex_lock(&fs->mu);
    fs->stop = true;
    pthread_cond_broadcast(&fs->cv);
    /* A thread not inside statfs sees `stop` before its next call, so joining it is
     * bounded; one inside may never come back and is left to free the state. */
    bool busy = fs->busy;
    pthread_t t = fs->thread;
    pthread_mutex_unlock(&fs->mu);
    if (busy)
        pthread_detach(t);
    else
        pthread_join(t, NULL);
    pthread_mutex_lock(&fs->mu);
    unref_unlock(fs);
}

/* The current call has hung: mark its mount point and move on with a new thread. */
static int abandon(struct tg_chost__fs *fs)
{
    if (fs->nstuck == STUCK_MAX)
        return -EBUSY;
    memcpy(fs->stuck[fs->nstuck++], fs->busy_mp, TG_CHOST_FS_STR);
    pthread_detach(fs->thread);
    fs->gen++;
    fs->busy = false;
    pthread_cond_broadcast(&fs->cv);
    return spawn(fs);
}

static void emit(struct tg_csnap *s, const struct tg_chost__mount *m, bool err)
{
    const char *const l[3] = {m->device, m->fstype, m->mountpoint};
    static const char *const names[3] = {"device", "fstype", "mountpoint"};
    tg_csnap_family(s, "node_filesystem_device_error", TG_METRIC_GAUGE,
                    "Whether an error occurred while getting statistics for the given device.",
                    NULL);
    tg_csnap_add(s, err, 3, names, l);
    if (err)
        return;
    struct {
        const char *name, *help;
        double v;
    } g[] = {
        {"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.",
         (double)m->avail},
        {"node_filesystem_files", "Filesystem total file nodes.", (double)m->files},
        {"node_filesystem_files_free", "Filesystem total free file nodes.", (double)m->files_free},
        {"node_filesystem_free_bytes", "Filesystem free space in bytes.", (double)m->free},
        {"node_filesystem_readonly", "Filesystem read-only status.", m->ro},
        {"node_filesystem_size_bytes", "Filesystem size in bytes.", (double)m->size},
    };
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
        tg_csnap_family(s, g[i].name, TG_METRIC_GAUGE, g[i].help, NULL);
        tg_csnap_add(s, g[i].v, 3, names, l);
    }
}

int tg_chost__fs_collect(struct tg_chost__fs *fs, struct tg_csnap *s, int64_t now_us)
{
    pthread_mutex_lock(&fs->mu);
    int rc = 0;
    if (fs->busy && now_us - fs->busy_since_us > fs->timeout_us)
        rc = abandon(fs);
    for (size_t i = 0; i < fs->nres; i++)
        emit(s, &fs->res[i], fs->res[i].err != 0 || stuck(fs, fs->res[i].mountpoint));
    if (rc == 0)
        rc = fs->ready ? fs->res_rc : 0;
    fs->want = true;
    pthread_cond_broadcast(&fs->cv);
    pthread_mutex_unlock(&fs->mu);
    return tg_csnap_oom(s) ? -ENOMEM : rc;
}

bool tg_chost__fs_ready(struct tg_chost__fs *fs)
{
    pthread_mutex_lock(&fs->mu);
    bool r = fs->ready;
    pthread_mutex_unlock(&fs->mu);
    return r;
}
