/* SPDX-License-Identifier: MIT */
/* The notifier's payloads (see notify.h): Alertmanager v2's alert array and the webhook
 * message Alertmanager 0.25 sends, with its time formats, fingerprint and group key. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/notify_int.h"

char *tg_notify_time(int64_t ms, bool go, char buf[40])
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)s * 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!go) {
        snprintf(buf + n, 40 - n, ".%03dZ", frac);
    } else if (frac == 0) {
        snprintf(buf + n, 40 - n, "Z");
    } else {
        char f[8];
        snprintf(f, sizeof f, "%03d", frac);
        for (int i = 2; i > 0 && f[i] == '0'; i--)
            f[i] = '\0';
        snprintf(buf + n, 40 - n, ".%sZ", f);
    }
    return buf;
}

uint64_t tg_notify_fingerprint(const struct tg_labels *ls)
{
    /* Label sets are sorted by name already, byte order, as Alertmanager sorts them. */
    uint64_t h = 14695981039346656037ull;
    for (uint32_t i = 0; i < ls->n; i++) {
        for (const char *p = ls->v[i].name; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
        for (const char *p = ls->v[i].value; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static json_t *object_of(const struct tg_labels *ls)
{
    json_t *o = json_object();
    for (uint32_t i = 0; o && i < ls->n; i++)
        json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value));
    return o;
}

static char *dump(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(v);
    return s;
}

char *tg_notify_am_body(const struct tg_notify_alert *a, size_t n)
{
    json_t *arr = json_array();
    char t1[40], t2[40];
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:o, s:o, s:s, s:s, s:s}", "labels", object_of(&a[i].labels),
                           "annotations", object_of(&a[i].annotations), "startsAt",
                           tg_notify_time(a[i].starts_at_ms, false, t1), "endsAt",
                           tg_notify_time(a[i].ends_at_ms, false, t2), "generatorURL",
                           a[i].generator_url ? a[i].generator_url : ""));
    return dump(arr);
}

/* Labels every alert has with the same value (commonLabels, commonAnnotations). */
static json_t *common(const struct tg_notify_alert *a, size_t n, bool annotations)
{
    json_t *o = json_object();
    const struct tg_labels *first = annotations ? &a[0].annotations : &a[0].labels;
    for (uint32_t k = 0; o && k < first->n; k++) {
        bool all = true;
        for (size_t i = 1; all && i < n; i++) {
            const struct tg_labels *ls = annotations ? &a[i].annotations : &a[i].labels;
            bool same = false;
            for (uint32_t j = 0; j < ls->n && !same; j++)
                same = strcmp(ls->v[j].name, first->v[k].name) == 0 &&
                       strcmp(ls->v[j].value, first->v[k].value) == 0;
            all = same;
        }
        if (all)
            json_object_set_new(o, first->v[k].name, json_string(first->v[k].value));
    }
    return o;
}

const char *tg_notify__label(const struct tg_labels *ls, const char *name)
{
    for (uint32_t i = 0; i < ls->n; i++)
        if (strcmp(ls->v[i].name, name) == 0)
            return ls->v[i].value;
    return "";
}

char *tg_notify_webhook_body(const struct tg_notify_alert *a, size_t n, const char *receiver,
                             const char *external_url)
{
    if (n == 0)
        return NULL;
    json_t *alerts = json_array();
    bool all_resolved = true;
    char t1[40], t2[40], fp[17];
    for (size_t i = 0; alerts && i < n; i++) {
        all_resolved = all_resolved && a[i].resolved;
        snprintf(fp, sizeof fp, "%016llx", (unsigned long long)tg_notify_fingerprint(&a[i].labels));
        json_array_append_new(
            alerts,
            json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "status",
                      a[i].resolved ? "resolved" : "firing", "labels", object_of(&a[i].labels),
                      "annotations", object_of(&a[i].annotations), "startsAt",
                      tg_notify_time(a[i].starts_at_ms, true, t1), "endsAt",
                      a[i].resolved ? tg_notify_time(a[i].ends_at_ms, true, t2)
                                    : "0001-01-01T00:00:00Z",
                      "generatorURL", a[i].generator_url ? a[i].generator_url : "",
                      "fingerprint", fp));
    }
    /* Grouped by alertname: the group key of the root route with that one label. */
    json_t *name = json_string(tg_notify__label(&a[0].labels, "alertname"));
    json_t *group = json_pack("{s:O}", "alertname", name);
    char *gl = json_dumps(name, JSON_ENCODE_ANY);
    char key[512];
    snprintf(key, sizeof key, "{}:{alertname=%s}", gl ? gl : "\"\"");
    free(gl);
    json_decref(name);
    json_t *msg = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:i}", "receiver",
                            receiver, "status", all_resolved ? "resolved" : "firing", "alerts",
                            alerts, "groupLabels", group, "commonLabels", common(a, n, false),
                            "commonAnnotations", common(a, n, true), "externalURL",
                            external_url ? external_url : "", "version", "4", "groupKey", key,
                            "truncatedAlerts", 0);
    return dump(msg);
}
