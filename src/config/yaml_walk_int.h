/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: a strict, table-driven reader over a libyaml document. A
 * section of the schema is a table of struct tg_config_field; tg_config__walk_map checks
 * the node is a mapping, walks its pairs in document order (so the first error in the
 * file is the one reported), refuses non-string, duplicate and unknown keys (with a "did
 * you mean"), converts each value by its kind, calls nested sections through `fn`, and
 * finally reports missing required keys. Every error carries the file, the 1-based
 * line:column of the offending node, and the key path ("upstreams[0].servers[1]"). */
#ifndef TG_CONFIG_YAML_WALK_INT_H
#define TG_CONFIG_YAML_WALK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "core/err.h"

struct tg_config_walk {
    yaml_document_t *doc;
    const char *file;     /* label for messages */
    struct tg_errbuf *eb; /* may be NULL */
    char path[160];       /* key path of the node being read, "" at the root */
    size_t pathlen;
    /* When `record` is set, every key read is appended to `seen` as "path\n" (growing
     * buffer the caller frees): where each setting came from (settings.c). */
    bool record;
    char *seen;
    size_t seen_len, seen_cap;
};

enum tg_config_kind {
    TG_CONFIG_K_U32 = 0,  /* out: uint32_t *, plain integer in [min, max] */
    TG_CONFIG_K_BOOL,     /* out: bool *, true or false */
    TG_CONFIG_K_STR,      /* out: char[cap], any string (quoted "" allowed, null not) */
    TG_CONFIG_K_NAME,     /* out: char[cap], [A-Za-z0-9_.-]{1,63} */
    TG_CONFIG_K_DURATION, /* out: int64_t * microseconds in [min, max] */
    TG_CONFIG_K_SIZE,     /* out: uint64_t * bytes in [min, max] */
    TG_CONFIG_K_ADDR,     /* out: struct tg_addr * */
    TG_CONFIG_K_ENUM,     /* out: int *, index into `names` */
    TG_CONFIG_K_FUNC,     /* fn(w, node, out) reads the value itself */
};

typedef int tg_config_walk_fn(struct tg_config_walk *w, yaml_node_t *node, void *arg);

struct tg_config_field {
    const char *key;
    enum tg_config_kind kind;
    void *out;
    size_t cap;               /* STR, NAME: size of the buffer at `out` */
    int64_t min, max;         /* U32, DURATION, SIZE */
    const char *const *names; /* ENUM: NULL-terminated spellings */
    tg_config_walk_fn *fn;    /* FUNC */
    bool required;
    yaml_node_t *node; /* set by tg_config__walk_map when the key is present */
};

/* Reads mapping `map` against `fields[0..n)` (see the file comment). Returns 0, or
 * TG_ECONFIG with `w->eb` filled. Fields whose key is absent keep their `out` value, so
 * callers store defaults first. */
int tg_config__walk_map(struct tg_config_walk *w, yaml_node_t *map, struct tg_config_field *fields,
                        size_t n);

/* Reads one value by `f->kind` (the mapping-free core of tg_config__walk_map, also used
 * for list items). `w->path` must already name the value. */
int tg_config__walk_value(struct tg_config_walk *w, yaml_node_t *node,
                          const struct tg_config_field *f);

/* Checks `node` is a list of at most `max` entries; stores its items and count. */
int tg_config__walk_seq(struct tg_config_walk *w, yaml_node_t *node, size_t max,
                        yaml_node_item_t **items, size_t *count);

/* Checks `node` is a non-null scalar without NUL bytes (`what` names the expected value
 * in the error, e.g. "a string") and stores its text. */
int tg_config__walk_scalar(struct tg_config_walk *w, yaml_node_t *node, const char *what,
                           const char **text);

/* The node with document id `id` (as found in items and pairs). */
yaml_node_t *tg_config__walk_node(struct tg_config_walk *w, int id);

/* Path bookkeeping: each push returns the previous length for tg_config__walk_pop. */
size_t tg_config__walk_push_key(struct tg_config_walk *w, const char *key);
size_t tg_config__walk_push_index(struct tg_config_walk *w, size_t i);
void tg_config__walk_pop(struct tg_config_walk *w, size_t len);

/* Fills `w->eb` with TG_ECONFIG at `at` (or no position if NULL): "<path>: <message>".
 * Returns TG_ECONFIG. */
int tg_config__walk_err(struct tg_config_walk *w, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
