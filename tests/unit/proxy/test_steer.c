/* SPDX-License-Identifier: MIT */
/* Listener steering on real sockets (127.0.0.1 and ::1): with a program that serves the
 * first n sockets of a SO_REUSEPORT group, the others get no connection and the first n
 * share them; with every socket serving, the kernel's own hash spreads them again. Also
 * the program builder's bounds. */
#include "proxy/steer_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tg_test.h"

#define NSOCKS 4
#define CONNS 400

struct group {
    int family;
    struct sockaddr_storage addr;
    socklen_t len;
    int fd[NSOCKS];
};

/* Binds NSOCKS listeners to one port of the loopback. 0, or -errno (no such family). */
static int group_open(struct group *g, int family)
{
    memset(g, 0, sizeof *g);
    g->family = family;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&g->addr;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        g->len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&g->addr;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        g->len = sizeof *a;
    }
    for (int i = 0; i < NSOCKS; i++) {
        int one = 1;
        g->fd[i] = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (g->fd[i] == -1)
            return -errno;
        setsockopt(g->fd[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(g->fd[i], (struct sockaddr *)&g->addr, g->len) == -1 ||
            listen(g->fd[i], CONNS) == -1)
            return -errno;
        socklen_t l = g->len; /* port 0: the others join the port the first one got */
        getsockname(g->fd[i], (struct sockaddr *)&g->addr, &l);
    }
    return 0;
}

static void group_close(struct group *g)
{
    for (int i = 0; i < NSOCKS; i++)
        if (g->fd[i] > 0)
            close(g->fd[i]);
}

/* Connects CONNS times and counts which listener each connection reached. On the
 * loopback the handshake is done when connect() returns. */
static void spread(struct group *g, int counts[NSOCKS])
{
    memset(counts, 0, NSOCKS * sizeof counts[0]);
    for (int n = 0; n < CONNS; n++) {
        int c = socket(g->family, SOCK_STREAM, 0);
        TG_EXPECT_EQ(connect(c, (struct sockaddr *)&g->addr, g->len), 0);
        for (int i = 0; i < NSOCKS; i++) {
            int a = accept(g->fd[i], NULL, NULL);
            if (a >= 0) {
                counts[i]++;
                close(a);
            }
        }
        close(c);
    }
}

static void check_family(int family)
{
    struct group g;
    int rc = group_open(&g, family);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
        printf("skipped: no %s loopback\n", family == AF_INET6 ? "IPv6" : "IPv4");
        group_close(&g);
        return;
    }
    TG_EXPECT_EQ(rc, 0);
    int counts[NSOCKS];
    /* Two of four serving: the spares get nothing, the two share (400 connections; a
     * fair split gives each 200, and below 100 would take a badly broken hash). */
    TG_EXPECT_EQ(tg__steer_apply(g.fd[3], family, 2, NSOCKS), 0);
    spread(&g, counts);
    TG_EXPECT_EQ(counts[2], 0);
    TG_EXPECT_EQ(counts[3], 0);
    TG_EXPECT_GT(counts[0], 100);
    TG_EXPECT_GT(counts[1], 100);
    TG_EXPECT_EQ(counts[0] + counts[1], CONNS);
    /* One serving. */
    TG_EXPECT_EQ(tg__steer_apply(g.fd[0], family, 1, NSOCKS), 0);
    spread(&g, counts);
    TG_EXPECT_EQ(counts[0], CONNS);
    /* Three. */
    TG_EXPECT_EQ(tg__steer_apply(g.fd[1], family, 3, NSOCKS), 0);
    spread(&g, counts);
    TG_EXPECT_EQ(counts[3], 0);
    for (int i = 0; i < 3; i++)
        TG_EXPECT_GT(counts[i], 60);
    /* All serving: the kernel's hash over all four again (detaching twice is fine). */
    TG_EXPECT_EQ(tg__steer_apply(g.fd[2], family, NSOCKS, NSOCKS), 0);
    TG_EXPECT_EQ(tg__steer_apply(g.fd[2], family, NSOCKS, NSOCKS), 0);
    spread(&g, counts);
    for (int i = 0; i < NSOCKS; i++)
        TG_EXPECT_GT(counts[i], 40);
    group_close(&g);
}

static void test_program_bounds(void)
{
    struct sock_filter prog[16];
    TG_EXPECT_EQ(tg__steer_program(AF_INET, 0, prog, 16), 0);
    TG_EXPECT_EQ(tg__steer_program(AF_INET, 3, prog, 4), 0);
    unsigned n = tg__steer_program(AF_INET, 3, prog, 16);
    TG_EXPECT_GT(n, 0);
    TG_EXPECT_EQ(prog[n - 1].code, BPF_RET | BPF_A); /* ends by returning the index */
    TG_EXPECT_GT(tg__steer_program(AF_INET6, 1024, prog, 16), 0);
    TG_EXPECT_EQ(tg__steer_apply(-1, AF_INET, 1, 2), -EBADF);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_program_bounds();
    check_family(AF_INET);
    check_family(AF_INET6);
    return tg_test_report(argv[0]);
}
