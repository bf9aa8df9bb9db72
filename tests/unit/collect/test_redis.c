/* SPDX-License-Identifier: MIT */
/* The Redis collector target (src/collect/redis.c, redis_loop.c) against a real
 * redis-server this test starts on a free loopback port: a scrape on a tg_loop fills
 * redis_exporter's families and redis_up 1, and the connection is kept between scrapes;
 * a SLOWLOG GET reply far larger than hiredis's 16 KiB read (the edge-triggered loop
 * must read it to the end); a refused connection, a wrong password and a stopped server
 * (SIGSTOP) each fail with their reason and redis_up 0, and the server is scraped
 * again once it is back. Every wait is bounded by a timer on the loop. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/kinds.h"
#include "collect/redis.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/loop.h"
#include "tg_test.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &n);
    close(fd);
    return ntohs(a.sin_port);
}

struct server {
    pid_t pid;
    int port;
    char dir[64];
};

static bool start_server(struct server *s, const char *password)
{
    s->port = free_port();
    snprintf(s->dir, sizeof s->dir, "/tmp/tg-redis-XXXXXX");
    if (!mkdtemp(s->dir))
        return false;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    s->pid = fork();
    if (s->pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        const char *argv[] = {"redis-server",
                              "--bind",
                              "127.0.0.1",
                              "--port",
                              port,
                              "--save",
                              "",
                              "--appendonly",
                              "no",
                              "--dir",
                              s->dir,
                              "--slowlog-log-slower-than",
                              "0",
                              "--slowlog-max-len",
                              "1000",
                              password ? "--requirepass" : NULL,
                              password,
                              NULL};
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        redisContext *c = redisConnect("127.0.0.1", s->port);
        bool ok = c && !c->err;
        redisFree(c);
        if (ok)
            return true;
        usleep(25000);
    }
    return false;
}

static void stop_server(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", s->dir);
}

static redisContext *client(const struct server *s, const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", s->port);
    if (password)
        freeReplyObject(redisCommand(c, "AUTH %s", password));
    return c;
}

/* ---- driving one scrape or request on a loop ------------------------------------- */

struct run {
    struct tg_loop *loop;
    struct tg_timer guard;
    bool finished, timed_out;
    int rc;
    char why[256];
    size_t nentries, nargs_first; /* the most arguments of one entry */
    double ops;
};

static void on_guard(struct tg_timer *t)
{
    struct run *r = t->data;
    r->timed_out = true;
    tg_loop_stop(r->loop);
}

static void finish(struct run *r, int rc, const char *why)
{
    r->finished = true;
    r->rc = rc;
    snprintf(r->why, sizeof r->why, "%s", why ? why : "");
    tg_loop_stop(r->loop);
}

static void on_done(void *arg, int rc, const char *why)
{
    finish(arg, rc, why);
}

static void wait_run(struct run *r, int64_t limit_us)
{
    if (r->finished)
        return;
    tg_loop_update_time(r->loop);
    tg_timer_start(r->loop, &r->guard, tg_loop_now_us(r->loop) + limit_us, on_guard, r);
    tg_loop_run(r->loop);
    tg_timer_stop(r->loop, &r->guard);
}

static int scrape(struct tg_loop *loop, struct tg_ctarget *t, struct tg_csnap *out, char *why,
                  size_t cap)
{
    struct run r = {.loop = loop};
    tg_csnap_reset(out);
    t->ops->start(t->impl, out, on_done, &r);
    wait_run(&r, 10000000);
    TG_EXPECT(r.finished);
    snprintf(why, cap, "%s", r.why);
    return r.finished ? r.rc : -ETIMEDOUT;
}

static double value(const struct tg_csnap *s, const char *name)
{
    double v = -1;
    return tg_csnap_get(s, &v, name, NULL) ? v : -1;
}

static struct tg_cfg_redis cfg_for(const struct server *s)
{
    struct tg_cfg_redis c = {0};
    snprintf(c.addr, sizeof c.addr, "127.0.0.1:%d", s->port);
    c.timeout_us = 1000000;
    return c;
}

