/* SPDX-License-Identifier: MIT */
/* Tests for src/metrics/collect.c, expo.c and flatten.c: a scan that pauses and resumes
 * gives the same text as one that never pauses, the text format of values, labels and
 * histograms, and histograms flattened to samples as Prometheus scrapes them. */
#include "metrics/collect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "metrics/expo.h"
#include "metrics/flatten.h"
#include "tg_test.h"

/* A collector of `n` series in two families (a counter, then a histogram), resumable
 * between series, as the gateway's request collector is. */
struct fake {
    uint32_t n;
    uint32_t calls;
};

static const char *const names[] = {"endpoint", "method"};

static int fake_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    static const struct tg_mfamily fams[] = {
        {"req_total", "Requests.", NULL, TG_METRIC_COUNTER},
        {"dur_seconds", "Durations.", "seconds", TG_METRIC_HISTOGRAM},
    };
    static const double le[] = {0.005, 0.1, 2.5};
    struct fake *f = data;
    f->calls++;
    for (; cur->step < 2; tg_mcursor_next(cur)) {
        tg_mcursor_family(cur, v, &fams[cur->step]);
        for (; cur->item < f->n; cur->item++) {
            if (tg_mvisit_full(v))
                return TG_AGAIN;
            char ep[32];
            snprintf(ep, sizeof ep, "/e\"%u\\", (unsigned)cur->item);
            const char *values[] = {ep, "GET"};
            struct tg_mlabels l = {names, values, 2};
            if (cur->step == 0) {
                v->value(v->ctx, &l, cur->item * 10.0);
            } else {
                uint64_t cum[] = {cur->item, cur->item + 1, cur->item + 2};
                struct tg_mhist h = {le, cum, 3, cur->item + 3, cur->item * 0.25};
                v->hist(v->ctx, &l, &h);
            }
        }
    }
    return TG_DONE;
}

static int empty_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    (void)data;
    (void)cur;
    v->family(v->ctx, &(struct tg_mfamily){"none_total", "Never any.", NULL, TG_METRIC_COUNTER});
    return TG_DONE;
}

/* The whole text of `cs` with a writer that pauses at `flush` bytes (0: never), counting
 * the chunks and the largest. */
static char *render(const struct tg_mcollectors *cs, size_t flush, unsigned *chunks,
                    size_t *largest)
{
    struct tg_expo e;
    tg_expo_init(&e, flush);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mscan scan;
    tg_mscan_init(&scan);
    char *out = calloc(1, 1);
    size_t len = 0;
    *chunks = 0;
    *largest = 0;
    for (int rc = TG_AGAIN; rc == TG_AGAIN && *chunks < 10000;) {
        tg_expo_reset(&e);
        rc = tg_mscan_run(&scan, cs, &v);
        TG_EXPECT(rc == TG_AGAIN || rc == TG_DONE);
        out = realloc(out, len + e.len + 1);
        memcpy(out + len, e.p, e.len);
        len += e.len;
        out[len] = '\0';
        (*chunks)++;
        if (e.len > *largest)
            *largest = e.len;
    }
    TG_EXPECT(!e.oom && !e.bad);
    tg_expo_deinit(&e);
    return out;
}

static void test_pause_and_resume_give_the_same_text(void)
{
    struct tg_mcollectors *cs;
    TG_EXPECT_EQ(tg_mcollectors_new(&cs), 0);
    struct fake a = {300, 0}, b = {2, 0};
    TG_EXPECT_EQ(tg_mcollectors_add(cs, "a", fake_collect, &a), 0);
    TG_EXPECT_EQ(tg_mcollectors_add(cs, "empty", empty_collect, NULL), 0);
    TG_EXPECT_EQ(tg_mcollectors_add(cs, "b", fake_collect, &b), 0);
    unsigned chunks;
    size_t largest;
    char *whole = render(cs, 0, &chunks, &largest);
    TG_EXPECT_EQ(chunks, 1u);
    TG_EXPECT_EQ(a.calls, 1u);
    a.calls = 0;
    char *paused = render(cs, 1024, &chunks, &largest);
    TG_EXPECT_STREQ(paused, whole);
    /* Bounded: one chunk is its threshold plus one item (a histogram, ~400 bytes). */
    TG_EXPECT_GT(chunks, 20u);
    TG_EXPECT_LT(largest, (size_t)(1024 + 600));
    TG_EXPECT_GE(a.calls, chunks - 1); /* resumed once per chunk (b may have the last) */
    TG_EXPECT_LE(a.calls, chunks);
    /* Each family once, with its series together. */
    TG_EXPECT(strstr(whole, "# TYPE req_total counter\n") != NULL);
    TG_EXPECT(strstr(strstr(whole, "# TYPE req_total counter\n") + 1, "# TYPE req_total") !=
              NULL); /* b's own family: collectors are independent */
    TG_EXPECT(strstr(whole, "# HELP none_total Never any.\n# TYPE none_total counter\n# HELP") !=
              NULL);
    free(whole);
    free(paused);

    /* Removing a collector by its data. */
    tg_mcollectors_remove(cs, &b);
    whole = render(cs, 0, &chunks, &largest);
    TG_EXPECT(strstr(whole, "/e\\\"299\\\\") != NULL);
    TG_EXPECT(strstr(strstr(whole, "# TYPE req_total counter\n") + 1, "# TYPE req_total") == NULL);
    free(whole);
    tg_mcollectors_free(cs);
}

