/* SPDX-License-Identifier: MIT */
/* The codecs described in chunk.h. Bits are written most significant first into bytes;
 * the encoder grows its buffer in small steps and the decoder checks every read against
 * the stream's length, so a corrupt stream is an error and never a read past the end. Time
 * arithmetic is done on uint64_t so that any pair of int64 times (huge gaps included) codes and
 * decodes exactly, modulo 2^64, without signed overflow. */
#include "tsdb/chunk.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void tg_chunk_enc_init(struct tg_chunk_enc *e)
{
    memset(e, 0, sizeof *e);
    e->leading = 0xff;
}

void tg_chunk_enc_deinit(struct tg_chunk_enc *e)
{
    if (!e)
        return;
    free(e->buf);
    tg_chunk_enc_init(e);
}

void tg_chunk_enc_reset(struct tg_chunk_enc *e)
{
    if (e->buf) /* put() ORs bits in: the buffer must start zeroed */
        memset(e->buf, 0, tg_chunk_bytes(e->nbits));
    uint8_t *buf = e->buf;
    uint32_t cap = e->cap_bytes;
    tg_chunk_enc_init(e);
    e->buf = buf;
    e->cap_bytes = cap;
}

/* Room for `nbits` more bits (a sample takes at most 4 + 64 + 2 + 11 + 64 bits). The
 * buffer grows in steps of GROW_BYTES rather than by doubling: a store holds one head
 * buffer per series, and doubling left a third of each unused on average (a 120-sample
 * chunk of a counter is 150 to 300 bytes). A realloc every 16 samples or so is cheap. */
#define GROW_BYTES 32

static int reserve(struct tg_chunk_enc *e, uint32_t nbits)
{
    size_t need = tg_chunk_bytes(e->nbits + nbits);
    if (need <= e->cap_bytes)
        return 0;
    size_t cap = (need + GROW_BYTES - 1) / GROW_BYTES * GROW_BYTES;
    uint8_t *b = realloc(e->buf, cap);
    if (!b)
        return -ENOMEM;
    memset(b + e->cap_bytes, 0, cap - e->cap_bytes);
    e->buf = b;
    e->cap_bytes = (uint32_t)cap;
    return 0;
}

/* Writes the low `n` bits of `v` (n <= 64); room must be reserved. */
static void put(struct tg_chunk_enc *e, uint64_t v, unsigned n)
{
    while (n > 0) {
        unsigned free_bits = 8 - (e->nbits & 7);
        unsigned take = n < free_bits ? n : free_bits;
        uint8_t bits = (uint8_t)((v >> (n - take)) & ((1u << take) - 1));
        e->buf[e->nbits >> 3] |= (uint8_t)(bits << (free_bits - take));
        e->nbits += take;
        n -= take;
    }
}

static void put_varint(struct tg_chunk_enc *e, uint64_t v)
{
    while (v >= 0x80) {
        put(e, (v & 0x7f) | 0x80, 8);
        v >>= 7;
    }
    put(e, v, 8);
}

static void put_dod(struct tg_chunk_enc *e, int64_t dod)
{
    /* Two's complement fields: n bits hold [-2^(n-1), 2^(n-1) - 1]. */
    if (dod == 0)
        put(e, 0, 1);
    else if (dod >= -(1 << 13) && dod < (1 << 13))
        put(e, 2, 2), put(e, (uint64_t)dod, 14);
    else if (dod >= -(1 << 16) && dod < (1 << 16))
        put(e, 6, 3), put(e, (uint64_t)dod, 17);
    else if (dod >= -(1 << 19) && dod < (1 << 19))
        put(e, 14, 4), put(e, (uint64_t)dod, 20);
    else
        put(e, 15, 4), put(e, (uint64_t)dod, 64);
}