static void test_scrape(struct tg_loop *loop)
{
    struct server s;
    TG_EXPECT(start_server(&s, NULL));
    redisContext *c = client(&s, NULL);
    freeReplyObject(redisCommand(c, "SET k v"));
    freeReplyObject(redisCommand(c, "GET k"));
    freeReplyObject(redisCommand(c, "GET missing"));
    freeReplyObject(redisCommand(c, "GET missing2"));

    struct tg_cfg_redis cfg = cfg_for(&s);
    struct tg_ctarget t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_credis_make(loop, &cfg, NULL, &t, &eb), 0);
    struct tg_csnap *out = tg_csnap_new();
    char why[256];
    TG_EXPECT_EQ(scrape(loop, &t, out, why, sizeof why), 0);
    TG_EXPECT_EQ(value(out, "redis_up"), 1);
    TG_EXPECT_EQ(value(out, "redis_keyspace_hits_total"), 1);
    TG_EXPECT_EQ(value(out, "redis_keyspace_misses_total"), 2);
    TG_EXPECT_EQ(value(out, "redis_connected_clients"), 2);
    TG_EXPECT_GT(value(out, "redis_memory_used_bytes"), 100000);
    TG_EXPECT_EQ(value(out, "redis_memory_max_bytes"), 0);
    TG_EXPECT_GT(value(out, "redis_slowlog_length"), 3);
    double v;
    TG_EXPECT(tg_csnap_get(out, &v, "redis_db_keys", "db", "db0", NULL) && v == 1);
    TG_EXPECT(tg_csnap_get(out, &v, "redis_db_keys", "db", "db15", NULL) && v == 0);
    TG_EXPECT(tg_csnap_get(out, &v, "redis_commands_total", "cmd", "get", NULL) && v == 3);

    /* The connection is kept: a second scrape makes no new one. */
    double conns = value(out, "redis_connections_received_total");
    TG_EXPECT_EQ(scrape(loop, &t, out, why, sizeof why), 0);
    TG_EXPECT_EQ(value(out, "redis_connections_received_total"), conns);

    /* A stopped server: the set's deadline cancels (here: the test's), redis_up 0, and
     * the server is scraped again once it runs. */
    kill(s.pid, SIGSTOP);
    struct run r = {.loop = loop};
    tg_csnap_reset(out);
    t.ops->start(t.impl, out, on_done, &r);
    wait_run(&r, 300000);
    TG_EXPECT(!r.finished && r.timed_out);
    tg_csnap_reset(out);
    t.ops->cancel(t.impl, out);
    TG_EXPECT_EQ(value(out, "redis_up"), 0);
    TG_EXPECT_EQ(tg_csnap_nseries(out), 1);
    kill(s.pid, SIGCONT);
    TG_EXPECT_EQ(scrape(loop, &t, out, why, sizeof why), 0);
    TG_EXPECT_EQ(value(out, "redis_up"), 1);

    /* Gone for good: refused, with the reason. */
    redisFree(c);
    stop_server(&s);
    int rc = scrape(loop, &t, out, why, sizeof why);
    TG_EXPECT_LT(rc, 0);
    TG_EXPECT_EQ(value(out, "redis_up"), 0);
    TG_EXPECT_EQ(tg_csnap_nseries(out), 1);
    TG_EXPECT(strstr(why, "refused") || strstr(why, "closed") || strstr(why, "reset"));
    rc = scrape(loop, &t, out, why, sizeof why);
    TG_EXPECT(rc < 0 && strstr(why, "refused"));
    t.ops->free(t.impl);
    tg_csnap_free(out);
}

static void test_auth(struct tg_loop *loop)
{
    struct server s;
    TG_EXPECT(start_server(&s, "s3cret-pass"));
    struct tg_cfg_redis cfg = cfg_for(&s);
    snprintf(cfg.password.env, sizeof cfg.password.env, "TG_TEST_REDIS_PASSWORD");
    struct tg_ctarget t;
    struct tg_errbuf eb = {0};
    /* The variable is not set: the target cannot be made, and says why. */
    unsetenv("TG_TEST_REDIS_PASSWORD");
    TG_EXPECT_LT(tg_credis_make(loop, &cfg, NULL, &t, &eb), 0);
    TG_EXPECT(strstr(eb.msg, "TG_TEST_REDIS_PASSWORD"));

    struct tg_csnap *out = tg_csnap_new();
    char why[256];
    setenv("TG_TEST_REDIS_PASSWORD", "wrong", 1);
    TG_EXPECT_EQ(tg_credis_make(loop, &cfg, NULL, &t, &eb), 0);
    TG_EXPECT_LT(scrape(loop, &t, out, why, sizeof why), 0);
    TG_EXPECT_EQ(value(out, "redis_up"), 0);
    TG_EXPECT(strstr(why, "AUTH failed: WRONGPASS"));
    TG_EXPECT(!strstr(why, "wrong"));
    t.ops->free(t.impl);

    setenv("TG_TEST_REDIS_PASSWORD", "s3cret-pass", 1);
    TG_EXPECT_EQ(tg_credis_make(loop, &cfg, NULL, &t, &eb), 0);
    TG_EXPECT_EQ(scrape(loop, &t, out, why, sizeof why), 0);
    TG_EXPECT_EQ(value(out, "redis_up"), 1);
    t.ops->free(t.impl);
    unsetenv("TG_TEST_REDIS_PASSWORD");
    tg_csnap_free(out);
    stop_server(&s);
}

