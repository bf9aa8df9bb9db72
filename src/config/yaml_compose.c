/* SPDX-License-Identifier: MIT */
/* Event-driven document builder with a nesting limit and an anchor tree; see
 * yaml_compose_int.h. Nodes are added through libyaml's public document API, which copies
 * each scalar once more than its own loader does; measured, loading stays within noise of
 * libyaml's loader (the node array dominates: about 1 us and 170 bytes per node), and
 * nothing depends on libyaml's private structures. libyaml marks are 0-based; every
 * position reported from here on is 1-based. */
#include "config/yaml_compose_int.h"

#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/diag_int.h"

struct anchor {
    char *name; /* owned: taken from the event */
    int id;
    size_t line; /* 1-based, for the duplicate message */
};

/* An open list or mapping. */
struct frame {
    int id;
    int key; /* mappings: the key waiting for its value, 0 = none */
};

struct composer {
    yaml_parser_t *parser;
    const struct tg_config_source *src;
    yaml_document_t *doc;
    struct tg_errbuf *eb;
    void *anchors; /* tsearch tree of struct anchor */
    int depth;
    struct frame open[TG_CFG_MAX_DEPTH];
};

/* libyaml's reader reports bad encodings by byte offset only; count lines ourselves. */
static void offset_to_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static int syntax_error(const struct composer *c)
{
    const yaml_parser_t *p = c->parser;
    const char *label = c->src->label;
    int line, col;
    if (p->error == YAML_MEMORY_ERROR)
        return tg_config__errf(c->eb, -ENOMEM, label, 0, 0, "out of memory parsing YAML");
    if (p->error == YAML_READER_ERROR) {
        offset_to_pos(c->src->text, c->src->len, p->problem_offset, &line, &col);
        return tg_config__errf(c->eb, TG_EPARSE, label, line, col, "invalid YAML: %s",
                               p->problem ? p->problem : "unreadable input");
    }
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
    if (p->context)
        return tg_config__errf(
            c->eb, TG_EPARSE, label, line, col, "invalid YAML: %s (%s started at line %zu)",
            p->problem ? p->problem : "syntax error", p->context, p->context_mark.line + 1);
    return tg_config__errf(c->eb, TG_EPARSE, label, line, col, "invalid YAML: %s",
                           p->problem ? p->problem : "syntax error");
}

static int no_memory(const struct composer *c)
{
    return tg_config__errf(c->eb, -ENOMEM, c->src->label, 0, 0, "out of memory parsing YAML");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct anchor *)a)->name, ((const struct anchor *)b)->name);
}

static void free_anchor(void *p)
{
    struct anchor *a = p;
    free(a->name);
    free(a);
}

/* Refuses explicit tags ("!!int 5", "!env X"): the schema decides types, and a tag that
 * silently changed nothing would mislead. "!" and the kind's own default tag are what
 * libyaml reports for untagged nodes. */
static int check_tag(const struct composer *c, const yaml_char_t *tag, const char *want,
                     yaml_mark_t at)
{
    const char *t = (const char *)tag;
    if (!t || strcmp(t, "!") == 0 || strcmp(t, want) == 0)
        return 0;
    char q[TG_CONFIG_QUOTE_CAP];
    return tg_config__errf(c->eb, TG_ECONFIG, c->src->label, (int)at.line + 1, (int)at.column + 1,
                           "YAML tags are not supported (found %s)",
                           tg_config__quote(q, sizeof q, t, strlen(t)));
}

/* Records `name` (taken, may be NULL) as the anchor of node `id`. */
static int define_anchor(struct composer *c, char *name, int id, yaml_mark_t at)
{
    if (!name)
        return 0;
    struct anchor *a = malloc(sizeof *a);
    if (!a) {
        free(name);
        return no_memory(c);
    }
    *a = (struct anchor){.name = name, .id = id, .line = at.line + 1};
    struct anchor **slot = tsearch(a, &c->anchors, by_name);
    if (slot && *slot == a)
        return 0;
    int rc = no_memory(c);
    if (slot) {
        char q[TG_CONFIG_QUOTE_CAP];
        rc = tg_config__errf(c->eb, TG_EPARSE, c->src->label, (int)at.line + 1, (int)at.column + 1,
                             "invalid YAML: found duplicate anchor %s (first occurrence at "
                             "line %zu)",
                             tg_config__quote(q, sizeof q, name, strlen(name)), (*slot)->line);
    }
    free_anchor(a);
    return rc;
}

/* Hangs node `id` under the innermost open list or mapping (the root has no parent: it
 * is the document's first node). */
static int attach(struct composer *c, int id)
{
    if (c->depth == 0)
        return 0;
    struct frame *f = &c->open[c->depth - 1];
    int ok;
    if (yaml_document_get_node(c->doc, f->id)->type == YAML_SEQUENCE_NODE) {
        ok = yaml_document_append_sequence_item(c->doc, f->id, id);
    } else if (!f->key) {
        f->key = id;
        ok = 1;
    } else {
        ok = yaml_document_append_mapping_pair(c->doc, f->id, f->key, id);
        f->key = 0;
    }
    return ok ? 0 : no_memory(c);
}

