/* SPDX-License-Identifier: MIT */
/* Unit tests for the pure parts of src/control/scrape.c: the timestamp a scrape gets
 * (the tick that was due, on the wall clock, whatever the lateness of the run) and where
 * the store's file is (beside the configuration file, as the SQLite store is). */
#include "control/scrape.h"

#include <errno.h>
#include <stdint.h>

#include "tg_test.h"

#define S 1000000 /* one second in µs */

static void test_tick_is_the_due_boundary(void)
{
    const int64_t off = 1700000000LL * S + 123456; /* wall minus monotonic */
    /* On time, a little late, or almost a whole period late: the same timestamp. */
    int64_t due = tg_scrape_tick_ms(5 * S, 100 * S, off);
    TG_EXPECT_EQ(due, (100 * S + off) / 1000);
    TG_EXPECT_EQ(tg_scrape_tick_ms(5 * S, 100 * S + 1, off), due);
    TG_EXPECT_EQ(tg_scrape_tick_ms(5 * S, 100 * S + 4999999, off), due);
    /* The next boundary is exactly one period later: regular timestamps. */
    TG_EXPECT_EQ(tg_scrape_tick_ms(5 * S, 105 * S + 37, off) - due, 5000);
    TG_EXPECT_EQ(tg_scrape_tick_ms(200000, 1000000 + 199999, 0), 1000);
    TG_EXPECT_EQ(tg_scrape_tick_ms(200000, 1200000, 0), 1200);
    /* Sub-millisecond offsets round down, never up into the next millisecond. */
    TG_EXPECT_EQ(tg_scrape_tick_ms(S, 3 * S, 999), 3000);
    TG_EXPECT_EQ(tg_scrape_tick_ms(S, 3 * S, -1), 2999);
}

static void test_resolve_path(void)
{
    char b[64];
    TG_EXPECT_EQ(tg_scrape_resolve_path("/etc/tg/tailguard.yaml", "tailguard.tsdb", b, sizeof b),
                 0);
    TG_EXPECT_STREQ(b, "/etc/tg/tailguard.tsdb");
    TG_EXPECT_EQ(tg_scrape_resolve_path("conf/t.yaml", "d/x.tsdb", b, sizeof b), 0);
    TG_EXPECT_STREQ(b, "conf/d/x.tsdb");
    TG_EXPECT_EQ(tg_scrape_resolve_path("t.yaml", "x.tsdb", b, sizeof b), 0);
    TG_EXPECT_STREQ(b, "x.tsdb");
    TG_EXPECT_EQ(tg_scrape_resolve_path(NULL, "x.tsdb", b, sizeof b), 0);
    TG_EXPECT_STREQ(b, "x.tsdb");
    TG_EXPECT_EQ(tg_scrape_resolve_path("/etc/t.yaml", "/var/x.tsdb", b, sizeof b), 0);
    TG_EXPECT_STREQ(b, "/var/x.tsdb");
    TG_EXPECT_EQ(tg_scrape_resolve_path("/etc/t.yaml", ":memory:", b, sizeof b), 0);
    TG_EXPECT_STREQ(b, ":memory:");
    TG_EXPECT_EQ(tg_scrape_resolve_path("/etc/t.yaml", "", b, sizeof b), 0);
    TG_EXPECT_STREQ(b, "");
    TG_EXPECT_EQ(tg_scrape_resolve_path("/a/very/long/directory/name/t.yaml",
                                        "and-a-long-file-name-too.tsdb", b, 32),
                 -ENAMETOOLONG);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_tick_is_the_due_boundary();
    test_resolve_path();
    return tg_test_report(argv[0]);
}
