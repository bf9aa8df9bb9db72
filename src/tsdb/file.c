/* SPDX-License-Identifier: MIT */
/* The store's file (docs/tsdb.md): saved whole on request and read back at start.
 *
 * Layout, integers little-endian: a 16-byte header (magic "TGTSDB\0\0", u32 version,
 * u32 CRC-32 of the first 12 bytes), then blocks of {u32 type, u32 payload length,
 * payload, u32 CRC-32 of type, length and payload}. Series blocks (type 1) hold a
 * varint count and that many series; one end block (type 2: varint series total) closes
 * the file, so a file cut at a block boundary is still seen as truncated. A series is
 * its label count, each name and value (varint length, bytes), its chunk count and each
 * chunk (zigzag varint first time, varint span to the last time, varint samples, varint
 * coding (enum tg_chunk_coding), varint bits, then the bytes of chunk.h as the store
 * holds them); the head chunk is written as one more chunk, packed like a sealed one,
 * and is read back sealed.
 *
 * Version 1 files, written before the integer coding, had no coding field (every chunk
 * was XOR). They are still read, and their chunks are packed as they are loaded, so an
 * upgrade keeps the history and the next save writes version 2.
 *
 * The reader trusts nothing: checksums first, then every length against what is left,
 * every label set for order and emptiness, every chunk decoded in full against its
 * stated count and times, times increasing across a series' chunks, and no series
 * twice. Anything wrong makes the whole file refused with the offset of the fault,
 * because a store with holes would answer queries wrongly without saying so. */
#include "tsdb/tsdb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tsdb/tsdb_int.h"

#define MAGIC "TGTSDB\0\0"
#define VERSION 2
#define VERSION_XOR_ONLY 1
#define HEADER_BYTES 16
#define BLOCK_SERIES 1
#define BLOCK_END 2
/* Series blocks are cut at about this size, so memory for a block stays small. */
#define BLOCK_TARGET (1u << 20)
/* A block larger than this is refused before its bytes are looked at. */
#define BLOCK_MAX (64u << 20)

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0L, p, (uInt)n);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- writing ---- */

struct out {
    uint8_t *buf; /* the block being built: 8 bytes of framing, then the payload */
    size_t n, cap;
    int err;
};

static void out_bytes(struct out *o, const void *p, size_t n)
{
    if (o->err)
        return;
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->n + n)
            cap *= 2;
        uint8_t *b = realloc(o->buf, cap);
        if (!b) {
            o->err = -ENOMEM;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->n, p, n);
    o->n += n;
}

static void out_varint(struct out *o, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    out_bytes(o, b, n);
}

static void out_str(struct out *o, const char *s)
{
    size_t n = strlen(s);
    out_varint(o, n);
    out_bytes(o, s, n);
}

static void out_chunk(struct out *o, int64_t mint, int64_t maxt, uint16_t n,
                      enum tg_chunk_coding coding, uint32_t nbits, const uint8_t *data)
{
    out_varint(o, ((uint64_t)mint << 1) ^ (uint64_t)(mint >> 63));
    out_varint(o, (uint64_t)maxt - (uint64_t)mint);
    out_varint(o, n);
    out_varint(o, coding);
    out_varint(o, nbits);
    out_bytes(o, data, tg_chunk_bytes(nbits));
}

/* Frames the block in `o` (type, length, payload from offset 8), writes it, empties `o`. */
static int flush_block(struct out *o, uint32_t type, tg_tsdb__write_fn *write, void *ctx)
{
    uint8_t c[4];
    if (o->err)
        return o->err;
    put_u32(o->buf, type);
    put_u32(o->buf + 4, (uint32_t)(o->n - 8));
    put_u32(c, crc(o->buf, o->n));
    out_bytes(o, c, 4);
    int rc = o->err ? o->err : write(ctx, o->buf, o->n);
    o->n = 0;
    return rc;
}

/* Starts a block: room for its framing, then the varint count patched in at flush. */
static void begin_block(struct out *o)
{
    static const uint8_t frame[8];
    o->n = 0;
    out_bytes(o, frame, sizeof frame);
}

