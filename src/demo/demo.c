/* SPDX-License-Identifier: MIT */
/* `tailguard demo-api`: option parsing, listening sockets, worker threads and signals.
 * The main thread does no request work: it blocks SIGTERM/SIGINT before starting the
 * workers (so they inherit the mask and never see them), waits for one with sigwait,
 * then asks every worker to stop through its loop wake-up and joins them. Doing the
 * shutdown in ordinary thread context avoids async-signal-safety concerns entirely.
 * Listeners are created here, one SO_REUSEPORT socket per worker, so a bind error is
 * reported before any thread starts; port 0 binds the first socket to an ephemeral port
 * and the others to the same one. */
#include "demo/demo.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "demo/server_int.h"

#define MAX_WORKERS 256

struct opts {
    const char *listen;
    unsigned workers;
    double latency_scale;
};

static void usage(FILE *f)
{
    fputs("usage: tailguard demo-api [--listen ADDR] [--workers N] [--latency-scale F]\n"
          "  --listen ADDR         host:port, [v6]:port or :port (default 127.0.0.1:8080)\n"
          "  --workers N           worker threads, each with its own loop (default 1)\n"
          "  --latency-scale F     multiply simulated endpoint latency (0 = none; default 1)\n",
          f);
}

/* Accepts "--opt VALUE" and "--opt=VALUE". Returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != 0 || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Returns 0, or 2 (usage error, message printed), or -1 for --help. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    o->listen = "127.0.0.1:8080";
    o->workers = 1;
    o->latency_scale = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        char *end;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return -1;
        if ((v = opt_value(argc, argv, &i, "--listen"))) {
            o->listen = v;
        } else if ((v = opt_value(argc, argv, &i, "--workers"))) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > MAX_WORKERS) {
                fprintf(stderr, "demo-api: --workers must be 1..%d\n", MAX_WORKERS);
                return 2;
            }
            o->workers = (unsigned)n;
        } else if ((v = opt_value(argc, argv, &i, "--latency-scale"))) {
            o->latency_scale = strtod(v, &end);
            if (*end || !(o->latency_scale >= 0 && o->latency_scale <= 1000)) {
                fputs("demo-api: --latency-scale must be a number in [0, 1000]\n", stderr);
                return 2;
            }
        } else {
            fprintf(stderr, "demo-api: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

/* Splits "host:port", "[v6]:port" or ":port" and resolves it (numeric or name). */
static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || strlen(addr) >= sizeof host)
        return TG_EPARSE;
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) != 0 || !res)
        return TG_EPARSE;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int listen_one(const struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1 ||
        bind(fd, (const struct sockaddr *)ss, len) == -1 || listen(fd, 4096) == -1) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Opens `n` listeners on `addr` into fds[]; returns 0 or a negative error. */
static int open_listeners(const char *addr, unsigned n, int *fds)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(addr, &ss, &len) < 0) {
        tg_log(TG_LOG_ERROR, "demo", "bad listen address addr=%s", addr);
        return TG_EPARSE;
    }
    for (unsigned i = 0; i < n; i++) {
        fds[i] = listen_one(&ss, len);
        if (fds[i] < 0) {
            tg_log(TG_LOG_ERROR, "demo", "cannot listen addr=%s err=\"%s\"", addr,
                   tg_strerror(fds[i]));
            return fds[i];
        }
        /* After an ephemeral bind, the other workers must share the chosen port. */
        if (i == 0)
            getsockname(fds[0], (struct sockaddr *)&ss, &len);
    }
    char host[64], port[16];
    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
    tg_log(TG_LOG_INFO, "demo", "listening addr=%s%s%s:%s workers=%u",
           ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "", port, n);
    return 0;
}

/* Starts the workers, waits for SIGTERM/SIGINT, stops and joins them. */
static int serve(struct tg_demo_shared *sh, int *fds, const sigset_t *set)
{
    unsigned started = 0;
    int rc = 0;
    for (unsigned i = 0; i < sh->nworkers; i++) {
        rc = tg_demo__worker_new(&sh->workers[i], sh, i, fds[i]);
        fds[i] = -1; /* the worker owns it now, even on failure */
        if (rc < 0) {
            tg_log(TG_LOG_ERROR, "demo", "worker start failed err=\"%s\"", tg_strerror(rc));
            goto stop;
        }
    }
    for (; started < sh->nworkers; started++) {
        rc = -pthread_create(&sh->workers[started]->thread, NULL, tg_demo__worker_main,
                             sh->workers[started]);
        if (rc < 0)
            goto stop;
    }
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    tg_log(TG_LOG_INFO, "demo", "stopping signal=%d", sig);
stop:
    atomic_store(&sh->stopping, true);
    tg_demo__wake_all(sh);
    for (unsigned i = 0; i < started; i++)
        pthread_join(sh->workers[i]->thread, NULL);
    return rc < 0 ? 1 : 0;
}

int tg_demo_cmd(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc) {
        if (rc < 0)
            usage(stdout);
        return rc < 0 ? 0 : rc;
    }
    /* Writes use MSG_NOSIGNAL; this also covers anything else that writes a socket. */
    signal(SIGPIPE, SIG_IGN);
    /* Blocked from the start, so a stop request that arrives during start-up waits for
     * sigwait instead of killing the process with a non-zero status. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    tg_demo__endpoints_init();
    struct tg_demo_shared sh = {.latency_scale = o.latency_scale, .nworkers = o.workers};
    tg_demo_agents_init(&sh.agents);
    int fds[MAX_WORKERS];
    for (unsigned i = 0; i < o.workers; i++)
        fds[i] = -1;
    int exit_code = 1;
    sh.workers = calloc(o.workers, sizeof *sh.workers);
    if (!sh.workers || tg_demo_faults_new(&sh.faults, o.workers) < 0)
        goto out;
    if (open_listeners(o.listen, o.workers, fds) < 0)
        goto out;
    exit_code = serve(&sh, fds, &set);
out:
    for (unsigned i = 0; i < o.workers; i++) {
        if (fds[i] != -1)
            close(fds[i]);
        if (sh.workers)
            tg_demo__worker_free(sh.workers[i]);
    }
    free(sh.workers);
    tg_demo_faults_free(sh.faults);
    return exit_code;
}
