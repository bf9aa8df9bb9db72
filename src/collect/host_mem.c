/* SPDX-License-Identifier: MIT */
/* /proc/meminfo and /proc/vmstat for the host collector (host_int.h), under
 * node_exporter's names: every meminfo key becomes node_memory_<Key>, "(anon)" and
 * "(file)" become "_anon" and "_file", and a value with a unit (always kB) is
 * multiplied by 1024 and named _bytes, while the page counts (HugePages_*) keep their
 * bare names. These camelCase names are the known exception to promtool's lint. vmstat
 * keeps node_exporter's default fields (oom_kill, pgpg*, pswp*, pg*fault*). */
#include "collect/host_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/snap.h"

#define NAME_MAX_LEN 128

static bool name_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* "Active(anon):" into "Active_anon" in key[0..cap): node_exporter's rewrite of the
 * first "(" to the last ")" as "_" and what is between. */
static bool meminfo_key(struct tg_chost__field f, char *key, size_t cap)
{
    char raw[NAME_MAX_LEN];
    if (f.n < 2 || f.p[f.n - 1] != ':' ||
        !tg_chost__str((struct tg_chost__field){f.p, f.n - 1}, raw, sizeof raw))
        return false;
    char *open = strchr(raw, '('), *close = strrchr(raw, ')');
    if (open && close && close > open) {
        *close = '\0';
        if ((size_t)snprintf(key, cap, "%.*s_%s%s", (int)(open - raw), raw, open + 1, close + 1) >=
            cap)
            return false;
    } else if ((size_t)snprintf(key, cap, "%s", raw) >= cap) {
        return false;
    }
    return key[0] && name_chars(key);
}

int tg_chost__parse_meminfo(const char *p, size_t n, struct tg_csnap *s,
                            struct tg_chost__seen *seen)
{
    const char *end = p + n;
    struct tg_chost__field line, f[4];
    int bad = 0, good = 0;
    seen->n = 0;
    while (tg_chost__line(&p, end, &line)) {
        size_t nf = tg_chost__fields(line, f, 4);
        if (nf == 0)
            continue;
        char key[NAME_MAX_LEN], name[NAME_MAX_LEN + 32], help[NAME_MAX_LEN + 64];
        uint64_t v;
        if ((nf != 2 && nf != 3) || !meminfo_key(f[0], key, sizeof key) ||
            !tg_chost__u64(f[1], &v)) {
            bad++;
            continue;
        }
        snprintf(name, sizeof name, "node_memory_%s%s", key, nf == 3 ? "_bytes" : "");
        if (!tg_chost__first(seen, name, NULL)) {
            bad++;
            continue;
        }
        snprintf(help, sizeof help, "Memory information field %s.", name + 12);
        size_t len = strlen(name);
        bool counter = len > 6 && strcmp(name + len - 6, "_total") == 0;
        if (tg_csnap_one(s, name, counter ? TG_METRIC_COUNTER : TG_METRIC_GAUGE, help,
                         nf == 3 ? (double)v * 1024 : (double)v))
            return -ENOMEM;
        good++;
    }
    return bad + (good == 0);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* node_exporter's default --collector.vmstat.fields, ^(oom_kill|pgpg|pswp|pg.*fault).* */
static bool vmstat_field(const char *k)
{
    return starts(k, "oom_kill") || starts(k, "pgpg") || starts(k, "pswp") ||
           (starts(k, "pg") && strstr(k + 2, "fault"));
}

int tg_chost__parse_vmstat(const char *p, size_t n, struct tg_csnap *s, struct tg_chost__seen *seen)
{
    const char *end = p + n;
    struct tg_chost__field line, f[3];
    int bad = 0, good = 0;
    seen->n = 0;
    while (tg_chost__line(&p, end, &line)) {
        size_t nf = tg_chost__fields(line, f, 3);
        if (nf == 0)
            continue;
        char key[NAME_MAX_LEN], name[NAME_MAX_LEN + 16], help[NAME_MAX_LEN + 64];
        uint64_t v;
        if (nf != 2 || !tg_chost__str(f[0], key, sizeof key) || !name_chars(key) ||
            !tg_chost__u64(f[1], &v)) {
            bad++;
            continue;
        }
        good++;
        if (!vmstat_field(key))
            continue;
        if (!tg_chost__first(seen, key, NULL)) {
            bad++;
            continue;
        }
        snprintf(name, sizeof name, "node_vmstat_%s", key);
        snprintf(help, sizeof help, "/proc/vmstat information field %s.", key);
        if (tg_csnap_one(s, name, TG_METRIC_GAUGE, help, (double)v))
            return -ENOMEM;
    }
    return bad + (good == 0);
}