static void out_series(struct out *o, const struct tg_tsdb__series *s)
{
    out_varint(o, s->nlabels);
    for (uint32_t i = 0; i < s->nlabels; i++) {
        out_str(o, s->labels[i].name);
        out_str(o, s->labels[i].value);
    }
    out_varint(o, s->nchunks + (s->head.n > 0));
    for (uint32_t i = 0; i < s->nchunks; i++) {
        const struct tg_tsdb__chunk *c = s->chunks[i];
        out_chunk(o, c->mint, c->maxt, c->n, c->coding, c->nbits, c->data);
    }
    if (!s->head.n)
        return;
    /* Packed as seal() would, so that the file does not depend on where the head was. */
    uint8_t packed[2304];
    uint32_t nbits;
    if (tg_chunk_pack(s->head.buf, s->head.nbits, s->head.n, packed, sizeof packed, &nbits) == 1)
        out_chunk(o, s->head.mint, s->head.maxt, s->head.n, TG_CHUNK_INT, nbits, packed);
    else
        out_chunk(o, s->head.mint, s->head.maxt, s->head.n, TG_CHUNK_XOR, s->head.nbits,
                  s->head.buf);
}

int tg_tsdb__encode(const struct tg_tsdb *db, tg_tsdb__write_fn *write, void *ctx)
{
    uint8_t hdr[HEADER_BYTES];
    memcpy(hdr, MAGIC, 8);
    put_u32(hdr + 8, VERSION);
    put_u32(hdr + 12, crc(hdr, 12));
    int rc = write(ctx, hdr, sizeof hdr);
    struct out o = {0}, body = {0};
    /* A block's series go to `body` first, since their count leads the payload. */
    for (uint32_t i = 0; rc == 0 && i < db->nseries;) {
        uint32_t count = 0;
        body.n = 0;
        while (i < db->nseries && body.n < BLOCK_TARGET) {
            out_series(&body, db->series[i++]);
            count++;
        }
        begin_block(&o);
        out_varint(&o, count);
        out_bytes(&o, body.buf, body.n);
        rc = body.err ? body.err : flush_block(&o, BLOCK_SERIES, write, ctx);
    }
    if (rc == 0) {
        begin_block(&o);
        out_varint(&o, db->nseries);
        rc = flush_block(&o, BLOCK_END, write, ctx);
    }
    free(o.buf);
    free(body.buf);
    return rc;
}

static int write_fd(void *ctx, const void *p, size_t n)
{
    int fd = *(int *)ctx;
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            return -errno;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    int rc = fsync(fd) == -1 ? -errno : 0;
    close(fd);
    return rc;
}

int tg_tsdb_save(const struct tg_tsdb *db, const char *path, struct tg_errbuf *eb)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return tg_errbuf_set(eb, -ENAMETOOLONG, "tsdb file %.120s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        int e = errno;
        return tg_errbuf_set(eb, -e, "tsdb file %.120s: create: %s", tmp, tg_strerror(-e));
    }
    const char *step = "write";
    int rc = tg_tsdb__encode(db, write_fd, &fd);
    if (rc == 0 && fsync(fd) == -1)
        rc = -errno, step = "fsync";
    if (close(fd) == -1 && rc == 0)
        rc = -errno, step = "close";
    if (rc == 0 && rename(tmp, path) == -1)
        rc = -errno, step = "rename";
    if (rc == 0 && (rc = fsync_dir(path)) != 0)
        step = "fsync of the directory";
    if (rc) {
        unlink(tmp);
        return tg_errbuf_set(eb, rc, "tsdb file %.120s: %s: %s", path, step, tg_strerror(rc));
    }
    return 0;
}

/* ---- reading ---- */

struct in {
    const uint8_t *p, *end;
};

