/* SPDX-License-Identifier: MIT */
/* The report's admin glue (incident_report.h): format negotiation by parameter, the
 * store's data through tg_report_gather, and response headers that keep a browser from
 * running or fetching anything from the page (it holds user-written text). */
#include "admin/incident_report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin/query.h"
#include "core/clock.h"
#include "core/log.h"
#include "diagnose/report.h"

/* A report's queries run on the control thread; past this they give up and the chart
 * shows no data, so one report cannot hold the admin listener for long. */
#define REPORT_QUERY_BUDGET_US (10 * 1000 * 1000)

static const char HEADERS[] =
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
    "X-Content-Type-Options: nosniff\r\n";

/* 0 markdown, 1 html, -1 anything else. */
static int format_of(struct tg_str query)
{
    char v[16];
    int rc = tg_admin_query_get(query, "format", v, sizeof v);
    if (rc == TG_ENOTFOUND)
        return 0;
    if (rc < 0)
        return -1;
    return strcmp(v, "markdown") == 0 ? 0 : strcmp(v, "html") == 0 ? 1 : -1;
}

void tg_admin_incident_report(const json_t *incident, const struct tg_queryable *q,
                              struct tg_str query, int64_t now_ms, struct tg_admin_resp *r)
{
    if (!incident) {
        tg_admin_resp_error(r, 404, "no such incident", NULL);
        return;
    }
    int html = format_of(query);
    if (html < 0) {
        tg_admin_resp_error(r, 400, "format must be markdown or html", "format");
        return;
    }
    struct tg_report_input in = {.incident = incident, .target_ms = NAN, .requests = NAN,
                                 .errors = NAN, .now_ms = now_ms};
    if (q) {
        struct tg_report_opts opts = {.deadline_us = tg_clock_mono_us() + REPORT_QUERY_BUDGET_US};
        struct tg_errbuf eb = {0};
        int rc = tg_report_gather(q, incident, now_ms, &opts, &in, &eb);
        if (rc < 0) {
            tg_log(TG_LOG_WARN, "admin", "incident report without series err=\"%s\"",
                   eb.msg[0] ? eb.msg : tg_strerror(rc));
            in = (struct tg_report_input){.incident = incident, .target_ms = NAN,
                                          .requests = NAN, .errors = NAN, .now_ms = now_ms};
        }
    }
    char *body = html ? tg_report_html(&in) : tg_report_markdown(&in);
    tg_report_input_deinit(&in);
    if (!body) {
        tg_admin_resp_error(r, 500, "out of memory", NULL);
        return;
    }
    r->status = 200;
    r->content_type = html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8";
    r->body = body;
    r->body_len = strlen(body);
    r->extra = HEADERS;
}
