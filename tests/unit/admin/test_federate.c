/* SPDX-License-Identifier: MIT */
/* Tests for src/admin/federate.c over a store filled by hand: the exact text (the newest
 * sample in the lookback, numbers as Go writes them, escaped label values, instance=""
 * for a series without one), staleness markers and samples past the lookback left out,
 * a series two selectors share written once, and the error answers. */
#include "admin/federate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb.h"
#include "tg_test.h"

#define NOW 1700000000000LL

static struct tg_str S(const char *s)
{
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static void add(struct tg_tsdb *db, const struct tg_label *ls, uint32_t n, int64_t t, double v)
{
    struct tg_labels set = {ls, n};
    TG_EXPECT_EQ(tg_tsdb_append(db, &set, t, v), 0);
}

static struct tg_tsdb *fill(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    const struct tg_label a[] = {{"__name__", "a"}, {"instance", "h:1"}, {"job", "j"}};
    const struct tg_label b[] = {{"__name__", "b"}, {"job", "j"}, {"path", "q\"\\\nz"}};
    const struct tg_label gone[] = {{"__name__", "c"}, {"job", "j"}};
    const struct tg_label old[] = {{"__name__", "d"}, {"job", "j"}};
    add(db, a, 3, NOW - 2000, 1);
    add(db, a, 3, NOW - 1000, 12345678); /* the newest: this one */
    add(db, b, 3, NOW - 1000, 0.000012);
    add(db, gone, 2, NOW - 2000, 3);
    add(db, gone, 2, NOW - 1000, tg_stale_nan());
    add(db, old, 2, NOW - 300001, 4); /* just past the 5 minutes */
    return db;
}

static void expect(struct tg_tsdb *db, const char *query, int status, const char *body)
{
    struct tg_admin_resp r = {0};
    tg_admin_federate(db, S(query), NOW, &r);
    TG_EXPECT_EQ(r.status, status);
    char *got = strndup(r.body ? r.body : "", r.body_len);
    TG_EXPECT_STREQ(got, body);
    free(got);
    tg_admin_resp_free(&r);
}

static void test_text(void)
{
    struct tg_tsdb *db = fill();
    expect(db, "match[]=%7Bjob%3D%22j%22%7D&match[]=a", 200,
           "# TYPE a untyped\n"
           "a{instance=\"h:1\",job=\"j\"} 1.2345678e+07 1699999999000\n"
           "# TYPE b untyped\n"
           "b{job=\"j\",path=\"q\\\"\\\\\\nz\",instance=\"\"} 1.2e-05 1699999999000\n");
    expect(db, "match%5B%5D=a", 200,
           "# TYPE a untyped\na{instance=\"h:1\",job=\"j\"} 1.2345678e+07 1699999999000\n");
    expect(db, "match[]=c&match[]=d&match[]={}", 200, "");
    expect(db, "", 200, "");
    expect(NULL, "match[]=a", 200, "");
    tg_tsdb_free(db);
}

static void test_errors(void)
{
    expect(NULL, "match[]=a[5m]", 400, "1:2: parse error: unexpected \"[\"\n");
    expect(NULL, "match[]=a&x=%4", 400, "error parsing form values: invalid URL escape \"%4\"\n");
    expect(NULL, "match[]=%zzz", 400, "error parsing form values: invalid URL escape \"%zz\"\n");
}

int main(void)
{
    test_text();
    test_errors();
    return tg_test_report("admin_federate");
}
