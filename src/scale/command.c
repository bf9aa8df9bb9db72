/* SPDX-License-Identifier: MIT */
/* The command provider: autoscale.command with {n} replaced by the wanted count, run by
 * /bin/sh -c in a process group of its own, its output (stdout and stderr) kept to the
 * last kilobyte, killed at autoscale.command_timeout. When it exits 0 the server list is
 * read back: servers_file (one host:port a line, servers.c), or every A/AAAA record of
 * servers_dns through getaddrinfo on a thread of its own, since a lookup can block for
 * seconds and the control loop must not. All of it is followed from the scaler's turn;
 * nothing here blocks. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "scale/scale_int.h"

#define TAIL_BYTES 1024
#define MAX_LIST TG_CFG_MAX_SERVERS
#define MAX_FILE_BYTES (1u << 20)

struct lookup {
    pthread_t thread;
    bool running;
    atomic_bool done;
    char host[256], port[8];
    int rc; /* getaddrinfo's */
    struct tg_addr *addrs;
    size_t n;
};

struct tg_scale_cmd {
    tg_scale_event_fn *ev;
    void *ctx;
    pid_t pid; /* 0 = none running */
    int out_fd;
    int64_t started_us;
    bool killed;
    char tail[TAIL_BYTES + 1];
    size_t tail_len;
    int last_status;
    struct lookup lk;
    struct tg_addr *servers;
    size_t nservers;
};

int tg_scale__cmd_new(tg_scale_event_fn *ev, void *ctx, struct tg_scale_cmd **out)
{
    struct tg_scale_cmd *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->servers = calloc(MAX_LIST, sizeof *c->servers);
    c->lk.addrs = calloc(MAX_LIST, sizeof *c->lk.addrs);
    if (!c->servers || !c->lk.addrs) {
        free(c->servers);
        free(c->lk.addrs);
        free(c);
        return -ENOMEM;
    }
    c->ev = ev;
    c->ctx = ctx;
    c->out_fd = -1;
    c->last_status = -1;
    *out = c;
    return 0;
}

void tg_scale__cmd_free(struct tg_scale_cmd *c)
{
    if (!c)
        return;
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->lk.running)
        pthread_join(c->lk.thread, NULL);
    free(c->lk.addrs);
    free(c->servers);
    free(c);
}

bool tg_scale__cmd_busy(const struct tg_scale_cmd *c)
{
    return c->pid > 0 || c->lk.running;
}

size_t tg_scale__cmd_servers(const struct tg_scale_cmd *c, const struct tg_addr **out)
{
    *out = c->servers;
    return c->nservers;
}

void tg_scale__cmd_last(const struct tg_scale_cmd *c, int *status, const char **tail)
{
    *status = c->last_status;
    *tail = c->tail;
}

static void *lookup_main(void *arg)
{
    struct lookup *lk = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    lk->n = 0;
    lk->rc = getaddrinfo(lk->host, lk->port, &hints, &res);
    for (struct addrinfo *ai = res; ai && lk->n < MAX_LIST; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        char host[64], text[80];
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        snprintf(text, sizeof text, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
                 lk->port);
        struct tg_addr a;
        if (tg_addr_parse(text, &a, NULL) != 0)
            continue;
        bool dup = false;
        for (size_t k = 0; k < lk->n && !dup; k++)
            dup = tg_addr_equal(&lk->addrs[k], &a);
        if (!dup)
            lk->addrs[lk->n++] = a;
    }
    if (res)
        freeaddrinfo(res);
    atomic_store_explicit(&lk->done, true, memory_order_release);
    return NULL;
}

static int read_file(struct tg_scale_cmd *c, const char *path, struct tg_errbuf *eb)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int err = errno;
        return tg_errbuf_set(eb, -err, "autoscale.servers_file: %s: %s", path, strerror(err));
    }
    char *buf = malloc(MAX_FILE_BYTES);
    size_t len = buf ? fread(buf, 1, MAX_FILE_BYTES, f) : 0;
    fclose(f);
    if (!buf)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    struct tg_errbuf inner = {0};
    size_t n;
    int rc = tg_scale__parse_servers(buf, len, c->lk.addrs, MAX_LIST, &n, &inner);
    free(buf);
    if (rc)
        return tg_errbuf_set(eb, rc, "autoscale.servers_file: %s: %s", path, inner.msg);
    if (n == 0)
        return tg_errbuf_set(eb, TG_EPARSE, "autoscale.servers_file: %s: no servers", path);
    memcpy(c->servers, c->lk.addrs, n * sizeof *c->servers);
    c->nservers = n;
    return 0;
}

/* Starts reading the list: the file at once (returns 1: ready), DNS on its thread
 * (returns 0: follow with the tick), or a negative code. */
