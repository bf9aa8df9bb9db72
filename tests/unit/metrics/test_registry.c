/* SPDX-License-Identifier: MIT */
/* Tests for src/metrics/registry.c: families, series, validation and the exposition. */
#include "metrics/registry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "metrics/expo.h"
#include "tg_test.h"

/* The registry's collector through the text writer, as one NUL-terminated string
 * (the caller frees it). */
static char *expose(struct tg_registry *r)
{
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_registry_collect(r, &v, &cur), TG_DONE);
    size_t n;
    char *p = tg_expo_take(&e, &n);
    p = realloc(p, n + 1);
    p[n] = '\0';
    return p;
}

static void test_families_and_exposition(void)
{
    struct tg_registry *r;
    TG_EXPECT_EQ(tg_registry_new(&r), 0);
    struct tg_family *up, *req, *empty, *again;
    static const char *const lab[] = {"upstream", "server"};
    TG_EXPECT_EQ(tg_registry_family(r, "upstream_server_up", "1 when up.", TG_METRIC_GAUGE, lab, 2,
                                    &up),
                 0);
    TG_EXPECT_EQ(tg_registry_family(r, "probe_requests_total", "Probes.", TG_METRIC_COUNTER, NULL,
                                    0, &req),
                 0);
    TG_EXPECT_EQ(tg_registry_family(r, "unused_gauge", "Never set.", TG_METRIC_GAUGE, NULL, 0,
                                    &empty),
                 0);
    /* same shape again: the same family; other shape: -EEXIST */
    TG_EXPECT_EQ(tg_registry_family(r, "upstream_server_up", "x", TG_METRIC_GAUGE, lab, 2, &again),
                 0);
    TG_EXPECT(again == up);
    TG_EXPECT_EQ(tg_registry_family(r, "upstream_server_up", "x", TG_METRIC_GAUGE, lab, 1, &again),
                 -EEXIST);
    /* invalid names: counter without _total, bad characters, reserved label */
    TG_EXPECT_EQ(tg_registry_family(r, "probes", "x", TG_METRIC_COUNTER, NULL, 0, &again),
                 -EINVAL);
    TG_EXPECT_EQ(tg_registry_family(r, "9bad", "x", TG_METRIC_GAUGE, NULL, 0, &again), -EINVAL);
    static const char *const bad[] = {"__name__"};
    TG_EXPECT_EQ(tg_registry_family(r, "ok_gauge", "x", TG_METRIC_GAUGE, bad, 1, &again), -EINVAL);

    const char *a[] = {"api", "127.0.0.1:1"}, *b[] = {"api", "say \"hi\"\\\n"};
    TG_EXPECT_EQ(tg_family_set(up, a, 1), 0);
    TG_EXPECT_EQ(tg_family_set(up, b, 0), 0);
    TG_EXPECT_EQ(tg_family_set(up, a, 0), 0); /* overwrite */
    TG_EXPECT_EQ(tg_family_add(req, NULL, 2), 0);
    TG_EXPECT_EQ(tg_family_add(req, NULL, 0.5), 0);
    TG_EXPECT_EQ(tg_family_add(req, NULL, -1), -EINVAL); /* counters only go up */
    TG_EXPECT(tg_family_get(req, NULL) == 2.5);
    TG_EXPECT(tg_family_get(up, b) == 0);

    char *out = expose(r);
    TG_EXPECT_STREQ(out,
                    "# HELP upstream_server_up 1 when up.\n"
                    "# TYPE upstream_server_up gauge\n"
                    "upstream_server_up{upstream=\"api\",server=\"127.0.0.1:1\"} 0\n"
                    "upstream_server_up{upstream=\"api\",server=\"say \\\"hi\\\"\\\\\\n\"} 0\n"
                    "# HELP probe_requests_total Probes.\n"
                    "# TYPE probe_requests_total counter\n"
                    "probe_requests_total 2.5\n");

    /* clear, special values, shortest round-trip formatting */
    tg_family_clear(up);
    TG_EXPECT_EQ(tg_family_set(up, a, 0.1), 0);
    TG_EXPECT_EQ(tg_family_set(up, b, NAN), 0);
    TG_EXPECT_EQ(tg_registry_family(r, "big_gauge", "x", TG_METRIC_GAUGE, NULL, 0, &again), 0);
    TG_EXPECT_EQ(tg_family_set(again, NULL, INFINITY), 0);
    free(out);
    out = expose(r);
    TG_EXPECT(strstr(out, "server=\"127.0.0.1:1\"} 0.1\n") != NULL);
    TG_EXPECT(strstr(out, "} NaN\n") != NULL);
    TG_EXPECT(strstr(out, "big_gauge +Inf\n") != NULL);
    free(out);
    tg_registry_free(r);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_families_and_exposition();
    return tg_test_report(argv[0]);
}
