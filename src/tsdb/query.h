/* SPDX-License-Identifier: MIT */
/* The seam between the time-series store and whoever reads it (the PromQL evaluator, the
 * Prometheus HTTP API's series/labels endpoints, the conformance runner's test storage):
 * label sets, label matchers, and a queryable that selects series by matchers over a
 * time range. Anything that can answer these calls can be queried with PromQL: the
 * embedded store (tsdb.h) and the conformance runner's in-memory loader implement it.
 *
 * Conventions, as Prometheus has them:
 * - Times are int64 milliseconds since the Unix epoch; values are doubles.
 * - A label set is sorted by name, with unique names, and includes the metric name as
 *   the label "__name__". A label with an empty value is the same as no label: label
 *   sets never hold one.
 * - Staleness: a sample whose value has the bit pattern TG_STALE_NAN_BITS marks a series
 *   as gone at that time (tg_is_stale). Queryables return such samples as they are; the
 *   evaluator handles them (a stale marker ends a series' lookback).
 * - Matchers: "=", "!=", "=~", "!~". Regular expressions are fully anchored and use
 *   RE2 syntax as far as PCRE2 can express it; an empty value matches a missing label,
 *   so {foo=""} selects series without foo, and {foo=~".*"} selects every series.
 *
 * Ownership: a queryable returns a series set the caller owns and frees with
 * tg_series_set_free; label strings and sample arrays inside it live as long as the set. */
#ifndef TG_TSDB_QUERY_H
#define TG_TSDB_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

/* Prometheus's staleness marker (value.StaleNaN). */
#define TG_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

double tg_stale_nan(void);

/* Whether `v` is the staleness marker. Bits, not value: every other NaN is an ordinary
 * sample. Inline: the evaluator asks it of every sample in every window it reads. */
static inline bool tg_is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == TG_STALE_NAN_BITS;
}

struct tg_label {
    const char *name;
    const char *value;
};

struct tg_labels {
    const struct tg_label *v; /* sorted by name, names unique, no empty values */
    uint32_t n;
};

/* The value of label `name`, "" when the set has none. */
const char *tg_labels_get(const struct tg_labels *ls, const char *name);

/* Total order over label sets (name by name, then value), as Prometheus sorts them. */
int tg_labels_cmp(const struct tg_labels *a, const struct tg_labels *b);

/* A 64-bit hash of a label set (equal sets, equal hashes). */
uint64_t tg_labels_hash(const struct tg_labels *ls);

enum tg_match_type {
    TG_MATCH_EQUAL = 0, /* =  */
    TG_MATCH_NOT_EQUAL, /* != */
    TG_MATCH_REGEX,     /* =~ */
    TG_MATCH_NOT_REGEX, /* !~ */
};

struct tg_matcher {
    enum tg_match_type type;
    char *name;  /* owned */
    char *value; /* owned: the literal, or the regular expression as written */
    void *re;    /* owned: compiled, anchored pattern (pcre2_code *) for =~ and !~ */
};

/* Sets `m` (copies name and value; compiles a regex). On a bad regex: TG_EPARSE with the
 * message Prometheus gives ("error parsing regexp: ..."), `m` left empty. */
int tg_matcher_init(struct tg_matcher *m, enum tg_match_type type, const char *name,
                    const char *value, struct tg_errbuf *eb);
void tg_matcher_free(struct tg_matcher *m); /* accepts a zeroed matcher */

/* Whether label value `v` ("" for a missing label) satisfies `m`. */
bool tg_matcher_matches(const struct tg_matcher *m, const char *v);

struct tg_sample {
    int64_t t; /* ms */
    double v;
};

struct tg_series {
    struct tg_labels labels;
    const struct tg_sample *samples; /* ascending t, no duplicate times */
    uint32_t nsamples;
};

/* Series selected by one call, sorted by label set (tg_labels_cmp). */
struct tg_series_set {
    struct tg_series *series; /* malloc'd array (or NULL), freed by tg_series_set_free */
    size_t n;
    void *mem; /* the queryable's storage for labels and samples; freed with the set */
    void (*free_mem)(void *mem);
};

void tg_series_set_free(struct tg_series_set *s); /* accepts a zeroed set */

/* A store that can be queried. Each call returns 0 or a negative code with `eb` set; on
 * success `out` holds what was found (possibly nothing). */
struct tg_queryable {
    void *ctx;
    /* Every series matching all `ms` (at least one matcher must not match the empty
     * string, as Prometheus requires: the caller checks), with its samples whose time is
     * in [mint, maxt], inclusive. A series with no sample in the range is left out. */
    int (*select)(void *ctx, const struct tg_matcher *ms, size_t nms, int64_t mint,
                  int64_t maxt, struct tg_series_set *out, struct tg_errbuf *eb);
    /* Label names (sorted, unique) of the series matching `ms` (all series when nms is
     * 0) with samples in [mint, maxt]. The caller frees the array and each string. */
    int (*label_names)(void *ctx, const struct tg_matcher *ms, size_t nms, int64_t mint,
                       int64_t maxt, char ***out, size_t *n, struct tg_errbuf *eb);
    /* Values (sorted, unique) of label `name` over the same selection. */
    int (*label_values)(void *ctx, const char *name, const struct tg_matcher *ms, size_t nms,
                        int64_t mint, int64_t maxt, char ***out, size_t *n,
                        struct tg_errbuf *eb);
};

#endif
