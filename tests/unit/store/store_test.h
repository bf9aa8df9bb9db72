/* SPDX-License-Identifier: MIT */
/* Helpers shared by the store's unit tests: a fresh temporary directory removed with
 * everything in it, file paths inside it, direct SQLite access to a store file (to
 * tamper with it the way a bug, a newer build or a disk would), and a substring check
 * that prints both strings. */
#ifndef TG_TEST_STORE_TEST_H
#define TG_TEST_STORE_TEST_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_test.h"

#define EXPECT_HAS(hay, needle)                                                                    \
    do {                                                                                           \
        const char *tst_h_ = (hay), *tst_n_ = (needle);                                            \
        tg_test_checks++;                                                                          \
        if (!tst_h_ || !strstr(tst_h_, tst_n_))                                                    \
            tg_test_fail_s(__FILE__, __LINE__, #hay " contains " #needle, tst_h_, tst_n_);         \
    } while (0)

/* Makes a new directory under $TMPDIR (or /tmp) into `dir`; aborts the test if it
 * cannot, since nothing else could run. */
static inline void tst_mkdtemp(char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, cap, "%s/tg-store-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline int tst_rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static inline void tst_rmtree(const char *dir)
{
    nftw(dir, tst_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* `dir`/`name` into `out` (PATH_MAX-sized buffers in the tests). */
static inline const char *tst_path(char *out, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
    return out;
}

/* Runs `sql` on the file through a connection of its own; 0 or SQLite's code. */
static inline int tst_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* The first column of the first row of `sql` as an integer, or -1. */
static inline long long tst_sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#endif
