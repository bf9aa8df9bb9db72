/* SPDX-License-Identifier: MIT */
/* Unit tests for src/store/store.c on real files in a temporary directory: durability
 * across close and reopen; every acknowledged change on disk (no unsynced write left
 * behind a commit) and still there after the writer dies mid-write or is killed; each
 * refusal at open (missing directory, a file in the path, a directory as the path, a
 * file that cannot be written, not a database, a damaged page, another program's
 * database, a newer schema) with its message and the file left as it was; a full disk
 * and a lock held by another connection at run time; a reader on a second connection
 * while the writer writes; and the sizes /metrics shows.
 *
 * A pass-through SQLite VFS (the "shim" below) sits under the store as the default VFS.
 * It counts writes and syncs per file, and can fail writes (a full disk), tear the Nth
 * write and exit the process (a crash in the middle of a commit), or open the database
 * read-only the way SQLite does when the file refuses writes, which root cannot
 * otherwise see through chmod. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/override.h"
#include "store_test.h"

static char dir[PATH_MAX];

/* ---- the shim VFS ---- */

struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* the real VFS's file, allocated right after this struct */
    bool dirty;         /* written since its last sync */
};

static struct {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    long writes;      /* xWrite calls */
    long dirty_files; /* open files with writes not yet synced */
    long crash_at;    /* > 0: the crash_at-th write writes half its bytes, then _exit */
    bool fail_writes; /* xWrite fails as on a full disk */
    bool deny_write;  /* database files open read-only, as when the file refuses writes */
} shim;

#define CRASH_EXIT 42

#define REAL(f) (((struct shim_file *)(f))->real)

static int sh_close(sqlite3_file *f)
{
    struct shim_file *p = (struct shim_file *)f;
    if (p->dirty)
        shim.dirty_files--;
    return p->real->pMethods->xClose(p->real);
}

static int sh_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int sh_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    struct shim_file *p = (struct shim_file *)f;
    if (shim.fail_writes)
        return SQLITE_FULL;
    if (++shim.writes == shim.crash_at) {
        p->real->pMethods->xWrite(p->real, buf, n / 2, off);
        _exit(CRASH_EXIT);
    }
    int rc = p->real->pMethods->xWrite(p->real, buf, n, off);
    if (rc == SQLITE_OK && !p->dirty) {
        p->dirty = true;
        shim.dirty_files++;
    }
    return rc;
}

static int sh_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int sh_sync(sqlite3_file *f, int flags)
{
    struct shim_file *p = (struct shim_file *)f;
    int rc = p->real->pMethods->xSync(p->real, flags);
    if (rc == SQLITE_OK && p->dirty) {
        p->dirty = false;
        shim.dirty_files--;
    }
    return rc;
}

static int sh_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int sh_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int sh_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int sh_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int sh_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int sh_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int sh_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int sh_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int sh_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void sh_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int sh_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int sh_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int sh_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_io = {
    .iVersion = 3,
    .xClose = sh_close,
    .xRead = sh_read,
    .xWrite = sh_write,
    .xTruncate = sh_truncate,
    .xSync = sh_sync,
    .xFileSize = sh_file_size,
    .xLock = sh_lock,
    .xUnlock = sh_unlock,
    .xCheckReservedLock = sh_check_reserved,
    .xFileControl = sh_file_control,
    .xSectorSize = sh_sector_size,
    .xDeviceCharacteristics = sh_device,
    .xShmMap = sh_shm_map,
    .xShmLock = sh_shm_lock,
    .xShmBarrier = sh_shm_barrier,
    .xShmUnmap = sh_shm_unmap,
    .xFetch = sh_fetch,
    .xUnfetch = sh_unfetch,
};

