/* SPDX-License-Identifier: MIT */
/* `tailguard demo`: the first look. Starts the demo API and the gateway in front of it
 * (as child processes of this same binary, so each is exactly what a user would run),
 * drives a light background load through the gateway, prints the URLs, and on Ctrl-C
 * (or SIGTERM) stops everything it started and exits 0. The gateway's configuration is
 * the one below, written with the rule files of examples/rules/ (built into the binary)
 * to a private temporary directory that also holds the store and the time-series file,
 * so `tailguard run -c` reads it as usual and two demos never share state; the directory
 * is removed at the end. `tailguard demo --print-config` shows the configuration. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/demo_load.h"
#include "cli/embed.h"

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
    "  - { name: agents, methods: [GET], path: /api/v1/agents }\n"
    "# what the API depends on (docs/collectors.md): the host (on by default), the demo API\n"
    "# probed as an external service, and its process as a container, named as runbook 003\n"
    "# names the application's container so that its alerts evaluate as written\n"
    "collectors:\n"
    "  probes:\n"
    "    - { service: demo-api, url: \"http://127.0.0.1:%d/health\", interval: 5s }\n"
    "%s"
    "# the runbooks' alert rules and tailguard's (examples/rules/), evaluated every 15 s\n"
    "rules:\n"
    "  evaluation_interval: 15s\n"
    "  files:\n";

/* The configuration, then one line per embedded rule file. `api_pid` (0: not known yet,
 * for --print-config) is the demo API's process, collected as a container. */
static void write_config(FILE *f, int port, int admin_port, int api_port, pid_t api_pid)
{
    char containers[160] = "";
    if (api_pid > 0)
        snprintf(containers, sizeof containers,
                 "  containers:\n"
                 "    targets: [ { name: codexos-backend, pid: %d } ]\n",
                 (int)api_pid);
    fprintf(f, demo_config, port, admin_port, api_port, api_port, containers);
    for (const struct tg_embedded_file *r = tg_cli_demo_rules; r->name; r++)
        fprintf(f, "    - rules/%s\n", r->name);
}

/* Writes `len` bytes to dir/name; 0 or -1 (errno set). */
static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[512];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* The directory: tailguard.yaml and rules/. Returns 0, or -1 with errno set. */
static int write_dir(const char *dir, int port, int admin_port, int api_port, pid_t api_pid)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rules", dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    for (const struct tg_embedded_file *r = tg_cli_demo_rules; r->name; r++)
        if (write_file(path, r->name, r->data, r->len) != 0)
            return -1;
    snprintf(path, sizeof path, "%s/tailguard.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    write_config(f, port, admin_port, api_port, api_pid);
    return fclose(f);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    (void)remove(path); /* best effort: the demo is stopping either way */
    return 0;
}

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
        write_config(stdout, port, admin_port, api_port, 0);
        return 0;
    }
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* The demo API first: the configuration names its process. */
    char api_listen[32], *api_argv[] = {"tailguard", "demo-api", "--listen", api_listen, NULL};
    snprintf(api_listen, sizeof api_listen, "127.0.0.1:%d", api_port);
    pid_t api = spawn(api_argv);
    char dir[] = "/tmp/tailguard-demo-XXXXXX", path[64];
    if (!mkdtemp(dir) || write_dir(dir, port, admin_port, api_port, api) != 0) {
        fprintf(stderr, "tailguard demo: cannot write the demo directory: %s\n", strerror(errno));
        stop_child(api);
        return 1;
    }
    snprintf(path, sizeof path, "%s/tailguard.yaml", dir);
    char *run_argv[] = {"tailguard", "run", "-c", path, NULL};
    pid_t gw = spawn(run_argv);
    int rc = 0;
    struct tg_cli_demo_load *load = NULL;
    if (tg_cli_demo_load_wait_ready(port, 10000) != 0) {
        fprintf(stderr, "tailguard demo: the gateway did not answer on port %d\n", port);
        rc = 1;
        goto out;
    }
    printf("\ntailguard demo is running:\n"
           "  dashboard  http://127.0.0.1:%d/\n"
           "  proxy      http://localhost:%d/api/products\n"
           "  admin      http://127.0.0.1:%d/health\n"
           "  monitoring http://localhost:%d/api/v1/monitoring/metrics/latency\n"
           "  promql     http://localhost:%d/api/v1/query?query=up\n"
           "  alerts     http://localhost:%d/api/v1/alerts\n"
           "  host       http://localhost:%d/metrics/node\n"
           "  diagnosis  http://localhost:%d/api/v1/monitoring/diagnosis\n"
           "  incidents  http://localhost:%d/api/v1/incidents\n"
           "  demo API   http://127.0.0.1:%d/  (faults: POST /_faults)\n"
           "  config     %s\n"
           "a light load is running; press Ctrl-C to stop.\n\n",
           admin_port, port, admin_port, port, admin_port, admin_port, admin_port, port, admin_port,
           api_port, path);
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
    nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    printf("tailguard demo stopped\n");
    return rc;
}
