/* SPDX-License-Identifier: MIT */
/* The Prometheus API's descriptive endpoints: metadata (from the series enumeration's
 * HELP and TYPE, as a Prometheus scraping /metrics would record them), targets (the
 * self-scrape as the one target), and status/buildinfo, runtimeinfo, flags and tsdb, in
 * the shapes Grafana and promtool read. Fields that only make sense for a Go server
 * (goroutines, GOGC) are given neutral values rather than left out, because clients
 * decode them as fixed structs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/promapi_int.h"
#include "collect/set.h"
#include "control/scrape.h"
#include "core/clock.h"
#include "metrics/collect.h"
#include "promql/parse.h"
#include "promql/value.h"
#include "tsdb/tsdb.h"

/* ------------------------------------------------------------------ metadata */

struct fam {
    char *name, *help;
    const char *type;
};

struct fams {
    struct fam *v;
    size_t n, cap;
    bool oom;
    const char *only; /* the metric parameter, or NULL */
};

static const char *type_name(enum tg_metric_type t)
{
    return t == TG_METRIC_COUNTER ? "counter" : t == TG_METRIC_GAUGE ? "gauge" : "histogram";
}

static void on_family(void *ctx, const struct tg_mfamily *f)
{
    struct fams *fs = ctx;
    if (fs->oom || (fs->only && strcmp(fs->only, f->name) != 0))
        return;
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->v[i].name, f->name) == 0)
            return; /* announced again by another collector: the first one counts */
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 64;
        struct fam *nv = realloc(fs->v, cap * sizeof *nv);
        if (!nv) {
            fs->oom = true;
            return;
        }
        fs->v = nv;
        fs->cap = cap;
    }
    struct fam *m = &fs->v[fs->n];
    m->name = strdup(f->name);
    m->help = strdup(f->help ? f->help : "");
    m->type = type_name(f->type);
    if (!m->name || !m->help) {
        free(m->name);
        free(m->help);
        fs->oom = true;
        return;
    }
    fs->n++;
}

static void on_value(void *ctx, const struct tg_mlabels *l, double v)
{
    (void)ctx, (void)l, (void)v;
}

static void on_hist(void *ctx, const struct tg_mlabels *l, const struct tg_mhist *h)
{
    (void)ctx, (void)l, (void)h;
}

static int cmp_fam(const void *a, const void *b)
{
    return strcmp(((const struct fam *)a)->name, ((const struct fam *)b)->name);
}

/* strconv.Atoi: an optional sign and decimal digits. */
static bool go_atoi(const char *s, size_t n, long *out)
{
    size_t i = n && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (i == n || n > 18)
        return false;
    long v = 0;
    for (size_t k = i; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return false;
        v = v * 10 + (s[k] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return true;
}

void tg_admin__papi_metadata(struct tg_admin__preq *r)
{
    long limit = -1;
    size_t n;
    const char *ls = tg_admin__papi_fv(r, "limit", &n);
    if (n && !go_atoi(ls, n, &limit)) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "limit must be a number");
        return;
    }
    size_t mn;
    const char *metric = tg_admin__papi_fv(r, "metric", &mn);
    struct fams fs = {.only = mn ? metric : NULL};
    struct tg_mvisitor v = {on_family, on_value, on_hist, NULL, &fs};
    struct tg_mscan scan;
    tg_mscan_init(&scan);
    if (r->c->cs)
        (void)tg_mscan_run(&scan, r->c->cs, &v); /* never pauses: no `full` */
    if (fs.n > 1)
        qsort(fs.v, fs.n, sizeof *fs.v, cmp_fam);
    tg_admin_jw_lit(&r->w, "{");
    for (size_t i = 0; i < fs.n && (limit < 0 || (long)i < limit); i++) {
        tg_admin_jw_lit(&r->w, i ? "," : "");
        tg_admin_jw_cstr(&r->w, fs.v[i].name);
        tg_admin_jw_lit(&r->w, ":[{\"type\":");
        tg_admin_jw_cstr(&r->w, fs.v[i].type);
        tg_admin_jw_lit(&r->w, ",\"help\":");
        tg_admin_jw_cstr(&r->w, fs.v[i].help);
        /* The text format carries no unit, so a Prometheus scraping /metrics has none. */
        tg_admin_jw_lit(&r->w, ",\"unit\":\"\"}]");
    }
    tg_admin_jw_lit(&r->w, "}");
    r->w.oom |= fs.oom;
    tg_admin__papi_ok(r);
    for (size_t i = 0; i < fs.n; i++) {
        free(fs.v[i].name);
        free(fs.v[i].help);
    }
    free(fs.v);
}