static int sh_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    struct shim_file *p = (struct shim_file *)f;
    p->real = (sqlite3_file *)(p + 1);
    p->dirty = false;
    if (shim.deny_write && (flags & SQLITE_OPEN_MAIN_DB) && (flags & SQLITE_OPEN_READWRITE))
        flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
    int rc = shim.real->xOpen(shim.real, name, p->real, flags, out_flags);
    p->base.pMethods = rc == SQLITE_OK ? &shim_io : NULL;
    return rc;
}

static void shim_install(void)
{
    shim.real = sqlite3_vfs_find(NULL);
    shim.vfs = *shim.real;
    shim.vfs.zName = "tg-test-shim";
    shim.vfs.pNext = NULL;
    shim.vfs.szOsFile = (int)sizeof(struct shim_file) + shim.real->szOsFile;
    shim.vfs.xOpen = sh_open;
    if (sqlite3_vfs_register(&shim.vfs, 1) != SQLITE_OK) {
        fprintf(stderr, "cannot register the test VFS\n");
        exit(2);
    }
}

/* ---- helpers ---- */

static struct tg_store *open_ok(const char *path, const struct tg_store_opts *o)
{
    struct tg_store *s = NULL;
    struct tg_errbuf eb = {0};
    int rc = tg_store_open(path, o, &s, &eb);
    if (rc != 0)
        tg_test_fail_s(__FILE__, __LINE__, "open", eb.msg, path);
    tg_test_checks++;
    return s;
}

/* One control change: override `k<i>` = i and its audit row, in one transaction. */
static int change(struct tg_store *s, int i, struct tg_errbuf *eb)
{
    char key[32], val[32];
    snprintf(key, sizeof key, "k%d", i);
    snprintf(val, sizeof val, "%d", i);
    struct tg_store_set set = {.key = key, .value_json = val};
    struct tg_store_audit row = {.ts_us = 1700000000000000 + i,
                                 .actor = "token:test",
                                 .action = "put",
                                 .target = key,
                                 .new_json = val};
    return tg_store_apply(s, &set, 1, &row, NULL, eb);
}

static long long count(const char *path, const char *table)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return tst_sql_int(path, sql);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* Opening `path` must fail with `code` and a message holding the path and `what`. */
static void expect_refused(const char *path, const struct tg_store_opts *o, int code,
                           const char *what, int line)
{
    struct tg_store *s = (struct tg_store *)1;
    struct tg_errbuf eb = {0};
    int rc = tg_store_open(path, o, &s, &eb);
    tg_test_checks += 3;
    if (rc != code)
        tg_test_fail_i(__FILE__, line, "open's code", rc, code);
    if (s != NULL)
        tg_test_fail(__FILE__, line, "*out is NULL after a refusal");
    if (!strstr(eb.msg, path) || !strstr(eb.msg, what))
        tg_test_fail_s(__FILE__, line, "open's message", eb.msg, what);
    if (rc == 0)
        tg_store_close(s);
}

/* ---- durability ---- */

static void test_reopen(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "reopen.db");
    struct tg_store *s = open_ok(path, NULL);
    struct tg_errbuf eb = {0};
    for (int i = 0; i < 5; i++)
        TG_EXPECT_EQ(change(s, i, &eb), 0);
    tg_store_close(s);
    TG_EXPECT_EQ(count(path, "override"), 5);
    TG_EXPECT_EQ(count(path, "audit"), 5);
    TG_EXPECT_EQ(tst_sql_int(path, "PRAGMA user_version"), 3);
    s = open_ok(path, NULL);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.overrides, 5);
    TG_EXPECT_EQ(st.audit_rows, 5);
    TG_EXPECT_EQ(change(s, 5, &eb), 0);
    tg_store_close(s);
    TG_EXPECT_EQ(count(path, "override"), 6);
}

/* "A change answered 200 is on disk": when apply returns, every byte SQLite wrote has
 * been synced (synchronous=NORMAL would leave the log's last frames in the page cache,
 * lost if the machine loses power). */
