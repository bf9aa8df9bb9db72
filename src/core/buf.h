/* SPDX-License-Identifier: MIT */
/* Byte buffers and the per-thread buffer pool. A struct tg_buf is a window [head, tail)
 * over a fixed-size block taken from a pool; connections hold a block only while they
 * have bytes in flight and give it back when idle, so an idle keep-alive connection
 * costs no buffer memory. Pools are owned by one thread and take no lock.
 * Allocation policy: tg_bufpool_get returns NULL on OOM and the caller rejects or closes
 * that one connection; the free list is bounded so a burst does not pin memory forever. */
#ifndef TG_CORE_BUF_H
#define TG_CORE_BUF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct tg_bufpool {
    void *free_list;    /* singly linked through the first word of each free block */
    uint32_t nfree;
    uint32_t max_free;
    uint32_t block_size;
    uint64_t allocated; /* blocks currently handed out (for stats) */
};

struct tg_buf {
    char *data; /* NULL when no block is held */
    uint32_t head, tail, cap;
};

/* `block_size` >= 64; at most `max_free` blocks kept on the free list. */
void tg_bufpool_init(struct tg_bufpool *p, uint32_t block_size, uint32_t max_free);

/* Frees every block on the free list (held blocks must be returned first). */
void tg_bufpool_deinit(struct tg_bufpool *p);

/* Ensures `b` holds a block; returns false on OOM. O(1). */
bool tg_buf_reserve(struct tg_buf *b, struct tg_bufpool *p);

/* Returns the block of an empty buffer to the pool (no-op if not empty or no block). */
void tg_buf_release_if_empty(struct tg_buf *b, struct tg_bufpool *p);

/* Returns the block to the pool whatever it holds. */
void tg_buf_release(struct tg_buf *b, struct tg_bufpool *p);

static inline uint32_t tg_buf_len(const struct tg_buf *b)
{
    return b->tail - b->head;
}

static inline uint32_t tg_buf_space(const struct tg_buf *b)
{
    return b->cap - b->tail;
}

/* Moves the unread bytes to the start of the block; invalidates slices into it. */
static inline void tg_buf_compact(struct tg_buf *b)
{
    if (b->head == 0)
        return;
    uint32_t n = b->tail - b->head;
    if (n)
        memmove(b->data, b->data + b->head, n);
    b->head = 0;
    b->tail = n;
}

static inline void tg_buf_consume(struct tg_buf *b, uint32_t n)
{
    b->head += n;
    if (b->head == b->tail)
        b->head = b->tail = 0;
}

/* Appends up to `n` bytes; returns how many fit. */
static inline uint32_t tg_buf_append(struct tg_buf *b, const void *src, uint32_t n)
{
    uint32_t room = tg_buf_space(b);
    if (n > room)
        n = room;
    memcpy(b->data + b->tail, src, n);
    b->tail += n;
    return n;
}

#endif