/* ------------------------------------------------------------------ targets */

/* Go's RFC3339Nano of a UTC time: fraction trimmed of trailing zeros. */
static void rfc3339(struct tg_admin_jw *w, int64_t sec, int64_t nsec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    char b[64];
    gmtime_r(&t, &tm);
    size_t n = strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    if (nsec) {
        int k = snprintf(b + n, sizeof b - n, ".%09" PRId64, nsec);
        n += (size_t)k;
        while (b[n - 1] == '0')
            n--;
    }
    b[n++] = 'Z';
    tg_admin_jw_lit(w, "\"");
    tg_admin_jw_raw(w, b, n);
    tg_admin_jw_lit(w, "\"");
}

/* A duration as Prometheus prints scrape intervals ("5s", "1m30s", "200ms"). */
static void interval(struct tg_admin_jw *w, int64_t us)
{
    char b[32];
    tg_promql_format_duration(us / 1000, b, sizeof b);
    tg_admin_jw_cstr(w, b);
}

/* One active target, as Prometheus's /api/v1/targets describes it. */
struct target_view {
    const char *job, *instance, *path;
    int64_t interval_us, timeout_us, last_ms, last_duration_us;
    bool up;
    const char *error;
};

static void target(struct tg_admin_jw *w, const struct tg_admin_promapi_ctx *c,
                   const struct target_view *t, bool first)
{
    struct tg_scrape_target self;
    tg_scrape_target(c->scrape, &self);
    tg_admin_jw_lit(w, first ? "{" : ",{");
    tg_admin_jw_lit(w, "\"discoveredLabels\":{\"__address__\":");
    tg_admin_jw_cstr(w, self.instance);
    tg_admin_jw_lit(w, ",\"__metrics_path__\":");
    tg_admin_jw_cstr(w, t->path);
    tg_admin_jw_lit(w, ",\"__scheme__\":\"http\",\"__scrape_interval__\":");
    interval(w, t->interval_us);
    tg_admin_jw_lit(w, ",\"__scrape_timeout__\":");
    interval(w, t->timeout_us);
    tg_admin_jw_lit(w, ",\"job\":");
    tg_admin_jw_cstr(w, t->job);
    tg_admin_jw_lit(w, "},\"labels\":{\"instance\":");
    tg_admin_jw_cstr(w, t->instance);
    tg_admin_jw_lit(w, ",\"job\":");
    tg_admin_jw_cstr(w, t->job);
    tg_admin_jw_lit(w, "},\"scrapePool\":");
    tg_admin_jw_cstr(w, t->job);
    tg_admin_jw_lit(w, ",\"scrapeUrl\":");
    char url[1200];
    snprintf(url, sizeof url, "http://%s%s", self.instance, t->path);
    tg_admin_jw_cstr(w, url);
    tg_admin_jw_lit(w, ",\"globalUrl\":");
    tg_admin_jw_cstr(w, url);
    tg_admin_jw_lit(w, ",\"lastError\":");
    tg_admin_jw_cstr(w, t->error);
    tg_admin_jw_lit(w, ",\"lastScrape\":");
    if (t->last_ms)
        rfc3339(w, t->last_ms / 1000, t->last_ms % 1000 * 1000000);
    else
        tg_admin_jw_lit(w, "\"0001-01-01T00:00:00Z\"");
    tg_admin_jw_lit(w, ",\"lastScrapeDuration\":");
    tg_admin_jw_num(w, (double)t->last_duration_us / 1e6);
    tg_admin_jw_lit(w, !t->last_ms ? ",\"health\":\"unknown\""
                       : t->up     ? ",\"health\":\"up\""
                                   : ",\"health\":\"down\"");
    tg_admin_jw_lit(w, ",\"scrapeInterval\":");
    interval(w, t->interval_us);
    tg_admin_jw_lit(w, ",\"scrapeTimeout\":");
    interval(w, t->timeout_us);
    tg_admin_jw_lit(w, "}");
}

