/* SPDX-License-Identifier: MIT */
/* What the store costs the control thread (src/store/): opening a large file with and
 * without PRAGMA quick_check, from the page cache and from the disk (the file's pages
 * are dropped with posix_fadvise, not the whole machine's cache), one control change
 * (tg_store_apply: an override and its audit row, one fsync), and listing the audit log
 * (the newest page, and a filter that matches nothing, which reads every row). The
 * store is filled to SIZE_MB with ~1 KiB audit rows written directly in one transaction.
 * Not part of the test suite: timings are noisy on shared machines. From the repo:
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/store_open.c src/store/audit.c \
 *      src/store/override.c src/store/redact.c src/store/schema.c src/store/store.c \
 *      src/core/err.c -lsqlite3 -ljansson -o /tmp/store_open && /tmp/store_open [DIR] [SIZE_MB]
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/override.h"
#include "store/store.h"

#define RUNS 5

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void drop_cache(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd == -1)
        return;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

static struct tg_store *must_open(const char *path, const struct tg_store_opts *o)
{
    struct tg_store *s = NULL;
    struct tg_errbuf eb = {0};
    if (tg_store_open(path, o, &s, &eb) != 0) {
        fprintf(stderr, "%s\n", eb.msg);
        exit(1);
    }
    return s;
}

/* Median ms of RUNS opens (and closes) of `path`. */
static double time_open(const char *path, const struct tg_store_opts *o, int cold)
{
    double t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        if (cold)
            drop_cache(path);
        double t0 = now_ms();
        tg_store_close(must_open(path, o));
        t[i] = now_ms() - t0;
    }
    qsort(t, RUNS, sizeof t[0], cmp_double);
    return t[RUNS / 2];
}

static void fill(const char *path, long size_mb)
{
    sqlite3 *db;
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN; WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %ld)"
             " INSERT INTO audit(ts_us, actor, action, target, new_json) SELECT i, 'ops', 'put',"
             " 'k' || (i %% 50), json_object('v', i, 'pad', printf('%%0900d', i)) FROM n; COMMIT;",
             size_mb * 1024 - 1);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "fill: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_close(db);
}

static int count_row(void *ctx, const struct tg_store_audit *row)
{
    (void)row;
    (*(long *)ctx)++;
    return 0;
}

static double time_list(struct tg_store *s, const struct tg_store_audit_filter *f, long *rows)
{
    double t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        *rows = 0;
        double t0 = now_ms();
        tg_store_audit_list(s, f, count_row, rows, NULL);
        t[i] = now_ms() - t0;
    }
    qsort(t, RUNS, sizeof t[0], cmp_double);
    return t[RUNS / 2];
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    long size_mb = argc > 2 ? atol(argv[2]) : 100;
    char path[4096], wal[4200];
    snprintf(path, sizeof path, "%s/tg-bench-store.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    struct tg_store_opts o = {0}; /* no retention: keep every row of the fill */
    tg_store_close(must_open(path, &o));
    fill(path, size_mb);
    struct stat st;
    stat(path, &st);
    printf("store %s: %.1f MB\n", path, (double)st.st_size / 1e6);

    struct tg_store_opts skip = {.skip_quick_check = true};
    printf("open, page cache:  %8.1f ms with quick_check, %6.1f ms without\n",
           time_open(path, &o, 0), time_open(path, &skip, 0));
    printf("open, from disk:   %8.1f ms with quick_check, %6.1f ms without\n",
           time_open(path, &o, 1), time_open(path, &skip, 1));

    struct tg_store *s = must_open(path, &o);
    enum { CHANGES = 200 };
    static double t[CHANGES];
    for (int i = 0; i < CHANGES; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "bench.k%d", i % 10);
        snprintf(val, sizeof val, "%d", i);
        struct tg_store_set set = {.key = key, .value_json = val};
        struct tg_store_audit row = {
            .ts_us = 1LL << 50, .actor = "bench", .action = "put", .target = key, .new_json = val};
        double t0 = now_ms();
        if (tg_store_apply(s, &set, 1, &row, NULL, NULL) != 0)
            return 1;
        t[i] = now_ms() - t0;
    }
    qsort(t, CHANGES, sizeof t[0], cmp_double);
    printf("tg_store_apply:    %8.3f ms median, %.3f ms p99 (%d changes, one fsync each)\n",
           t[CHANGES / 2], t[CHANGES * 99 / 100], CHANGES);

    long rows;
    struct tg_store_audit_filter newest = {0};
    double ms = time_list(s, &newest, &rows);
    printf("audit list newest: %8.3f ms for %ld rows\n", ms, rows);
    struct tg_store_audit_filter none = {.action = "no such action"};
    ms = time_list(s, &none, &rows);
    printf("audit list filter: %8.1f ms to scan %.0f k rows (%ld match)\n", ms,
           (double)size_mb * 1024 / 1e3, rows);
    tg_store_close(s);
    unlink(path);
    unlink(wal);
    return 0;
}
