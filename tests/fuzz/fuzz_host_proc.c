// link: tg_collect tg_metrics
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the host collector's /proc parsers (src/collect/host_*.c). The first
 * byte picks the parser (stat, meminfo, vmstat, loadavg, file-nr, the three pressure
 * files, diskstats, net/dev, mounts), the rest is the file. Each parser must stay
 * inside the input, return a count of skipped lines (or -ENOMEM, which cannot happen
 * here), and only ever produce what the text exposition can print: valid names, no
 * repeated series, finite values. The cpu parser runs twice over the same input with
 * its clamp state, so the state's growth is exercised too. The corpus is
 * tests/fuzz/corpus/host_proc/. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/host_int.h"
#include "collect/snap.h"
#include "metrics/expo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct check {
    const struct tg_mfamily *fam;
};

static bool name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return false;
    return true;
}

static void on_family(void *ctx, const struct tg_mfamily *f)
{
    ((struct check *)ctx)->fam = f;
    CHECK(name_ok(f->name));
}

static void on_value(void *ctx, const struct tg_mlabels *l, double v)
{
    (void)ctx;
    CHECK(isfinite(v));
    for (size_t i = 0; i < l->n; i++)
        CHECK(name_ok(l->names[i]) && l->values[i]);
}

static void on_hist(void *ctx, const struct tg_mlabels *l, const struct tg_mhist *h)
{
    (void)ctx;
    (void)l;
    (void)h;
    CHECK(0); /* the host collector has no histograms */
}

/* Valid names and finite values, then every series once: the exposition's lines
 * (names and labels) never repeat. */
static void check_unique(struct tg_csnap *s)
{
    struct check chk = {0};
    struct tg_mvisitor cv = {on_family, on_value, on_hist, NULL, &chk};
    struct tg_mcursor c0 = {0};
    CHECK(tg_csnap_collect(s, &cv, &c0) == 1);
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mcursor cur = {0};
    CHECK(tg_csnap_collect(s, &v, &cur) == 1);
    CHECK(!e.oom && !e.bad);
    char *text = calloc(1, e.len + 1);
    CHECK(text);
    if (e.len)
        memcpy(text, e.p, e.len);
    tg_expo_deinit(&e);
    size_t nlines = 0;
    char *lines[4096];
    for (char *p = text, *nl; *p && nlines < 4096; p = nl + 1) {
        nl = strchr(p, '\n');
        CHECK(nl);
        *nl = '\0';
        if (p[0] != '#') {
            char *sp = strrchr(p, ' ');
            CHECK(sp);
            *sp = '\0';
            lines[nlines++] = p;
        }
    }
    for (size_t i = 0; i < nlines; i++)
        for (size_t j = i + 1; j < nlines; j++)
            CHECK(strcmp(lines[i], lines[j]) != 0);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    static struct tg_chost__seen seen;
    struct tg_chost__cpu clamp = {0};
    static struct tg_chost__mount mounts[64];
    struct tg_csnap *s = tg_csnap_new();
    CHECK(s);
    int rc = 0, bad = 0;
    switch (data[0] % 11) {
    case 0:
        rc = tg_chost__parse_stat(p, n, s, &clamp, 100, &seen, &bad);
        CHECK(rc >= 0 && bad >= 0);
        tg_csnap_reset(s);
        rc = tg_chost__parse_stat(p, n, s, &clamp, 100, &seen, &bad);
        break;
    case 1:
        rc = tg_chost__parse_meminfo(p, n, s, &seen);
        break;
    case 2:
        rc = tg_chost__parse_vmstat(p, n, s, &seen);
        break;
    case 3:
        rc = tg_chost__parse_loadavg(p, n, s);
        break;
    case 4:
        rc = tg_chost__parse_filefd(p, n, s);
        break;
    case 5:
        rc = tg_chost__parse_pressure("cpu", p, n, s);
        break;
    case 6:
        rc = tg_chost__parse_pressure("io", p, n, s);
        break;
    case 7:
        rc = tg_chost__parse_pressure("memory", p, n, s);
        break;
    case 8:
        rc = tg_chost__parse_diskstats(p, n, s, &seen);
        break;
    case 9:
        rc = tg_chost__parse_netdev(p, n, s, &seen);
        break;
    case 10: {
        size_t k = tg_chost__parse_mounts(p, n, data[0] & 0x80 ? "/host" : "/", mounts, 64, &bad);
        CHECK(bad >= 0);
        for (size_t i = 0; i < k && i < 64; i++) {
            CHECK(mounts[i].mountpoint[0] && mounts[i].device[0] && mounts[i].fstype[0]);
            CHECK(!tg_chost__mountpoint_ignored(mounts[i].mountpoint));
            CHECK(!tg_chost__fstype_ignored(mounts[i].fstype));
        }
        break;
    }
    }
    CHECK(rc >= 0 && bad >= 0);
    check_unique(s);
    tg_chost__cpu_deinit(&clamp);
    tg_csnap_free(s);
    return 0;
}