struct targets_walk {
    struct tg_admin__preq *r;
    const char *pool;
    size_t pool_len;
    bool first;
};

/* A collector target: its page is /metrics/<kind>?instance=<instance> on the admin
 * listener, which is what a Prometheus scraping it there would be told. */
static void collector_target(const struct tg_ctarget_info *i, void *ctx)
{
    struct targets_walk *tw = ctx;
    if (tw->pool_len && (strlen(i->job) != tw->pool_len || memcmp(i->job, tw->pool, tw->pool_len)))
        return;
    char path[700];
    snprintf(path, sizeof path, "/metrics/%s", i->job);
    const struct target_view v = {
        i->job,          i->instance,         path,  i->interval_us, i->timeout_us,
        i->last_wall_ms, i->last_duration_us, i->up, i->error};
    target(&tw->r->w, tw->r->c, &v, tw->first);
    tw->first = false;
}

void tg_admin__papi_targets(struct tg_admin__preq *r)
{
    /* Go reads these from the URL only (r.URL.Query()), not from a form body. */
    size_t pn, sn;
    const char *pool = tg_admin__papi_fv(r, "scrapePool", &pn);
    const char *state = tg_admin__papi_fv(r, "state", &sn);
    bool active = !sn || strcasecmp(state, "any") == 0 || strcasecmp(state, "active") == 0;
    bool show = active && r->c->scrape && (!pn || strcmp(pool, TG_SCRAPE_JOB) == 0);
    tg_admin_jw_lit(&r->w, "{\"activeTargets\":[");
    struct targets_walk tw = {r, pool, pn, true};
    if (show) {
        struct tg_scrape_target t;
        tg_scrape_target(r->c->scrape, &t);
        /* The self-scrape reads memory, not a socket: it has no timeout of its own, and
         * Prometheus's default timeout is the interval when that is shorter than 10 s. */
        const struct target_view v = {TG_SCRAPE_JOB,
                                      t.instance,
                                      "/metrics",
                                      t.interval_us,
                                      t.interval_us < 10000000 ? t.interval_us : 10000000,
                                      t.last_ms,
                                      t.last_duration_us,
                                      true,
                                      ""};
        target(&r->w, r->c, &v, true);
        tw.first = false;
    }
    if (active && r->c->scrape)
        tg_cset_foreach(r->c->collectors, collector_target, &tw);
    tg_admin_jw_lit(&r->w, "],\"droppedTargets\":[]}");
    tg_admin__papi_ok(r);
}

/* ------------------------------------------------------------------ status */

static void buildinfo(struct tg_admin_jw *w)
{
    tg_admin_jw_lit(w, "{\"version\":\"" TG_VERSION "\",\"revision\":\"\",\"branch\":\"\","
                       "\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}");
}

/* The store's retention as Prometheus writes it ("2h"), so a client (the dashboard's
 * "all kept" range) can ask for exactly what is there; "" without a store. */
static void retention(struct tg_admin__preq *r)
{
    char b[32] = "";
    if (r->c->scrape)
        tg_promql_format_duration(tg_tsdb_retention_ms(tg_scrape_tsdb(r->c->scrape)), b,
                                  sizeof b);
    tg_admin_jw_cstr(&r->w, b);
}

