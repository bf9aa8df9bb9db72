/* SPDX-License-Identifier: MIT */
/* The small one-line sources of the host collector (host_int.h): load averages
 * (/proc/loadavg), file handles (/proc/sys/fs/file-nr), pressure stall information
 * (/proc/pressure/{cpu,io,memory}, kernels from 4.20 built with PSI), and the two
 * families that come from system calls rather than files, node_time_seconds and
 * node_uname_info, under node_exporter's names and help texts. */
#include "collect/host_int.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "collect/snap.h"

int tg_chost__parse_loadavg(const char *p, size_t n, struct tg_csnap *s)
{
    static const char *const names[3] = {"node_load1", "node_load5", "node_load15"};
    static const char *const helps[3] = {"1m load average.", "5m load average.",
                                         "15m load average."};
    struct tg_chost__field line, f[3];
    double v[3];
    const char *end = p + n;
    if (!tg_chost__line(&p, end, &line) || tg_chost__fields(line, f, 3) < 3)
        return 1;
    for (int i = 0; i < 3; i++)
        if (!tg_chost__num(f[i], &v[i]))
            return 1;
    for (int i = 0; i < 3; i++)
        if (tg_csnap_one(s, names[i], TG_METRIC_GAUGE, helps[i], v[i]))
            return -ENOMEM;
    return 0;
}

/* "allocated unused maximum" */
int tg_chost__parse_filefd(const char *p, size_t n, struct tg_csnap *s)
{
    struct tg_chost__field line, f[3];
    uint64_t alloc, max;
    const char *end = p + n;
    if (!tg_chost__line(&p, end, &line) || tg_chost__fields(line, f, 3) < 3 ||
        !tg_chost__u64(f[0], &alloc) || !tg_chost__u64(f[2], &max))
        return 1;
    if (tg_csnap_one(s, "node_filefd_allocated", TG_METRIC_GAUGE,
                     "File descriptor statistics: allocated.", (double)alloc) ||
        tg_csnap_one(s, "node_filefd_maximum", TG_METRIC_GAUGE,
                     "File descriptor statistics: maximum.", (double)max))
        return -ENOMEM;
    return 0;
}

struct psi {
    const char *resource, *kind, *name, *help;
};

/* node_exporter 1.5 shows cpu's "some" line only. */
static const struct psi psis[] = {
    {"cpu", "some", "node_pressure_cpu_waiting_seconds_total",
     "Total time in seconds that processes have waited for CPU time"},
    {"io", "some", "node_pressure_io_waiting_seconds_total",
     "Total time in seconds that processes have waited due to IO congestion"},
    {"io", "full", "node_pressure_io_stalled_seconds_total",
     "Total time in seconds no process could make progress due to IO congestion"},
    {"memory", "some", "node_pressure_memory_waiting_seconds_total",
     "Total time in seconds that processes have waited for memory"},
    {"memory", "full", "node_pressure_memory_stalled_seconds_total",
     "Total time in seconds no process could make progress due to memory congestion"},
};

static const struct psi *psi_of(const char *resource, struct tg_chost__field kind)
{
    for (size_t i = 0; i < sizeof psis / sizeof *psis; i++)
        if (strcmp(psis[i].resource, resource) == 0 && strlen(psis[i].kind) == kind.n &&
            memcmp(psis[i].kind, kind.p, kind.n) == 0)
            return &psis[i];
    return NULL;
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345" (total in microseconds). */
int tg_chost__parse_pressure(const char *resource, const char *p, size_t n, struct tg_csnap *s)
{
    const char *end = p + n;
    struct tg_chost__field line, f[5];
    int bad = 0, want = 0, got = 0;
    for (size_t i = 0; i < sizeof psis / sizeof *psis; i++)
        want += strcmp(psis[i].resource, resource) == 0;
    unsigned done = 0;
    while (tg_chost__line(&p, end, &line)) {
        size_t nf = tg_chost__fields(line, f, 5);
        if (nf == 0)
            continue;
        const struct psi *x = psi_of(resource, f[0]);
        if (!x) {
            bad += !(f[0].n == 4 && memcmp(f[0].p, "full", 4) == 0); /* cpu's full */
            continue;
        }
        uint64_t us;
        unsigned bit = 1u << (x - psis);
        if (nf != 5 || f[4].n < 7 || memcmp(f[4].p, "total=", 6) != 0 ||
            !tg_chost__u64((struct tg_chost__field){f[4].p + 6, f[4].n - 6}, &us) || (done & bit)) {
            bad++;
            continue;
        }
        done |= bit;
        if (tg_csnap_one(s, x->name, TG_METRIC_COUNTER, x->help, (double)us / 1000.0 / 1000.0))
            return -ENOMEM;
        got++;
    }
    return bad + (want - got);
}

int tg_chost__time(struct tg_csnap *s)
{
    /* The one wall-clock figure here, by definition: what node_time_seconds shows. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double v = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return tg_csnap_one(s, "node_time_seconds", TG_METRIC_GAUGE,
                        "System time in seconds since epoch (1970).", v)
               ? -ENOMEM
               : 0;
}

int tg_chost__uname(struct tg_csnap *s)
{
    struct utsname u;
    if (uname(&u) == -1)
        return -errno;
    tg_csnap_family(s, "node_uname_info", TG_METRIC_GAUGE,
                    "Labeled system information as provided by the uname system call.", NULL);
    tg_csnap_addl(s, 1, "domainname", u.domainname, "machine", u.machine, "nodename", u.nodename,
                  "release", u.release, "sysname", u.sysname, "version", u.version, NULL);
    return tg_csnap_oom(s) ? -ENOMEM : 0;
}
