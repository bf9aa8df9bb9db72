/* SPDX-License-Identifier: MIT */
/* Text and JSON output of `tailguard bench` (see report_int.h). */
#include "bench/report_int.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "bench/units_int.h"

static const double pcts[] = {50, 90, 95, 99, 99.9, 99.99};
static const char *const pct_labels[] = {"p50", "p90", "p95", "p99", "p99.9", "p99.99"};
static const char *const pct_keys[] = {"p50", "p90", "p95", "p99", "p999", "p9999"};
#define NPCTS (sizeof pcts / sizeof pcts[0])

static double seconds(int64_t us)
{
    return (double)us / 1e6;
}

static double rps_of(const struct tg_bench_stats *t, int64_t elapsed_us)
{
    return elapsed_us > 0 ? (double)t->requests / seconds(elapsed_us) : 0.0;
}

static void fmt_pct(char *dst, size_t cap, double part, double whole)
{
    snprintf(dst, cap, "%.2f%%", whole > 0 ? 100.0 * part / whole : 0.0);
}

/* ---- text ----------------------------------------------------------------------------- */

static void latency_row(FILE *f, const char *name, const struct tg_hist *h)
{
    int64_t v[NPCTS];
    tg_hist_values_at(h, pcts, NPCTS, v);
    char b[32];
    fprintf(f, "  %-12s", name);
    for (size_t i = 0; i < NPCTS; i++) {
        tg_bench__fmt_ms(b, sizeof b, v[i]);
        fprintf(f, " %9s", b);
    }
    tg_bench__fmt_ms(b, sizeof b, tg_hist_max(h));
    fprintf(f, " %9s", b);
    tg_bench__fmt_ms(b, sizeof b, (int64_t)llround(tg_hist_mean(h)));
    fprintf(f, " %9s\n", b);
}

static void describe_load(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_opts *o = r->o;
    char a[32], b[32];
    tg_bench__fmt_count(b, sizeof b, r->conns);
    if (o->model == TG_BENCH_OPEN) {
        tg_bench__fmt_rate(a, sizeof a, r->offered_rps);
        fprintf(f,
                "  open model: %s%s rps offered (latency from intended send times), up to %s "
                "connection%s",
                o->stages_set ? "stages, on average " : "", a, b, r->conns == 1 ? "" : "s");
    } else {
        fprintf(f, "  closed model: %s%s connection%s", o->stages_set ? "stages, up to " : "", b,
                r->conns == 1 ? "" : "s");
    }
    fprintf(f, ", %u thread%s, keep-alive %s", r->threads, r->threads == 1 ? "" : "s",
            o->keepalive ? "on" : "off");
    if (o->requests) {
        tg_bench__fmt_count(a, sizeof a, o->requests);
        fprintf(f, ", %s requests", a);
    }
    if (!o->requests || o->duration_us != o->max_duration_us) {
        tg_bench__fmt_duration(a, sizeof a, r->send_us);
        fprintf(f, ", %s", a);
    }
    fputc('\n', f);
}

static void errors_line(FILE *f, const struct tg_bench_stats *t)
{
    uint64_t e = tg_bench__stats_errors(t);
    char n[32], p[16];
    tg_bench__fmt_count(n, sizeof n, e);
    fmt_pct(p, sizeof p, (double)e, (double)t->requests);
    fprintf(f, "  errors       %s (%s)", n, p);
    const char *sep = ": ";
    for (int k = 0; k < TG_BENCH_E_COUNT; k++) {
        if (!t->errors[k])
            continue;
        tg_bench__fmt_count(n, sizeof n, t->errors[k]);
        fprintf(f, "%s%s %s", sep, tg_bench__err_name((enum tg_bench_err)k), n);
        sep = ", ";
    }
    fputc('\n', f);
}

