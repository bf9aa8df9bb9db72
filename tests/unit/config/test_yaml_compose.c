/* SPDX-License-Identifier: MIT */
/* The document builder on its own: the nesting limit at its exact boundary, anchors and
 * aliases resolved to the anchored node (the node itself, with its position), duplicate
 * and undefined anchors, explicit tags, and the end of the stream. How the limit and the
 * anchor tree behave on big inputs is checked through the public loader, in
 * test_yaml_load.c. */
#include "config/yaml_compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tg_test.h"

static struct tg_errbuf eb;

/* Composes the first document of `y` into `doc` (deleted by the caller). */
static int compose(const char *y, size_t len, yaml_document_t *doc)
{
    yaml_parser_t p;
    const struct tg_config_source src = {.label = "c.yaml", .text = y, .len = len};
    memset(&eb, 0, sizeof eb);
    if (!yaml_parser_initialize(&p))
        return -1;
    yaml_parser_set_input_string(&p, (const unsigned char *)y, len);
    int rc = tg_config__compose(&p, &src, doc, &eb);
    yaml_parser_delete(&p);
    return rc;
}

#define EXPECT_FAIL(y_, rc_, line_, col_, msg_)                                                    \
    do {                                                                                           \
        yaml_document_t d_;                                                                        \
        TG_EXPECT_EQ(compose((y_), strlen(y_), &d_), (rc_));                                       \
        yaml_document_delete(&d_);                                                                 \
        TG_EXPECT_STREQ(eb.file, "c.yaml");                                                        \
        TG_EXPECT_EQ(eb.line, (line_));                                                            \
        TG_EXPECT_EQ(eb.column, (col_));                                                           \
        TG_EXPECT_STREQ(eb.msg, (msg_));                                                           \
    } while (0)

static const char deep_msg[] = "nesting deeper than 64 levels of lists and mappings";

/* "x: " and `levels` flow lists inside each other (the root mapping is one more level). */
static char *flow_nest(size_t levels)
{
    char *y = malloc(2 * levels + 8);
    strcpy(y, "x: ");
    memset(y + 3, '[', levels);
    memset(y + 3 + levels, ']', levels);
    strcpy(y + 3 + 2 * levels, "\n");
    return y;
}

static void test_nesting(void)
{
    yaml_document_t d;
    char *y = flow_nest(TG_CFG_MAX_DEPTH - 1);
    TG_EXPECT_EQ(compose(y, strlen(y), &d), 0);
    TG_EXPECT_EQ(d.nodes.top - d.nodes.start, TG_CFG_MAX_DEPTH + 1); /* and the key */
    yaml_document_delete(&d);
    free(y);

    /* One more: refused at the list that goes past the limit. */
    y = flow_nest(TG_CFG_MAX_DEPTH);
    EXPECT_FAIL(y, TG_ECONFIG, 1, 4 + TG_CFG_MAX_DEPTH - 1, deep_msg);
    free(y);
}

static yaml_node_t *item(yaml_document_t *d, yaml_node_t *seq, int i)
{
    return yaml_document_get_node(d, seq->data.sequence.items.start[i]);
}

static void test_anchors(void)
{
    yaml_document_t d;
    const char *y = "a: &s [1, &one 2]\nb: *s\nc: [*one, *s]\n";
    TG_EXPECT_EQ(compose(y, strlen(y), &d), 0);
    yaml_node_t *root = yaml_document_get_root_node(&d);
    TG_EXPECT(root && root->type == YAML_MAPPING_NODE);
    if (root && root->data.mapping.pairs.top - root->data.mapping.pairs.start == 3) {
        yaml_node_pair_t *p = root->data.mapping.pairs.start;
        /* An alias is the anchored node itself, not a copy. */
        TG_EXPECT_EQ(p[1].value, p[0].value);
        yaml_node_t *s = yaml_document_get_node(&d, p[0].value);
        yaml_node_t *c = yaml_document_get_node(&d, p[2].value);
        TG_EXPECT_STREQ((const char *)item(&d, s, 1)->data.scalar.value, "2");
        TG_EXPECT(item(&d, c, 0) == item(&d, s, 1));
        TG_EXPECT(item(&d, c, 1) == s);
        /* Positions are the nodes' own, anchor included, as libyaml's loader gives them
         * (0-based). */
        TG_EXPECT_EQ(s->start_mark.line, 0);
        TG_EXPECT_EQ(s->start_mark.column, 3);
        TG_EXPECT_EQ(item(&d, s, 1)->start_mark.column, 10);
    } else {
        TG_EXPECT(!"three pairs");
    }
    yaml_document_delete(&d);

    EXPECT_FAIL("a: &x 1\nb: &x 2\n", TG_EPARSE, 2, 4,
                "invalid YAML: found duplicate anchor \"x\" (first occurrence at line 1)");
    EXPECT_FAIL("a: *x\nb: &x 2\n", TG_EPARSE, 1, 4, "invalid YAML: found undefined alias");
    /* A list or mapping is anchored where it starts, as in libyaml: an alias inside it
     * refers to it (the schema walker only descends into known keys, so this is safe). */
    y = "a: &m {b: *m}\n";
    TG_EXPECT_EQ(compose(y, strlen(y), &d), 0);
    yaml_document_delete(&d);
}

static void test_tags(void)
{
    EXPECT_FAIL("a: !!int 5\n", TG_ECONFIG, 1, 4,
                "YAML tags are not supported (found \"tag:yaml.org,2002:int\")");
    EXPECT_FAIL("a: !env [x]\n", TG_ECONFIG, 1, 4, "YAML tags are not supported (found \"!env\")");
    EXPECT_FAIL("!!set {a: 1}\n", TG_ECONFIG, 1, 1,
                "YAML tags are not supported (found \"tag:yaml.org,2002:set\")");
    /* The kind's own tag and the non-specific "!" change nothing, so they pass. */
    yaml_document_t d;
    const char *y = "a: !!str x\nb: ! y\nc: !!seq []\n";
    TG_EXPECT_EQ(compose(y, strlen(y), &d), 0);
    yaml_document_delete(&d);
}

static void test_stream(void)
{
    const char *y = "a: 1\n---\nb: [\n";
    yaml_parser_t p;
    yaml_document_t d;
    const struct tg_config_source src = {.label = "c.yaml", .text = y, .len = strlen(y)};
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)y, strlen(y));
    TG_EXPECT_EQ(tg_config__compose(&p, &src, &d, &eb), 0);
    TG_EXPECT(yaml_document_get_root_node(&d) != NULL);
    yaml_document_delete(&d);
    /* The second document's syntax error, with libyaml's wording and position. */
    TG_EXPECT_EQ(tg_config__compose(&p, &src, &d, &eb), TG_EPARSE);
    TG_EXPECT_EQ(eb.line, 4);
    TG_EXPECT_STREQ(eb.msg, "invalid YAML: did not find expected node content (while parsing "
                            "a flow node started at line 4)");
    yaml_document_delete(&d);
    yaml_parser_delete(&p);

    /* After the last document: empty documents, however often asked. */
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)"a: 1\n", 5);
    TG_EXPECT_EQ(tg_config__compose(&p, &src, &d, &eb), 0);
    yaml_document_delete(&d);
    for (int i = 0; i < 2; i++) {
        TG_EXPECT_EQ(tg_config__compose(&p, &src, &d, &eb), 0);
        TG_EXPECT(yaml_document_get_root_node(&d) == NULL);
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_nesting();
    test_anchors();
    test_tags();
    test_stream();
    return tg_test_report(argv[0]);
}
