/* SPDX-License-Identifier: MIT */
/* /proc/stat for the host collector (host_int.h): node_exporter's "cpu" collector
 * (seconds per cpu and mode, guest time apart, as 1.5 prints them) and its "stat"
 * collector (interrupts, context switches, forks, boot time, runnable and blocked
 * processes), from one read of the file. Ticks are USER_HZ, so seconds are ticks
 * divided by sysconf(_SC_CLK_TCK). */
#include "collect/host_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snap.h"

/* The order of the numbers on a "cpuN" line. */
static const char *const modes[8] = {"user",   "nice", "system",  "idle",
                                     "iowait", "irq",  "softirq", "steal"};
#define GUEST 8
#define GUEST_NICE 9
#define IDLE 3

/* node_exporter's limit for telling a hotplugged cpu (its counters start again) from
 * a counter that wobbled backwards: idle going back by this much or more. */
#define JUMP_BACK_S 3.0
/* A cpu number above this is damage, not a machine (Linux's NR_CPUS tops at 8192). */
#define CPU_MAX 65535

void tg_chost__cpu_deinit(struct tg_chost__cpu *c)
{
    free(c->ticks);
    c->ticks = NULL;
    c->ncpu = 0;
}

/* The row of cpu `cpu`, grown with zeroed rows as cpus appear; NULL without memory. */
static uint64_t *clamp_row(struct tg_chost__cpu *c, unsigned long cpu)
{
    if (cpu >= c->ncpu) {
        size_t n = cpu + 1;
        void *t = realloc(c->ticks, n * sizeof *c->ticks);
        if (!t)
            return NULL;
        c->ticks = t;
        memset(c->ticks + c->ncpu, 0, (n - c->ncpu) * sizeof *c->ticks);
        c->ncpu = n;
    }
    return c->ticks[cpu];
}

/* Keeps each counter at the highest value seen, as node_exporter does, unless idle went
 * back by JUMP_BACK_S or more (a cpu that went offline and came back). */
static void clamp(uint64_t *prev, uint64_t *v, double tck)
{
    if (prev[IDLE] > v[IDLE] && (double)(prev[IDLE] - v[IDLE]) / tck >= JUMP_BACK_S)
        memset(prev, 0, TG_CHOST_CPU_MODES * sizeof *prev);
    for (int i = 0; i < TG_CHOST_CPU_MODES; i++) {
        if (v[i] < prev[i])
            v[i] = prev[i];
        prev[i] = v[i];
    }
}

/* "cpuN user nice system idle [iowait irq softirq steal guest guest_nice]": older
 * kernels print fewer columns; the missing ones are 0, as procfs reads them. */
static int cpu_line(const struct tg_chost__field *f, size_t nf, struct tg_csnap *s,
                    struct tg_chost__cpu *c, double tck, struct tg_chost__seen *seen)
{
    char name[16];
    if (!tg_chost__str(f[0], name, sizeof name) || nf < 5)
        return 1;
    char *end;
    errno = 0;
    unsigned long cpu = strtoul(name + 3, &end, 10);
    char num[16];
    snprintf(num, sizeof num, "%lu", cpu);
    /* By number: "cpu01" would otherwise repeat cpu1's series. */
    if (name[3] < '0' || name[3] > '9' || *end || errno || cpu > CPU_MAX ||
        !tg_chost__first(seen, "cpu", num))
        return 1;
    uint64_t v[TG_CHOST_CPU_MODES] = {0};
    for (size_t i = 1; i < nf && i <= TG_CHOST_CPU_MODES; i++)
        if (!tg_chost__u64(f[i], &v[i - 1]))
            return 1;
    if (c) {
        uint64_t *prev = clamp_row(c, cpu);
        if (!prev)
            return -ENOMEM;
        clamp(prev, v, tck);
    }
    tg_csnap_family(s, "node_cpu_seconds_total", TG_METRIC_COUNTER,
                    "Seconds the CPUs spent in each mode.", NULL);
    for (int m = 0; m < 8; m++)
        tg_csnap_addl(s, (double)v[m] / tck, "cpu", num, "mode", modes[m], NULL);
    /* Guest time is also inside user and nice; node_exporter shows it apart. */
    tg_csnap_family(s, "node_cpu_guest_seconds_total", TG_METRIC_COUNTER,
                    "Seconds the CPUs spent in guests (VMs) for each mode.", NULL);
    tg_csnap_addl(s, (double)v[GUEST] / tck, "cpu", num, "mode", "user", NULL);
    tg_csnap_addl(s, (double)v[GUEST_NICE] / tck, "cpu", num, "mode", "nice", NULL);
    return tg_csnap_oom(s) ? -ENOMEM : 0;
}

