/* SPDX-License-Identifier: MIT */
/* The store of tsdb.h: appends (single and per scrape), stale markers at the end of a
 * scrape, sealing head chunks, and the upkeep (retention by time, the memory cap, the
 * removal of emptied series). Lookup structures live in index.c, reads in select.c, the
 * file in file.c. */
#include "tsdb/tsdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

/* Retention is checked at most this often (sample time): it walks every series. */
#define RETENTION_EVERY_MS 60000
/* A head chunk is also sealed once it spans this fraction of the retention, so a series
 * appended rarely still ages out in steps rather than with one chunk of 120 samples that
 * may span days. With the default 2 h and a 5 s scrape this never triggers (120 samples
 * span 10 min). */
#define CHUNK_SPAN_DIVISOR 8
/* The memory cap, once reached, drops down to 15/16 of the cap, so the sort of every
 * chunk that it takes does not run at every scrape. */
#define CAP_SLACK_DIVISOR 16

struct tg_tsdb *tg_tsdb_new(const struct tg_tsdb_opts *opts)
{
    struct tg_tsdb *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    if (opts)
        db->opts = *opts;
    if (db->opts.retention_ms <= 0)
        db->opts.retention_ms = TG_TSDB_RETENTION_MS_DEFAULT;
    return db;
}

int64_t tg_tsdb_retention_ms(const struct tg_tsdb *db)
{
    return db->opts.retention_ms;
}

static size_t chunk_size(const struct tg_tsdb__chunk *c)
{
    return sizeof *c + tg_chunk_bytes(c->nbits);
}

static void drop_chunks(struct tg_tsdb *db, struct tg_tsdb__series *s, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++) {
        db->st.chunk_bytes -= chunk_size(s->chunks[i]);
        db->st.samples -= s->chunks[i]->n;
        free(s->chunks[i]);
    }
    if (k) /* s->chunks may be NULL when k is 0 */
        memmove(s->chunks, s->chunks + k, (s->nchunks - k) * sizeof *s->chunks);
    s->nchunks -= k;
    db->st.chunks -= k;
}

static void drop_head(struct tg_tsdb *db, struct tg_tsdb__series *s)
{
    db->st.samples -= s->head.n;
    db->st.chunk_bytes -= s->head.cap_bytes;
    tg_chunk_enc_deinit(&s->head);
}

void tg_tsdb__series_free(struct tg_tsdb *db, struct tg_tsdb__series *s)
{
    if (!s)
        return;
    drop_chunks(db, s, s->nchunks);
    drop_head(db, s);
    free(s->chunks);
    free(s->labels);
    free(s);
}

void tg_tsdb_free(struct tg_tsdb *db)
{
    if (!db)
        return;
    for (uint32_t i = 0; i < db->nseries; i++)
        tg_tsdb__series_free(db, db->series[i]);
    free(db->series);
    tg_tsdb__index_free(db);
    free(db);
}

bool tg_tsdb__newest(const struct tg_tsdb__series *s, int64_t *t)
{
    if (s->head.n) {
        *t = s->head.maxt;
        return true;
    }
    if (s->nchunks) {
        *t = s->chunks[s->nchunks - 1]->maxt;
        return true;
    }
    return false;
}

int tg_tsdb__push_chunk(struct tg_tsdb *db, struct tg_tsdb__series *s, struct tg_tsdb__chunk *c)
{
    if (s->nchunks == s->cap_chunks) {
        uint32_t cap = s->cap_chunks ? s->cap_chunks * 2 : 4;
        void *p = realloc(s->chunks, cap * sizeof *s->chunks);
        if (!p)
            return -ENOMEM;
        s->chunks = p;
        s->cap_chunks = cap;
    }
    s->chunks[s->nchunks++] = c;
    db->st.chunks++;
    db->st.chunk_bytes += chunk_size(c);
    db->st.samples += c->n;
    return 0;
}

struct tg_tsdb__chunk *tg_tsdb__chunk_new(int64_t mint, int64_t maxt, uint16_t n,
                                          const uint8_t *data, uint32_t nbits)
{
    /* An integer chunk is kept only when smaller than the XOR one, and a full XOR chunk
     * of TG_CHUNK_SAMPLES is at most 2,175 bytes, so this bounds nothing that matters. */
    uint8_t packed[2304];
    uint32_t packed_bits = 0;
    int rc = tg_chunk_pack(data, nbits, n, packed, sizeof packed, &packed_bits);
    if (rc < 0)
        return NULL;
    if (rc == 1)
        data = packed, nbits = packed_bits;
    size_t bytes = tg_chunk_bytes(nbits);
    struct tg_tsdb__chunk *c = malloc(sizeof *c + bytes);
    if (!c)
        return NULL;
    *c = (struct tg_tsdb__chunk){mint, maxt, nbits, n, rc == 1 ? TG_CHUNK_INT : TG_CHUNK_XOR};
    memcpy(c->data, data, bytes);
    return c;
}

