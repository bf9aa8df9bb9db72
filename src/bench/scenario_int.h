/* SPDX-License-Identifier: MIT */
/* What the load generator sends, as the user wrote it: request specs from the command line
 * (URLs with -m, -H, --body, --body-file) or from a scenario file. The scenario format, one
 * request per line, weights optional, indented lines add headers to the request above:
 *
 *     # weight method target [@body-file]
 *     80 GET /api/products
 *     20 POST /api/content/generate @generate.json
 *         Content-Type: application/json
 *
 * Targets are paths (joined to the URL given on the command line) or absolute http URLs of
 * the same origin; body files are relative to the scenario file's folder. Parsing is done
 * in place on the file's text, which must outlive the specs. */
#ifndef TG_BENCH_SCENARIO_INT_H
#define TG_BENCH_SCENARIO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bench/url_int.h"
#include "core/err.h"

#define TG_BENCH_REQS_MAX 256   /* distinct requests in one run */
#define TG_BENCH_HEADERS_MAX 32 /* headers per request (plus the global -H ones) */
#define TG_BENCH_WEIGHT_MAX 1000000
#define TG_BENCH_FILE_MAX (64u << 20) /* largest scenario or body file */

struct tg_bench_reqspec {
    const char *method;
    const char *target; /* as written: a path or an absolute URL */
    struct tg_bench_url url;
    const char *headers[TG_BENCH_HEADERS_MAX]; /* "Name: value" */
    uint32_t nheaders;
    const char *body; /* NULL: none */
    size_t body_len;
    const char *body_file; /* to load into `body` (scenario @file or --body-file) */
    uint32_t weight;
    uint32_t line; /* scenario line, 0 for the command line */
};

/* Parses scenario `text` (modified in place) into out[0..*n). Targets are left unparsed
 * (see tg_bench__resolve_target). Returns 0 or TG_EPARSE with eb->line set. */
int tg_bench__parse_scenario(char *text, struct tg_bench_reqspec *out, uint32_t cap, uint32_t *n,
                             struct tg_errbuf *eb);

/* Fills spec->url from spec->target: an absolute URL is parsed; a path ("/x") is joined to
 * `base` (which may be NULL when every target is absolute). Returns 0 or TG_EPARSE. */
int tg_bench__resolve_target(struct tg_bench_reqspec *spec, const struct tg_bench_url *base,
                             struct tg_errbuf *eb);

/* Reads a whole file (at most TG_BENCH_FILE_MAX bytes) into a malloc'd, NUL-terminated
 * buffer. Returns 0, or a negative error with `eb` naming the file. */
int tg_bench__load_file(const char *path, char **out, size_t *len, struct tg_errbuf *eb);

#endif