static void test_synced_before_ack(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "synced.db");
    struct tg_store *s = open_ok(path, NULL);
    TG_EXPECT_EQ(shim.dirty_files, 0);
    struct tg_errbuf eb = {0};
    for (int i = 0; i < 20; i++) {
        long before = shim.writes;
        TG_EXPECT_EQ(change(s, i, &eb), 0);
        TG_EXPECT_GT(shim.writes, before); /* the shim sees the writes it checks */
        TG_EXPECT_EQ(shim.dirty_files, 0);
    }
    int64_t id;
    struct tg_store_audit row = {.ts_us = 1, .actor = "a", .action = "b"};
    TG_EXPECT_EQ(tg_store_audit_append(s, &row, &id, &eb), 0);
    TG_EXPECT_EQ(shim.dirty_files, 0);
    struct tg_store_override ov = {.key = "x", .value_json = "1", .set_by = "a"};
    TG_EXPECT_EQ(tg_store_override_put(s, &ov, &eb), 0);
    TG_EXPECT_EQ(shim.dirty_files, 0);
    TG_EXPECT_EQ(tg_store_override_delete(s, "x", &eb), 0);
    TG_EXPECT_EQ(shim.dirty_files, 0);
    tg_store_close(s);
}

/* Child: makes changes 0..n-1 on `path`, writing each index to `fd` once acknowledged.
 * The shim tears write number `crash_at` (if > 0) and exits. */
