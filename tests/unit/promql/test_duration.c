/* SPDX-License-Identifier: MIT */
/* tg_promql_duration against what common/model.ParseDuration (Prometheus 2.42) accepts:
 * units in order and once each, "0" alone, integers only, the int64-nanosecond range. */
#include <errno.h>
#include <string.h>

#include "promql/parse.h"
#include "tg_test.h"

static int dur(const char *s, int64_t *ms)
{
    *ms = -1;
    return tg_promql_duration(s, strlen(s), ms);
}

int main(int argc, char **argv)
{
    (void)argc;
    int64_t ms;
    TG_EXPECT_EQ(dur("0", &ms), 0);
    TG_EXPECT_EQ(ms, 0);
    TG_EXPECT_EQ(dur("0s", &ms), 0);
    TG_EXPECT_EQ(ms, 0);
    TG_EXPECT_EQ(dur("1h30m", &ms), 0);
    TG_EXPECT_EQ(ms, 5400000);
    TG_EXPECT_EQ(dur("1y2w3d4h5m6s7ms", &ms), 0);
    TG_EXPECT_EQ(ms, 365LL * 86400000 + 14LL * 86400000 + 3LL * 86400000 + 4 * 3600000 +
                         5 * 60000 + 6000 + 7);
    TG_EXPECT_EQ(dur("250ms", &ms), 0);
    TG_EXPECT_EQ(ms, 250);
    TG_EXPECT_EQ(dur("5m1ms", &ms), 0);
    TG_EXPECT_EQ(ms, 300001);
    /* out of order, repeated, no unit, a fraction, a sign, spaces, empty */
    const char *bad[] = {"1m1h", "1ms1m", "1h1h", "5", "1.5m", "-5m", " 5m", "5m ", "", "m",
                         "5M", "1µs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TG_EXPECT_EQ(dur(bad[i], &ms), -EINVAL);
    TG_EXPECT_EQ(ms, -1); /* untouched on error */
    /* Go's time.Duration holds about 292 years of nanoseconds */
    TG_EXPECT_EQ(dur("292y", &ms), 0);
    TG_EXPECT_EQ(dur("293y", &ms), -ERANGE);
    TG_EXPECT_EQ(dur("99999999999999999999s", &ms), -ERANGE);
    TG_EXPECT_EQ(dur("292y52w", &ms), -ERANGE);
    return tg_test_report(argv[0]);
}
