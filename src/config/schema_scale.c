/* SPDX-License-Identifier: MIT */
/* The autoscale: section of the schema (docs/scale.md). The same reader serves the file
 * and PUT /api/v1/system/autoscale (settings.c reads an override as a one-key mapping
 * over the values in force), so the checks that span keys (min <= max, a provider with
 * what it needs to run) look at the values after the read, and point at the key the
 * mapping wrote (or at the section when it wrote neither). A provider whose command
 * cannot run is refused here, at check-config, not at the first scaling step hours
 * later. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/diag_int.h"
#include "config/schema_int.h"
#include "config/units.h"

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
/* The gateway's longest latency window (proxy/gateway.h TG_GATEWAY_WINDOW_S, which
 * config may not include). */
#define MAX_WINDOW_S 900

static const char *const provider_names[] = {"process", "command", NULL};
static const char *const signal_names[] = {"p95", "p99", NULL};

void tg_config__autoscale_defaults(struct tg_config *cfg)
{
    struct tg_cfg_autoscale *a = &cfg->autoscale;
    memset(a, 0, sizeof *a);
    a->threshold_ms = 1000;
    a->up_after = 3;
    a->down_after = 10;
    a->min = 1;
    a->max = 5;
    a->check_interval_s = 30;
    a->cooldown_s = 60;
    a->window_s = 60;
    a->ready_timeout_us = 10 * TG_US_PER_S;
    a->drain_timeout_us = 30 * TG_US_PER_S;
    a->stop_grace_us = 5 * TG_US_PER_S;
    a->command_timeout_us = 60 * TG_US_PER_S;
}

/* Seconds as a plain decimal in [lo, hi] (check_interval_s: 0.5 in tests). */
static int read_seconds(struct tg_config_walk *w, yaml_node_t *node, double *out, double lo,
                        double hi)
{
    const char *text;
    int rc = tg_config__walk_scalar(w, node, "a number of seconds", &text);
    if (rc)
        return rc;
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !(v >= lo) ||
        !(v <= hi))
        return tg_config__walk_err(w, node, "bad number of seconds \"%s\" (use %g to %g)", text,
                                   lo, hi);
    *out = v;
    return 0;
}

static int read_interval(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_seconds(w, node, arg, 0.05, 86400);
}

static int read_cooldown(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_seconds(w, node, arg, 0, 86400);
}

static int read_window(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    return read_seconds(w, node, arg, 1, MAX_WINDOW_S);
}

/* "18100-18199" (or one port). */
static int read_ports(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_autoscale *a = arg;
    const char *text;
    int rc = tg_config__walk_scalar(w, node, "a port range like 18100-18199", &text);
    if (rc)
        return rc;
    unsigned lo, hi;
    int used = 0;
    if (sscanf(text, "%5u-%5u%n", &lo, &hi, &used) == 2 && text[used] == '\0') {
    } else if (sscanf(text, "%5u%n", &lo, &used) == 1 && text[used] == '\0') {
        hi = lo;
    } else {
        return tg_config__walk_err(w, node, "bad port range \"%s\" (write 18100-18199)", text);
    }
    if (lo < 1 || hi > 65535 || lo > hi)
        return tg_config__walk_err(w, node,
                                   "bad port range \"%s\" (ports 1-65535, the first not above "
                                   "the last)",
                                   text);
    a->port_lo = lo;
    a->port_hi = hi;
    return 0;
}

/* "name:port" with a numeric port. */
static bool dns_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return false;
    long port = strtol(colon + 1, NULL, 10);
    return port >= 1 && port <= 65535;
}

enum {
    F_ENABLED = 0, F_SIGNAL, F_THRESHOLD, F_UP, F_DOWN, F_MIN, F_MAX, F_INTERVAL, F_COOLDOWN,
    F_WINDOW, F_DRY, F_UPSTREAM, F_PROVIDER, F_COMMAND, F_PORTS, F_READY_PATH, F_READY_TIMEOUT,
    F_DRAIN, F_GRACE, F_CMD_TIMEOUT, F_FILE, F_DNS, F_N
};

