/* SPDX-License-Identifier: MIT */
/* Tiny assertion macros for unit tests (libuv ASSERT_EQ style): each failure prints the
 * expression, both values and file:line, counts, and the test keeps running so one run
 * shows every broken expectation. tg_test_main() returns non-zero when any failed. */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int tg_test_failures;
extern int tg_test_checks;

void tg_test_fail_i(const char *file, int line, const char *expr, long long a, long long b);
void tg_test_fail_s(const char *file, int line, const char *expr, const char *a, const char *b);
void tg_test_fail(const char *file, int line, const char *expr);
int tg_test_report(const char *name);

/* CPU seconds this process has used. Checks of how a cost grows compare CPU time rather
 * than wall time, so other processes on a busy machine do not count. */
double tg_test_cpu_s(void);

/* How a cost grows: the CPU time of `fn(k * n, arg)` over k times that of `fn(n, arg)`,
 * best of three runs of each. About 1 for a linear cost (a little more for n log n, or
 * when the bigger run misses caches more) and about k for a quadratic one, so with k = 16
 * a bound of 4 tells them apart with room for noise. */
double tg_test_growth(void (*fn)(size_t n, void *arg), size_t n, unsigned k, void *arg);

#define TG_EXPECT(c)                                                                        \
    do {                                                                                    \
        tg_test_checks++;                                                                   \
        if (!(c))                                                                           \
            tg_test_fail(__FILE__, __LINE__, #c);                                           \
    } while (0)

#define TG_EXPECT_OP(a, op, b)                                                              \
    do {                                                                                    \
        long long tg_a_ = (long long)(a), tg_b_ = (long long)(b);                           \
        tg_test_checks++;                                                                   \
        if (!(tg_a_ op tg_b_))                                                              \
            tg_test_fail_i(__FILE__, __LINE__, #a " " #op " " #b, tg_a_, tg_b_);            \
    } while (0)

#define TG_EXPECT_EQ(a, b) TG_EXPECT_OP(a, ==, b)
#define TG_EXPECT_NE(a, b) TG_EXPECT_OP(a, !=, b)
#define TG_EXPECT_LT(a, b) TG_EXPECT_OP(a, <, b)
#define TG_EXPECT_LE(a, b) TG_EXPECT_OP(a, <=, b)
#define TG_EXPECT_GT(a, b) TG_EXPECT_OP(a, >, b)
#define TG_EXPECT_GE(a, b) TG_EXPECT_OP(a, >=, b)

#define TG_EXPECT_STREQ(a, b)                                                               \
    do {                                                                                    \
        const char *tg_a_ = (a), *tg_b_ = (b);                                              \
        tg_test_checks++;                                                                   \
        if (!tg_a_ || !tg_b_ || strcmp(tg_a_, tg_b_) != 0)                                  \
            tg_test_fail_s(__FILE__, __LINE__, #a " == " #b, tg_a_, tg_b_);                 \
    } while (0)

/* Compares a pointer+length slice with a C string. */
#define TG_EXPECT_MEMEQ(p, n, s)                                                            \
    do {                                                                                    \
        tg_test_checks++;                                                                   \
        if ((size_t)(n) != strlen(s) || memcmp((p), (s), (size_t)(n)) != 0) {               \
            char tg_buf_[256];                                                              \
            snprintf(tg_buf_, sizeof tg_buf_, "%.*s", (int)(n), (const char *)(p));        \
            tg_test_fail_s(__FILE__, __LINE__, #p " == " #s, tg_buf_, s);                   \
        }                                                                                   \
    } while (0)

#endif
