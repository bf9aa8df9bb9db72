/* SPDX-License-Identifier: MIT */
/* Unit tests for src/metrics/shard.{h,c}: per-key slots are released after
 * TG_MSHARD_IDLE_COLLECTS idle collections and come back on the next request; and a
 * writer thread recording in bursts (so keys go idle and busy again all the time) against
 * a reader collecting, and so retiring slots, as fast as it can loses nothing and counts
 * nothing twice. Run under ASan (the sanitizer build), a write through a freed slot is a
 * use-after-free report. */
#include "metrics/shard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

#define NKEYS 64

struct tally {
    uint64_t count[NKEYS];
    uint64_t sum[NKEYS];
    uint64_t calls;
};

static void on_key(uint32_t key, const struct tg_reqstats *st, void *ctx)
{
    struct tally *t = ctx;
    t->calls++;
    if (key < NKEYS) {
        t->count[key] += st->latency.count;
        t->sum[key] += st->latency.sum_us;
    }
}

static struct tg_reqsample sample(int64_t us)
{
    return (struct tg_reqsample){.duration_us = us, .phase_us = {-1, -1, -1, -1}, .status = 200};
}

/* Slots go after TG_MSHARD_IDLE_COLLECTS idle collections, data recorded before is all
 * reported once, and a new request brings the slot back. */
static void test_idle_slots_released(void)
{
    struct tg_mshard *s;
    TG_EXPECT_EQ(tg_mshard_new(NKEYS, 4, &s), 0);
    struct tg_reqsample r = sample(1000);
    struct tally t = {0};
    for (uint32_t k = 0; k < 8; k++)
        TG_EXPECT_EQ(tg_mshard_record(s, k, &r, UINT32_MAX, 0, false), 0);
    tg_mshard_collect(s, on_key, NULL, &t);
    TG_EXPECT_EQ(tg_mshard_slots(s), 8);
    for (int i = 0; i < TG_MSHARD_IDLE_COLLECTS - 1; i++)
        tg_mshard_collect(s, on_key, NULL, &t);
    TG_EXPECT_EQ(tg_mshard_slots(s), 8); /* idle, but not for long enough yet */
    /* key 3 stays busy */
    TG_EXPECT_EQ(tg_mshard_record(s, 3, &r, UINT32_MAX, 0, false), 0);
    tg_mshard_collect(s, on_key, NULL, &t); /* the others are unlinked here */
    tg_mshard_collect(s, on_key, NULL, &t); /* ... and freed here */
    TG_EXPECT_EQ(tg_mshard_slots(s), 1);
    for (uint32_t k = 0; k < 8; k++)
        TG_EXPECT_EQ(t.count[k], k == 3 ? 2 : 1);
    TG_EXPECT_EQ(t.calls, 9);
    TG_EXPECT_EQ(tg_mshard_released(s), 7);
    /* A released key records again (a fresh slot). */
    TG_EXPECT_EQ(tg_mshard_record(s, 5, &r, UINT32_MAX, 0, false), 0);
    tg_mshard_collect(s, on_key, NULL, &t);
    TG_EXPECT_EQ(t.count[5], 2);
    TG_EXPECT_EQ(tg_mshard_dropped(s), 0);
    /* A dropped key goes at the next idle collection, a busy one stays. */
    TG_EXPECT_EQ(tg_mshard_record(s, 6, &r, UINT32_MAX, 0, false), 0);
    tg_mshard_drop(s, 5);
    tg_mshard_drop(s, 6);
    tg_mshard_drop(s, 40); /* no slot: nothing to do */
    tg_mshard_collect(s, on_key, NULL, &t); /* 5 unlinked; 6 reported */
    tg_mshard_collect(s, on_key, NULL, &t); /* 5 freed */
    TG_EXPECT_EQ(tg_mshard_slots(s), 2);    /* 3 and 6 */
    TG_EXPECT_EQ(tg_mshard_released(s), 8);
    TG_EXPECT_EQ(t.count[6], 2);
    /* Out-of-range keys are dropped and counted. */
    TG_EXPECT_EQ(tg_mshard_record(s, NKEYS, &r, UINT32_MAX, 0, false), -ENOMEM);
    TG_EXPECT_EQ(tg_mshard_dropped(s), 1);
    tg_mshard_free(s);
}

struct race {
    struct tg_mshard *s;
    uint64_t min_total, max_total; /* requests the writer records, at least / at most */
    uint64_t written;
    atomic_int enough; /* set by the reader once it has released plenty of slots */
    atomic_int done;
};

/* Key of request `i`: bursts of 2^10 requests per key, so each key idles while the
 * writer serves the other 63 and its slot is released and allocated again many times. */
static uint32_t key_of(uint64_t i)
{
    return (uint32_t)((i >> 10) % NKEYS);
}

/* Writes at least `min_total` requests, then on until the reader has released enough
 * slots concurrently (bounded by `max_total`, should the reader never get a core). */
static void *writer_main(void *arg)
{
    struct race *r = arg;
    uint64_t i = 0;
    for (; i < r->max_total; i++) {
        if (i >= r->min_total && atomic_load_explicit(&r->enough, memory_order_relaxed))
            break;
        struct tg_reqsample smp = sample((int64_t)(i % 100000));
        tg_mshard_record(r->s, key_of(i), &smp, (uint32_t)(i % 4), 10, false);
    }
    r->written = i;
    atomic_store(&r->done, 1);
    return NULL;
}

static void test_writer_against_retiring_reader(void)
{
    struct race r = {.min_total = 6000000, .max_total = 40000000};
    TG_EXPECT_EQ(tg_mshard_new(NKEYS, 4, &r.s), 0);
    struct tally *t = calloc(1, sizeof *t);
    pthread_t th;
    TG_EXPECT_EQ(pthread_create(&th, NULL, writer_main, &r), 0);
    uint64_t released_while_writing = 0;
    while (!atomic_load(&r.done)) {
        tg_mshard_collect(r.s, on_key, NULL, t);
        if (!atomic_load(&r.done))
            released_while_writing = tg_mshard_released(r.s);
        if (released_while_writing >= 256)
            atomic_store(&r.enough, 1);
    }
    pthread_join(th, NULL);
    /* The writer's last side, then retirements until every slot is gone. */
    for (int i = 0; i < TG_MSHARD_IDLE_COLLECTS + 3; i++)
        tg_mshard_collect(r.s, on_key, NULL, t);
    TG_EXPECT_EQ(tg_mshard_slots(r.s), 0);
    TG_EXPECT_GE(released_while_writing, 256);
    TG_EXPECT_EQ(tg_mshard_dropped(r.s), 0);
    uint64_t expect_count[NKEYS] = {0}, expect_sum[NKEYS] = {0}, n = 0;
    for (uint64_t i = 0; i < r.written; i++) {
        expect_count[key_of(i)]++;
        expect_sum[key_of(i)] += i % 100000;
    }
    for (uint32_t k = 0; k < NKEYS; k++) {
        TG_EXPECT_EQ(t->count[k], expect_count[k]);
        TG_EXPECT_EQ(t->sum[k], expect_sum[k]);
        n += t->count[k];
    }
    TG_EXPECT_EQ(n, r.written);
    TG_EXPECT_GE(r.written, r.min_total);
    tg_mshard_free(r.s);
    free(t);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_idle_slots_released();
    test_writer_against_retiring_reader();
    return tg_test_report(argv[0]);
}
