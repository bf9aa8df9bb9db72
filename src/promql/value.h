/* SPDX-License-Identifier: MIT */
/* PromQL values and the memory they live in. An evaluation allocates everything it makes
 * (label sets, sample arrays, strings) from arenas, released all at once: the query arena
 * lives as long as the query and its result, the step arena is reset between the steps of
 * a range query. This keeps the evaluator free of per-object frees, at the price of
 * memory that grows with one step's intermediate values (bounded by the sample limit).
 *
 * Values follow Prometheus's model: a scalar (time, value), a string, an instant vector
 * (samples each with a label set), and a matrix (series, each a label set with samples in
 * ascending time). Label sets are struct tg_labels from tsdb/query.h: sorted by name,
 * unique names, no empty values. Used by the evaluator (eval.c) and its function files. */
#ifndef TG_PROMQL_VALUE_H
#define TG_PROMQL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/query.h"

/* A bump allocator over a list of blocks. Not thread-safe; one per query. */
struct tg_promql_arena {
    struct tg_promql_arena_block *head;
    size_t used;      /* bytes used in head */
    size_t total;     /* bytes handed out since the last reset, for the memory limit */
};

/* Zeroed memory of `n` bytes, aligned for any type. Aborts when malloc fails (the query
 * engine runs on the control thread, where the allocation policy is startup-like). */
void *tg_promql_alloc(struct tg_promql_arena *a, size_t n);
char *tg_promql_strdup(struct tg_promql_arena *a, const char *s);
char *tg_promql_strndup(struct tg_promql_arena *a, const char *s, size_t n);
/* Releases every block but the first, which is kept for reuse. */
void tg_promql_arena_reset(struct tg_promql_arena *a);
void tg_promql_arena_deinit(struct tg_promql_arena *a);

enum tg_promql_vtype {
    TG_PROMQL_VNONE = 0,
    TG_PROMQL_VSCALAR,
    TG_PROMQL_VSTRING,
    TG_PROMQL_VVECTOR,
    TG_PROMQL_VMATRIX,
};

/* The name Prometheus uses for a value type in messages ("instant vector", ...). */
const char *tg_promql_vtype_name(enum tg_promql_vtype t);

struct tg_promql_sample {
    struct tg_labels labels;
    int64_t t; /* ms: the evaluation time, or the sample's own time for timestamp() */
    double v;
};

/* `stable` in a vector or matrix: every label array in it (the address of labels.v)
 * lives until the query ends and holds that one label set, so per-query caches
 * (eval_memo.c) may key on the address. Producers set it; zero means "unknown". */
struct tg_promql_vector {
    struct tg_promql_sample *v;
    size_t n, cap;
    bool stable;
};

struct tg_promql_series {
    struct tg_labels labels;
    struct tg_sample *s;
    size_t n, cap;
    bool no_drop; /* known: no value is below its predecessor (false: unknown) */
};

struct tg_promql_matrix {
    struct tg_promql_series *v;
    size_t n, cap;
    bool stable;
};

struct tg_promql_value {
    enum tg_promql_vtype type;
    int64_t t;            /* scalar and string: the evaluation time */
    double scalar;
    const char *str;
    struct tg_promql_vector vec;
    struct tg_promql_matrix mat;
};

/* Appends to a vector or matrix, growing it in arena `a` (the old array is left in the
 * arena). Returns the new element, zeroed. */
struct tg_promql_sample *tg_promql_vec_push(struct tg_promql_arena *a,
                                            struct tg_promql_vector *v);
struct tg_promql_series *tg_promql_mat_push(struct tg_promql_arena *a,
                                            struct tg_promql_matrix *m);
void tg_promql_series_push(struct tg_promql_arena *a, struct tg_promql_series *s, int64_t t,
                           double v);

/* Label set editing: a scratch list of labels, edited in place, then frozen into a
 * sorted struct tg_labels in an arena. Strings are borrowed, not copied. */
struct tg_promql_lb {
    struct tg_label *v;
    uint32_t n, cap;
};

void tg_promql_lb_reset(struct tg_promql_lb *b, const struct tg_labels *from);
void tg_promql_lb_del(struct tg_promql_lb *b, const char *name);
/* Sets `name`; an empty `value` deletes it, as Prometheus's builder does. */
void tg_promql_lb_set(struct tg_promql_lb *b, const char *name, const char *value);
/* Keeps only the labels named in `names`. */
void tg_promql_lb_keep(struct tg_promql_lb *b, char *const *names, size_t n);
struct tg_labels tg_promql_lb_labels(struct tg_promql_lb *b, struct tg_promql_arena *a);
void tg_promql_lb_deinit(struct tg_promql_lb *b);

/* `ls` without __name__ (the same array when it has none). */
struct tg_labels tg_promql_drop_name(struct tg_promql_arena *a, const struct tg_labels *ls);
/* A deep copy of `ls` (strings too) in `a`. */
struct tg_labels tg_promql_labels_copy(struct tg_promql_arena *a, const struct tg_labels *ls);
bool tg_promql_labels_equal(const struct tg_labels *a, const struct tg_labels *b);
/* Prometheus's text form: {a="b", c="d"}, with the name in front when it has one. */
size_t tg_promql_labels_format(const struct tg_labels *ls, char *out, size_t cap);

/* A signature of a label set's subset, for grouping and matching: `on` selects the
 * labels in `names` (sorted or not), otherwise all labels except those in `names`.
 * Written into `buf` as name\xff value\xff ...; returns its length. */
size_t tg_promql_signature(const struct tg_labels *ls, char *const *names, size_t n, bool on,
                           char **buf, size_t *cap);

/* The whole label set as a key (name\xff value\xff ...), for identity checks. */
size_t tg_promql_labels_key(const struct tg_labels *ls, char **buf, size_t *cap);

/* A hash map from byte strings to indexes, allocated in an arena. */
struct tg_promql_map {
    struct tg_promql_map_slot *slots;
    size_t n, cap;
};

/* The index stored for key, or -1; with `insert` >= 0, stores it when absent (the key is
 * copied into `a`) and returns -1. */
long tg_promql_map_get(struct tg_promql_arena *a, struct tg_promql_map *m, const char *key,
                       size_t len, long insert);

#endif
