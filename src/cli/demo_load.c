/* SPDX-License-Identifier: MIT */
/* The demo's background load; see demo_load.h. Each request opens a connection, sends one
 * request with "Connection: close" and reads until the server closes: no response
 * parsing is needed that way, and a 20 rps trickle does not care about reuse. */
#include "cli/demo_load.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct tg_cli_demo_load {
    pthread_t thread;
    atomic_bool stop;
    int port;
    int rps;
};

static const char *const mix[] = {
    "GET /api/products", "GET /api/products", "GET /api/products/42", "GET /api/products/7",
    "GET /api/v1/agents", "GET /api/analytics/daily", "GET /health",
};

static int one_request(int port, const char *line, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        char req[256];
        int n = snprintf(req, sizeof req,
                         "%s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tailguard-demo\r\n"
                         "Connection: close\r\n\r\n",
                         line);
        if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
            char buf[4096];
            ssize_t r, total = 0;
            while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
                total += r;
            ok = total > 0 ? 0 : -1;
        }
    }
    close(fd);
    return ok;
}

int tg_cli_demo_load_wait_ready(int port, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (one_request(port, "GET /health", 1000) == 0)
            return 0;
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void *load_main(void *arg)
{
    struct tg_cli_demo_load *l = arg;
    long gap_ns = 1000000000L / (l->rps > 0 ? l->rps : 1);
    for (unsigned i = 0; !atomic_load(&l->stop); i++) {
        one_request(l->port, mix[i % (sizeof mix / sizeof mix[0])], 5000);
        struct timespec ts = {gap_ns / 1000000000L, gap_ns % 1000000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

struct tg_cli_demo_load *tg_cli_demo_load_start(int port, int rps)
{
    struct tg_cli_demo_load *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->port = port;
    l->rps = rps;
    if (pthread_create(&l->thread, NULL, load_main, l) != 0) {
        free(l);
        return NULL;
    }
    return l;
}

void tg_cli_demo_load_stop(struct tg_cli_demo_load *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    free(l);
}
