/* SPDX-License-Identifier: MIT */
/* The /_faults JSON format, read and written with jansson (control path only, where
 * allocation is fine). Parsing is strict so a typo in a test ("latncy_ms") is a 400
 * naming the field instead of a silently ignored setting. */
#include "demo/faults.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static int fail(struct tg_demo_fault_err *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return TG_EPARSE;
}

/* Reads a number (integer or real) in [lo, hi] from `v`. */
static int get_num(json_t *v, const char *field, double lo, double hi, double *out,
                   struct tg_demo_fault_err *err)
{
    if (!json_is_number(v))
        return fail(err, field, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "must be between %g and %g", lo, hi);
        return fail(err, field, msg);
    }
    *out = d;
    return 0;
}

static int get_int(json_t *v, const char *field, long long lo, long long hi, long long *out,
                   struct tg_demo_fault_err *err)
{
    if (!json_is_integer(v))
        return fail(err, field, "must be an integer");
    long long x = json_integer_value(v);
    if (x < lo || x > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "must be between %lld and %lld", lo, hi);
        return fail(err, field, msg);
    }
    *out = x;
    return 0;
}

static int parse_endpoint(json_t *v, struct tg_demo_fault *f, struct tg_demo_fault_err *err)
{
    if (!json_is_string(v))
        return fail(err, "endpoint", "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n >= sizeof f->endpoint || memchr(s, 0, n))
        return fail(err, "endpoint", "must be 1 to 255 bytes");
    if (!(n == 1 && s[0] == '*') && s[0] != '/')
        return fail(err, "endpoint", "must be \"*\" or a path starting with '/'");
    memcpy(f->endpoint, s, n);
    f->endpoint[n] = 0;
    f->endpoint_len = (uint32_t)n;
    return 0;
}

static int parse_pattern(json_t *v, struct tg_demo_fault *f, struct tg_demo_fault_err *err)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s && strcmp(s, "sudden") == 0)
        f->pattern = TG_DEMO_PATTERN_SUDDEN;
    else if (s && strcmp(s, "gradual") == 0)
        f->pattern = TG_DEMO_PATTERN_GRADUAL;
    else if (s && strcmp(s, "periodic") == 0)
        f->pattern = TG_DEMO_PATTERN_PERIODIC;
    else
        return fail(err, "pattern", "must be \"sudden\", \"gradual\" or \"periodic\"");
    return 0;
}

static int parse_capacity(json_t *v, struct tg_demo_fault *f, struct tg_demo_fault_err *err)
{
    if (!json_is_object(v))
        return fail(err, "capacity", "must be an object {\"concurrency\":N,\"service_ms\":MS}");
    const char *key;
    json_t *x;
    bool have_c = false, have_s = false;
    json_object_foreach(v, key, x)
    {
        long long c;
        double ms;
        if (strcmp(key, "concurrency") == 0) {
            if (get_int(x, "capacity.concurrency", 1, TG_DEMO_CAPACITY_MAX, &c, err))
                return TG_EPARSE;
            f->concurrency = (uint32_t)c;
            have_c = true;
        } else if (strcmp(key, "service_ms") == 0) {
            if (get_num(x, "capacity.service_ms", 0, 600000, &ms, err))
                return TG_EPARSE;
            f->service_us = (int64_t)(ms * 1000.0);
            have_s = true;
        } else {
            char field[64];
            snprintf(field, sizeof field, "capacity.%s", key);
            return fail(err, field, "unknown field");
        }
    }
    if (!have_c)
        return fail(err, "capacity.concurrency", "is required");
    if (!have_s)
        return fail(err, "capacity.service_ms", "is required");
    return 0;
}

