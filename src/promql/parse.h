/* SPDX-License-Identifier: MIT */
/* The PromQL front end: parse a query into a typed syntax tree (ast.h), and print a tree
 * back in Prometheus's canonical form. Both follow Prometheus 2.42: what it accepts is
 * accepted, what it refuses is refused with its message and position, because clients
 * (Grafana, promtool, scripts) match on them; the printed form is the one its
 * /api/v1/rules and format_query show. Used by the evaluator, the HTTP API and the rule
 * loader, on whatever thread they run: no global state. */
#ifndef TG_PROMQL_PARSE_H
#define TG_PROMQL_PARSE_H

#include <stddef.h>

#include "core/err.h"
#include "promql/ast.h"

#define TG_PROMQL_MAX_DEPTH 1000

/* Parses `len` bytes of `query` (need not be NUL-terminated) into `*out`, which the
 * caller frees with tg_promql_node_free. On a syntax or type error returns TG_EPARSE,
 * `*out` NULL, and `eb` holds Prometheus's message with its position prefix, e.g.
 * "1:46: parse error: unexpected <by>", with eb->line and eb->column (1-based, bytes) of
 * the same position. -ENOMEM when memory runs out. Cost is linear in the length;
 * nesting deeper than TG_PROMQL_MAX_DEPTH levels is refused with TG_EPARSE (Prometheus
 * has no such limit, but a C stack does), as is a query of 4 GiB or more. */
int tg_promql_parse(const char *query, size_t len, struct tg_promql_node **out,
                    struct tg_errbuf *eb);

/* Parses a lone series selector, as Prometheus's ParseMetricSelector does for the
 * `match[]` parameters of /federate and the series API: `name`, `name{...}` or `{...}`
 * and nothing else (no range, offset, @ or operator: "1:3: parse error: unexpected
 * \"[\""). Unlike a query, a selector whose matchers all match the empty string is
 * accepted (`{job=~".*"}` selects every series). On success `*out` is a
 * TG_PROMQL_VECTOR_SEL node the caller frees; errors as for tg_promql_parse. */
int tg_promql_parse_selector(const char *sel, size_t len, struct tg_promql_node **out,
                             struct tg_errbuf *eb);

/* Writes the canonical form of `n` into `buf` (at most `size` bytes, NUL-terminated
 * when size > 0) and returns its full length, as snprintf does: call with size 0 to
 * learn the length. */
size_t tg_promql_print(const struct tg_promql_node *n, char *buf, size_t size);

/* The canonical form of `n` in a new string the caller frees; NULL when out of memory. */
char *tg_promql_to_string(const struct tg_promql_node *n);

/* Reads a Prometheus duration ("1h30m", "5m", "250ms", "0"; units y w d h m s ms in that
 * order, each at most once, integers only) as common/model.ParseDuration does, into
 * milliseconds. Returns 0, -EINVAL when it is not one, or -ERANGE past what Go's
 * nanosecond int64 holds (about 292 years). Zero is accepted: callers that refuse it say
 * so themselves. */
int tg_promql_duration(const char *s, size_t len, int64_t *ms);

/* Writes a duration the way Prometheus prints one ("1h30m", "382d4h5m6s7ms", "0s") into
 * `buf` of `size` bytes (32 is always enough); returns its length. */
size_t tg_promql_format_duration(int64_t ms, char *buf, size_t size);

#endif
