/* SPDX-License-Identifier: MIT */
/* The incident model (diagnose/incident.h) without a store or a clock: grouping of
 * alerts into one incident, flapping, the quiet period, reopening, escalation by age,
 * severity, the close rule and the edits of a PUT. Times in seconds via S(). */
#include "diagnose/incident.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

#define S(x) ((int64_t)(x) * 1000000)
#define BASE S(1800000000)

static const char *const A = "{\"alertname\":\"A\",\"severity\":\"warning\"}";
static const char *const B = "{\"alertname\":\"B\",\"severity\":\"critical\"}";

static struct tg_incidents_opts opts(void)
{
    struct tg_incidents_opts o;
    tg_incidents_opts_default(&o);
    o.quiet_period_us = S(10);
    return o;
}

static bool has_note(const struct tg_incident_out *out, const char *kind, const char *text)
{
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->v[i].kind, kind) == 0 && strstr(out->v[i].text, text))
            return true;
    return false;
}

static void test_grouping_and_flapping(void)
{
    struct tg_incidents_opts o = opts();
    struct tg_incident inc, *v[1] = {&inc};
    struct tg_incident_out out = {0};
    TG_EXPECT_EQ(tg_incident_pick(v, 0, "A", A, BASE, &o), -1); /* nothing open: a new one */
    TG_EXPECT_EQ(tg_incident_init(&inc, "A firing", false, BASE, &out), 0);
    inc.id = 1;
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "A", A, BASE, &out), 0);
    TG_EXPECT_EQ(inc.severity, TG_SEV_2); /* warning */
    /* Another alert while it is open joins it and raises the severity. */
    TG_EXPECT_EQ(tg_incident_pick(v, 1, "B", B, BASE + S(1), &o), 0);
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "B", B, BASE + S(1), &out), 0);
    TG_EXPECT_EQ(inc.nalerts, 2);
    TG_EXPECT_EQ(inc.severity, TG_SEV_1);
    /* A flaps: resolved then firing again, still one alert of the same incident. */
    out.n = 0;
    TG_EXPECT(tg_incident_alert_resolved(&inc, "A", A, BASE + S(2), &out));
    TG_EXPECT_EQ(inc.quiet_since_us, 0); /* B still fires */
    TG_EXPECT_EQ(tg_incident_pick(v, 1, "A", A, BASE + S(3), &o), 0);
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "A", A, BASE + S(3), &out), 0);
    TG_EXPECT_EQ(inc.nalerts, 2);
    TG_EXPECT(has_note(&out, "alert", "A fired again"));
    /* An alert the incident does not know is not resolved in it. */
    TG_EXPECT(!tg_incident_alert_resolved(&inc, "C", "{}", BASE + S(4), &out));
    /* Severity only goes up from alerts. */
    TG_EXPECT(!tg_incident_raise(&inc, TG_SEV_3));
    TG_EXPECT_EQ(inc.severity, TG_SEV_1);
    tg_incident_deinit(&inc);
}

static void test_quiet_period_and_reopen(void)
{
    struct tg_incidents_opts o = opts();
    struct tg_incident inc, *v[1] = {&inc};
    struct tg_incident_out out = {0};
    TG_EXPECT_EQ(tg_incident_init(&inc, "A firing", false, BASE, &out), 0);
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "A", A, BASE, &out), 0);
    TG_EXPECT(tg_incident_alert_resolved(&inc, "A", A, BASE + S(5), &out));
    TG_EXPECT_EQ(inc.quiet_since_us, BASE + S(5));
    /* Within the quiet period: still open; a fire cancels it. */
    tg_incident_tick(&inc, BASE + S(14), &o, &out);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_OPEN);
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "A", A, BASE + S(14), &out), 0);
    TG_EXPECT_EQ(inc.quiet_since_us, 0);
    TG_EXPECT(tg_incident_alert_resolved(&inc, "A", A, BASE + S(15), &out));
    tg_incident_tick(&inc, BASE + S(24), &o, &out);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_OPEN); /* the period started again at 15 */
    out.n = 0;
    tg_incident_tick(&inc, BASE + S(25), &o, &out);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_RESOLVED);
    TG_EXPECT_EQ(inc.resolved_at_us, BASE + S(25));
    TG_EXPECT(has_note(&out, "status", "resolved"));
    json_t *comms = json_object_get(inc.fields, "communications");
    TG_EXPECT_EQ(json_array_size(comms), 2);
    TG_EXPECT_STREQ(json_string_value(json_object_get(json_array_get(comms, 1), "kind")),
                    "resolved");
    /* The same alert firing within the quiet period after resolution reopens it... */
    TG_EXPECT_EQ(tg_incident_pick(v, 1, "A", A, BASE + S(30), &o), 0);
    /* ...another alert does not, and neither does A once the period is over. */
    TG_EXPECT_EQ(tg_incident_pick(v, 1, "B", B, BASE + S(30), &o), -1);
    TG_EXPECT_EQ(tg_incident_pick(v, 1, "A", A, BASE + S(35), &o), -1);
    out.n = 0;
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "A", A, BASE + S(30), &out), 0);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_OPEN);
    TG_EXPECT_EQ(inc.resolved_at_us, 0);
    TG_EXPECT(has_note(&out, "status", "reopened"));
    tg_incident_deinit(&inc);
    /* An incident opened by hand, without alerts, is never resolved by the tick. */
    TG_EXPECT_EQ(tg_incident_init(&inc, "by hand", true, BASE, &out), 0);
    tg_incident_tick(&inc, BASE + S(3600), &o, &out);
    TG_EXPECT(tg_incident_is_open(&inc));
    tg_incident_deinit(&inc);
}

