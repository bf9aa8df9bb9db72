/* SPDX-License-Identifier: MIT */
/* Socket addresses as written in the config and on the command line: "127.0.0.1:8080",
 * "[::1]:8080", ":8000" or "*:8000" (all IPv4 interfaces) and "localhost:80". No name
 * resolution happens here: a config load must never block on DNS or change meaning when
 * DNS does, so the only name accepted is "localhost", mapped to 127.0.0.1 by hand.
 * Pure functions, thread-safe. Used by the config loader, the proxy (bind/connect) and
 * the admin API. */
#ifndef TG_CONFIG_ADDR_H
#define TG_CONFIG_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

struct tg_addr {
    struct sockaddr_storage ss; /* AF_INET or AF_INET6, port in network order */
    socklen_t len;              /* sizeof the sockaddr_in / sockaddr_in6 in `ss` */
    char text[64];              /* normalised "1.2.3.4:80" or "[::1]:80", for logs/labels */
};

/* Parses `s` into `*out`. Port 0 is accepted (ephemeral port for listeners; the config
 * loader refuses it for upstream servers). IPv6 zone ids ("%eth0") are refused. Returns
 * 0, or TG_EPARSE with a message naming the problem in `eb`; `*out` is then zeroed. */
int tg_addr_parse(const char *s, struct tg_addr *out, struct tg_errbuf *eb);

/* True when both hold the same family, address and port. */
bool tg_addr_equal(const struct tg_addr *a, const struct tg_addr *b);

/* The port in host byte order (0 for an unset address). */
uint16_t tg_addr_port(const struct tg_addr *a);

#endif
