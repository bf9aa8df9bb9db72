/* SPDX-License-Identifier: MIT */
/* The collectors' results into the store; see collectors.h. */
#include "control/collectors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/set.h"
#include "collect/snap.h"
#include "control/control.h"
#include "control/scrape.h"
#include "core/log.h"
#include "metrics/flatten.h"
#include "tsdb/tsdb.h"

struct tg_collectors {
    struct tg_control *ctl;
    struct tg_tsdb *db;
    struct tg_cset *set;
};

struct ingest {
    struct tg_tsdb *db;
    const struct tg_ctarget_info *t;
    int64_t ms;
};

static void on_sample(void *ctx, const struct tg_mfamily *fam, const char *name,
                      const struct tg_mlabels *l, double v)
{
    struct ingest *in = ctx;
    (void)fam;
    tg_scrape_append(in->db, in->t->job, in->t->instance, name, l, in->ms, v);
}

static void synthetic(struct ingest *in, const char *name, double v)
{
    tg_scrape_append(in->db, in->t->job, in->t->instance, name, NULL, in->ms, v);
}

static void on_result(void *ctx, const struct tg_ctarget_info *t, const struct tg_csnap *snap,
                      int64_t due_wall_ms)
{
    struct tg_collectors *c = ctx;
    if (!c->db)
        return;
    struct ingest in = {c->db, t, due_wall_ms};
    struct tg_mflatten fl;
    struct tg_mvisitor v = tg_mflatten_visitor(&fl, on_sample, &in);
    struct tg_mcursor cur = {0};
    (void)tg_csnap_collect((void *)snap, &v, &cur); /* never pauses: flatten is never full */
    synthetic(&in, "up", t->up);
    synthetic(&in, "scrape_duration_seconds", (double)t->last_duration_us / 1e6);
    synthetic(&in, "scrape_samples_scraped", (double)tg_csnap_nsamples(snap));
    if (tg_tsdb_end_scrape_target(c->db, t->job, t->instance, due_wall_ms) < 0 ||
        tg_tsdb_append_batch(c->db, due_wall_ms, NULL, 0, NULL) != 0)
        tg_log(TG_LOG_WARN, "tsdb", "scrape-incomplete job=%s error=\"out of memory\"", t->job);
}

int tg_collectors_new(struct tg_control *ctl, struct tg_tsdb *db, const struct tg_config *cfg,
                      struct tg_collectors **out, struct tg_errbuf *eb)
{
    *out = NULL;
    struct tg_collectors *c = calloc(1, sizeof *c);
    if (!c)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    c->ctl = ctl;
    c->db = db;
    int rc = tg_cset_new(tg_control_loop(ctl), cfg, NULL, on_result, c, &c->set, eb);
    if (rc == 0 && (rc = tg_mcollectors_add(tg_control_collectors(ctl), "collectors",
                                            tg_cset_collect_self, c->set)) != 0)
        tg_errbuf_set(eb, rc, "collectors: %s", tg_strerror(rc));
    if (rc != 0) {
        tg_cset_free(c->set);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int tg_collectors_apply(struct tg_collectors *c, const struct tg_config *cfg, struct tg_errbuf *eb)
{
    return tg_cset_apply(c->set, cfg, eb);
}

struct tg_cset *tg_collectors_set(struct tg_collectors *c)
{
    return c ? c->set : NULL;
}

void tg_collectors_free(struct tg_collectors *c)
{
    if (!c)
        return;
    tg_mcollectors_remove(tg_control_collectors(c->ctl), c->set);
    tg_cset_free(c->set);
    free(c);
}