static void test_escalation(void)
{
    struct tg_incidents_opts o = opts();
    struct tg_incident inc;
    struct tg_incident_out out = {0};
    TG_EXPECT_EQ(tg_incident_init(&inc, "x", true, BASE, &out), 0);
    out.n = 0;
    tg_incident_tick(&inc, BASE + S(29 * 60 + 59), &o, &out);
    TG_EXPECT_EQ(inc.escalation, 1);
    TG_EXPECT_EQ(out.n, 0);
    tg_incident_tick(&inc, BASE + S(30 * 60), &o, &out);
    TG_EXPECT_EQ(inc.escalation, 2);
    TG_EXPECT(has_note(&out, "escalation", "notify #incidents"));
    TG_EXPECT(has_note(&out, "escalation", "prepare the rollback plan"));
    out.n = 0;
    tg_incident_tick(&inc, BASE + S(45 * 60), &o, &out);
    TG_EXPECT_EQ(out.n, 0); /* one entry per change of level */
    tg_incident_tick(&inc, BASE + S(60 * 60), &o, &out);
    TG_EXPECT_EQ(inc.escalation, 3);
    TG_EXPECT(has_note(&out, "escalation", "L3"));
    tg_incident_deinit(&inc);
    /* Thresholds from the configuration. */
    o.escalation_l2_us = S(2);
    o.escalation_l3_us = S(4);
    TG_EXPECT_EQ(tg_incident_init(&inc, "x", true, BASE, &out), 0);
    tg_incident_tick(&inc, BASE + S(5), &o, &out); /* straight to L3 */
    TG_EXPECT_EQ(inc.escalation, 3);
    tg_incident_deinit(&inc);
}

static json_t *put_json(struct tg_incident *inc, const char *body, int64_t now, int *rc,
                        struct tg_errbuf *eb)
{
    json_t *b = json_loads(body, 0, NULL), *actions = json_array(), *missing = json_array();
    struct tg_incident_out out = {0};
    *rc = tg_incident_put(inc, b, now, actions, missing, &out, eb);
    json_decref(b);
    json_decref(actions);
    return missing;
}

static bool contains(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* A PUT body that fills every field and closes, the last checklist item set to `last`
 * (JSON text). */
static char *filled_body(const struct tg_incident *inc, const char *last)
{
    json_t *b = json_loads("{\"root_cause\":\"q\",\"lessons_learned\":\"l\","
                           "\"prevention_measures\":[\"p\"],\"actions_taken\":[{\"op\":"
                           "\"SCALE\",\"method\":\"POST\",\"path\":\"/api/v1/system/scale\"}],"
                           "\"status\":\"closed\"}",
                           0, NULL);
    json_t *fu = json_deep_copy(json_object_get(inc->fields, "follow_up"));
    json_t *cl = json_deep_copy(json_object_get(inc->fields, "checklist"));
    size_t i;
    json_t *e;
    json_array_foreach(fu, i, e)
    {
        json_object_set_new(e, "state", json_string("done"));
    }
    const char *phase;
    json_t *items;
    json_object_foreach(cl, phase, items)
    {
        json_array_foreach(items, i, e)
        {
            json_object_set_new(e, "state", json_string("checked"));
        }
    }
    json_t *pr = json_object_get(cl, "post_resolution");
    json_object_set_new(json_array_get(pr, 4), "state", json_loads(last, JSON_DECODE_ANY, NULL));
    json_object_set_new(b, "follow_up", fu);
    json_object_set_new(b, "checklist", cl);
    char *s = json_dumps(b, 0);
    json_decref(b);
    return s;
}

static void test_close_rule(void)
{
    struct tg_incident inc;
    struct tg_incident_out out = {0};
    struct tg_errbuf eb = {0};
    int rc;
    TG_EXPECT_EQ(tg_incident_init(&inc, "x", false, BASE, &out), 0);
    TG_EXPECT_EQ(tg_incident_alert_fired(&inc, "A", A, BASE, &out), 0);
    inc.ntimeline = 2;
    json_t *m = put_json(&inc, "{\"status\":\"closed\"}", BASE + S(1), &rc, &eb);
    TG_EXPECT_EQ(rc, -EBUSY);
    TG_EXPECT_EQ(json_array_size(m), 1); /* the firing alert first: nothing else checked */
    TG_EXPECT(strstr(json_string_value(json_array_get(m, 0)), "alert still firing") != NULL);
    json_decref(m);
    TG_EXPECT(tg_incident_alert_resolved(&inc, "A", A, BASE + S(2), &out));
    m = put_json(&inc, "{\"status\":\"closed\"}", BASE + S(3), &rc, &eb);
    TG_EXPECT_EQ(rc, -EBUSY);
    TG_EXPECT(contains(m, "root_cause"));
    TG_EXPECT(contains(m, "actions_taken"));
    TG_EXPECT(contains(m, "lessons_learned"));
    TG_EXPECT(contains(m, "prevention_measures"));
    TG_EXPECT(contains(m, "follow_up: team training updates"));
    TG_EXPECT(contains(m, "checklist.verification: User experience verified"));
    TG_EXPECT_EQ(json_array_size(m), 4 + 5 + 20);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_OPEN); /* a refused PUT changes nothing */
    json_decref(m);
    /* Fill everything but one checklist item: that item alone is missing. */
    char *body = filled_body(&inc, "null");
    m = put_json(&inc, body, BASE + S(4), &rc, &eb);
    free(body);
    TG_EXPECT_EQ(rc, -EBUSY);
    TG_EXPECT_EQ(json_array_size(m), 1);
    TG_EXPECT(contains(m, "checklist.post_resolution: Follow-up monitoring scheduled"));
    json_decref(m);
    TG_EXPECT_EQ(inc.nactions, 0); /* nothing of the refused body was kept */
    /* The same body with that item marked n/a closes it, resolved first. */
    body = filled_body(&inc, "\"n/a\"");
    m = put_json(&inc, body, BASE + S(5), &rc, &eb);
    free(body);
    TG_EXPECT_EQ(rc, 0);
    TG_EXPECT_EQ(json_array_size(m), 0);
    json_decref(m);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_CLOSED);
    TG_EXPECT_EQ(inc.resolved_at_us, BASE + S(5));
    TG_EXPECT_EQ(inc.closed_at_us, BASE + S(5));
    /* A closed incident takes no more edits. */
    m = put_json(&inc, "{\"root_cause\":\"z\"}", BASE + S(6), &rc, &eb);
    TG_EXPECT_EQ(rc, -EBUSY);
    json_decref(m);
    tg_incident_deinit(&inc);
}

