/* SPDX-License-Identifier: MIT */
/* The rules: and alerting: sections: values and defaults, external labels sorted, and
 * each refusal at its line:column with its message (a URL without a port, a bad label
 * name, a duplicate, an unknown key, an interval out of range). */
#include "config/schema_int.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/units.h"
#include "tg_test.h"

static struct tg_errbuf eb;

static int load(const char *y, struct tg_config **out)
{
    memset(&eb, 0, sizeof eb);
    return tg_config_load_string(y, strlen(y), "tailguard.yaml", out, &eb);
}

static void expect_err(const char *y, int line, int col, const char *msg)
{
    struct tg_config *c = NULL;
    TG_EXPECT_EQ(load(y, &c), TG_ECONFIG);
    TG_EXPECT_EQ(eb.line, line);
    TG_EXPECT_EQ(eb.column, col);
    TG_EXPECT_STREQ(eb.msg, msg);
    tg_config_free(c);
}

static void test_values_and_defaults(void)
{
    struct tg_config *c = NULL;
    TG_EXPECT_EQ(load("rules:\n  files: [a.yml, /etc/b.yml]\n  evaluation_interval: 15s\n"
                      "  external_labels: {site: lab, env: prod}\n"
                      "  external_url: http://gw.example:9090/\n"
                      "alerting:\n  alertmanagers: [\"http://127.0.0.1:9093\"]\n"
                      "  webhooks: [\"http://127.0.0.1:5001/hook\"]\n  resend_delay: 30s\n",
                      &c),
                 0);
    TG_EXPECT_EQ(c->rules.nfiles, 2u);
    TG_EXPECT_STREQ(c->rules.files[1], "/etc/b.yml");
    TG_EXPECT_EQ(c->rules.evaluation_interval_us, 15 * TG_US_PER_S);
    TG_EXPECT_EQ(c->rules.nexternal_labels, 2u);
    TG_EXPECT_STREQ(c->rules.external_labels[0].name, "env"); /* sorted */
    TG_EXPECT_STREQ(c->rules.external_url, "http://gw.example:9090");
    TG_EXPECT_EQ(c->alerting.nalertmanagers, 1u);
    TG_EXPECT_STREQ(c->alerting.webhooks[0], "http://127.0.0.1:5001/hook");
    TG_EXPECT_EQ(c->alerting.resend_delay_us, 30 * TG_US_PER_S);
    TG_EXPECT_EQ(c->alerting.retries, 3u);
    struct tg_config *copy = tg_config_clone(c);
    TG_EXPECT_STREQ(copy->rules.files[0], "a.yml");
    tg_config_free(copy);
    tg_config_free(c);
    c = tg_config_new_default();
    TG_EXPECT_EQ(c->rules.nfiles, 0u);
    TG_EXPECT_EQ(c->rules.evaluation_interval_us, 60 * TG_US_PER_S);
    TG_EXPECT_EQ(c->alerting.resend_delay_us, 60 * TG_US_PER_S);
    TG_EXPECT_EQ(c->alerting.timeout_us, 10 * TG_US_PER_S);
    tg_config_free(c);
}

static void test_refusals(void)
{
    expect_err("alerting:\n  alertmanagers: [\"http://127.0.0.1\"]\n", 2, 19,
               "alerting.alertmanagers[0]: expected a URL such as http://127.0.0.1:9093 (http, "
               "a host and a port)");
    expect_err("rules:\n  external_labels: {1x: a}\n", 2, 21,
               "rules.external_labels.1x: invalid label name (letters, digits and _, not "
               "starting with a digit or __)");
    expect_err("rules:\n  external_labels: {a: x, a: y}\n", 2, 27,
               "rules.external_labels.a: duplicate label name");
    expect_err("rules:\n  evaluation_interval: 10ms\n", 2, 24,
               "rules.evaluation_interval: 10ms is out of range (allowed 100ms to 1h)");
    expect_err("rules:\n  file: [a.yml]\n", 2, 3,
               "rules: unknown key \"file\" (did you mean \"files\"?)");
    expect_err("rules:\n  files: [\"\"]\n", 2, 11, "rules.files[0]: must be 1 to 255 bytes long");
}

int main(void)
{
    test_values_and_defaults();
    test_refusals();
    return tg_test_report("config/schema_rules");
}