static void on_slowlog(void *arg, int rc, const char *why, const struct tg_credis_slowentry *e,
                       size_t n)
{
    struct run *r = arg;
    r->nentries = n;
    for (size_t i = 0; i < n; i++)
        if (e[i].nargs > r->nargs_first)
            r->nargs_first = e[i].nargs;
    finish(r, rc, why);
}

static void on_info(void *arg, int rc, const char *why, const struct tg_credis_summary *s)
{
    struct run *r = arg;
    r->ops = s ? s->keys : -1;
    finish(r, rc, why);
}

static void test_diagnostics(struct tg_loop *loop)
{
    struct server s;
    TG_EXPECT(start_server(&s, NULL));
    redisContext *c = client(&s, NULL);
    /* 40 entries of 32 logged arguments of ~128 bytes: about 170 KB of reply. */
    char val[200];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        const char *argv[40];
        argv[0] = "RPUSH";
        argv[1] = "biglist";
        for (int j = 2; j < 40; j++)
            argv[j] = val;
        freeReplyObject(redisCommandArgv(c, 40, argv, NULL));
    }
    struct tg_cfg_redis cfg = cfg_for(&s);
    struct tg_ctarget t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_credis_make(loop, &cfg, NULL, &t, &eb), 0);
    struct tg_credis *rt = t.impl;
    struct run r = {.loop = loop};
    struct tg_credis_req *q;
    TG_EXPECT_EQ(tg_credis_slowlog(rt, 40, on_slowlog, &r, &q, &eb), 0);
    TG_EXPECT(!r.finished); /* never from inside the call */
    wait_run(&r, 5000000);
    TG_EXPECT(r.finished);
    TG_EXPECT_EQ(r.rc, 0);
    TG_EXPECT_EQ(r.nentries, 40);
    TG_EXPECT_EQ(r.nargs_first, 32); /* Redis logs 31 and "... (N more arguments)" */

    r = (struct run){.loop = loop};
    TG_EXPECT_EQ(tg_credis_info(rt, on_info, &r, &q, &eb), 0);
    wait_run(&r, 5000000);
    TG_EXPECT(r.finished && r.rc == 0);
    TG_EXPECT_EQ(r.ops, 1); /* keys */

    /* A stopped server: the request answers within the timeout (1 s), with the reason. */
    kill(s.pid, SIGSTOP);
    r = (struct run){.loop = loop};
    TG_EXPECT_EQ(tg_credis_slowlog(rt, 10, on_slowlog, &r, &q, &eb), 0);
    wait_run(&r, 3000000);
    TG_EXPECT(r.finished && r.rc == -ETIMEDOUT);
    TG_EXPECT(strstr(r.why, "within 1 s"));
    /* A cancelled request is never answered, even when the connection is dropped. */
    r = (struct run){.loop = loop};
    TG_EXPECT_EQ(tg_credis_slowlog(rt, 10, on_slowlog, &r, &q, &eb), 0);
    tg_credis_req_cancel(q);
    kill(s.pid, SIGCONT);
    /* Freed with requests in flight: they are released with the connection. */
    t.ops->free(t.impl);
    TG_EXPECT(!r.finished);
    redisFree(c);
    stop_server(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct tg_loop *loop;
    if (tg_loop_new(&loop, NULL, NULL) != 0)
        return 1;
    test_scrape(loop);
    test_auth(loop);
    test_diagnostics(loop);
    tg_loop_flush_deferred(loop);
    tg_loop_free(loop);
    return tg_test_report("collect/redis");
}
