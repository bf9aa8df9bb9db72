/* SPDX-License-Identifier: MIT */
/* The strict YAML reader behind schema.c (see yaml_walk_int.h). YAML's own typing is
 * looser than we want ("yes" as a boolean, "010" as octal, quoted "5" as a number in
 * some loaders), so scalars are judged here: integers and booleans must be plain
 * (unquoted) scalars, and a plain empty value or "~"/"null" is null, never "". */
#include "config/yaml_walk_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/addr.h"
#include "config/config_int.h"
#include "config/diag_int.h"
#include "config/units.h"

yaml_node_t *tg_config__walk_node(struct tg_config_walk *w, int id)
{
    return yaml_document_get_node(w->doc, id);
}

size_t tg_config__walk_push_key(struct tg_config_walk *w, const char *key)
{
    size_t old = w->pathlen;
    int n = snprintf(w->path + old, sizeof w->path - old, "%s%s", old ? "." : "", key);
    w->pathlen = n < 0 ? old : old + (size_t)n;
    if (w->pathlen >= sizeof w->path)
        w->pathlen = sizeof w->path - 1;
    return old;
}

size_t tg_config__walk_push_index(struct tg_config_walk *w, size_t i)
{
    size_t old = w->pathlen;
    int n = snprintf(w->path + old, sizeof w->path - old, "[%zu]", i);
    w->pathlen = n < 0 ? old : old + (size_t)n;
    if (w->pathlen >= sizeof w->path)
        w->pathlen = sizeof w->path - 1;
    return old;
}

void tg_config__walk_pop(struct tg_config_walk *w, size_t len)
{
    w->pathlen = len;
    w->path[len] = '\0';
}

int tg_config__walk_err(struct tg_config_walk *w, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[TG_ERRBUF_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = at ? (int)at->start_mark.line + 1 : 0;
    int col = at ? (int)at->start_mark.column + 1 : 0;
    if (w->pathlen)
        return tg_config__errf(w->eb, TG_ECONFIG, w->file, line, col, "%s: %s", w->path, msg);
    return tg_config__errf(w->eb, TG_ECONFIG, w->file, line, col, "%s", msg);
}

static bool is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (!is_plain(n))
        return false;
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
            return true;
    }
    return false;
}

static int parse_bool(const yaml_node_t *n)
{
    static const char *const t[] = {"true", "True", "TRUE"};
    static const char *const f[] = {"false", "False", "FALSE"};
    if (!is_plain(n))
        return -1;
    for (int i = 0; i < 3; i++) {
        if (strcmp((const char *)n->data.scalar.value, t[i]) == 0)
            return 1;
        if (strcmp((const char *)n->data.scalar.value, f[i]) == 0)
            return 0;
    }
    return -1;
}

/* How a value looks, for "expected X, got Y" messages. */
static const char *describe(const yaml_node_t *n, char *buf, size_t cap)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (is_plain(n) && n->data.scalar.length == 0)
        return "an empty value";
    if (is_null(n))
        return "null";
    char q[TG_CONFIG_QUOTE_CAP];
    tg_config__quote(q, sizeof q, (const char *)n->data.scalar.value, n->data.scalar.length);
    snprintf(buf, cap, "%s%s", is_plain(n) ? "" : "the string ", q);
    return buf;
}

int tg_config__walk_scalar(struct tg_config_walk *w, yaml_node_t *node, const char *what,
                           const char **text)
{
    char d[TG_CONFIG_QUOTE_CAP + 16];
    if (node->type != YAML_SCALAR_NODE || is_null(node))
        return tg_config__walk_err(w, node, "expected %s, got %s", what,
                                   describe(node, d, sizeof d));
    if (memchr(node->data.scalar.value, '\0', node->data.scalar.length))
        return tg_config__walk_err(w, node, "NUL bytes are not allowed");
    *text = (const char *)node->data.scalar.value;
    return 0;
}

int tg_config__walk_seq(struct tg_config_walk *w, yaml_node_t *node, size_t max,
                        yaml_node_item_t **items, size_t *count)
{
    char d[TG_CONFIG_QUOTE_CAP + 16];
    if (node->type != YAML_SEQUENCE_NODE)
        return tg_config__walk_err(w, node, "expected a list, got %s", describe(node, d, sizeof d));
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n > max)
        return tg_config__walk_err(w, node, "too many entries (%zu, at most %zu)", n, max);
    *items = node->data.sequence.items.start;
    *count = n;
    return 0;
}

