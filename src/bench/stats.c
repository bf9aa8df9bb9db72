/* SPDX-License-Identifier: MIT */
/* Load-test counters: reset and merge (see stats_int.h). */
#include "bench/stats_int.h"

#include <string.h>

void tg_bench__stats_reset(struct tg_bench_stats *s)
{
    memset(s, 0, sizeof *s);
    tg_hist_init(&s->lat);
    tg_hist_init(&s->lat_unc);
}

void tg_bench__stats_init(struct tg_bench_stats *s)
{
    tg_bench__stats_reset(s);
}

void tg_bench__stats_merge(struct tg_bench_stats *dst, const struct tg_bench_stats *src)
{
    if (src->requests == 0 && src->connects == 0 && src->bytes_out == 0 && src->bytes_in == 0)
        return;
    tg_hist_merge(&dst->lat, &src->lat);
    tg_hist_merge(&dst->lat_unc, &src->lat_unc);
    dst->requests += src->requests;
    dst->responses += src->responses;
    for (int i = 0; i < TG_BENCH_E_COUNT; i++)
        dst->errors[i] += src->errors[i];
    dst->late += src->late;
    dst->connects += src->connects;
    dst->bytes_out += src->bytes_out;
    dst->bytes_in += src->bytes_in;
    for (int i = 0; i < TG_BENCH_STATUS_MAX; i++)
        dst->status[i] += src->status[i];
}

uint64_t tg_bench__stats_errors(const struct tg_bench_stats *s)
{
    uint64_t n = 0;
    for (int i = 0; i < TG_BENCH_E_COUNT; i++)
        n += s->errors[i];
    return n;
}

const char *tg_bench__err_name(enum tg_bench_err e)
{
    static const char *const names[TG_BENCH_E_COUNT] = {"connect", "timeout", "reset",
                                                        "bad_response", "http"};
    return (unsigned)e < TG_BENCH_E_COUNT ? names[e] : "?";
}
