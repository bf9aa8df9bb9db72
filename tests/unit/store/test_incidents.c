/* SPDX-License-Identifier: MIT */
/* Events and incidents in the store (store/events.h, store/incidents.h): one
 * transaction per step (the incident row, alerts, timeline, actions and the audit row
 * all there after a reopen, or nothing after a refused write), the audit hook called
 * after the commit, the readers' order, the retention of incidents (closed ones only)
 * and the counters. */
#include "store/incidents.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "store/events.h"
#include "store_test.h"

struct seen {
    int n;
    int64_t last_id;
    char kinds[8][32];
};

static int on_note(void *ctx, const struct tg_store_incident_note *n)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->kinds[s->n], sizeof s->kinds[0], "%s", n->kind);
    s->n++;
    return 0;
}

static int on_action(void *ctx, const struct tg_store_incident_action *a)
{
    struct seen *s = ctx;
    s->n++;
    s->last_id = a->audit_id;
    if (s->n <= 8)
        snprintf(s->kinds[s->n - 1], sizeof s->kinds[0], "%s", a->verdict ? a->verdict : "-");
    return 0;
}

static int on_incident(void *ctx, const struct tg_store_incident *r)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->kinds[s->n], sizeof s->kinds[0], "%s", r->status);
    s->n++;
    s->last_id = r->id;
    return 0;
}

static int hooked;
static void hook(void *ctx, int64_t audit_id)
{
    (void)ctx;
    hooked = (int)audit_id;
}

static struct tg_store_incident row(int64_t id, const char *status)
{
    return (struct tg_store_incident){.id = id, .title = "t", .status = status,
                                      .opened_by = "alert", .escalation = "L1",
                                      .opened_at_us = 1000, .updated_at_us = 1000,
                                      .fields_json = "{\"root_cause\":\"\"}"};
}

static void test_one_step_on_disk(const char *dir)
{
    char path[PATH_MAX];
    tst_path(path, sizeof path, dir, "inc.db");
    struct tg_store *s;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_open(path, NULL, &s, &eb), 0);
    tg_store_on_audit(s, hook, NULL);
    struct tg_store_incident r = row(0, "open");
    struct tg_store_incident_alert a = {"A", "{\"alertname\":\"A\"}", "firing", 1000, 0};
    struct tg_store_incident_note n[2] = {{1000, "status", "opened", NULL},
                                          {1001, "alert", "A firing", "{\"x\":1}"}};
    struct tg_store_incident_action act = {.ts_us = 1002, .op = "BREAKER", .method = "PUT",
                                           .path = "/api/v1/system/circuit-breaker",
                                           .by = "me", .audit_id = 7};
    struct tg_store_audit au = {.ts_us = 1003, .actor = "me", .action = "PUT x",
                                .target = "incident/1"};
    struct tg_store_incident_write w = {&r, &a, 1, n, 2, &act, 1, &au};
    int64_t id = 0;
    TG_EXPECT_EQ(tg_store_incident_write(s, &w, &id, &eb), 0);
    TG_EXPECT_EQ(id, 1);
    TG_EXPECT_EQ(hooked, 1); /* the audit row's id, after the commit */
    /* A refused step (an unknown id) writes nothing, the audit row included. */
    r.id = 42;
    TG_EXPECT_EQ(tg_store_incident_write(s, &w, &id, &eb), TG_ENOTFOUND);
    r.id = 0;
    w.nactions = 0;
    n[0].kind = NULL;
    TG_EXPECT_EQ(tg_store_incident_write(s, &w, &id, &eb), -EINVAL);
    TG_EXPECT_EQ(tg_store_incident_action_update(s, 1, 7, "helped", 0, &eb), 0);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.incident_rows, 1);
    TG_EXPECT_EQ(st.audit_rows, 1);
    tg_store_close(s);
    /* Reopened: every part of the step is there. */
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM incident_timeline"), 2);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM incident_alert"), 1);
    TG_EXPECT_EQ(tst_sql_int(path, "SELECT count(*) FROM audit"), 1);
    TG_EXPECT_EQ(tg_store_open(path, NULL, &s, &eb), 0);
    struct seen notes = {0}, acts = {0}, incs = {0};
    TG_EXPECT_EQ(tg_store_incident_timeline(s, 1, on_note, &notes, &eb), 0);
    TG_EXPECT_EQ(notes.n, 2);
    TG_EXPECT_STREQ(notes.kinds[0], "status");
    TG_EXPECT_STREQ(notes.kinds[1], "alert");
    TG_EXPECT_EQ(tg_store_incident_actions(s, 1, on_action, &acts, &eb), 0);
    TG_EXPECT_EQ(acts.n, 1);
    TG_EXPECT_EQ(acts.last_id, 7);
    TG_EXPECT_STREQ(acts.kinds[0], "helped");
    TG_EXPECT_EQ(tg_store_incident_get(s, 2, on_incident, &incs, &eb), TG_ENOTFOUND);
    tg_store_close(s);
}

