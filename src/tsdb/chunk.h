/* SPDX-License-Identifier: MIT */
/* Gorilla-style compression of one series' samples (Pelkonen et al., VLDB 2015), the
 * encoding the store keeps its chunks in. A chunk is a bit stream: the first sample's
 * time (zigzag varint, 8 bits a byte) and value (64 raw bits); then per sample the
 * delta-of-delta of its time in a prefix code ("0": 0; "10" + 14 bits; "110" + 17;
 * "1110" + 20; "1111" + 64) and its value XORed with the previous one ("0": equal; "10" +
 * the meaningful bits inside the previous window; "11" + 5 bits of leading zeros + 6 bits
 * of length + the bits). Values are kept bit for bit, so the stale NaN, other NaNs, -0
 * and the infinities come back exactly. Times must strictly increase; the encoder refuses
 * anything else and the decoder reports a stream that breaks it as corrupt, which keeps a
 * damaged file from producing out-of-order samples. Used by the store (tsdb.c), its file
 * reader and writer, and the byte benchmark. */
#ifndef TG_TSDB_CHUNK_H
#define TG_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Samples per chunk before the store seals it, as Prometheus does: long enough that the
 * first sample's 80-odd bits are spread thin, short enough that a query decodes little it
 * does not need. */
#define TG_CHUNK_SAMPLES 120

/* An encoder: a growing bit stream and the state the next sample is coded against. The
 * caller embeds it (zeroed or tg_chunk_enc_init) and frees its buffer with
 * tg_chunk_enc_deinit. */
struct tg_chunk_enc {
    uint8_t *buf;
    uint32_t cap_bytes;
    uint32_t nbits;
    uint16_t n;
    uint8_t leading, trailing; /* the previous XOR window; leading 0xff: none yet */
    int64_t mint, maxt;
    uint64_t delta; /* previous time delta, as a wrapping unsigned */
    uint64_t vbits; /* previous value's bits */
};

void tg_chunk_enc_init(struct tg_chunk_enc *e);
void tg_chunk_enc_deinit(struct tg_chunk_enc *e);

/* Empties the encoder but keeps its buffer (zeroed) for the next chunk. */
void tg_chunk_enc_reset(struct tg_chunk_enc *e);

/* Appends (t, v). `t` must be greater than the last time (n > 0). Returns 0, -EINVAL (t
 * not increasing, or the chunk holds 65535 samples), or -ENOMEM (the encoder is then
 * unchanged). Cost: a few ns, plus a doubling realloc now and then. */
int tg_chunk_enc_append(struct tg_chunk_enc *e, int64_t t, double v);

/* Bytes the encoded stream occupies: (nbits + 7) / 8. */
static inline size_t tg_chunk_bytes(uint32_t nbits)
{
    return ((size_t)nbits + 7) / 8;
}

/* A decoder over `nbits` bits at `data` holding `n` samples. Borrows `data`. */
struct tg_chunk_it {
    const uint8_t *data;
    uint32_t nbits, pos;
    uint16_t n, i;
    uint8_t leading, trailing;
    int64_t t;
    uint64_t delta, vbits;
};

void tg_chunk_it_init(struct tg_chunk_it *it, const uint8_t *data, uint32_t nbits, uint16_t n);

/* The next sample: 1 with *t and *v set, 0 after the n-th, TG_EPARSE if the stream is
 * corrupt (runs past nbits, times not increasing, an impossible XOR window). */
int tg_chunk_it_next(struct tg_chunk_it *it, int64_t *t, double *v);

#endif
