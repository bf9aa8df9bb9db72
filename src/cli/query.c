/* SPDX-License-Identifier: MIT */
/* `tailguard query EXPR [--time T] [--range [--start T] [--end T] [--step S]]
 * [--admin HOST:PORT]`: asks a running gateway's Prometheus API (/api/v1/query or
 * query_range on its admin listener) and prints the answer as a table: one row per
 * series with its labels and value, or for a range one block per series with a row per
 * point. Exit 0 on an answer, 1 on an API or connection error (its message on stderr),
 * 2 on bad usage. The request is one POST through the control plane's HTTP client,
 * waited for (cli/admin_client.h): a command-line tool asks once, and the form body keeps
 * long expressions out of the request line's limit. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/promapi_params.h"
#include "cli/admin_client.h"
#include "cli/cmd.h"
#include "core/clock.h"

#define QUERY_TIMEOUT_S 130                  /* above the server's 2 minute query timeout */
#define QUERY_MAX_BODY (1024u * 1024 * 1024) /* a range answer may be large; not unbounded */

struct qopts {
    const char *expr, *time, *start, *end, *step;
    const char *admin;
    bool range;
};

static void usage(FILE *f)
{
    fputs("usage: tailguard query EXPR [--time T] [--admin HOST:PORT]\n"
          "       tailguard query EXPR --range [--start T] [--end T] [--step S] "
          "[--admin HOST:PORT]\n"
          "T: unix seconds or RFC3339 (default: now; a range defaults to the last hour)\n"
          "S: seconds or a duration such as 15s (default: the range / 250, at least 1s)\n"
          "HOST:PORT: the gateway's admin listener (default 127.0.0.1:9090)\n",
          f);
}

/* POSTs `form` to `path` under `admin`; returns the response body (malloc'd) and its
 * status, or NULL with the reason in `eb`. */
static char *post(const char *admin, const char *path, const char *form, int *status,
                  struct tg_errbuf *eb)
{
    struct tg_hclient_target t;
    if (tg_cli_admin_target(admin, &t, eb) != 0)
        return NULL;
    if (tg_cli_admin_path(&t, path, &t) != 0) {
        tg_errbuf_set(eb, TG_ELIMIT, "the address's path is too long");
        return NULL;
    }
    struct tg_hclient_req rq = {
        .method = "POST",
        .headers = "Content-Type: application/x-www-form-urlencoded\r\n",
        .body = form,
        .body_len = strlen(form),
        .timeout_us = QUERY_TIMEOUT_S * 1000000LL,
        .max_body = QUERY_MAX_BODY,
    };
    char *body = NULL;
    return tg_cli_admin_call(&t, &rq, status, &body, eb) == 0 ? body : NULL;
}

/* ------------------------------------------------------------------ printing */

/* `name{a="b", c="d"}` as Prometheus prints a series. */
static void series_name(json_t *metric, char *out, size_t cap)
{
    json_t *name = json_object_get(metric, "__name__");
    size_t n = (size_t)snprintf(out, cap, "%s", name ? json_string_value(name) : "");
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(metric, k, v)
    {
        if (strcmp(k, "__name__") == 0 || n >= cap)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s=\"%s\"", first ? "{" : ", ", k,
                              json_string_value(v));
        first = false;
    }
    if (!first && n < cap)
        snprintf(out + n, cap - n, "}");
    else if (first && n == 0)
        snprintf(out, cap, "{}");
}

static void print_vector(json_t *result)
{
    size_t i, w = 6;
    json_t *s;
    char name[2048];
    json_array_foreach(result, i, s)
    {
        series_name(json_object_get(s, "metric"), name, sizeof name);
        if (strlen(name) > w)
            w = strlen(name);
    }
    printf("%-*s  VALUE\n", (int)w, "SERIES");
    json_array_foreach(result, i, s)
    {
        series_name(json_object_get(s, "metric"), name, sizeof name);
        json_t *val = json_object_get(s, "value");
        printf("%-*s  %s\n", (int)w, name, json_string_value(json_array_get(val, 1)));
    }
    if (!json_array_size(result))
        printf("(no series)\n");
}

static void print_ts(json_t *t)
{
    double s = json_number_value(t);
    time_t whole = (time_t)s;
    struct tm tm;
    char b[32];
    gmtime_r(&whole, &tm);
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    printf("  %s.%03dZ", b, (int)((s - (double)whole) * 1000 + 0.5) % 1000);
}

