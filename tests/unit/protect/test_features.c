/* SPDX-License-Identifier: MIT */
/* Feature switches: declared features shed only their routes, undeclared ones shed by
 * path segment (whole segments only), nothing disabled sheds nothing. */
#include "protect/features.h"

#include <string.h>

#include "tg_test.h"

static const char *shed(const struct tg_features *f, const char *feature, const char *path)
{
    return tg_features_shed(f, feature, path, strlen(path));
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *disabled[] = {"analytics", "recommendations"};
    const char *declared[] = {"search", "recommendations", "search"};
    struct tg_features *f = NULL;
    TG_EXPECT_EQ(tg_features_new(disabled, 2, declared, 3, &f), 0);
    TG_EXPECT(!tg_features_none(f));
    /* analytics: no route declares it, so any path with that segment. */
    TG_EXPECT_STREQ(shed(f, "", "/api/analytics/daily"), "analytics");
    TG_EXPECT_STREQ(shed(f, NULL, "/analytics"), "analytics");
    TG_EXPECT_STREQ(shed(f, "", "/v2//analytics/"), "analytics");
    TG_EXPECT(shed(f, "", "/api/analyticsx/daily") == NULL);
    TG_EXPECT(shed(f, "", "/api/my-analytics") == NULL);
    TG_EXPECT(shed(f, "", "/api/products") == NULL);
    /* recommendations: declared, so only its routes, whatever the path says. */
    TG_EXPECT_STREQ(shed(f, "recommendations", "/api/for-you"), "recommendations");
    TG_EXPECT(shed(f, "", "/api/recommendations/1") == NULL);
    TG_EXPECT(shed(f, NULL, "/api/recommendations/1") == NULL);
    TG_EXPECT(shed(f, "search", "/api/search") == NULL);
    tg_features_free(f);

    struct tg_features *none = NULL;
    TG_EXPECT_EQ(tg_features_new(NULL, 0, NULL, 0, &none), 0);
    TG_EXPECT(tg_features_none(none));
    TG_EXPECT(shed(none, "", "/api/analytics") == NULL);
    tg_features_free(none);
    TG_EXPECT(tg_features_none(NULL));
    return tg_test_report(argv[0]);
}
