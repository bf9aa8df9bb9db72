/* SPDX-License-Identifier: MIT */
/* Failure reporting for tg_test.h. */
#include "tg_test.h"

#include <time.h>

int tg_test_failures;
int tg_test_checks;

void tg_test_fail_i(const char *file, int line, const char *expr, long long a, long long b)
{
    tg_test_failures++;
    fprintf(stderr, "%s:%d: FAIL %s (%lld vs %lld)\n", file, line, expr, a, b);
}

void tg_test_fail_s(const char *file, int line, const char *expr, const char *a, const char *b)
{
    tg_test_failures++;
    fprintf(stderr, "%s:%d: FAIL %s (\"%s\" vs \"%s\")\n", file, line, expr, a ? a : "(null)",
            b ? b : "(null)");
}

void tg_test_fail(const char *file, int line, const char *expr)
{
    tg_test_failures++;
    fprintf(stderr, "%s:%d: FAIL %s\n", file, line, expr);
}

int tg_test_report(const char *name)
{
    if (tg_test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    fprintf(stderr, "%s: %d checks, %d failed\n", name, tg_test_checks, tg_test_failures);
    return tg_test_failures ? 1 : 0;
}

double tg_test_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double best_of_three(void (*fn)(size_t n, void *arg), size_t n, void *arg)
{
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = tg_test_cpu_s();
        fn(n, arg);
        double t = tg_test_cpu_s() - t0;
        if (i == 0 || t < best)
            best = t;
    }
    return best;
}

double tg_test_growth(void (*fn)(size_t n, void *arg), size_t n, unsigned k, void *arg)
{
    double small = best_of_three(fn, n, arg), big = best_of_three(fn, k * n, arg);
    double g = small > 0 ? big / small / k : 1e9;
    fprintf(stderr, "growth: n=%zu %.4f s, %un %.4f s: %.2f x linear\n", n, small, k, big, g);
    return g;
}