static void runtimeinfo(struct tg_admin__preq *r)
{
    struct tg_admin_jw *w = &r->w;
    int64_t us = r->c->start_wall_us;
    char cwd[1024];
    tg_admin_jw_lit(w, "{\"startTime\":");
    rfc3339(w, us / 1000000, us % 1000000 * 1000);
    tg_admin_jw_lit(w, ",\"CWD\":");
    tg_admin_jw_cstr(w, getcwd(cwd, sizeof cwd) ? cwd : "");
    tg_admin_jw_lit(w, ",\"reloadConfigSuccess\":true,\"lastConfigTime\":");
    rfc3339(w, us / 1000000, 0);
    tg_admin_jw_lit(w, ",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":");
    tg_admin_jw_int(w, sysconf(_SC_NPROCESSORS_ONLN));
    tg_admin_jw_lit(w, ",\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":");
    retention(r);
    tg_admin_jw_lit(w, "}");
}

static void flags(struct tg_admin__preq *r)
{
    struct tg_admin_jw *w = &r->w;
    char b[32];
    int64_t to = r->c->timeout_us > 0 ? r->c->timeout_us : TG_ADMIN_PROMAPI_TIMEOUT_US;
    tg_promql_format_duration(to / 1000, b, sizeof b);
    tg_admin_jw_lit(w, "{\"query.lookback-delta\":\"5m\",\"query.max-samples\":\"50000000\","
                       "\"query.timeout\":");
    tg_admin_jw_cstr(w, b);
    tg_admin_jw_lit(w, ",\"storage.tsdb.retention.time\":");
    retention(r);
    tg_admin_jw_lit(w, "}");
}

/* One top-10 list of status/tsdb. */
struct stat {
    const char *name; /* borrowed from a struct strs or a label set */
    uint64_t value;
};

static int cmp_stat(const void *a, const void *b)
{
    const struct stat *x = a, *y = b;
    return x->value != y->value ? (x->value < y->value ? 1 : -1) : strcmp(x->name, y->name);
}

static void write_top(struct tg_admin_jw *w, const char *key, struct stat *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_stat);
    tg_admin_jw_lit(w, ",\"");
    tg_admin_jw_lit(w, key);
    tg_admin_jw_lit(w, "\":[");
    for (size_t i = 0; i < n && i < 10; i++) {
        tg_admin_jw_lit(w, i ? ",{\"name\":" : "{\"name\":");
        tg_admin_jw_cstr(w, v[i].name);
        tg_admin_jw_lit(w, ",\"value\":");
        tg_admin_jw_int(w, (int64_t)v[i].value);
        tg_admin_jw_lit(w, "}");
    }
    tg_admin_jw_lit(w, "]");
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Label names and values over the whole store; series counts by metric name and by
 * name=value pair from the series that have a sample at the newest scrape (a stale or
 * dropped series is no longer in the "head" that Prometheus counts). Cost: one select of
 * the newest samples and one label_values call per label name. */
static int tsdb_lists(struct tg_admin_jw *w, const struct tg_queryable *q, int64_t maxt,
                      uint64_t *pairs)
{
    struct tg_errbuf eb = {0};
    char **names = NULL;
    size_t nn = 0;
    struct tg_series_set set = {0};
    struct tg_matcher any = {0};
    int rc = q->label_names(q->ctx, NULL, 0, INT64_MIN, INT64_MAX, &names, &nn, &eb);
    struct stat *vals = rc == 0 ? calloc(nn + 1, sizeof *vals) : NULL;
    struct stat *mem = rc == 0 ? calloc(nn + 1, sizeof *mem) : NULL;
    if (!vals || !mem)
        rc = -1;
    *pairs = 0;
    for (size_t i = 0; rc == 0 && i < nn; i++) {
        char **v = NULL;
        size_t n = 0;
        if ((rc = q->label_values(q->ctx, names[i], NULL, 0, INT64_MIN, INT64_MAX, &v, &n, &eb)) !=
            0)
            break;
        vals[i] = (struct stat){names[i], n};
        mem[i].name = names[i];
        for (size_t k = 0; k < n; k++)
            mem[i].value += strlen(v[k]);
        *pairs += n;
        free_strs(v, n);
    }
    if (rc == 0 && (rc = tg_matcher_init(&any, TG_MATCH_REGEX, "__name__", ".+", &eb)) == 0)
        rc = q->select(q->ctx, &any, 1, maxt, maxt, &set, &eb);
    /* Series per metric name and per pair, counted over the sorted set. */
    struct stat *by_name = rc == 0 ? calloc(set.n + 1, sizeof *by_name) : NULL;
    size_t nb = 0;
    for (size_t i = 0; by_name && i < set.n; i++) {
        const char *mn = tg_labels_get(&set.series[i].labels, "__name__");
        if (nb && strcmp(by_name[nb - 1].name, mn) == 0)
            by_name[nb - 1].value++;
        else
            by_name[nb++] = (struct stat){mn, 1};
    }
    if (rc == 0 && by_name) {
        write_top(w, "seriesCountByMetricName", by_name, nb);
        write_top(w, "labelValueCountByLabelName", vals, nn);
        write_top(w, "memoryInBytesByLabelName", mem, nn);
        /* Pairs: a hash map from "name=value" to its index in pv. */
        struct stat *pv = calloc(*pairs + 1, sizeof *pv);
        struct tg_promql_arena a = {0};
        struct tg_promql_map idx = {0};
        size_t np = 0;
        for (size_t i = 0; pv && i < set.n; i++) {
            const struct tg_labels *ls = &set.series[i].labels;
            for (uint32_t k = 0; k < ls->n; k++) {
                char key[512];
                int kn = snprintf(key, sizeof key, "%s=%s", ls->v[k].name, ls->v[k].value);
                size_t klen = kn < 0 ? 0 : (size_t)kn < sizeof key ? (size_t)kn : sizeof key - 1;
                long j = tg_promql_map_get(&a, &idx, key, klen, (long)np);
                if (j < 0 && np < *pairs)
                    pv[np++] = (struct stat){tg_promql_strndup(&a, key, klen), 1};
                else if (j >= 0)
                    pv[j].value++;
            }
        }
        write_top(w, "seriesCountByLabelValuePair", pv, np);
        free(pv);
        tg_promql_arena_deinit(&a);
    } else if (rc == 0) {
        rc = -1;
    }
    free(by_name);
    tg_series_set_free(&set);
    tg_matcher_free(&any);
    free(vals);
    free(mem);
    free_strs(names, nn);
    return rc;
}

static void tsdb_status(struct tg_admin__preq *r)
{
    struct tg_queryable q;
    if (!tg_admin__papi_store(r, &q))
        return;
    struct tg_tsdb_stats st;
    tg_tsdb_stats(tg_scrape_tsdb(r->c->scrape), &st);
    struct tg_admin_jw lists = {0};
    uint64_t pairs = 0;
    if (tsdb_lists(&lists, &q, st.maxt, &pairs) != 0) {
        tg_admin_jw_free(&lists);
        tg_admin__papi_error(r, TG_ADMIN__INTERNAL, "cannot read the store's index");
        return;
    }
    struct tg_admin_jw *w = &r->w;
    tg_admin_jw_lit(w, "{\"headStats\":{\"numSeries\":");
    tg_admin_jw_int(w, (int64_t)st.series);
    tg_admin_jw_lit(w, ",\"numLabelPairs\":");
    tg_admin_jw_int(w, (int64_t)pairs);
    tg_admin_jw_lit(w, ",\"chunkCount\":");
    tg_admin_jw_int(w, (int64_t)(st.chunks + st.head_chunks));
    tg_admin_jw_lit(w, ",\"minTime\":");
    tg_admin_jw_int(w, st.mint);
    tg_admin_jw_lit(w, ",\"maxTime\":");
    tg_admin_jw_int(w, st.maxt);
    tg_admin_jw_lit(w, "}");
    tg_admin_jw_raw(w, lists.p ? lists.p : "", lists.n);
    w->oom |= lists.oom;
    tg_admin_jw_lit(w, "}");
    tg_admin_jw_free(&lists);
    tg_admin__papi_ok(r);
}

void tg_admin__papi_status(struct tg_admin__preq *r, const char *what, size_t len)
{
    if (len == 9 && memcmp(what, "buildinfo", 9) == 0)
        buildinfo(&r->w);
    else if (len == 11 && memcmp(what, "runtimeinfo", 11) == 0)
        runtimeinfo(r);
    else if (len == 5 && memcmp(what, "flags", 5) == 0)
        flags(r);
    else {
        tsdb_status(r);
        return;
    }
    tg_admin__papi_ok(r);
}
