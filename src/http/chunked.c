/* SPDX-License-Identifier: MIT */
/* Chunked transfer coding (RFC 9112 §7.1) as a resumable byte-level state machine: it
 * checks the framing of a body the proxy forwards verbatim and finds where the body ends,
 * or (decode) also extracts the payload for the demo API and the load generator. All
 * state lives in struct tg_http_chunked, so any split of the input gives the same result;
 * chunk data is skipped in O(1) per chunk, and only framing bytes go through the switch.
 * Strict like the head parser: hex sizes of at most 15 digits, extensions only in their
 * RFC grammar, no whitespace except the BWS the grammar allows, CRLF only, trailer fields
 * validated like header fields. An error is sticky: later calls return TG_EPARSE. */
#include "http/http1.h"

#include <string.h>

#include "http/http1_int.h"

#define CC(c) (tg_http1__cclass[(uint8_t)(c)])

#define MAX_LINE_BYTES 4096
#define MAX_SIZE_DIGITS 15
/* Bound on the whole trailer section, so a peer cannot stream trailers forever after a
 * body whose size the caller limits through body_bytes. Same as the default head limit.
 * The count lives in the bits of `state` above STATE_BITS, since `remaining` is public
 * and must keep meaning "chunk data left". */
#define MAX_TRAILER_BYTES (64u * 1024u)
#define STATE_BITS 8
#define STATE_MASK ((1u << STATE_BITS) - 1)

/* The states, in the order the grammar visits them:
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
 *   last-chunk = 1*"0" [ chunk-ext ] CRLF, then *( field-line CRLF ) CRLF */
enum {
    S_SIZE0 = 0,  /* first hex digit of a chunk size (zero-initialised start state) */
    S_SIZE,       /* further hex digits, or what follows the size */
    S_BWS_SEMI,   /* BWS seen after size or ext value: only more BWS or ';' */
    S_EXT_NAME0,  /* after ';': BWS, then the first byte of an ext-name */
    S_EXT_NAME,   /* ext-name bytes */
    S_EXT_BWS_EQ, /* BWS after an ext-name: only more BWS, '=' or ';' */
    S_EXT_VAL0,   /* after '=': BWS, then a token or '"' */
    S_EXT_TOKEN,  /* token ext-value */
    S_EXT_QSTR,   /* inside a quoted-string ext-value */
    S_EXT_QPAIR,  /* after '\' inside it */
    S_EXT_QEND,   /* after the closing '"' */
    S_SIZE_LF,    /* CR of the size line seen */
    S_DATA,       /* `remaining` bytes of chunk data */
    S_DATA_CR,    /* CRLF after chunk data */
    S_DATA_LF,
    S_TR_LINE,  /* start of a trailer line, or the final CRLF */
    S_TR_NAME,  /* trailer field name */
    S_TR_VALUE, /* trailer field value up to CR */
    S_TR_LF,    /* CR of a trailer line seen */
    S_FINAL_LF, /* CR of the empty line ending the body seen */
    S_DONE,
    S_ERROR,
};

