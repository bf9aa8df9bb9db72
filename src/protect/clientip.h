/* SPDX-License-Identifier: MIT */
/* The client's address, for per-client rate limits and logs. A request's peer is its
 * client unless the peer is a proxy the operator trusts; then X-Forwarded-For says who
 * the client is, read from the right the way nginx's real_ip_recursive does: each proxy
 * appends the address it received the request from, so entries are skipped from the
 * right while they are trusted proxies, and the first untrusted one is the client. The
 * part to its left was written by the client and is never believed. If every entry is
 * trusted, the leftmost is taken. An entry that is not an address (garbage, "unknown", an
 * IPv6 zone) where the walk needs one makes the peer the client: nothing better is known.
 *
 * Addresses are 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one comparison
 * serves both families and an IPv4 rule never matches an IPv6 client by accident.
 * Entries may be `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or
 * `[2001:db8::1]:5678`, with spaces or tabs around them; empty list elements are skipped.
 * Parsing uses inet_pton (strict dotted quads, no octal or short forms).
 *
 * Pure functions over their arguments: no allocation, no global state, safe on any thread
 * and on any input (tests/fuzz/fuzz_clientip.c). Trusted lists are scanned linearly: fine
 * for the handful of proxies and CIDRs a deployment has. */
#ifndef TG_PROTECT_CLIENTIP_H
#define TG_PROTECT_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes tg_clientip_format needs at most, NUL included (INET6_ADDRSTRLEN). */
#define TG_CLIENTIP_STRLEN 46

struct tg_clientip_cidr {
    uint8_t net[16]; /* host bits zero */
    uint8_t bits;    /* prefix length over the 128 bits: IPv4 /n is 96 + n */
};

/* Parses one address in any of the forms above (port ignored; surrounding spaces and
 * tabs allowed) from `s[0..n)`, which need not be NUL-terminated. True and `out` filled,
 * or false. */
bool tg_clientip_parse(const char *s, size_t n, uint8_t out[16]);

/* Parses `1.2.3.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128) from `s[0..n)`.
 * Host bits below the prefix are cleared (`10.1.2.3/8` is 10.0.0.0/8). True or false. */
bool tg_clientip_parse_cidr(const char *s, size_t n, struct tg_clientip_cidr *out);

/* The 16-byte form of an IPv4 address given as 4 bytes in network order (sin_addr). */
void tg_clientip_from_v4(const void *in4, uint8_t out[16]);

bool tg_clientip_in(const struct tg_clientip_cidr *c, const uint8_t a[16]);
bool tg_clientip_trusted(const struct tg_clientip_cidr *list, size_t n, const uint8_t a[16]);

/* One X-Forwarded-For header line's value; a request may carry several lines, which
 * together are one list in order. */
struct tg_clientip_field {
    const char *p;
    size_t n;
};

enum tg_clientip_source {
    TG_CLIENTIP_PEER = 0,      /* the peer: untrusted, or no X-Forwarded-For */
    TG_CLIENTIP_FORWARDED = 1, /* an X-Forwarded-For entry */
    TG_CLIENTIP_MALFORMED = 2, /* the peer, because an entry the walk reached was bad */
};

/* Who the client is (into `out`) for a request from `peer` with the X-Forwarded-For
 * lines `xff[0..nxff)` (in header order), trusting the `ntrusted` CIDRs of `trusted`.
 * O(entries x ntrusted); no allocation. */
enum tg_clientip_source tg_clientip_resolve(const uint8_t peer[16],
                                            const struct tg_clientip_field *xff, size_t nxff,
                                            const struct tg_clientip_cidr *trusted, size_t ntrusted,
                                            uint8_t out[16]);

/* Writes `a` as text (IPv4-mapped as a dotted quad) with a NUL into `buf`. Returns the
 * length, or 0 if `cap` is too small (TG_CLIENTIP_STRLEN always suffices). */
size_t tg_clientip_format(const uint8_t a[16], char *buf, size_t cap);

#endif
