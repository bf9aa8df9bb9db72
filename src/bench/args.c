/* SPDX-License-Identifier: MIT */
/* Command-line parsing of `tailguard bench` (see args_int.h). Options take "-c 10",
 * "-c10", "--connections 10" or "--connections=10"; everything not starting with '-' is a
 * URL. Messages name the option and show an example of a valid value, because the person
 * reading them is usually in the middle of a CI job log. */
#include "bench/args_int.h"

#include <string.h>

#include "bench/units_int.h"

void tg_bench__usage(FILE *f)
{
    fputs("usage: tailguard bench [options] URL...\n"
          "\n"
          "load model (closed unless -R or rate stages are given):\n"
          "  -c, --connections N   closed model: connections (default 10);\n"
          "                        open model: most connections to open (default 1000)\n"
          "  -n, --requests N      stop after N requests\n"
          "  -d, --duration D      run for D (10s, 2m, 1m30s; default 10s)\n"
          "  -t, --threads N       threads, one event loop each (default: CPUs, at most 4)\n"
          "  -R, --rate R          open model: R requests/second from a fixed schedule, latency\n"
          "                        measured from each intended send time (corrected), and\n"
          "                        from the actual send (uncorrected)\n"
          "      --stages LIST     ramp linearly through stages DUR:TARGET[,...], e.g.\n"
          "                        30s:100,1m:500,30s:0. Targets are rates with -R (the start\n"
          "                        rate) or an 'rps' suffix, else connections\n"
          "      --no-keepalive    one connection per request\n"
          "      --timeout D       per-request timeout (default 10s)\n"
          "      --max-duration D  hard cap on the whole run (default 1h, at most 24h)\n"
          "\n"
          "requests:\n"
          "  -m, --method M        method (default GET, or POST with a body)\n"
          "  -H, --header 'N: V'   add a header (repeatable)\n"
          "      --body TEXT       request body\n"
          "      --body-file FILE  request body from a file\n"
          "      --scenario FILE   weighted requests, one per line: '80 GET /api/products',\n"
          "                        '20 POST /api/content/generate @body.json' (see docs/bench.md)\n"
          "  several URLs are sent in turn (same host and port)\n"
          "\n"
          "capacity search:\n"
          "      --find-capacity   find the highest rate that holds the SLO for a whole step\n"
          "      --slo LIST        e.g. 'p95<500ms,errors<1%'\n"
          "      --step D          length of each step (default 10s)\n"
          "      --start-rate R    first rate (default 100), doubled until the SLO fails\n"
          "      --max-rate R      highest rate to try (default 1000000)\n"
          "      --precision P     stop bisecting when within P percent (default 5)\n"
          "      --max-steps N     most steps (default 20)\n"
          "\n"
          "output:\n"
          "      --json            one JSON object on stdout\n"
          "      --threshold EXPR  fail (exit 1) unless EXPR holds, e.g. 'p95<500ms',\n"
          "                        'errors<1% over 30s abort' (repeatable)\n"
          "  -q, --quiet           no live progress line\n"
          "\n"
          "exit status: 0 ok, 1 a threshold failed (or no rate held the SLO), 2 bad usage or\n"
          "target unreachable\n",
          f);
}

struct opt {
    char short_name; /* 0: none */
    const char *long_name;
    bool has_value;
};

static const struct opt opts[] = {
    {'c', "connections", true}, {'n', "requests", true}, {'d', "duration", true},
    {'t', "threads", true},     {'R', "rate", true},     {0, "stages", true},
    {0, "no-keepalive", false}, {0, "timeout", true},    {0, "max-duration", true},
    {'m', "method", true},      {'H', "header", true},   {0, "body", true},
    {0, "body-file", true},     {0, "scenario", true},   {0, "find-capacity", false},
    {0, "slo", true},           {0, "step", true},       {0, "start-rate", true},
    {0, "max-rate", true},      {0, "precision", true},  {0, "max-steps", true},
    {0, "json", false},         {0, "threshold", true},  {'q', "quiet", false},
    {'h', "help", false},
};

/* Matches argv[*i] against the table; returns the option and its value (NULL when it takes
 * none), advancing *i past a separate value. NULL with *bad set: unknown or missing value. */
