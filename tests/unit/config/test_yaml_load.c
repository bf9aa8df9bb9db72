/* SPDX-License-Identifier: MIT */
/* Loading: YAML syntax errors with their positions, the document-level refusals (empty,
 * several documents, tags, oversized), file reading and its errors, and the shipped
 * examples/ YAML files, which must always load and validate. */
#include "config/config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_test.h"

static struct tg_errbuf eb;

static int load(const char *y)
{
    struct tg_config *c = (struct tg_config *)1;
    memset(&eb, 0, sizeof eb);
    int rc = tg_config_load_string(y, strlen(y), "s.yaml", &c, &eb);
    if (rc != 0 && c != NULL)
        return -1;
    tg_config_free(c);
    return rc;
}

#define EXPECT_LOAD(y_, rc_, line_, col_, msg_)                                                    \
    do {                                                                                           \
        TG_EXPECT_EQ(load(y_), (rc_));                                                             \
        TG_EXPECT_STREQ(eb.file, "s.yaml");                                                        \
        TG_EXPECT_EQ(eb.line, (line_));                                                            \
        TG_EXPECT_EQ(eb.column, (col_));                                                           \
        TG_EXPECT_STREQ(eb.msg, (msg_));                                                           \
    } while (0)

static void test_syntax(void)
{
    EXPECT_LOAD("workers: [1\n", TG_EPARSE, 2, 1,
                "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence "
                "started at line 1)");
    EXPECT_LOAD("listen: a: b\n", TG_EPARSE, 1, 10,
                "invalid YAML: mapping values are not allowed in this context");
    EXPECT_LOAD("admin:\n\ttoken: x\n", TG_EPARSE, 2, 1,
                "invalid YAML: found character that cannot start any token (while scanning for "
                "the next token started at line 2)");
    EXPECT_LOAD("workers: 1\nlisten: \"\xff\"\n", TG_EPARSE, 2, 10,
                "invalid YAML: invalid leading UTF-8 octet");
    EXPECT_LOAD("workers: *w\n", TG_EPARSE, 1, 10, "invalid YAML: found undefined alias");
    EXPECT_LOAD("workers: 1\n---\n[\n", TG_EPARSE, 4, 1,
                "invalid YAML: did not find expected node content (while parsing a flow node "
                "started at line 4)");
}

static void test_documents(void)
{
    EXPECT_LOAD("", TG_ECONFIG, 0, 0, "the file is empty (write {} to take every default)");
    EXPECT_LOAD("# nothing yet\n\n", TG_ECONFIG, 0, 0,
                "the file is empty (write {} to take every default)");
    EXPECT_LOAD("workers: 1\n---\nworkers: 2\n", TG_ECONFIG, 2, 1,
                "only one YAML document is allowed (remove this \"---\")");
    EXPECT_LOAD("workers: !!int 5\n", TG_ECONFIG, 1, 10,
                "YAML tags are not supported (found \"tag:yaml.org,2002:int\")");
    EXPECT_LOAD("listen: !env LISTEN\n", TG_ECONFIG, 1, 9,
                "YAML tags are not supported (found \"!env\")");
    /* A leading "---" and a trailing "..." are one document. */
    TG_EXPECT_EQ(load("---\nworkers: 1\n...\n"), 0);
    TG_EXPECT_EQ(load("{}"), 0);
}

