/* SPDX-License-Identifier: MIT */
/* Unit tests for src/core/buf.c and the inline helpers of buf.h: reserving and releasing
 * blocks, pool reuse (LIFO), the max_free bound, release_if_empty, compact, consume and
 * append truncation. */
#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tg_test.h"

static void test_init(void)
{
    struct tg_bufpool p;
    memset(&p, 0xab, sizeof p); /* init must not depend on prior contents */
    tg_bufpool_init(&p, 4096, 8);
    TG_EXPECT(p.free_list == NULL);
    TG_EXPECT_EQ(p.nfree, 0);
    TG_EXPECT_EQ(p.max_free, 8);
    TG_EXPECT_EQ(p.block_size, 4096);
    TG_EXPECT_EQ(p.allocated, 0);
    tg_bufpool_deinit(&p);

    /* Blocks are at least 64 bytes (a free block stores the list link). */
    tg_bufpool_init(&p, 8, 1);
    TG_EXPECT_EQ(p.block_size, 64);
    tg_bufpool_init(&p, 0, 1);
    TG_EXPECT_EQ(p.block_size, 64);
    tg_bufpool_init(&p, 65, 1);
    TG_EXPECT_EQ(p.block_size, 65);
    tg_bufpool_deinit(&p);
}

static void test_reserve_release(void)
{
    struct tg_bufpool p;
    tg_bufpool_init(&p, 128, 4);
    struct tg_buf b = {0};
    TG_EXPECT_EQ(tg_buf_len(&b), 0);

    TG_EXPECT(tg_buf_reserve(&b, &p));
    TG_EXPECT(b.data != NULL);
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 0);
    TG_EXPECT_EQ(b.cap, 128);
    TG_EXPECT_EQ(tg_buf_space(&b), 128);
    TG_EXPECT_EQ(p.allocated, 1);
    TG_EXPECT_EQ(p.nfree, 0);

    /* Reserving again while holding a block keeps the block and its contents. */
    TG_EXPECT_EQ(tg_buf_append(&b, "hello", 5), 5);
    char *held = b.data;
    TG_EXPECT(tg_buf_reserve(&b, &p));
    TG_EXPECT(b.data == held);
    TG_EXPECT_EQ(p.allocated, 1);
    TG_EXPECT_MEMEQ(b.data + b.head, tg_buf_len(&b), "hello");

    /* Release whatever it holds: the window is reset and the block pooled. */
    tg_buf_release(&b, &p);
    TG_EXPECT(b.data == NULL);
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 0);
    TG_EXPECT_EQ(b.cap, 0);
    TG_EXPECT_EQ(p.allocated, 0);
    TG_EXPECT_EQ(p.nfree, 1);

    /* Releasing an empty-handed buffer is a no-op. */
    tg_buf_release(&b, &p);
    TG_EXPECT_EQ(p.allocated, 0);
    TG_EXPECT_EQ(p.nfree, 1);

    /* Pool reuse: the same block comes back, with a fresh window. */
    TG_EXPECT(tg_buf_reserve(&b, &p));
    TG_EXPECT(b.data == held);
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 0);
    TG_EXPECT_EQ(b.cap, 128);
    TG_EXPECT_EQ(p.nfree, 0);
    TG_EXPECT_EQ(p.allocated, 1);
    tg_buf_release(&b, &p);
    tg_bufpool_deinit(&p);
    TG_EXPECT(p.free_list == NULL);
    TG_EXPECT_EQ(p.nfree, 0);
}

static void test_pool_lifo_and_bound(void)
{
    struct tg_bufpool p;
    tg_bufpool_init(&p, 256, 2);
    struct tg_buf b[4];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 4; i++)
        TG_EXPECT(tg_buf_reserve(&b[i], &p));
    TG_EXPECT_EQ(p.allocated, 4);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            TG_EXPECT(b[i].data != b[j].data);

    /* Release 0, 1, 2, 3 with max_free 2: only 0 and 1 are kept, 2 and 3 freed. */
    char *d0 = b[0].data, *d1 = b[1].data;
    for (int i = 0; i < 4; i++) {
        tg_buf_release(&b[i], &p);
        TG_EXPECT_LE(p.nfree, 2);
    }
    TG_EXPECT_EQ(p.nfree, 2);
    TG_EXPECT_EQ(p.allocated, 0);

    /* LIFO: the last pooled block comes back first. */
    TG_EXPECT(tg_buf_reserve(&b[0], &p));
    TG_EXPECT(b[0].data == d1);
    TG_EXPECT(tg_buf_reserve(&b[1], &p));
    TG_EXPECT(b[1].data == d0);
    TG_EXPECT_EQ(p.nfree, 0);
    /* Pool empty: a new block from malloc. */
    TG_EXPECT(tg_buf_reserve(&b[2], &p));
    TG_EXPECT(b[2].data != NULL);
    TG_EXPECT_EQ(p.allocated, 3);
    for (int i = 0; i < 3; i++)
        tg_buf_release(&b[i], &p);
    TG_EXPECT_EQ(p.nfree, 2);
    TG_EXPECT_EQ(p.allocated, 0);
    tg_bufpool_deinit(&p);
    TG_EXPECT_EQ(p.nfree, 0);

    /* max_free 0: nothing is ever kept. */
    tg_bufpool_init(&p, 64, 0);
    TG_EXPECT(tg_buf_reserve(&b[0], &p));
    tg_buf_release(&b[0], &p);
    TG_EXPECT_EQ(p.nfree, 0);
    TG_EXPECT(p.free_list == NULL);
    TG_EXPECT_EQ(p.allocated, 0);
    tg_bufpool_deinit(&p);

    /* Many blocks round-trip; deinit frees the whole list (ASan checks for leaks). */
    tg_bufpool_init(&p, 64, 100);
    struct tg_buf many[50];
    memset(many, 0, sizeof many);
    for (int i = 0; i < 50; i++)
        TG_EXPECT(tg_buf_reserve(&many[i], &p));
    for (int i = 0; i < 50; i++)
        tg_buf_release(&many[i], &p);
    TG_EXPECT_EQ(p.nfree, 50);
    tg_bufpool_deinit(&p);
    TG_EXPECT_EQ(p.nfree, 0);
}

