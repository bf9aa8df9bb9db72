/* SPDX-License-Identifier: MIT */
/* Rule files (see rulefile.h): libyaml's document tree walked strictly, each problem
 * written the way Prometheus's rulefmt words it ("LINE:COL: group \"g\", rule N, \"name\":
 * ..."), then the rules built: expressions parsed, templates parsed, durations read. */
#include "rules/rulefile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "promql/parse.h"

#define MAX_FILE_BYTES (16u << 20)

struct ctx {
    const char *path;
    yaml_document_t *doc;
    struct tg_rule_errors *errs;
    struct tg_rule_file *f;
    bool oom;
};

__attribute__((format(printf, 2, 3))) static void err(struct ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char **v = realloc(c->errs->msgs, (c->errs->n + 1) * sizeof *v);
    char *m = strdup(msg);
    if (!v || !m) {
        free(m);
        if (v)
            c->errs->msgs = v;
        c->oom = true;
        return;
    }
    c->errs->msgs = v;
    v[c->errs->n++] = m;
}

void tg_rule_errors_free(struct tg_rule_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    *e = (struct tg_rule_errors){0};
}

bool tg_rule_duration(const char *s, int64_t *ms)
{
    return tg_promql_duration(s, strlen(s), ms) == 0;
}

static bool metric_name_ok(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':'))
            return false;
    return true;
}

static bool label_name_ok(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int line_of(yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int col_of(yaml_node_t *n)
{
    return (int)n->start_mark.column + 1;
}

/* A rule's problem, prefixed as rulefmt prefixes it. */
struct where {
    yaml_node_t *node;
    const char *group;
    size_t index; /* 1-based */
    const char *name;
};

/* Positions as rulefmt gives them: the node the problem is about (the expression, the
 * record or alert name), "0:0" when that node is missing, none for label problems. */
#define RULE_ERR_AT(c, n, w, fmt, ...)                                                       \
    err(c, "%s: %d:%d: group \"%s\", rule %zu, \"%s\": " fmt, (c)->path,                    \
        (n) ? line_of(n) : 0, (n) ? col_of(n) : 0, (w)->group, (w)->index, (w)->name,       \
        __VA_ARGS__)
#define RULE_ERR(c, w, fmt, ...)                                                             \
    err(c, "%s: group \"%s\", rule %zu, \"%s\": " fmt, (c)->path, (w)->group, (w)->index,    \
        (w)->name, __VA_ARGS__)

static int read_map(struct ctx *c, yaml_node_t *m, struct where *w, const char *what,
                    struct tg_rule_kv **out, size_t *nout, bool templates, bool names_are_labels)
{
    if (m->type != YAML_MAPPING_NODE) {
        RULE_ERR(c, w, "%s must be a mapping", what);
        return 0;
    }
    size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    struct tg_rule_kv *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return c->oom = true, -ENOMEM;
    size_t k = 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *name = scalar(yaml_document_get_node(c->doc, p->key));
        const char *value = scalar(yaml_document_get_node(c->doc, p->value));
        if (!name || !value) {
            RULE_ERR(c, w, "%s: names and values must be strings", what);
            continue;
        }
        if (!label_name_ok(name) || (names_are_labels && strcmp(name, "__name__") == 0)) {
            RULE_ERR(c, w, "invalid %s name: %s", names_are_labels ? "label" : "annotation", name);
            continue;
        }
        struct tg_rule_kv *e = &v[k++];
        e->name = strdup(name);
        e->value = strdup(value);
        if (!e->name || !e->value)
            c->oom = true;
        if (templates && e->value) {
            struct tg_errbuf eb = {0};
            if (tg_template_parse(value, &e->tmpl, &eb) != 0) {
                /* "template: L:C: why" becomes Prometheus's "template: __alert_NAME:L: why" */
                int line = 1, used = 0;
                const char *why = eb.msg;
                if (sscanf(eb.msg, "template: %d:%*d: %n", &line, &used) >= 1 && used > 0)
                    why = eb.msg + used;
                RULE_ERR(c, w, "%s \"%s\": template: __alert_%s:%d: %s", what, name, w->name,
                         line, why);
            }
        }
    }
    *out = v;
    *nout = k;
    return 0;
}

static void rule_free(struct tg_rule *r)
{
    free(r->name);
    free(r->expr_text);
    tg_promql_node_free(r->expr);
    struct tg_rule_kv *sets[2] = {r->labels, r->annotations};
    size_t ns[2] = {r->nlabels, r->nannotations};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < ns[s]; i++) {
            free(sets[s][i].name);
            free(sets[s][i].value);
            tg_template_free(sets[s][i].tmpl);
        }
        free(sets[s]);
    }
}

