/* SPDX-License-Identifier: MIT */
/* Message helpers: errbuf filling (position, long file names keep their tail), quoting of
 * hostile user text, and "did you mean" suggestions. */
#include "config/diag_int.h"

#include <string.h>

#include "tg_test.h"

static void test_errf(void)
{
    struct tg_errbuf eb;
    memset(&eb, 0x55, sizeof eb);
    TG_EXPECT_EQ(tg_config__errf(&eb, TG_ECONFIG, "a.yaml", 3, 7, "x: %d", 5), TG_ECONFIG);
    TG_EXPECT_EQ(eb.code, TG_ECONFIG);
    TG_EXPECT_EQ(eb.line, 3);
    TG_EXPECT_EQ(eb.column, 7);
    TG_EXPECT_STREQ(eb.file, "a.yaml");
    TG_EXPECT_STREQ(eb.msg, "x: 5");

    TG_EXPECT_EQ(tg_config__errf(&eb, TG_EPARSE, NULL, 0, 0, "m"), TG_EPARSE);
    TG_EXPECT_STREQ(eb.file, "");
    TG_EXPECT_EQ(eb.line, 0);
    TG_EXPECT_EQ(eb.column, 0);

    char longname[300];
    memset(longname, 'd', sizeof longname);
    memcpy(longname + 280, "/tailguard.yaml", 16);
    tg_config__errf(&eb, TG_ECONFIG, longname, 1, 1, "m");
    TG_EXPECT_EQ(strlen(eb.file), sizeof eb.file - 1);
    TG_EXPECT(strncmp(eb.file, "...", 3) == 0);
    TG_EXPECT_STREQ(eb.file + strlen(eb.file) - 15, "/tailguard.yaml");

    char big[600];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tg_config__errf(&eb, TG_ECONFIG, "f", 1, 1, "%s", big);
    TG_EXPECT_EQ(strlen(eb.msg), sizeof eb.msg - 1);

    TG_EXPECT_EQ(tg_config__errf(NULL, TG_ECONFIG, "f", 1, 1, "m"), TG_ECONFIG);
}

static void test_quote(void)
{
    char q[TG_CONFIG_QUOTE_CAP];
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, "abc", 3), "\"abc\"");
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, "", 0), "\"\"");
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, "\n\t\x7f\xc3\xa9", 5),
                    "\"\\x0a\\x09\\x7f\\xc3\\xa9\"");
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, "a\0b", 3), "\"a\\x00b\"");
    const char *s41 = "12345678901234567890123456789012345678901";
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, s41, 41),
                    "\"1234567890123456789012345678901234567890\"...");
    TG_EXPECT_STREQ(tg_config__quote(q, sizeof q, s41, 40),
                    "\"1234567890123456789012345678901234567890\"");
    /* Forty bytes that each need four output bytes still fit the recommended capacity. */
    char ctl[50];
    memset(ctl, 1, sizeof ctl);
    tg_config__quote(q, sizeof q, ctl, sizeof ctl);
    TG_EXPECT_EQ(strlen(q), 1 + 40 * 4 + 1 + 3);
    /* A small buffer truncates cleanly instead of overflowing. */
    char small[12];
    tg_config__quote(small, sizeof small, "abcdefghij", 10);
    TG_EXPECT_STREQ(small, "\"ab\"...");
    tg_config__quote(small, 4, "abc", 3);
    TG_EXPECT_STREQ(small, "");
}

static void test_suggest(void)
{
    static const char *const keys[] = {"listen",    "workers",          "admin",
                                       "limits",    "timeouts",         "endpoints",
                                       "upstreams", "default_upstream", "routes"};
    size_t n = sizeof keys / sizeof keys[0];
    TG_EXPECT_STREQ(tg_config__suggest("listn", keys, n), "listen");
    TG_EXPECT_STREQ(tg_config__suggest("upstream", keys, n), "upstreams");
    TG_EXPECT_STREQ(tg_config__suggest("route", keys, n), "routes");
    TG_EXPECT_STREQ(tg_config__suggest("timeout", keys, n), "timeouts");
    TG_EXPECT_STREQ(tg_config__suggest("wrokers", keys, n), "workers");
    TG_EXPECT(tg_config__suggest("banana", keys, n) == NULL);
    TG_EXPECT(tg_config__suggest("x", keys, n) == NULL);
    TG_EXPECT(tg_config__suggest("", keys, n) == NULL);
    TG_EXPECT(tg_config__suggest("listen", keys, 0) == NULL);
    static const char *const lbs[] = {"round_robin", "least_conn", "p2c_ewma"};
    TG_EXPECT_STREQ(tg_config__suggest("least_con", lbs, 3), "least_conn");
    TG_EXPECT_STREQ(tg_config__suggest("round-robin", lbs, 3), "round_robin");
    TG_EXPECT(tg_config__suggest("rr", lbs, 3) == NULL);
    char huge[100];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    TG_EXPECT(tg_config__suggest(huge, lbs, 3) == NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_errf();
    test_quote();
    test_suggest();
    return tg_test_report(argv[0]);
}
