/* SPDX-License-Identifier: MIT */
/* Seqlocked records: one writer thread publishes a small struct that reader threads copy
 * without either side waiting. The writer makes the sequence odd, stores the words, makes
 * it even again (release); a reader copies the words between two reads of the sequence
 * and keeps the copy only if both are the same even number. The words are copied with
 * relaxed atomic loads and stores, which is what makes the racing copy well-defined in
 * C11 (a memcpy would be a data race). Used by the trace ring and the in-flight table. */
#ifndef TG_CORE_SEQLOCK_H
#define TG_CORE_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Words needed to hold a `T`. */
#define TG_SEQ_WORDS(T) ((sizeof(T) + 7) / 8)

/* Writer: stores src[0..n) (n <= nwords * 8) into w under `seq`. */
static inline void tg_seq_store(atomic_uint *seq, _Atomic uint64_t *w, size_t nwords,
                                const void *src, size_t n)
{
    unsigned s = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i < nwords; i++) {
        uint64_t word = 0;
        size_t off = i * 8, len = n > off ? (n - off < 8 ? n - off : 8) : 0;
        memcpy(&word, (const char *)src + off, len);
        atomic_store_explicit(&w[i], word, memory_order_relaxed);
    }
    atomic_store_explicit(seq, s + 2, memory_order_release);
}

/* Reader: copies the record into dst[0..n); false if it was being written (or was never
 * written: sequence 0). */
static inline bool tg_seq_load(const atomic_uint *seq, const _Atomic uint64_t *w, size_t nwords,
                               void *dst, size_t n)
{
    unsigned before = atomic_load_explicit(seq, memory_order_acquire);
    if ((before & 1) || before == 0)
        return false;
    for (size_t i = 0; i < nwords; i++) {
        uint64_t word = atomic_load_explicit(&w[i], memory_order_relaxed);
        size_t off = i * 8, len = n > off ? (n - off < 8 ? n - off : 8) : 0;
        memcpy((char *)dst + off, &word, len);
    }
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(seq, memory_order_relaxed) == before;
}

#endif