static bool in_varint(struct in *in, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64 && in->p < in->end; shift += 7) {
        uint8_t b = *in->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* A name or value: copied with a terminating NUL into `scratch` at *used. */
static bool in_str(struct in *in, char *scratch, size_t cap, size_t *used, const char **s)
{
    uint64_t n;
    if (!in_varint(in, &n) || n == 0 || n > (uint64_t)(in->end - in->p) || n >= cap - *used)
        return false;
    if (memchr(in->p, 0, n))
        return false;
    char *d = scratch + *used;
    memcpy(d, in->p, n);
    d[n] = 0;
    *used += n + 1;
    in->p += n;
    *s = d;
    return true;
}

/* Reads, checks and stores one chunk of `s`; *prev_maxt is the series' newest time so
 * far (has_prev false for the first chunk). A version 1 chunk has no coding field. */
static const char *in_chunk(struct tg_tsdb *db, struct tg_tsdb__series *s, struct in *in,
                            uint32_t version, bool has_prev, int64_t *prev_maxt)
{
    uint64_t zz, span, n, coding = TG_CHUNK_XOR, nbits;
    if (!in_varint(in, &zz) || !in_varint(in, &span) || !in_varint(in, &n) ||
        (version != VERSION_XOR_ONLY && !in_varint(in, &coding)) || !in_varint(in, &nbits))
        return "chunk header truncated";
    if (n == 0 || n > TG_CHUNK_SAMPLES)
        return "chunk sample count out of range";
    if (coding != TG_CHUNK_XOR && coding != TG_CHUNK_INT)
        return "unknown chunk coding";
    size_t bytes = tg_chunk_bytes((uint32_t)(nbits > UINT32_MAX ? 0 : nbits));
    if (nbits > UINT32_MAX || bytes > (size_t)(in->end - in->p))
        return "chunk data truncated";
    int64_t mint = (int64_t)((zz >> 1) ^ (~(zz & 1) + 1));
    int64_t maxt = (int64_t)((uint64_t)mint + span);
    if (maxt < mint || (has_prev && mint <= *prev_maxt))
        return "chunk times out of order";
    struct tg_chunk_it it;
    tg_chunk_it_init(&it, (enum tg_chunk_coding)coding, in->p, (uint32_t)nbits, (uint16_t)n);
    int64_t t = 0, first = 0;
    double v = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (tg_chunk_it_next(&it, &t, &v) != 1)
            return "chunk data corrupt";
        if (i == 0)
            first = t;
    }
    if (first != mint || t != maxt)
        return "chunk times differ from its header";
    struct tg_tsdb__chunk *c;
    if (coding == TG_CHUNK_XOR) { /* packed if it can be, as the store would have */
        c = tg_tsdb__chunk_new(mint, maxt, (uint16_t)n, in->p, (uint32_t)nbits);
    } else if ((c = malloc(sizeof *c + bytes)) != NULL) {
        *c = (struct tg_tsdb__chunk){mint, maxt, (uint32_t)nbits, (uint16_t)n, TG_CHUNK_INT};
        memcpy(c->data, in->p, bytes);
    }
    if (!c)
        return "out of memory"; /* the stream was checked above */
    /* Bits past nbits are zero in what the writer makes; clear them so the image
     * written back is canonical whatever this one held. */
    if (c->nbits & 7)
        c->data[tg_chunk_bytes(c->nbits) - 1] &= (uint8_t)(0xff00 >> (c->nbits & 7));
    if (tg_tsdb__push_chunk(db, s, c)) {
        free(c);
        return "out of memory";
    }
    in->p += bytes;
    *prev_maxt = maxt;
    s->stale = tg_is_stale(v);
    return NULL;
}

static const char *in_series(struct tg_tsdb *db, struct in *in, uint32_t version, char *scratch,
                             size_t cap)
{
    struct tg_label l[TG_TSDB_MAX_LABELS];
    uint64_t nl, nc;
    size_t used = 0;
    if (!in_varint(in, &nl) || nl == 0 || nl > TG_TSDB_MAX_LABELS)
        return "label count out of range";
    for (uint64_t i = 0; i < nl; i++) {
        if (!in_str(in, scratch, cap, &used, &l[i].name) ||
            !in_str(in, scratch, cap, &used, &l[i].value))
            return "label truncated or empty";
        if (i > 0 && strcmp(l[i - 1].name, l[i].name) >= 0)
            return "labels not sorted";
    }
    struct tg_labels ls = {l, (uint32_t)nl};
    uint64_t h = tg_labels_hash(&ls);
    if (tg_tsdb__series_find(db, &ls, h) != TG_TSDB__NONE)
        return "series repeated";
    if (!in_varint(in, &nc) || nc == 0 || nc > (uint64_t)(in->end - in->p))
        return "chunk count out of range";
    uint32_t id;
    if (tg_tsdb__series_add(db, &ls, h, &id))
        return "out of memory";
    int64_t prev = 0;
    for (uint64_t i = 0; i < nc; i++) {
        const char *why = in_chunk(db, db->series[id], in, version, i > 0, &prev);
        if (why)
            return why;
    }
    return NULL;
}

/* Empties `db` after a failed load, keeping the counters it had before. */
static void reset(struct tg_tsdb *db, const struct tg_tsdb_stats *before)
{
    for (uint32_t i = 0; i < db->nseries; i++)
        tg_tsdb__series_free(db, db->series[i]);
    free(db->series);
    db->series = NULL;
    db->nseries = db->cap_series = 0;
    tg_tsdb__index_free(db);
    db->st = *before;
}

