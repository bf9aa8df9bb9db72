/* SPDX-License-Identifier: MIT */
/* Entry points that turn YAML text into a snapshot: read the file (bounded, no mmap so a
 * file rewritten during reload cannot fault us), build the document (yaml_compose.c:
 * syntax errors, nesting, anchors, tags), refuse what the schema walker should never see
 * (several documents, an empty file), then hand the root to schema.c. */
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
#include "config/schema_policy_int.h"
#include "config/yaml_compose_int.h"
#include "config/yaml_walk_int.h"

static int load(const char *text, size_t len, const char *label, const char *path,
                struct tg_config **out, struct tg_errbuf *eb)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    struct tg_config *cfg = NULL;
    const struct tg_config_source src = {.label = label, .text = text, .len = len};
    int rc;

    *out = NULL;
    if (len > TG_CFG_MAX_FILE_BYTES)
        return tg_config__errf(eb, TG_ECONFIG, label, 0, 0, "file is larger than %u bytes",
                               TG_CFG_MAX_FILE_BYTES);
    if (!yaml_parser_initialize(&parser))
        return tg_config__errf(eb, -ENOMEM, label, 0, 0, "out of memory parsing YAML");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if ((rc = tg_config__compose(&parser, &src, &doc, eb)) != 0)
        goto done;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = tg_config__errf(eb, TG_ECONFIG, label, 0, 0,
                             "the file is empty (write {} to take every default)");
        goto done;
    }
    rc = tg_config__compose(&parser, &src, &extra, eb);
    bool more = yaml_document_get_root_node(&extra) != NULL;
    yaml_mark_t more_at = extra.start_mark;
    yaml_document_delete(&extra);
    if (rc)
        goto done;
    if (more) {
        rc = tg_config__errf(eb, TG_ECONFIG, label, (int)more_at.line + 1, (int)more_at.column + 1,
                             "only one YAML document is allowed (remove this \"---\")");
        goto done;
    }

    cfg = tg_config_new_default();
    if (path)
        memcpy(cfg->file, path, strlen(path) + 1); /* length checked by the caller */
    struct tg_config_walk w = {.doc = &doc, .file = label, .eb = eb, .record = true};
    rc = tg_config__schema_read(&w, root, cfg);
    if (rc == 0)
        rc = tg_config__policy_finish(cfg, eb);
    if (rc == 0) {
        /* "\n" before the first key too, so every key can be found as "\nkey\n". */
        cfg->file_keys = tg_config__xcalloc(w.seen_len + 2, 1);
        cfg->file_keys[0] = '\n';
        if (w.seen_len)
            memcpy(cfg->file_keys + 1, w.seen, w.seen_len);
        *out = cfg;
        cfg = NULL;
    }
    free(w.seen);
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
