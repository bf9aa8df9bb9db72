/* SPDX-License-Identifier: MIT */
/* The autoscaler's wiring; see autoscale.h. A published server list is a configuration
 * change like any other (a new snapshot, the proxy carrying the state of unchanged
 * servers across it) but not an override: instances do not survive a restart, so their
 * addresses are never written to the store. Each step is in the audit log, as the
 * control API's changes are, with actor "autoscale". */
#include "control/autoscale.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "metrics/agg.h"
#include "metrics/collect.h"
#include "proxy/gateway.h"
#include "store/audit.h"

struct tg_autoscale {
    struct tg_control *ctl;
    struct tg_gateway *gw;
    struct tg_runtime *rt;
    tg_scale_note_fn *note;
    void *note_ctx;
    struct tg_scaler *scaler;
};

static bool signal_ms(void *vas, enum tg_autoscale_signal sig, double window_s, double *ms)
{
    struct tg_autoscale *as = vas;
    struct tg_winstats w;
    uint32_t secs = window_s < 1 ? 1 : (uint32_t)(window_s + 0.5);
    tg_magg_window(tg_gateway_metrics(as->gw), TG_MAGG_ALL, secs, &w);
    if (w.count == 0)
        return false;
    *ms = (double)(sig == TG_AUTOSCALE_P99 ? w.p99_us : w.p95_us) / 1000.0;
    return true;
}

static int publish(void *vas, const char *upstream, bool replace, const struct tg_addr *servers,
                   size_t n, struct tg_errbuf *eb)
{
    struct tg_autoscale *as = vas;
    struct tg_config *cfg = NULL;
    int rc = tg_runtime_set_servers(as->rt, upstream, replace, servers, n,
                                    tg_gateway_config(as->gw), &cfg, eb);
    if (rc == 0)
        rc = tg_gateway_reload(as->gw, cfg, NULL, NULL, eb);
    return rc;
}

static void note(void *vas, const char *kind, const char *text, const char *data_json)
{
    struct tg_autoscale *as = vas;
    struct tg_store_audit row = {.ts_us = tg_clock_wall_us(),
                                 .actor = "autoscale",
                                 .action = text,
                                 .target = "autoscale",
                                 .new_json = data_json};
    struct tg_errbuf eb = {0};
    if (tg_store_audit_append(tg_runtime_store(as->rt), &row, NULL, &eb) != 0)
        tg_log(TG_LOG_WARN, "scale", "audit-failed error=\"%s\"", eb.msg);
    if (as->note)
        as->note(as->note_ctx, kind, text, data_json);
}

static int collect(void *vas, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    struct tg_autoscale *as = vas;
    (void)cur;
    struct tg_scaler_stats st;
    tg_scaler_stats(as->scaler, &st);
    static const char *const un[] = {"upstream"};
    const char *uv[] = {st.upstream};
    struct tg_mlabels l = {un, uv, 1};
    v->family(v->ctx, &(struct tg_mfamily){"tailguard_autoscale_instances",
                                           "Servers in the autoscaled upstream's pool.", NULL,
                                           TG_METRIC_GAUGE});
    v->value(v->ctx, &l, st.instances);
    v->family(v->ctx, &(struct tg_mfamily){"tailguard_autoscale_desired",
                                           "Instances the autoscaler wants.", NULL,
                                           TG_METRIC_GAUGE});
    v->value(v->ctx, &l, st.desired);
    static const char *const an[] = {"upstream", "direction", "result"};
    v->family(v->ctx, &(struct tg_mfamily){"tailguard_autoscale_actions_total",
                                           "Scaling steps taken, by direction and result.",
                                           NULL, TG_METRIC_COUNTER});
    for (int d = 0; d < 2; d++) {
        for (int r = 0; r < 2; r++) {
            const char *av[] = {st.upstream, d ? "down" : "up", r ? "failed" : "ok"};
            v->value(v->ctx, &(struct tg_mlabels){an, av, 3}, (double)st.actions[d][r]);
        }
    }
    static const char *const cn[] = {"upstream", "verdict"};
    static const char *const verdicts[] = {"hold", "high", "low"};
    v->family(v->ctx, &(struct tg_mfamily){"tailguard_autoscale_checks_total",
                                           "Autoscale checks, by what the signal said.", NULL,
                                           TG_METRIC_COUNTER});
    for (int k = 0; k < 3; k++) {
        const char *cv[] = {st.upstream, verdicts[k]};
        v->value(v->ctx, &(struct tg_mlabels){cn, cv, 2}, (double)st.checks[k]);
    }
    return TG_DONE;
}

int tg_autoscale_new(struct tg_control *ctl, struct tg_gateway *gw, struct tg_runtime *rt,
                     tg_scale_note_fn *note_fn, void *note_ctx, struct tg_autoscale **out)
{
    struct tg_autoscale *as = calloc(1, sizeof *as);
    if (!as)
        return -ENOMEM;
    *as = (struct tg_autoscale){ctl, gw, rt, note_fn, note_ctx, NULL};
    const struct tg_scale_hooks h = {signal_ms, publish, note, as};
    int rc = tg_scaler_new(tg_control_loop(ctl), gw, &h, &as->scaler);
    if (rc == 0)
        rc = tg_mcollectors_add(tg_control_collectors(ctl), "autoscale", collect, as);
    if (rc) {
        tg_autoscale_free(as);
        return rc;
    }
    *out = as;
    return 0;
}

void tg_autoscale_free(struct tg_autoscale *as)
{
    if (!as)
        return;
    tg_mcollectors_remove(tg_control_collectors(as->ctl), as);
    tg_scaler_free(as->scaler);
    free(as);
}

struct tg_scaler *tg_autoscale_scaler(struct tg_autoscale *as)
{
    return as->scaler;
}
