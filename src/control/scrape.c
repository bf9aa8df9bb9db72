/* SPDX-License-Identifier: MIT */
/* The self-scrape into the time-series store; see scrape.h. Samples are appended one by
 * one as the flattening visitor produces them (tg_tsdb_append copies the strings, which
 * the collectors lend only for the call), then an empty batch at the same time runs the
 * store's upkeep (retention, memory cap), so nothing of a scrape is held here. */
#include "control/scrape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/flatten.h"
#include "tsdb/tsdb.h"

/* The wall clock is read against the monotonic one once, and again only when they drift
 * apart by more than this (the clock was set): re-reading it each scrape would add its
 * microsecond jitter to timestamps that are otherwise exact multiples of the period. */
#define REANCHOR_US 1000000

/* __name__, job, instance, the collector's labels and `le`. */
#define SCRAPE_LABELS_MAX (TG_MLABELS_MAX + 4)

struct tg_scrape {
    struct tg_control *ctl;
    struct tg_tsdb *db;
    int64_t interval_us;
    int64_t wall_minus_mono_us;
    char path[512];
    char instance[128];
    /* figures of the tasks, for the collector */
    int64_t last_scrape_us;
    int64_t last_t_ms;
    uint64_t saves_total;
    uint64_t save_errors_total;
};

