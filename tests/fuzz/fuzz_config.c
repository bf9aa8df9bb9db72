// link: tg_config
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the YAML config loader. First, differentially: the document builder
 * (yaml_compose.c) must build exactly the document libyaml's own loader builds (same
 * nodes in the same order, same values, styles, tags, positions, items and pairs) unless
 * it refuses the input for a reason of its own (nesting past the limit, an explicit tag),
 * and it must call the input invalid YAML exactly when libyaml does. Inputs are small
 * (libFuzzer's default -max_len of 4096), so libyaml's quadratic loader is affordable
 * here. Then the whole loader: a loaded config has no error and validates or not; a
 * refused one leaves no config, has a known code, a message and a position inside the
 * input; loading twice gives the same answer. Run with -dict=tests/fuzz/config.dict.
 * The corpus is tests/fuzz/corpus/config/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/config.h"
#include "config/yaml_compose_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static bool same_mark(yaml_mark_t a, yaml_mark_t b)
{
    return a.index == b.index && a.line == b.line && a.column == b.column;
}

/* Node by node: ids are positions in the node array, so equal arrays mean equal trees
 * and equal aliasing. */
static void check_same(yaml_document_t *a, yaml_document_t *b)
{
    CHECK(a->nodes.top - a->nodes.start == b->nodes.top - b->nodes.start);
    CHECK(same_mark(a->start_mark, b->start_mark));
    for (yaml_node_t *x = a->nodes.start, *y = b->nodes.start; x < a->nodes.top; x++, y++) {
        CHECK(x->type == y->type && strcmp((char *)x->tag, (char *)y->tag) == 0);
        CHECK(same_mark(x->start_mark, y->start_mark) && same_mark(x->end_mark, y->end_mark));
        if (x->type == YAML_SCALAR_NODE) {
            CHECK(x->data.scalar.length == y->data.scalar.length);
            CHECK(memcmp(x->data.scalar.value, y->data.scalar.value, x->data.scalar.length) == 0);
            CHECK(x->data.scalar.style == y->data.scalar.style);
        } else if (x->type == YAML_SEQUENCE_NODE) {
            size_t n = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start);
            CHECK(n == (size_t)(y->data.sequence.items.top - y->data.sequence.items.start));
            CHECK(n == 0 || memcmp(x->data.sequence.items.start, y->data.sequence.items.start,
                                   n * sizeof(yaml_node_item_t)) == 0);
            CHECK(x->data.sequence.style == y->data.sequence.style);
        } else {
            size_t n = (size_t)(x->data.mapping.pairs.top - x->data.mapping.pairs.start);
            CHECK(n == (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start));
            for (size_t i = 0; i < n; i++) {
                CHECK(x->data.mapping.pairs.start[i].key == y->data.mapping.pairs.start[i].key);
                CHECK(x->data.mapping.pairs.start[i].value == y->data.mapping.pairs.start[i].value);
            }
            CHECK(x->data.mapping.style == y->data.mapping.style);
        }
    }
}

static void differential(const uint8_t *data, size_t size)
{
    yaml_parser_t p, q;
    yaml_document_t mine, theirs;
    struct tg_errbuf eb;
    const struct tg_config_source src = {
        .label = "f.yaml", .text = (const char *)data, .len = size};
    CHECK(yaml_parser_initialize(&p) && yaml_parser_initialize(&q));
    yaml_parser_set_input_string(&p, data, size);
    yaml_parser_set_input_string(&q, data, size);
    int rc = tg_config__compose(&p, &src, &mine, &eb);
    bool ok = yaml_parser_load(&q, &theirs) != 0;
    CHECK(rc != -ENOMEM);
    if (rc == 0) {
        CHECK(ok);
        check_same(&mine, &theirs);
    } else if (rc == TG_EPARSE) {
        CHECK(!ok);
        CHECK(eb.line >= 1 && eb.column >= 1);
    } else {
        CHECK(rc == TG_ECONFIG);
    }
    yaml_document_delete(&mine);
    if (ok)
        yaml_document_delete(&theirs);
    yaml_parser_delete(&p);
    yaml_parser_delete(&q);
}

static int load(const uint8_t *data, size_t size, struct tg_errbuf *eb)
{
    struct tg_config *c = (struct tg_config *)1;
    memset(eb, 0, sizeof *eb);
    int rc = tg_config_load_string((const char *)data, size, "f.yaml", &c, eb);
    if (rc != 0) {
        CHECK(c == NULL);
        return rc;
    }
    CHECK(c != NULL);
    struct tg_config *d = tg_config_clone(c);
    struct tg_errbuf veb;
    int v = tg_config_validate(d, &veb);
    CHECK(v == 0 || v == TG_ECONFIG);
    tg_config_free(d);
    tg_config_free(c);
    return rc;
}

/* Lines as YAML counts them: LF, CR, CRLF, and the Unicode breaks NEL, LS and PS. */
static size_t yaml_lines(const uint8_t *d, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\n' || (d[i] == '\r' && (i + 1 == n || d[i + 1] != '\n')))
            lines++;
        else if (i + 1 < n && d[i] == 0xc2 && d[i + 1] == 0x85)
            lines++;
        else if (i + 2 < n && d[i] == 0xe2 && d[i + 1] == 0x80 && (d[i + 2] & 0xfe) == 0xa8)
            lines++;
    }
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    differential(data, size);
    struct tg_errbuf eb, again;
    int rc = load(data, size, &eb);
    if (rc != 0) {
        CHECK(rc == TG_EPARSE || rc == TG_ECONFIG);
        CHECK(eb.msg[0] != '\0' && strcmp(eb.file, "f.yaml") == 0);
        CHECK(eb.line >= 0 && (size_t)eb.line <= yaml_lines(data, size) + 1);
        CHECK(eb.line == 0 ? eb.column == 0 : eb.column >= 1);
        char buf[512];
        CHECK(tg_config_format_error(&eb, buf, sizeof buf) == buf);
    }
    CHECK(load(data, size, &again) == rc);
    CHECK(rc == 0 ||
          (again.line == eb.line && again.column == eb.column && strcmp(again.msg, eb.msg) == 0));
    return 0;
}