static void read_rule(struct ctx *c, yaml_node_t *node, const char *group, size_t index,
                      struct tg_rule *r)
{
    struct where w = {node, group, index, ""};
    r->line = line_of(node);
    if (node->type != YAML_MAPPING_NODE) {
        RULE_ERR(c, &w, "%s", "a rule must be a mapping");
        return;
    }
    yaml_node_t *record = NULL, *alert = NULL, *expr = NULL, *forn = NULL, *kff = NULL,
                *labels = NULL, *ann = NULL;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *key = scalar(k);
        yaml_node_t **slot = !key                               ? NULL
                             : strcmp(key, "record") == 0        ? &record
                             : strcmp(key, "alert") == 0         ? &alert
                             : strcmp(key, "expr") == 0          ? &expr
                             : strcmp(key, "for") == 0           ? &forn
                             : strcmp(key, "keep_firing_for") == 0 ? &kff
                             : strcmp(key, "labels") == 0        ? &labels
                             : strcmp(key, "annotations") == 0   ? &ann
                                                                 : NULL;
        if (!slot)
            err(c, "%s: yaml: unmarshal errors:\n  line %d: field %s not found in type "
                   "rulefmt.RuleNode", c->path, line_of(k), key ? key : "?");
        else
            *slot = v;
    }
    const char *name = scalar(alert) ? scalar(alert) : scalar(record) ? scalar(record) : "";
    w.name = name;
    if (record && alert) {
        err(c, "%s: %d:%d: %d:%d: group \"%s\", rule %zu, \"%s\": only one of 'record' and "
               "'alert' must be set", c->path, line_of(record), col_of(record), line_of(alert),
            col_of(alert), group, index, name);
        return;
    }
    if (!record && !alert) {
        RULE_ERR_AT(c, (yaml_node_t *)NULL, &w, "%s", "one of 'record' or 'alert' must be set");
        return;
    }
    yaml_node_t *named = alert ? alert : record;
    r->alert = alert != NULL;
    r->name = strdup(name);
    if (!r->name)
        c->oom = true;
    if (!name[0])
        RULE_ERR_AT(c, named, &w, "field '%s' must be set in rule", r->alert ? "alert" : "record");
    if (!r->alert && name[0] && !metric_name_ok(name))
        RULE_ERR_AT(c, named, &w, "invalid recording rule name: %s", name);
    const char *e = scalar(expr);
    if (!e || !e[0]) {
        RULE_ERR_AT(c, (yaml_node_t *)NULL, &w, "%s", "field 'expr' must be set in rule");
    } else {
        r->expr_text = strdup(e);
        struct tg_errbuf eb = {0};
        if (tg_promql_parse(e, strlen(e), &r->expr, &eb) != 0)
            RULE_ERR_AT(c, expr, &w, "could not parse expression: %s", eb.msg);
    }
    if (!r->alert) {
        if (ann)
            RULE_ERR_AT(c, named, &w, "%s", "invalid field 'annotations' in recording rule");
        if (forn)
            RULE_ERR_AT(c, named, &w, "%s", "invalid field 'for' in recording rule");
        if (kff)
            RULE_ERR_AT(c, named, &w, "%s", "invalid field 'keep_firing_for' in recording rule");
    }
    yaml_node_t *durs[2] = {forn, kff};
    int64_t *outs[2] = {&r->for_ms, &r->keep_firing_for_ms};
    for (int i = 0; i < 2; i++) {
        if (!durs[i])
            continue;
        const char *d = scalar(durs[i]);
        if (!d || !tg_rule_duration(d, outs[i]))
            err(c, "%s: not a valid duration string: \"%s\"", c->path, d ? d : "");
    }
    if (labels)
        read_map(c, labels, &w, "label", &r->labels, &r->nlabels, r->alert, true);
    if (ann && r->alert)
        read_map(c, ann, &w, "annotation", &r->annotations, &r->nannotations, true, false);
}