static void writer_child(const char *path, long crash_at, int fd, int n)
{
    shim.writes = 0;
    shim.crash_at = crash_at;
    struct tg_store *s = NULL;
    if (tg_store_open(path, NULL, &s, NULL) != 0)
        _exit(3);
    for (int i = 0; i < n; i++) {
        if (change(s, i, NULL) != 0)
            _exit(4);
        if (write(fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(5);
    }
    tg_store_close(s);
    _exit(0);
}

struct pairs {
    bool ov[2048], audit[2048];
};

static int pair_ov(void *ctx, const struct tg_store_override *ov)
{
    int i = atoi(ov->key + 1);
    if (i >= 0 && i < 2048)
        ((struct pairs *)ctx)->ov[i] = true;
    return 0;
}

static int pair_audit(void *ctx, const struct tg_store_audit *row)
{
    int i = atoi(row->target + 1);
    if (i >= 0 && i < 2048)
        ((struct pairs *)ctx)->audit[i] = true;
    return 0;
}

/* After a crash: the file opens (and passes quick_check), every acknowledged change is
 * there, and no override is without its audit row or the reverse. */
static void verify_after_crash(const char *path, const bool *acked, int n, long crash_at)
{
    struct tg_store *s = NULL;
    struct tg_errbuf eb = {0};
    int rc = tg_store_open(path, NULL, &s, &eb);
    TG_EXPECT_EQ(rc, 0);
    if (rc) {
        fprintf(stderr, "crash at write %ld: %s\n", crash_at, eb.msg);
        return;
    }
    static struct pairs p;
    memset(&p, 0, sizeof p);
    TG_EXPECT_EQ(tg_store_override_list(s, pair_ov, &p, &eb), 0);
    struct tg_store_audit_filter all = {.limit = TG_STORE_AUDIT_LIST_MAX};
    TG_EXPECT_EQ(tg_store_audit_list(s, &all, pair_audit, &p, &eb), 0);
    int lost = 0, unpaired = 0;
    for (int i = 0; i < n; i++) {
        lost += acked[i] && !p.ov[i];
        unpaired += p.ov[i] != p.audit[i];
    }
    if (lost || unpaired)
        fprintf(stderr, "crash at write %ld: %d acknowledged changes lost, %d unpaired\n", crash_at,
                lost, unpaired);
    TG_EXPECT_EQ(lost, 0);
    TG_EXPECT_EQ(unpaired, 0);
    tg_store_close(s);
}

/* Reads acknowledgements from `fd` until EOF. */
static int read_acks(int fd, bool *acked, int n)
{
    int i, got = 0;
    while (read(fd, &i, sizeof i) == (ssize_t)sizeof i) {
        if (i >= 0 && i < n)
            acked[i] = true;
        got++;
    }
    return got;
}

/* The writer dies in the middle of a write, at every write of a run that creates the
 * file and makes 6 changes: during creation, the schema upgrade, each commit and the
 * checkpoint. The torn write stands for a page half on disk. */
static void test_crash_mid_write(void)
{
    enum { N = 6 };
    char path[PATH_MAX];
    int fds[2], status;
    pid_t pid;
    bool acked[N];
    /* A dry run in this process counts the writes of the whole sequence. */
    tst_path(path, sizeof path, dir, "count.db");
    shim.writes = 0;
    struct tg_store *s = open_ok(path, NULL);
    for (int i = 0; s && i < N; i++)
        change(s, i, NULL);
    tg_store_close(s);
    long total = shim.writes;
    TG_EXPECT_GT(total, 3 * N);

    int crashes = 0, runs = 0;
    /* Every write, up to 150 runs (a bounded cost if the write count grows). */
    long step = total / 150 + 1;
    for (long at = 1; at <= total; at += step) {
        char name[64];
        snprintf(name, sizeof name, "crash-%ld.db", at);
        tst_path(path, sizeof path, dir, name);
        TG_EXPECT_EQ(pipe(fds), 0);
        pid = fork();
        if (pid == 0) {
            close(fds[0]);
            writer_child(path, at, fds[1], N);
        }
        close(fds[1]);
        memset(acked, 0, sizeof acked);
        read_acks(fds[0], acked, N);
        close(fds[0]);
        waitpid(pid, &status, 0);
        bool crashed = WIFEXITED(status) && WEXITSTATUS(status) == CRASH_EXIT;
        TG_EXPECT(crashed || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        crashes += crashed;
        runs++;
        verify_after_crash(path, acked, N, at);
    }
    /* The writes counted are the writes the children made: each run but the last few
     * (the close's checkpoint may vary) crashed. */
    TG_EXPECT_GE(crashes, runs - 3);
    fprintf(stderr, "crash-mid-write: %d runs over %ld writes, %d crashed\n", runs, total, crashes);
}

/* The writer is killed (SIGKILL) at an arbitrary moment of a stream of changes. */
static void test_killed(void)
{
    enum { N = 2000 };
    static bool acked[N];
    unsigned seed = (unsigned)time(NULL);
    for (int round = 0; round < 3; round++) {
        char name[64], path[PATH_MAX];
        snprintf(name, sizeof name, "killed-%d.db", round);
        tst_path(path, sizeof path, dir, name);
        int fds[2];
        TG_EXPECT_EQ(pipe(fds), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            writer_child(path, 0, fds[1], N);
        }
        close(fds[1]);
        memset(acked, 0, sizeof acked);
        /* Let it acknowledge a few changes, then kill it at a random point of the next. */
        int want = 5 + (int)(rand_r(&seed) % 40), got = 0, i;
        while (got < want && read(fds[0], &i, sizeof i) == (ssize_t)sizeof i) {
            if (i >= 0 && i < N)
                acked[i] = true;
            got++;
        }
        struct timespec pause = {0, (long)(rand_r(&seed) % 2000) * 1000};
        nanosleep(&pause, NULL);
        kill(pid, SIGKILL);
        got += read_acks(fds[0], acked, N);
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        TG_EXPECT_GE(got, want);
        verify_after_crash(path, acked, N, -1);
    }
}

static int count_audit(void *ctx, const struct tg_store_audit *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

/* ---- refusals at open ---- */

static void test_bad_paths(void)
{
    char path[PATH_MAX], file[PATH_MAX];
    expect_refused(tst_path(path, sizeof path, dir, "no/such/dir/store.db"), NULL, -ENOENT,
                   "does not exist", __LINE__);
    tst_path(file, sizeof file, dir, "plain-file");
    write_file(file, "x", 1);
    expect_refused(tst_path(path, sizeof path, dir, "plain-file/store.db"), NULL, -ENOTDIR,
                   "plain-file is not a directory", __LINE__);
    expect_refused(tst_path(path, sizeof path, dir, "plain-file/a/store.db"), NULL, -ENOTDIR,
                   "not a directory", __LINE__);
    expect_refused(dir, NULL, -EISDIR, "is a directory", __LINE__);
    struct tg_errbuf eb = {0};
    struct tg_store *s;
    TG_EXPECT_EQ(tg_store_open("", NULL, &s, &eb), -EINVAL);
    /* A reader does not create the file. */
    struct tg_store_opts ro = {.read_only = true};
    expect_refused(tst_path(path, sizeof path, dir, "absent.db"), &ro, -ENOENT, "does not exist",
                   __LINE__);
    TG_EXPECT(access(path, F_OK) == -1);
}

/* Sets or clears the immutable attribute (which binds root too); false when the file
 * system does not have it. */
static bool set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd == -1)
        return false;
    int attr = 0;
    bool ok = ioctl(fd, FS_IOC_GETFLAGS, &attr) == 0;
    if (ok) {
        attr = on ? attr | FS_IMMUTABLE_FL : attr & ~FS_IMMUTABLE_FL;
        ok = ioctl(fd, FS_IOC_SETFLAGS, &attr) == 0;
    }
    close(fd);
    return ok;
}

static void test_unwritable(void)
{
    char path[PATH_MAX], sub[PATH_MAX];
    tst_path(path, sizeof path, dir, "readonly.db");
    struct tg_store *s = open_ok(path, NULL);
    tg_store_close(s);

    /* SQLite's own fallback: the file opens, but only for reading. */
    shim.deny_write = true;
    expect_refused(path, NULL, TG_ESTORE, "can only be opened read-only", __LINE__);
    shim.deny_write = false;

    /* The real thing, where the file system lets root set the immutable attribute. */
    if (set_immutable(path, true)) {
        expect_refused(path, NULL, -EPERM, "cannot write the file", __LINE__);
        /* Reading it is fine. */
        struct tg_store_opts ro = {.read_only = true};
        s = open_ok(path, &ro);
        tg_store_close(s);
        set_immutable(path, false);
        tst_path(sub, sizeof sub, dir, "frozen");
        TG_EXPECT_EQ(mkdir(sub, 0755), 0);
        TG_EXPECT(set_immutable(sub, true));
        expect_refused(tst_path(path, sizeof path, sub, "store.db"), NULL, -EPERM,
                       "cannot write in directory", __LINE__);
        set_immutable(sub, false);
    } else {
        fprintf(stderr, "test_unwritable: no immutable attribute here; shim case only\n");
    }
}

static void test_not_a_store(void)
{
    char path[PATH_MAX];
    static const char text[] = "listen: \":8000\"\nupstreams: []\n# a config, not a store\n";
    tst_path(path, sizeof path, dir, "config.yaml");
    write_file(path, text, sizeof text - 1);
    expect_refused(path, NULL, TG_ESTORE, "not an SQLite database", __LINE__);
    struct stat st;
    TG_EXPECT_EQ(stat(path, &st), 0);
    TG_EXPECT_EQ(st.st_size, (long long)sizeof text - 1); /* left as it was */

    /* Another program's database: tables, no schema version. */
    tst_path(path, sizeof path, dir, "other.db");
    sqlite3 *db;
    TG_EXPECT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    TG_EXPECT_EQ(sqlite3_exec(db, "CREATE TABLE users(name)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    expect_refused(path, NULL, TG_ESTORE, "that tailguard did not create", __LINE__);
    TG_EXPECT_EQ(tst_sql(path, "PRAGMA application_id=1234"), SQLITE_OK);
    expect_refused(path, NULL, TG_ESTORE, "of another program (application_id 0x4d2)", __LINE__);
    TG_EXPECT_EQ(count(path, "users"), 0);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM sqlite_master"), 1);
}

static void test_newer_schema(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "newer.db");
    struct tg_store *s = open_ok(path, NULL);
    tg_store_close(s);
    TG_EXPECT_EQ(tst_sql(path, "PRAGMA user_version=99"), SQLITE_OK);
    expect_refused(path, NULL, TG_ESTORE, "schema version 99 is newer than this build knows (3)",
                   __LINE__);
    struct tg_store_opts ro = {.read_only = true};
    expect_refused(path, &ro, TG_ESTORE, "newer", __LINE__);
    TG_EXPECT_EQ(tst_sql_int(path, "PRAGMA user_version"), 99);
    /* An older file is upgraded by a writer, refused by a reader. */
    TG_EXPECT_EQ(tst_sql(path, "PRAGMA user_version=0"), SQLITE_OK);
    expect_refused(path, &ro, TG_ESTORE, "open it for writing once to upgrade it", __LINE__);
}

static void test_damaged_page(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "damaged.db");
    struct tg_store *s = open_ok(path, NULL);
    TG_EXPECT_EQ(tst_sql(path, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 "
                               "FROM n WHERE i < 1999) INSERT INTO audit(ts_us, actor, action, "
                               "new_json) SELECT i, 'ops', 'put', printf('\"%0200d\"', i) "
                               "FROM n"),
                 SQLITE_OK);
    tg_store_close(s);
    struct stat st;
    TG_EXPECT_EQ(stat(path, &st), 0);
    long long page = tst_sql_int(path, "PRAGMA page_size");
    TG_EXPECT_GT(st.st_size, 40 * page);
    /* Page 30 (of the audit table or its index) becomes garbage. */
    static char junk[65536];
    memset(junk, 0xa5, sizeof junk);
    int fd = open(path, O_WRONLY);
    TG_EXPECT(fd != -1);
    TG_EXPECT_EQ(pwrite(fd, junk, (size_t)page, 29 * page), page);
    close(fd);
    expect_refused(path, NULL, TG_ESTORE, "damaged (quick_check:", __LINE__);
    expect_refused(path, NULL, TG_ESTORE, "move the file aside", __LINE__);
    /* Skipping the check opens it; reading the page then fails with a clear error. */
    struct tg_store_opts skip = {.skip_quick_check = true};
    s = open_ok(path, &skip);
    if (s) {
        struct tg_errbuf eb = {0};
        struct tg_store_audit_filter f = {.target = "none"};
        int rows = 0;
        int rc = tg_store_audit_list(s, &f, count_audit, &rows, &eb);
        TG_EXPECT_EQ(rc, TG_ESTORE);
        EXPECT_HAS(eb.msg, "malformed");
        tg_store_close(s);
    }
}

/* ---- run time ---- */

static void test_disk_full(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "full.db");
    struct tg_store *s = open_ok(path, NULL);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(change(s, 0, &eb), 0);
    shim.fail_writes = true;
    TG_EXPECT_EQ(change(s, 1, &eb), TG_ESTORE);
    EXPECT_HAS(eb.msg, path);
    EXPECT_HAS(eb.msg, "database or disk is full");
    shim.fail_writes = false;
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.write_errors_total, 1);
    TG_EXPECT_EQ(st.overrides, 1);
    TG_EXPECT_EQ(st.audit_rows, 1);
    /* The failed change is not there, and the next one works. */
    TG_EXPECT_EQ(change(s, 2, &eb), 0);
    tg_store_close(s);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM override WHERE key = 'k1'"), 0);
    TG_EXPECT_EQ(count(path, "override"), 2);
    TG_EXPECT_EQ(count(path, "audit"), 2);
}