static int start_read(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a,
                      struct tg_errbuf *eb)
{
    if (a->servers_file[0]) {
        int rc = read_file(c, a->servers_file, eb);
        return rc ? rc : 1;
    }
    const char *colon = strrchr(a->servers_dns, ':');
    if (!colon)
        return tg_errbuf_set(eb, TG_ECONFIG, "autoscale.servers_dns: write name:port");
    struct lookup *lk = &c->lk;
    snprintf(lk->host, sizeof lk->host, "%.*s", (int)(colon - a->servers_dns), a->servers_dns);
    snprintf(lk->port, sizeof lk->port, "%s", colon + 1);
    atomic_store(&lk->done, false);
    int rc = pthread_create(&lk->thread, NULL, lookup_main, lk);
    if (rc)
        return tg_errbuf_set(eb, -rc, "cannot start the lookup thread: %s", strerror(rc));
    lk->running = true;
    return 0;
}

int tg_scale__cmd_refresh(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a,
                          struct tg_errbuf *eb)
{
    if (tg_scale__cmd_busy(c))
        return -EBUSY;
    int rc = start_read(c, a, eb);
    return rc < 0 ? rc : 0;
}

static int expand_n(const char *cmd, uint32_t n, char *out, size_t cap)
{
    char num[12];
    snprintf(num, sizeof num, "%u", n);
    size_t o = 0, vl = strlen(num);
    for (const char *p = cmd; *p;) {
        if (strncmp(p, "{n}", 3) == 0) {
            if (o + vl >= cap)
                return -1;
            memcpy(out + o, num, vl);
            o += vl;
            p += 3;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return 0;
}

int tg_scale__cmd_run(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a, uint32_t n,
                      int64_t now_us, struct tg_errbuf *eb)
{
    if (tg_scale__cmd_busy(c))
        return tg_errbuf_set(eb, -EBUSY, "the previous scaling command is still running");
    char cmd[sizeof a->command + 32];
    if (expand_n(a->command, n, cmd, sizeof cmd) != 0)
        return tg_errbuf_set(eb, TG_ELIMIT, "autoscale.command: too long once expanded");
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == -1) {
        int err = errno;
        return tg_errbuf_set(eb, -err, "pipe: %s", strerror(err));
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        /* dup2 clears O_CLOEXEC on the copies; the shell's output goes to the pipe. */
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        int fl = fcntl(1, F_GETFL);
        fcntl(1, F_SETFL, fl & ~O_NONBLOCK);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(pfd[1]);
    if (pid == -1) {
        close(pfd[0]);
        return tg_errbuf_set(eb, -err, "fork: %s", strerror(err));
    }
    setpgid(pid, pid);
    c->pid = pid;
    c->out_fd = pfd[0];
    c->started_us = now_us;
    c->killed = false;
    c->tail_len = 0;
    c->tail[0] = '\0';
    tg_log(TG_LOG_INFO, "scale", "command-started pid=%d n=%u", (int)pid, n);
    return 0;
}

/* Keeps the last TAIL_BYTES of the output. */
static void drain_output(struct tg_scale_cmd *c)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(c->out_fd, buf, sizeof buf);
        if (r <= 0)
            return;
        size_t n = (size_t)r;
        if (n >= TAIL_BYTES) {
            memcpy(c->tail, buf + n - TAIL_BYTES, TAIL_BYTES);
            c->tail_len = TAIL_BYTES;
        } else {
            size_t keep = c->tail_len + n > TAIL_BYTES ? TAIL_BYTES - n : c->tail_len;
            memmove(c->tail, c->tail + c->tail_len - keep, keep);
            memcpy(c->tail + keep, buf, n);
            c->tail_len = keep + n;
        }
        c->tail[c->tail_len] = '\0';
    }
}

bool tg_scale__cmd_tick(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a, int64_t now_us,
                        bool *failed)
{
    *failed = false;
    if (c->lk.running) {
        if (!atomic_load_explicit(&c->lk.done, memory_order_acquire))
            return false;
        pthread_join(c->lk.thread, NULL);
        c->lk.running = false;
        if (c->lk.rc != 0 || c->lk.n == 0) {
            *failed = true;
            c->ev(c->ctx, "command-failed", a->servers_dns, 0,
                  c->lk.rc ? gai_strerror(c->lk.rc) : "no A/AAAA records");
            return false;
        }
        memcpy(c->servers, c->lk.addrs, c->lk.n * sizeof *c->servers);
        c->nservers = c->lk.n;
        return true;
    }
    if (c->pid <= 0)
        return false;
    drain_output(c);
    if (!c->killed && now_us - c->started_us > a->command_timeout_us) {
        kill(-c->pid, SIGKILL);
        c->killed = true;
    }
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r != c->pid)
        return false;
    drain_output(c);
    close(c->out_fd);
    c->out_fd = -1;
    int pid = c->pid;
    c->pid = 0;
    c->last_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (c->last_status != 0) {
        char d[64];
        snprintf(d, sizeof d, c->killed ? "timed out (autoscale.command_timeout)" : "exit status %d",
                 c->last_status);
        *failed = true;
        c->ev(c->ctx, "command-failed", "", pid, d);
        return false;
    }
    struct tg_errbuf eb = {0};
    int rc = start_read(c, a, &eb);
    if (rc < 0) {
        *failed = true;
        c->ev(c->ctx, "command-failed", "", pid, eb.msg);
        return false;
    }
    c->ev(c->ctx, "command-done", "", pid, "exit status 0");
    return rc == 1;
}
