/* SPDX-License-Identifier: MIT */
/* Unit tests for src/collect/postgres*.c without a PostgreSQL: messages cut to one line
 * with the password scrubbed; result tables; a password file that cannot be read; and,
 * on loopback sockets, a server that refuses (the collection fails with pg_up 0 and a
 * reason without the password) and one that accepts and never answers (the deadline's
 * cancel closes the connection, a diagnostic times out with its reason, both promptly). */
#include "collect/postgres.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/kinds.h"
#include "collect/postgres_int.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/loop.h"
#include "tg_test.h"

static void test_clean_msg(void)
{
    char out[64];
    tg_cpg__clean_msg(out, sizeof out, "FATAL:  password s3cret wrong\nDETAIL: s3cret", "s3cret");
    TG_EXPECT_STREQ(out, "FATAL:  password *** wrong");
    tg_cpg__clean_msg(out, sizeof out, "no secret here\n", "");
    TG_EXPECT_STREQ(out, "no secret here");
    tg_cpg__clean_msg(out, 8, "a long message", NULL);
    TG_EXPECT_STREQ(out, "a long"); /* cut, and the trailing space trimmed */
}

static void test_result(void)
{
    const char *names[] = {"a", "b"};
    struct tg_cpg_result *r = tg_cpg_result_new(2, names);
    TG_EXPECT(r != NULL);
    for (int i = 0; i < 40; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *cells[] = {v, i % 2 ? NULL : "x"};
        TG_EXPECT_EQ(tg_cpg_result_add_row(r, cells), 0);
    }
    TG_EXPECT_EQ(tg_cpg_result_nrows(r), 40);
    TG_EXPECT_EQ(tg_cpg_result_col(r, "b"), 1);
    TG_EXPECT_EQ(tg_cpg_result_col(r, "c"), -1);
    TG_EXPECT_STREQ(tg_cpg_result_get(r, 39, 0), "39");
    TG_EXPECT(tg_cpg_result_get(r, 39, 1) == NULL);
    TG_EXPECT_STREQ(tg_cpg_result_get(r, 38, 1), "x");
    TG_EXPECT(tg_cpg_result_get(r, 40, 0) == NULL);
    TG_EXPECT_STREQ(tg_cpg_result_name(r, 1), "b");
    tg_cpg_result_free(r);
}

static void test_unreadable_password(void)
{
    struct tg_cfg_postgres c = {0};
    snprintf(c.dsn, sizeof c.dsn, "host=127.0.0.1 port=1");
    snprintf(c.password.file, sizeof c.password.file, "/nonexistent/pgpass");
    struct tg_ctarget t = {0};
    struct tg_errbuf eb = {0};
    TG_EXPECT(tg_cpg_make(NULL, &c, NULL, &t, &eb) < 0);
    TG_EXPECT(strstr(eb.msg, "/nonexistent/pgpass") != NULL);
    TG_EXPECT(t.impl == NULL);
}

/* ---- on loopback ------------------------------------------------------------------ */

static struct tg_loop *loop;
static int done_rc = 99;
static char done_why[256];
static bool diag_called;
static char diag_why[256];

static void on_done(void *arg, int rc, const char *why)
{
    (void)arg;
    done_rc = rc;
    snprintf(done_why, sizeof done_why, "%s", why ? why : "");
    tg_loop_stop(loop);
}

static void on_diag(void *arg, const struct tg_cpg_result *res, const char *why)
{
    (void)arg;
    diag_called = true;
    TG_EXPECT(res == NULL);
    snprintf(diag_why, sizeof diag_why, "%s", why ? why : "");
    tg_loop_stop(loop);
}

static struct tg_timer guard;

static void on_guard(struct tg_timer *t)
{
    (void)t;
    tg_loop_stop(loop);
}

/* Runs the loop until a callback stops it or `ms` pass. */
static void run_for(int ms)
{
    tg_loop_update_time(loop);
    tg_timer_start(loop, &guard, tg_loop_now_us(loop) + ms * 1000, on_guard, NULL);
    tg_loop_run(loop);
    tg_timer_stop(loop, &guard);
}

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof a) == -1 || listen(fd, 4) == -1 ||
        getsockname(fd, (struct sockaddr *)&a, &len) == -1)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static struct tg_ctarget make(int port, const char *password_env)
{
    struct tg_cfg_postgres c = {0};
    snprintf(c.dsn, sizeof c.dsn, "host=127.0.0.1 port=%d user=tg dbname=tg sslmode=disable", port);
    snprintf(c.password.env, sizeof c.password.env, "%s", password_env);
    c.statements = true;
    c.timeout_us = 300000;
    struct tg_ctarget t = {0};
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cpg_make(loop, &c, NULL, &t, &eb), 0);
    return t;
}

