// link: tg_http
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the chunked scanner and decoder. The input is a chunked body as it
 * would follow a head. It is fed whole, one byte at a time, and in pieces whose sizes come
 * from a hash of the input, through the scanner, the decoder into a separate buffer and
 * the decoder in place; all runs must agree on bytes consumed, completion, error and
 * payload. An accepted body is then re-decoded by a deliberately naive reference (split
 * into lines, read the hex before any ';', copy that many bytes) that must produce the
 * same payload, so a framing bug cannot hide behind self-consistency. The corpus is
 * tests/fuzz/corpus/http_chunked/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct run {
    long consumed; /* or TG_EPARSE */
    bool done;
    uint64_t body_bytes;
    size_t out_len;
};

/* mode 0 scan, 1 decode to `out`, 2 decode in place (payload copied to `out`). `step` 0
 * feeds the whole input, 1 one byte at a time, anything else piece sizes (zero included)
 * from an xorshift sequence seeded with it. */
static void feed(const char *in, size_t n, int mode, uint32_t step, char *out, struct run *r)
{
    struct tg_http_chunked c = {0};
    memset(r, 0, sizeof *r);
    size_t pos = 0;
    while (!r->done) {
        size_t piece = n - pos;
        if (step == 1) {
            piece = piece ? 1 : 0;
        } else if (step) {
            step ^= step << 13;
            step ^= step >> 17;
            step ^= step << 5;
            size_t want = step % 7 == 0 ? step % 300 : step % 5;
            if (want < piece)
                piece = want;
        }
        /* Pieces are copied to their own heap block so ASan sees any read past them,
         * except single bytes (the byte-by-byte run), which would make every run cost
         * thousands of mallocs; a read past those is caught by the other runs. */
        static char one_byte[1];
        char *buf = piece == 1 ? one_byte : malloc(piece ? piece : 1);
        memcpy(buf, in + pos, piece);
        bool done = true;
        size_t olen = (size_t)-1;
        long rc;
        if (mode == 0) {
            rc = tg_http1_chunked_scan(&c, buf, piece, &done);
            olen = 0;
        } else if (mode == 1) {
            rc = tg_http1_chunked_decode(&c, buf, piece, out + r->out_len, &olen, &done);
        } else {
            rc = tg_http1_chunked_decode(&c, buf, piece, buf, &olen, &done);
            if (rc >= 0)
                memcpy(out + r->out_len, buf, olen);
        }
        if (buf != one_byte)
            free(buf);
        if (rc < 0) {
            CHECK(rc == TG_EPARSE);
            r->consumed = rc;
            break;
        }
        CHECK((size_t)rc <= piece && olen <= (size_t)rc);
        CHECK(done || (size_t)rc == piece);
        r->consumed += rc;
        r->out_len += olen;
        r->done = done;
        pos += (size_t)rc;
        if (pos == n && !done)
            break;
    }
    r->body_bytes = c.body_bytes;
    if (r->consumed >= 0 && mode)
        CHECK(r->out_len == r->body_bytes);
}

static int hexdig(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The naive reference: returns the payload length, or -1 if it cannot follow the body. */
static long reference(const char *b, size_t n, char *out)
{
    size_t pos = 0, o = 0;
    for (;;) {
        const char *eol = memchr(b + pos, '\n', n - pos);
        if (!eol)
            return -1;
        uint64_t size = 0;
        size_t i = pos;
        while (hexdig(b[i]) >= 0)
            size = size * 16 + (uint64_t)hexdig(b[i++]);
        if (i == pos)
            return -1;
        pos = (size_t)(eol - b) + 1;
        if (size == 0)
            break;
        if (size > n - pos || n - pos - size < 2 || memcmp(b + pos + size, "\r\n", 2))
            return -1;
        memcpy(out + o, b + pos, size);
        o += size;
        pos += size + 2;
    }
    for (;;) { /* trailer lines until the empty one */
        const char *eol = memchr(b + pos, '\n', n - pos);
        if (!eol)
            return -1;
        bool empty = eol == b + pos + 1;
        pos = (size_t)(eol - b) + 1;
        if (empty)
            break;
    }
    return pos == n ? (long)o : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    uint32_t seed = 2463534242u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    if (!seed)
        seed = 1;
    char *want_out = malloc(size + 1), *out = malloc(size + 1);
    struct run want, r;
    feed(in, size, 1, 0, want_out, &want);
    for (int mode = 0; mode < 3; mode++) {
        for (int s = 0; s < 3; s++) {
            uint32_t step = s == 0 ? 0 : s == 1 ? 1 : seed;
            if (mode == 1 && s == 0)
                continue;
            feed(in, size, mode, step, out, &r);
            CHECK(r.consumed == want.consumed && r.done == want.done);
            if (r.consumed >= 0) {
                CHECK(r.body_bytes == want.body_bytes);
                if (mode)
                    CHECK(r.out_len == want.out_len && !memcmp(out, want_out, r.out_len));
            }
        }
    }
    if (want.done) {
        long ref = reference(in, (size_t)want.consumed, out);
        CHECK(ref >= 0 && (size_t)ref == want.out_len && !memcmp(out, want_out, want.out_len));
        /* Whatever follows the body is not looked at: truncating it changes nothing. */
        struct run cut;
        feed(in, (size_t)want.consumed, 0, 0, out, &cut);
        CHECK(cut.done && cut.consumed == want.consumed);
    }
    free(want_out);
    free(out);
    return 0;
}
