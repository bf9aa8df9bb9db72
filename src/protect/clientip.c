/* SPDX-License-Identifier: MIT */
/* Client address resolution (clientip.h): address and CIDR parsing on top of inet_pton,
 * prefix matching, and the right-to-left walk over X-Forwarded-For. */
#include "protect/clientip.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && ows(**s))
        (*s)++, (*n)--;
    while (*n && ows((*s)[*n - 1]))
        (*n)--;
}

/* inet_pton wants a NUL-terminated string; the longest address text is 45 bytes. */
static bool pton(int af, const char *s, size_t n, uint8_t out[16])
{
    char buf[TG_CLIENTIP_STRLEN];
    if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (af == AF_INET6)
        return inet_pton(AF_INET6, buf, out) == 1;
    uint8_t in4[4];
    if (inet_pton(AF_INET, buf, in4) != 1)
        return false;
    tg_clientip_from_v4(in4, out);
    return true;
}

/* `s[0..n)` is 1 to 5 digits making at most 65535. */
static bool port(const char *s, size_t n)
{
    unsigned v = 0;
    if (n < 1 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= 65535;
}

bool tg_clientip_parse(const char *s, size_t n, uint8_t out[16])
{
    trim(&s, &n);
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return false;
        size_t rest = n - (size_t)(close - s) - 1;
        if (rest && (close[1] != ':' || !port(close + 2, rest - 1)))
            return false;
        return pton(AF_INET6, s + 1, (size_t)(close - s) - 1, out);
    }
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return pton(AF_INET, s, n, out);
    /* One colon after a dotted quad is a port; more colons make it IPv6. */
    size_t at = (size_t)(colon - s);
    if (!memchr(colon + 1, ':', n - at - 1) && memchr(s, '.', at))
        return port(colon + 1, n - at - 1) && pton(AF_INET, s, at, out);
    return pton(AF_INET6, s, n, out);
}

static void mask(uint8_t a[16], unsigned bits)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
        a[i] &= (uint8_t)(0xff00u >> keep);
    }
}

bool tg_clientip_parse_cidr(const char *s, size_t n, struct tg_clientip_cidr *out)
{
    trim(&s, &n);
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    bool v6 = memchr(s, ':', alen) != NULL;
    if (!pton(v6 ? AF_INET6 : AF_INET, s, alen, out->net))
        return false;
    unsigned max = v6 ? 128 : 32, len = max;
    if (slash) {
        const char *d = slash + 1;
        size_t dn = n - alen - 1;
        if (dn < 1 || dn > 3)
            return false;
        len = 0;
        for (size_t i = 0; i < dn; i++) {
            if (d[i] < '0' || d[i] > '9')
                return false;
            len = len * 10 + (unsigned)(d[i] - '0');
        }
        if (len > max)
            return false;
    }
    out->bits = (uint8_t)(v6 ? len : 96 + len);
    mask(out->net, out->bits);
    return true;
}

void tg_clientip_from_v4(const void *in4, uint8_t out[16])
{
    memcpy(out, v4_mapped, 12);
    memcpy(out + 12, in4, 4);
}

bool tg_clientip_in(const struct tg_clientip_cidr *c, const uint8_t a[16])
{
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net, a, full))
        return false;
    return !rest || ((a[full] ^ c->net[full]) & (0xff00u >> rest)) == 0;
}

bool tg_clientip_trusted(const struct tg_clientip_cidr *list, size_t n, const uint8_t a[16])
{
    for (size_t i = 0; i < n; i++)
        if (tg_clientip_in(&list[i], a))
            return true;
    return false;
}

enum tg_clientip_source tg_clientip_resolve(const uint8_t peer[16],
                                            const struct tg_clientip_field *xff, size_t nxff,
                                            const struct tg_clientip_cidr *trusted, size_t ntrusted,
                                            uint8_t out[16])
{
    memcpy(out, peer, 16);
    if (!tg_clientip_trusted(trusted, ntrusted, peer))
        return TG_CLIENTIP_PEER;
    bool seen = false;
    uint8_t a[16];
    for (size_t f = nxff; f-- > 0;) {
        const char *p = xff[f].p;
        size_t end = xff[f].n;
        /* Entries from the right: [start, end) is the one after the last comma before end. */
        for (;;) {
            size_t start = end;
            while (start && p[start - 1] != ',')
                start--;
            const char *e = p + start;
            size_t n = end - start;
            trim(&e, &n);
            if (n) {
                if (!tg_clientip_parse(e, n, a)) {
                    memcpy(out, peer, 16);
                    return TG_CLIENTIP_MALFORMED;
                }
                memcpy(out, a, 16);
                seen = true;
                if (!tg_clientip_trusted(trusted, ntrusted, a))
                    return TG_CLIENTIP_FORWARDED;
            }
            if (!start)
                break;
            end = start - 1;
        }
    }
    return seen ? TG_CLIENTIP_FORWARDED : TG_CLIENTIP_PEER;
}

size_t tg_clientip_format(const uint8_t a[16], char *buf, size_t cap)
{
    char tmp[TG_CLIENTIP_STRLEN];
    bool v4 = memcmp(a, v4_mapped, 12) == 0;
    if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, tmp, sizeof tmp))
        return 0;
    size_t n = strlen(tmp);
    if (n >= cap)
        return 0;
    memcpy(buf, tmp, n + 1);
    return n;
}
