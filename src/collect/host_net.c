/* SPDX-License-Identifier: MIT */
/* /proc/net/dev for the host collector (host_int.h): node_exporter's "netdev" families,
 * node_network_<receive|transmit>_<column>_total{device}, one per column of the file, in
 * the network namespace of the gateway. Debian's node_exporter leaves out "lo" by
 * default (--collector.netdev.device-exclude=^lo$) and so does this. node_exporter
 * reads the same counters over netlink, which adds receive_nohandler; the file does not
 * have it (docs/collectors.md lists the difference). */
#include "collect/host_int.h"

#include <errno.h>
#include <string.h>

#include "collect/snap.h"

static const char *const names[16] = {
    "node_network_receive_bytes_total",      "node_network_receive_packets_total",
    "node_network_receive_errs_total",       "node_network_receive_drop_total",
    "node_network_receive_fifo_total",       "node_network_receive_frame_total",
    "node_network_receive_compressed_total", "node_network_receive_multicast_total",
    "node_network_transmit_bytes_total",     "node_network_transmit_packets_total",
    "node_network_transmit_errs_total",      "node_network_transmit_drop_total",
    "node_network_transmit_fifo_total",      "node_network_transmit_colls_total",
    "node_network_transmit_carrier_total",   "node_network_transmit_compressed_total",
};

/* node_exporter's help is "Network device statistic <column>.", the name between
 * "node_network_" and "_total". */
static const char *const helps[16] = {
    "Network device statistic receive_bytes.",      "Network device statistic receive_packets.",
    "Network device statistic receive_errs.",       "Network device statistic receive_drop.",
    "Network device statistic receive_fifo.",       "Network device statistic receive_frame.",
    "Network device statistic receive_compressed.", "Network device statistic receive_multicast.",
    "Network device statistic transmit_bytes.",     "Network device statistic transmit_packets.",
    "Network device statistic transmit_errs.",      "Network device statistic transmit_drop.",
    "Network device statistic transmit_fifo.",      "Network device statistic transmit_colls.",
    "Network device statistic transmit_carrier.",   "Network device statistic transmit_compressed.",
};

bool tg_chost__netdev_ignored(const char *dev)
{
    return strcmp(dev, "lo") == 0;
}

/* "  eth0: 1 2 ... 16" (old kernels glue a long first number to the colon). */
static bool dev_line(struct tg_chost__field line, char *dev, size_t cap, uint64_t v[16])
{
    const char *colon = NULL;
    for (size_t i = 0; i < line.n; i++)
        if (line.p[i] == ':')
            colon = line.p + i;
    if (!colon)
        return false;
    struct tg_chost__field name[2], f[17];
    if (tg_chost__fields((struct tg_chost__field){line.p, (size_t)(colon - line.p)}, name, 2) !=
            1 ||
        !tg_chost__str(name[0], dev, cap))
        return false;
    struct tg_chost__field rest = {colon + 1, (size_t)(line.p + line.n - colon - 1)};
    if (tg_chost__fields(rest, f, 17) != 16)
        return false;
    for (int i = 0; i < 16; i++)
        if (!tg_chost__u64(f[i], &v[i]))
            return false;
    return true;
}

int tg_chost__parse_netdev(const char *p, size_t n, struct tg_csnap *s, struct tg_chost__seen *seen)
{
    const char *end = p + n;
    struct tg_chost__field line;
    int bad = 0, headers = 0;
    seen->n = 0;
    while (tg_chost__line(&p, end, &line)) {
        if (memchr(line.p, '|', line.n)) { /* the two header lines */
            headers++;
            continue;
        }
        struct tg_chost__field f[1];
        if (tg_chost__fields(line, f, 1) == 0)
            continue;
        char dev[64];
        uint64_t v[16];
        if (!dev_line(line, dev, sizeof dev, v)) {
            bad++;
            continue;
        }
        if (tg_chost__netdev_ignored(dev))
            continue;
        if (!tg_chost__first(seen, dev, NULL)) {
            bad++;
            continue;
        }
        for (int i = 0; i < 16; i++) {
            tg_csnap_family(s, names[i], TG_METRIC_COUNTER, helps[i], NULL);
            tg_csnap_addl(s, (double)v[i], "device", dev, NULL);
        }
        if (tg_csnap_oom(s))
            return -ENOMEM;
    }
    return bad + (headers != 2);
}