static void test_text_format(void)
{
    struct tg_mcollectors *cs;
    TG_EXPECT_EQ(tg_mcollectors_new(&cs), 0);
    struct fake a = {2, 0};
    TG_EXPECT_EQ(tg_mcollectors_add(cs, "a", fake_collect, &a), 0);
    unsigned chunks;
    size_t largest;
    char *t = render(cs, 0, &chunks, &largest);
    TG_EXPECT_STREQ(t,
                    "# HELP req_total Requests.\n"
                    "# TYPE req_total counter\n"
                    "req_total{endpoint=\"/e\\\"0\\\\\",method=\"GET\"} 0\n"
                    "req_total{endpoint=\"/e\\\"1\\\\\",method=\"GET\"} 10\n"
                    "# HELP dur_seconds Durations.\n"
                    "# TYPE dur_seconds histogram\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"0\\\\\",method=\"GET\",le=\"0.005\"} 0\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"0\\\\\",method=\"GET\",le=\"0.1\"} 1\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"0\\\\\",method=\"GET\",le=\"2.5\"} 2\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"0\\\\\",method=\"GET\",le=\"+Inf\"} 3\n"
                    "dur_seconds_sum{endpoint=\"/e\\\"0\\\\\",method=\"GET\"} 0\n"
                    "dur_seconds_count{endpoint=\"/e\\\"0\\\\\",method=\"GET\"} 3\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"1\\\\\",method=\"GET\",le=\"0.005\"} 1\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"1\\\\\",method=\"GET\",le=\"0.1\"} 2\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"1\\\\\",method=\"GET\",le=\"2.5\"} 3\n"
                    "dur_seconds_bucket{endpoint=\"/e\\\"1\\\\\",method=\"GET\",le=\"+Inf\"} 4\n"
                    "dur_seconds_sum{endpoint=\"/e\\\"1\\\\\",method=\"GET\"} 0.25\n"
                    "dur_seconds_count{endpoint=\"/e\\\"1\\\\\",method=\"GET\"} 4\n");
    free(t);
    tg_mcollectors_free(cs);

    /* Numbers: integers digit for digit, others in the shortest exact form. */
    char b[40];
    struct {
        double v;
        const char *s;
    } nums[] = {{0, "0"},
                {12345678901234, "12345678901234"},
                {-3, "-3"},
                {0.1, "0.1"},
                {1.0 / 3, "0.33333333333333331"},
                {2.5e-05, "2.5e-05"},
                {1e15, "1e+15"},
                {NAN, "NaN"},
                {INFINITY, "+Inf"},
                {-INFINITY, "-Inf"}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        b[tg_expo_number(b, sizeof b, nums[i].v)] = '\0';
        TG_EXPECT_STREQ(b, nums[i].s);
    }
}

/* ---- flattening ----------------------------------------------------------------- */

struct samples {
    char text[4096];
    size_t len;
    unsigned n;
};

static void on_sample(void *ctx, const struct tg_mfamily *fam, const char *name,
                      const struct tg_mlabels *l, double v)
{
    struct samples *s = ctx;
    int k = snprintf(s->text + s->len, sizeof s->text - s->len, "%s|%s", fam->name, name);
    s->len += (size_t)k;
    for (size_t i = 0; i < l->n; i++) {
        k = snprintf(s->text + s->len, sizeof s->text - s->len, "|%s=%s", l->names[i],
                     l->values[i]);
        s->len += (size_t)k;
    }
    k = snprintf(s->text + s->len, sizeof s->text - s->len, "|%g\n", v);
    s->len += (size_t)k;
    s->n++;
}

static void test_flatten(void)
{
    struct tg_mcollectors *cs;
    TG_EXPECT_EQ(tg_mcollectors_new(&cs), 0);
    struct fake a = {1, 0};
    TG_EXPECT_EQ(tg_mcollectors_add(cs, "a", fake_collect, &a), 0);
    struct samples s = {.len = 0};
    struct tg_mflatten f;
    struct tg_mvisitor v = tg_mflatten_visitor(&f, on_sample, &s);
    struct tg_mscan scan;
    tg_mscan_init(&scan);
    TG_EXPECT_EQ(tg_mscan_run(&scan, cs, &v), TG_DONE);
    TG_EXPECT_EQ(s.n, 7u);
    TG_EXPECT_STREQ(s.text,
                    "req_total|req_total|endpoint=/e\"0\\|method=GET|0\n"
                    "dur_seconds|dur_seconds_bucket|endpoint=/e\"0\\|method=GET|le=0.005|0\n"
                    "dur_seconds|dur_seconds_bucket|endpoint=/e\"0\\|method=GET|le=0.1|1\n"
                    "dur_seconds|dur_seconds_bucket|endpoint=/e\"0\\|method=GET|le=2.5|2\n"
                    "dur_seconds|dur_seconds_bucket|endpoint=/e\"0\\|method=GET|le=+Inf|3\n"
                    "dur_seconds|dur_seconds_sum|endpoint=/e\"0\\|method=GET|0\n"
                    "dur_seconds|dur_seconds_count|endpoint=/e\"0\\|method=GET|3\n");
    TG_EXPECT(!f.bad);
    TG_EXPECT_STREQ(f.fam.unit, "seconds");
    tg_mcollectors_free(cs);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_pause_and_resume_give_the_same_text();
    test_text_format();
    test_flatten();
    return tg_test_report(argv[0]);
}