struct stat_key {
    const char *key, *name, *help;
    enum tg_metric_type type;
};

static const struct stat_key stat_keys[] = {
    {"intr", "node_intr_total", "Total number of interrupts serviced.", TG_METRIC_COUNTER},
    {"ctxt", "node_context_switches_total", "Total number of context switches.", TG_METRIC_COUNTER},
    {"btime", "node_boot_time_seconds", "Node boot time, in unixtime.", TG_METRIC_GAUGE},
    {"processes", "node_forks_total", "Total number of forks.", TG_METRIC_COUNTER},
    {"procs_running", "node_procs_running", "Number of processes in runnable state.",
     TG_METRIC_GAUGE},
    {"procs_blocked", "node_procs_blocked",
     "Number of processes blocked waiting for I/O to complete.", TG_METRIC_GAUGE},
};

#define NKEYS (sizeof stat_keys / sizeof *stat_keys)

/* "key N ..." for the keys above (intr's first number is the total); 1 if malformed,
 * 0 if added (its bit set in `found`) or not a key of ours. */
static int stat_line(const struct tg_chost__field *f, size_t nf, struct tg_csnap *s,
                     struct tg_chost__seen *seen, unsigned *found)
{
    for (size_t k = 0; k < NKEYS; k++) {
        const struct stat_key *sk = &stat_keys[k];
        if (f[0].n != strlen(sk->key) || memcmp(f[0].p, sk->key, f[0].n) != 0)
            continue;
        uint64_t v;
        if (nf < 2 || !tg_chost__u64(f[1], &v) || !tg_chost__first(seen, sk->key, NULL))
            return 1;
        *found |= 1u << k;
        return tg_csnap_one(s, sk->name, sk->type, sk->help, (double)v) ? -ENOMEM : 0;
    }
    return 0;
}

int tg_chost__parse_stat(const char *p, size_t n, struct tg_csnap *s, struct tg_chost__cpu *clamp,
                         double tck, struct tg_chost__seen *seen, int *stat_bad)
{
    const char *end = p + n;
    struct tg_chost__field line, f[TG_CHOST_CPU_MODES + 1];
    int bad = 0, cpus = 0;
    unsigned found = 0;
    *stat_bad = 0;
    seen->n = 0;
    if (!(tck > 0))
        tck = 100;
    while (tg_chost__line(&p, end, &line)) {
        size_t nf = tg_chost__fields(line, f, sizeof f / sizeof *f);
        if (nf == 0)
            continue;
        int rc;
        if (f[0].n > 3 && memcmp(f[0].p, "cpu", 3) == 0) {
            rc = cpu_line(f, nf, s, clamp, tck, seen);
            if (rc > 0)
                bad += rc;
            cpus += rc == 0;
        } else if (f[0].n == 3 && memcmp(f[0].p, "cpu", 3) == 0) {
            rc = 0; /* the all-cpus line: node_exporter does not show it */
        } else {
            rc = stat_line(f, nf, s, seen, &found);
            if (rc > 0)
                (*stat_bad)++;
        }
        if (rc < 0)
            return rc;
    }
    /* A cut-short file loses its last lines silently: count what never came. */
    for (size_t k = 0; k < NKEYS; k++)
        *stat_bad += !(found & (1u << k));
    return bad + (cpus == 0);
}