static const struct opt *match(int argc, char **argv, int *i, const char **value,
                               struct tg_errbuf *eb, bool *bad)
{
    const char *a = argv[*i];
    const struct opt *o = NULL;
    const char *inline_val = NULL;
    if (a[1] == '-') {
        const char *name = a + 2;
        size_t n = strcspn(name, "=");
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (strlen(opts[k].long_name) == n && strncmp(opts[k].long_name, name, n) == 0)
                o = &opts[k];
        if (o && name[n] == '=')
            inline_val = name + n + 1;
    } else {
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (opts[k].short_name && opts[k].short_name == a[1])
                o = &opts[k];
        if (o && a[2])
            inline_val = a + 2;
    }
    *bad = true;
    if (!o) {
        tg_errbuf_set(eb, TG_EPARSE, "unknown option '%s' (see tailguard bench --help)", a);
        return NULL;
    }
    if (!o->has_value) {
        if (inline_val) {
            tg_errbuf_set(eb, TG_EPARSE, "option '%s' takes no value", a);
            return NULL;
        }
        *value = NULL;
    } else if (inline_val) {
        *value = inline_val;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        tg_errbuf_set(eb, TG_EPARSE, "option '%s' needs a value", a);
        return NULL;
    }
    *bad = false;
    return o;
}

static int bad_value(struct tg_errbuf *eb, const char *opt, const char *v, const char *hint)
{
    return tg_errbuf_set(eb, TG_EPARSE, "%s: bad value '%s' (%s)", opt, v, hint);
}

/* Applies one option. Returns 0, 1 for help, or TG_EPARSE. One branch per option, in the
 * order of the usage text: a dispatch like a switch (STYLE.md §9), kept whole so the
 * options read as one table. */
