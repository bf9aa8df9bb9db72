/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: builds a libyaml document from the parser's events, in place of
 * yaml_parser_load. libyaml 0.2.5's own loader has no nesting limit, and it finds anchors
 * by a linear scan, so it is quadratic in the number of anchors (100k anchors: 19 s); its
 * scanner also re-checks every open flow level on each token, quadratic in nesting depth
 * (40k levels: 3.7 s). Here nesting deeper than TG_CFG_MAX_DEPTH is refused at the list or
 * mapping that goes past it, which also bounds the scanner's work per token; anchors are
 * kept in a search tree (O(log n) per anchor and alias); explicit tags are refused where
 * they appear. As in libyaml, an anchor is defined where its node starts, so an alias
 * inside that node makes a cycle; the schema walker only descends into known keys, so a
 * cycle cannot loop it. Used by yaml_load.c only. */
#ifndef TG_CONFIG_YAML_COMPOSE_INT_H
#define TG_CONFIG_YAML_COMPOSE_INT_H

#include <stddef.h>
#include <yaml.h>

#include "core/err.h"

/* The input, for messages: libyaml reports encoding errors by byte offset only. */
struct tg_config_source {
    const char *label; /* file name for messages */
    const char *text;
    size_t len;
};

/* Reads the next document of `parser` into `doc` (which the caller then owns and deletes
 * with yaml_document_delete, also on failure). At the end of the stream `doc` is empty:
 * yaml_document_get_root_node returns NULL. Returns 0, TG_EPARSE for invalid YAML (a
 * duplicate anchor or an undefined alias included), TG_ECONFIG for nesting deeper than
 * TG_CFG_MAX_DEPTH or an explicit tag, or -ENOMEM; `eb` says where and why. Linear in the
 * input apart from the anchor tree. */
int tg_config__compose(yaml_parser_t *parser, const struct tg_config_source *src,
                       yaml_document_t *doc, struct tg_errbuf *eb);

#endif