int tg_scrape_resolve_path(const char *config_file, const char *p, char *buf, size_t cap)
{
    const char *slash = config_file ? strrchr(config_file, '/') : NULL;
    int n;
    if (!p[0] || p[0] == '/' || strcmp(p, ":memory:") == 0 || !slash)
        n = snprintf(buf, cap, "%s", p);
    else
        n = snprintf(buf, cap, "%.*s/%s", (int)(slash - config_file), config_file, p);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int64_t tg_scrape_tick_ms(int64_t period_us, int64_t mono_us, int64_t wall_minus_mono_us)
{
    int64_t tick_us = mono_us / period_us * period_us;
    int64_t wall_us = tick_us + wall_minus_mono_us;
    /* Floor division: a wall time before 1970 is not a case, but rounding must not
     * depend on the sign. */
    return wall_us >= 0 ? wall_us / 1000 : -((-wall_us + 999) / 1000);
}

static bool has_file(const struct tg_scrape *s)
{
    return s->path[0] && strcmp(s->path, ":memory:") != 0;
}

/* ------------------------------------------------------------------ the scrape */

struct scrape_run {
    struct tg_scrape *s;
    int64_t t;
};

static void sort_labels(struct tg_label *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct tg_label x = v[i];
        uint32_t j = i;
        for (; j > 0 && strcmp(v[j - 1].name, x.name) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* The target's labels win over the collector's, whose clashing ones are kept as
 * exported_<name>, as Prometheus does without honor_labels. */
void tg_scrape_append(struct tg_tsdb *db, const char *job, const char *instance, const char *name,
                      const struct tg_mlabels *l, int64_t t, double v)
{
    struct tg_label lv[SCRAPE_LABELS_MAX];
    char renamed[2][32];
    uint32_t n = 0, nr = 0;
    lv[n++] = (struct tg_label){"__name__", name};
    lv[n++] = (struct tg_label){"instance", instance};
    lv[n++] = (struct tg_label){"job", job};
    for (size_t i = 0; l && i < l->n && n < SCRAPE_LABELS_MAX; i++) {
        const char *ln = l->names[i];
        if ((strcmp(ln, "job") == 0 || strcmp(ln, "instance") == 0) && nr < 2) {
            snprintf(renamed[nr], sizeof renamed[nr], "exported_%s", ln);
            ln = renamed[nr++];
        }
        lv[n++] = (struct tg_label){ln, l->values[i]};
    }
    sort_labels(lv, n);
    /* Refusals (a duplicate series, a clock set back) are counted by the store. */
    (void)tg_tsdb_append(db, &(struct tg_labels){lv, n}, t, v);
}

static void on_sample(void *ctx, const struct tg_mfamily *fam, const char *name,
                      const struct tg_mlabels *l, double v)
{
    struct scrape_run *r = ctx;
    (void)fam;
    tg_scrape_append(r->s->db, TG_SCRAPE_JOB, r->s->instance, name, l, r->t, v);
}

static void scrape_task(void *ctx, int64_t now_us)
{
    struct tg_scrape *s = ctx;
    int64_t wall_minus_mono = tg_clock_wall_us() - now_us;
    if (llabs(wall_minus_mono - s->wall_minus_mono_us) > REANCHOR_US)
        s->wall_minus_mono_us = wall_minus_mono;
    struct scrape_run r = {s, tg_scrape_tick_ms(s->interval_us, now_us, s->wall_minus_mono_us)};
    struct tg_mflatten fl;
    struct tg_mvisitor v = tg_mflatten_visitor(&fl, on_sample, &r);
    struct tg_mscan scan;
    tg_mscan_init(&scan);
    /* The flattening visitor never pauses, so one run goes through the whole list. */
    (void)tg_mscan_run(&scan, tg_control_collectors(s->ctl), &v);
    tg_scrape_append(s->db, TG_SCRAPE_JOB, s->instance, "up", NULL, r.t, 1);
    if (tg_tsdb_end_scrape(s->db, TG_SCRAPE_JOB, r.t) < 0 ||
        tg_tsdb_append_batch(s->db, r.t, NULL, 0, NULL) != 0)
        tg_log(TG_LOG_WARN, "tsdb", "scrape-incomplete error=\"out of memory\"");
    s->last_scrape_us = tg_clock_mono_us() - now_us;
    s->last_t_ms = r.t;
}

/* ------------------------------------------------------------------ persistence */

int tg_scrape_save(struct tg_scrape *s)
{
    if (!has_file(s))
        return 0;
    struct tg_errbuf eb = {0};
    int rc = tg_tsdb_save(s->db, s->path, &eb);
    if (rc != 0) {
        s->save_errors_total++;
        tg_log(TG_LOG_ERROR, "tsdb", "save-failed path=%s error=\"%s\"", s->path, eb.msg);
        return rc;
    }
    s->saves_total++;
    return 0;
}

static void save_task(void *ctx, int64_t now_us)
{
    (void)now_us;
    (void)tg_scrape_save(ctx);
}

/* A file that cannot be read is no reason to refuse to start: the gateway's job is the
 * traffic, and the history is only lost, not wrong. A damaged one is set aside. */
static void load(struct tg_scrape *s)
{
    struct tg_errbuf eb = {0};
    int rc = tg_tsdb_load(s->db, s->path, &eb);
    if (rc == 0 || rc == -ENOENT)
        return;
    if (rc != TG_ESTORE) {
        tg_log(TG_LOG_ERROR, "tsdb", "load-failed path=%s error=\"%s\" action=ignored", s->path,
               eb.msg);
        return;
    }
    char aside[sizeof s->path + 16];
    snprintf(aside, sizeof aside, "%s.damaged", s->path);
    bool moved = rename(s->path, aside) == 0;
    tg_log(TG_LOG_ERROR, "tsdb", "load-failed path=%s error=\"%s\" action=%s%s", s->path, eb.msg,
           moved ? "moved-to=" : "ignored", moved ? aside : "");
}

/* ------------------------------------------------------------------ self-metrics */

static void one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                const char *unit, const char *help, double x)
{
    static const struct tg_mlabels none = {NULL, NULL, 0};
    v->family(v->ctx, &(struct tg_mfamily){name, help, unit, type});
    v->value(v->ctx, &none, x);
}

static int collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    const struct tg_scrape *s = data;
    (void)cur;
    struct tg_tsdb_stats st;
    tg_tsdb_stats(s->db, &st);
    const enum tg_metric_type C = TG_METRIC_COUNTER, G = TG_METRIC_GAUGE;
    one(v, "tailguard_tsdb_series", G, NULL, "Series in the time-series store.",
        (double)st.series);
    one(v, "tailguard_tsdb_samples", G, NULL, "Samples held in the time-series store.",
        (double)st.samples);
    one(v, "tailguard_tsdb_samples_appended_total", C, NULL,
        "Samples appended to the time-series store (stale markers too).",
        (double)st.samples_appended_total);
    one(v, "tailguard_tsdb_out_of_order_total", C, NULL,
        "Samples refused for being older than their series' newest.",
        (double)st.out_of_order_total);
    one(v, "tailguard_tsdb_duplicate_total", C, NULL,
        "Samples refused because their series already had one at that time.",
        (double)st.duplicate_total);
    one(v, "tailguard_tsdb_invalid_total", C, NULL, "Samples refused for their label set.",
        (double)st.invalid_total);
    one(v, "tailguard_tsdb_chunk_bytes", G, "bytes", "Encoded samples held, in bytes.",
        (double)st.chunk_bytes);
    one(v, "tailguard_tsdb_bytes", G, "bytes",
        "Memory the store's cap counts: encoded samples and the index.", (double)st.bytes);
    one(v, "tailguard_tsdb_head_chunks", G, NULL, "Chunks being appended, one per live series.",
        (double)st.head_chunks);
    one(v, "tailguard_tsdb_retention_dropped_chunks_total", C, NULL,
        "Chunks dropped for being older than the retention.", (double)st.retention_chunks_total);
    one(v, "tailguard_tsdb_cap_dropped_chunks_total", C, NULL,
        "Chunks dropped to keep the store under tsdb.max_bytes.", (double)st.cap_chunks_total);
    one(v, "tailguard_tsdb_scrape_duration_seconds", G, "seconds",
        "How long the last scrape into the store took.", (double)s->last_scrape_us / 1e6);
    one(v, "tailguard_tsdb_saves_total", C, NULL, "Saves of the store to its file.",
        (double)s->saves_total);
    one(v, "tailguard_tsdb_save_errors_total", C, NULL, "Saves of the store that failed.",
        (double)s->save_errors_total);
    return TG_DONE;
}

/* ------------------------------------------------------------------ lifecycle */

int tg_scrape_new(struct tg_control *ctl, const struct tg_scrape_opts *o, struct tg_scrape **out,
                  struct tg_errbuf *eb)
{
    *out = NULL;
    if (o->interval_us <= 0 || o->save_interval_us <= 0)
        return tg_errbuf_set(eb, -EINVAL, "tsdb: intervals must be above 0");
    struct tg_scrape *s = calloc(1, sizeof *s);
    const struct tg_tsdb_opts dbo = {.retention_ms = o->retention_us / 1000,
                                     .max_bytes = (size_t)o->max_bytes};
    if (!s || !(s->db = tg_tsdb_new(&dbo))) {
        free(s);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    s->ctl = ctl;
    s->interval_us = o->interval_us;
    s->wall_minus_mono_us = tg_clock_wall_us() - tg_clock_mono_us();
    snprintf(s->path, sizeof s->path, "%s", o->path ? o->path : "");
    snprintf(s->instance, sizeof s->instance, "%s", o->instance);
    if (has_file(s))
        load(s);
    int rc;
    if ((rc = tg_mcollectors_add(tg_control_collectors(ctl), "tsdb", collect, s)) != 0 ||
        (rc = tg_control_every(ctl, "tsdb-scrape", o->interval_us, scrape_task, s)) != 0 ||
        (has_file(s) &&
         (rc = tg_control_every(ctl, "tsdb-save", o->save_interval_us, save_task, s)) != 0)) {
        tg_scrape_free(s);
        return tg_errbuf_set(eb, rc, "tsdb: %s", tg_strerror(rc));
    }
    *out = s;
    return 0;
}

void tg_scrape_free(struct tg_scrape *s)
{
    if (!s)
        return;
    tg_mcollectors_remove(tg_control_collectors(s->ctl), s);
    tg_tsdb_free(s->db);
    free(s);
}

void tg_scrape_target(const struct tg_scrape *s, struct tg_scrape_target *out)
{
    *out = (struct tg_scrape_target){s->instance, s->interval_us, s->last_t_ms, s->last_scrape_us};
}

struct tg_tsdb *tg_scrape_tsdb(struct tg_scrape *s)
{
    return s->db;
}
