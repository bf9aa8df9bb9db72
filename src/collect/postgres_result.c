/* SPDX-License-Identifier: MIT */
/* Result tables of the PostgreSQL collector's diagnostics (postgres.h): the text cells
 * of a query's rows, copied out of libpq's result so that the admin API never sees
 * libpq, and so that its JSON shaping is tested on tables built by hand. One allocation
 * per cell is fine here: a diagnostic answers tens of rows, on demand. */
#include "collect/postgres.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "collect/postgres_int.h"

struct tg_cpg_result {
    int ncols, nrows, caprows;
    char **names;
    char **cells; /* nrows * ncols; NULL = SQL NULL */
};

int tg_cpg_result_nrows(const struct tg_cpg_result *r)
{
    return r ? r->nrows : 0;
}

int tg_cpg_result_ncols(const struct tg_cpg_result *r)
{
    return r ? r->ncols : 0;
}

const char *tg_cpg_result_name(const struct tg_cpg_result *r, int col)
{
    return r && col >= 0 && col < r->ncols ? r->names[col] : "";
}

int tg_cpg_result_col(const struct tg_cpg_result *r, const char *name)
{
    for (int i = 0; r && i < r->ncols; i++)
        if (strcmp(r->names[i], name) == 0)
            return i;
    return -1;
}

const char *tg_cpg_result_get(const struct tg_cpg_result *r, int row, int col)
{
    if (!r || row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
        return NULL;
    return r->cells[(size_t)row * (size_t)r->ncols + (size_t)col];
}

void tg_cpg_result_free(struct tg_cpg_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->ncols; i++)
        free(r->names[i]);
    for (size_t i = 0; i < (size_t)r->nrows * (size_t)r->ncols; i++)
        free(r->cells[i]);
    free(r->names);
    free(r->cells);
    free(r);
}

struct tg_cpg_result *tg_cpg_result_new(int ncols, const char *const *names)
{
    struct tg_cpg_result *r = calloc(1, sizeof *r);
    if (!r || ncols < 0 || !(r->names = calloc((size_t)ncols + 1, sizeof *r->names)))
        goto fail;
    for (; r->ncols < ncols; r->ncols++)
        if (!(r->names[r->ncols] = strdup(names[r->ncols] ? names[r->ncols] : "")))
            goto fail;
    return r;
fail:
    tg_cpg_result_free(r);
    return NULL;
}

int tg_cpg_result_add_row(struct tg_cpg_result *r, const char *const *cells)
{
    if (r->nrows == r->caprows) {
        int cap = r->caprows ? r->caprows * 2 : 16;
        char **c = realloc(r->cells, (size_t)cap * (size_t)(r->ncols ? r->ncols : 1) * sizeof *c);
        if (!c)
            return -ENOMEM;
        r->cells = c;
        r->caprows = cap;
    }
    char **row = r->cells + (size_t)r->nrows * (size_t)r->ncols;
    for (int i = 0; i < r->ncols; i++) {
        row[i] = cells[i] ? strdup(cells[i]) : NULL;
        if (cells[i] && !row[i]) {
            while (i-- > 0)
                free(row[i]);
            return -ENOMEM;
        }
    }
    r->nrows++;
    return 0;
}

struct tg_cpg_result *tg_cpg__result_from(const void *pgresult)
{
    const PGresult *pr = pgresult;
    int nc = PQnfields(pr), nr = PQntuples(pr);
    const char *names[64], *cells[64];
    if (nc > 64)
        nc = 64; /* our queries have a dozen columns at most */
    for (int i = 0; i < nc; i++)
        names[i] = PQfname(pr, i);
    struct tg_cpg_result *r = tg_cpg_result_new(nc, names);
    for (int row = 0; r && row < nr; row++) {
        for (int i = 0; i < nc; i++)
            cells[i] = PQgetisnull(pr, row, i) ? NULL : PQgetvalue(pr, row, i);
        if (tg_cpg_result_add_row(r, cells) != 0) {
            tg_cpg_result_free(r);
            r = NULL;
        }
    }
    return r;
}
