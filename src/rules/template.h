/* SPDX-License-Identifier: MIT */
/* Alert label and annotation templates: the subset of Go's text/template that Prometheus
 * rule files use (prometheus-compat.md §c.4), parsed once when the rule file loads and
 * expanded at each evaluation.
 *
 * Supported: text; actions `{{ PIPELINE }}` with `{{-` and `-}}` trimming the spaces
 * (and newlines) beside them; the variables `$value`, `$labels.NAME` (and `$labels` with
 * `index $labels "NAME"`), `$externalLabels.NAME`, `$externalURL`; string and number
 * literals; pipelines `a | f` and calls `f a b`; functions `humanize`, `humanize1024`,
 * `humanizeDuration`, `humanizePercentage`, `humanizeTimestamp`, `printf`, `toUpper`,
 * `toLower`, `title`, `index`, and the comparisons `eq ne lt le gt ge` with `and`, `or`,
 * `not`; `{{ if P }}…{{ else if P }}…{{ else }}…{{ end }}`. comments (`{{/`, `*`, ..., `*`, `/}}`).
 * An unknown function or a malformed action is an error at load time (so a template
 * never fails silently at 3 a.m.); an error while expanding (printf of a string with %f,
 * a comparison of a number with a string) gives Prometheus's
 * "<error expanding template: …>" text as the value.
 *
 * Values print as Go prints them: a number in its shortest form with Go's exponent
 * rules (`1e+06`, `100000`, `0.445`, `1e-05`), a missing label as "". Pure functions. */
#ifndef TG_RULES_TEMPLATE_H
#define TG_RULES_TEMPLATE_H

#include <stddef.h>

#include "core/err.h"
#include "tsdb/query.h"

struct tg_template;

/* What a template can see. */
struct tg_template_data {
    double value;
    const struct tg_labels *labels;          /* the alert's sample labels */
    const struct tg_labels *external_labels; /* may be NULL */
    const char *external_url;                /* may be NULL */
};

/* Parses `text`. 0, or TG_EPARSE with `eb` saying what and where ("template: 1:12: ..."). */
int tg_template_parse(const char *text, struct tg_template **out, struct tg_errbuf *eb);
void tg_template_free(struct tg_template *t);

/* Expands into a malloc'd NUL-terminated string (NULL only when out of memory). */
char *tg_template_expand(const struct tg_template *t, const struct tg_template_data *d);

/* Go's %v of a float64 ("1e+06", "0.445", "NaN", "+Inf"), written to buf (>= 32 bytes). */
const char *tg_template_go_float(double v, char *buf, size_t cap);

/* The humanize family as Prometheus defines them; each writes to buf and returns it. */
const char *tg_template_humanize(double v, char *buf, size_t cap);
const char *tg_template_humanize1024(double v, char *buf, size_t cap);
const char *tg_template_humanize_duration(double v, char *buf, size_t cap);
const char *tg_template_humanize_percentage(double v, char *buf, size_t cap);

#endif
