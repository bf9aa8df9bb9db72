/* SPDX-License-Identifier: MIT */
/* Entry points that turn YAML text into a snapshot: read the file (bounded, no mmap so a
 * file rewritten during reload cannot fault us), run libyaml's document loader, refuse
 * what the schema walker should never see (syntax errors, several documents, an empty
 * file, explicit tags), then hand the root to schema.c. libyaml marks are 0-based;
 * every position reported from here on is 1-based. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config/config_int.h"
#include "config/diag_int.h"
#include "config/schema_int.h"
#include "config/yaml_walk_int.h"

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

static int syntax_error(const yaml_parser_t *p, const char *text, size_t len, const char *label,
                        struct tg_errbuf *eb)
{
    int line, col;
    if (p->error == YAML_MEMORY_ERROR)
        return tg_config__errf(eb, -ENOMEM, label, 0, 0, "out of memory parsing YAML");
    if (p->error == YAML_READER_ERROR) {
        offset_to_pos(text, len, p->problem_offset, &line, &col);
        return tg_config__errf(eb, TG_EPARSE, label, line, col, "invalid YAML: %s",
                               p->problem ? p->problem : "unreadable input");
    }
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
    if (p->context)
        return tg_config__errf(
            eb, TG_EPARSE, label, line, col, "invalid YAML: %s (%s started at line %zu)",
            p->problem ? p->problem : "syntax error", p->context, p->context_mark.line + 1);
    return tg_config__errf(eb, TG_EPARSE, label, line, col, "invalid YAML: %s",
                           p->problem ? p->problem : "syntax error");
}

/* Refuses explicit tags ("!!int 5", "!env X"): the schema decides types, and a tag that
 * silently changed nothing would mislead. */
static int check_tags(yaml_document_t *doc, const char *label, struct tg_errbuf *eb)
{
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        const char *want = n->type == YAML_SCALAR_NODE     ? YAML_DEFAULT_SCALAR_TAG
                           : n->type == YAML_SEQUENCE_NODE ? YAML_DEFAULT_SEQUENCE_TAG
                                                           : YAML_DEFAULT_MAPPING_TAG;
        if (n->tag && strcmp((const char *)n->tag, want) != 0) {
            char q[TG_CONFIG_QUOTE_CAP];
            const char *t = (const char *)n->tag;
            return tg_config__errf(eb, TG_ECONFIG, label, (int)n->start_mark.line + 1,
                                   (int)n->start_mark.column + 1,
                                   "YAML tags are not supported (found %s)",
                                   tg_config__quote(q, sizeof q, t, strlen(t)));
        }
    }
    return 0;
}

static int load(const char *text, size_t len, const char *label, const char *path,
                struct tg_config **out, struct tg_errbuf *eb)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    struct tg_config *cfg = NULL;
    int rc;

    *out = NULL;
    if (len > TG_CFG_MAX_FILE_BYTES)
        return tg_config__errf(eb, TG_ECONFIG, label, 0, 0, "file is larger than %u bytes",
                               TG_CFG_MAX_FILE_BYTES);
    if (!yaml_parser_initialize(&parser))
        return tg_config__errf(eb, -ENOMEM, label, 0, 0, "out of memory parsing YAML");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = syntax_error(&parser, text, len, label, eb);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = tg_config__errf(eb, TG_ECONFIG, label, 0, 0,
                             "the file is empty (write {} to take every default)");
        goto done;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        rc = syntax_error(&parser, text, len, label, eb);
        goto done;
    }
    bool more = yaml_document_get_root_node(&extra) != NULL;
    yaml_mark_t more_at = extra.start_mark;
    yaml_document_delete(&extra);
    if (more) {
        rc = tg_config__errf(eb, TG_ECONFIG, label, (int)more_at.line + 1, (int)more_at.column + 1,
                             "only one YAML document is allowed (remove this \"---\")");
        goto done;
    }
    if ((rc = check_tags(&doc, label, eb)) != 0)
        goto done;

    cfg = tg_config_new_default();
    if (path)
        memcpy(cfg->file, path, strlen(path) + 1); /* length checked by the caller */
    struct tg_config_walk w = {.doc = &doc, .file = label, .eb = eb};
    rc = tg_config__schema_read(&w, root, cfg);
    if (rc == 0) {
        *out = cfg;
        cfg = NULL;
    }
done:
    tg_config_free(cfg);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int tg_config_load_string(const char *yaml, size_t len, const char *name, struct tg_config **out,
                          struct tg_errbuf *eb)
{
    return load(yaml, len, name ? name : "<string>", NULL, out, eb);
}

/* Reads at most TG_CFG_MAX_FILE_BYTES + 1 bytes, so an oversized file is detected
 * without reading all of it. The caller frees `*text`. */
static int read_file(int fd, char **text, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = tg_config__xcalloc(1, cap);
    for (;;) {
        if (n == cap) {
            if (cap > TG_CFG_MAX_FILE_BYTES)
                break;
            cap *= 2;
            buf = tg_config__xreallocarray(buf, cap, 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            int err = errno;
            free(buf);
            return -err;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *text = buf;
    *len = n;
    return 0;
}

int tg_config_load_file(const char *path, struct tg_config **out, struct tg_errbuf *eb)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if (strlen(path) >= sizeof((struct tg_config *)0)->file)
        return tg_config__errf(eb, -ENAMETOOLONG, path, 0, 0, "path is too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        rc = -errno;
        return tg_config__errf(eb, rc, path, 0, 0, "cannot open: %s", tg_strerror(rc));
    }
    if (fstat(fd, &st) == -1) {
        rc = -errno;
        close(fd);
        return tg_config__errf(eb, rc, path, 0, 0, "cannot read: %s", tg_strerror(rc));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tg_config__errf(eb, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, path, 0, 0,
                               "cannot read: not a regular file");
    }
    rc = read_file(fd, &text, &len);
    close(fd);
    if (rc)
        return tg_config__errf(eb, rc, path, 0, 0, "cannot read: %s", tg_strerror(rc));
    rc = load(text, len, path, path, out, eb);
    free(text);
    return rc;
}
