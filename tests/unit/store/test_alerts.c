/* SPDX-License-Identifier: MIT */
/* The alert history: rows appended in one call come back newest first with every field
 * (a NaN value, a firing row without resolved_at), filtered by name and time, limited;
 * a row without its JSON is refused and writes nothing; the counts in the stats. */
#include "store/alerts.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "tg_test.h"

struct got {
    int n;
    struct tg_store_alert first;
    char name[32], state[16], labels[64];
};

static int collect(void *ctx, const struct tg_store_alert *r)
{
    struct got *g = ctx;
    if (g->n++ == 0) {
        g->first = *r;
        snprintf(g->name, sizeof g->name, "%s", r->alertname);
        snprintf(g->state, sizeof g->state, "%s", r->state);
        snprintf(g->labels, sizeof g->labels, "%s", r->labels_json);
    }
    return 0;
}

static struct got list(struct tg_store *s, const char *name, int64_t since, unsigned limit)
{
    struct got g = {0};
    struct tg_store_alerts_filter f = {name, since, limit};
    TG_EXPECT_EQ(tg_store_alerts_list(s, &f, collect, &g, NULL), 0);
    return g;
}

int main(void)
{
    struct tg_store *s = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_store_open(":memory:", NULL, &s, &eb), 0);
    const struct tg_store_alert rows[] = {
        {.ts_ms = 1000,
         .alertname = "High",
         .state = "firing",
         .labels_json = "{\"alertname\":\"High\"}",
         .annotations_json = "{}",
         .value = 2.5,
         .active_at_ms = 500,
         .fired_at_ms = 1000},
        {.ts_ms = 2000,
         .alertname = "High",
         .state = "resolved",
         .labels_json = "{\"alertname\":\"High\"}",
         .annotations_json = "{}",
         .value = NAN,
         .active_at_ms = 500,
         .fired_at_ms = 1000,
         .resolved_at_ms = 2000},
        {.ts_ms = 1500,
         .alertname = "Other",
         .state = "firing",
         .labels_json = "{}",
         .annotations_json = "{}",
         .value = 1,
         .active_at_ms = 1500,
         .fired_at_ms = 1500},
    };
    TG_EXPECT_EQ(tg_store_alerts_append(s, rows, 3, &eb), 0);
    struct got g = list(s, NULL, 0, 0);
    TG_EXPECT_EQ(g.n, 3);
    TG_EXPECT_STREQ(g.state, "resolved");
    TG_EXPECT(isnan(g.first.value));
    TG_EXPECT_EQ(g.first.resolved_at_ms, 2000);
    TG_EXPECT_EQ(g.first.active_at_ms, 500);
    TG_EXPECT_STREQ(g.labels, "{\"alertname\":\"High\"}");
    g = list(s, "Other", 0, 0);
    TG_EXPECT_EQ(g.n, 1);
    TG_EXPECT_EQ(g.first.resolved_at_ms, 0);
    TG_EXPECT_EQ(g.first.value, 1.0);
    TG_EXPECT_EQ(list(s, NULL, 1500, 0).n, 2);
    TG_EXPECT_EQ(list(s, NULL, 0, 1).n, 1);
    struct tg_store_alert bad = rows[0];
    bad.labels_json = NULL;
    const struct tg_store_alert two[] = {rows[0], bad};
    TG_EXPECT_EQ(tg_store_alerts_append(s, two, 2, &eb), -EINVAL);
    struct tg_store_stats st;
    tg_store_stats(s, &st);
    TG_EXPECT_EQ(st.alert_rows, 3);
    TG_EXPECT_EQ(st.alert_trimmed_total, 0u);
    tg_store_close(s);
    return tg_test_report("store/alerts");
}