/* An error about key `f[k]` (one of a rule over two keys, `k` or `other`: whichever the
 * mapping wrote, `k` first), named in the path so the control API's 400 names it:
 * "autoscale.min: 3 is above max 2". */
static int key_err(struct tg_config_walk *w, struct tg_config_field *f, int k, int other,
                   yaml_node_t *section, const char *msg)
{
    int at = f[k].node || !f[other].node ? k : other;
    size_t mark = tg_config__walk_push_key(w, f[at].key);
    int rc = tg_config__walk_err(w, f[at].node ? f[at].node : section, "%s", msg);
    tg_config__walk_pop(w, mark);
    return rc;
}

static int check_provider(struct tg_config_walk *w, yaml_node_t *node, struct tg_config_field *f,
                          const struct tg_cfg_autoscale *a)
{
    if (!a->command[0]) {
        /* No provider configured: fine while autoscaling stays off. */
        if (a->enabled)
            return key_err(w, f, F_ENABLED, F_COMMAND, node,
                           "no provider to scale with (set autoscale.command in the "
                           "configuration file)");
        return 0;
    }
    if (a->provider == TG_AUTOSCALE_PROCESS) {
        if (!strstr(a->command, "{port}"))
            return key_err(w, f, F_COMMAND, F_PROVIDER, node,
                           "the process provider needs {port} in it");
        if (!a->port_lo)
            return key_err(w, f, F_PORTS, F_PROVIDER, node,
                           "the process provider needs a port range");
        if (a->servers_file[0] || a->servers_dns[0])
            return key_err(w, f, F_FILE, F_DNS, node, "only for provider command");
        return 0;
    }
    if (!strstr(a->command, "{n}"))
        return key_err(w, f, F_COMMAND, F_PROVIDER, node,
                       "the command provider needs {n} in it");
    if (!a->servers_file[0] == !a->servers_dns[0])
        return key_err(w, f, F_FILE, F_DNS, node,
                       "the command provider needs exactly one of servers_file and "
                       "servers_dns");
    if (a->servers_dns[0] && !dns_ok(a->servers_dns))
        return key_err(w, f, F_DNS, F_DNS, node, "write name:port");
    return 0;
}

