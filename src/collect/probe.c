/* SPDX-License-Identifier: MIT */
/* An external-service probe (probe.h): one call of the control plane's HTTP client per
 * collection, and the figures kept across probes (the duration histogram, requests by
 * status, errors by reason). The URL is parsed once, when the target is made (a bad URL
 * fails the constructor, and the set keeps the target down with the reason); the client
 * never resolves names on the loop.
 *
 * Phases: the client measures the time to the first response byte and to the end, not
 * the connect on its own, so probe_http_duration_seconds has blackbox_exporter's
 * "resolve" (always 0: the address was resolved with the configuration), "processing"
 * (from the call to the first byte, the connection included) and "transfer" (the rest);
 * there is no "connect" or "tls" phase. */
#include "collect/probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/clock.h"
#include "http/client.h"
#include "metrics/buckets.h"

#define STATUS_LABELS 16 /* distinct status label values kept; the rest count as "other" */

struct status_count {
    char label[16];
    uint64_t n;
};

struct cprobe {
    struct tg_loop *loop;
    struct tg_hclient *client;
    struct tg_cfg_probe cfg;
    struct tg_hclient_target target;
    int64_t call_timeout_us;

    /* The collection in flight. */
    struct tg_hclient_call *call;
    struct tg_csnap *out;
    tg_ctarget_done_fn *done;
    void *arg;
    int64_t started_us;

    /* Across probes: external_api_* and what the admin API shows. */
    uint64_t cum[TG_MBUCKETS_DURATION_N], count;
    double sum_s;
    struct status_count status[STATUS_LABELS + 1]; /* the last one is "other" */
    uint64_t errors[TG_HCLIENT_ERRORS];            /* [TG_HCLIENT_OK]: a status not accepted */
    struct tg_cprobe_info last;
    char last_error[160];
};

int64_t tg_cprobe_call_timeout_us(int64_t timeout_us)
{
    if (timeout_us <= 0)
        timeout_us = TG_CPROBE_DEFAULT_TIMEOUT_US;
    int64_t margin = timeout_us / 10;
    return timeout_us - (margin > 500000 ? 500000 : margin);
}

bool tg_cprobe_status_ok(int status, const uint32_t *valid, uint32_t n)
{
    if (n == 0)
        return status >= 200 && status <= 299;
    for (uint32_t i = 0; i < n; i++)
        if ((uint32_t)status == valid[i])
            return true;
    return false;
}

void tg_cprobe_info(const void *impl, struct tg_cprobe_info *out)
{
    const struct cprobe *p = impl;
    *out = p->last;
    out->service = p->cfg.service;
    out->url = p->cfg.url;
    out->last_error = p->last_error;
}

static void count_status(struct cprobe *p, const char *label)
{
    struct status_count *s = p->status;
    for (; s < p->status + STATUS_LABELS && s->label[0]; s++)
        if (strcmp(s->label, label) == 0)
            break;
    if (s < p->status + STATUS_LABELS && !s->label[0])
        snprintf(s->label, sizeof s->label, "%s", label);
    else if (s == p->status + STATUS_LABELS)
        snprintf(s->label, sizeof s->label, "other");
    s->n++;
}

/* Counts one probe's outcome across probes. `err` TG_HCLIENT_OK with !ok: the status was
 * not accepted. */
static void account(struct cprobe *p, int64_t duration_us, int status, enum tg_hclient_error err,
                    bool ok, const char *why)
{
    double s = (double)duration_us / 1e6;
    for (size_t i = 0; i < TG_MBUCKETS_DURATION_N; i++)
        p->cum[i] += s <= tg_mbuckets_duration_s[i];
    p->count++;
    p->sum_s += s;
    char label[16];
    if (err == TG_HCLIENT_OK)
        snprintf(label, sizeof label, "%d", status);
    else
        snprintf(label, sizeof label, "%s", tg_hclient_error_name(err));
    count_status(p, label);
    p->last.probed = true;
    p->last.success = ok;
    p->last.status = status;
    p->last.duration_us = duration_us;
    p->last.last_wall_ms = tg_clock_wall_us() / 1000;
    p->last.probes++;
    if (!ok) {
        p->errors[err]++;
        p->last.failures++;
        snprintf(p->last_error, sizeof p->last_error, "%s", why);
    }
}