/* One member of the body object. */
static int parse_member(const char *key, json_t *v, struct tg_demo_fault *f,
                        struct tg_demo_fault_err *err)
{
    double d;
    long long i;
    if (strcmp(key, "endpoint") == 0)
        return parse_endpoint(v, f, err);
    if (strcmp(key, "pattern") == 0)
        return parse_pattern(v, f, err);
    if (strcmp(key, "capacity") == 0)
        return parse_capacity(v, f, err);
    if (strcmp(key, "hang") == 0) {
        if (!json_is_boolean(v))
            return fail(err, key, "must be true or false");
        f->hang = json_is_true(v);
        return 0;
    }
    if (strcmp(key, "error_status") == 0) {
        if (get_int(v, key, 200, 599, &i, err))
            return TG_EPARSE;
        f->error_status = (int)i;
        return 0;
    }
    if (strcmp(key, "latency_ms") == 0 || strcmp(key, "ramp_s") == 0 ||
        strcmp(key, "period_s") == 0) {
        bool ms = key[0] == 'l';
        if (get_num(v, key, ms ? 0 : 0.001, ms ? 3600000 : 86400, &d, err))
            return TG_EPARSE;
        int64_t us = (int64_t)(d * (ms ? 1e3 : 1e6));
        *(ms ? &f->latency_us : key[0] == 'r' ? &f->ramp_us : &f->period_us) = us;
        return 0;
    }
    if (strcmp(key, "error_rate") == 0 || strcmp(key, "duty") == 0) {
        if (get_num(v, key, 0, 1, &d, err))
            return TG_EPARSE;
        *(key[0] == 'e' ? &f->error_rate : &f->duty) = d;
        return 0;
    }
    return fail(err, key, "unknown field");
}

int tg_demo_fault_parse(const char *body, size_t len, int64_t now_us, struct tg_demo_fault *f,
                        struct tg_demo_fault_err *err)
{
    tg_demo_fault_defaults(f);
    f->start_us = now_us;
    err->msg[0] = err->field[0] = 0;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid JSON at line %d column %d: %.100s", je.line, je.column,
                 je.text);
        return fail(err, "", msg);
    }
    int rc = 0;
    if (!json_is_object(root)) {
        rc = fail(err, "", "body must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        rc = parse_member(key, v, f, err);
        if (rc)
            goto out;
    }
    if (!f->endpoint_len)
        rc = fail(err, "endpoint", "is required");
out:
    json_decref(root);
    return rc;
}

static const char *pattern_name(enum tg_demo_pattern p)
{
    switch (p) {
    case TG_DEMO_PATTERN_GRADUAL:
        return "gradual";
    case TG_DEMO_PATTERN_PERIODIC:
        return "periodic";
    case TG_DEMO_PATTERN_SUDDEN:
    default:
        return "sudden";
    }
}

static json_t *fault_json(const struct tg_demo_fault *f, int64_t now_us)
{
    json_t *o = json_pack(
        "{s:s, s:f, s:f, s:i, s:b, s:s, s:f, s:f, s:f, s:f, s:f}", "endpoint", f->endpoint,
        "latency_ms", (double)f->latency_us / 1e3, "error_rate", f->error_rate, "error_status",
        f->error_status, "hang", f->hang, "pattern", pattern_name(f->pattern), "ramp_s",
        (double)f->ramp_us / 1e6, "period_s", (double)f->period_us / 1e6, "duty", f->duty, "age_s",
        (double)(now_us - f->start_us) / 1e6, "strength", tg_demo_fault_strength(f, now_us));
    if (o && f->concurrency) {
        json_t *c = json_pack("{s:i, s:f}", "concurrency", (json_int_t)f->concurrency, "service_ms",
                              (double)f->service_us / 1e3);
        if (!c || json_object_set_new(o, "capacity", c)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

char *tg_demo_faults_to_json(const struct tg_demo_fault_set *s, int64_t now_us)
{
    json_t *arr = json_array();
    json_t *root = json_pack("{s:o}", "faults", arr);
    char *out = NULL;
    if (!root)
        return NULL;
    for (uint32_t i = 0; i < s->n; i++) {
        json_t *o = fault_json(&s->f[i], now_us);
        if (!o || json_array_append_new(arr, o))
            goto out;
    }
    out = json_dumps(root, JSON_COMPACT);
out:
    json_decref(root);
    return out;
}
