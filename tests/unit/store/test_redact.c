/* SPDX-License-Identifier: MIT */
/* Unit tests for src/store/redact.c: which names are secret, redaction at any depth and
 * of whole values, text kept byte for byte when nothing is secret, and refusal of text
 * that is not JSON (with its position) or has a duplicate name. */
#include "store/redact.h"

#include <stdlib.h>
#include <string.h>

#include "store/redact_int.h"
#include "store_test.h"

static void test_names(void)
{
    const char *secret[] = {"token",     "admin.token",   "TOKEN_FILE",    "password",
                            "db_passwd", "client_secret", "Authorization", "x_api_key",
                            "ApiKey",    "credentials",   "private_key",   "Set-Cookie"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        if (!tg_store_is_secret(secret[i]))
            tg_test_fail_s(__FILE__, __LINE__, "is secret", secret[i], "true");
        tg_test_checks++;
    }
    const char *plain[] = {"timeout_ms",  "failure_threshold", "enabled", "features", "count",
                           "sample_rate", "upstream",          "route",   "",         "pass",
                           "key"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (tg_store_is_secret(plain[i]))
            tg_test_fail_s(__FILE__, __LINE__, "is not secret", plain[i], "false");
        tg_test_checks++;
    }
    TG_EXPECT(!tg_store_is_secret(NULL));
}

/* Redacts `in` under `name` and compares with `want`. */
static void expect_redact(const char *in, const char *name, const char *want, int line)
{
    char *out = NULL;
    struct tg_errbuf eb = {0};
    int rc = tg_store_redact(in, name, &out, &eb);
    tg_test_checks++;
    if (rc != 0)
        tg_test_fail_s(__FILE__, line, "redact succeeds", eb.msg, in);
    else if (strcmp(out, want) != 0)
        tg_test_fail_s(__FILE__, line, "redacted text", out, want);
    free(out);
}

static void test_redact(void)
{
    /* Nothing secret: the caller's text, spaces and number spellings included. */
    expect_redact("{ \"sample_rate\": 0.1, \"enabled\": true }", "tracing",
                  "{ \"sample_rate\": 0.1, \"enabled\": true }", __LINE__);
    expect_redact("5000", "timeouts.default_ms", "5000", __LINE__);
    expect_redact("[\"analytics\",\"recommendations\"]", NULL,
                  "[\"analytics\",\"recommendations\"]", __LINE__);
    /* A secret member at the top, nested, inside arrays, and one holding an object. */
    expect_redact("{\"token\":\"abc\",\"enabled\":true}", "admin",
                  "{\"token\":\"[redacted]\",\"enabled\":true}", __LINE__);
    expect_redact("{\"hook\":{\"url\":\"http://x\",\"Authorization\":\"Bearer s3cr3t\"}}", NULL,
                  "{\"hook\":{\"url\":\"http://x\",\"Authorization\":\"[redacted]\"}}", __LINE__);
    expect_redact("[{\"password\":\"p\"},{\"name\":\"n\"}]", NULL,
                  "[{\"password\":\"[redacted]\"},{\"name\":\"n\"}]", __LINE__);
    expect_redact("{\"secrets\":{\"a\":1,\"b\":[2]}}", NULL, "{\"secrets\":\"[redacted]\"}",
                  __LINE__);
    /* The setting itself is secret: the whole value goes, whatever its type. */
    expect_redact("\"hunter2\"", "admin.token", "\"[redacted]\"", __LINE__);
    expect_redact("{\"file\":\"/etc/tg/token\"}", "admin.token_file", "\"[redacted]\"", __LINE__);
    expect_redact("null", "db.password", "\"[redacted]\"", __LINE__);
}

static void test_refused(void)
{
    char *out = (char *)1;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_redact("{\"a\":1,}", NULL, &out, &eb), TG_EPARSE);
    TG_EXPECT(out == NULL);
    EXPECT_HAS(eb.msg, "not JSON: line 1 column 8");
    /* A duplicate name could hide a second copy of a secret from a reader. */
    TG_EXPECT_EQ(tg_store_redact("{\"token\":\"a\",\"token\":\"b\"}", NULL, &out, &eb), TG_EPARSE);
    EXPECT_HAS(eb.msg, "duplicate");
    /* Not JSON even when the name is secret: the caller has a bug to hear about. */
    TG_EXPECT_EQ(tg_store_redact("hunter2", "admin.token", &out, &eb), TG_EPARSE);
    TG_EXPECT_EQ(tg_store_redact("", NULL, &out, &eb), TG_EPARSE);
    TG_EXPECT_EQ(tg_store_redact("1 2", NULL, &out, &eb), TG_EPARSE);

    TG_EXPECT_EQ(tg_store__json_check("{\"a\":[1,2,{}]}", "v", &eb), 0);
    TG_EXPECT_EQ(tg_store__json_check("\"x\"", "v", &eb), 0);
    TG_EXPECT_EQ(tg_store__json_check("{a:1}", "the override's value", &eb), TG_EPARSE);
    EXPECT_HAS(eb.msg, "store: the override's value is not JSON: line 1 column 2");
}

int main(int argc, char **argv)
{
    (void)argc;
    test_names();
    test_redact();
    test_refused();
    return tg_test_report(argv[0]);
}
