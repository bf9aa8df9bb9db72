/* SPDX-License-Identifier: MIT */
/* Health endpoints (API.md "Health"). /health is what load balancers and `curl -f` poll:
 * 200 {"status":"ok"} while at least one server of the default upstream is usable, 503
 * while draining or when none is. The detailed views list every upstream server with
 * its active-check verdict, passive ejection, in-flight count and last probe. */
#include "admin/health.h"

#include "collect/set.h"
#include "core/clock.h"
#include "proxy/gateway.h"

static const char *status_of(const struct tg_admin_health_ctx *h, bool *ok)
{
    *ok = !h->draining && tg_gateway_any_healthy(h->gw);
    return h->draining ? "draining" : *ok ? "ok" : "unhealthy";
}

void tg_admin_health(const struct tg_admin_health_ctx *h, bool versioned, struct tg_admin_resp *r)
{
    bool ok;
    const char *status = status_of(h, &ok);
    json_t *v = json_pack("{s:s}", "status", status);
    if (versioned) {
        json_object_set_new(v, "version", json_string(TG_VERSION));
        json_object_set_new(v, "uptime_s",
                            json_integer((tg_clock_wall_us() - h->start_wall_us) / 1000000));
    }
    tg_admin_resp_json(r, ok ? 200 : 503, v);
}

static json_t *ms_or_null(int64_t us, bool have)
{
    return have ? json_real((double)(us / 10) / 100.0) : json_null();
}

static void add_server(const struct tg_gateway_server_info *s, void *ctx)
{
    json_t *arr = ctx;
    bool probed = s->last_check_wall_us != 0;
    const char *state = !s->healthy ? "down" : s->ejected ? "ejected" : "up";
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:i, s:o, s:o, s:o}", "upstream",
                          s->upstream, "server", s->address, "state", state, "healthy", s->healthy,
                          "ejected", s->ejected, "active_checks", s->checked, "weight", s->weight,
                          "in_flight", s->inflight, "last_check_ms_ago",
                          probed ? json_integer((tg_clock_wall_us() - s->last_check_wall_us) / 1000)
                                 : json_null(),
                          "check_latency_ms", ms_or_null(s->last_check_latency_us, probed),
                          "last_error", s->last_error ? json_string(s->last_error) : json_null());
    /* Passive ejection's view: how long it stays out, how often it was, its ramp. */
    json_object_set_new(o, "ejected_for_ms", json_integer(s->ejected_for_us / 1000));
    json_object_set_new(o, "times_ejected", json_integer(s->times_ejected));
    json_object_set_new(o, "weight_ratio", json_real(s->weight_permille / 1000.0));
    json_object_set_new(o, "latency_ewma_ms",
                        ms_or_null(s->latency_ewma_us, s->latency_samples != 0));
    json_array_append_new(arr, o);
}

static void add_worker(const struct tg_gateway_worker_info *w, void *ctx)
{
    json_array_append_new(
        ctx, json_pack("{s:i, s:I}", "id", w->id, "connections", (json_int_t)w->connections));
}

/* A collector target: its job and instance as the store labels them, whether its last
 * collection succeeded and why not. A target down does not make the gateway unhealthy:
 * it serves traffic all the same. */
static void add_collector(const struct tg_ctarget_info *t, void *ctx)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:I}", "job", t->job, "instance",
        t->instance, "service", t->service, "up", t->up, "collecting", t->running, "error",
        t->error, "interval_ms", (json_int_t)(t->interval_us / 1000), "last_duration_us",
        (json_int_t)t->last_duration_us, "collections", (json_int_t)t->collections, "failures",
        (json_int_t)t->failures, "timeouts", (json_int_t)t->timeouts);
    if (!o)
        return;
    json_object_set_new(o, "last_collection_ms",
                        t->last_wall_ms ? json_integer(t->last_wall_ms) : json_null());
    json_object_set_new(o, "last_success_ms",
                        t->last_success_wall_ms ? json_integer(t->last_success_wall_ms)
                                                : json_null());
    json_array_append_new(ctx, o);
}

void tg_admin_health_detailed(const struct tg_admin_health_ctx *h, struct tg_admin_resp *r)
{
    bool ok;
    const char *status = status_of(h, &ok);
    json_t *servers = json_array(), *workers = json_array(), *collectors = json_array();
    tg_gateway_foreach_server(h->gw, add_server, servers);
    tg_gateway_foreach_worker(h->gw, add_worker, workers);
    tg_cset_foreach(h->collectors, add_collector, collectors);
    tg_admin_resp_json(
        r, ok ? 200 : 503,
        json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "status", status, "version", TG_VERSION,
                  "uptime_s", (json_int_t)((tg_clock_wall_us() - h->start_wall_us) / 1000000),
                  "upstreams", servers, "workers", workers, "collectors", collectors));
}

void tg_admin_health_services(const struct tg_admin_health_ctx *h, struct tg_admin_resp *r)
{
    json_t *servers = json_array();
    tg_gateway_foreach_server(h->gw, add_server, servers);
    tg_admin_resp_json(r, 200, json_pack("{s:o}", "services", servers));
}
