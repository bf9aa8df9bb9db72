/* SPDX-License-Identifier: MIT */
/* The command provider's server list file: what `docker compose`, a service registry or
 * a script writes after a scaling step. One host:port a line, as the configuration's
 * servers are written (config/addr.h: IP literals and "localhost", no DNS, so reading
 * the file never blocks); "#" starts a comment. A bad line fails the whole read, naming
 * the line, so a half-written file never shrinks the pool. */
#include <stdio.h>
#include <string.h>

#include "config/addr.h"
#include "scale/scale_int.h"

int tg_scale__parse_servers(const char *text, size_t len, struct tg_addr *out, size_t cap,
                            size_t *n, struct tg_errbuf *eb)
{
    *n = 0;
    unsigned line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - start) : len - pos;
        pos += l + (nl != NULL);
        line++;
        const char *hash = memchr(start, '#', l);
        if (hash)
            l = (size_t)(hash - start);
        while (l && (*start == ' ' || *start == '\t')) {
            start++;
            l--;
        }
        while (l && (start[l - 1] == ' ' || start[l - 1] == '\t' || start[l - 1] == '\r'))
            l--;
        if (!l)
            continue;
        char buf[80];
        if (l >= sizeof buf || memchr(start, '\0', l))
            return tg_errbuf_set(eb, TG_EPARSE, "line %u: not a host:port", line);
        memcpy(buf, start, l);
        buf[l] = '\0';
        struct tg_addr a;
        struct tg_errbuf inner = {0};
        if (tg_addr_parse(buf, &a, &inner) != 0 || tg_addr_port(&a) == 0)
            return tg_errbuf_set(eb, TG_EPARSE, "line %u: \"%s\" is not a host:port (%s)", line,
                                 buf, inner.msg[0] ? inner.msg : "port 0");
        bool dup = false;
        for (size_t k = 0; k < *n && !dup; k++)
            dup = tg_addr_equal(&out[k], &a);
        if (dup)
            continue;
        if (*n == cap)
            return tg_errbuf_set(eb, TG_EPARSE, "line %u: more than %zu servers", line, cap);
        out[(*n)++] = a;
    }
    return 0;
}
