/* SPDX-License-Identifier: MIT */
/* Failure reporting for tg_test.h. */
#include "tg_test.h"

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