/* Another process's connection holds the write lock: a change waits for the busy
 * timeout, then fails whole; it works once the lock is released. */
static void test_locked(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "locked.db");
    struct tg_store *s = open_ok(path, NULL);
    sqlite3 *other;
    TG_EXPECT_EQ(sqlite3_open(path, &other), SQLITE_OK);
    TG_EXPECT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct tg_errbuf eb = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    TG_EXPECT_EQ(change(s, 0, &eb), TG_ESTORE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    EXPECT_HAS(eb.msg, "database is locked");
    long waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    TG_EXPECT_GE(waited_ms, 1900); /* it waited rather than failing at once */
    TG_EXPECT_EQ(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.write_errors_total, 1);
    TG_EXPECT_EQ(change(s, 1, &eb), 0);
    tg_store_close(s);
    TG_EXPECT_EQ(count(path, "override"), 1);
    TG_EXPECT_EQ(count(path, "audit"), 1);
}

/* A reader keeps reading its snapshot while the writer commits in the middle of its
 * listing. Without WAL the commit would wait for the reader's lock and fail. */
struct midway {
    struct tg_store *writer;
    int rows, rc;
};

static int write_midway(void *ctx, const struct tg_store_audit *row)
{
    (void)row;
    struct midway *m = ctx;
    if (m->rows++ == 0)
        m->rc = change(m->writer, 100, NULL);
    return 0;
}

