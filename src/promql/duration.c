/* SPDX-License-Identifier: MIT */
/* Prometheus's duration strings (common/model.ParseDuration), the one reader of them:
 * PromQL's range and offset literals, the HTTP API's step and timeout, rule files' for,
 * keep_firing_for and interval. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "promql/parse.h"

int tg_promql_duration(const char *s, size_t len, int64_t *ms)
{
    /* The units in the order a duration must give them, each at most once. */
    static const struct {
        const char unit[3];
        int64_t ms;
    } units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000},
                 {"h", 3600000},          {"m", 60000},          {"s", 1000},
                 {"ms", 1}};
    enum { NUNITS = sizeof units / sizeof units[0] };
    if (len == 1 && s[0] == '0') {
        *ms = 0;
        return 0;
    }
    if (len == 0)
        return -EINVAL;
    size_t i = 0, next = 0;
    int64_t total = 0;
    bool range = false;
    while (i < len) {
        size_t d0 = i;
        uint64_t n = 0;
        bool big = false;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (n > (uint64_t)INT64_MAX / 10)
                big = true;
            else
                n = n * 10 + (uint64_t)(s[i] - '0');
        }
        if (i == d0)
            return -EINVAL;
        size_t ul = (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') ? 2 : 1, u = next;
        while (u < NUNITS && !(strlen(units[u].unit) == ul && i + ul <= len &&
                               memcmp(s + i, units[u].unit, ul) == 0))
            u++;
        if (u == NUNITS)
            return -EINVAL;
        i += ul;
        next = u + 1;
        /* Go keeps the nanoseconds in an int64: past about 292 years is out of range.
         * Each term is then at most INT64_MAX / 1e6, so the sum of 7 cannot wrap. */
        if (big || n > (uint64_t)(INT64_MAX / 1000000 / units[u].ms))
            range = true;
        else if ((total += (int64_t)n * units[u].ms) > INT64_MAX / 1000000)
            range = true;
    }
    if (range)
        return -ERANGE;
    *ms = total;
    return 0;
}