static void read_group(struct ctx *c, yaml_node_t *g, struct tg_rule_group *out)
{
    if (g->type != YAML_MAPPING_NODE) {
        err(c, "%s: yaml: unmarshal errors:\n  line %d: cannot unmarshal %s into "
               "rulefmt.RuleGroup", c->path, line_of(g),
            g->type == YAML_SEQUENCE_NODE ? "!!seq" : "!!str");
        return;
    }
    yaml_node_t *name = NULL, *interval = NULL, *limit = NULL, *rules = NULL;
    for (yaml_node_pair_t *p = g->data.mapping.pairs.start; p < g->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *key = scalar(k);
        if (key && strcmp(key, "name") == 0)
            name = v;
        else if (key && strcmp(key, "interval") == 0)
            interval = v;
        else if (key && strcmp(key, "limit") == 0)
            limit = v;
        else if (key && strcmp(key, "rules") == 0)
            rules = v;
        else
            err(c, "%s: yaml: unmarshal errors:\n  line %d: field %s not found in type "
                   "rulefmt.RuleGroup", c->path, line_of(k), key ? key : "?");
    }
    const char *gn = scalar(name) ? scalar(name) : "";
    out->name = strdup(gn);
    if (!out->name)
        c->oom = true;
    if (!gn[0])
        err(c, "%s: %d:%d: Groupname must not be empty", c->path, line_of(g), col_of(g));
    for (size_t i = 0; i < c->f->ngroups; i++)
        if (gn[0] && c->f->groups[i].name && strcmp(c->f->groups[i].name, gn) == 0)
            err(c, "%s: %d:%d: groupname: \"%s\" is repeated in the same file", c->path,
                line_of(g), col_of(g), gn);
    if (interval && (!scalar(interval) || !tg_rule_duration(scalar(interval), &out->interval_ms)))
        err(c, "%s: not a valid duration string: \"%s\"", c->path,
            scalar(interval) ? scalar(interval) : "");
    if (limit) {
        const char *l = scalar(limit);
        char *end = NULL;
        long v = l ? strtol(l, &end, 10) : -1;
        if (!l || *end || v < 0 || v > INT32_MAX)
            err(c, "%s: yaml: unmarshal errors:\n  line %d: cannot unmarshal !!str `%s` into int",
                c->path, line_of(limit), l ? l : "");
        else
            out->limit = (uint32_t)v;
    }
    if (!rules || rules->type != YAML_SEQUENCE_NODE) {
        if (rules && !(rules->type == YAML_SCALAR_NODE && !scalar(rules)[0]))
            err(c, "%s: yaml: unmarshal errors:\n  line %d: cannot unmarshal into "
                   "[]rulefmt.RuleNode", c->path, line_of(rules));
        return;
    }
    size_t n = (size_t)(rules->data.sequence.items.top - rules->data.sequence.items.start);
    out->rules = calloc(n ? n : 1, sizeof *out->rules);
    if (!out->rules) {
        c->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *r = yaml_document_get_node(c->doc, rules->data.sequence.items.start[i]);
        read_rule(c, r, gn, i + 1, &out->rules[out->nrules++]);
    }
}

void tg_rulefile_free(struct tg_rule_file *f)
{
    if (!f)
        return;
    for (size_t g = 0; g < f->ngroups; g++) {
        for (size_t i = 0; i < f->groups[g].nrules; i++)
            rule_free(&f->groups[g].rules[i]);
        free(f->groups[g].rules);
        free(f->groups[g].name);
    }
    free(f->groups);
    free(f->path);
    free(f);
}