static void test_reader_while_writing(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "reader.db");
    struct tg_store *w = open_ok(path, NULL);
    struct tg_errbuf eb = {0};
    for (int i = 0; i < 3; i++)
        TG_EXPECT_EQ(change(w, i, &eb), 0);
    struct tg_store_opts ro = {.read_only = true};
    struct tg_store *r = open_ok(path, &ro);
    if (!w || !r)
        return;
    struct midway m = {.writer = w, .rc = -1};
    TG_EXPECT_EQ(tg_store_audit_list(r, NULL, write_midway, &m, &eb), 0);
    TG_EXPECT_EQ(m.rc, 0);   /* the writer was not blocked */
    TG_EXPECT_EQ(m.rows, 3); /* the reader saw its snapshot */
    struct tg_store_audit_filter f = {.limit = 10};
    struct midway again = {.rows = 1}; /* no second write */
    TG_EXPECT_EQ(tg_store_audit_list(r, &f, write_midway, &again, &eb), 0);
    TG_EXPECT_EQ(again.rows, 5);
    /* A reader cannot write. */
    TG_EXPECT_EQ(change(r, 7, &eb), TG_ESTORE);
    EXPECT_HAS(eb.msg, "opened read-only");
    tg_store_close(r);
    tg_store_close(w);
}