int tg_config__read_autoscale(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_autoscale *a = arg;
    int provider = (int)a->provider, signal = (int)a->signal;
    struct tg_config_field f[F_N] = {
        [F_ENABLED] = {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &a->enabled},
        [F_SIGNAL] = {.key = "signal", .kind = TG_CONFIG_K_ENUM, .out = &signal,
                      .names = signal_names},
        [F_THRESHOLD] = {.key = "latency_threshold_ms", .kind = TG_CONFIG_K_U32,
                         .out = &a->threshold_ms, .min = 1, .max = 600000},
        [F_UP] = {.key = "up_after", .kind = TG_CONFIG_K_U32, .out = &a->up_after, .min = 1,
                  .max = 1000},
        [F_DOWN] = {.key = "down_after", .kind = TG_CONFIG_K_U32, .out = &a->down_after,
                    .min = 1, .max = 1000},
        [F_MIN] = {.key = "min", .kind = TG_CONFIG_K_U32, .out = &a->min, .min = 1,
                   .max = TG_CFG_MAX_SERVERS},
        [F_MAX] = {.key = "max", .kind = TG_CONFIG_K_U32, .out = &a->max, .min = 1,
                   .max = TG_CFG_MAX_SERVERS},
        [F_INTERVAL] = {.key = "check_interval_s", .kind = TG_CONFIG_K_FUNC,
                        .fn = read_interval, .out = &a->check_interval_s},
        [F_COOLDOWN] = {.key = "cooldown_s", .kind = TG_CONFIG_K_FUNC, .fn = read_cooldown,
                        .out = &a->cooldown_s},
        [F_WINDOW] = {.key = "window_s", .kind = TG_CONFIG_K_FUNC, .fn = read_window,
                      .out = &a->window_s},
        [F_DRY] = {.key = "dry_run", .kind = TG_CONFIG_K_BOOL, .out = &a->dry_run},
        [F_UPSTREAM] = {.key = "upstream", .kind = TG_CONFIG_K_NAME, .out = a->upstream,
                        .cap = sizeof a->upstream},
        [F_PROVIDER] = {.key = "provider", .kind = TG_CONFIG_K_ENUM, .out = &provider,
                        .names = provider_names},
        [F_COMMAND] = {.key = "command", .kind = TG_CONFIG_K_STR, .out = a->command,
                       .cap = sizeof a->command},
        [F_PORTS] = {.key = "ports", .kind = TG_CONFIG_K_FUNC, .fn = read_ports, .out = a},
        [F_READY_PATH] = {.key = "ready_path", .kind = TG_CONFIG_K_STR, .out = a->ready_path,
                          .cap = sizeof a->ready_path},
        [F_READY_TIMEOUT] = {.key = "ready_timeout", .kind = TG_CONFIG_K_DURATION,
                             .out = &a->ready_timeout_us, .min = 100 * TG_US_PER_MS,
                             .max = 600 * TG_US_PER_S},
        [F_DRAIN] = {.key = "drain_timeout", .kind = TG_CONFIG_K_DURATION,
                     .out = &a->drain_timeout_us, .min = 0, .max = 3600 * TG_US_PER_S},
        [F_GRACE] = {.key = "stop_grace", .kind = TG_CONFIG_K_DURATION, .out = &a->stop_grace_us,
                     .min = 0, .max = 600 * TG_US_PER_S},
        [F_CMD_TIMEOUT] = {.key = "command_timeout", .kind = TG_CONFIG_K_DURATION,
                           .out = &a->command_timeout_us, .min = TG_US_PER_S,
                           .max = 3600 * TG_US_PER_S},
        [F_FILE] = {.key = "servers_file", .kind = TG_CONFIG_K_STR, .out = a->servers_file,
                    .cap = sizeof a->servers_file},
        [F_DNS] = {.key = "servers_dns", .kind = TG_CONFIG_K_STR, .out = a->servers_dns,
                   .cap = sizeof a->servers_dns},
    };
    int rc = tg_config__walk_map(w, node, f, NFIELDS(f));
    if (rc)
        return rc;
    a->provider = (enum tg_autoscale_provider)provider;
    a->signal = (enum tg_autoscale_signal)signal;
    char msg[160];
    if (a->ready_path[0] && a->ready_path[0] != '/')
        return key_err(w, f, F_READY_PATH, F_READY_PATH, node, "must start with \"/\"");
    if (a->min > a->max) {
        snprintf(msg, sizeof msg, "min %u is above max %u", a->min, a->max);
        return key_err(w, f, F_MIN, F_MAX, node, msg);
    }
    /* Every instance beyond the upstream's own servers takes a port: max of them at most. */
    if (a->command[0] && a->provider == TG_AUTOSCALE_PROCESS && a->port_lo &&
        a->port_hi - a->port_lo + 1 < a->max) {
        snprintf(msg, sizeof msg, "%u ports cannot hold max %u instances",
                 a->port_hi - a->port_lo + 1, a->max);
        return key_err(w, f, F_MAX, F_PORTS, node, msg);
    }
    return check_provider(w, node, f, a);
}

int tg_config__autoscale_check(const struct tg_config *cfg, struct tg_errbuf *eb)
{
    const struct tg_cfg_autoscale *a = &cfg->autoscale;
    if (a->upstream[0] && tg_config_upstream_index(cfg, a->upstream) < 0)
        return tg_config__errf(eb, TG_ECONFIG, cfg->file, 0, 0,
                               "autoscale.upstream: no upstream named \"%s\"", a->upstream);
    return 0;
}
