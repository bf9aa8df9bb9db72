/* SPDX-License-Identifier: MIT */
/* What the gateway keeps about individual requests besides the counters: traces (the
 * random sample, requests slower than the live p99, every 5xx) in the worker's trace
 * ring, and the access log. The access log is formatted into a per-worker buffer and
 * written in batches (when 48 KiB have gathered, or by the worker's once-a-second timer),
 * so a request costs a snprintf, not a syscall; lines are whole in every write, and the
 * file is opened with O_APPEND, so workers' batches never interleave mid-line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"

#define ALOG_CAP 65536
#define ALOG_FLUSH_AT 49152

static void push_trace(struct cconn *c, const struct tg_reqsample *smp, uint32_t key)
{
    struct tg_worker *w = c->w;
    struct tg_gateway *gw = w->gw;
    struct exchange *x = &c->x;
    unsigned why = 0;
    uint32_t ppm = atomic_load_explicit(&gw->trace_rate_ppm, memory_order_relaxed);
    if (ppm && tg__worker_rand(w) % 1000000 < ppm)
        why |= TG_TRACE_SAMPLED;
    int64_t p99 = atomic_load_explicit(&gw->live_p99_us, memory_order_relaxed);
    if (smp->duration_us > p99)
        why |= TG_TRACE_SLOW;
    if (smp->status >= 500 || smp->status == 0)
        why |= TG_TRACE_ERROR;
    if (!why)
        return;
    struct tg_reqtrace t = {
        .start_wall_us = x->start_wall_us,
        .duration_us = smp->duration_us,
        .key = key,
        .endpoint_gen = tg_endpoints_gen(gw->endpoints, key / TG_GATEWAY_METHODS),
        .server = x->server_key,
        .status = (uint16_t)smp->status,
        .cause = (uint8_t)smp->cause,
        .why = (uint8_t)why,
    };
    for (unsigned i = 0; i < TG_PHASE_COUNT; i++)
        t.phase_us[i] = smp->phase_us[i];
    /* upstream total: request sent -> response complete, as the upstream saw it */
    t.phase_us[TG_PHASE_COUNT] = x->sent_us && x->resp_done ? smp->duration_us -
                                                                  (x->sent_us - x->start_us)
                                                            : -1;
    memcpy(t.reqid, x->reqid, x->reqid_len < sizeof t.reqid ? x->reqid_len : sizeof t.reqid - 1);
    memcpy(t.path, x->path, x->path_len);
    tg_tracering_push(w->traces, &t);
}

void tg__access_log_flush(struct tg_worker *w)
{
    int fd = atomic_load_explicit(&w->gw->access_fd, memory_order_acquire);
    if (!w->alog_len || fd < 0)
        return;
    ssize_t n = write(fd, w->alog, w->alog_len);
    (void)n; /* a full disk loses log lines, never requests */
    w->alog_len = 0;
}

/* Copies `s` JSON-escaped (quotes, backslashes, control bytes) into out. */
static size_t json_escape(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
    return o;
}

static void access_log(struct cconn *c, const struct tg_reqsample *smp, uint32_t key)
{
    struct tg_worker *w = c->w;
    struct tg_gateway *gw = w->gw;
    struct exchange *x = &c->x;
    if (ALOG_CAP - w->alog_len < 2048)
        tg__access_log_flush(w);
    char ts[40], path[400];
    time_t secs = (time_t)(x->start_wall_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    const char *endpoint = tg_gateway_endpoint_name(gw, key / TG_GATEWAY_METHODS);
    const char *server = x->server_key != UINT32_MAX ? tg_gateway_server_name(gw, x->server_key)
                                                     : "-";
    const char *method = tg_http_method_name(x->method);
    char *out = w->alog + w->alog_len;
    size_t room = ALOG_CAP - w->alog_len;
    int n;
    if (atomic_load_explicit(&gw->access_format, memory_order_relaxed) == TG_ACCESS_JSON) {
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        json_escape(path, sizeof path, x->path, x->path_len);
        n = snprintf(out, room,
                     "{\"time\":\"%s.%03dZ\",\"request_id\":\"%.*s\",\"client\":\"%s\","
                     "\"method\":\"%s\",\"path\":\"%s\",\"endpoint\":\"%s\",\"status\":%d,"
                     "\"duration_ms\":%.3f,\"upstream\":\"%s\",\"bytes_in\":%llu,"
                     "\"bytes_out\":%llu,\"cause\":\"%s\"}\n",
                     ts, (int)(x->start_wall_us / 1000 % 1000), (int)x->reqid_len, x->reqid,
                     c->ip, method, path, endpoint, smp->status, smp->duration_us / 1000.0,
                     server, (unsigned long long)smp->bytes_in,
                     (unsigned long long)smp->bytes_out, tg_gateway_cause_name(smp->cause));
    } else {
        strftime(ts, sizeof ts, "%d/%b/%Y:%H:%M:%S +0000", &tm);
        size_t pl = x->path_len;
        for (size_t i = 0; i < pl; i++)
            path[i] = x->path[i] == '"' ? '\'' : x->path[i];
        path[pl] = '\0';
        n = snprintf(out, room,
                     "%s - - [%s] \"%s %s HTTP/1.%d\" %d %llu \"-\" \"-\" rid=%.*s rt=%.3f "
                     "up=%s\n",
                     c->ip, ts, method, path, x->minor, smp->status,
                     (unsigned long long)smp->bytes_out, (int)x->reqid_len, x->reqid,
                     smp->duration_us / 1e6, server);
    }
    if (n > 0 && (size_t)n < room)
        w->alog_len += (uint32_t)n;
    if (w->alog_len >= ALOG_FLUSH_AT)
        tg__access_log_flush(w);
}

void tg__observe(struct cconn *c, const struct tg_reqsample *smp, uint32_t key)
{
    struct tg_gateway *gw = c->w->gw;
    /* Requests refused before routing have no phases to show, and a slowloris head cut
     * at the header timeout would crowd the real slow requests out of the trace ring. */
    bool rejected = c->x.endpoint == gw->rejected_endpoint;
    if (c->w->traces && !rejected && atomic_load_explicit(&gw->tracing, memory_order_relaxed))
        push_trace(c, smp, key);
    if (!atomic_load_explicit(&gw->access_on, memory_order_relaxed))
        return;
    /* The buffer is made the first time it is needed: a reload may turn the log on. */
    if (!c->w->alog && !(c->w->alog = malloc(ALOG_CAP)))
        return;
    access_log(c, smp, key);
}