/* Moves the head's samples into a sealed chunk of their exact size and frees the head's
 * buffer, so that a series that stops (or goes stale) holds no slack. */
static int seal(struct tg_tsdb *db, struct tg_tsdb__series *s)
{
    struct tg_tsdb__chunk *c =
        tg_tsdb__chunk_new(s->head.mint, s->head.maxt, s->head.n, s->head.buf, s->head.nbits);
    if (!c || tg_tsdb__push_chunk(db, s, c)) {
        free(c);
        return -ENOMEM;
    }
    db->st.samples -= s->head.n; /* counted again by push_chunk */
    db->st.chunk_bytes -= s->head.cap_bytes;
    tg_chunk_enc_deinit(&s->head);
    return 0;
}

static int series_append(struct tg_tsdb *db, struct tg_tsdb__series *s, int64_t t, double v)
{
    int64_t newest;
    if (tg_tsdb__newest(s, &newest) && t <= newest) {
        if (t == newest) {
            db->st.duplicate_total++;
            return -EEXIST;
        }
        db->st.out_of_order_total++;
        return -ERANGE;
    }
    uint64_t span = (uint64_t)db->opts.retention_ms / CHUNK_SPAN_DIVISOR;
    if (s->head.n >= TG_CHUNK_SAMPLES ||
        (s->head.n && (uint64_t)t - (uint64_t)s->head.mint >= span)) {
        if (seal(db, s))
            return -ENOMEM;
    }
    uint32_t cap0 = s->head.cap_bytes;
    int rc = tg_chunk_enc_append(&s->head, t, v);
    if (rc)
        return rc;
    db->st.chunk_bytes += s->head.cap_bytes - cap0;
    db->st.samples++;
    db->st.samples_appended_total++;
    s->stale = tg_is_stale(v);
    /* A full head is sealed at once rather than at the next append, so its samples
     * take their packed size now. A stale series gets nothing more until it comes back:
     * sealing its head makes it exact-sized and lets the memory cap reclaim series that
     * churned away (endpoints aged out) instead of holding them in head chunks until
     * retention. */
    if (s->stale || s->head.n >= TG_CHUNK_SAMPLES)
        (void)seal(db, s); /* without memory it stays a head: still correct */
    return 0;
}

/* Copies `ls` into `out` without empty values, checking order and size. */
static int normalise(const struct tg_labels *ls, struct tg_label *out, uint32_t *n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < ls->n; i++) {
        const struct tg_label *l = &ls->v[i];
        if (!l->name || !l->value || !l->name[0])
            return -EINVAL;
        if (i > 0 && strcmp(ls->v[i - 1].name, l->name) >= 0)
            return -EINVAL;
        if (!l->value[0])
            continue;
        if (k == TG_TSDB_MAX_LABELS)
            return TG_ELIMIT;
        out[k++] = *l;
    }
    *n = k;
    return k ? 0 : -EINVAL;
}

static int append(struct tg_tsdb *db, const struct tg_labels *ls, int64_t t, double v,
                  bool unscraped)
{
    struct tg_label buf[TG_TSDB_MAX_LABELS];
    struct tg_labels set = {buf, 0};
    int rc = normalise(ls, buf, &set.n);
    if (rc) {
        db->st.invalid_total++;
        return rc;
    }
    uint64_t h = tg_labels_hash(&set);
    uint32_t id = tg_tsdb__series_find(db, &set, h);
    if (id == TG_TSDB__NONE && (rc = tg_tsdb__series_add(db, &set, h, &id)))
        return rc;
    rc = series_append(db, db->series[id], t, v);
    if (rc == -ENOMEM && !db->series[id]->head.n && !db->series[id]->nchunks)
        db->has_empty = true;
    if (unscraped)
        db->series[id]->unscraped = true;
    return rc;
}

int tg_tsdb_append(struct tg_tsdb *db, const struct tg_labels *ls, int64_t t, double v)
{
    return append(db, ls, t, v, false);
}

int tg_tsdb_append_unscraped(struct tg_tsdb *db, const struct tg_labels *ls, int64_t t, double v)
{
    return append(db, ls, t, v, true);
}

/* Drops, in every series, the chunks whose newest sample is before `now - retention`. */
static size_t retention(struct tg_tsdb *db, int64_t now)
{
    int64_t cutoff = now - db->opts.retention_ms;
    size_t dropped = 0;
    for (uint32_t i = 0; i < db->nseries; i++) {
        struct tg_tsdb__series *s = db->series[i];
        uint32_t k = 0;
        while (k < s->nchunks && s->chunks[k]->maxt < cutoff)
            k++;
        drop_chunks(db, s, k);
        dropped += k;
        if (!s->nchunks && s->head.n && s->head.maxt < cutoff) {
            drop_head(db, s);
            dropped++;
        }
        if (!s->nchunks && !s->head.n)
            db->has_empty = true;
    }
    db->st.retention_chunks_total += dropped;
    db->last_retention_t = now;
    db->retention_ran = true;
    return dropped;
}

