/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/request.c: the exact bytes of built requests (Host, User-Agent,
 * Connection: close, Content-Length, header order, bodies), user headers that replace the
 * defaults, rejected headers and methods, and the weighted cycle (exact proportions,
 * interleaving, gcd reduction). The built bytes must parse as a request. */
#include "bench/request_int.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static struct tg_bench_reqspec spec(const char *method, const char *url, uint32_t weight)
{
    struct tg_bench_reqspec s = {.method = method, .target = url, .weight = weight};
    struct tg_errbuf eb;
    tg_bench__parse_url(url, &s.url, &eb);
    return s;
}

static void test_bytes(void)
{
    struct tg_bench_reqset rs;
    struct tg_errbuf eb;
    struct tg_bench_reqspec s[3] = {spec("GET", "http://127.0.0.1:8080/api?x=1", 1),
                                    spec("POST", "http://127.0.0.1:8080/gen", 1),
                                    spec("HEAD", "http://127.0.0.1:8080/h", 1)};
    s[1].body = "{\"a\":1}";
    s[1].body_len = 7;
    s[1].headers[s[1].nheaders++] = "Content-Type: application/json";
    const char *global[] = {"X-Run: 7"};
    TG_EXPECT_EQ(tg_bench__reqset_build(&rs, s, 3, global, 1, true, &eb), 0);
    TG_EXPECT_EQ(rs.n, 3);
    TG_EXPECT_MEMEQ(rs.r[0].bytes, rs.r[0].len,
                    "GET /api?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                    "User-Agent: tailguard-bench/" TG_VERSION "\r\nX-Run: 7\r\n\r\n");
    TG_EXPECT_EQ(rs.r[0].method, TG_HTTP_GET);
    TG_EXPECT_MEMEQ(rs.r[1].bytes, rs.r[1].len,
                    "POST /gen HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                    "User-Agent: tailguard-bench/" TG_VERSION "\r\nX-Run: 7\r\n"
                    "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
    TG_EXPECT_EQ(rs.r[2].method, TG_HTTP_HEAD);
    /* Every built request is a valid request for our own parser. */
    for (uint32_t i = 0; i < rs.n; i++) {
        static struct tg_http_msg m;
        int r = tg_http1_parse_request(rs.r[i].bytes, rs.r[i].len, NULL, &m, NULL);
        TG_EXPECT_GT(r, 0);
        TG_EXPECT(m.flags & TG_HTTP_F_KEEPALIVE);
    }
    tg_bench__reqset_deinit(&rs);

    /* Keep-alive off, user Host and User-Agent replace ours, POST without a body. */
    struct tg_bench_reqspec p = spec("POST", "http://127.0.0.1:8080/", 1);
    p.headers[p.nheaders++] = "host: example.test";
    p.headers[p.nheaders++] = "User-Agent: me";
    TG_EXPECT_EQ(tg_bench__reqset_build(&rs, &p, 1, NULL, 0, false, &eb), 0);
    TG_EXPECT_MEMEQ(rs.r[0].bytes, rs.r[0].len,
                    "POST / HTTP/1.1\r\nConnection: close\r\nhost: example.test\r\n"
                    "User-Agent: me\r\nContent-Length: 0\r\n\r\n");
    tg_bench__reqset_deinit(&rs);
    tg_bench__reqset_deinit(&rs); /* twice is fine */

    /* Rejected. */
    const char *bad_headers[] = {"NoColon",           ": v",
                                 "Bad Name: v",       "X: a\r\nY: b",
                                 "Content-Length: 5", "transfer-encoding: chunked"};
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        struct tg_bench_reqspec b = spec("GET", "http://a/", 1);
        b.headers[b.nheaders++] = bad_headers[i];
        TG_EXPECT_EQ(tg_bench__reqset_build(&rs, &b, 1, NULL, 0, true, &eb), TG_EPARSE);
        tg_bench__reqset_deinit(&rs);
        struct tg_bench_reqspec g = spec("GET", "http://a/", 1);
        TG_EXPECT_EQ(tg_bench__reqset_build(&rs, &g, 1, &bad_headers[i], 1, true, &eb), TG_EPARSE);
        tg_bench__reqset_deinit(&rs);
    }
    const char *bad_methods[] = {"get", "G ET", "", "GET/"};
    for (size_t i = 0; i < sizeof bad_methods / sizeof bad_methods[0]; i++) {
        struct tg_bench_reqspec b = spec(bad_methods[i], "http://a/", 1);
        TG_EXPECT_EQ(tg_bench__reqset_build(&rs, &b, 1, NULL, 0, true, &eb), TG_EPARSE);
        tg_bench__reqset_deinit(&rs);
    }
    /* A scenario line number prefixes the message. */
    struct tg_bench_reqspec b = spec("GET", "http://a/", 1);
    b.line = 7;
    b.headers[b.nheaders++] = "Bad Name: v";
    tg_bench__reqset_build(&rs, &b, 1, NULL, 0, true, &eb);
    TG_EXPECT(strncmp(eb.msg, "scenario line 7:", 16) == 0);
    tg_bench__reqset_deinit(&rs);
    TG_EXPECT(tg_bench__header_ok("X-Ok:"));
    TG_EXPECT(tg_bench__header_ok("X-Ok: a\tb"));
}

static void test_cycle(void)
{
    struct tg_bench_reqset rs;
    struct tg_errbuf eb;
    struct tg_bench_reqspec s[3] = {spec("GET", "http://a/1", 80), spec("GET", "http://a/2", 20),
                                    spec("GET", "http://a/3", 0)};
    TG_EXPECT_EQ(tg_bench__reqset_build(&rs, s, 2, NULL, 0, true, &eb), 0);
    TG_EXPECT_EQ(rs.cycle_len, 5); /* 80:20 reduced by the gcd to 4:1 */
    int count[2] = {0, 0}, run = 0, longest = 0;
    for (uint32_t i = 0; i < rs.cycle_len; i++) {
        count[rs.cycle[i]]++;
        run = rs.cycle[i] == 0 ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    TG_EXPECT_EQ(count[0], 4);
    TG_EXPECT_EQ(count[1], 1);
    TG_EXPECT_LE(longest, 4);
    tg_bench__reqset_deinit(&rs);

    /* Weight 0 (command-line URLs) counts as 1; three equal weights round-robin. */
    s[0].weight = s[1].weight = 7;
    TG_EXPECT_EQ(tg_bench__reqset_build(&rs, s, 3, NULL, 0, true, &eb), 0);
    TG_EXPECT_EQ(rs.r[2].weight, 1);
    TG_EXPECT_EQ(rs.cycle_len, 15);
    tg_bench__reqset_deinit(&rs);
    s[0].weight = s[1].weight = s[2].weight = 1;
    TG_EXPECT_EQ(tg_bench__reqset_build(&rs, s, 3, NULL, 0, true, &eb), 0);
    TG_EXPECT_EQ(rs.cycle_len, 3);
    TG_EXPECT(rs.cycle[0] != rs.cycle[1] && rs.cycle[1] != rs.cycle[2] &&
              rs.cycle[0] != rs.cycle[2]);
    tg_bench__reqset_deinit(&rs);
    /* Coprime large weights make a cycle too long to precompute. */
    s[0].weight = 999983;
    s[1].weight = 999979;
    TG_EXPECT_EQ(tg_bench__reqset_build(&rs, s, 2, NULL, 0, true, &eb), TG_EPARSE);
    tg_bench__reqset_deinit(&rs);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_bytes();
    test_cycle();
    return tg_test_report(argv[0]);
}
