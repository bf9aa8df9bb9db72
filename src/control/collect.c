/* SPDX-License-Identifier: MIT */
/* The control thread's collectors; see collect.h. Both describe a few small families in
 * one go. */
#include "control/collect.h"

#include "control/control.h"
#include "core/err.h"
#include "store/store.h"

static const struct tg_mfamily task_fams[] = {
    {"tailguard_control_task_runs_total", "Runs of each periodic task of the control thread.", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_control_task_overruns_total",
     "Runs of each control-thread task that ended after its next tick was due (the ticks "
     "missed are skipped, not queued).",
     NULL, TG_METRIC_COUNTER},
    {"tailguard_control_task_duration_seconds",
     "How long the last run of each control-thread task took.", "seconds", TG_METRIC_GAUGE},
};

struct task_walk {
    const struct tg_mvisitor *v;
    unsigned fam;
    bool announced;
};

static void on_task(const struct tg_control_task_info *t, void *vctx)
{
    static const char *const names[] = {"task"};
    struct task_walk *w = vctx;
    const char *values[] = {t->name};
    double x = w->fam == 0   ? (double)t->stats.runs
               : w->fam == 1 ? (double)t->stats.overruns
                             : (double)t->stats.last_us / 1e6;
    if (!w->announced)
        w->v->family(w->v->ctx, &task_fams[w->fam]);
    w->announced = true;
    w->v->value(w->v->ctx, &(struct tg_mlabels){names, values, 1}, x);
}

int tg_control_collect_tasks(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    (void)cur;
    for (unsigned f = 0; f < sizeof task_fams / sizeof task_fams[0]; f++) {
        struct task_walk w = {v, f, false};
        tg_control_foreach_task(data, on_task, &w);
    }
    return TG_DONE;
}

static void one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                const char *unit, const char *help, double x)
{
    static const struct tg_mlabels none = {NULL, NULL, 0};
    v->family(v->ctx, &(struct tg_mfamily){name, help, unit, type});
    v->value(v->ctx, &none, x);
}

int tg_control_collect_store(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    (void)cur;
    struct tg_store_stats st;
    tg_store_stats(data, &st);
    const enum tg_metric_type C = TG_METRIC_COUNTER, G = TG_METRIC_GAUGE;
    one(v, "tailguard_store_file_bytes", G, "bytes", "Size of the store's database file.",
        (double)st.file_bytes);
    one(v, "tailguard_store_wal_bytes", G, "bytes", "Size of the store's write-ahead log.",
        (double)st.wal_bytes);
    one(v, "tailguard_store_audit_rows", G, NULL, "Rows in the audit log.", (double)st.audit_rows);
    one(v, "tailguard_store_overrides", G, NULL, "Control-API overrides in force.",
        (double)st.overrides);
    one(v, "tailguard_store_alert_history_rows", G, NULL, "Rows in the alert history.",
        (double)st.alert_rows);
    one(v, "tailguard_store_alert_history_trimmed_total", C, NULL,
        "Alert history rows dropped by its retention.", (double)st.alert_trimmed_total);
    one(v, "tailguard_store_commits_total", C, NULL,
        "Store write transactions that reached the disk.", (double)st.commits_total);
    one(v, "tailguard_store_write_errors_total", C, NULL,
        "Store writes that failed and were rolled back.", (double)st.write_errors_total);
    return TG_DONE;
}