static void add_external(struct cprobe *p, struct tg_csnap *s)
{
    const char *svc = p->cfg.service;
    tg_csnap_family(s, "external_api_duration_seconds", TG_METRIC_HISTOGRAM,
                    "Duration of the probes of an external service, connection included.",
                    "seconds");
    const char *names[] = {"service"}, *values[] = {svc};
    struct tg_mlabels l = {names, values, 1};
    struct tg_mhist h = {tg_mbuckets_duration_s, p->cum, TG_MBUCKETS_DURATION_N, p->count,
                         p->sum_s};
    tg_csnap_add_hist(s, &l, &h);
    tg_csnap_family(s, "external_api_requests_total", TG_METRIC_COUNTER,
                    "Probes of an external service, by HTTP status or by the client's error.",
                    NULL);
    for (size_t i = 0; i <= STATUS_LABELS; i++)
        if (p->status[i].n)
            tg_csnap_addl(s, (double)p->status[i].n, "service", svc, "status", p->status[i].label,
                          NULL);
    tg_csnap_family(s, "external_api_errors_total", TG_METRIC_COUNTER,
                    "Failed probes of an external service, by reason (\"status\": an answer "
                    "whose status is not accepted).",
                    NULL);
    for (int e = 0; e < TG_HCLIENT_ERRORS; e++)
        tg_csnap_addl(s, (double)p->errors[e], "service", svc, "reason",
                      e == TG_HCLIENT_OK ? "status" : tg_hclient_error_name(e), NULL);
}

/* As Go's client reports it: the Content-Length of a body so framed (or of a head-only
 * answer, 0 if it has none), -1 for a chunked or close-delimited body, 0 without an answer. */
static double content_length(const struct tg_http_msg *h)
{
    if (!h)
        return 0;
    if (h->body == TG_HTTP_BODY_LENGTH || h->body == TG_HTTP_BODY_NONE)
        return (double)h->content_length;
    return -1;
}

static void add_probe(struct tg_csnap *s, const struct tg_hclient_resp *r, bool ok)
{
    tg_csnap_one(s, "probe_success", TG_METRIC_GAUGE,
                 "Displays whether or not the probe was a "
                 "success",
                 ok ? 1 : 0);
    tg_csnap_one(s, "probe_duration_seconds", TG_METRIC_GAUGE,
                 "Returns how long the probe took to complete in seconds",
                 (double)r->duration_us / 1e6);
    tg_csnap_one(s, "probe_dns_lookup_time_seconds", TG_METRIC_GAUGE,
                 "Returns the time taken for probe dns lookup in seconds", 0);
    tg_csnap_one(s, "probe_http_status_code", TG_METRIC_GAUGE, "Response HTTP status code",
                 r->status);
    const struct tg_http_msg *h = r->head;
    tg_csnap_one(s, "probe_http_content_length", TG_METRIC_GAUGE, "Length of http content response",
                 content_length(h));
    tg_csnap_one(s, "probe_http_uncompressed_body_length", TG_METRIC_GAUGE,
                 "Length of uncompressed response body", (double)r->body_len);
    tg_csnap_one(s, "probe_http_version", TG_METRIC_GAUGE,
                 "Returns the version of HTTP of the probe response",
                 h ? (h->minor ? 1.1 : 1.0) : 0);
    int64_t first = r->first_byte_us >= 0 ? r->first_byte_us : r->duration_us;
    tg_csnap_family(s, "probe_http_duration_seconds", TG_METRIC_GAUGE,
                    "Duration of http request by phase, summed over all redirects", "seconds");
    tg_csnap_addl(s, 0, "phase", "resolve", NULL);
    tg_csnap_addl(s, (double)first / 1e6, "phase", "processing", NULL);
    tg_csnap_addl(s, (double)(r->duration_us - first) / 1e6, "phase", "transfer", NULL);
}

