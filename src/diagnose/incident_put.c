/* SPDX-License-Identifier: MIT */
/* The edits of PUT /api/v1/incidents/<id> and the close rule (seed-inventory §d.3). A
 * body is checked whole against a copy of the fields before anything changes, so a 400
 * or a 409 leaves the incident as it was. */
#include "diagnose/incident.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/incident_int.h"

/* Text fields are for people to read and for the report: a generous bound, so one PUT
 * cannot fill the store. */
#define MAX_TEXT 65536
#define MAX_LIST 100

static bool one_of(const char *s, const char *const *v, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, v[i]) == 0)
            return true;
    return false;
}

static int bad(struct tg_errbuf *eb, const char *field, const char *msg)
{
    tg_errbuf_set(eb, TG_EPARSE, "%s", msg);
    snprintf(eb->file, sizeof eb->file, "%s", field);
    return TG_EPARSE;
}

static int text_field(json_t *fields, const char *name, json_t *v, struct tg_errbuf *eb)
{
    if (!json_is_string(v))
        return bad(eb, name, "must be a string");
    if (json_string_length(v) > MAX_TEXT)
        return bad(eb, name, "longer than 65536 bytes");
    return json_object_set(fields, name, v) ? -ENOMEM : 0;
}

static int prevention(json_t *fields, json_t *v, struct tg_errbuf *eb)
{
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return bad(eb, "prevention_measures", "must be an array of at most 100 strings");
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x) || json_string_length(x) == 0 || json_string_length(x) > MAX_TEXT)
            return bad(eb, "prevention_measures", "each measure must be a non-empty string");
    }
    return json_object_set(fields, "prevention_measures", v) ? -ENOMEM : 0;
}

/* {"item": one of `items`, "state": one of `states` or null}, set into the matching
 * entry of `list`. */
static int mark(json_t *list, json_t *e, const char *const *items, size_t nitems,
                const char *const *states, size_t nstates, const char *field,
                struct tg_errbuf *eb)
{
    json_t *item = json_object_get(e, "item"), *state = json_object_get(e, "state");
    if (!json_is_object(e) || json_object_size(e) != 2 || !item || !state)
        return bad(eb, field, "each entry must be {\"item\": ..., \"state\": ...}");
    const char *name = json_string_value(item);
    if (!one_of(name, items, nitems))
        return bad(eb, field, "unknown item");
    if (!json_is_null(state) && !one_of(json_string_value(state), states, nstates))
        return bad(eb, field, "state must be one of the allowed values or null");
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "item")), name) == 0)
            return json_object_set(x, "state", state) ? -ENOMEM : 0;
    }
    return bad(eb, field, "unknown item");
}

static int follow_up(json_t *fields, json_t *v, struct tg_errbuf *eb)
{
    static const char *const states[] = {"done", "planned", "n/a"};
    if (!json_is_array(v))
        return bad(eb, "follow_up", "must be an array of {\"item\", \"state\"}");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        int rc = mark(json_object_get(fields, "follow_up"), e, tg_incident__follow_up,
                      TG_INCIDENT__NFOLLOW, states, 3, "follow_up", eb);
        if (rc)
            return rc;
    }
    return 0;
}

