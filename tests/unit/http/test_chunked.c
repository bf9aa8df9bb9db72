/* SPDX-License-Identifier: MIT */
/* Unit tests for src/http/chunked.c. Every vector is run whole, split in two at every
 * position, split in three at every pair of positions (short vectors), and fed one byte
 * at a time, through both the scanner and the decoder (in place and into a separate
 * buffer); all runs must agree on bytes consumed, completion, error, payload size and
 * payload bytes. So the split property is tested on every case, not only on some. */
#include "http/http1.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

struct outcome {
    long consumed; /* total bytes consumed, or TG_EPARSE */
    bool done;
    uint64_t body_bytes;
    size_t out_len;
    char out[8192];
};

/* Feeds `s[0..n)` in pieces ending at `cuts[0..ncuts)` (then the rest). `mode` 0 scans,
 * 1 decodes into a separate buffer, 2 decodes in place. */
static void feed(const char *s, size_t n, const size_t *cuts, int ncuts, int mode,
                 struct outcome *r)
{
    struct tg_http_chunked c = {0};
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    memset(r, 0, sizeof *r);
    size_t pos = 0;
    for (int i = 0; i <= ncuts && !r->done; i++) {
        size_t stop = i < ncuts ? cuts[i] : n;
        if (stop < pos)
            continue;
        size_t piece = stop - pos;
        /* Each piece is its own allocation so ASan sees reads past the piece. */
        char *in = malloc(piece ? piece : 1);
        memcpy(in, copy + pos, piece);
        bool done = false;
        long rc;
        size_t olen = 0;
        if (mode == 0) {
            rc = tg_http1_chunked_scan(&c, in, piece, &done);
        } else if (mode == 1) {
            rc = tg_http1_chunked_decode(&c, in, piece, r->out + r->out_len, &olen, &done);
        } else {
            rc = tg_http1_chunked_decode(&c, in, piece, in, &olen, &done);
            memcpy(r->out + r->out_len, in, olen);
        }
        free(in);
        if (rc < 0) {
            r->consumed = rc;
            break;
        }
        TG_EXPECT_LE(rc, (long)piece);
        if (!done)
            TG_EXPECT_EQ(rc, (long)piece); /* all of it belongs to the body */
        r->consumed += rc;
        r->out_len += olen;
        r->done = done;
        pos = stop;
    }
    r->body_bytes = c.body_bytes;
    free(copy);
}

static bool same(const struct outcome *a, const struct outcome *b, int mode)
{
    return a->consumed == b->consumed && a->done == b->done &&
           (a->consumed < 0 || a->body_bytes == b->body_bytes) &&
           (mode == 0 || a->consumed < 0 ||
            (a->out_len == b->out_len && !memcmp(a->out, b->out, a->out_len)));
}

/* Runs every split of `s` in every mode and checks they agree with the whole-buffer scan;
 * returns that scan's outcome. */
static struct outcome check_splits(const char *s, size_t n)
{
    static struct outcome whole, other;
    static struct outcome ret;
    feed(s, n, NULL, 0, 0, &ret);
    for (int mode = 0; mode < 3; mode++) {
        feed(s, n, NULL, 0, mode, &whole);
        if (!same(&whole, &ret, 0))
            TG_EXPECT(!"decode and scan disagree");
        for (size_t i = 0; i <= n; i++) {
            feed(s, n, &i, 1, mode, &other);
            if (!same(&whole, &other, mode)) {
                fprintf(stderr, "split at %zu (mode %d) differs: %ld vs %ld\n", i, mode,
                        other.consumed, whole.consumed);
                TG_EXPECT(!"two-way split differs");
            }
        }
        if (n <= 64) {
            for (size_t i = 0; i <= n; i++)
                for (size_t j = i; j <= n; j++) {
                    size_t cuts[2] = {i, j};
                    feed(s, n, cuts, 2, mode, &other);
                    if (!same(&whole, &other, mode))
                        TG_EXPECT(!"three-way split differs");
                }
        }
        size_t *cuts = malloc((n + 1) * sizeof *cuts);
        for (size_t i = 0; i <= n; i++)
            cuts[i] = i;
        feed(s, n, cuts, (int)n + 1, mode, &other);
        if (!same(&whole, &other, mode))
            TG_EXPECT(!"byte-by-byte differs");
        free(cuts);
    }
    /* The payload from the decoder. */
    feed(s, n, NULL, 0, 1, &ret);
    return ret;
}

static struct outcome run_str(const char *s)
{
    return check_splits(s, strlen(s));
}

static void expect_ok(const char *s, const char *payload, size_t extra)
{
    struct outcome r = run_str(s);
    TG_EXPECT_EQ(r.consumed, (long)(strlen(s) - extra));
    TG_EXPECT(r.done);
    TG_EXPECT_EQ(r.body_bytes, strlen(payload));
    TG_EXPECT_MEMEQ(r.out, r.out_len, payload);
}

