/* SPDX-License-Identifier: MIT */
/* The listener-steering program (steer_int.h). The program sees the SYN with its data
 * pointer past the TCP header, so it reads the network header through the SKF_NET_OFF
 * window: the source port after the IPv4 header (whose length it takes from the IHL
 * field) or after the fixed IPv6 header (extension headers are not looked for: a SYN
 * with one is still given a valid socket, only by other bits), plus the low word of the
 * source address. The kernel's own hash cannot be read from classic BPF; the
 * multiplicative hash below spreads ports that differ in a few low bits (Linux hands out
 * ephemeral ports in steps of two) across the whole range before the modulo. */
#include "proxy/steer_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define GOLDEN 0x9E3779B1u /* 2^32 / phi: Knuth's multiplicative hash */

unsigned tg__steer_program(int family, uint32_t n, struct sock_filter *out, unsigned cap)
{
    const struct sock_filter v4[] = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, SKF_NET_OFF + 0), /* X = IPv4 header length */
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, SKF_NET_OFF + 0),  /* A = TCP source port */
        BPF_STMT(BPF_ST, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12), /* A = source address */
    };
    const struct sock_filter v6[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_NET_OFF + 40), /* A = TCP source port */
        BPF_STMT(BPF_ST, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 20), /* A = its last 32 bits */
    };
    const struct sock_filter tail[] = {
        BPF_STMT(BPF_LDX | BPF_MEM, 0),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, GOLDEN),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    const struct sock_filter *head = family == AF_INET6 ? v6 : v4;
    unsigned nhead = family == AF_INET6 ? sizeof v6 / sizeof v6[0] : sizeof v4 / sizeof v4[0];
    unsigned ntail = sizeof tail / sizeof tail[0];
    if (n == 0 || cap < nhead + ntail)
        return 0;
    for (unsigned i = 0; i < nhead; i++)
        out[i] = head[i];
    for (unsigned i = 0; i < ntail; i++)
        out[nhead + i] = tail[i];
    return nhead + ntail;
}

int tg__steer_apply(int fd, int family, uint32_t nserving, uint32_t nlisteners)
{
    if (nserving >= nlisteners) {
        int zero = 0;
        if (setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &zero, sizeof zero) == 0 ||
            errno == ENOENT)
            return 0;
        if (errno != ENOPROTOOPT)
            return -errno;
        /* Before Linux 5.8 a program cannot be detached: spread over every socket. */
        nserving = nlisteners;
    }
    struct sock_filter prog[16];
    struct sock_fprog fp = {.len = (unsigned short)tg__steer_program(family, nserving, prog, 16),
                            .filter = prog};
    if (fp.len == 0)
        return -EINVAL;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof fp) == -1)
        return -errno;
    return 0;
}
