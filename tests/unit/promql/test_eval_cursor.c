/* SPDX-License-Identifier: MIT */
/* Unit tests for src/promql/eval_cursor.c: a cursor's windows equal two binary searches
 * whatever order the windows come in (forward by a few samples, forward by many, backward,
 * repeated), and its "no drop" answer is never true for a window holding a drop. */
#include <stdlib.h>

#include "promql/eval_int.h"
#include "tg_test.h"

#define N 400

/* The first index with time >= t, by a plain scan. */
static size_t first_at(const struct tg_sample *s, size_t n, int64_t t)
{
    size_t j = 0;
    while (j < n && s[j].t < t)
        j++;
    return j;
}

static bool has_drop(const struct tg_sample *s, size_t lo, size_t hi)
{
    for (size_t j = lo + 1; j < hi; j++)
        if (s[j].v < s[j - 1].v)
            return true;
    return false;
}

static void check_windows(const struct tg_series *se, unsigned seed)
{
    struct tg_promql__cursor c;
    tg_promql__cursor_init(&c, se);
    srand(seed);
    int64_t t = 0;
    for (int k = 0; k < 3000; k++) {
        /* Mostly small forward steps, sometimes long jumps either way. */
        int r = rand() % 10;
        if (r < 6)
            t += rand() % 20;
        else if (r < 8)
            t += rand() % 2000;
        else
            t -= rand() % 2000;
        int64_t range = rand() % 300;
        size_t lo, hi;
        tg_promql__cursor_window(&c, se, t - range, t, &lo, &hi);
        TG_EXPECT_EQ(lo, first_at(se->samples, se->nsamples, t - range));
        TG_EXPECT_EQ(hi, first_at(se->samples, se->nsamples, t + 1));
        if (tg_promql__cursor_no_drop(&c, lo, hi))
            TG_EXPECT(!has_drop(se->samples, lo, hi));
    }
}

static void test_windows_and_drops(void)
{
    static struct tg_sample s[N];
    int64_t t = 0;
    for (size_t i = 0; i < N; i++) {
        t += 1 + rand() % 9; /* uneven spacing */
        s[i].t = t;
        s[i].v = (double)i;
    }
    struct tg_series se = {.samples = s, .nsamples = N};
    check_windows(&se, 1); /* no drop at all */
    struct tg_promql__cursor c;
    tg_promql__cursor_init(&c, &se);
    TG_EXPECT(tg_promql__cursor_no_drop(&c, 0, N));
    TG_EXPECT(!c.stale);

    /* Two resets: windows around them hold a drop, windows between or beside do not. */
    for (size_t i = 100; i < N; i++)
        s[i].v -= 100;
    for (size_t i = 300; i < N; i++)
        s[i].v -= 250;
    check_windows(&se, 2);
    tg_promql__cursor_init(&c, &se);
    TG_EXPECT(!tg_promql__cursor_no_drop(&c, 99, 101));
    TG_EXPECT(!tg_promql__cursor_no_drop(&c, 299, 301));
    TG_EXPECT(!tg_promql__cursor_no_drop(&c, 150, 301));
    TG_EXPECT(!tg_promql__cursor_no_drop(&c, 0, N));
    TG_EXPECT(tg_promql__cursor_no_drop(&c, 0, 100));
    TG_EXPECT(tg_promql__cursor_no_drop(&c, 300, N));

    /* A stale marker is noted. */
    s[7].v = tg_stale_nan();
    tg_promql__cursor_init(&c, &se);
    TG_EXPECT(c.stale);

    /* An empty series. */
    struct tg_series empty = {0};
    tg_promql__cursor_init(&c, &empty);
    size_t lo, hi;
    tg_promql__cursor_window(&c, &empty, 0, 100, &lo, &hi);
    TG_EXPECT_EQ(lo, 0u);
    TG_EXPECT_EQ(hi, 0u);
}

int main(void)
{
    test_windows_and_drops();
    return tg_test_report("promql_eval_cursor");
}