static void expect_bad(const char *s)
{
    struct outcome r = run_str(s);
    if (r.consumed != TG_EPARSE)
        fprintf(stderr, "expected a parse error for \"%s\"\n", s);
    TG_EXPECT_EQ(r.consumed, TG_EPARSE);
}

static void test_basic(void)
{
    expect_ok("5\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 0);
    expect_ok("0\r\n\r\n", "", 0);
    expect_ok("000\r\n\r\n", "", 0);
    expect_ok("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", 0);
    expect_ok("01\r\n\n\r\n0\r\n\r\n", "\n", 0); /* data bytes are data, even LF */
    /* Bytes after the body are not consumed: they are the next message. */
    expect_ok("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "abc", 18);
    expect_ok("0\r\n\r\n0\r\n\r\n", "", 5);
}

static void test_incomplete(void)
{
    struct outcome r = run_str("5\r\nhel");
    TG_EXPECT_EQ(r.consumed, 6);
    TG_EXPECT(!r.done);
    TG_EXPECT_EQ(r.body_bytes, 3);
    r = run_str("5\r\nhello\r\n0\r\n\r");
    TG_EXPECT_EQ(r.consumed, 14);
    TG_EXPECT(!r.done);

    /* Large chunks are skipped, not walked, and counted down across calls. */
    struct tg_http_chunked c = {0};
    bool done;
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "fffffffffffffff\r\n", 17, &done), 17);
    TG_EXPECT_EQ(c.remaining, (UINT64_C(1) << 60) - 1);
    static char zeros[65536];
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, zeros, sizeof zeros, &done), (long)sizeof zeros);
    TG_EXPECT_EQ(c.remaining, (UINT64_C(1) << 60) - 1 - sizeof zeros);
    TG_EXPECT_EQ(c.body_bytes, sizeof zeros);
    TG_EXPECT(!done);
}

