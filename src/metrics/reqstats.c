/* SPDX-License-Identifier: MIT */
/* Request statistics: the out-of-line parts (merge, reset, fixed boundaries). */
#include "metrics/reqstats.h"

#include <errno.h>
#include <string.h>

/* 1 ms .. 120 s: the runbooks' targets run from "p95 < 200 ms" for /health to 120 s LLM
 * generation timeouts; a few sub-5 ms bounds keep a fast upstream's connect and TTFB
 * readable. */
static const int64_t fixed_bounds[TG_FIXED_BUCKETS] = {
    1000,    2500,    5000,     10000,    25000,    50000,    75000,     100000,
    150000,  200000,  250000,   300000,   500000,   750000,   1000000,   1500000,
    2000000, 2500000, 5000000,  7500000,  10000000, 30000000, 60000000,  120000000,
};

const int64_t *tg_fixed_bounds_us(void)
{
    return fixed_bounds;
}

void tg_reqstats_init(struct tg_reqstats *s)
{
    memset(s, 0, sizeof *s);
    tg_phist_init(&s->latency);
}

void tg_reqstats_deinit(struct tg_reqstats *s)
{
    if (s)
        tg_phist_deinit(&s->latency);
}

void tg_reqstats_reset(struct tg_reqstats *s)
{
    if (tg_reqstats_empty(s) && s->codes[0] == 0)
        return; /* nothing recorded: skip the memsets */
    struct tg_phist lat = s->latency;
    tg_phist_reset(&lat);
    memset(s, 0, sizeof *s);
    s->latency = lat;
}

void tg_fixed_hist_merge(struct tg_fixed_hist *dst, const struct tg_fixed_hist *src)
{
    for (unsigned i = 0; i <= TG_FIXED_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
}

void tg_srvstats_merge(struct tg_srvstats *dst, const struct tg_srvstats *src)
{
    tg_fixed_hist_merge(&dst->latency, &src->latency);
    dst->errors += src->errors;
}

static void add_code(struct tg_reqstats *dst, uint16_t code, uint64_t n)
{
    for (unsigned i = 0; i < TG_STATUS_SLOTS; i++) {
        if (dst->codes[i] == code) {
            dst->code_counts[i] += n;
            return;
        }
        if (dst->codes[i] == 0) {
            dst->codes[i] = code;
            dst->code_counts[i] = n;
            return;
        }
    }
    dst->other_status += n;
}

int tg_reqstats_merge(struct tg_reqstats *dst, const struct tg_reqstats *src)
{
    if (tg_phist_merge(&dst->latency, &src->latency) != 0)
        return -ENOMEM;
    dst->errors += src->errors;
    dst->bytes_in += src->bytes_in;
    dst->bytes_out += src->bytes_out;
    dst->other_status += src->other_status;
    for (unsigned i = 0; i < TG_STATUS_SLOTS && src->codes[i]; i++)
        add_code(dst, src->codes[i], src->code_counts[i]);
    for (unsigned i = 0; i < TG_CAUSE_SLOTS; i++)
        dst->causes[i] += src->causes[i];
    for (unsigned i = 0; i < TG_PHASE_COUNT; i++)
        tg_fixed_hist_merge(&dst->phases[i], &src->phases[i]);
    return 0;
}
