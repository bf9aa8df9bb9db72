/* SPDX-License-Identifier: MIT */
/* A test tool: renders the post-incident report (diagnose/report.h) of a fixture file
 * into HTML and Markdown files, so integration tests can check the page with a parser
 * and a real browser without a running gateway. The fixture is a JSON object:
 * {"incident": {...}, "points": [[t_ms, p95_ms|null, p99_ms|null], ...],
 *  "target_ms", "requests", "errors", "now_ms"} (numbers; null or absent: unknown).
 * Usage: report_render FIXTURE OUT.html OUT.md */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "diagnose/report.h"

static double num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: report_render FIXTURE OUT.html OUT.md\n");
        return 2;
    }
    json_error_t err;
    json_t *fx = json_load_file(argv[1], 0, &err);
    if (!fx) {
        fprintf(stderr, "%s:%d:%d: %s\n", argv[1], err.line, err.column, err.text);
        return 2;
    }
    struct tg_report_input in = {
        .incident = json_object_get(fx, "incident"),
        .target_ms = num(json_object_get(fx, "target_ms")),
        .requests = num(json_object_get(fx, "requests")),
        .errors = num(json_object_get(fx, "errors")),
        .now_ms = (int64_t)num(json_object_get(fx, "now_ms")),
    };
    const json_t *pts = json_object_get(fx, "points");
    in.npoints = json_array_size(pts);
    in.points = calloc(in.npoints ? in.npoints : 1, sizeof *in.points);
    for (size_t i = 0; i < in.npoints; i++) {
        const json_t *p = json_array_get(pts, i);
        in.points[i] = (struct tg_report_point){(int64_t)num(json_array_get(p, 0)),
                                                num(json_array_get(p, 1)),
                                                num(json_array_get(p, 2))};
    }
    char *html = tg_report_html(&in), *md = tg_report_markdown(&in);
    int rc = !html || !md ? 1 : write_file(argv[2], html) | write_file(argv[3], md);
    free(html);
    free(md);
    tg_report_input_deinit(&in);
    json_decref(fx);
    return rc;
}