static void put_value(struct tg_chunk_enc *e, uint64_t bits)
{
    uint64_t x = bits ^ e->vbits;
    if (x == 0) {
        put(e, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31)
        lead = 31; /* five bits */
    if (e->leading != 0xff && lead >= e->leading && trail >= e->trailing) {
        put(e, 2, 2);
        put(e, x >> e->trailing, 64 - e->leading - e->trailing);
        return;
    }
    unsigned sig = 64 - lead - trail;
    put(e, 3, 2);
    put(e, lead, 5);
    put(e, sig & 63, 6); /* 64 is written as 0: a 0-bit window cannot occur */
    put(e, x >> trail, sig);
    e->leading = (uint8_t)lead;
    e->trailing = (uint8_t)trail;
}

int tg_chunk_enc_append(struct tg_chunk_enc *e, int64_t t, double v)
{
    if (e->n == UINT16_MAX || (e->n > 0 && t <= e->maxt))
        return -EINVAL;
    if (reserve(e, 160))
        return -ENOMEM;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (e->n == 0) {
        put_varint(e, ((uint64_t)t << 1) ^ (uint64_t)(t >> 63));
        put(e, bits, 64);
        e->mint = t;
    } else {
        uint64_t delta = (uint64_t)t - (uint64_t)e->maxt;
        put_dod(e, (int64_t)(delta - e->delta));
        put_value(e, bits);
        e->delta = delta;
    }
    e->vbits = bits;
    e->maxt = t;
    e->n++;
    return 0;
}

/* Integers in (-2^53, 2^53): every one is a double exactly, and deltas of deltas of them
 * stay below 2^55 in magnitude, so their zigzag codes stay below 2^56. */
#define INT_LIMIT (INT64_C(1) << 53)
#define ORDER_MAX 56

/* Whether `v` is such an integer (not -0, which would come back as +0); sets *i. */
static bool as_int(double v, int64_t *i)
{
    if (!(fabs(v) < (double)INT_LIMIT) || (v == 0 && signbit(v)))
        return false; /* NaN fails the first test */
    *i = (int64_t)v;
    return (double)*i == v;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static unsigned varint_bits(uint64_t v)
{
    unsigned n = 8;
    for (; v >= 0x80; v >>= 7)
        n += 8;
    return n;
}

static unsigned dod_bits(int64_t dod)
{
    if (dod == 0)
        return 1;
    if (dod >= -(1 << 13) && dod < (1 << 13))
        return 16;
    if (dod >= -(1 << 16) && dod < (1 << 16))
        return 20;
    return dod >= -(1 << 19) && dod < (1 << 19) ? 24 : 68;
}

/* The exponential-Golomb code of order k of `z` (z < 2^56, k <= 56): x = z + 2^k has
 * m + 1 significant bits; write m - k zeros, then x in m + 1 bits. */
static unsigned eg_bits(uint64_t z, unsigned k)
{
    unsigned m = 63u - (unsigned)__builtin_clzll(z + (UINT64_C(1) << k));
    return 2 * m - k + 1;
}

static void put_eg(struct tg_chunk_enc *e, uint64_t z, unsigned k)
{
    uint64_t x = z + (UINT64_C(1) << k);
    unsigned m = 63u - (unsigned)__builtin_clzll(x);
    put(e, 0, m - k);
    put(e, x, m + 1);
}

/* The order with the fewest bits for the codes `z` (every order above the widest code
 * costs more than that one, so only those up to it are tried). */
static unsigned best_order(const uint64_t *z, size_t n, uint64_t *bits)
{
    uint64_t widest = 0;
    for (size_t i = 0; i < n; i++)
        widest |= z[i];
    unsigned top = widest ? 64u - (unsigned)__builtin_clzll(widest) : 0, best = 0;
    *bits = UINT64_MAX;
    for (unsigned k = 0; k <= top && k <= ORDER_MAX; k++) {
        uint64_t b = 0;
        for (size_t i = 0; i < n; i++)
            b += eg_bits(z[i], k);
        if (b < *bits)
            *bits = b, best = k;
    }
    return best;
}

int tg_chunk_pack(const uint8_t *data, uint32_t nbits, uint16_t n, uint8_t *out, size_t cap,
                  uint32_t *out_nbits)
{
    if (n == 0 || n > TG_CHUNK_SAMPLES)
        return 0;
    int64_t t[TG_CHUNK_SAMPLES], v[TG_CHUNK_SAMPLES];
    uint64_t z[TG_CHUNK_SAMPLES];
    struct tg_chunk_it it;
    tg_chunk_it_init(&it, TG_CHUNK_XOR, data, nbits, n);
    bool ints = true;
    for (uint16_t i = 0; i < n; i++) {
        double d;
        if (tg_chunk_it_next(&it, &t[i], &d) != 1)
            return TG_EPARSE;
        ints = ints && as_int(d, &v[i]);
    }
    if (!ints)
        return 0;
    uint64_t bits = varint_bits(zigzag(t[0])) + varint_bits(zigzag(v[0])) + 6;
    for (uint16_t i = 1; i < n; i++) {
        int64_t d = v[i] - v[i - 1], prev = i > 1 ? v[i - 1] - v[i - 2] : 0;
        z[i - 1] = zigzag(d - prev);
        uint64_t dt = (uint64_t)t[i] - (uint64_t)t[i - 1];
        uint64_t pdt = i > 1 ? (uint64_t)t[i - 1] - (uint64_t)t[i - 2] : 0;
        bits += dod_bits((int64_t)(dt - pdt));
    }
    uint64_t vbits;
    unsigned k = best_order(z, (size_t)n - 1, &vbits);
    bits += vbits;
    if (bits >= nbits || tg_chunk_bytes((uint32_t)bits) > cap)
        return 0;
    struct tg_chunk_enc e = {.buf = out, .cap_bytes = (uint32_t)cap};
    memset(out, 0, tg_chunk_bytes((uint32_t)bits));
    put_varint(&e, zigzag(t[0]));
    put_varint(&e, zigzag(v[0]));
    put(&e, k, 6);
    for (uint16_t i = 1; i < n; i++) {
        uint64_t dt = (uint64_t)t[i] - (uint64_t)t[i - 1];
        uint64_t pdt = i > 1 ? (uint64_t)t[i - 1] - (uint64_t)t[i - 2] : 0;
        put_dod(&e, (int64_t)(dt - pdt));
        put_eg(&e, z[i - 1], k);
    }
    *out_nbits = e.nbits;
    return 1;
}

void tg_chunk_it_init(struct tg_chunk_it *it, enum tg_chunk_coding coding, const uint8_t *data,
                      uint32_t nbits, uint16_t n)
{
    memset(it, 0, sizeof *it);
    it->coding = (uint8_t)coding;
    it->data = data;
    it->nbits = nbits;
    it->n = n;
    it->leading = 0xff; /* no XOR window yet */
}

/* Reads `n` bits (n <= 64) into *v; false past the end. */
static bool get(struct tg_chunk_it *it, unsigned n, uint64_t *v)
{
    if (n > it->nbits - it->pos)
        return false;
    uint64_t r = 0;
    while (n > 0) {
        unsigned avail = 8 - (it->pos & 7);
        unsigned take = n < avail ? n : avail;
        uint8_t byte = it->data[it->pos >> 3];
        r = (r << take) | (uint64_t)((byte >> (avail - take)) & ((1u << take) - 1));
        it->pos += take;
        n -= take;
    }
    *v = r;
    return true;
}

static bool get_varint(struct tg_chunk_it *it, uint64_t *v)
{
    uint64_t r = 0, b;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (!get(it, 8, &b))
            return false;
        r |= (b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

static int64_t sign_extend(uint64_t v, unsigned n)
{
    uint64_t m = UINT64_C(1) << (n - 1);
    return (int64_t)((v ^ m) - m);
}

static bool get_dod(struct tg_chunk_it *it, int64_t *dod)
{
    static const unsigned width[] = {14, 17, 20, 64};
    uint64_t b;
    unsigned ones = 0;
    while (ones < 4) {
        if (!get(it, 1, &b))
            return false;
        if (!b)
            break;
        ones++;
    }
    if (ones == 0) {
        *dod = 0;
        return true;
    }
    if (!get(it, width[ones - 1], &b))
        return false;
    *dod = width[ones - 1] == 64 ? (int64_t)b : sign_extend(b, width[ones - 1]);
    return true;
}

static bool get_value(struct tg_chunk_it *it)
{
    uint64_t b, x;
    if (!get(it, 1, &b))
        return false;
    if (!b)
        return true;
    if (!get(it, 1, &b))
        return false;
    if (b) {
        uint64_t lead, sig;
        if (!get(it, 5, &lead) || !get(it, 6, &sig))
            return false;
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64)
            return false;
        it->leading = (uint8_t)lead;
        it->trailing = (uint8_t)(64 - lead - sig);
    } else if (it->leading == 0xff) {
        return false; /* "10" needs an earlier window */
    }
    unsigned sig = 64u - it->leading - it->trailing;
    if (!get(it, sig, &x))
        return false;
    it->vbits ^= x << it->trailing;
    return true;
}

static int64_t unzigzag(uint64_t z)
{
    return (int64_t)((z >> 1) ^ (~(z & 1) + 1));
}

static bool int_in_range(uint64_t v)
{
    return (int64_t)v > -INT_LIMIT && (int64_t)v < INT_LIMIT;
}

static bool get_eg(struct tg_chunk_it *it, uint64_t *z)
{
    unsigned k = it->trailing, zeros = 0;
    uint64_t b, rest = 0;
    for (;;) {
        if (!get(it, 1, &b))
            return false;
        if (b)
            break;
        if (++zeros + k > ORDER_MAX) /* the encoder never writes a longer code */
            return false;
    }
    unsigned m = zeros + k;
    if (m && !get(it, m, &rest))
        return false;
    *z = ((UINT64_C(1) << m) | rest) - (UINT64_C(1) << k);
    return true;
}

/* The first value of a chunk, in either coding. */
static bool get_first_value(struct tg_chunk_it *it)
{
    if (it->coding == TG_CHUNK_XOR)
        return get(it, 64, &it->vbits);
    uint64_t z, k;
    if (it->coding != TG_CHUNK_INT || !get_varint(it, &z) || !get(it, 6, &k) || k > ORDER_MAX)
        return false;
    it->vbits = (uint64_t)unzigzag(z);
    it->trailing = (uint8_t)k;
    return int_in_range(it->vbits);
}

static bool get_int_value(struct tg_chunk_it *it)
{
    uint64_t z;
    if (!get_eg(it, &z))
        return false;
    it->vdelta += (uint64_t)unzigzag(z);
    it->vbits += it->vdelta;
    return int_in_range(it->vbits);
}

int tg_chunk_it_next(struct tg_chunk_it *it, int64_t *t, double *v)
{
    if (it->i >= it->n)
        return 0;
    if (it->i == 0) {
        uint64_t zz;
        if (!get_varint(it, &zz) || !get_first_value(it))
            return TG_EPARSE;
        it->t = unzigzag(zz);
    } else {
        int64_t dod;
        if (!get_dod(it, &dod))
            return TG_EPARSE;
        uint64_t delta = it->delta + (uint64_t)dod;
        uint64_t nt = (uint64_t)it->t + delta;
        /* Strictly increasing, computed without signed overflow. */
        if (delta == 0 || (int64_t)nt <= it->t)
            return TG_EPARSE;
        if (it->coding == TG_CHUNK_INT ? !get_int_value(it) : !get_value(it))
            return TG_EPARSE;
        it->delta = delta;
        it->t = (int64_t)nt;
    }
    it->i++;
    *t = it->t;
    if (it->coding == TG_CHUNK_INT)
        *v = (double)(int64_t)it->vbits;
    else
        memcpy(v, &it->vbits, sizeof *v);
    return 1;
}