static int apply(struct tg_bench_opts *o, const struct opt *op, const char *v, bool *rate_set,
                 struct tg_errbuf *eb)
{
    const char *name = op->long_name;
    uint64_t u;
    if (strcmp(name, "help") == 0)
        return 1;
    if (strcmp(name, "connections") == 0) {
        if (tg_bench__parse_uint(v, 1, TG_BENCH_CONNS_MAX, &u) < 0)
            return bad_value(eb, "-c", v, "a number of connections from 1 to 1000000");
        o->conns = (uint32_t)u;
        o->conns_set = true;
    } else if (strcmp(name, "requests") == 0) {
        if (tg_bench__parse_uint(v, 1, UINT64_MAX / 2, &u) < 0)
            return bad_value(eb, "-n", v, "a number of requests >= 1");
        o->requests = u;
    } else if (strcmp(name, "duration") == 0) {
        if (tg_bench__parse_duration(v, &o->duration_us) < 0 || o->duration_us < 1000)
            return bad_value(eb, "-d", v, "a duration such as 10s, 2m or 1m30s");
    } else if (strcmp(name, "threads") == 0) {
        if (tg_bench__parse_uint(v, 1, TG_BENCH_THREADS_MAX, &u) < 0)
            return bad_value(eb, "-t", v, "a number of threads from 1 to 256");
        o->threads = (uint32_t)u;
    } else if (strcmp(name, "rate") == 0) {
        if (tg_bench__parse_rate(v, TG_BENCH_RATE_MAX, &o->rate) < 0)
            return bad_value(eb, "-R", v, "a rate in requests/second > 0, e.g. 1000");
        *rate_set = true;
    } else if (strcmp(name, "stages") == 0) {
        if (tg_bench__parse_stages(v, &o->stages, eb) < 0)
            return TG_EPARSE;
        o->stages_set = true;
    } else if (strcmp(name, "no-keepalive") == 0) {
        o->keepalive = false;
    } else if (strcmp(name, "timeout") == 0) {
        if (tg_bench__parse_duration(v, &o->timeout_us) < 0 || o->timeout_us < 1000)
            return bad_value(eb, "--timeout", v, "a duration of at least 1ms, e.g. 5s");
    } else if (strcmp(name, "max-duration") == 0) {
        if (tg_bench__parse_duration(v, &o->max_duration_us) < 0 || o->max_duration_us < 1000 ||
            o->max_duration_us > TG_BENCH_HARD_MAX_DURATION_US)
            return bad_value(eb, "--max-duration", v, "a duration up to 24h");
    } else if (strcmp(name, "method") == 0) {
        o->method = v;
    } else if (strcmp(name, "header") == 0) {
        if (o->nheaders == TG_BENCH_GLOBAL_HEADERS_MAX)
            return tg_errbuf_set(eb, TG_EPARSE, "-H: at most %d headers",
                                 TG_BENCH_GLOBAL_HEADERS_MAX);
        o->headers[o->nheaders++] = v;
    } else if (strcmp(name, "body") == 0) {
        o->body = v;
    } else if (strcmp(name, "body-file") == 0) {
        o->body_file = v;
    } else if (strcmp(name, "scenario") == 0) {
        o->scenario = v;
    } else if (strcmp(name, "find-capacity") == 0) {
        o->find_capacity = true;
    } else if (strcmp(name, "slo") == 0) {
        if (tg_bench__parse_conds(v, false, o->slo, TG_BENCH_THRESHOLDS_MAX, &o->nslo, eb) < 0)
            return TG_EPARSE;
    } else if (strcmp(name, "step") == 0) {
        if (tg_bench__parse_duration(v, &o->step_us) < 0 || o->step_us < 100000)
            return bad_value(eb, "--step", v, "a duration of at least 100ms, e.g. 10s");
    } else if (strcmp(name, "start-rate") == 0) {
        if (tg_bench__parse_rate(v, TG_BENCH_RATE_MAX, &o->start_rate) < 0)
            return bad_value(eb, "--start-rate", v, "a rate > 0, e.g. 100");
    } else if (strcmp(name, "max-rate") == 0) {
        if (tg_bench__parse_rate(v, TG_BENCH_RATE_MAX, &o->max_rate) < 0)
            return bad_value(eb, "--max-rate", v, "a rate > 0, e.g. 50000");
    } else if (strcmp(name, "precision") == 0) {
        char buf[32];
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof buf)
            return bad_value(eb, "--precision", v, "a percentage from 0.1 to 50, e.g. 5");
        memcpy(buf, v, n + 1);
        if (buf[n - 1] == '%')
            buf[n - 1] = 0;
        if (tg_bench__parse_rate(buf, 50, &o->precision) < 0 || o->precision < 0.1)
            return bad_value(eb, "--precision", v, "a percentage from 0.1 to 50, e.g. 5");
        o->precision /= 100;
    } else if (strcmp(name, "max-steps") == 0) {
        if (tg_bench__parse_uint(v, 1, 64, &u) < 0)
            return bad_value(eb, "--max-steps", v, "a number from 1 to 64");
        o->max_steps = (uint32_t)u;
    } else if (strcmp(name, "json") == 0) {
        o->json = true;
    } else if (strcmp(name, "threshold") == 0) {
        if (tg_bench__parse_conds(v, true, o->thresholds, TG_BENCH_THRESHOLDS_MAX, &o->nthresholds,
                                  eb) < 0)
            return TG_EPARSE;
    } else if (strcmp(name, "quiet") == 0) {
        o->quiet = true;
    }
    return 0;
}

