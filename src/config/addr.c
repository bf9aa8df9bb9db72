/* SPDX-License-Identifier: MIT */
/* host:port parsing and normalisation (see addr.h for why there is no DNS). The text
 * form is rebuilt from the parsed bytes with inet_ntop, so "127.000.0.1"-style oddities
 * can never reach a metric label or a log line. */
#include "config/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/diag_int.h"

static int bad(struct tg_errbuf *eb, const char *s, struct tg_addr *out, const char *why)
{
    char q[TG_CONFIG_QUOTE_CAP];
    /* Quote first: `s` may point into `out->text` (re-parsing a normalised address). */
    tg_config__quote(q, sizeof q, s, strlen(s));
    memset(out, 0, sizeof *out);
    return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0, "bad address %s: %s", q, why);
}

/* Digits only, 1 to 5 of them, at most 65535. */
static bool parse_port(const char *p, uint16_t *port)
{
    unsigned v = 0;
    size_t n = 0;
    for (; p[n]; n++) {
        if (p[n] < '0' || p[n] > '9' || n == 5)
            return false;
        v = v * 10 + (unsigned)(p[n] - '0');
    }
    if (n == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

static void set_v4(struct tg_addr *out, const struct in_addr *ip, uint16_t port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    char host[INET_ADDRSTRLEN];
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = *ip;
    out->len = sizeof *sin;
    inet_ntop(AF_INET, ip, host, sizeof host);
    snprintf(out->text, sizeof out->text, "%s:%u", host, (unsigned)port);
}

static void set_v6(struct tg_addr *out, const struct in6_addr *ip, uint16_t port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    char host[INET6_ADDRSTRLEN];
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = *ip;
    out->len = sizeof *sin6;
    inet_ntop(AF_INET6, ip, host, sizeof host);
    snprintf(out->text, sizeof out->text, "[%s]:%u", host, (unsigned)port);
}

int tg_addr_parse(const char *s, struct tg_addr *out, struct tg_errbuf *eb)
{
    char host[64];
    uint16_t port;
    const char *colon;
    struct tg_addr a = {0};
    if (*s == '\0')
        return bad(eb, s, out, "empty (use host:port, e.g. 127.0.0.1:8080)");
    if (strstr(s, "://"))
        return bad(eb, s, out, "write host:port without a scheme, e.g. 127.0.0.1:8080");
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        size_t n = close ? (size_t)(close - s - 1) : 0;
        struct in6_addr ip6;
        if (!close || close[1] != ':')
            return bad(eb, s, out, "use [ipv6]:port, e.g. [::1]:8080");
        if (n >= sizeof host)
            return bad(eb, s, out, "not an IPv6 address");
        memcpy(host, s + 1, n);
        host[n] = '\0';
        if (strchr(host, '%'))
            return bad(eb, s, out, "IPv6 zone ids are not supported");
        if (inet_pton(AF_INET6, host, &ip6) != 1)
            return bad(eb, s, out, "not an IPv6 address");
        if (!parse_port(close + 2, &port))
            return bad(eb, s, out, "port must be a number from 0 to 65535");
        set_v6(&a, &ip6, port);
        *out = a;
        return 0;
    }
    colon = strrchr(s, ':');
    if (!colon)
        return bad(eb, s, out, "missing port (use host:port, e.g. 127.0.0.1:8080 or :8000)");
    if (memchr(s, ':', (size_t)(colon - s)))
        return bad(eb, s, out, "IPv6 addresses need brackets, e.g. [::1]:8080");
    if (!parse_port(colon + 1, &port))
        return bad(eb, s, out, "port must be a number from 0 to 65535");
    size_t n = (size_t)(colon - s);
    if (n >= sizeof host)
        return bad(eb, s, out, "hostnames are not supported, use an IP address");
    memcpy(host, s, n);
    host[n] = '\0';
    struct in_addr ip4;
    if (n == 0 || strcmp(host, "*") == 0) {
        ip4.s_addr = htonl(INADDR_ANY);
    } else if (strcasecmp(host, "localhost") == 0) {
        ip4.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &ip4) != 1) {
        if (strspn(host, "0123456789.") == n)
            return bad(eb, s, out, "not an IPv4 address");
        return bad(eb, s, out, "hostnames are not supported, use an IP address");
    }
    set_v4(&a, &ip4, port);
    *out = a;
    return 0;
}

bool tg_addr_equal(const struct tg_addr *a, const struct tg_addr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return a->ss.ss_family == AF_UNSPEC;
}

uint16_t tg_addr_port(const struct tg_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}
