// link: tg_collect tg_metrics
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the Redis INFO parser (src/collect/redis_info.c): any bytes are parsed
 * into a snapshot and a summary, then the snapshot is written as exposition text. Checks
 * what must hold whatever the input: the parse ends with 0 or TG_EPARSE (memory aside),
 * every family written has a valid metric name, and the summary's strings are
 * terminated. ASan and UBSan watch the rest. Corpus: tests/fuzz/corpus/redis_info/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/redis_info.h"
#include "collect/snap.h"
#include "core/err.h"
#include "metrics/expo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return false;
    return true;
}

static void check_family(void *ctx, const struct tg_mfamily *f)
{
    (void)ctx;
    if (!valid_name(f->name))
        abort();
}

static void ignore_value(void *ctx, const struct tg_mlabels *l, double v)
{
    (void)ctx;
    (void)v;
    for (size_t i = 0; i < l->n; i++)
        if (!valid_name(l->names[i]) || !l->values[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_credis_summary sum;
    int rc = tg_credis_info_parse((const char *)data, size, 16, 1700000000, s, &sum);
    if (rc != 0 && rc != TG_EPARSE && !tg_csnap_oom(s))
        abort();
    if (strnlen(sum.role, sizeof sum.role) == sizeof sum.role ||
        strnlen(sum.version, sizeof sum.version) == sizeof sum.version ||
        strnlen(sum.maxmemory_policy, sizeof sum.maxmemory_policy) == sizeof sum.maxmemory_policy)
        abort();
    (void)tg_credis_hit_ratio(&sum);
    struct tg_mvisitor v = {check_family, ignore_value, NULL, NULL, NULL};
    struct tg_mcursor cur = {0};
    if (tg_csnap_collect(s, &v, &cur) != TG_DONE)
        abort();
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor ev = tg_expo_visitor(&e);
    cur = (struct tg_mcursor){0};
    tg_csnap_collect(s, &ev, &cur);
    tg_expo_deinit(&e);
    tg_csnap_free(s);
    return 0;
}