static void test_put_errors(void)
{
    struct tg_incident inc;
    struct tg_incident_out out = {0};
    struct tg_errbuf eb = {0};
    int rc;
    TG_EXPECT_EQ(tg_incident_init(&inc, "x", true, BASE, &out), 0);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"nope\":1}", "nope"},
        {"{\"root_cause\":1}", "root_cause"},
        {"{\"prevention_measures\":[\"\"]}", "prevention_measures"},
        {"{\"follow_up\":[{\"item\":\"x\",\"state\":\"done\"}]}", "follow_up"},
        {"{\"follow_up\":[{\"item\":\"update runbooks\",\"state\":\"maybe\"}]}", "follow_up"},
        {"{\"checklist\":{\"later\":[]}}", "checklist.later"},
        {"{\"communications\":[{\"kind\":\"x\",\"text\":\"y\"}]}", "communications"},
        {"{\"actions_taken\":[{\"op\":\"X\"}]}", "actions_taken"},
        {"{\"severity\":\"SEV-4\"}", "severity"},
        {"{\"status\":\"open\"}", "status"},
        {"{\"root_cause\":\"ok\",\"status\":\"gone\"}", "status"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb = (struct tg_errbuf){0};
        json_t *m = put_json(&inc, bad[i].body, BASE, &rc, &eb);
        TG_EXPECT_EQ(rc, TG_EPARSE);
        TG_EXPECT_STREQ(eb.file, bad[i].field);
        json_decref(m);
    }
    TG_EXPECT_STREQ(json_string_value(json_object_get(inc.fields, "root_cause")), "");
    json_t *m = put_json(&inc, "{\"severity\":\"SEV-3\",\"status\":\"mitigated\"}", BASE, &rc, &eb);
    TG_EXPECT_EQ(rc, 0);
    TG_EXPECT_EQ(inc.severity, TG_SEV_3);
    TG_EXPECT_EQ(inc.status, TG_INCIDENT_MITIGATED);
    json_decref(m);
    tg_incident_deinit(&inc);
}

static void test_labels_and_times(void)
{
    TG_EXPECT_EQ(tg_incident_sev_of_label("critical"), TG_SEV_1);
    TG_EXPECT_EQ(tg_incident_sev_of_label("warning"), TG_SEV_2);
    TG_EXPECT_EQ(tg_incident_sev_of_label("info"), TG_SEV_3);
    TG_EXPECT_EQ(tg_incident_sev_of_label(NULL), TG_SEV_3);
    char buf[32];
    TG_EXPECT_STREQ(tg_incident_time(1796056801250000, buf, sizeof buf),
                    "2026-11-30T16:40:01.250Z");
}

int main(void)
{
    test_grouping_and_flapping();
    test_quiet_period_and_reopen();
    test_escalation();
    test_close_rule();
    test_put_errors();
    test_labels_and_times();
    return tg_test_report("diagnose/incident");
}
