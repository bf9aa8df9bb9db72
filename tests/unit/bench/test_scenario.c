/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/scenario.c and url.c: the scenario format (weights, methods,
 * targets, body files, indented headers, comments, CRLF), its errors with line numbers,
 * joining paths to the base URL, URL parsing (ports, IPv6, paths, rejected forms), and
 * loading files. */
#include "bench/scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_test.h"

static struct tg_bench_reqspec specs[8];

static void test_scenario(void)
{
    char text[] = "# the runbook's mix\r\n"
                  "80 GET /api/products\r\n"
                  "\n"
                  "20 POST /api/content/generate @generate.json\n"
                  "    Content-Type: application/json\n"
                  "\tX-Trace:  on  \n"
                  "DELETE http://127.0.0.1:8080/x?y=1\n";
    uint32_t n = 0;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_bench__parse_scenario(text, specs, 8, &n, &eb), 0);
    TG_EXPECT_EQ(n, 3);
    TG_EXPECT_EQ(specs[0].weight, 80);
    TG_EXPECT_STREQ(specs[0].method, "GET");
    TG_EXPECT_STREQ(specs[0].target, "/api/products");
    TG_EXPECT_EQ(specs[0].line, 2);
    TG_EXPECT_EQ(specs[1].weight, 20);
    TG_EXPECT_STREQ(specs[1].body_file, "generate.json");
    TG_EXPECT_EQ(specs[1].nheaders, 2);
    TG_EXPECT_STREQ(specs[1].headers[0], "Content-Type: application/json");
    TG_EXPECT_STREQ(specs[1].headers[1], "X-Trace:  on");
    TG_EXPECT_EQ(specs[2].weight, 1);
    TG_EXPECT_STREQ(specs[2].method, "DELETE");

    struct tg_bench_url base;
    TG_EXPECT_EQ(tg_bench__parse_url("http://127.0.0.1:8080/ignored", &base, &eb), 0);
    TG_EXPECT_EQ(tg_bench__resolve_target(&specs[0], &base, &eb), 0);
    TG_EXPECT_STREQ(specs[0].url.path, "/api/products");
    TG_EXPECT_STREQ(specs[0].url.authority, "127.0.0.1:8080");
    TG_EXPECT_EQ(tg_bench__resolve_target(&specs[2], &base, &eb), 0);
    TG_EXPECT_STREQ(specs[2].url.path, "/x?y=1");
    TG_EXPECT(tg_bench__same_origin(&specs[0].url, &specs[2].url));
    TG_EXPECT_EQ(tg_bench__resolve_target(&specs[0], NULL, &eb), TG_EPARSE);

    struct {
        const char *text;
        int line;
    } bad[] = {
        {"", 0},
        {"# only comments\n\n", 0},
        {"  X-A: 1\nGET /\n", 1},
        {"GET /\n  not a header\n", 2},
        {"0 GET /\n", 1},
        {"1000001 GET /\n", 1},
        {"80\n", 1},
        {"80 GET\n", 1},
        {"GET / body.json\n", 1},
        {"GET / @\n", 1},
        {"GET / @a.json extra\n", 1},
        {"GET /\n\nG(T /\n", 3},
        {"GET /\x01\n", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", bad[i].text);
        memset(&eb, 0, sizeof eb);
        int rc = tg_bench__parse_scenario(buf, specs, 8, &n, &eb);
        if (rc != TG_EPARSE || eb.line != bad[i].line)
            fprintf(stderr, "case %zu: rc %d line %d msg %s\n", i, rc, eb.line, eb.msg);
        TG_EXPECT_EQ(rc, TG_EPARSE);
        TG_EXPECT_EQ(eb.line, bad[i].line);
    }
    char many[512] = "";
    for (int i = 0; i < 9; i++)
        strcat(many, "GET /\n");
    TG_EXPECT_EQ(tg_bench__parse_scenario(many, specs, 8, &n, &eb), TG_EPARSE);
}

static void test_urls(void)
{
    struct tg_bench_url u;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_bench__parse_url("http://127.0.0.1:8080/api/x?q=1", &u, &eb), 0);
    TG_EXPECT_STREQ(u.host, "127.0.0.1");
    TG_EXPECT_STREQ(u.port, "8080");
    TG_EXPECT_STREQ(u.authority, "127.0.0.1:8080");
    TG_EXPECT_STREQ(u.path, "/api/x?q=1");
    TG_EXPECT_EQ(tg_bench__parse_url("http://localhost", &u, &eb), 0);
    TG_EXPECT_STREQ(u.host, "localhost");
    TG_EXPECT_STREQ(u.port, "80");
    TG_EXPECT_STREQ(u.path, "/");
    TG_EXPECT_EQ(tg_bench__parse_url("http://[::1]:9000", &u, &eb), 0);
    TG_EXPECT_STREQ(u.host, "::1");
    TG_EXPECT_STREQ(u.port, "9000");
    TG_EXPECT_STREQ(u.authority, "[::1]:9000");
    TG_EXPECT_EQ(tg_bench__parse_url("http://[::1]/p", &u, &eb), 0);
    TG_EXPECT_STREQ(u.port, "80");
    const char *bad[] = {"127.0.0.1:8080",  "https://a/",   "ftp://a/",        "http://",
                         "http:///x",       "http://a:0/",  "http://a:65536/", "http://a:x/",
                         "http://a:/",      "http://[::1/", "http://[::1]x/",  "http://u:p@a/",
                         "http://a/x#frag", "http://a/ b",  "http://a?x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tg_bench__parse_url(bad[i], &u, &eb);
        if (rc != TG_EPARSE)
            fprintf(stderr, "accepted %s\n", bad[i]);
        TG_EXPECT_EQ(rc, TG_EPARSE);
    }
    struct tg_bench_url a, b;
    tg_bench__parse_url("http://127.0.0.1:80/a", &a, &eb);
    tg_bench__parse_url("http://127.0.0.1/b", &b, &eb);
    TG_EXPECT(tg_bench__same_origin(&a, &b));
    tg_bench__parse_url("http://127.0.0.1:81/b", &b, &eb);
    TG_EXPECT(!tg_bench__same_origin(&a, &b));
    /* Resolving a literal needs no network. */
    struct sockaddr_storage ss;
    socklen_t len;
    tg_bench__parse_url("http://127.0.0.1:8080/", &u, &eb);
    TG_EXPECT_EQ(tg_bench__resolve(&u, &ss, &len, &eb), 0);
    char s[64];
    tg_bench__addr_str(&ss, s, sizeof s);
    TG_EXPECT_STREQ(s, "127.0.0.1:8080");
}

static void test_load_file(void)
{
    char path[] = "/tmp/tg-bench-test-XXXXXX";
    int fd = mkstemp(path);
    TG_EXPECT(fd >= 0);
    TG_EXPECT_EQ(write(fd, "hello\0world", 11), 11);
    close(fd);
    char *text = NULL;
    size_t len = 0;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(tg_bench__load_file(path, &text, &len, &eb), 0);
    TG_EXPECT_EQ(len, 11);
    TG_EXPECT(memcmp(text, "hello\0world", 12) == 0);
    free(text);
    unlink(path);
    TG_EXPECT(tg_bench__load_file(path, &text, &len, &eb) < 0);
    TG_EXPECT(strstr(eb.msg, path) != NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_scenario();
    test_urls();
    test_load_file();
    return tg_test_report(argv[0]);
}