static void test_retention_keeps_open_incidents(void)
{
    struct tg_store *s;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_open(":memory:", NULL, &s, &eb), 0);
    /* The first incident stays open; every later one is closed. */
    int64_t id;
    struct tg_store_incident r = row(0, "open");
    struct tg_store_incident_write w = {.inc = &r};
    TG_EXPECT_EQ(tg_store_incident_write(s, &w, &id, &eb), 0);
    r.status = "closed";
    for (int i = 0; i < TG_STORE_INCIDENTS_MAX_ROWS + 5; i++)
        if (tg_store_incident_write(s, &w, &id, &eb) != 0)
            break;
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    /* The newest MAX_ROWS stay, and the open one older than all of them. */
    TG_EXPECT_EQ(st.incident_rows, TG_STORE_INCIDENTS_MAX_ROWS + 1);
    TG_EXPECT_EQ(st.incident_trimmed_total, 5);
    struct seen open = {0};
    struct tg_store_incidents_filter f = {.not_closed = true};
    TG_EXPECT_EQ(tg_store_incidents_list(s, &f, on_incident, &open, &eb), 0);
    TG_EXPECT_EQ(open.n, 1);
    TG_EXPECT_EQ(open.last_id, 1);
    struct seen newest = {0};
    f = (struct tg_store_incidents_filter){.status = "closed", .limit = 2};
    TG_EXPECT_EQ(tg_store_incidents_list(s, &f, on_incident, &newest, &eb), 0);
    TG_EXPECT_EQ(newest.n, 2);
    TG_EXPECT_EQ(newest.last_id, id - 1); /* newest first */
    tg_store_close(s);
}

static int on_event(void *ctx, const struct tg_store_event *e)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->kinds[s->n], sizeof s->kinds[0], "%s", e->type);
    s->n++;
    return 0;
}

static void test_events(void)
{
    struct tg_store *s;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_open(":memory:", NULL, &s, &eb), 0);
    struct tg_store_event e = {.ts_us = 2000, .type = "deploy", .service = "api"};
    struct tg_store_audit au = {.ts_us = 2000, .actor = "me", .action = "POST /api/v1/events",
                                .target = "events"};
    int64_t id = 0;
    TG_EXPECT_EQ(tg_store_events_append(s, &e, &au, &id, &eb), 0);
    e.ts_us = 1000;
    e.type = "migration";
    TG_EXPECT_EQ(tg_store_events_append(s, &e, NULL, &id, &eb), 0);
    e.type = NULL;
    TG_EXPECT_EQ(tg_store_events_append(s, &e, NULL, &id, &eb), -EINVAL);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.event_rows, 2);
    TG_EXPECT_EQ(st.audit_rows, 1);
    struct seen all = {0}, until = {0}, typed = {0};
    struct tg_store_events_filter f = {0};
    TG_EXPECT_EQ(tg_store_events_list(s, &f, on_event, &all, &eb), 0);
    TG_EXPECT_EQ(all.n, 2);
    TG_EXPECT_STREQ(all.kinds[0], "deploy"); /* newest first */
    f.until_us = 1500;
    TG_EXPECT_EQ(tg_store_events_list(s, &f, on_event, &until, &eb), 0);
    TG_EXPECT_EQ(until.n, 1);
    TG_EXPECT_STREQ(until.kinds[0], "migration");
    f = (struct tg_store_events_filter){.type = "deploy"};
    TG_EXPECT_EQ(tg_store_events_list(s, &f, on_event, &typed, &eb), 0);
    TG_EXPECT_EQ(typed.n, 1);
    tg_store_close(s);
}

int main(void)
{
    char dir[PATH_MAX];
    tst_mkdtemp(dir, sizeof dir);
    test_one_step_on_disk(dir);
    test_retention_keeps_open_incidents();
    test_events();
    tst_rmtree(dir);
    return tg_test_report("store/incidents");
}
