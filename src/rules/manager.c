/* SPDX-License-Identifier: MIT */
/* The rule manager; see manager.h. Groups are kept in file order, then group order, as
 * Prometheus lists them. */
#include "rules/manager.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tg_rules_mgr {
    struct tg_rule_file **files;
    size_t nfiles;
    struct tg_rules_group **groups;
    size_t ngroups;
};

void tg_rules_mgr_free(struct tg_rules_mgr *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ngroups; i++)
        tg_rules_group_free(m->groups[i]);
    free(m->groups);
    for (size_t i = 0; i < m->nfiles; i++)
        tg_rulefile_free(m->files[i]);
    free(m->files);
    free(m);
}

/* Appends the messages of `from` to `to`. */
static int errors_take(struct tg_rule_errors *to, struct tg_rule_errors *from)
{
    char **v = realloc(to->msgs, (to->n + from->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    to->msgs = v;
    memcpy(v + to->n, from->msgs, from->n * sizeof *v);
    to->n += from->n;
    free(from->msgs);
    *from = (struct tg_rule_errors){0};
    return 0;
}

static int add_groups(struct tg_rules_mgr *m, const struct tg_rule_file *f, int64_t interval)
{
    for (size_t i = 0; i < f->ngroups; i++) {
        struct tg_rules_group **v = realloc(m->groups, (m->ngroups + 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        m->groups = v;
        int rc = tg_rules_group_new(f->path, &f->groups[i], interval, &v[m->ngroups]);
        if (rc)
            return rc;
        m->ngroups++;
    }
    return 0;
}

int tg_rules_mgr_load(const char *const *files, size_t nfiles, int64_t default_interval_ms,
                      struct tg_rules_mgr **out, struct tg_rule_errors *errs)
{
    *out = NULL;
    int64_t interval = default_interval_ms > 0 ? default_interval_ms : TG_RULES_INTERVAL_MS_DEFAULT;
    struct tg_rules_mgr *m = calloc(1, sizeof *m);
    if (!m || !(m->files = calloc(nfiles ? nfiles : 1, sizeof *m->files))) {
        free(m);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < nfiles; i++) {
        struct tg_rule_errors fe = {0};
        int frc = tg_rulefile_load(files[i], &m->files[m->nfiles], &fe);
        if (frc == 0)
            m->nfiles++;
        else if (errors_take(errs, &fe) != 0 || frc == -ENOMEM)
            rc = -ENOMEM;
        else if (rc == 0)
            rc = TG_ECONFIG;
        tg_rule_errors_free(&fe);
    }
    for (size_t i = 0; rc == 0 && i < m->nfiles; i++)
        rc = add_groups(m, m->files[i], interval);
    if (rc) {
        tg_rules_mgr_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void tg_rules_mgr_adopt(struct tg_rules_mgr *m, struct tg_rules_mgr *old,
                        const struct tg_rules_env *env, int64_t now_ms)
{
    for (size_t k = 0; k < old->ngroups; k++) {
        struct tg_rules_group *o = old->groups[k];
        struct tg_rules_group *match = NULL;
        for (size_t i = 0; i < m->ngroups && !match; i++) {
            struct tg_rules_group *g = m->groups[i];
            if (strcmp(tg_rules_group_file(g), tg_rules_group_file(o)) == 0 &&
                strcmp(tg_rules_group_name(g), tg_rules_group_name(o)) == 0)
                match = g;
        }
        if (match)
            tg_rules_group_adopt(match, o);
        else
            tg_rules_group_stale_all(o, env->db, now_ms);
    }
}

size_t tg_rules_mgr_run(struct tg_rules_mgr *m, const struct tg_rules_env *env, int64_t now_ms)
{
    size_t ran = 0;
    for (size_t i = 0; i < m->ngroups; i++)
        ran += tg_rules_group_run(m->groups[i], env, now_ms);
    return ran;
}

int64_t tg_rules_mgr_next_ms(const struct tg_rules_mgr *m)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < m->ngroups; i++) {
        struct tg_rules_group_stats st;
        tg_rules_group_stats(m->groups[i], &st);
        if (st.next_ms && st.next_ms < next)
            next = st.next_ms;
    }
    return next;
}

size_t tg_rules_mgr_ngroups(const struct tg_rules_mgr *m)
{
    return m->ngroups;
}

struct tg_rules_group *tg_rules_mgr_group(const struct tg_rules_mgr *m, size_t i)
{
    return m->groups[i];
}

size_t tg_rules_mgr_nrules(const struct tg_rules_mgr *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->ngroups; i++)
        n += tg_rules_group_nrules(m->groups[i]);
    return n;
}