static void test_release_if_empty(void)
{
    struct tg_bufpool p;
    tg_bufpool_init(&p, 64, 4);
    struct tg_buf b = {0};

    /* No block: no-op. */
    tg_buf_release_if_empty(&b, &p);
    TG_EXPECT(b.data == NULL);
    TG_EXPECT_EQ(p.nfree, 0);

    TG_EXPECT(tg_buf_reserve(&b, &p));
    TG_EXPECT_EQ(tg_buf_append(&b, "abc", 3), 3);
    /* Not empty: kept. */
    tg_buf_release_if_empty(&b, &p);
    TG_EXPECT(b.data != NULL);
    TG_EXPECT_EQ(tg_buf_len(&b), 3);
    TG_EXPECT_EQ(p.allocated, 1);
    /* Partly consumed: still kept. */
    tg_buf_consume(&b, 2);
    tg_buf_release_if_empty(&b, &p);
    TG_EXPECT(b.data != NULL);
    TG_EXPECT_MEMEQ(b.data + b.head, tg_buf_len(&b), "c");
    /* Fully consumed: released. */
    tg_buf_consume(&b, 1);
    tg_buf_release_if_empty(&b, &p);
    TG_EXPECT(b.data == NULL);
    TG_EXPECT_EQ(p.allocated, 0);
    TG_EXPECT_EQ(p.nfree, 1);

    /* Reserved but never written: empty, released. */
    TG_EXPECT(tg_buf_reserve(&b, &p));
    tg_buf_release_if_empty(&b, &p);
    TG_EXPECT(b.data == NULL);
    TG_EXPECT_EQ(p.nfree, 1);
    tg_bufpool_deinit(&p);
}

static void test_append_consume_compact(void)
{
    struct tg_bufpool p;
    tg_bufpool_init(&p, 64, 1);
    struct tg_buf b = {0};
    TG_EXPECT(tg_buf_reserve(&b, &p));

    char src[100];
    for (int i = 0; i < 100; i++)
        src[i] = (char)('A' + i % 26);

    /* Append truncates at the block's end and reports how much fit. */
    TG_EXPECT_EQ(tg_buf_append(&b, src, 40), 40);
    TG_EXPECT_EQ(tg_buf_space(&b), 24);
    TG_EXPECT_EQ(tg_buf_append(&b, src + 40, 60), 24);
    TG_EXPECT_EQ(tg_buf_len(&b), 64);
    TG_EXPECT_EQ(tg_buf_space(&b), 0);
    TG_EXPECT(memcmp(b.data, src, 64) == 0);
    TG_EXPECT_EQ(tg_buf_append(&b, src, 1), 0);
    TG_EXPECT_EQ(tg_buf_append(&b, src, 0), 0);
    TG_EXPECT_EQ(tg_buf_len(&b), 64);

    /* Consume moves head; space at the end does not grow until compact. */
    tg_buf_consume(&b, 10);
    TG_EXPECT_EQ(b.head, 10);
    TG_EXPECT_EQ(tg_buf_len(&b), 54);
    TG_EXPECT_EQ(tg_buf_space(&b), 0);
    tg_buf_consume(&b, 0);
    TG_EXPECT_EQ(b.head, 10);

    /* Compact moves the unread bytes to the start. */
    tg_buf_compact(&b);
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 54);
    TG_EXPECT_EQ(tg_buf_space(&b), 10);
    TG_EXPECT(memcmp(b.data, src + 10, 54) == 0);
    /* Compact with head already 0: no change. */
    tg_buf_compact(&b);
    TG_EXPECT_EQ(b.tail, 54);
    TG_EXPECT(memcmp(b.data, src + 10, 54) == 0);

    /* Overlapping move (unread bytes longer than the gap). */
    tg_buf_consume(&b, 3);
    tg_buf_compact(&b);
    TG_EXPECT_EQ(b.tail, 51);
    TG_EXPECT(memcmp(b.data, src + 13, 51) == 0);

    /* Consuming everything resets the window to 0 (whole block free again). */
    tg_buf_consume(&b, 51);
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 0);
    TG_EXPECT_EQ(tg_buf_space(&b), 64);

    /* Compacting an empty buffer whose head is not 0 cannot happen via consume, but
     * a hand-made window head == tail != 0 compacts to 0/0. */
    b.head = b.tail = 20;
    tg_buf_compact(&b);
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 0);

    /* Append, consume partially, append more, read it back in order. */
    TG_EXPECT_EQ(tg_buf_append(&b, "hello ", 6), 6);
    tg_buf_consume(&b, 2);
    TG_EXPECT_EQ(tg_buf_append(&b, "world", 5), 5);
    TG_EXPECT_MEMEQ(b.data + b.head, tg_buf_len(&b), "llo world");
    tg_buf_consume(&b, tg_buf_len(&b));
    TG_EXPECT_EQ(b.head, 0);
    TG_EXPECT_EQ(b.tail, 0);

    tg_buf_release(&b, &p);
    tg_bufpool_deinit(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_init();
    test_reserve_release();
    test_pool_lifo_and_bound();
    test_release_if_empty();
    test_append_consume_compact();
    return tg_test_report(argv[0]);
}
