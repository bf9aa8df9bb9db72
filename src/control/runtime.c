/* SPDX-License-Identifier: MIT */
/* The runtime-state layer (runtime.h): the base read from the file, the overrides (in
 * memory, mirrored by the store), the flags, and the one function that builds a
 * configuration from them. Overrides apply in the order they were made, the newest last,
 * so an override always wins over an older one that touches the same setting. */
#include "control/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/override.h"

struct override {
    char *key;
    char *json;
    char *set_by;
    int64_t set_at_us; /* wall clock */
};

struct ovlist {
    struct override *v;
    size_t n;
};

/* The autoscaler's servers of one upstream (tg_runtime_set_servers). */
struct dynlayer {
    char upstream[64];
    bool replace;
    struct tg_addr *addrs;
    size_t n;
};

struct tg_runtime {
    char file[256];
    bool has_file;
    tg_runtime_flags_fn *flags;
    void *flags_ctx;
    const char *const *flag_keys;
    struct tg_config *base; /* the file (or defaults), before overrides, flags, validation */
    struct ovlist ovs;
    struct tg_store *store;
    struct dynlayer *dyn;
    size_t ndyn;
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort(); /* control thread, at start or on a change: as the config does */
    return d;
}

static void ovlist_clear(struct ovlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].json);
        free(l->v[i].set_by);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static long ovlist_find(const struct ovlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].key, key) == 0)
            return (long)i;
    }
    return -1;
}

static void ovlist_del(struct ovlist *l, const char *key)
{
    long i = ovlist_find(l, key);
    if (i < 0)
        return;
    free(l->v[i].key);
    free(l->v[i].json);
    free(l->v[i].set_by);
    memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof *l->v);
    l->n--;
}

/* Appends (the newest last); an existing entry for the key is removed first. */
static void ovlist_put(struct ovlist *l, const char *key, const char *json, const char *by,
                       int64_t at)
{
    ovlist_del(l, key);
    struct override *nv = realloc(l->v, (l->n + 1) * sizeof *l->v);
    if (!nv)
        abort();
    l->v = nv;
    l->v[l->n++] = (struct override){xstrdup(key), xstrdup(json), xstrdup(by), at};
}

static void ovlist_copy(struct ovlist *dst, const struct ovlist *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++)
        ovlist_put(dst, src->v[i].key, src->v[i].json, src->v[i].set_by, src->v[i].set_at_us);
}

/* Puts `d`'s servers into its upstream of `cfg`. Returns false when there is no such
 * upstream. */
static bool apply_dynamic(struct tg_config *cfg, const struct dynlayer *d)
{
    int u = tg_config_upstream_index(cfg, d->upstream);
    if (u < 0)
        return false;
    struct tg_cfg_upstream *up = &cfg->upstreams[u];
    if (d->replace)
        up->nservers = 0;
    for (size_t i = 0; i < d->n; i++) {
        bool dup = false;
        for (uint32_t k = 0; k < up->nservers && !dup; k++)
            dup = tg_addr_equal(&up->servers[k].addr, &d->addrs[i]);
        if (dup)
            continue;
        struct tg_cfg_server *nv = realloc(up->servers, (up->nservers + 1) * sizeof *nv);
        if (!nv)
            abort();
        up->servers = nv;
        up->servers[up->nservers++] = (struct tg_cfg_server){.addr = d->addrs[i], .weight = 1};
    }
    return true;
}

/* Builds from `base`: overrides `ovs` (those failing are skipped and logged), then the
 * strict steps `sets` (any failure fails the build), flags, restart-only settings from
 * `running`, validation. */