static int fail_at(struct tg_tsdb *db, const struct tg_tsdb_stats *before, struct tg_errbuf *eb,
                   const char *name, size_t off, const char *why)
{
    reset(db, before);
    return tg_errbuf_set(eb, TG_ESTORE, "tsdb file %.120s: offset %zu: %s", name, off, why);
}

int tg_tsdb__decode(struct tg_tsdb *db, const uint8_t *p, size_t n, const char *name,
                    struct tg_errbuf *eb)
{
    struct tg_tsdb_stats before = db->st;
    if (db->nseries)
        return tg_errbuf_set(eb, -EINVAL, "tsdb file %.120s: the store is not empty", name);
    if (n < HEADER_BYTES || memcmp(p, MAGIC, 8) != 0)
        return fail_at(db, &before, eb, name, 0, "not a tailguard tsdb file");
    if (get_u32(p + 12) != crc(p, 12))
        return fail_at(db, &before, eb, name, 12, "header checksum mismatch");
    uint32_t version = get_u32(p + 8);
    if (version != VERSION && version != VERSION_XOR_ONLY)
        return fail_at(db, &before, eb, name, 8, "unknown format version");
    size_t off = HEADER_BYTES;
    uint64_t total = 0;
    char *scratch = NULL;
    size_t scratch_cap = 0;
    const char *why = NULL;
    for (;;) {
        if (n - off < 12) {
            why = "truncated: no end block";
            break;
        }
        uint32_t type = get_u32(p + off), len = get_u32(p + off + 4);
        if (len > BLOCK_MAX || len > n - off - 12) {
            why = "truncated block";
            break;
        }
        if (get_u32(p + off + 8 + len) != crc(p + off, (size_t)len + 8)) {
            why = "block checksum mismatch";
            break;
        }
        struct in in = {p + off + 8, p + off + 8 + len};
        uint64_t count;
        if (!in_varint(&in, &count)) {
            why = "block count truncated";
            break;
        }
        if (type == BLOCK_END) {
            if (count != total || in.p != in.end)
                why = "end block does not match the series read";
            else if (off + 12 + len != n)
                why = "bytes after the end block";
            break;
        }
        if (type != BLOCK_SERIES) {
            why = "unknown block type";
            break;
        }
        /* Each series' strings fit in its block, so the block's size bounds them. */
        if (scratch_cap < (size_t)len + 1) {
            free(scratch);
            scratch_cap = (size_t)len + 1;
            if (!(scratch = malloc(scratch_cap))) {
                why = "out of memory";
                break;
            }
        }
        for (uint64_t i = 0; i < count && !why; i++) {
            const uint8_t *at = in.p;
            if ((why = in_series(db, &in, version, scratch, scratch_cap)))
                off = (size_t)(at - p);
        }
        if (why)
            break;
        if (in.p != in.end) {
            why = "block longer than its series";
            break;
        }
        total += count;
        off += 12 + (size_t)len;
    }
    free(scratch);
    if (why && strcmp(why, "out of memory") != 0)
        return fail_at(db, &before, eb, name, off, why);
    if (why) {
        reset(db, &before);
        return tg_errbuf_set(eb, -ENOMEM, "tsdb file %.120s: out of memory", name);
    }
    return 0;
}

void tg_tsdb__file_resign(uint8_t *p, size_t n)
{
    if (n < HEADER_BYTES)
        return;
    put_u32(p + 12, crc(p, 12));
    for (size_t off = HEADER_BYTES; n - off >= 12;) {
        uint32_t len = get_u32(p + off + 4);
        if (len > n - off - 12)
            return;
        put_u32(p + off + 8 + len, crc(p + off, (size_t)len + 8));
        off += 12 + (size_t)len;
    }
}

int tg_tsdb_load(struct tg_tsdb *db, const char *path, struct tg_errbuf *eb)
{
    if (db->nseries)
        return tg_errbuf_set(eb, -EINVAL, "tsdb file %.120s: the store is not empty", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        int e = errno;
        return tg_errbuf_set(eb, -e, "tsdb file %.120s: open: %s", path, tg_strerror(-e));
    }
    struct stat st;
    uint8_t *buf = NULL;
    int rc = 0;
    if (fstat(fd, &st) == -1) {
        rc = -errno;
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(size ? size : 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break; /* shrank under us: the decoder reports it truncated */
        got += (size_t)r;
    }
    close(fd);
    fd = -1;
    rc = tg_tsdb__decode(db, buf, got, path, eb);
    free(buf);
    return rc;
out:
    close(fd);
    free(buf);
    return tg_errbuf_set(eb, rc, "tsdb file %.120s: read: %s", path, tg_strerror(rc));
}
