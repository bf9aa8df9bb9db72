/* SPDX-License-Identifier: MIT */
/* The external-service probes (kinds.h's tg_cprobe_make): at each collection one request
 * (GET unless configured otherwise, without a body) to the configured URL through the control
 * plane's HTTP client (http/client.h), reported under blackbox_exporter's names for an http probe
 * (probe_success, probe_duration_seconds, probe_http_status_code, ...), plus, across probes,
 * external_api_duration_seconds{service} (a histogram with the gateway's default
 * duration bounds), external_api_requests_total{service,status} and
 * external_api_errors_total{service,reason}.
 *
 * As with blackbox_exporter, a probe that ran is a successful collection (`up` 1) even
 * when the service failed it: the failure is probe_success 0, and the reason is kept
 * for the admin API. Only a probe the set cancels at its deadline is a failed
 * collection; the call's own timeout is a little shorter than the target's `timeout`
 * (which the configuration resolves to the deadline the set applies: the interval, at
 * most 10 s, when none is given), so a hanging service shows as probe_success 0 (reason
 * "timeout") rather than as a lost scrape. Loop thread only. */
#ifndef TG_COLLECT_PROBE_H
#define TG_COLLECT_PROBE_H

#include <stdbool.h>
#include <stdint.h>

/* Without a configured timeout a probe gives up after this long. */
#define TG_CPROBE_DEFAULT_TIMEOUT_US INT64_C(5000000)
/* Response bytes read at most; a larger body fails the probe ("too_big"). */
#define TG_CPROBE_MAX_BODY (1u << 20)

/* What the admin API shows of a probe (its impl, from tg_cset_impl). Strings are valid
 * until the probe's next collection ends or the probe is freed. */
struct tg_cprobe_info {
    const char *service, *url;
    bool probed;            /* at least one probe has ended */
    bool success;           /* the last one passed */
    int status;             /* its HTTP status, 0 when there was no answer */
    int64_t duration_us;    /* how long it took */
    int64_t last_wall_ms;   /* when it ended */
    const char *last_error; /* why the last failed probe failed ("" if none has) */
    uint64_t probes, failures;
};

void tg_cprobe_info(const void *impl, struct tg_cprobe_info *out);

/* The timeout a probe's call gets when the probe's deadline is `timeout_us` (0: the
 * default): a tenth less, at most half a second less, so the call ends before the set
 * cancels the collection. */
int64_t tg_cprobe_call_timeout_us(int64_t timeout_us);

/* Whether `status` passes with the accepted list `valid[0..n)` (n 0: any 2xx). */
bool tg_cprobe_status_ok(int status, const uint32_t *valid, uint32_t n);

#endif