static int on_alias(struct composer *c, const yaml_event_t *ev)
{
    struct anchor key = {.name = (char *)ev->data.alias.anchor};
    struct anchor **hit = tfind(&key, &c->anchors, by_name);
    if (!hit)
        return tg_config__errf(c->eb, TG_EPARSE, c->src->label, (int)ev->start_mark.line + 1,
                               (int)ev->start_mark.column + 1,
                               "invalid YAML: found undefined alias");
    return attach(c, (*hit)->id);
}

static int on_scalar(struct composer *c, yaml_event_t *ev)
{
    int rc = check_tag(c, ev->data.scalar.tag, YAML_DEFAULT_SCALAR_TAG, ev->start_mark);
    if (rc)
        return rc;
    int id = yaml_document_add_scalar(c->doc, NULL, ev->data.scalar.value,
                                      (int)ev->data.scalar.length, ev->data.scalar.style);
    if (!id)
        return no_memory(c);
    yaml_node_t *n = yaml_document_get_node(c->doc, id);
    n->start_mark = ev->start_mark;
    n->end_mark = ev->end_mark;
    char *anchor = (char *)ev->data.scalar.anchor;
    ev->data.scalar.anchor = NULL;
    rc = define_anchor(c, anchor, id, ev->start_mark);
    return rc ? rc : attach(c, id);
}

static int on_start(struct composer *c, yaml_event_t *ev)
{
    bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
    if (c->depth == TG_CFG_MAX_DEPTH)
        return tg_config__errf(c->eb, TG_ECONFIG, c->src->label, (int)ev->start_mark.line + 1,
                               (int)ev->start_mark.column + 1,
                               "nesting deeper than %d levels of lists and mappings",
                               TG_CFG_MAX_DEPTH);
    int rc = check_tag(c, seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag,
                       seq ? YAML_DEFAULT_SEQUENCE_TAG : YAML_DEFAULT_MAPPING_TAG, ev->start_mark);
    if (rc)
        return rc;
    int id = seq ? yaml_document_add_sequence(c->doc, NULL, ev->data.sequence_start.style)
                 : yaml_document_add_mapping(c->doc, NULL, ev->data.mapping_start.style);
    if (!id)
        return no_memory(c);
    yaml_document_get_node(c->doc, id)->start_mark = ev->start_mark;
    yaml_char_t **anchor = seq ? &ev->data.sequence_start.anchor : &ev->data.mapping_start.anchor;
    rc = define_anchor(c, (char *)*anchor, id, ev->start_mark);
    *anchor = NULL;
    if (rc == 0)
        rc = attach(c, id);
    if (rc == 0)
        c->open[c->depth++] = (struct frame){.id = id};
    return rc;
}

static void on_end(struct composer *c, const yaml_event_t *ev)
{
    yaml_document_get_node(c->doc, c->open[--c->depth].id)->end_mark = ev->end_mark;
}

/* Reads events up to the end of the document. */
static int compose_body(struct composer *c)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(c->parser, &ev))
            return syntax_error(c);
        int rc = 0;
        switch (ev.type) {
        case YAML_ALIAS_EVENT:
            rc = on_alias(c, &ev);
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(c, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            rc = on_start(c, &ev);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            on_end(c, &ev);
            break;
        case YAML_DOCUMENT_END_EVENT:
            c->doc->end_mark = ev.end_mark;
            rc = TG_DONE;
            break;
        default: /* the parser emits nothing else inside a document */
            rc = tg_config__errf(c->eb, TG_EPARSE, c->src->label, 0, 0,
                                 "invalid YAML: unexpected event %d", (int)ev.type);
            break;
        }
        yaml_event_delete(&ev);
        if (rc)
            return rc == TG_DONE ? 0 : rc;
    }
}

int tg_config__compose(yaml_parser_t *parser, const struct tg_config_source *src,
                       yaml_document_t *doc, struct tg_errbuf *eb)
{
    struct composer c = {.parser = parser, .src = src, .doc = doc, .eb = eb};
    yaml_event_t ev;
    memset(doc, 0, sizeof *doc);
    if (!parser->stream_start_produced) {
        if (!yaml_parser_parse(parser, &ev))
            return syntax_error(&c);
        yaml_event_delete(&ev); /* STREAM-START */
    }
    if (parser->stream_end_produced)
        return 0;
    if (!yaml_parser_parse(parser, &ev))
        return syntax_error(&c);
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    /* The document's directives are not kept: the schema has no use for them. */
    int ok = yaml_document_initialize(doc, NULL, NULL, NULL, ev.data.document_start.implicit, 1);
    doc->start_mark = ev.start_mark;
    yaml_event_delete(&ev);
    int rc = ok ? compose_body(&c) : no_memory(&c);
    tdestroy(c.anchors, free_anchor);
    return rc;
}
