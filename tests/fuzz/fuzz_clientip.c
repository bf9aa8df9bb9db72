// link: tg_protect
/* SPDX-License-Identifier: MIT */
/* Fuzz target for src/protect/clientip.{h,c}. The input is lines: trusted CIDRs up to the
 * first empty line, then the peer's address, then X-Forwarded-For header lines. Every
 * parsed CIDR must have its host bits clear and contain its own network; every parsed
 * address must print and parse back to itself; and the resolved client must match a
 * deliberately naive reference (split the whole list into entries first, then walk the
 * array from the end), so the in-place right-to-left scan cannot hide a slicing bug. The
 * corpus is tests/fuzz/corpus/clientip/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protect/clientip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define MAX_CIDRS 16
#define MAX_FIELDS 16
#define MAX_INPUT 4096
#define MAX_ENTRIES (MAX_INPUT + MAX_FIELDS) /* at most one per comma and per line */

static void check_cidr(const struct tg_clientip_cidr *c)
{
    CHECK(c->bits <= 128);
    for (unsigned i = c->bits; i < 128; i++)
        CHECK(!(c->net[i / 8] & (0x80 >> (i % 8))));
    CHECK(tg_clientip_in(c, c->net));
}

static void check_roundtrip(const uint8_t a[16])
{
    char buf[TG_CLIENTIP_STRLEN];
    uint8_t back[16];
    size_t n = tg_clientip_format(a, buf, sizeof buf);
    CHECK(n > 0 && n == strlen(buf));
    CHECK(tg_clientip_parse(buf, n, back) && memcmp(a, back, 16) == 0);
}

struct entry {
    const char *p;
    size_t n;
};

static enum tg_clientip_source reference(const uint8_t peer[16], const struct tg_clientip_field *f,
                                         size_t nf, const struct tg_clientip_cidr *t, size_t nt,
                                         uint8_t out[16])
{
    static struct entry e[MAX_ENTRIES];
    size_t ne = 0;
    memcpy(out, peer, 16);
    if (!tg_clientip_trusted(t, nt, peer))
        return TG_CLIENTIP_PEER;
    for (size_t i = 0; i < nf; i++) {
        size_t start = 0;
        for (size_t j = 0; j <= f[i].n; j++) {
            if (j == f[i].n || f[i].p[j] == ',') {
                CHECK(ne < MAX_ENTRIES);
                e[ne++] = (struct entry){f[i].p + start, j - start};
                start = j + 1;
            }
        }
    }
    bool seen = false;
    for (size_t i = ne; i-- > 0;) {
        size_t k = 0;
        while (k < e[i].n && (e[i].p[k] == ' ' || e[i].p[k] == '\t'))
            k++;
        if (k == e[i].n)
            continue;
        uint8_t a[16];
        if (!tg_clientip_parse(e[i].p, e[i].n, a)) {
            memcpy(out, peer, 16);
            return TG_CLIENTIP_MALFORMED;
        }
        check_roundtrip(a);
        memcpy(out, a, 16);
        seen = true;
        if (!tg_clientip_trusted(t, nt, a))
            return TG_CLIENTIP_FORWARDED;
    }
    return seen ? TG_CLIENTIP_FORWARDED : TG_CLIENTIP_PEER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) /* bounds the reference's entry array */
        return 0;
    /* A private copy, so reading past a line shows up under ASan. */
    char *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    struct tg_clientip_cidr cidrs[MAX_CIDRS];
    struct tg_clientip_field fields[MAX_FIELDS];
    size_t nc = 0, nf = 0, pos = 0;
    int part = 0; /* 0 CIDRs, 1 peer, 2 header lines */
    uint8_t peer[16];
    static const uint8_t in4[4] = {10, 0, 0, 1};
    tg_clientip_from_v4(in4, peer);
    while (pos <= size) {
        const char *nl = memchr(in + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (in + pos)) : size - pos;
        const char *line = in + pos;
        if (part == 0 && n == 0) {
            part = 1;
        } else if (part == 0 && nc < MAX_CIDRS) {
            if (tg_clientip_parse_cidr(line, n, &cidrs[nc]))
                check_cidr(&cidrs[nc++]);
        } else if (part == 1) {
            uint8_t a[16];
            if (tg_clientip_parse(line, n, a)) {
                check_roundtrip(a);
                memcpy(peer, a, 16);
            }
            part = 2;
        } else if (part == 2 && nf < MAX_FIELDS) {
            fields[nf++] = (struct tg_clientip_field){line, n};
        }
        if (!nl)
            break;
        pos += n + 1;
    }
    uint8_t got[16], want[16];
    enum tg_clientip_source s = tg_clientip_resolve(peer, fields, nf, cidrs, nc, got);
    enum tg_clientip_source r = reference(peer, fields, nf, cidrs, nc, want);
    CHECK(s == r && memcmp(got, want, 16) == 0);
    if (s != TG_CLIENTIP_FORWARDED)
        CHECK(memcmp(got, peer, 16) == 0);
    free(in);
    return 0;
}
