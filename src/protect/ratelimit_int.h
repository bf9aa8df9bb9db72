/* SPDX-License-Identifier: MIT */
/* Shared between ratelimit.c (rules, decisions, headers) and ratelimit_table.c (the
 * per-key table): the parameters one decision uses, the decision on a stored state word,
 * and the table's interface. */
#ifndef TG_PROTECT_RATELIMIT_INT_H
#define TG_PROTECT_RATELIMIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protect/ratelimit.h"

/* The numbers one decision uses, loaded once from the rule. */
struct tg_ratelimit__p {
    enum tg_ratelimit_algo algo;
    uint64_t limit;
    uint64_t t_ns;   /* GCRA emission interval */
    uint64_t tau_ns; /* GCRA tolerance: (burst - 1) x t_ns */
    int64_t period_us;
};

/* Table values are 48 bits (the other 16 tag the entry's owner): GCRA stores the TAT in
 * µs (enough for 8.9 years of CLOCK_MONOTONIC), a fixed window the window number modulo
 * 2^32 and the count in 16 bits. The global cell has all 64 bits: the TAT in ns, or a
 * 40-bit window number and a 24-bit count. */
#define TG_RATELIMIT__V48 ((1ull << 48) - 1)

/* Decides one request against the stored word `old` (0: no state); `packed48` selects
 * the table layout. Fills `v` (except `allow` and `dry_run`) and, when accepted, `*next`.
 * Returns true if accepted. */
bool tg_ratelimit__decide(const struct tg_ratelimit__p *p, uint64_t old, bool packed48,
                          int64_t now_us, uint64_t *next, struct tg_ratelimit_verdict *v);

/* How much a table value still matters at `now_us`: 0 when it is the same as no entry
 * (expired), else a weight that grows with what evicting it would lose. */
uint64_t tg_ratelimit__weight(const struct tg_ratelimit__p *p, uint64_t v48, int64_t now_us);

struct tg_ratelimit__table;

/* `capacity` rounded up to a power of two, at least 64. 0 or -ENOMEM. */
int tg_ratelimit__table_new(size_t capacity, struct tg_ratelimit__table **out);
void tg_ratelimit__table_free(struct tg_ratelimit__table *t);

/* Decides for the key whose hash is `fp` (never 0) under parameter generation `gen`
 * (0..15; entries of another generation count as empty). False if four attempts in a row
 * lost races (then nothing was decided). */
bool tg_ratelimit__table_take(struct tg_ratelimit__table *t, const struct tg_ratelimit__p *p,
                              unsigned gen, uint64_t fp, int64_t now_us,
                              struct tg_ratelimit_verdict *v);

void tg_ratelimit__table_stats(const struct tg_ratelimit__table *t, struct tg_ratelimit_stats *out);
size_t tg_ratelimit__table_live(const struct tg_ratelimit__table *t,
                                const struct tg_ratelimit__p *p, unsigned gen, int64_t now_us);

#endif
