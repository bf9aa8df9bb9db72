/* SPDX-License-Identifier: MIT */
/* URL parsing, name resolution and the pre-flight connect of the load generator (see
 * url_int.h). The bench module may not use config/addr (layering), and needs less: one
 * origin, resolved once, on the coordinator thread before any load starts. */
#include "bench/url_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int tg_bench__parse_url(const char *s, struct tg_bench_url *u, struct tg_errbuf *eb)
{
    memset(u, 0, sizeof *u);
    if (strncmp(s, "http://", 7) != 0) {
        if (strncmp(s, "https://", 8) == 0)
            return tg_errbuf_set(eb, TG_EPARSE, "%s: https is not supported (plain http only)", s);
        return tg_errbuf_set(eb, TG_EPARSE, "%s: not an http:// URL", s);
    }
    const char *auth = s + 7;
    size_t alen = strcspn(auth, "/?#");
    if (auth[alen] == '#' || strchr(auth + alen, '#'))
        return tg_errbuf_set(eb, TG_EPARSE, "%s: fragments (#) are not sent in requests", s);
    if (alen == 0 || alen >= sizeof u->authority)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: missing or too long host", s);
    if (memchr(auth, '@', alen))
        return tg_errbuf_set(eb, TG_EPARSE, "%s: credentials in URLs are not supported", s);
    memcpy(u->authority, auth, alen);
    const char *host = auth, *port = NULL;
    size_t hlen;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return tg_errbuf_set(eb, TG_EPARSE, "%s: unterminated [IPv6] host", s);
        host = auth + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < auth + alen) {
            if (close[1] != ':')
                return tg_errbuf_set(eb, TG_EPARSE, "%s: junk after ]", s);
            port = close + 2;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0 || hlen >= sizeof u->host)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: missing host", s);
    memcpy(u->host, host, hlen);
    if (port) {
        size_t plen = (size_t)(auth + alen - port);
        unsigned long pv = 0;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9') {
                pv = 0;
                break;
            }
            pv = pv * 10 + (unsigned long)(port[i] - '0');
            if (pv > 65535)
                break;
        }
        if (plen == 0 || plen > 5 || pv == 0 || pv > 65535)
            return tg_errbuf_set(eb, TG_EPARSE, "%s: bad port", s);
        snprintf(u->port, sizeof u->port, "%lu", pv);
    } else {
        strcpy(u->port, "80");
    }
    u->path = auth[alen] ? auth + alen : "/";
    if (u->path[0] == '?')
        return tg_errbuf_set(eb, TG_EPARSE, "%s: the path must start with / before a query", s);
    for (const char *p = u->path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return tg_errbuf_set(eb, TG_EPARSE, "%s: spaces or control bytes in the path", s);
    return 0;
}

bool tg_bench__same_origin(const struct tg_bench_url *a, const struct tg_bench_url *b)
{
    return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}

int tg_bench__resolve(const struct tg_bench_url *u, struct sockaddr_storage *ss, socklen_t *len,
                      struct tg_errbuf *eb)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
        /* AI_ADDRCONFIG hides ::1 on hosts with only loopback addresses; retry without. */
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(u->host, u->port, &hints, &res);
    }
    if (rc != 0 || !res)
        return tg_errbuf_set(eb, TG_ENOTFOUND, "cannot resolve host '%s': %s", u->host,
                             rc ? gai_strerror(rc) : "no address");
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int tg_bench__probe(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    int err = 0;
    if (connect(fd, (const struct sockaddr *)ss, len) == -1) {
        if (errno != EINPROGRESS) {
            err = -errno;
        } else {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int n;
            do
                n = poll(&pfd, 1, timeout_ms);
            while (n == -1 && errno == EINTR);
            if (n == 0) {
                err = -ETIMEDOUT;
            } else if (n == -1) {
                err = -errno;
            } else {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                err = -soerr;
            }
        }
    }
    close(fd);
    return err;
}

void tg_bench__addr_str(const struct sockaddr_storage *ss, char *dst, size_t cap)
{
    char host[64] = "?", port[16] = "?";
    getnameinfo((const struct sockaddr *)ss,
                ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : sizeof(struct sockaddr_in),
                host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    bool v6 = ss->ss_family == AF_INET6;
    snprintf(dst, cap, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
}