static void test_string_input(void)
{
    /* The buffer need not be NUL-terminated: only `len` bytes are read. */
    const char text[] = "workers: 3garbage";
    struct tg_config *c = NULL;
    TG_EXPECT_EQ(tg_config_load_string(text, 10, NULL, &c, &eb), 0);
    TG_EXPECT_EQ(c ? c->workers : 0, 3);
    TG_EXPECT_STREQ(c ? c->file : "?", "");
    tg_config_free(c);
    /* With no name, errors say "<string>". */
    TG_EXPECT_EQ(tg_config_load_string("x: 1", 4, NULL, &c, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.file, "<string>");
    TG_EXPECT(c == NULL);

    size_t big = TG_CFG_MAX_FILE_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    TG_EXPECT_EQ(tg_config_load_string(huge, big, "h.yaml", &c, &eb), TG_ECONFIG);
    TG_EXPECT_STREQ(eb.msg, "file is larger than 16777216 bytes");
    free(huge);
}

static const char deep_msg[] = "nesting deeper than 64 levels of lists and mappings";

/* "routes: " and `levels` flow lists inside each other. */
static char *flow_nest(size_t levels)
{
    char *y = malloc(2 * levels + 16);
    strcpy(y, "routes: ");
    memset(y + 8, '[', levels);
    memset(y + 8 + levels, ']', levels);
    strcpy(y + 8 + 2 * levels, "\n");
    return y;
}

/* The nesting limit (TG_CFG_MAX_DEPTH, the root mapping included). Before it, a file 40k
 * levels deep took 3.7 s to be refused for something else, 100k levels over 20 s. */
static void test_nesting(void)
{
    char *y = flow_nest(TG_CFG_MAX_DEPTH - 1);
    EXPECT_LOAD(y, TG_ECONFIG, 1, 10, "routes[0]: expected a mapping, got a list");
    free(y);
    y = flow_nest(TG_CFG_MAX_DEPTH);
    EXPECT_LOAD(y, TG_ECONFIG, 1, 9 + TG_CFG_MAX_DEPTH - 1, deep_msg);
    free(y);
    /* A million levels (2 MB) are refused as fast: nothing past the limit is read. */
    y = flow_nest(1000000);
    EXPECT_LOAD(y, TG_ECONFIG, 1, 9 + TG_CFG_MAX_DEPTH - 1, deep_msg);
    free(y);

    /* Block style: mapping k starts at line k + 1, column k + 1. */
    size_t cap = 8 * 1024, o = 0;
    y = malloc(cap);
    for (int k = 0; k < 70; k++)
        o += (size_t)snprintf(y + o, cap - o, "%*sk%d:\n", k, "", k);
    EXPECT_LOAD(y, TG_ECONFIG, TG_CFG_MAX_DEPTH + 1, TG_CFG_MAX_DEPTH + 1, deep_msg);
    /* Lists of mappings: each "- a:" opens two levels. */
    o = (size_t)snprintf(y, cap, "r:\n");
    for (int k = 0; k < 40; k++)
        o += (size_t)snprintf(y + o, cap - o, "%*s- a:\n", 2 * k + 1, "");
    EXPECT_LOAD(y, TG_ECONFIG, 33, 66, deep_msg);

    /* An alias is the anchored node, not a copy: a 40-deep list aliased 40 levels down is
     * not 80 levels deep. */
    o = 0;
    o += (size_t)snprintf(y + o, cap - o, "a: &x ");
    for (int k = 0; k < 40; k++)
        o += (size_t)snprintf(y + o, cap - o, "[");
    for (int k = 0; k < 40; k++)
        o += (size_t)snprintf(y + o, cap - o, "]");
    o += (size_t)snprintf(y + o, cap - o, "\nb: ");
    for (int k = 0; k < 40; k++)
        o += (size_t)snprintf(y + o, cap - o, "[");
    o += (size_t)snprintf(y + o, cap - o, "*x");
    for (int k = 0; k < 40; k++)
        o += (size_t)snprintf(y + o, cap - o, "]");
    EXPECT_LOAD(y, TG_ECONFIG, 1, 1,
                "unknown key \"a\" (docs/config.md lists the keys)");
    free(y);
}

/* `n` anchored scalars, then an alias of each, in one list (under an unknown key: the
 * document is built whole before the schema looks at it). */
static void many_anchors(size_t n, void *arg)
{
    (void)arg;
    size_t cap = n * 32 + 16, o = 0;
    char *y = malloc(cap);
    o += (size_t)snprintf(y, cap, "x: [");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(y + o, cap - o, "&a%zu %zu, ", i, i);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(y + o, cap - o, "*a%zu, ", i);
    snprintf(y + o, cap - o, "0]\n");
    TG_EXPECT_EQ(load(y), TG_ECONFIG);
    TG_EXPECT_EQ(eb.line, 1);
    free(y);
}

/* Anchors cost O(log n) each: libyaml's loader scanned all earlier anchors for each new
 * anchor and each alias, and took 19 s for 100k anchors. */
static void test_anchor_cost(void)
{
    double g = tg_test_growth(many_anchors, 2000, 16, NULL);
    TG_EXPECT(g < 4);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    TG_EXPECT(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void test_files(void)
{
    char dir[] = "/tmp/tg_config_test_XXXXXX";
    TG_EXPECT(mkdtemp(dir) != NULL);
    char path[300], missing[300];
    snprintf(path, sizeof path, "%s/tailguard.yaml", dir);
    snprintf(missing, sizeof missing, "%s/missing.yaml", dir);

    struct tg_config *c = (struct tg_config *)1;
    write_file(path, "upstreams:\n  - name: app\n    servers: [\"127.0.0.1:8080\"]\n");
    TG_EXPECT_EQ(tg_config_load_file(path, &c, &eb), 0);
    TG_EXPECT_STREQ(c ? c->file : "", path);
    TG_EXPECT_EQ(c ? tg_config_validate(c, &eb) : -1, 0);
    tg_config_free(c);

    write_file(path, "upstreams:\n  - name: app\n    servers: [\"127.0.0.1:8080\"]\n"
                     "    keepalive: lots\n");
    TG_EXPECT_EQ(tg_config_load_file(path, &c, &eb), TG_ECONFIG);
    TG_EXPECT(c == NULL);
    TG_EXPECT_STREQ(eb.file, path);
    TG_EXPECT_EQ(eb.line, 4);
    TG_EXPECT_EQ(eb.column, 16);
    TG_EXPECT_STREQ(eb.msg, "upstreams[0].keepalive: expected an integer, got \"lots\"");

    TG_EXPECT_EQ(tg_config_load_file(missing, &c, &eb), -ENOENT);
    TG_EXPECT(c == NULL);
    TG_EXPECT_STREQ(eb.file, missing);
    TG_EXPECT_EQ(eb.line, 0);
    TG_EXPECT_STREQ(eb.msg, "cannot open: No such file or directory");

    TG_EXPECT_EQ(tg_config_load_file(dir, &c, &eb), -EISDIR);
    TG_EXPECT_STREQ(eb.msg, "cannot read: not a regular file");

    char longpath[400];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    TG_EXPECT_EQ(tg_config_load_file(longpath, &c, &eb), -ENAMETOOLONG);
    TG_EXPECT_STREQ(eb.msg, "path is too long");

    /* Larger than one read buffer: the reader loops. */
    size_t n = 0, cap = 300000;
    char *text = malloc(cap);
    n += (size_t)snprintf(text + n, cap - n, "upstreams:\n  - name: app\n    servers:\n");
    for (int i = 1; i <= 1000; i++)
        n += (size_t)snprintf(text + n, cap - n, "      - \"10.0.%d.%d:8080\"   # server %d\n",
                              i / 256, i % 256, i);
    write_file(path, text);
    free(text);
    TG_EXPECT_EQ(tg_config_load_file(path, &c, &eb), 0);
    TG_EXPECT_EQ(c ? c->upstreams[0].nservers : 0, 1000);
    TG_EXPECT_STREQ(c ? c->upstreams[0].servers[999].addr.text : "", "10.0.3.232:8080");
    tg_config_free(c);

    unlink(path);
    rmdir(dir);
}

/* The repository root, found from this file's path: tests/unit/config/ -> ../../.. */
static void repo_file(char *out, size_t cap, const char *rel)
{
    char here[512];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *d = dirname(here); /* tests/unit/config */
    snprintf(out, cap, "%s/../../../%s", d, rel);
}

static void test_examples(void)
{
    static const char *const files[] = {"examples/tailguard.yaml", "examples/minimal.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[600], msg[600];
        struct tg_config *c = NULL;
        repo_file(path, sizeof path, files[i]);
        int rc = tg_config_load_file(path, &c, &eb);
        if (rc == 0)
            rc = tg_config_validate(c, &eb);
        if (rc != 0)
            fprintf(stderr, "%s\n", tg_config_format_error(&eb, msg, sizeof msg));
        TG_EXPECT_EQ(rc, 0);
        if (c && i == 0) {
            TG_EXPECT_EQ(c->nupstreams, 2);
            TG_EXPECT_EQ(c->nroutes, 4);
            TG_EXPECT_EQ(c->workers, 2);
            TG_EXPECT_EQ(c->max_body_bytes, 10485760);
            TG_EXPECT_EQ(c->upstreams[0].nservers, 2);
            TG_EXPECT(c->upstreams[0].health.enabled);
            TG_EXPECT_EQ(c->routes[3].cls, TG_CLASS_CRITICAL);
        }
        if (c && i == 1) {
            TG_EXPECT_EQ(c->nupstreams, 1);
            TG_EXPECT_STREQ(c->upstreams[0].servers[0].addr.text, "127.0.0.1:8080");
        }
        tg_config_free(c);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    test_syntax();
    test_documents();
    test_string_input();
    test_nesting();
    test_anchor_cost();
    test_files();
    test_examples();
    return tg_test_report(argv[0]);
}