static void on_response(void *ctx, const struct tg_hclient_resp *r)
{
    struct cprobe *p = ctx;
    p->call = NULL;
    bool ok = r->error == TG_HCLIENT_OK &&
              tg_cprobe_status_ok(r->status, p->cfg.valid_status, p->cfg.nvalid_status);
    char why[160] = "";
    if (r->error != TG_HCLIENT_OK)
        snprintf(why, sizeof why, "%s: %s", tg_hclient_error_name(r->error), r->detail);
    else if (!ok)
        snprintf(why, sizeof why, "status %d not accepted", r->status);
    account(p, r->duration_us, r->status, r->error, ok, why);
    add_probe(p->out, r, ok);
    add_external(p, p->out);
    struct tg_csnap *out = p->out;
    p->out = NULL;
    if (tg_csnap_oom(out)) {
        tg_csnap_reset(out);
        p->done(p->arg, -ENOMEM, "out of memory");
        return;
    }
    p->done(p->arg, 0, NULL);
}

/* The configured method (one TG_CFG_M_* bit; none: GET). */
static const char *method_of(uint32_t bits)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } map[] = {{TG_CFG_M_GET, "GET"},        {TG_CFG_M_HEAD, "HEAD"},     {TG_CFG_M_POST, "POST"},
               {TG_CFG_M_PUT, "PUT"},        {TG_CFG_M_DELETE, "DELETE"}, {TG_CFG_M_PATCH, "PATCH"},
               {TG_CFG_M_OPTIONS, "OPTIONS"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (bits & map[i].bit)
            return map[i].name;
    return "GET";
}

static void start(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg)
{
    struct cprobe *p = impl;
    p->out = out;
    p->done = done;
    p->arg = arg;
    p->started_us = tg_loop_now_us(p->loop);
    struct tg_hclient_req rq = {
        .method = method_of(p->cfg.method),
        .headers = "User-Agent: tailguard-probe\r\nAccept: */*\r\n",
        .timeout_us = p->call_timeout_us,
        .max_body = TG_CPROBE_MAX_BODY,
    };
    int rc = tg_hclient_call(p->client, &p->target, &rq, on_response, p, &p->call);
    if (rc < 0) {
        /* Out of memory or descriptors here, not the service's fault: a failed collection. */
        p->out = NULL;
        done(arg, rc,
             rc == -EMFILE || rc == -ENFILE ? "out of file descriptors" : "cannot start the probe");
    }
}

/* The set's deadline came first: the call is dropped and counted as a timeout; the
 * collection shows nothing, as a scrape of blackbox_exporter that timed out. */
static void cancel(void *impl, struct tg_csnap *out)
{
    struct cprobe *p = impl;
    (void)out;
    if (p->call)
        tg_hclient_cancel(p->call);
    p->call = NULL;
    p->out = NULL;
    account(p, tg_loop_now_us(p->loop) - p->started_us, 0, TG_HCLIENT_TIMEOUT, false,
            "timeout: the collection's deadline passed");
}

static void free_probe(void *impl)
{
    struct cprobe *p = impl;
    if (!p)
        return;
    tg_hclient_free(p->client);
    free(p);
}

static const struct tg_ctarget_ops ops = {start, cancel, free_probe};

int tg_cprobe_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                   struct tg_errbuf *eb)
{
    (void)extra;
    const struct tg_cfg_probe *c = cfg;
    struct cprobe *p = calloc(1, sizeof *p);
    if (!p)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    p->loop = loop;
    p->cfg = *c;
    p->call_timeout_us = tg_cprobe_call_timeout_us(c->timeout_us);
    int rc = tg_hclient_target_parse(c->url, &p->target, eb);
    if (rc == 0 && (rc = tg_hclient_new(loop, &p->client)) != 0)
        tg_errbuf_set(eb, rc, "probe %s: %s", c->service, tg_strerror(rc));
    if (rc != 0) {
        free_probe(p);
        return rc;
    }
    *out = (struct tg_ctarget){&ops, p};
    return 0;
}
