/* SPDX-License-Identifier: MIT */
/* Gorilla-style compression of one series' samples (Pelkonen et al., VLDB 2015), the
 * encoding the store keeps its chunks in, with a denser value coding for integers.
 *
 * Every chunk is a bit stream that starts with the first sample's time (zigzag varint, 8
 * bits a byte) and codes each later time as the delta-of-delta in a prefix code ("0": 0;
 * "10" + 14 bits; "110" + 17; "1110" + 20; "1111" + 64). The values come in one of two
 * codings, which the chunk's owner records beside it:
 *
 * - TG_CHUNK_XOR, any float: the first value as 64 raw bits, then each value XORed with
 *   the one before ("0": equal; "10" + the meaningful bits inside the previous window;
 *   "11" + 5 bits of leading zeros + 6 bits of length + the bits). Values are kept bit
 *   for bit, so the stale NaN, other NaNs, -0 and the infinities come back exactly.
 *   Chunks are appended in this coding.
 * - TG_CHUNK_INT, only when every value is an integer below 2^53 in magnitude and none
 *   is -0 (so the value is the integer exactly): the first value as a zigzag varint, a
 *   6-bit order `k` (0 to 56), then each value's delta-of-delta, zigzag-mapped, in the
 *   exponential-Golomb code of order k. Counters (histogram buckets, request counts)
 *   are such values, and a steady one costs k + 1 bits a sample where XOR needs 10 to
 *   20. tg_chunk_pack turns a whole XOR chunk into this coding when it is smaller.
 *
 * Times must strictly increase; the encoder refuses anything else and the decoder
 * reports a stream that breaks it as corrupt, which keeps a damaged file from producing
 * out-of-order samples. Used by the store (tsdb.c), its file reader and writer, and the
 * byte benchmark. */
#ifndef TG_TSDB_CHUNK_H
#define TG_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Samples per chunk before the store seals it, as Prometheus does: long enough that the
 * first sample's 80-odd bits are spread thin, short enough that a query decodes little it
 * does not need. */
#define TG_CHUNK_SAMPLES 120

/* How a chunk's values are coded (see above). The numbers are stored in the file. */
enum tg_chunk_coding {
    TG_CHUNK_XOR = 1,
    TG_CHUNK_INT = 2,
};

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
 * unchanged). Cost: a few ns, plus a small realloc every 32 bytes. */
int tg_chunk_enc_append(struct tg_chunk_enc *e, int64_t t, double v);

/* Bytes the encoded stream occupies: (nbits + 7) / 8. */
static inline size_t tg_chunk_bytes(uint32_t nbits)
{
    return ((size_t)nbits + 7) / 8;
}

/* Re-encodes the XOR chunk (data, nbits, n) as TG_CHUNK_INT into `out` when every value
 * is an integer (as above) and the result takes fewer bits and fits in `cap` bytes.
 * Returns 1 with `out` written and *out_nbits set, 0 when the chunk is better left as it
 * is (a float value, no gain, or more than TG_CHUNK_SAMPLES samples), or TG_EPARSE if
 * the stream is corrupt. Cost: one decode and two passes over the samples, a few us for
 * a full chunk; the store calls it once per chunk, when it seals it. */
int tg_chunk_pack(const uint8_t *data, uint32_t nbits, uint16_t n, uint8_t *out, size_t cap,
                  uint32_t *out_nbits);

/* A decoder over `nbits` bits at `data` holding `n` samples coded as `coding`. Borrows
 * `data`. */
struct tg_chunk_it {
    const uint8_t *data;
    uint32_t nbits, pos;
    uint16_t n, i;
    uint8_t coding;
    uint8_t leading, trailing; /* XOR: the window; INT: `trailing` holds the order k */
    int64_t t;
    uint64_t delta, vbits; /* INT: vbits is the integer value (two's complement) */
    uint64_t vdelta;       /* INT: the previous value delta */
};

void tg_chunk_it_init(struct tg_chunk_it *it, enum tg_chunk_coding coding, const uint8_t *data,
                      uint32_t nbits, uint16_t n);

/* The next sample: 1 with *t and *v set, 0 after the n-th, TG_EPARSE if the stream is
 * corrupt (runs past nbits, times not increasing, an impossible XOR window, an integer
 * out of range, an unknown coding). */
int tg_chunk_it_next(struct tg_chunk_it *it, int64_t *t, double *v);

#endif