static void test_refused(void)
{
    int port;
    int fd = listener(&port);
    close(fd); /* nothing listens there now */
    setenv("TG_TEST_PGPASS", "hunter2", 1);
    struct tg_ctarget t = make(port, "TG_TEST_PGPASS");
    struct tg_csnap *s = tg_csnap_new();
    done_rc = 99;
    t.ops->start(t.impl, s, on_done, NULL);
    run_for(2000);
    TG_EXPECT(done_rc < 0);
    TG_EXPECT(done_why[0] != '\0');
    TG_EXPECT(strstr(done_why, "hunter2") == NULL);
    double up = -1;
    TG_EXPECT(tg_csnap_get(s, &up, "pg_up", NULL));
    TG_EXPECT(up == 0);
    TG_EXPECT_EQ(tg_csnap_nseries(s), 1);
    t.ops->free(t.impl);
    tg_csnap_free(s);
}

/* Accepts the connection and never answers: PostgreSQL with SIGSTOP'd processes. */
static void test_hung(void)
{
    int port;
    int lfd = listener(&port);
    TG_EXPECT(lfd >= 0);
    struct tg_ctarget t = make(port, "");
    struct tg_csnap *s = tg_csnap_new();
    done_rc = 99;
    t.ops->start(t.impl, s, on_done, NULL);
    run_for(200); /* libpq connects and sends its startup packet */
    TG_EXPECT_EQ(done_rc, 99);
    int cfd = accept(lfd, NULL, NULL);
    TG_EXPECT(cfd >= 0);
    int64_t t0 = tg_clock_mono_us();
    t.ops->cancel(t.impl, s);
    /* The collector closed its end: we read its startup packet, then end of file. */
    char buf[512];
    ssize_t n;
    struct pollfd p = {.fd = cfd, .events = POLLIN};
    do {
        n = -1;
        if (poll(&p, 1, 1000) != 1)
            break;
        n = read(cfd, buf, sizeof buf);
    } while (n > 0);
    TG_EXPECT_EQ(n, 0);
    TG_EXPECT(tg_clock_mono_us() - t0 < 500000);
    double up = -1;
    TG_EXPECT(tg_csnap_get(s, &up, "pg_up", NULL) && up == 0);
    close(cfd);

    /* A diagnostic on the hung server ends at its own deadline, with the reason. */
    struct tg_cpg_req *req = NULL;
    diag_called = false;
    t0 = tg_clock_mono_us();
    TG_EXPECT_EQ(tg_cpg_diag(t.impl, TG_CPG_DIAG_CONNECTIONS, NULL, 200000, on_diag, NULL, &req),
                 0);
    run_for(3000);
    TG_EXPECT(diag_called);
    TG_EXPECT(strstr(diag_why, "did not answer within 200 ms") != NULL);
    TG_EXPECT(tg_clock_mono_us() - t0 < 1500000);

    /* A diagnostic abandoned by its client never calls back. */
    diag_called = false;
    TG_EXPECT_EQ(tg_cpg_diag(t.impl, TG_CPG_DIAG_CONNECTIONS, NULL, 100000, on_diag, NULL, &req),
                 0);
    tg_cpg_req_cancel(req);
    run_for(300);
    TG_EXPECT(!diag_called);

    /* Freed with a diagnostic in flight: it fails with the reason. */
    diag_called = false;
    TG_EXPECT_EQ(tg_cpg_diag(t.impl, TG_CPG_DIAG_CONNECTIONS, NULL, 5000000, on_diag, NULL, &req),
                 0);
    t.ops->free(t.impl);
    TG_EXPECT(diag_called);
    TG_EXPECT(strstr(diag_why, "removed") != NULL);
    tg_csnap_free(s);
    close(lfd);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_clean_msg();
    test_result();
    test_unreadable_password();
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    test_refused();
    test_hung();
    tg_loop_free(loop);
    return tg_test_report(argv[0]);
}