static int build(const struct tg_runtime *rt, const struct tg_config *base,
                 const struct ovlist *ovs, const struct tg_runtime_set *sets, size_t nsets,
                 const struct tg_config *running, tg_config_kept_fn *kept, void *kept_ctx,
                 struct tg_config **out, struct tg_errbuf *eb)
{
    struct tg_config *cfg = tg_config_clone(base);
    int rc = 0;
    for (size_t i = 0; i < ovs->n; i++) {
        struct tg_errbuf oeb = {0};
        if (tg_config_apply_override(cfg, ovs->v[i].key, ovs->v[i].json, &oeb) != 0)
            tg_log(TG_LOG_WARN, "control", "override-skipped key=%s error=\"%s\"",
                   ovs->v[i].key, oeb.msg);
    }
    for (size_t i = 0; i < nsets && rc == 0; i++) {
        if (sets[i].json)
            rc = tg_config_apply_override(cfg, sets[i].key, sets[i].json, eb);
    }
    if (rc == 0 && rt->flags)
        rc = rt->flags(rt->flags_ctx, cfg, eb);
    for (size_t i = 0; rc == 0 && i < rt->ndyn; i++) {
        if (!apply_dynamic(cfg, &rt->dyn[i]))
            tg_log(TG_LOG_WARN, "control", "dynamic-servers-skipped upstream=%s",
                   rt->dyn[i].upstream);
    }
    if (rc == 0 && running)
        tg_config_keep_restart_only(running, cfg, kept, kept_ctx);
    if (rc == 0)
        rc = tg_config_validate(cfg, eb);
    if (rc) {
        tg_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

static int load_base(const struct tg_runtime *rt, struct tg_config **base, struct tg_errbuf *eb)
{
    if (!rt->has_file) {
        *base = tg_config_new_default();
        return 0;
    }
    return tg_config_load_file(rt->file, base, eb);
}

int tg_runtime_load_base(const struct tg_runtime *rt, struct tg_config **base,
                         struct tg_errbuf *eb)
{
    return load_base(rt, base, eb);
}

static int collect_override(void *vrt, const struct tg_store_override *ov)
{
    struct tg_runtime *rt = vrt;
    ovlist_put(&rt->ovs, ov->key, ov->value_json, ov->set_by, ov->set_at_us);
    return 0;
}

static int cmp_age(const void *a, const void *b)
{
    const struct override *x = a, *y = b;
    return x->set_at_us < y->set_at_us ? -1 : x->set_at_us > y->set_at_us;
}

/* A relative store.path is taken from the configuration file's directory, so two
 * gateways started from different directories with their own files never share one. */
static void store_path(const struct tg_runtime_opts *o, const struct tg_config *base, char *buf,
                       size_t cap)
{
    const char *p = o->store_path;
    if (!p)
        p = o->file ? base->store_path : ":memory:";
    const char *slash = o->file ? strrchr(o->file, '/') : NULL;
    if (p[0] == '/' || strcmp(p, ":memory:") == 0 || o->store_path || !slash)
        snprintf(buf, cap, "%s", p);
    else
        snprintf(buf, cap, "%.*s/%s", (int)(slash - o->file), o->file, p);
}

int tg_runtime_new(const struct tg_runtime_opts *opts, struct tg_runtime **out_rt,
                   struct tg_config **out, struct tg_errbuf *eb)
{
    struct tg_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    *out_rt = NULL;
    if (opts->file) {
        if (strlen(opts->file) >= sizeof rt->file) {
            free(rt);
            return tg_errbuf_set(eb, -ENAMETOOLONG, "%s: path is too long", opts->file);
        }
        snprintf(rt->file, sizeof rt->file, "%s", opts->file);
        rt->has_file = true;
    }
    rt->flags = opts->flags;
    rt->flags_ctx = opts->flags_ctx;
    rt->flag_keys = opts->flag_keys;
    int rc = load_base(rt, &rt->base, eb);
    char path[512];
    if (rc == 0) {
        store_path(opts, rt->base, path, sizeof path);
        rc = tg_store_open(path, NULL, &rt->store, eb);
    }
    if (rc == 0)
        rc = tg_store_override_list(rt->store, collect_override, rt, eb);
    if (rc == 0) {
        if (rt->ovs.n)
            qsort(rt->ovs.v, rt->ovs.n, sizeof *rt->ovs.v, cmp_age);
        if (strcmp(path, ":memory:") == 0)
            tg_log(TG_LOG_INFO, "control",
                   "store-in-memory reason=\"no configuration file: control-API changes "
                   "last until the process stops (set --store or store.path)\"");
        rc = build(rt, rt->base, &rt->ovs, NULL, 0, NULL, NULL, NULL, out, eb);
    }
    if (rc) {
        tg_runtime_free(rt);
        return rc;
    }
    *out_rt = rt;
    return 0;
}

void tg_runtime_free(struct tg_runtime *rt)
{
    if (!rt)
        return;
    tg_config_free(rt->base);
    ovlist_clear(&rt->ovs);
    tg_store_close(rt->store);
    for (size_t i = 0; i < rt->ndyn; i++)
        free(rt->dyn[i].addrs);
    free(rt->dyn);
    free(rt);
}

int tg_runtime_rebuild(struct tg_runtime *rt, struct tg_config *base,
                       const struct tg_config *running, tg_config_kept_fn *kept, void *kept_ctx,
                       struct tg_config **out, struct tg_errbuf *eb)
{
    int rc = build(rt, base, &rt->ovs, NULL, 0, running, kept, kept_ctx, out, eb);
    if (rc) {
        tg_config_free(base);
        return rc;
    }
    tg_config_free(rt->base);
    rt->base = base;
    return 0;
}

static bool set_by_flag(const struct tg_runtime *rt, const char *key)
{
    for (const char *const *k = rt->flag_keys; k && *k; k++) {
        if (strcmp(*k, key) == 0)
            return true;
    }
    return false;
}

/* {"key": value, ...} of the effective values of the keys of `sets` in `cfg`. */
static char *values_of(const struct tg_config *cfg, const struct tg_runtime_set *sets, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *v = tg_config_setting_value(cfg, sets[i].key);
        json_object_set_new(o, sets[i].key, v ? v : json_null());
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

int tg_runtime_change(struct tg_runtime *rt, const struct tg_runtime_set *sets, size_t n,
                      const struct tg_runtime_who *who, const struct tg_config *running,
                      struct tg_config **out, struct tg_errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        if (set_by_flag(rt, sets[i].key))
            return tg_errbuf_set(eb, TG_ELIMIT,
                                 "%s: set by a command-line flag, which wins over the control "
                                 "API (restart without it to change it here)",
                                 sets[i].key);
        if (!sets[i].json && ovlist_find(&rt->ovs, sets[i].key) < 0)
            return tg_errbuf_set(eb, TG_ENOTFOUND, "%s: no override to remove", sets[i].key);
    }
    struct ovlist next;
    ovlist_copy(&next, &rt->ovs);
    for (size_t i = 0; i < n; i++)
        ovlist_del(&next, sets[i].key);
    struct tg_config *cfg = NULL;
    int rc = build(rt, rt->base, &next, sets, n, running, NULL, NULL, &cfg, eb);
    if (rc) {
        ovlist_clear(&next);
        return rc;
    }
    char *old_json = values_of(running, sets, n), *new_json = values_of(cfg, sets, n);
    struct tg_store_set *ss = calloc(n ? n : 1, sizeof *ss);
    if (!ss)
        abort();
    for (size_t i = 0; i < n; i++)
        ss[i] = (struct tg_store_set){sets[i].key, sets[i].json};
    int64_t now = tg_clock_wall_us();
    struct tg_store_audit row = {
        .ts_us = now,
        .actor = who->actor,
        .action = who->action,
        .target = who->target,
        .old_json = old_json,
        .new_json = new_json,
    };
    rc = tg_store_apply(rt->store, ss, n, &row, NULL, eb);
    free(ss);
    free(old_json);
    free(new_json);
    if (rc) {
        ovlist_clear(&next);
        tg_config_free(cfg);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (sets[i].json)
            ovlist_put(&next, sets[i].key, sets[i].json, who->actor, now);
    }
    ovlist_clear(&rt->ovs);
    rt->ovs = next;
    *out = cfg;
    return 0;
}

int tg_runtime_set_servers(struct tg_runtime *rt, const char *upstream, bool replace,
                           const struct tg_addr *servers, size_t n,
                           const struct tg_config *running, struct tg_config **out,
                           struct tg_errbuf *eb)
{
    if (tg_config_upstream_index(running, upstream) < 0)
        return tg_errbuf_set(eb, TG_ENOTFOUND, "no upstream named \"%s\"", upstream);
    size_t at = 0;
    while (at < rt->ndyn && strcmp(rt->dyn[at].upstream, upstream) != 0)
        at++;
    struct dynlayer next = {.replace = replace, .n = n};
    snprintf(next.upstream, sizeof next.upstream, "%s", upstream);
    if (n) {
        next.addrs = malloc(n * sizeof *next.addrs);
        if (!next.addrs)
            abort();
        memcpy(next.addrs, servers, n * sizeof *servers);
    }
    bool added = at == rt->ndyn;
    if (added) {
        struct dynlayer *nv = realloc(rt->dyn, (rt->ndyn + 1) * sizeof *nv);
        if (!nv)
            abort();
        rt->dyn = nv;
        rt->dyn[rt->ndyn++] = (struct dynlayer){0};
    }
    /* Built with the new list in place; the old one comes back on failure. */
    struct dynlayer old = rt->dyn[at];
    rt->dyn[at] = next;
    int rc = build(rt, rt->base, &rt->ovs, NULL, 0, running, NULL, NULL, out, eb);
    if (rc) {
        rt->dyn[at] = old;
        rt->ndyn -= added;
        free(next.addrs);
        return rc;
    }
    free(old.addrs);
    return 0;
}

const char *tg_runtime_layer_name(enum tg_runtime_layer l)
{
    static const char *const names[] = {"default", "file", "override", "flag"};
    return (unsigned)l <= TG_LAYER_FLAG ? names[l] : "?";
}


struct settings_ctx {
    const struct tg_runtime *rt;
    json_t *out;
};

static void add_setting(const struct tg_config_setting *s, void *vctx)
{
    struct settings_ctx *c = vctx;
    enum tg_runtime_layer layer = s->in_file ? TG_LAYER_FILE : TG_LAYER_DEFAULT;
    long ov = ovlist_find(&c->rt->ovs, s->key);
    if (set_by_flag(c->rt, s->key))
        layer = TG_LAYER_FLAG;
    else if (ov >= 0)
        layer = TG_LAYER_OVERRIDE;
    json_t *o = json_pack("{s:s,s:O,s:s,s:b,s:b}", "key", s->key, "value", s->value, "layer",
                          tg_runtime_layer_name(layer), "live", s->live, "control_api",
                          s->overridable);
    if (!s->live)
        json_object_set_new(o, "needs_restart", json_string(s->why));
    if (layer == TG_LAYER_OVERRIDE) {
        json_object_set_new(o, "set_by", json_string(c->rt->ovs.v[ov].set_by));
        char at[32];
        json_object_set_new(o, "set_at",
                            json_string(tg_clock_iso(c->rt->ovs.v[ov].set_at_us, at, sizeof at)));
    }
    json_array_append_new(c->out, o);
}

json_t *tg_runtime_settings(const struct tg_runtime *rt, const struct tg_config *cfg)
{
    struct settings_ctx c = {rt, json_array()};
    tg_config_foreach_setting(cfg, add_setting, &c);
    return c.out;
}

json_t *tg_runtime_overrides(const struct tg_runtime *rt)
{
    json_t *o = json_object();
    for (size_t i = 0; i < rt->ovs.n; i++) {
        json_t *v = json_loads(rt->ovs.v[i].json, JSON_DECODE_ANY, NULL);
        json_object_set_new(o, rt->ovs.v[i].key, v ? v : json_string(rt->ovs.v[i].json));
    }
    return o;
}

bool tg_runtime_has_override(const struct tg_runtime *rt, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < rt->ovs.n; i++) {
        const char *k = rt->ovs.v[i].key;
        if (strncmp(k, key, n) == 0 && (k[n] == '\0' || k[n] == '.'))
            return true;
    }
    return false;
}

struct tg_store *tg_runtime_store(struct tg_runtime *rt)
{
    return rt->store;
}
