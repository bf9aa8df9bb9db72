/* SPDX-License-Identifier: MIT */
/* `tailguard demo`: the first look. Starts the demo API and the gateway in front of it
 * (as child processes of this same binary, so each is exactly what a user would run),
 * drives a light background load through the gateway, prints the URLs, and on Ctrl-C
 * (or SIGTERM) stops everything it started and exits 0. The gateway's configuration is
 * the one below, written to a temporary file so `tailguard run -c` reads it as usual;
 * `tailguard demo --print-config` shows it. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/demo_load.h"

static const char demo_config[] =
    "# tailguard demo configuration: the gateway in front of `tailguard demo-api`.\n"
    "listen: \"127.0.0.1:%d\"\n"
    "# mount_on_proxy: the runbooks curl the monitoring API on the proxy's port (8000)\n"
    "admin: { listen: \"127.0.0.1:%d\", mount_on_proxy: true }\n"
    "timeouts: { header: 10s, idle: 60s, default: 10s, critical: 30s }\n"
    "# control-API changes (circuit breaker, rate limit, features...) and their audit log\n"
    "store: { path: tailguard-demo.db }\n"
    "upstreams:\n"
    "  - name: api\n"
    "    balance: p2c_ewma\n"
    "    keepalive: 256\n"
    "    servers: [\"127.0.0.1:%d\"]\n"
    "    health_check: { path: /health, interval: 2s, timeout: 1s, rise: 2, fall: 3 }\n"
    "    passive: { failures: 5, eject_time: 10s }\n"
    "routes:\n"
    "  - { name: products, methods: [GET], path: /api/products }\n"
    "  - { name: product, methods: [GET], path: \"/api/products/:id\" }\n"
    "  - { name: analytics, methods: [GET], path: \"/api/analytics/:report\", feature: analytics,\n"
    "      tier: sheddable }\n"
    "  - { name: content_generate, methods: [POST], path: /api/content/generate, class: critical }\n"
    "  - { name: agents, methods: [GET], path: /api/v1/agents }\n";

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        /* The children get the default dispositions back and their own process group,
         * so a terminal's Ctrl-C reaches only us and we decide the shutdown order. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        setpgid(0, 0);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "tailguard demo: exec failed: %s\n", strerror(errno));
        _exit(127);
    }
    return pid;
}

static void stop_child(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int tg_cli_demo(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},   {"admin-port", required_argument, NULL, 'a'},
        {"api-port", required_argument, NULL, 'b'}, {"print-config", no_argument, NULL, 'P'},
        {"duration", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0},
    };
    int port = 8000, admin_port = 9090, api_port = 8080, print_only = 0;
    long duration_s = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'a':
            admin_port = atoi(optarg);
            break;
        case 'b':
            api_port = atoi(optarg);
            break;
        case 'P':
            print_only = 1;
            break;
        case 'd':
            duration_s = atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: tailguard demo [--port N] [--admin-port N] [--api-port N] "
                            "[--duration SECONDS] [--print-config]\n");
            return 2;
        }
    }
    if (print_only) {
        printf(demo_config, port, admin_port, api_port);
        return 0;
    }
    char path[] = "/tmp/tailguard-demo-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    FILE *f = fd == -1 ? NULL : fdopen(fd, "w");
    if (!f) {
        fprintf(stderr, "tailguard demo: cannot write the demo config: %s\n", strerror(errno));
        return 1;
    }
    fprintf(f, demo_config, port, admin_port, api_port);
    fclose(f);

    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char api_listen[32], *api_argv[] = {"tailguard", "demo-api", "--listen", api_listen, NULL};
    snprintf(api_listen, sizeof api_listen, "127.0.0.1:%d", api_port);
    char *run_argv[] = {"tailguard", "run", "-c", path, NULL};
    pid_t api = spawn(api_argv);
    pid_t gw = spawn(run_argv);
    int rc = 0;
    struct tg_cli_demo_load *load = NULL;
    if (tg_cli_demo_load_wait_ready(port, 10000) != 0) {
        fprintf(stderr, "tailguard demo: the gateway did not answer on port %d\n", port);
        rc = 1;
        goto out;
    }
    printf("\ntailguard demo is running:\n"
           "  proxy      http://localhost:%d/api/products\n"
           "  admin      http://127.0.0.1:%d/health\n"
           "  monitoring http://localhost:%d/api/v1/monitoring/metrics/latency\n"
           "  demo API   http://127.0.0.1:%d/  (faults: POST /_faults)\n"
           "  config     %s\n"
           "a light load is running; press Ctrl-C to stop.\n\n",
           port, admin_port, port, api_port, path);
    fflush(stdout);
    load = tg_cli_demo_load_start(port, 20);
    time_t end = duration_s > 0 ? time(NULL) + duration_s : 0;
    while (!stop_flag && (!end || time(NULL) < end)) {
        if (waitpid(gw, NULL, WNOHANG) == gw || waitpid(api, NULL, WNOHANG) == api) {
            fprintf(stderr, "tailguard demo: a child process exited unexpectedly\n");
            gw = api = 0;
            rc = 1;
            break;
        }
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
    }
out:
    tg_cli_demo_load_stop(load);
    stop_child(gw);
    stop_child(api);
    unlink(path);
    printf("tailguard demo stopped\n");
    return rc;
}