/* Two threads: one writes 200 changes, the other lists overrides and the audit log on
 * its own connection meanwhile; every read succeeds and never sees fewer rows than
 * before, and each listing holds pairs (an override with its audit row). */
struct race {
    const char *path;
    atomic_bool done;
    int writer_errors, reader_errors, reads, went_back;
};

static int count_ov(void *ctx, const struct tg_store_override *ov)
{
    (void)ov;
    (*(int *)ctx)++;
    return 0;
}

static void *race_writer(void *arg)
{
    struct race *r = arg;
    struct tg_store *s = NULL;
    if (tg_store_open(r->path, NULL, &s, NULL) != 0) {
        r->writer_errors++;
    } else {
        for (int i = 0; i < 200; i++)
            r->writer_errors += change(s, i, NULL) != 0;
        tg_store_close(s);
    }
    atomic_store(&r->done, true);
    return NULL;
}

static void test_reader_thread(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "race.db");
    struct tg_store *s = open_ok(path, NULL);
    tg_store_close(s); /* created; the threads open their own connections */
    struct race r = {.path = path};
    struct tg_store_opts ro = {.read_only = true};
    struct tg_store *reader = open_ok(path, &ro);
    if (!reader)
        return;
    pthread_t t;
    TG_EXPECT_EQ(pthread_create(&t, NULL, race_writer, &r), 0);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int last_audit = 0;
    struct tg_store_audit_filter f = {.limit = TG_STORE_AUDIT_LIST_MAX};
    do {
        int ov = 0, au = 0;
        struct tg_errbuf eb = {0};
        r.reader_errors += tg_store_audit_list(reader, &f, count_audit, &au, &eb) != 0;
        r.reader_errors += tg_store_override_list(reader, count_ov, &ov, &eb) != 0;
        r.went_back += au < last_audit;
        /* Listed after the audit rows: at least as many overrides (one per change). */
        r.went_back += ov < au;
        last_audit = au;
        r.reads++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!atomic_load(&r.done) && now.tv_sec - t0.tv_sec < 60);
    pthread_join(t, NULL);
    int au = 0;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_audit_list(reader, &f, count_audit, &au, &eb), 0);
    tg_store_close(reader);
    TG_EXPECT_EQ(r.writer_errors, 0);
    TG_EXPECT_EQ(r.reader_errors, 0);
    TG_EXPECT_EQ(r.went_back, 0);
    TG_EXPECT_GT(r.reads, 1);
    TG_EXPECT_EQ(au, 200);
}