size_t tg_rulefile_count(const struct tg_rule_file *f)
{
    size_t n = 0;
    for (size_t g = 0; g < f->ngroups; g++)
        n += f->groups[g].nrules;
    return n;
}

int tg_rulefile_parse(const char *path, const char *text, size_t len, struct tg_rule_file **out,
                      struct tg_rule_errors *errs)
{
    *out = NULL;
    struct tg_rule_file *f = calloc(1, sizeof *f);
    struct ctx c = {path, NULL, errs, f, false};
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return -ENOMEM;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        err(&c, "%s: yaml: line %zu: %s", path, p.problem_mark.line + 1,
            p.problem ? p.problem : "invalid YAML");
        yaml_parser_delete(&p);
        tg_rulefile_free(f);
        return TG_ECONFIG;
    }
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_SEQUENCE_NODE) {
        err(&c, "%s: yaml: unmarshal errors:\n  line %d: cannot unmarshal !!seq into "
                "rulefmt.RuleGroups (a rule file is a mapping with `groups:`, each group a "
                "`name:` and its `rules:`; put a bare list of rules under one group)",
            path, line_of(root));
    } else if (root && root->type == YAML_MAPPING_NODE) {
        yaml_node_t *groups = NULL;
        for (yaml_node_pair_t *q = root->data.mapping.pairs.start;
             q < root->data.mapping.pairs.top; q++) {
            yaml_node_t *k = yaml_document_get_node(&doc, q->key);
            if (scalar(k) && strcmp(scalar(k), "groups") == 0)
                groups = yaml_document_get_node(&doc, q->value);
            else
                err(&c, "%s: yaml: unmarshal errors:\n  line %d: field %s not found in type "
                        "rulefmt.RuleGroups", path, line_of(k), scalar(k) ? scalar(k) : "?");
        }
        if (groups && groups->type == YAML_SEQUENCE_NODE) {
            size_t n = (size_t)(groups->data.sequence.items.top - groups->data.sequence.items.start);
            f->groups = calloc(n ? n : 1, sizeof *f->groups);
            for (size_t i = 0; f->groups && i < n; i++) {
                yaml_node_t *g = yaml_document_get_node(&doc, groups->data.sequence.items.start[i]);
                read_group(&c, g, &f->groups[i]);
                f->ngroups++;
            }
            c.oom = c.oom || !f->groups;
        } else if (groups && !(groups->type == YAML_SCALAR_NODE && !scalar(groups)[0])) {
            err(&c, "%s: yaml: unmarshal errors:\n  line %d: cannot unmarshal into "
                    "[]rulefmt.RuleGroup", path, line_of(groups));
        }
    } else if (root && !(root->type == YAML_SCALAR_NODE && !scalar(root)[0])) {
        err(&c, "%s: yaml: unmarshal errors:\n  line %d: cannot unmarshal !!str into "
                "rulefmt.RuleGroups", path, line_of(root));
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    if (c.oom) {
        tg_rulefile_free(f);
        return -ENOMEM;
    }
    if (errs->n) {
        tg_rulefile_free(f);
        return TG_ECONFIG;
    }
    *out = f;
    return 0;
}

int tg_rulefile_load(const char *path, struct tg_rule_file **out, struct tg_rule_errors *errs)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        struct ctx c = {path, NULL, errs, NULL, false};
        err(&c, "%s: %s", path, strerror(e));
        return -e;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, fp) : 0;
    fclose(fp);
    if (!buf)
        return -ENOMEM;
    if (n > MAX_FILE_BYTES) {
        free(buf);
        struct ctx c = {path, NULL, errs, NULL, false};
        err(&c, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
        return TG_ECONFIG;
    }
    int rc = tg_rulefile_parse(path, buf, n, out, errs);
    free(buf);
    return rc;
}