static void test_extensions(void)
{
    expect_ok("5;name\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_ok("5;name=value\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_ok("5;a;b=c;d\r\nhello\r\n0;last\r\n\r\n", "hello", 0);
    expect_ok("5 ;\tn = v ; m\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_ok("5;q=\"a \\\" ; b\"\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_ok("5;q=\"\"\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_ok("5;q=\"x\" ;r=\"\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", "hello", 0);
    expect_bad("5;\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;=v\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a= \r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=b c\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a b\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a \r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=b \r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=\"open\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=\"\\\x7f\"\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a=@\r\nhello\r\n0\r\n\r\n");
    expect_bad("5;a\nhello\r\n0\r\n\r\n");
}

/* Chunk-size smuggling: every way two parsers could read a different size. */
static void test_bad_sizes(void)
{
    expect_bad("\r\nhello\r\n0\r\n\r\n");
    expect_bad(";a\r\nhello\r\n0\r\n\r\n");
    expect_bad("x\r\n");
    expect_bad("-5\r\nhello\r\n0\r\n\r\n");
    expect_bad("+5\r\nhello\r\n0\r\n\r\n");
    expect_bad("0x5\r\nhello\r\n0\r\n\r\n");
    expect_bad(" 5\r\nhello\r\n0\r\n\r\n");
    expect_bad("5 \r\nhello\r\n0\r\n\r\n"); /* BWS only before ';' */
    expect_bad("5\t\r\nhello\r\n0\r\n\r\n");
    expect_bad("5 5\r\nhello\r\n0\r\n\r\n");
    expect_bad("5\nhello\r\n0\r\n\r\n"); /* bare LF */
    expect_bad("5\rhello\r\n0\r\n\r\n"); /* bare CR */
    expect_bad("5\r\nhello\n0\r\n\r\n"); /* data not followed by CRLF */
    expect_bad("5\r\nhelloX\r\n0\r\n\r\n");
    expect_bad("5\r\nhello\r0\r\n\r\n");
    expect_bad("5\r\nhello\r\n\r\n0\r\n\r\n"); /* empty size line */
    expect_bad("0\r\n\n");
    expect_bad("0\r\n\r\r\n");
    /* 15 hex digits is the most (sizes stay below 2^60); 16 fail even if small. */
    struct outcome r = run_str("00000000000000f\r\n");
    TG_EXPECT_EQ(r.consumed, 17);
    expect_bad("000000000000000f\r\n");
    expect_bad("10000000000000000\r\n");
    expect_bad("ffffffffffffffffff\r\n");
    /* A NUL anywhere in framing. */
    struct outcome z;
    feed("5\0\r\nhello\r\n0\r\n\r\n", 16, NULL, 0, 0, &z);
    TG_EXPECT_EQ(z.consumed, TG_EPARSE);
}

static void test_trailers(void)
{
    expect_ok("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:abc \r\n\r\n", "hello", 0);
    expect_ok("0\r\nEmpty:\r\n\r\n", "", 0);
    expect_ok("0\r\nX: caf\xc3\xa9\t!\r\n\r\nnext", "", 4);
    expect_bad("0\r\n folded\r\n\r\n");
    expect_bad("0\r\nX: a\r\n folded\r\n\r\n");
    expect_bad("0\r\nX : a\r\n\r\n");
    expect_bad("0\r\nX\r\n\r\n");
    expect_bad("0\r\n: a\r\n\r\n");
    expect_bad("0\r\nX: a\x01\r\n\r\n");
    expect_bad("0\r\nX: a\x7f\r\n\r\n");
    expect_bad("0\r\nX: a\n\r\n");
    expect_bad("0\r\nX: a\r\n\n");
    expect_bad("0\r\nX: a\rb\r\n\r\n");
}

static void test_limits(void)
{
    /* A size line of 4096 bytes before its CRLF passes; 4097 does not. */
    static char buf[70000];
    size_t n = 0;
    memcpy(buf, "1;x=", 4);
    n = 4;
    memset(buf + n, 'a', 4096 - n);
    n = 4096;
    memcpy(buf + n, "\r\nz\r\n0\r\n\r\n", 10);
    struct outcome r;
    feed(buf, n + 10, NULL, 0, 0, &r);
    TG_EXPECT_EQ(r.consumed, (long)n + 10);
    TG_EXPECT(r.done);
    memset(buf + 4, 'a', 4093);
    memcpy(buf + 4097, "\r\nz\r\n0\r\n\r\n", 10);
    feed(buf, 4107, NULL, 0, 0, &r);
    TG_EXPECT_EQ(r.consumed, TG_EPARSE);
    /* The same for a trailer line. */
    memcpy(buf, "0\r\nX: ", 6);
    memset(buf + 6, 'v', 4096 - 3);
    memcpy(buf + 3 + 4096, "\r\n\r\n", 4);
    feed(buf, 4103, NULL, 0, 0, &r);
    TG_EXPECT_EQ(r.consumed, 4103);
    buf[3 + 4096] = 'v';
    memcpy(buf + 3 + 4097, "\r\n\r\n", 4);
    feed(buf, 4104, NULL, 0, 0, &r);
    TG_EXPECT_EQ(r.consumed, TG_EPARSE);
    /* The trailer section as a whole stops at 64 KiB. */
    memcpy(buf, "0\r\n", 3);
    n = 3;
    while (n < 66000) {
        memcpy(buf + n, "Trailer-Field: 0123456789\r\n", 27);
        n += 27;
    }
    memcpy(buf + n, "\r\n", 2);
    feed(buf, n + 2, NULL, 0, 0, &r);
    TG_EXPECT_EQ(r.consumed, TG_EPARSE);
    n = 3 + 27 * 2000;
    memcpy(buf + n, "\r\n", 2);
    feed(buf, n + 2, NULL, 0, 0, &r);
    TG_EXPECT_EQ(r.consumed, (long)n + 2);
}

static void test_sticky_and_done(void)
{
    struct tg_http_chunked c = {0};
    bool done = true;
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "z", 1, &done), TG_EPARSE);
    TG_EXPECT(!done);
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "0\r\n\r\n", 5, &done), TG_EPARSE);

    c = (struct tg_http_chunked){0};
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "0\r\n\r\nrest", 9, &done), 5);
    TG_EXPECT(done);
    done = false;
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "rest", 4, &done), 0);
    TG_EXPECT(done);
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "", 0, &done), 0);

    /* `remaining` is chunk data only: it stays 0 while trailers are read. */
    c = (struct tg_http_chunked){0};
    TG_EXPECT_EQ(tg_http1_chunked_scan(&c, "2\r\nab\r\n0\r\nX: y\r\n", 16, &done), 16);
    TG_EXPECT_EQ(c.remaining, 0);
    TG_EXPECT_EQ(c.body_bytes, 2);
    TG_EXPECT(!done);

    /* Decoding in place leaves the payload at the front of the buffer. */
    char b[] = "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n";
    size_t olen = 99;
    c = (struct tg_http_chunked){0};
    TG_EXPECT_EQ(tg_http1_chunked_decode(&c, b, strlen(b), b, &olen, &done), (long)strlen(b));
    TG_EXPECT(done);
    TG_EXPECT_MEMEQ(b, olen, "abcde");
    TG_EXPECT_EQ(c.body_bytes, 5);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_basic();
    test_incomplete();
    test_extensions();
    test_bad_sizes();
    test_trailers();
    test_limits();
    test_sticky_and_done();
    return tg_test_report(argv[0]);
}
