/* SPDX-License-Identifier: MIT */
/* Clock reads; see clock.h. */
#include "core/clock.h"

#include <stdio.h>
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

const char *tg_clock_iso_ms(int64_t wall_us, char *buf, size_t cap)
{
    int64_t s = wall_us >= 0 ? wall_us / 1000000 : (wall_us - 999999) / 1000000;
    time_t t = (time_t)s;
    struct tm tm;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (gmtime_r(&t, &tm)) {
        size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
        if (n)
            snprintf(buf + n, cap - n, ".%03dZ", (int)((wall_us - s * 1000000) / 1000));
    }
    return buf;
}
