/* SPDX-License-Identifier: MIT */
/* A stand-in for the matcher helpers of src/tsdb/query.h (tg_matcher_init/free/matches),
 * built as tg_tsdb only while the store's own implementation is not in the tree (see the
 * top-level CMakeLists.txt), so the PromQL front end and its tests link on their own.
 * Regexes are PCRE2, fully anchored, UTF-8; its error text is PCRE2's, not Go's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tsdb/query.h"

int tg_matcher_init(struct tg_matcher *m, enum tg_match_type type, const char *name,
                    const char *value, struct tg_errbuf *eb)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->name = strdup(name);
    m->value = strdup(value);
    if (!m->name || !m->value) {
        tg_matcher_free(m);
        return -ENOMEM;
    }
    if (type == TG_MATCH_REGEX || type == TG_MATCH_NOT_REGEX) {
        int err;
        PCRE2_SIZE off;
        m->re = pcre2_compile((PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED,
                              PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF | PCRE2_DOTALL, &err,
                              &off, NULL);
        if (!m->re) {
            PCRE2_UCHAR msg[200];
            pcre2_get_error_message(err, msg, sizeof msg);
            tg_matcher_free(m);
            return tg_errbuf_set(eb, TG_EPARSE, "error parsing regexp: %s", (char *)msg);
        }
    }
    return 0;
}

void tg_matcher_free(struct tg_matcher *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->value);
    pcre2_code_free(m->re);
    memset(m, 0, sizeof *m);
}

bool tg_matcher_matches(const struct tg_matcher *m, const char *v)
{
    switch (m->type) {
    case TG_MATCH_EQUAL:
        return strcmp(m->value, v) == 0;
    case TG_MATCH_NOT_EQUAL:
        return strcmp(m->value, v) != 0;
    default: {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(m->re, NULL);
        bool hit = md && pcre2_match(m->re, (PCRE2_SPTR)v, strlen(v), 0, 0, md, NULL) >= 0;
        pcre2_match_data_free(md);
        return m->type == TG_MATCH_REGEX ? hit : !hit;
    }
    }
}