/* Cross-option checks and defaults, once every option is known. */
static int finish(struct tg_bench_opts *o, bool rate_set, struct tg_errbuf *eb)
{
    if (o->nurls == 0)
        return tg_errbuf_set(eb, TG_EPARSE,
                             "no URL given (usage: tailguard bench [options] URL...)");
    if (o->scenario && o->nurls > 1)
        return tg_errbuf_set(eb, TG_EPARSE, "with --scenario, give one base URL");
    if (o->scenario && (o->body || o->body_file || o->method))
        return tg_errbuf_set(eb, TG_EPARSE,
                             "with --scenario, set methods and bodies in the scenario file");
    if (o->body && o->body_file)
        return tg_errbuf_set(eb, TG_EPARSE, "give --body or --body-file, not both");
    if (o->duration_us && o->stages_set)
        return tg_errbuf_set(eb, TG_EPARSE, "--stages sets the duration; do not also give -d");
    if (o->nslo && !o->find_capacity)
        return tg_errbuf_set(eb, TG_EPARSE, "--slo is for --find-capacity (use --threshold)");

    if (o->find_capacity) {
        if (!o->nslo)
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "--find-capacity needs --slo, e.g. "
                                 "--slo 'p95<500ms,errors<1%%'");
        if (o->stages_set || o->requests || o->duration_us || o->nthresholds)
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "--find-capacity runs its own steps: do not "
                                 "combine it with --stages, -n, -d or --threshold");
        o->model = TG_BENCH_OPEN;
        if (rate_set && !o->start_rate)
            o->start_rate = o->rate;
        if (!o->start_rate)
            o->start_rate = 100;
        if (!o->max_rate)
            o->max_rate = 1e6;
        if (o->start_rate > o->max_rate)
            return tg_errbuf_set(eb, TG_EPARSE, "--start-rate is above --max-rate");
        if (!o->precision)
            o->precision = 0.05;
        if (!o->max_steps)
            o->max_steps = 20;
        if (!o->step_us)
            o->step_us = TG_BENCH_DEFAULT_STEP_US;
        if (o->step_us > o->max_duration_us)
            return tg_errbuf_set(eb, TG_EPARSE, "--step is longer than --max-duration");
    } else if (o->step_us || o->start_rate || o->max_rate || o->precision || o->max_steps) {
        return tg_errbuf_set(eb, TG_EPARSE,
                             "--step, --start-rate, --max-rate, --precision and "
                             "--max-steps are for --find-capacity");
    } else if (o->stages_set) {
        if (o->stages.total_us > o->max_duration_us)
            return tg_errbuf_set(eb, TG_EPARSE, "--stages last longer than --max-duration");
        if (rate_set || o->stages.rate_suffix) {
            o->model = TG_BENCH_OPEN;
            o->stages.start = rate_set ? o->rate : 0;
        } else {
            o->model = TG_BENCH_CLOSED;
            o->stages.start = o->conns_set ? o->conns : 0;
            double peak = tg_bench__profile_max(&o->stages);
            if (peak < 1)
                return tg_errbuf_set(eb, TG_EPARSE, "--stages: no stage has a connection");
            if (peak > TG_BENCH_CONNS_MAX)
                return tg_errbuf_set(eb, TG_EPARSE, "--stages: at most %d connections",
                                     TG_BENCH_CONNS_MAX);
            o->conns = (uint32_t)(peak + 0.999999);
        }
        if (o->model == TG_BENCH_OPEN && tg_bench__profile_max(&o->stages) <= 0)
            return tg_errbuf_set(eb, TG_EPARSE, "--stages: every rate is 0");
    } else {
        o->model = rate_set ? TG_BENCH_OPEN : TG_BENCH_CLOSED;
        if (!o->duration_us)
            o->duration_us = o->requests ? o->max_duration_us : TG_BENCH_DEFAULT_DURATION_US;
        if (o->duration_us > o->max_duration_us)
            return tg_errbuf_set(eb, TG_EPARSE, "-d is longer than --max-duration");
    }
    /* Closed-model stages set `conns` to their peak above. */
    if (o->model == TG_BENCH_OPEN && !o->conns_set)
        o->conns = TG_BENCH_DEFAULT_OPEN_CONNS;
    else if (o->model == TG_BENCH_CLOSED && !o->stages_set && !o->conns_set)
        o->conns = TG_BENCH_DEFAULT_CONNS;
    return 0;
}

int tg_bench__parse_args(int argc, char **argv, struct tg_bench_opts *o, struct tg_errbuf *eb)
{
    memset(o, 0, sizeof *o);
    o->keepalive = true;
    o->timeout_us = TG_BENCH_DEFAULT_TIMEOUT_US;
    o->max_duration_us = TG_BENCH_DEFAULT_MAX_DURATION_US;
    bool rate_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            if (o->nurls == TG_BENCH_URLS_MAX)
                return tg_errbuf_set(eb, TG_EPARSE, "at most %d URLs", TG_BENCH_URLS_MAX);
            o->urls[o->nurls++] = a;
            continue;
        }
        const char *v = NULL;
        bool bad;
        const struct opt *op = match(argc, argv, &i, &v, eb, &bad);
        if (bad)
            return TG_EPARSE;
        int rc = apply(o, op, v, &rate_set, eb);
        if (rc)
            return rc;
    }
    return finish(o, rate_set, eb);
}