static int read_u32(struct tg_config_walk *w, yaml_node_t *node, const struct tg_config_field *f)
{
    char d[TG_CONFIG_QUOTE_CAP + 16];
    if (node->type != YAML_SCALAR_NODE)
        return tg_config__walk_err(w, node, "expected an integer, got %s",
                                   describe(node, d, sizeof d));
    const char *s = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    bool digits = len > 0 && strspn(s, "0123456789") == len;
    if (!digits || !is_plain(node))
        return tg_config__walk_err(w, node, "expected an integer, got %s%s",
                                   describe(node, d, sizeof d),
                                   digits ? " (remove the quotes)" : "");
    uint64_t v = 0;
    for (size_t i = 0; i < len && v <= UINT32_MAX; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v < (uint64_t)f->min || v > (uint64_t)f->max)
        return tg_config__walk_err(
            w, node, "%s is out of range (allowed %" PRId64 " to %" PRId64 ")", s, f->min, f->max);
    *(uint32_t *)f->out = (uint32_t)v;
    return 0;
}

static int read_str(struct tg_config_walk *w, yaml_node_t *node, const struct tg_config_field *f)
{
    const char *s;
    int rc = tg_config__walk_scalar(w, node, "a string", &s);
    if (rc)
        return rc;
    size_t len = node->data.scalar.length;
    if (len >= f->cap)
        return tg_config__walk_err(w, node, "too long (%zu bytes, at most %zu)", len, f->cap - 1);
    if (f->kind == TG_CONFIG_K_NAME && !tg_config__name_ok(s)) {
        char q[TG_CONFIG_QUOTE_CAP];
        return tg_config__walk_err(w, node,
                                   "bad name %s (use letters, digits, \"_\", \".\" and \"-\")",
                                   tg_config__quote(q, sizeof q, s, len));
    }
    memcpy(f->out, s, len + 1);
    return 0;
}

/* Retargets a message from units.c or addr.c (which know no position) at `node`. */
static int rethrow(struct tg_config_walk *w, yaml_node_t *node, struct tg_errbuf *inner)
{
    return tg_config__walk_err(w, node, "%s", inner->msg);
}

static int read_duration(struct tg_config_walk *w, yaml_node_t *node,
                         const struct tg_config_field *f)
{
    struct tg_errbuf inner;
    const char *s;
    int64_t v;
    int rc = tg_config__walk_scalar(w, node, "a duration such as 10s", &s);
    if (rc)
        return rc;
    if (tg_units_parse_duration(s, &v, &inner) != 0)
        return rethrow(w, node, &inner);
    if (v < f->min || v > f->max) {
        char lo[32], hi[32];
        tg_units_format_duration(f->min, lo, sizeof lo);
        tg_units_format_duration(f->max, hi, sizeof hi);
        return tg_config__walk_err(w, node, "%s is out of range (allowed %s to %s)", s, lo, hi);
    }
    *(int64_t *)f->out = v;
    return 0;
}

static int read_size(struct tg_config_walk *w, yaml_node_t *node, const struct tg_config_field *f)
{
    struct tg_errbuf inner;
    const char *s;
    uint64_t v;
    int rc = tg_config__walk_scalar(w, node, "a size such as 16KiB", &s);
    if (rc)
        return rc;
    if (tg_units_parse_size(s, &v, &inner) != 0)
        return rethrow(w, node, &inner);
    if (v < (uint64_t)f->min || v > (uint64_t)f->max) {
        char lo[32], hi[32];
        tg_units_format_size((uint64_t)f->min, lo, sizeof lo);
        tg_units_format_size((uint64_t)f->max, hi, sizeof hi);
        return tg_config__walk_err(w, node, "%s is out of range (allowed %s to %s)", s, lo, hi);
    }
    *(uint64_t *)f->out = v;
    return 0;
}

