/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the concurrency queue's decisions (src/protect/conclimit.h), in ns
 * per request, the median of 9 runs: "admit+release" is a request under the limit (what
 * every request pays, queue or not); "park+grant" is a request over the limit that waits
 * and gets the slot another request gives back: admit (parked), the release that frees
 * the slot, the poll that grants it, and its own release; "park+expire" is one that waits
 * and times out (admit, poll). One thread, one limiter: the cost of the decisions
 * themselves, not of the wake-ups around them. Not part of the test suite: timings are
 * noisy on shared machines. Build and run from the repo:
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_queue.c src/protect/conclimit.c \
 *      -o /tmp/pq && /tmp/pq
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "protect/conclimit.h"

#define OPS 2000000
#define RUNS 9

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum what { PLAIN = 0, GRANT, EXPIRE };

static unsigned sink;

static double run(struct tg_conclimit *cl, const struct tg_conclimit_params *p, enum what what)
{
    struct tg_conclimit_queue q;
    tg_conclimit_queue_init(&q);
    struct tg_conclimit_waiter w, *out;
    enum tg_conclimit_reason why;
    /* One slot held throughout by "another request", for the waits. */
    if (what != PLAIN)
        tg_conclimit_admit(cl, p, NULL, NULL, TG_CONCLIMIT_STANDARD, 0, &why);
    int64_t t0 = now_ns();
    for (int64_t i = 0; i < OPS; i++) {
        int64_t now_us = i * 10;
        switch (what) {
        case PLAIN:
            sink += tg_conclimit_admit(cl, p, &q, &w, TG_CONCLIMIT_STANDARD, now_us, &why);
            sink += tg_conclimit_release(cl);
            break;
        case GRANT:
            sink += tg_conclimit_admit(cl, p, &q, &w, TG_CONCLIMIT_STANDARD, now_us, &why);
            sink += tg_conclimit_release(cl); /* the holder leaves */
            sink += tg_conclimit_poll(cl, p, &q, now_us, &out);
            /* The granted request now holds the slot, as the holder did. */
            break;
        case EXPIRE:
            sink += tg_conclimit_admit(cl, p, &q, &w, TG_CONCLIMIT_STANDARD, now_us, &why);
            sink += tg_conclimit_poll(cl, p, &q, now_us + p->queue_timeout_us, &out);
            break;
        }
    }
    double ns = (double)(now_ns() - t0) / OPS;
    if (what != PLAIN)
        tg_conclimit_release(cl);
    return ns;
}

int main(void)
{
    struct tg_conclimit *cl;
    if (tg_conclimit_new(&cl) != 0)
        return 1;
    struct tg_conclimit_params p;
    tg_conclimit_params_init(&p);
    p.hard_limit = 1;
    p.queue_max = 100;
    static const char *const names[] = {"admit+release", "park+grant", "park+expire"};
    for (int what = PLAIN; what <= EXPIRE; what++) {
        double r[RUNS];
        for (int i = 0; i < RUNS; i++)
            r[i] = run(cl, &p, (enum what)what);
        qsort(r, RUNS, sizeof r[0], cmp);
        printf("%-14s %6.1f ns/request (median of %d x %d)\n", names[what], r[RUNS / 2], RUNS,
               OPS);
    }
    tg_conclimit_free(cl);
    return sink == 42 ? 2 : 0;
}
