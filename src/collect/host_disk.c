/* SPDX-License-Identifier: MIT */
/* /proc/diskstats for the host collector (host_int.h): node_exporter's "diskstats"
 * families per device, sectors as 512-byte units and milliseconds as seconds, for as
 * many columns as the kernel prints (11 before 4.18, 15 with discards, 17 with
 * flushes). Partitions, loop and ram devices are left out by node_exporter's default
 * filter, ^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$, matched here by hand since
 * it is fixed. */
#include "collect/host_int.h"

#include <errno.h>
#include <string.h>

#include "collect/snap.h"

#define SECTOR 512.0
#define MS 0.001

struct col {
    const char *name, *help;
    double scale;
    enum tg_metric_type type;
};

/* In the order of the columns after the device name. */
static const struct col cols[] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.", 1,
     TG_METRIC_COUNTER},
    {"node_disk_reads_merged_total", "The total number of reads merged.", 1, TG_METRIC_COUNTER},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", SECTOR,
     TG_METRIC_COUNTER},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", MS,
     TG_METRIC_COUNTER},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.", 1,
     TG_METRIC_COUNTER},
    {"node_disk_writes_merged_total", "The number of writes merged.", 1, TG_METRIC_COUNTER},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.", SECTOR,
     TG_METRIC_COUNTER},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", MS, TG_METRIC_COUNTER},
    {"node_disk_io_now", "The number of I/Os currently in progress.", 1, TG_METRIC_GAUGE},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", MS, TG_METRIC_COUNTER},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", MS,
     TG_METRIC_COUNTER},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     1, TG_METRIC_COUNTER},
    {"node_disk_discards_merged_total", "The total number of discards merged.", 1,
     TG_METRIC_COUNTER},
    /* Sectors, not bytes, as node_exporter has it. */
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.", 1,
     TG_METRIC_COUNTER},
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", MS, TG_METRIC_COUNTER},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     1, TG_METRIC_COUNTER},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", MS, TG_METRIC_COUNTER},
};
#define NCOLS (sizeof cols / sizeof *cols)
#define MIN_COLS 11

/* `s` starts with `prefix` and one or more digits follow up to the end. */
static bool digits_after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0 || !s[n])
        return false;
    for (s += n; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* [0-9]+ at *s, moving past it; false if none. */
static bool skip_digits(const char **s)
{
    const char *p = *s;
    while (**s >= '0' && **s <= '9')
        (*s)++;
    return *s > p;
}

bool tg_chost__disk_ignored(const char *dev)
{
    if (digits_after(dev, "ram") || digits_after(dev, "loop") || digits_after(dev, "fd"))
        return true;
    /* (h|s|v|xv)d[a-z]\d+ */
    const char *q = NULL;
    if (strncmp(dev, "xvd", 3) == 0)
        q = dev + 3;
    else if ((dev[0] == 'h' || dev[0] == 's' || dev[0] == 'v') && dev[1] == 'd')
        q = dev + 2;
    if (q && *q >= 'a' && *q <= 'z' && digits_after(q + 1, ""))
        return true;
    /* nvme\d+n\d+p\d+ */
    if (strncmp(dev, "nvme", 4) == 0) {
        q = dev + 4;
        return skip_digits(&q) && *q++ == 'n' && skip_digits(&q) && *q++ == 'p' &&
               skip_digits(&q) && !*q;
    }
    return false;
}

int tg_chost__parse_diskstats(const char *p, size_t n, struct tg_csnap *s,
                              struct tg_chost__seen *seen)
{
    const char *end = p + n;
    struct tg_chost__field line, f[3 + NCOLS];
    int bad = 0;
    seen->n = 0; /* an empty file is a machine without block devices, not an error */
    while (tg_chost__line(&p, end, &line)) {
        size_t nf = tg_chost__fields(line, f, 3 + NCOLS);
        if (nf == 0)
            continue;
        char dev[64];
        uint64_t v[NCOLS], num;
        size_t nv = (nf > 3 + NCOLS ? 3 + NCOLS : nf) - 3;
        bool ok = nf >= 3 + MIN_COLS && tg_chost__u64(f[0], &num) && tg_chost__u64(f[1], &num) &&
                  tg_chost__str(f[2], dev, sizeof dev);
        for (size_t i = 0; ok && i < nv; i++)
            ok = tg_chost__u64(f[3 + i], &v[i]);
        if (!ok) {
            bad++;
            continue;
        }
        if (tg_chost__disk_ignored(dev))
            continue;
        if (!tg_chost__first(seen, dev, NULL)) {
            bad++;
            continue;
        }
        for (size_t i = 0; i < nv; i++) {
            tg_csnap_family(s, cols[i].name, cols[i].type, cols[i].help, NULL);
            tg_csnap_addl(s, (double)v[i] * cols[i].scale, "device", dev, NULL);
        }
        if (tg_csnap_oom(s))
            return -ENOMEM;
    }
    return bad;
}