static void test_sizes(void)
{
    char path[PATH_MAX], wal[PATH_MAX + 8];
    tst_path(path, sizeof path, dir, "sizes.db");
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct tg_store *s = open_ok(path, NULL);
    struct tg_errbuf eb = {0};
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.commits_total, 0);
    for (int i = 0; i < 10; i++)
        TG_EXPECT_EQ(change(s, i, &eb), 0);
    tg_store_stats(s, &st);
    struct stat db_st = {0}, wal_st = {0};
    TG_EXPECT_EQ(stat(path, &db_st), 0);
    TG_EXPECT_EQ(stat(wal, &wal_st), 0);
    TG_EXPECT_EQ(st.file_bytes, db_st.st_size);
    TG_EXPECT_EQ(st.wal_bytes, wal_st.st_size);
    TG_EXPECT_GT(st.wal_bytes, 0);
    TG_EXPECT_GT(st.file_bytes, 0);
    TG_EXPECT_EQ(st.commits_total, 10);
    TG_EXPECT_EQ(st.audit_rows, 10);
    TG_EXPECT_EQ(st.overrides, 10);
    TG_EXPECT_EQ(st.write_errors_total, 0);
    TG_EXPECT_STREQ(tg_store_path(s), path);
    tg_store_close(s);
    /* The last writer to close folds the log back into the file and removes it. */
    TG_EXPECT(access(wal, F_OK) == -1);
    tg_store_close(NULL);
}

/* One writer process per file: a second writable open is refused with a message that
 * says why, a reader is not, and the file is free again once the owner closes it. */
static void test_one_owner(void)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "owner.db");
    struct tg_store *a = open_ok(path, NULL), *b = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_open(path, NULL, &b, &eb), TG_ESTORE);
    TG_EXPECT(b == NULL);
    TG_EXPECT(strstr(eb.msg, "in use by another tailguard process") != NULL);
    TG_EXPECT(strstr(eb.msg, path) != NULL);
    struct tg_store_opts ro = {.read_only = true};
    struct tg_store *r = open_ok(path, &ro);
    tg_store_close(r);
    tg_store_close(a);
    b = open_ok(path, NULL);
    TG_EXPECT(b != NULL);
    tg_store_close(b);
    /* Memory stores share nothing. */
    a = open_ok(":memory:", NULL);
    b = open_ok(":memory:", NULL);
    TG_EXPECT(a && b);
    tg_store_close(a);
    tg_store_close(b);
}

int main(int argc, char **argv)
{
    (void)argc;
    shim_install();
    tst_mkdtemp(dir, sizeof dir);
    test_reopen();
    test_synced_before_ack();
    test_crash_mid_write();
    test_killed();
    test_bad_paths();
    test_unwritable();
    test_not_a_store();
    test_newer_schema();
    test_damaged_page();
    test_disk_full();
    test_locked();
    test_reader_while_writing();
    test_reader_thread();
    test_sizes();
    test_one_owner();
    tst_rmtree(dir);
    return tg_test_report(argv[0]);
}