static void print_matrix(json_t *result)
{
    size_t i, k;
    json_t *s, *p;
    char name[2048];
    json_array_foreach(result, i, s)
    {
        series_name(json_object_get(s, "metric"), name, sizeof name);
        printf("%s%s\n", i ? "\n" : "", name);
        json_array_foreach(json_object_get(s, "values"), k, p)
        {
            print_ts(json_array_get(p, 0));
            printf("  %s\n", json_string_value(json_array_get(p, 1)));
        }
    }
    if (!json_array_size(result))
        printf("(no series)\n");
}

static int print_answer(const char *body, int status)
{
    json_error_t je;
    json_t *root = json_loads(body, 0, &je);
    const char *st = json_string_value(json_object_get(root, "status"));
    int rc = 0;
    if (!root || !st) {
        fprintf(stderr, "tailguard query: HTTP %d: %.200s\n", status, body);
        rc = 1;
    } else if (strcmp(st, "success") != 0) {
        fprintf(stderr, "tailguard query: %s: %s\n",
                json_string_value(json_object_get(root, "errorType")),
                json_string_value(json_object_get(root, "error")));
        rc = 1;
    } else {
        json_t *data = json_object_get(root, "data");
        const char *type = json_string_value(json_object_get(data, "resultType"));
        json_t *result = json_object_get(data, "result");
        if (type && strcmp(type, "vector") == 0)
            print_vector(result);
        else if (type && strcmp(type, "matrix") == 0)
            print_matrix(result);
        else if (type && strcmp(type, "scalar") == 0)
            printf("scalar  %s\n", json_string_value(json_array_get(result, 1)));
        else if (type && strcmp(type, "string") == 0)
            printf("string  %s\n", json_string_value(json_array_get(result, 1)));
    }
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ the command */

static int parse_args(int argc, char **argv, struct qopts *o)
{
    static const struct option lo[] = {
        {"time", required_argument, NULL, 't'},  {"range", no_argument, NULL, 'r'},
        {"start", required_argument, NULL, 's'}, {"end", required_argument, NULL, 'e'},
        {"step", required_argument, NULL, 'p'},  {"admin", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 't':
            o->time = optarg;
            break;
        case 'r':
            o->range = true;
            break;
        case 's':
            o->start = optarg;
            break;
        case 'e':
            o->end = optarg;
            break;
        case 'p':
            o->step = optarg;
            break;
        case 'a':
            o->admin = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || (o->range && o->time) ||
        (!o->range && (o->start || o->end || o->step))) {
        usage(stderr);
        return 2;
    }
    o->expr = argv[optind];
    return -1;
}

/* The default step of a range: a 250th of it in whole seconds, at least 1 s. */
static void default_step(const struct qopts *o, char *buf, size_t cap)
{
    struct tg_admin_ptime s, e;
    int64_t secs = 14; /* an hour / 250 */
    if (tg_admin_ptime_parse(o->start, strlen(o->start), &s) &&
        tg_admin_ptime_parse(o->end, strlen(o->end), &e)) {
        int64_t ns = tg_admin_ptime_sub_ns(e, s);
        secs = ns / 250000000000LL;
    }
    snprintf(buf, cap, "%lld", (long long)(secs > 1 ? secs : 1));
}

int tg_cli_query(int argc, char **argv)
{
    struct qopts o = {.admin = "127.0.0.1:9090"};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char now[32], hour_ago[32], step[32];
    int64_t wall_s = tg_clock_wall_us() / 1000000;
    snprintf(now, sizeof now, "%lld", (long long)wall_s);
    snprintf(hour_ago, sizeof hour_ago, "%lld", (long long)(wall_s - 3600));
    char *form = NULL;
    size_t flen = 0;
    int frc = tg_cli_form_add(&form, &flen, "query", o.expr);
    if (o.range) {
        o.end = o.end ? o.end : now;
        o.start = o.start ? o.start : hour_ago;
        if (!o.step)
            default_step(&o, step, sizeof step);
        if (frc == 0)
            frc = tg_cli_form_add(&form, &flen, "start", o.start);
        if (frc == 0)
            frc = tg_cli_form_add(&form, &flen, "end", o.end);
        if (frc == 0)
            frc = tg_cli_form_add(&form, &flen, "step", o.step ? o.step : step);
    } else if (o.time && frc == 0) {
        frc = tg_cli_form_add(&form, &flen, "time", o.time);
    }
    int status = 0;
    struct tg_errbuf eb = {0};
    char *body = NULL;
    if (frc == 0)
        body = post(o.admin, o.range ? "/api/v1/query_range" : "/api/v1/query", form, &status, &eb);
    else
        tg_errbuf_set(&eb, frc, "out of memory");
    free(form);
    if (!body) {
        fprintf(stderr, "tailguard query: no answer from %s: %s\n", o.admin, eb.msg);
        return 1;
    }
    rc = print_answer(body, status);
    free(body);
    return rc;
}
