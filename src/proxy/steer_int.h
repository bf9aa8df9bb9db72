/* SPDX-License-Identifier: MIT */
/* Steering new connections among the SO_REUSEPORT listeners of the proxy port. The
 * kernel keeps the group's sockets in an array, in the order they began to listen, and
 * by default picks one by a hash of the connection. A classic BPF program attached to the
 * group (SO_ATTACH_REUSEPORT_CBPF) picks instead: it returns an index into that array.
 * The gateway keeps its spare listeners (resize.c) at the end of the array, so a program
 * that spreads connections over the first `n` sockets keeps the spares out of it. Used
 * by resize.c on the control thread; no privilege is needed for classic BPF. */
#ifndef TG_PROXY_STEER_INT_H
#define TG_PROXY_STEER_INT_H

#include <linux/filter.h>
#include <stdint.h>

/* Writes into out[0..cap) a program that spreads TCP connections of address family
 * `family` (AF_INET or AF_INET6) over sockets 0..n-1 by a hash of the client's address
 * and port. Returns its length, or 0 when `n` is 0 or `cap` too small (16 is enough). */
unsigned tg__steer_program(int family, uint32_t n, struct sock_filter *out, unsigned cap);

/* Makes the group of listening socket `fd` (with `nlisteners` sockets) send new
 * connections to its first `nserving` sockets only; with all of them serving, gives the
 * choice back to the kernel's own hash. 0 or -errno. */
int tg__steer_apply(int fd, int family, uint32_t nserving, uint32_t nlisteners);

#endif