static void summary(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_stats *t = r->total;
    char a[32], b[32], c[32];
    tg_bench__fmt_count(a, sizeof a, t->requests);
    tg_bench__fmt_rate(b, sizeof b, rps_of(t, r->elapsed_us));
    fprintf(f, "  requests     %s in %.2f s, %s rps", a, seconds(r->elapsed_us), b);
    if (r->o->model == TG_BENCH_OPEN && r->offered_rps > 0) {
        tg_bench__fmt_rate(c, sizeof c, r->offered_rps);
        fprintf(f, " (offered %s rps)", c);
    }
    fputc('\n', f);
    fprintf(f, "\n  latency (ms)");
    for (size_t i = 0; i < NPCTS; i++)
        fprintf(f, " %9s", pct_labels[i]);
    fprintf(f, " %9s %9s\n", "max", "mean");
    latency_row(f, r->o->model == TG_BENCH_OPEN ? "corrected" : "", &t->lat);
    if (r->o->model == TG_BENCH_OPEN)
        latency_row(f, "uncorrected", &t->lat_unc);
    fputc('\n', f);
    fprintf(f, "  status      ");
    bool any = false;
    for (int s = 0; s < TG_BENCH_STATUS_MAX; s++) {
        if (!t->status[s])
            continue;
        tg_bench__fmt_count(a, sizeof a, t->status[s]);
        if (s)
            fprintf(f, " %d: %s", s, a);
        else
            fprintf(f, " other: %s", a);
        any = true;
    }
    fprintf(f, "%s\n", any ? "" : " (no responses)");
    errors_line(f, t);
    tg_bench__fmt_bytes(a, sizeof a, t->bytes_out);
    tg_bench__fmt_bytes(b, sizeof b, t->bytes_in);
    fprintf(f, "  bytes        sent %s, received %s\n", a, b);
    tg_bench__fmt_count(a, sizeof a, t->connects);
    if (r->o->model == TG_BENCH_OPEN) {
        tg_bench__fmt_count(b, sizeof b, t->late);
        fmt_pct(c, sizeof c, (double)t->late, (double)t->requests);
        fprintf(f,
                "  generator    %s late sends (%s started over 1 ms after their intended "
                "time), %s connections opened\n",
                b, c, a);
        if (t->requests && t->late * 100 > t->requests)
            fprintf(f, "  note: over 1%% of sends were late: all connections were busy or the "
                       "generator was short of CPU; corrected latency includes the wait (raise "
                       "-c or -t to tell them apart)\n");
    } else {
        fprintf(f, "  generator    %s connections opened\n", a);
    }
}

static void thresholds_text(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_opts *o = r->o;
    if (!o->nthresholds)
        return;
    fprintf(f, "\n  thresholds\n");
    for (size_t i = 0; i < o->nthresholds; i++) {
        const struct tg_bench_cond *c = &o->thresholds[i];
        const struct tg_bench_verdict *v = &r->verdicts[i];
        char val[48];
        if (v->judged)
            tg_bench__fmt_cond_value(c, v->value, val, sizeof val);
        else
            snprintf(val, sizeof val, "no data");
        fprintf(f, "    %-4s  %-32s %s%s\n", v->ok ? "ok" : "FAIL", c->text, val,
                c->window_us && v->judged ? (v->ok ? " (worst window)" : " (failing window)") : "");
    }
}

