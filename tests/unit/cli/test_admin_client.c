/* SPDX-License-Identifier: MIT */
/* Tests for src/cli/admin_client.c: the --admin forms (a URL, or HOST:PORT as `tailguard
 * query` has always taken it), the prefix a path goes under, what is refused, form
 * encoding, and a waited call that finds nobody listening on a loopback port (a refusal
 * with its reason, no hang). No name is looked up: names resolve through the system's
 * resolver, which may ask the network. */
#include "cli/admin_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tg_test.h"

static int port_of(const struct tg_hclient_target *t)
{
    return ntohs(((const struct sockaddr_in *)&t->addr)->sin_port);
}

static void test_target(void)
{
    struct tg_hclient_target t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cli_admin_target("127.0.0.1:9090", &t, &eb), 0);
    TG_EXPECT_EQ(port_of(&t), 9090);
    TG_EXPECT_STREQ(t.host, "127.0.0.1:9090");
    TG_EXPECT_STREQ(t.path, "");
    TG_EXPECT_EQ(tg_cli_admin_target("http://localhost:9091/", &t, &eb), 0);
    TG_EXPECT_EQ(port_of(&t), 9091);
    TG_EXPECT_STREQ(t.host, "localhost:9091");
    TG_EXPECT_STREQ(t.path, "");
    TG_EXPECT_EQ(tg_cli_admin_target("http://[::1]:9092/gw/", &t, &eb), 0);
    TG_EXPECT_EQ(t.addr.ss_family, AF_INET6);
    TG_EXPECT_STREQ(t.path, "/gw");

    struct tg_hclient_target p;
    TG_EXPECT_EQ(tg_cli_admin_path(&t, "/api/v1/alerts", &p), 0);
    TG_EXPECT_STREQ(p.path, "/gw/api/v1/alerts");
    TG_EXPECT_STREQ(p.host, "[::1]:9092");
    char longp[sizeof p.path];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    TG_EXPECT_EQ(tg_cli_admin_path(&t, longp, &p), TG_ELIMIT);

    static const char *const bad[] = {"https://127.0.0.1:9090",     "http://127.0.0.1:99999",
                                      "http://127.0.0.1:x",         "ftp://127.0.0.1:21",
                                      "http://127.0.0.1:9090/?a=1", "http://"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb.msg[0] = '\0';
        TG_EXPECT_EQ(tg_cli_admin_target(bad[i], &t, &eb), TG_EPARSE);
        TG_EXPECT(eb.msg[0] != '\0');
    }
    tg_cli_admin_target("https://127.0.0.1:9090", &t, &eb);
    TG_EXPECT(strstr(eb.msg, "https") != NULL);
}

static void test_form(void)
{
    char *f = NULL;
    size_t n = 0;
    TG_EXPECT_EQ(tg_cli_form_add(&f, &n, "query", "sum by (le) (rate(x[5m])) > 0.5"), 0);
    TG_EXPECT_EQ(tg_cli_form_add(&f, &n, "step", "10"), 0);
    TG_EXPECT_EQ(tg_cli_form_add(&f, &n, "e", ""), 0);
    TG_EXPECT_STREQ(f, "query=sum%20by%20%28le%29%20%28rate%28x%5B5m%5D%29%29%20%3E%200.5"
                       "&step=10&e=");
    TG_EXPECT_EQ(n, strlen(f));
    free(f);
}

/* A port nobody listens on: bound, never listening, so no one else can take it. */
static void test_call_refused(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    TG_EXPECT(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    char admin[64];
    snprintf(admin, sizeof admin, "127.0.0.1:%d", ntohs(a.sin_port));
    struct tg_hclient_target t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cli_admin_target(admin, &t, &eb), 0);
    struct tg_hclient_req rq = {.method = "GET", .timeout_us = 2000000, .max_body = 1024};
    int status = -1;
    char *body = (char *)"untouched";
    TG_EXPECT(tg_cli_admin_call(&t, &rq, &status, &body, &eb) < 0);
    TG_EXPECT(strstr(eb.msg, "connect") != NULL);
    TG_EXPECT_EQ(status, -1);
    TG_EXPECT_STREQ(body, "untouched");
    close(fd);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_target();
    test_form();
    test_call_refused();
    return tg_test_report(argv[0]);
}
