/* SPDX-License-Identifier: MIT */
/* Per-thread buffer pool; see buf.h. */
#include "core/buf.h"

#include <stdlib.h>

void tg_bufpool_init(struct tg_bufpool *p, uint32_t block_size, uint32_t max_free)
{
    memset(p, 0, sizeof *p);
    p->block_size = block_size < 64 ? 64 : block_size;
    p->max_free = max_free;
}

void tg_bufpool_deinit(struct tg_bufpool *p)
{
    while (p->free_list) {
        void *next = *(void **)p->free_list;
        free(p->free_list);
        p->free_list = next;
    }
    p->nfree = 0;
}

bool tg_buf_reserve(struct tg_buf *b, struct tg_bufpool *p)
{
    if (b->data)
        return true;
    char *blk = p->free_list;
    if (blk) {
        p->free_list = *(void **)blk;
        p->nfree--;
    } else {
        blk = malloc(p->block_size);
        if (!blk)
            return false;
    }
    p->allocated++;
    b->data = blk;
    b->head = b->tail = 0;
    b->cap = p->block_size;
    return true;
}

void tg_buf_release(struct tg_buf *b, struct tg_bufpool *p)
{
    if (!b->data)
        return;
    p->allocated--;
    if (p->nfree < p->max_free) {
        *(void **)b->data = p->free_list;
        p->free_list = b->data;
        p->nfree++;
    } else {
        free(b->data);
    }
    b->data = NULL;
    b->head = b->tail = b->cap = 0;
}

void tg_buf_release_if_empty(struct tg_buf *b, struct tg_bufpool *p)
{
    if (b->data && b->head == b->tail)
        tg_buf_release(b, p);
}