static int read_enum(struct tg_config_walk *w, yaml_node_t *node, const struct tg_config_field *f)
{
    const char *s;
    int rc = tg_config__walk_scalar(w, node, "a string", &s);
    if (rc)
        return rc;
    size_t n = 0;
    for (; f->names[n]; n++) {
        if (strcmp(s, f->names[n]) == 0) {
            *(int *)f->out = (int)n;
            return 0;
        }
    }
    char q[TG_CONFIG_QUOTE_CAP], list[160] = "";
    tg_config__quote(q, sizeof q, s, node->data.scalar.length);
    const char *near = tg_config__suggest(s, f->names, n);
    if (near)
        return tg_config__walk_err(w, node, "unknown value %s (did you mean \"%s\"?)", q, near);
    for (size_t i = 0, o = 0; i < n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", f->names[i]);
    return tg_config__walk_err(w, node, "unknown value %s (allowed: %s)", q, list);
}

int tg_config__walk_value(struct tg_config_walk *w, yaml_node_t *node,
                          const struct tg_config_field *f)
{
    char d[TG_CONFIG_QUOTE_CAP + 16];
    switch (f->kind) {
    case TG_CONFIG_K_U32:
        return read_u32(w, node, f);
    case TG_CONFIG_K_BOOL: {
        int b = node->type == YAML_SCALAR_NODE ? parse_bool(node) : -1;
        if (b < 0)
            return tg_config__walk_err(w, node, "expected true or false, got %s",
                                       describe(node, d, sizeof d));
        *(bool *)f->out = b == 1;
        return 0;
    }
    case TG_CONFIG_K_STR:
    case TG_CONFIG_K_NAME:
        return read_str(w, node, f);
    case TG_CONFIG_K_DURATION:
        return read_duration(w, node, f);
    case TG_CONFIG_K_SIZE:
        return read_size(w, node, f);
    case TG_CONFIG_K_ADDR: {
        struct tg_errbuf inner;
        const char *s;
        int rc = tg_config__walk_scalar(w, node, "an address such as 127.0.0.1:8080", &s);
        if (rc)
            return rc;
        if (tg_addr_parse(s, f->out, &inner) != 0)
            return rethrow(w, node, &inner);
        return 0;
    }
    case TG_CONFIG_K_ENUM:
        return read_enum(w, node, f);
    case TG_CONFIG_K_FUNC:
        return f->fn(w, node, f->out);
    }
    return tg_config__walk_err(w, node, "internal error: unknown field kind %d", (int)f->kind);
}

static int unknown_key(struct tg_config_walk *w, yaml_node_t *key,
                       const struct tg_config_field *fields, size_t n)
{
    const char *keys[32];
    char q[TG_CONFIG_QUOTE_CAP], list[400] = "";
    size_t nk = n < 32 ? n : 32;
    for (size_t i = 0; i < nk; i++)
        keys[i] = fields[i].key;
    const char *s = (const char *)key->data.scalar.value;
    tg_config__quote(q, sizeof q, s, key->data.scalar.length);
    const char *near = tg_config__suggest(s, keys, nk);
    if (near)
        return tg_config__walk_err(w, key, "unknown key %s (did you mean \"%s\"?)", q, near);
    size_t o = 0;
    for (size_t i = 0; i < nk && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", keys[i]);
    /* A list cut short by the message's fixed size would look complete and miss the key
     * the user wanted; the root's two dozen keys do not fit. */
    if (w->pathlen + strlen(q) + o + 32 >= TG_ERRBUF_MSG)
        return tg_config__walk_err(w, key, "unknown key %s (docs/config.md lists the keys)", q);
    return tg_config__walk_err(w, key, "unknown key %s (allowed: %s)", q, list);
}

static void record(struct tg_config_walk *w)
{
    size_t need = w->seen_len + w->pathlen + 2;
    if (need > w->seen_cap) {
        w->seen_cap = need * 2 > 4096 ? need * 2 : 4096;
        w->seen = tg_config__xreallocarray(w->seen, w->seen_cap, 1);
    }
    memcpy(w->seen + w->seen_len, w->path, w->pathlen);
    w->seen_len += w->pathlen;
    w->seen[w->seen_len++] = '\n';
    w->seen[w->seen_len] = '\0';
}

int tg_config__walk_map(struct tg_config_walk *w, yaml_node_t *map, struct tg_config_field *fields,
                        size_t n)
{
    char d[TG_CONFIG_QUOTE_CAP + 16];
    if (map->type != YAML_MAPPING_NODE)
        return tg_config__walk_err(w, map, "expected a mapping, got %s",
                                   describe(map, d, sizeof d));
    for (size_t i = 0; i < n; i++)
        fields[i].node = NULL;
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *key = tg_config__walk_node(w, p->key);
        yaml_node_t *val = tg_config__walk_node(w, p->value);
        const char *k;
        if (key->type != YAML_SCALAR_NODE || is_null(key) ||
            memchr(key->data.scalar.value, '\0', key->data.scalar.length))
            return tg_config__walk_err(w, key, "keys must be plain strings, got %s",
                                       describe(key, d, sizeof d));
        k = (const char *)key->data.scalar.value;
        /* O(pairs^2), but mappings here have at most a dozen keys. */
        for (yaml_node_pair_t *q = start; q < p; q++) {
            yaml_node_t *prev = tg_config__walk_node(w, q->key);
            if (prev->type == YAML_SCALAR_NODE &&
                strcmp((const char *)prev->data.scalar.value, k) == 0)
                return tg_config__walk_err(
                    w, key, "duplicate key %s (first at line %zu)",
                    tg_config__quote(d, sizeof d, k, key->data.scalar.length),
                    prev->start_mark.line + 1);
        }
        struct tg_config_field *f = NULL;
        for (size_t i = 0; i < n && !f; i++) {
            if (strcmp(fields[i].key, k) == 0)
                f = &fields[i];
        }
        if (!f)
            return unknown_key(w, key, fields, n);
        f->node = val;
        size_t mark = tg_config__walk_push_key(w, k);
        if (w->record)
            record(w);
        int rc = tg_config__walk_value(w, val, f);
        tg_config__walk_pop(w, mark);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (fields[i].required && !fields[i].node)
            return tg_config__walk_err(w, map, "missing required key \"%s\"", fields[i].key);
    }
    return 0;
}