static void capacity_text(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_search *s = r->search;
    const struct tg_bench_capacity *cap = r->cap;
    char a[32], b[32], c[32];
    fputc('\n', f);
    if (r->search_interrupted)
        fprintf(f, "  interrupted: the search stopped before its answer was final\n");
    if (!cap->found) {
        tg_bench__fmt_rate(a, sizeof a, s->n ? s->steps[s->n - 1].rate : 0);
        fprintf(f, "  no sustainable rate: the SLO failed even at %s rps\n", a);
    } else {
        const struct tg_bench_step *best = &s->steps[cap->best];
        tg_bench__fmt_rate(a, sizeof a, cap->max_rps);
        tg_bench__fmt_latency(b, sizeof b, best->p95_us);
        fprintf(f, "  max sustainable: %s rps at p95 %s\n", a, b);
    }
    if (cap->knee >= 0) {
        const struct tg_bench_step *k = &s->steps[cap->knee];
        tg_bench__fmt_rate(a, sizeof a, cap->knee_rps);
        tg_bench__fmt_latency(b, sizeof b, k->p95_us);
        if (cap->knee_seen)
            fprintf(f, "  knee: latency climbs above %s rps (p95 %s there)\n", a, b);
        else
            fprintf(f, "  knee: not reached; latency stayed flat up to %s rps (p95 %s)\n", a, b);
        tg_bench__fmt_latency(c, sizeof c, (int64_t)llround(k->mean_us));
        fprintf(f, "  Little's law at %s rps: %.1f requests in flight (%s rps x %s mean)\n", a,
                cap->little, a, c);
    }
    if (cap->found) {
        const struct tg_bench_step *low = &s->steps[0];
        for (uint32_t i = 1; i < s->n; i++)
            if (s->steps[i].rate < low->rate)
                low = &s->steps[i];
        tg_bench__fmt_rate(a, sizeof a, cap->rate_limit_rps);
        tg_bench__fmt_rate(b, sizeof b, cap->max_rps);
        tg_bench__fmt_latency(c, sizeof c, (int64_t)llround(low->mean_us));
        fprintf(f,
                "  suggested tailguard settings for this API: rate limit %s rps (90%% of the "
                "maximum), concurrency limit %u (%s rps x %s unloaded mean = %.1f requests "
                "it serves in parallel)\n",
                a, cap->concurrency_limit, b, c, cap->parallel);
    }
}

void tg_bench__report_step_header(FILE *f, const struct tg_bench_opts *o, const char *url)
{
    char d[32];
    tg_bench__fmt_duration(d, sizeof d, o->step_us);
    fprintf(f, "tailguard bench --find-capacity: %s\n  SLO", url);
    for (size_t i = 0; i < o->nslo; i++)
        fprintf(f, "%s%s", i ? ", " : " ", o->slo[i].text);
    fprintf(f, ", judged over each %s step\n\n", d);
    fprintf(f, "  %4s %10s %10s %9s %9s %9s %8s  %s\n", "step", "rate", "achieved", "p50 ms",
            "p95 ms", "p99 ms", "errors", "verdict");
    fflush(f);
}

void tg_bench__report_step(FILE *f, uint32_t idx, const struct tg_bench_step *st)
{
    char rate[32], ach[32], p50[32], p95[32], p99[32], err[16];
    tg_bench__fmt_rate(rate, sizeof rate, st->rate);
    tg_bench__fmt_rate(ach, sizeof ach, st->achieved_rps);
    tg_bench__fmt_ms(p50, sizeof p50, st->p50_us);
    tg_bench__fmt_ms(p95, sizeof p95, st->p95_us);
    tg_bench__fmt_ms(p99, sizeof p99, st->p99_us);
    snprintf(err, sizeof err, "%.2f%%", st->errors_pct);
    fprintf(f, "  %4u %10s %10s %9s %9s %9s %8s  %s%s%s\n", idx + 1, rate, ach, p50, p95, p99, err,
            st->ok ? "ok" : "fail: ", st->ok ? "" : st->why, st->cut_short ? " (cut short)" : "");
    fflush(f);
}

void tg_bench__report_text(FILE *f, const struct tg_bench_report *r)
{
    if (r->search) {
        capacity_text(f, r);
        return;
    }
    if (r->nurls == 1 && r->nreqs <= 1)
        fprintf(f, "tailguard bench: %s (%s)\n", r->urls[0], r->addr);
    else
        fprintf(f, "tailguard bench: %s (%s), %u requests in the mix\n", r->urls[0], r->addr,
                r->nreqs);
    describe_load(f, r);
    if (r->res && (r->res->interrupted || r->res->aborted || r->res->capped))
        fprintf(f, "  stopped early: %s\n",
                r->res->interrupted ? "interrupted"
                : r->res->aborted   ? "a threshold with 'abort' failed"
                                    : "the --max-duration cap was reached");
    fputc('\n', f);
    summary(f, r);
    thresholds_text(f, r);
}