static int checklist(json_t *fields, json_t *v, struct tg_errbuf *eb)
{
    static const char *const states[] = {"checked", "n/a"};
    if (!json_is_object(v))
        return bad(eb, "checklist", "must be an object of phases");
    const char *phase;
    json_t *list;
    json_object_foreach(v, phase, list)
    {
        int p = 0;
        while (p < TG_INCIDENT__NPHASES && strcmp(tg_incident__phases[p], phase) != 0)
            p++;
        char field[96];
        snprintf(field, sizeof field, "checklist.%s", phase);
        if (p == TG_INCIDENT__NPHASES)
            return bad(eb, field, "unknown phase (investigation, resolution, verification, "
                                  "post_resolution)");
        if (!json_is_array(list))
            return bad(eb, field, "must be an array of {\"item\", \"state\"}");
        size_t i;
        json_t *e;
        json_t *have = json_object_get(json_object_get(fields, "checklist"), phase);
        json_array_foreach(list, i, e)
        {
            int rc = mark(have, e, tg_incident__checklist[p], TG_INCIDENT__NITEMS, states, 2,
                          field, eb);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int communications(json_t *fields, json_t *v, int64_t now_us, struct tg_errbuf *eb)
{
    static const char *const kinds[] = {"detected", "update", "resolved", "status_page",
                                        "customers"};
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return bad(eb, "communications", "must be an array of {\"kind\", \"text\"}");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        json_t *kind = json_object_get(e, "kind"), *text = json_object_get(e, "text");
        if (!json_is_object(e) || json_object_size(e) != 2 || !json_is_string(text) ||
            json_string_length(text) > MAX_TEXT)
            return bad(eb, "communications", "each entry must be {\"kind\", \"text\"}");
        if (!one_of(json_string_value(kind), kinds, 5))
            return bad(eb, "communications", "kind must be detected, update, resolved, "
                                             "status_page or customers");
        if (tg_incident__communicate(fields, now_us, json_string_value(kind),
                                     json_string_value(text)))
            return -ENOMEM;
    }
    return 0;
}

/* Manual actions_taken entries: {"op", "method", "path", "body"?, "verdict"?}. */
static int actions_taken(json_t *v, json_t *actions, struct tg_errbuf *eb)
{
    static const char *const verdicts[] = {"helped", "no_effect", "worse", "inconclusive"};
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return bad(eb, "actions_taken", "must be an array of actions");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_object(e))
            return bad(eb, "actions_taken", "each action must be an object");
        const char *k;
        json_t *x;
        json_object_foreach(e, k, x)
        {
            bool ok = (strcmp(k, "op") == 0 || strcmp(k, "method") == 0 ||
                       strcmp(k, "path") == 0)
                          ? json_is_string(x) && json_string_length(x) > 0 &&
                                json_string_length(x) < 1024
                      : strcmp(k, "body") == 0 ? json_is_object(x) || json_is_null(x)
                      : strcmp(k, "verdict") == 0
                          ? json_is_null(x) || one_of(json_string_value(x), verdicts, 4)
                          : false;
            if (!ok)
                return bad(eb, "actions_taken", "an action has {\"op\", \"method\", \"path\"} "
                                                "strings, an optional \"body\" object and "
                                                "\"verdict\"");
        }
        if (!json_object_get(e, "op") || !json_object_get(e, "method") ||
            !json_object_get(e, "path"))
            return bad(eb, "actions_taken", "an action needs \"op\", \"method\" and \"path\"");
        if (json_array_append(actions, e))
            return -ENOMEM;
    }
    return 0;
}

static bool empty_text(json_t *fields, const char *name)
{
    const char *s = json_string_value(json_object_get(fields, name));
    return !s || !s[strspn(s, " \t\r\n")];
}

/* Appends "a", "a: b" or "a.b: c" (the parts that are not NULL). */
static size_t add3(json_t *missing, const char *a, const char *b, const char *c)
{
    char buf[400];
    snprintf(buf, sizeof buf, "%s%s%s%s%s", a, b ? "." : "", b ? b : "", c ? ": " : "",
             c ? c : "");
    json_array_append_new(missing, json_string(buf));
    return 1;
}

static size_t add(json_t *missing, const char *field)
{
    return add3(missing, field, NULL, NULL);
}

static bool has_comm(json_t *fields, const char *kind)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(fields, "communications"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "kind")), kind) == 0)
            return true;
    }
    return false;
}

static size_t firing(const struct tg_incident *inc, json_t *missing)
{
    size_t n = 0;
    for (size_t i = 0; i < inc->nalerts; i++)
        if (inc->alerts[i].firing)
            n += add3(missing, "alert still firing", NULL, inc->alerts[i].labels_json);
    return n;
}

static size_t unmarked(json_t *list, const char *field, const char *phase, json_t *missing)
{
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (json_is_null(json_object_get(e, "state")))
            n += add3(missing, field, phase, json_string_value(json_object_get(e, "item")));
    }
    return n;
}

size_t tg_incident_close_missing(const struct tg_incident *inc, json_t *missing)
{
    json_t *f = inc->fields;
    size_t n = 0;
    if (inc->ntimeline == 0)
        n += add(missing, "timeline");
    if (empty_text(f, "root_cause"))
        n += add(missing, "root_cause");
    if (inc->nactions == 0)
        n += add(missing, "actions_taken");
    if (empty_text(f, "lessons_learned"))
        n += add(missing, "lessons_learned");
    if (json_array_size(json_object_get(f, "prevention_measures")) == 0)
        n += add(missing, "prevention_measures");
    n += unmarked(json_object_get(f, "follow_up"), "follow_up", NULL, missing);
    for (int p = 0; p < TG_INCIDENT__NPHASES; p++)
        n += unmarked(json_object_get(json_object_get(f, "checklist"), tg_incident__phases[p]),
                      "checklist", tg_incident__phases[p], missing);
    if (!has_comm(f, "detected"))
        n += add3(missing, "communications", NULL, "detected");
    if (!has_comm(f, "resolved") && !tg_incident_is_open(inc))
        n += add3(missing, "communications", NULL, "resolved");
    return n + firing(inc, missing);
}

