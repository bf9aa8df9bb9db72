// link: tg_promql
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the PromQL parser and printer. Any input either parses, or is refused
 * with TG_EPARSE, a message and a position inside the input (line >= 1, column >= 1).
 * A parsed query prints, the printed form parses again to a tree of the same type, and
 * printing that gives the same text (print-parse-print is stable). No crash, no leak
 * (ASan's leak checker runs at exit). Run with -dict=tests/fuzz/promql.dict; the corpus is
 * tests/fuzz/corpus/promql/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tg_promql_node *e = NULL;
    struct tg_errbuf eb;
    int rc = tg_promql_parse((const char *)data, size, &e, &eb);
    if (rc != 0) {
        CHECK(rc == TG_EPARSE && e == NULL);
        CHECK(eb.msg[0] != '\0' && strstr(eb.msg, "parse error: ") != NULL);
        CHECK(eb.line >= 1 && eb.column >= 1);
        return 0;
    }
    char *s = tg_promql_to_string(e);
    CHECK(s != NULL);
    struct tg_promql_node *again = NULL;
    rc = tg_promql_parse(s, strlen(s), &again, &eb);
    CHECK(rc == 0);
    CHECK(again->type == e->type && again->kind == e->kind);
    char *s2 = tg_promql_to_string(again);
    CHECK(s2 != NULL && strcmp(s, s2) == 0);
    free(s2);
    free(s);
    tg_promql_node_free(again);
    tg_promql_node_free(e);
    return 0;
}