/* ---- JSON ----------------------------------------------------------------------------- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void jms(FILE *f, int64_t us)
{
    fprintf(f, "%.3f", (double)us / 1000.0);
}

static void jlatency(FILE *f, const struct tg_hist *h)
{
    int64_t v[NPCTS];
    tg_hist_values_at(h, pcts, NPCTS, v);
    fputs("{\"min\":", f);
    jms(f, tg_hist_min(h));
    for (size_t i = 0; i < NPCTS; i++) {
        fprintf(f, ",\"%s\":", pct_keys[i]);
        jms(f, v[i]);
    }
    fputs(",\"max\":", f);
    jms(f, tg_hist_max(h));
    fprintf(f, ",\"mean\":%.3f,\"count\":%" PRIu64 "}", tg_hist_mean(h) / 1000.0, h->count);
}

static void jstats(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_stats *t = r->total;
    uint64_t e = tg_bench__stats_errors(t);
    fprintf(f, "\"requests\":%" PRIu64 ",\"responses\":%" PRIu64 ",\"rps\":%.1f", t->requests,
            t->responses, rps_of(t, r->elapsed_us));
    if (r->o->model == TG_BENCH_OPEN)
        fprintf(f, ",\"offered_rps\":%.1f", r->offered_rps);
    fprintf(f, ",\"elapsed_s\":%.3f,\"errors\":%" PRIu64 ",\"error_rate\":%.4f",
            seconds(r->elapsed_us), e, t->requests ? (double)e / (double)t->requests : 0.0);
    fputs(",\"errors_by_kind\":{", f);
    for (int k = 0; k < TG_BENCH_E_COUNT; k++)
        fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", tg_bench__err_name((enum tg_bench_err)k),
                t->errors[k]);
    fputs("},\"status\":{", f);
    bool first = true;
    for (int s = 0; s < TG_BENCH_STATUS_MAX; s++) {
        if (!t->status[s])
            continue;
        if (s)
            fprintf(f, "%s\"%d\":%" PRIu64, first ? "" : ",", s, t->status[s]);
        else
            fprintf(f, "%s\"other\":%" PRIu64, first ? "" : ",", t->status[s]);
        first = false;
    }
    fprintf(f, "},\"bytes\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 "}", t->bytes_out,
            t->bytes_in);
    fprintf(f, ",\"connections_opened\":%" PRIu64, t->connects);
    fputs(",\"latency_ms\":", f);
    jlatency(f, &t->lat);
    if (r->o->model == TG_BENCH_OPEN) {
        fputs(",\"latency_uncorrected_ms\":", f);
        jlatency(f, &t->lat_unc);
        fprintf(f, ",\"late_sends\":%" PRIu64, t->late);
    }
}

static void jthresholds(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_opts *o = r->o;
    fputs(",\"thresholds\":[", f);
    for (size_t i = 0; i < o->nthresholds; i++) {
        const struct tg_bench_cond *c = &o->thresholds[i];
        const struct tg_bench_verdict *v = &r->verdicts[i];
        fprintf(f, "%s{\"threshold\":", i ? "," : "");
        jstr(f, c->text);
        fprintf(f, ",\"ok\":%s,\"value\":", v->ok ? "true" : "false");
        if (!v->judged)
            fputs("null", f);
        else if (tg_bench__cond_is_latency(c))
            fprintf(f, "%.3f,\"unit\":\"ms\"", v->value / 1000.0);
        else
            fprintf(f, "%.4f,\"unit\":\"%s\"", v->value,
                    c->metric == TG_BENCH_M_RPS ? "rps"
                    : c->percent                ? "%"
                                                : "count");
        fprintf(f, ",\"window_s\":%lld,\"abort\":%s}", (long long)(c->window_us / 1000000),
                c->abort ? "true" : "false");
    }
    fputs("]", f);
}

static void jcapacity(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_search *s = r->search;
    const struct tg_bench_capacity *cap = r->cap;
    fputs(",\"capacity\":{\"slo\":[", f);
    for (size_t i = 0; i < r->o->nslo; i++) {
        if (i)
            fputc(',', f);
        jstr(f, r->o->slo[i].text);
    }
    fprintf(f, "],\"step_s\":%.3f,\"found\":%s,\"interrupted\":%s", seconds(r->o->step_us),
            cap->found ? "true" : "false", r->search_interrupted ? "true" : "false");
    if (cap->found) {
        const struct tg_bench_step *b = &s->steps[cap->best];
        fprintf(f, ",\"max_sustainable_rps\":%.1f,\"p95_ms_at_max\":", cap->max_rps);
        jms(f, b->p95_us);
        fprintf(f,
                ",\"working_concurrency\":%.2f,\"suggested\":{\"rate_limit_rps\":%.0f,"
                "\"concurrency_limit\":%u}",
                cap->parallel, cap->rate_limit_rps, cap->concurrency_limit);
    } else {
        fputs(",\"max_sustainable_rps\":null", f);
    }
    if (cap->knee >= 0)
        fprintf(f, ",\"knee_rps\":%.1f,\"knee_seen\":%s,\"little_concurrency\":%.2f", cap->knee_rps,
                cap->knee_seen ? "true" : "false", cap->little);
    fputs(",\"steps\":[", f);
    for (uint32_t i = 0; i < s->n; i++) {
        const struct tg_bench_step *st = &s->steps[i];
        fprintf(f,
                "%s{\"rate\":%.1f,\"achieved_rps\":%.1f,\"requests\":%" PRIu64
                ",\"errors\":%" PRIu64 ",\"errors_pct\":%.3f,\"late_sends\":%" PRIu64,
                i ? "," : "", st->rate, st->achieved_rps, st->requests, st->errors, st->errors_pct,
                st->late);
        fputs(",\"p50_ms\":", f);
        jms(f, st->p50_us);
        fputs(",\"p95_ms\":", f);
        jms(f, st->p95_us);
        fputs(",\"p99_ms\":", f);
        jms(f, st->p99_us);
        fputs(",\"max_ms\":", f);
        jms(f, st->max_us);
        fprintf(f, ",\"mean_ms\":%.3f,\"ok\":%s,\"cut_short\":%s,\"reason\":", st->mean_us / 1000.0,
                st->ok ? "true" : "false", st->cut_short ? "true" : "false");
        jstr(f, st->why);
        fputc('}', f);
    }
    fputs("]}", f);
}

void tg_bench__report_json(FILE *f, const struct tg_bench_report *r)
{
    const struct tg_bench_opts *o = r->o;
    fputs("{\"url\":", f);
    jstr(f, r->urls[0]);
    fputs(",\"urls\":[", f);
    for (uint32_t i = 0; i < r->nurls; i++) {
        if (i)
            fputc(',', f);
        jstr(f, r->urls[i]);
    }
    fputs("],\"address\":", f);
    jstr(f, r->addr);
    fprintf(f, ",\"model\":\"%s\",\"threads\":%u,\"connections\":%u,\"keepalive\":%s,",
            o->model == TG_BENCH_OPEN ? "open" : "closed", r->threads, r->conns,
            o->keepalive ? "true" : "false");
    /* A run bounded by -n alone has no planned duration, only the cap. */
    if (o->requests && !o->stages_set && o->duration_us == o->max_duration_us)
        fputs("\"duration_s\":null,", f);
    else
        fprintf(f, "\"duration_s\":%.3f,", seconds(r->send_us));
    jstats(f, r);
    if (r->res)
        fprintf(f, ",\"interrupted\":%s,\"aborted\":%s,\"capped\":%s",
                r->res->interrupted ? "true" : "false", r->res->aborted ? "true" : "false",
                r->res->capped ? "true" : "false");
    jthresholds(f, r);
    if (r->search)
        jcapacity(f, r);
    fputs("}\n", f);
}
