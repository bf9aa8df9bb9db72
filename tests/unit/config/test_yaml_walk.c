/* SPDX-License-Identifier: MIT */
/* The strict reader, exercised through tg_config_load_string on small documents: each
 * value kind's refusals, unknown/duplicate/non-string keys, missing required keys, list
 * limits, YAML's looser typing refused, and that every error points at the exact
 * line:column of the offending node and names its key path. */
#include "config/yaml_walk_int.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tg_test.h"

static struct tg_errbuf eb;

static int load(const char *y)
{
    struct tg_config *c = (struct tg_config *)1;
    memset(&eb, 0, sizeof eb);
    int rc = tg_config_load_string(y, strlen(y), "t.yaml", &c, &eb);
    if (rc != 0 && c != NULL)
        return -1; /* a failed load must leave *out NULL */
    tg_config_free(c);
    return rc;
}

/* 1-based line and column of the first `needle` in `y`, the place errors must point. */
static void where(const char *y, const char *needle, int *line, int *col)
{
    const char *p = strstr(y, needle);
    *line = 1;
    *col = 1;
    for (const char *c = y; p && c < p; c++) {
        if (*c == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
    if (!p)
        *line = *col = -1;
}

/* Loading `y` fails with TG_ECONFIG at the first `at` in `y`, with exactly `msg`. */
#define EXPECT_ERR(y_, at_, msg_)                                                                  \
    do {                                                                                           \
        int l_, c_;                                                                                \
        where((y_), (at_), &l_, &c_);                                                              \
        TG_EXPECT_EQ(load(y_), TG_ECONFIG);                                                        \
        TG_EXPECT_STREQ(eb.file, "t.yaml");                                                        \
        TG_EXPECT_EQ(eb.line, l_);                                                                 \
        TG_EXPECT_EQ(eb.column, c_);                                                               \
        TG_EXPECT_STREQ(eb.msg, (msg_));                                                           \
    } while (0)

/* The same with a position given by hand: an empty value has no text to search for, and
 * libyaml places it just after the colon. */
#define EXPECT_ERR_AT(y_, line_, col_, msg_)                                                       \
    do {                                                                                           \
        TG_EXPECT_EQ(load(y_), TG_ECONFIG);                                                        \
        TG_EXPECT_EQ(eb.line, (line_));                                                            \
        TG_EXPECT_EQ(eb.column, (col_));                                                           \
        TG_EXPECT_STREQ(eb.msg, (msg_));                                                           \
    } while (0)

static void test_root(void)
{
    EXPECT_ERR("- a\n", "-", "expected a mapping, got a list");
    EXPECT_ERR("hello\n", "hello", "expected a mapping, got \"hello\"");
    EXPECT_ERR("'hello'\n", "'", "expected a mapping, got the string \"hello\"");
    EXPECT_ERR("~\n", "~", "expected a mapping, got null");
    TG_EXPECT_EQ(load("{}\n"), 0);
}

static void test_keys(void)
{
    EXPECT_ERR("workers: 1\nlistn: ':8000'\n", "listn",
               "unknown key \"listn\" (did you mean \"listen\"?)");
    EXPECT_ERR("foo: 1\n", "foo",
               "unknown key \"foo\" (docs/config.md lists the keys)");
    EXPECT_ERR("admin:\n  foo: 1\n", "foo",
               "admin: unknown key \"foo\" (allowed: listen, mount_on_proxy, token, token_file)");
    EXPECT_ERR("admin:\n  listen: ':9091'\n  tokn: x\n", "tokn",
               "admin: unknown key \"tokn\" (did you mean \"token\"?)");
    EXPECT_ERR("workers: 1\nworkers: 2\n", "workers: 2",
               "duplicate key \"workers\" (first at line 1)");
    EXPECT_ERR("timeouts:\n  idle: 1s\n  header: 1s\n  idle: 2s\n", "idle: 2s",
               "timeouts: duplicate key \"idle\" (first at line 2)");
    EXPECT_ERR("? [a]\n: 1\n", "[a]", "keys must be plain strings, got a list");
    EXPECT_ERR("~: 1\n", "~", "keys must be plain strings, got null");
    EXPECT_ERR("\"a\\0b\": 1\n", "\"a", "keys must be plain strings, got the string \"a\\x00b\"");
    /* Keys are case-sensitive. */
    EXPECT_ERR("Workers: 1\n", "Workers", "unknown key \"Workers\" (did you mean \"workers\"?)");
}

static void test_integers(void)
{
    EXPECT_ERR("workers: two\n", "two", "workers: expected an integer, got \"two\"");
    EXPECT_ERR("workers: '2'\n", "'2'",
               "workers: expected an integer, got the string \"2\" (remove the quotes)");
    EXPECT_ERR("workers: -1\n", "-1", "workers: expected an integer, got \"-1\"");
    EXPECT_ERR("workers: 1.5\n", "1.5", "workers: expected an integer, got \"1.5\"");
    EXPECT_ERR("workers: 0x10\n", "0x10", "workers: expected an integer, got \"0x10\"");
    EXPECT_ERR("workers: 1_000\n", "1_000", "workers: expected an integer, got \"1_000\"");
    EXPECT_ERR("workers: 2000\n", "2000", "workers: 2000 is out of range (allowed 0 to 1024)");
    EXPECT_ERR("workers: 99999999999999999999\n", "999",
               "workers: 99999999999999999999 is out of range (allowed 0 to 1024)");
    EXPECT_ERR("workers: 4294967297\n", "429",
               "workers: 4294967297 is out of range (allowed 0 to 1024)");
    EXPECT_ERR_AT("workers:\n", 1, 9, "workers: expected an integer, got an empty value");
    EXPECT_ERR_AT("workers: \n", 1, 9, "workers: expected an integer, got an empty value");
    EXPECT_ERR("workers: [1]\n", "[1]", "workers: expected an integer, got a list");
    EXPECT_ERR("endpoints: {max: 0}\n", "0}",
               "endpoints.max: 0 is out of range (allowed 1 to "
               "100000)");
}

static void test_bools_strings(void)
{
    EXPECT_ERR("admin: {mount_on_proxy: yes}\n", "yes",
               "admin.mount_on_proxy: expected true or false, got \"yes\"");
    EXPECT_ERR("admin: {mount_on_proxy: 'true'}\n", "'true'",
               "admin.mount_on_proxy: expected true or false, got the string \"true\"");
    EXPECT_ERR("admin: {mount_on_proxy: 1}\n", "1}",
               "admin.mount_on_proxy: expected true or false, got \"1\"");
    EXPECT_ERR_AT("admin:\n  token:\n", 2, 9, "admin.token: expected a string, got an empty value");
    EXPECT_ERR("admin:\n  token: ~\n", "~", "admin.token: expected a string, got null");
    EXPECT_ERR("admin:\n  token: [a]\n", "[a]", "admin.token: expected a string, got a list");
    EXPECT_ERR("admin:\n  token: \"a\\0b\"\n", "\"a", "admin.token: NUL bytes are not allowed");

    char y[300] = "admin: {token: ";
    memset(y + strlen(y), 'x', 128);
    strcat(y, "}\n");
    EXPECT_ERR(y, "xxx", "admin.token: too long (128 bytes, at most 127)");

    struct tg_config *c;
    const char *ok = "admin: {mount_on_proxy: True, token: \"\"}\n";
    TG_EXPECT_EQ(tg_config_load_string(ok, strlen(ok), NULL, &c, &eb), 0);
    TG_EXPECT(c && c->admin_mount_on_proxy);
    TG_EXPECT_STREQ(c->admin_token, "");
    tg_config_free(c);
    ok = "admin: {mount_on_proxy: FALSE, token: 12345}\n";
    TG_EXPECT_EQ(tg_config_load_string(ok, strlen(ok), NULL, &c, &eb), 0);
    TG_EXPECT(c && !c->admin_mount_on_proxy);
    TG_EXPECT_STREQ(c->admin_token, "12345");
    tg_config_free(c);
}

static void test_units_addrs_enums(void)
{
    EXPECT_ERR("timeouts: {idle: 5x}\n", "5x",
               "timeouts.idle: bad duration \"5x\" (use 250ms, 10s, 2m)");
    EXPECT_ERR("timeouts:\n  idle: 30\n", "30",
               "timeouts.idle: bad duration \"30\" (missing unit, e.g. 30s or 250ms)");
    EXPECT_ERR("timeouts: {header: 2h}\n", "2h",
               "timeouts.header: 2h is out of range (allowed 1ms to 1h)");
    EXPECT_ERR("timeouts: {idle: 0}\n", "0}",
               "timeouts.idle: 0 is out of range (allowed 1ms to 24h)");
    EXPECT_ERR("endpoints: {idle_timeout: 500ms}\n", "500ms}",
               "endpoints.idle_timeout: 500ms is out of range (allowed 1s to 168h)");
    EXPECT_ERR("timeouts: {idle: {a: 1}}\n", "{a",
               "timeouts.idle: expected a duration such as 10s, got a mapping");
    EXPECT_ERR("limits: {max_header_bytes: 16KB}\n", "16KB",
               "limits.max_header_bytes: bad size \"16KB\" (use 16KiB for 16384 bytes or 16kB "
               "for 16000)");
    EXPECT_ERR("limits: {max_header_bytes: 512}\n", "512",
               "limits.max_header_bytes: 512 is out of range (allowed 1KiB to 1MiB)");
    EXPECT_ERR("limits:\n  max_header_bytes: [1]\n", "[1]",
               "limits.max_header_bytes: expected a size such as 16KiB, got a list");
    EXPECT_ERR("listen: example.com:80\n", "example",
               "listen: bad address \"example.com:80\": hostnames are not supported, use an IP "
               "address");
    EXPECT_ERR("listen: 8000\n", "8000",
               "listen: bad address \"8000\": missing port (use host:port, e.g. 127.0.0.1:8080 "
               "or :8000)");
    EXPECT_ERR_AT("listen:\n", 1, 8,
                  "listen: expected an address such as 127.0.0.1:8080, got an empty value");
    EXPECT_ERR("upstreams:\n  - name: a\n    balance: rr\n    servers: ['1.2.3.4:1']\n", "rr",
               "upstreams[0].balance: unknown value \"rr\" (allowed: round_robin, least_conn, "
               "p2c_ewma)");
    EXPECT_ERR("upstreams:\n  - name: a\n    balance: least_con\n    servers: ['1.2.3.4:1']\n",
               "least_con",
               "upstreams[0].balance: unknown value \"least_con\" (did you mean "
               "\"least_conn\"?)");
    EXPECT_ERR("upstreams:\n  - name: a\n    balance: [rr]\n    servers: ['1.2.3.4:1']\n", "[rr]",
               "upstreams[0].balance: expected a string, got a list");
}

static void test_structure(void)
{
    EXPECT_ERR("upstreams:\n  - servers: ['1.2.3.4:1']\n", "servers",
               "upstreams[0]: missing required key \"name\"");
    EXPECT_ERR("upstreams: [{servers: ['1.2.3.4:1']}]\n", "{",
               "upstreams[0]: missing required key \"name\"");
    EXPECT_ERR("upstreams: {a: 1}\n", "{a", "upstreams: expected a list, got a mapping");
    EXPECT_ERR("upstreams: x\n", "x", "upstreams: expected a list, got \"x\"");
    EXPECT_ERR("upstreams:\n  - 5\n", "5", "upstreams[0]: expected a mapping, got \"5\"");
    EXPECT_ERR("admin: []\n", "[]", "admin: expected a mapping, got a list");
    EXPECT_ERR("routes:\n  - {name: r, path: /a, methods: [GET, GET, GET, GET, GET, GET, GET, "
               "GET, GET, GET, GET, GET, GET, GET, GET, GET, GET]}\n",
               "[GET", "routes[0].methods: too many entries (17, at most 16)");

    /* A list longer than the cap is refused before anything is allocated for it. */
    size_t n = TG_CFG_MAX_UPSTREAMS + 1, off = 0;
    char *big = malloc(n * 4 + 32);
    off += (size_t)sprintf(big, "upstreams: [");
    for (size_t i = 0; i < n; i++)
        off += (size_t)sprintf(big + off, "%s{}", i ? "," : "");
    strcpy(big + off, "]\n");
    EXPECT_ERR(big, "[", "upstreams: too many entries (1001, at most 1000)");
    free(big);
}

static void test_aliases(void)
{
    /* Anchors and aliases are plain YAML and work; errors point at the anchored node. */
    struct tg_config *c;
    const char *y = "timeouts: {idle: &d 5s, header: *d}\n";
    TG_EXPECT_EQ(tg_config_load_string(y, strlen(y), NULL, &c, &eb), 0);
    TG_EXPECT_EQ(c ? c->header_timeout_us : 0, 5000000);
    TG_EXPECT_EQ(c ? c->idle_timeout_us : 0, 5000000);
    tg_config_free(c);
    EXPECT_ERR("admin: {token: &t [x]}\ntimeouts: {idle: *t}\n", "&t",
               "admin.token: expected a string, got a list");
    /* A self-referencing node cannot loop the walker: the schema bounds the depth. */
    EXPECT_ERR("admin: &a {listen: *a}\n", "&a",
               "admin.listen: expected an address such as 127.0.0.1:8080, got a mapping");
}

static void test_path_helpers(void)
{
    struct tg_config_walk w = {.file = "f"};
    size_t a = tg_config__walk_push_key(&w, "upstreams");
    size_t b = tg_config__walk_push_index(&w, 12);
    tg_config__walk_push_key(&w, "health_check");
    TG_EXPECT_STREQ(w.path, "upstreams[12].health_check");
    tg_config__walk_pop(&w, b);
    TG_EXPECT_STREQ(w.path, "upstreams");
    tg_config__walk_pop(&w, a);
    TG_EXPECT_STREQ(w.path, "");
    /* An absurdly deep path is cut, never overrun. */
    for (int i = 0; i < 100; i++)
        tg_config__walk_push_key(&w, "abcdefgh");
    TG_EXPECT_EQ(w.pathlen, sizeof w.path - 1);
    TG_EXPECT_EQ(strlen(w.path), sizeof w.path - 1);
    tg_config__walk_push_index(&w, 3);
    TG_EXPECT_EQ(w.pathlen, sizeof w.path - 1);
    struct tg_errbuf e;
    w.eb = &e;
    TG_EXPECT_EQ(tg_config__walk_err(&w, NULL, "m"), TG_ECONFIG);
    TG_EXPECT_EQ(e.line, 0);
    TG_EXPECT_EQ(strlen(e.msg), sizeof w.path - 1 + 3);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_root();
    test_keys();
    test_integers();
    test_bools_strings();
    test_units_addrs_enums();
    test_structure();
    test_aliases();
    test_path_helpers();
    return tg_test_report(argv[0]);
}
