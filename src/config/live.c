/* SPDX-License-Identifier: MIT */
/* Which settings a running process can change. A reload (SIGHUP) builds a whole new
 * snapshot, and every setting in it takes effect for new requests, except the few below
 * that are bound to resources made once at start (sockets, fixed-size tables). `workers`
 * is not among them: the gateway starts and retires worker threads when it changes.
 * Those keep their running value, and each one the new file would change is reported, so
 * no setting is ever silently ignored: the caller logs it and counts it. The list is
 * here, beside the schema, so a new restart-only key is added where keys are defined. */
#include "config/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One restart-only setting, located by its offset in struct tg_config. */
struct pinned {
    const char *key;
    enum { PIN_ADDR = 0, PIN_U32 } kind;
    size_t off;
    const char *why; /* what is made once at start from it */
};

static const struct pinned pinned[] = {
    {"listen", PIN_ADDR, offsetof(struct tg_config, listen), "the proxy's listening sockets"},
    {"admin.listen", PIN_ADDR, offsetof(struct tg_config, admin_listen),
     "the admin listener's socket"},
    {"endpoints.max", PIN_U32, offsetof(struct tg_config, max_endpoints),
     "the endpoint registry and metric tables"},
    {"tracing.buffer", PIN_U32, offsetof(struct tg_config, trace_buffer),
     "each worker's trace ring"},
};

static void show(const struct pinned *p, const struct tg_config *c, char *buf, size_t cap)
{
    const char *f = (const char *)c + p->off;
    if (p->kind == PIN_ADDR)
        snprintf(buf, cap, "%s", ((const struct tg_addr *)f)->text);
    else
        snprintf(buf, cap, "%u", *(const uint32_t *)f);
}

static size_t field_size(const struct pinned *p)
{
    return p->kind == PIN_ADDR ? sizeof(struct tg_addr) : sizeof(uint32_t);
}

unsigned tg_config_keep_restart_only(const struct tg_config *running, struct tg_config *next,
                                     tg_config_kept_fn *fn, void *ctx)
{
    unsigned n = 0;
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
        const struct pinned *p = &pinned[i];
        char was[128], wanted[128];
        show(p, running, was, sizeof was);
        show(p, next, wanted, sizeof wanted);
        if (strcmp(was, wanted) == 0)
            continue;
        memcpy((char *)next + p->off, (const char *)running + p->off, field_size(p));
        if (fn)
            fn(p->key, was, wanted, p->why, ctx);
        n++;
    }
    return n;
}
