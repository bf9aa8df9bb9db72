/* SPDX-License-Identifier: MIT */
/* The rounds of `tailguard top` (see top_fetch.h): every part of a round is its own call
 * on its own connection, started together, so a round takes as long as its slowest part
 * and never longer than the call deadline. */
#include "cli/top_fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/top_model.h"

struct slot {
    struct tg_top_fetch *f;
    enum tg_top_part part;
    struct tg_hclient_call *call; /* NULL when not in flight */
};

struct tg_top_fetch {
    struct tg_loop *loop;
    struct tg_hclient *cl;
    const struct tg_hclient_target *admin;
    tg_top_round_fn *done;
    void *ctx;
    struct slot slot[TG_TOP_PARTS];
    struct tg_top_round round;
    int in_flight;
    bool busy;
};

/* The p95 of every endpoint and method over 30 s windows: what the p95 column shows,
 * from the histogram the gateway exposes (docs/api.md, Metrics). */
#define SPARK_QUERY                                                                                \
    "histogram_quantile(0.95, sum by (endpoint, method, le) "                                      \
    "(rate(http_request_duration_seconds_bucket[30s])))"

static const char *const paths[TG_TOP_PARTS] = {
    "/api/v1/monitoring/endpoints/stats?window=60s",
    "/api/v1/monitoring/requests/active?limit=1",
    "/api/v1/alerts",
    "/api/v1/incidents?status=open&limit=20",
    "/api/v1/incidents?status=mitigated&limit=20",
    "/api/v1/query_range",
    /* The API's largest limit: it has no endpoint filter, the panel filters. */
    "/api/v1/monitoring/traces?limit=1000",
};

static const char *const names[TG_TOP_PARTS] = {
    "endpoints/stats", "requests/active",   "alerts", "incidents", "incidents",
    "query_range",     "monitoring/traces",
};

const char *tg_top_part_name(enum tg_top_part p)
{
    return (unsigned)p < TG_TOP_PARTS ? names[p] : "?";
}

int tg_top_fetch_new(struct tg_loop *loop, const struct tg_hclient_target *admin,
                     tg_top_round_fn *done, void *ctx, struct tg_top_fetch **out)
{
    struct tg_top_fetch *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->loop = loop;
    f->admin = admin;
    f->done = done;
    f->ctx = ctx;
    for (int p = 0; p < TG_TOP_PARTS; p++)
        f->slot[p] = (struct slot){.f = f, .part = (enum tg_top_part)p};
    int rc = tg_hclient_new(loop, &f->cl);
    if (rc != 0) {
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static void round_free(struct tg_top_round *r)
{
    for (int p = 0; p < TG_TOP_PARTS; p++) {
        free(r->part[p].body);
        r->part[p].body = NULL;
    }
}

void tg_top_fetch_free(struct tg_top_fetch *f)
{
    if (!f)
        return;
    tg_hclient_free(f->cl); /* cancels the calls in flight: no callbacks */
    round_free(&f->round);
    free(f);
}

bool tg_top_fetch_busy(const struct tg_top_fetch *f)
{
    return f->busy;
}

/* The last call ended: hands the round over and gets ready for the next. */
static void round_end(struct tg_top_fetch *f)
{
    struct tg_top_round r = f->round;
    memset(&f->round, 0, sizeof f->round);
    f->busy = false;
    f->done(f->ctx, &r);
    round_free(&r);
}

static void on_answer(void *ctx, const struct tg_hclient_resp *resp)
{
    struct slot *s = ctx;
    struct tg_top_fetch *f = s->f;
    struct tg_top_answer *a = &f->round.part[s->part];
    s->call = NULL;
    a->error = resp->error;
    snprintf(a->detail, sizeof a->detail, "%s", resp->detail);
    if (resp->error == TG_HCLIENT_OK) {
        a->status = resp->status;
        a->body = malloc(resp->body_len + 1);
        if (a->body) {
            memcpy(a->body, resp->body, resp->body_len);
            a->body[resp->body_len] = '\0';
            a->len = resp->body_len;
        } else {
            a->error = TG_HCLIENT_IO;
            snprintf(a->detail, sizeof a->detail, "out of memory");
        }
    }
    if (--f->in_flight == 0)
        round_end(f);
}

static int start_part(struct tg_top_fetch *f, enum tg_top_part p, int64_t wall_s)
{
    struct tg_hclient_target t;
    if (tg_cli_admin_path(f->admin, paths[p], &t) != 0)
        return TG_ELIMIT;
    struct tg_hclient_req rq = {
        .method = "GET", .timeout_us = TG_TOP_CALL_TIMEOUT_US, .max_body = TG_TOP_BODY_MAX};
    char *form = NULL;
    size_t flen = 0;
    if (p == TG_TOP_PART_SPARK) {
        char start[24], end[24], step[16];
        snprintf(start, sizeof start, "%lld",
                 (long long)(wall_s - (TG_TOP_SPARK_MAX - 1) * TG_TOP_SPARK_STEP_S));
        snprintf(end, sizeof end, "%lld", (long long)wall_s);
        snprintf(step, sizeof step, "%d", TG_TOP_SPARK_STEP_S);
        /* `timeout`: the query runs on the gateway's control thread; a dashboard that
         * refreshes often keeps it short (docs/api.md). */
        int rc = tg_cli_form_add(&form, &flen, "query", SPARK_QUERY);
        if (rc == 0)
            rc = tg_cli_form_add(&form, &flen, "start", start);
        if (rc == 0)
            rc = tg_cli_form_add(&form, &flen, "end", end);
        if (rc == 0)
            rc = tg_cli_form_add(&form, &flen, "step", step);
        if (rc == 0)
            rc = tg_cli_form_add(&form, &flen, "timeout", "2s");
        if (rc != 0) {
            free(form);
            return rc;
        }
        rq.method = "POST";
        rq.headers = "Content-Type: application/x-www-form-urlencoded\r\n";
        rq.body = form;
        rq.body_len = flen;
    }
    int rc = tg_hclient_call(f->cl, &t, &rq, on_answer, &f->slot[p], &f->slot[p].call);
    free(form); /* the request is copied when the call starts */
    return rc;
}

int tg_top_fetch_start(struct tg_top_fetch *f, unsigned parts, int64_t wall_s)
{
    if (f->busy)
        return -EBUSY;
    memset(&f->round, 0, sizeof f->round);
    f->round.started_us = tg_loop_now_us(f->loop);
    int started = 0, last = 0;
    for (int p = 0; p < TG_TOP_PARTS; p++) {
        if (!(parts & (1u << p)))
            continue;
        struct tg_top_answer *a = &f->round.part[p];
        a->asked = true;
        int rc = start_part(f, (enum tg_top_part)p, wall_s);
        if (rc == 0) {
            started++;
            continue;
        }
        last = rc;
        a->error = TG_HCLIENT_CONNECT;
        snprintf(a->detail, sizeof a->detail, "%s", tg_strerror(rc));
    }
    if (!started)
        return last ? last : -EINVAL;
    f->in_flight = started;
    f->busy = true;
    return 0;
}