static int hexval(uint8_t c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The shared engine: `out` is NULL when scanning. Returns bytes consumed or TG_EPARSE. */
static long run(struct tg_http_chunked *c, const char *buf, size_t len, char *out, size_t *out_len,
                bool *done)
{
    const char *p = buf, *end = buf + len;
    size_t o = 0;
    unsigned st = c->state & STATE_MASK;
    uint32_t trailer_bytes = c->state >> STATE_BITS;
    *done = false;
    if (out_len)
        *out_len = 0;
    if (st == S_DONE) {
        *done = true;
        return 0;
    }
    if (st == S_ERROR)
        return TG_EPARSE;

    while (p < end) {
        if (st == S_DATA) {
            size_t n = (size_t)(end - p);
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (out) {
                memmove(out + o, p, n);
                o += n;
            }
            p += n;
            c->remaining -= n;
            c->body_bytes += n;
            if (c->remaining == 0)
                st = S_DATA_CR;
            continue;
        }
        uint8_t ch = (uint8_t)*p++;
        /* Size and trailer lines are bounded; the counter restarts at each line and
         * includes the line's CR, hence the + 1. */
        if (st < S_SIZE_LF || (st >= S_TR_NAME && st <= S_TR_VALUE)) {
            if (++c->line_len > MAX_LINE_BYTES + 1)
                goto fail;
        }
        switch (st) {
        case S_SIZE0:
            if (!(CC(ch) & TG_HTTP1__HEX))
                goto fail;
            c->remaining = (uint64_t)hexval(ch);
            st = S_SIZE;
            break;
        case S_SIZE:
            if (CC(ch) & TG_HTTP1__HEX) {
                /* Digits are the first bytes of the line, so line_len counts them. */
                if (c->line_len > MAX_SIZE_DIGITS)
                    goto fail;
                c->remaining = c->remaining << 4 | (uint64_t)hexval(ch);
            } else if (ch == '\r') {
                st = S_SIZE_LF;
            } else if (ch == ';') {
                st = S_EXT_NAME0;
            } else if (CC(ch) & TG_HTTP1__WS) {
                st = S_BWS_SEMI;
            } else {
                goto fail;
            }
            break;
        case S_BWS_SEMI:
            if (ch == ';')
                st = S_EXT_NAME0;
            else if (!(CC(ch) & TG_HTTP1__WS))
                goto fail;
            break;
        case S_EXT_NAME0:
            if (CC(ch) & TG_HTTP1__TCHAR)
                st = S_EXT_NAME;
            else if (!(CC(ch) & TG_HTTP1__WS))
                goto fail;
            break;
        case S_EXT_NAME:
            if (CC(ch) & TG_HTTP1__TCHAR)
                break;
            if (ch == '=')
                st = S_EXT_VAL0;
            else if (ch == ';')
                st = S_EXT_NAME0;
            else if (ch == '\r')
                st = S_SIZE_LF;
            else if (CC(ch) & TG_HTTP1__WS)
                st = S_EXT_BWS_EQ;
            else
                goto fail;
            break;
        case S_EXT_BWS_EQ:
            if (ch == '=')
                st = S_EXT_VAL0;
            else if (ch == ';')
                st = S_EXT_NAME0;
            else if (!(CC(ch) & TG_HTTP1__WS))
                goto fail;
            break;
        case S_EXT_VAL0:
            if (ch == '"')
                st = S_EXT_QSTR;
            else if (CC(ch) & TG_HTTP1__TCHAR)
                st = S_EXT_TOKEN;
            else if (!(CC(ch) & TG_HTTP1__WS))
                goto fail;
            break;
        case S_EXT_TOKEN:
        case S_EXT_QEND:
            if (st == S_EXT_TOKEN && (CC(ch) & TG_HTTP1__TCHAR))
                break;
            if (ch == ';')
                st = S_EXT_NAME0;
            else if (ch == '\r')
                st = S_SIZE_LF;
            else if (CC(ch) & TG_HTTP1__WS)
                st = S_BWS_SEMI;
            else
                goto fail;
            break;
        case S_EXT_QSTR:
            if (ch == '"')
                st = S_EXT_QEND;
            else if (ch == '\\')
                st = S_EXT_QPAIR;
            else if (!(CC(ch) & TG_HTTP1__QDTEXT))
                goto fail;
            break;
        case S_EXT_QPAIR:
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ), i.e. any VALUE byte. */
            if (!(CC(ch) & TG_HTTP1__VALUE))
                goto fail;
            st = S_EXT_QSTR;
            break;
        case S_SIZE_LF:
            if (ch != '\n')
                goto fail;
            c->line_len = 0;
            if (c->remaining) {
                st = S_DATA;
            } else {
                st = S_TR_LINE; /* last-chunk */
            }
            break;
        case S_DATA_CR:
            if (ch != '\r')
                goto fail;
            st = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (ch != '\n')
                goto fail;
            st = S_SIZE0;
            break;
        case S_TR_LINE:
            if (ch == '\r') {
                st = S_FINAL_LF;
            } else if (CC(ch) & TG_HTTP1__TCHAR) {
                /* Counted here and below, not by the line check, which starts at NAME. */
                c->line_len = 1;
                st = S_TR_NAME;
            } else {
                goto fail; /* includes SP/HT: obs-fold */
            }
            break;
        case S_TR_NAME:
            if (ch == ':')
                st = S_TR_VALUE;
            else if (!(CC(ch) & TG_HTTP1__TCHAR))
                goto fail; /* includes whitespace before the colon */
            break;
        case S_TR_VALUE:
            if (ch == '\r')
                st = S_TR_LF;
            else if (!(CC(ch) & TG_HTTP1__VALUE))
                goto fail;
            break;
        case S_TR_LF:
            if (ch != '\n')
                goto fail;
            trailer_bytes += c->line_len + 1; /* the line, its CR and its LF */
            if (trailer_bytes > MAX_TRAILER_BYTES)
                goto fail;
            c->line_len = 0;
            st = S_TR_LINE;
            break;
        case S_FINAL_LF:
            if (ch != '\n')
                goto fail;
            c->state = S_DONE;
            c->line_len = 0;
            *done = true;
            if (out_len)
                *out_len = o;
            return (long)(p - buf);
        default:
            goto fail;
        }
    }
    c->state = st | trailer_bytes << STATE_BITS;
    if (out_len)
        *out_len = o;
    return (long)(p - buf);

fail:
    c->state = S_ERROR;
    return TG_EPARSE;
}

long tg_http1_chunked_scan(struct tg_http_chunked *c, const char *buf, size_t len, bool *done)
{
    return run(c, buf, len, NULL, NULL, done);
}

long tg_http1_chunked_decode(struct tg_http_chunked *c, const char *buf, size_t len, char *out,
                             size_t *out_len, bool *done)
{
    return run(c, buf, len, out, out_len, done);
}
