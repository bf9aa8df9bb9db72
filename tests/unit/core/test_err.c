/* SPDX-License-Identifier: MIT */
/* Unit tests for src/core/err.c: tg_strerror for project codes, -errno values and codes
 * it does not know, and tg_errbuf_set (formatting, truncation, NULL buffer). */
#include "core/err.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "tg_test.h"

static void test_project_codes(void)
{
    TG_EXPECT_STREQ(tg_strerror(TG_DONE), "done");
    TG_EXPECT_STREQ(tg_strerror(TG_AGAIN), "again");
    TG_EXPECT_STREQ(tg_strerror(TG_EPARSE), "parse error");
    TG_EXPECT_STREQ(tg_strerror(TG_ELIMIT), "limit exceeded");
    TG_EXPECT_STREQ(tg_strerror(TG_ECONFIG), "invalid configuration");
    TG_EXPECT_STREQ(tg_strerror(TG_ESTORE), "storage error");
    TG_EXPECT_STREQ(tg_strerror(TG_ETOOBIG), "too large");
    TG_EXPECT_STREQ(tg_strerror(TG_ENOTFOUND), "not found");
    TG_EXPECT_STREQ(tg_strerror(TG_ECLOSED), "connection closed");
    /* Project codes never collide with -errno. */
    TG_EXPECT_LT(TG_EPARSE, -4095);
    TG_EXPECT_LT(TG_ECLOSED, -4095);
}

static void test_errno_codes(void)
{
    TG_EXPECT_STREQ(tg_strerror(-ENOENT), "No such file or directory");
    TG_EXPECT_STREQ(tg_strerror(-ENOMEM), "Cannot allocate memory");
    TG_EXPECT_STREQ(tg_strerror(-ECONNREFUSED), "Connection refused");
    TG_EXPECT_STREQ(tg_strerror(-EAGAIN), "Resource temporarily unavailable");
    TG_EXPECT_STREQ(tg_strerror(-EPIPE), "Broken pipe");
    /* Every errno the C library knows has a non-empty message. */
    for (int e = 1; e < 134; e++) {
        const char *s = tg_strerror(-e);
        TG_EXPECT(s != NULL && s[0] != '\0');
    }
}

static void test_unknown_codes(void)
{
    TG_EXPECT_STREQ(tg_strerror(-4000), "unknown error");  /* unassigned errno */
    TG_EXPECT_STREQ(tg_strerror(-4096), "unknown error");  /* outside the errno range */
    TG_EXPECT_STREQ(tg_strerror(-10000), "unknown error"); /* just above project codes */
    TG_EXPECT_STREQ(tg_strerror(-10999), "unknown error");
    TG_EXPECT_STREQ(tg_strerror(2), "unknown error");
    TG_EXPECT_STREQ(tg_strerror(INT_MAX), "unknown error");
    TG_EXPECT_STREQ(tg_strerror(INT_MIN), "unknown error");
}

static void test_errbuf(void)
{
    /* NULL buffer: only returns the code. */
    TG_EXPECT_EQ(tg_errbuf_set(NULL, TG_ECONFIG, "x %d", 1), TG_ECONFIG);

    struct tg_errbuf eb;
    memset(&eb, 0, sizeof eb);
    TG_EXPECT_EQ(tg_errbuf_set(&eb, TG_EPARSE, "bad %s at %d", "token", 42), TG_EPARSE);
    TG_EXPECT_EQ(eb.code, TG_EPARSE);
    TG_EXPECT_STREQ(eb.msg, "bad token at 42");

    /* Overwrites the previous message and code. */
    TG_EXPECT_EQ(tg_errbuf_set(&eb, -ENOENT, "%s", "gone"), -ENOENT);
    TG_EXPECT_EQ(eb.code, -ENOENT);
    TG_EXPECT_STREQ(eb.msg, "gone");

    /* Empty message. */
    TG_EXPECT_EQ(tg_errbuf_set(&eb, 0, "%s", ""), 0);
    TG_EXPECT_STREQ(eb.msg, "");

    /* Long messages are truncated to TG_ERRBUF_MSG - 1 bytes and NUL-terminated. */
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(&eb, 0x55, sizeof eb);
    TG_EXPECT_EQ(tg_errbuf_set(&eb, TG_ELIMIT, "%s", big), TG_ELIMIT);
    TG_EXPECT_EQ(strlen(eb.msg), TG_ERRBUF_MSG - 1);
    TG_EXPECT_EQ(eb.msg[TG_ERRBUF_MSG - 1], '\0');
    TG_EXPECT_EQ(eb.msg[0], 'z');
    TG_EXPECT_EQ(eb.msg[TG_ERRBUF_MSG - 2], 'z');
}

int main(int argc, char **argv)
{
    (void)argc;
    test_project_codes();
    test_errno_codes();
    test_unknown_codes();
    test_errbuf();
    return tg_test_report(argv[0]);
}
