/* SPDX-License-Identifier: MIT */
/* Clock reads; see clock.h. */
#include "core/clock.h"

#include <time.h>

int64_t tg_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tg_clock_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *tg_clock_iso(int64_t wall_us, char *buf, size_t cap)
{
    time_t t = (time_t)(wall_us / 1000000);
    struct tm tm;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (gmtime_r(&t, &tm))
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