struct victim {
    int64_t mint;
    uint32_t sid, idx;
};

static int victim_cmp(const void *a, const void *b)
{
    const struct victim *x = a, *y = b;
    if (x->mint != y->mint)
        return x->mint < y->mint ? -1 : 1;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Drops the oldest sealed chunks of the whole store (by first sample time) until the
 * bytes are under the cap's low mark. Within a series the chunks sort in their own
 * order, so what goes is always a prefix of each series' chunks. */
static size_t cap(struct tg_tsdb *db)
{
    if (!db->opts.max_bytes || !db->st.chunks)
        return 0;
    uint64_t bytes = db->st.chunk_bytes + tg_tsdb__index_bytes(db);
    if (bytes <= db->opts.max_bytes)
        return 0;
    uint64_t target = db->opts.max_bytes - db->opts.max_bytes / CAP_SLACK_DIVISOR;
    struct victim *v = malloc(db->st.chunks * sizeof *v);
    uint32_t *upto = calloc(db->nseries, sizeof *upto);
    size_t n = 0, dropped = 0;
    if (!v || !upto)
        goto out;
    for (uint32_t i = 0; i < db->nseries; i++)
        for (uint32_t j = 0; j < db->series[i]->nchunks; j++)
            v[n++] = (struct victim){db->series[i]->chunks[j]->mint, i, j};
    qsort(v, n, sizeof *v, victim_cmp);
    for (size_t i = 0; i < n && bytes > target; i++) {
        bytes -= chunk_size(db->series[v[i].sid]->chunks[v[i].idx]);
        upto[v[i].sid] = v[i].idx + 1;
        dropped++;
    }
    for (uint32_t i = 0; i < db->nseries; i++) {
        struct tg_tsdb__series *s = db->series[i];
        drop_chunks(db, s, upto[i]);
        if (!s->nchunks && !s->head.n)
            db->has_empty = true;
    }
    db->st.cap_chunks_total += dropped;
out:
    free(v);
    free(upto);
    return dropped;
}

size_t tg_tsdb_gc(struct tg_tsdb *db, int64_t now_ms)
{
    size_t dropped = retention(db, now_ms) + cap(db);
    if (db->has_empty)
        (void)tg_tsdb__rebuild(db); /* without memory, the empty series wait */
    return dropped;
}

int tg_tsdb_append_batch(struct tg_tsdb *db, int64_t t, const struct tg_tsdb_point *pts, size_t n,
                         size_t *appended)
{
    size_t ok = 0;
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = tg_tsdb_append(db, &pts[i].labels, t, pts[i].v);
        if (rc == 0)
            ok++;
        else if (rc == -ENOMEM)
            err = rc;
    }
    if (appended)
        *appended = ok;
    if (!db->retention_ran || t - db->last_retention_t >= RETENTION_EVERY_MS)
        retention(db, t);
    cap(db);
    if (db->has_empty)
        (void)tg_tsdb__rebuild(db);
    return err;
}

static bool has_label(const struct tg_tsdb__series *s, const char *name, const char *value)
{
    for (uint32_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return strcmp(s->labels[i].value, value) == 0;
    return false;
}

int tg_tsdb_end_scrape_target(struct tg_tsdb *db, const char *job, const char *instance, int64_t t)
{
    const struct tg_tsdb__postings *p = tg_tsdb__postings(db, "job", job);
    int marked = 0;
    for (uint32_t i = 0; p && i < p->n; i++) {
        struct tg_tsdb__series *s = db->series[p->ids[i]];
        int64_t newest;
        if (s->stale || s->unscraped || !tg_tsdb__newest(s, &newest) || newest >= t ||
            (instance && !has_label(s, "instance", instance)))
            continue;
        int rc = series_append(db, s, t, tg_stale_nan());
        if (rc == -ENOMEM)
            return rc;
        marked += rc == 0;
    }
    return marked;
}

int tg_tsdb_end_scrape(struct tg_tsdb *db, const char *job, int64_t t)
{
    return tg_tsdb_end_scrape_target(db, job, NULL, t);
}

void tg_tsdb_stats(const struct tg_tsdb *db, struct tg_tsdb_stats *out)
{
    *out = db->st;
    out->series = db->nseries;
    out->head_chunks = 0;
    out->mint = out->maxt = 0;
    bool any = false;
    for (uint32_t i = 0; i < db->nseries; i++) {
        const struct tg_tsdb__series *s = db->series[i];
        int64_t lo, hi;
        out->head_chunks += s->head.n > 0;
        if (!tg_tsdb__newest(s, &hi))
            continue;
        lo = s->nchunks ? s->chunks[0]->mint : s->head.mint;
        if (!any || lo < out->mint)
            out->mint = lo;
        if (!any || hi > out->maxt)
            out->maxt = hi;
        any = true;
    }
    out->index_bytes = tg_tsdb__index_bytes(db);
    out->bytes = out->chunk_bytes + out->index_bytes;
}
