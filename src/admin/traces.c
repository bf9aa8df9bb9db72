/* SPDX-License-Identifier: MIT */
/* Trace-based monitoring views: GET /api/v1/monitoring/traces (a top-level JSON array,
 * slowest first, `[]` when none: the runbook reads `.[0]`) and
 * GET /api/v1/monitoring/slow-queries (the slowest recent requests). Both read the
 * workers' trace rings, which keep the random sample, every request slower than the
 * live p99 and every 5xx, so "recent" means the last few thousand notable requests. */
#include "admin/traces.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/query.h"
#include "proxy/endpoints.h"
#include "proxy/gateway.h"

struct collect {
    struct tg_reqtrace *v;
    size_t n, cap;
    int64_t min_us;
};

static void on_trace(const struct tg_reqtrace *t, void *ctx)
{
    struct collect *c = ctx;
    if (t->duration_us < c->min_us)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct tg_reqtrace *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *t;
}

static int slowest_first(const void *a, const void *b)
{
    int64_t x = ((const struct tg_reqtrace *)a)->duration_us;
    int64_t y = ((const struct tg_reqtrace *)b)->duration_us;
    return x < y ? 1 : x > y ? -1 : 0;
}

static json_t *ms(int64_t us)
{
    if (us < 0)
        return json_null();
    double r = round((double)us) / 1000.0;
    return r == floor(r) ? json_integer((json_int_t)r) : json_real(r);
}

static json_t *iso_time(int64_t wall_us)
{
    char buf[40];
    time_t s = (time_t)(wall_us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(wall_us / 1000 % 1000));
    return json_string(buf);
}

static json_t *trace_json(struct tg_gateway *gw, const struct tg_reqtrace *t, bool phases)
{
    char name[TG_ENDPOINT_NAME_MAX];
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:s}", "request_id", t->reqid, "endpoint",
        tg_gateway_trace_endpoint(gw, t, name, sizeof name), "method",
        tg_http_method_name((enum tg_http_method)(t->key % TG_GATEWAY_METHODS)), "path", t->path,
        "status", t->status, "cause", tg_gateway_cause_name(t->cause) ? tg_gateway_cause_name(t->cause) : "?",
        "duration_ms", ms(t->duration_us), "time", iso_time(t->start_wall_us), "upstream",
        t->server != UINT32_MAX ? tg_gateway_server_name(gw, t->server) : "");
    if (!phases)
        return o;
    json_object_set_new(o, "phases_ms",
                        json_pack("{s:o, s:o, s:o, s:o, s:o}", "queue", ms(t->phase_us[0]),
                                  "connect", ms(t->phase_us[1]), "upstream_first_byte",
                                  ms(t->phase_us[2]), "upstream_total", ms(t->phase_us[4]),
                                  "transfer", ms(t->phase_us[3])));
    json_t *why = json_array();
    if (t->why & TG_TRACE_SAMPLED)
        json_array_append_new(why, json_string("sampled"));
    if (t->why & TG_TRACE_SLOW)
        json_array_append_new(why, json_string("slower_than_p99"));
    if (t->why & TG_TRACE_ERROR)
        json_array_append_new(why, json_string("error"));
    json_object_set_new(o, "kept_because", why);
    return o;
}

static bool collect(struct tg_gateway *gw, struct tg_str q, struct collect *c, uint64_t *limit,
                    uint64_t def_limit, struct tg_admin_resp *r)
{
    uint64_t min_ms;
    if (!tg_admin_query_uint(q, "min_duration_ms", 0, 86400000, &min_ms)) {
        tg_admin_resp_error(r, 400, "min_duration_ms must be a whole number of milliseconds",
                            "min_duration_ms");
        return false;
    }
    if (!tg_admin_query_uint(q, "limit", def_limit, 1000, limit) || *limit == 0) {
        tg_admin_resp_error(r, 400, "limit must be from 1 to 1000", "limit");
        return false;
    }
    c->min_us = (int64_t)min_ms * 1000;
    tg_gateway_foreach_trace(gw, on_trace, c);
    if (c->n > 1)
        qsort(c->v, c->n, sizeof *c->v, slowest_first);
    return true;
}

void tg_admin_traces(struct tg_gateway *gw, struct tg_str q, struct tg_admin_resp *r)
{
    struct collect c = {0};
    uint64_t limit;
    if (collect(gw, q, &c, &limit, 100, r)) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c.n && i < limit; i++)
            json_array_append_new(arr, trace_json(gw, &c.v[i], true));
        tg_admin_resp_json(r, 200, arr);
    }
    free(c.v);
}

void tg_admin_slow_queries(struct tg_gateway *gw, struct tg_str q, struct tg_admin_resp *r)
{
    struct collect c = {0};
    uint64_t limit;
    if (collect(gw, q, &c, &limit, 10, r)) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c.n && i < limit; i++)
            json_array_append_new(arr, trace_json(gw, &c.v[i], false));
        tg_admin_resp_json(r, 200, json_pack("{s:I, s:o}", "limit", (json_int_t)limit, "items", arr));
    }
    free(c.v);
}