/* The new status, checked against the rules; `inc` holds the candidate fields. */
static int set_status(struct tg_incident *inc, const char *st, int64_t now_us, json_t *missing,
                      struct tg_incident_out *out, struct tg_errbuf *eb)
{
    if (strcmp(st, "mitigated") == 0) {
        if (inc->status != TG_INCIDENT_MITIGATED)
            tg_incident__note(out, now_us, "status", "marked mitigated");
        if (inc->status == TG_INCIDENT_RESOLVED)
            inc->resolved_at_us = 0;
        inc->status = TG_INCIDENT_MITIGATED;
        return 0;
    }
    bool close = strcmp(st, "closed") == 0;
    if (!close && strcmp(st, "resolved") != 0)
        return bad(eb, "status", "must be \"mitigated\", \"resolved\" or \"closed\"");
    if (firing(inc, missing)) {
        tg_errbuf_set(eb, -EBUSY, "incident %lld has alerts still firing", (long long)inc->id);
        return -EBUSY;
    }
    int rc = 0;
    if (inc->status != TG_INCIDENT_RESOLVED)
        rc = tg_incident__resolve(inc, now_us, "marked resolved", out);
    if (rc || !close)
        return rc;
    if (tg_incident_close_missing(inc, missing)) {
        tg_errbuf_set(eb, -EBUSY, "incident %lld cannot be closed yet", (long long)inc->id);
        return -EBUSY;
    }
    inc->status = TG_INCIDENT_CLOSED;
    inc->closed_at_us = now_us;
    tg_incident__note(out, now_us, "status", "closed");
    return 0;
}

static int apply(struct tg_incident *c, json_t *body, int64_t now_us, json_t *actions,
                 json_t *missing, struct tg_incident_out *out, struct tg_errbuf *eb)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "root_cause") == 0 || strcmp(k, "lessons_learned") == 0)
            rc = text_field(c->fields, k, v, eb);
        else if (strcmp(k, "title") == 0)
            rc = json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 512
                     ? 0
                     : bad(eb, k, "must be a non-empty string of at most 511 bytes");
        else if (strcmp(k, "prevention_measures") == 0)
            rc = prevention(c->fields, v, eb);
        else if (strcmp(k, "follow_up") == 0)
            rc = follow_up(c->fields, v, eb);
        else if (strcmp(k, "checklist") == 0)
            rc = checklist(c->fields, v, eb);
        else if (strcmp(k, "communications") == 0)
            rc = communications(c->fields, v, now_us, eb);
        else if (strcmp(k, "actions_taken") == 0)
            rc = actions_taken(v, actions, eb);
        else if (strcmp(k, "severity") == 0)
            rc = tg_incident_sev_parse(json_string_value(v))
                     ? 0
                     : bad(eb, k, "must be \"SEV-1\", \"SEV-2\" or \"SEV-3\"");
        else if (strcmp(k, "status") == 0)
            rc = json_is_string(v) ? 0 : bad(eb, k, "must be a string");
        else
            rc = bad(eb, k, "unknown field");
        if (rc)
            return rc;
    }
    c->nactions += json_array_size(actions);
    json_t *st = json_object_get(body, "status");
    return st ? set_status(c, json_string_value(st), now_us, missing, out, eb) : 0;
}

int tg_incident_put(struct tg_incident *inc, json_t *body, int64_t now_us, json_t *actions,
                    json_t *missing, struct tg_incident_out *out, struct tg_errbuf *eb)
{
    if (!json_is_object(body))
        return bad(eb, "", "the body must be a JSON object");
    if (inc->status == TG_INCIDENT_CLOSED) {
        json_array_append_new(missing, json_string("the incident is closed"));
        tg_errbuf_set(eb, -EBUSY, "incident %lld is closed", (long long)inc->id);
        return -EBUSY;
    }
    /* A candidate with copied fields: the alerts are only read. */
    struct tg_incident c = *inc;
    c.fields = json_deep_copy(inc->fields);
    struct tg_incident_out o = *out;
    if (!c.fields)
        return -ENOMEM;
    int rc = apply(&c, body, now_us, actions, missing, &o, eb);
    if (rc) {
        json_decref(c.fields);
        json_array_clear(actions);
        return rc;
    }
    json_t *title = json_object_get(body, "title");
    char *t = title ? strdup(json_string_value(title)) : NULL;
    if (title && !t) {
        json_decref(c.fields);
        return -ENOMEM;
    }
    json_t *sev = json_object_get(body, "severity");
    if (sev)
        c.severity = tg_incident_sev_parse(json_string_value(sev));
    if (t) {
        free(inc->title);
        c.title = t;
    }
    json_decref(inc->fields);
    *inc = c;
    *out = o;
    return 0;
}
