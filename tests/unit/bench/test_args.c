/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/args.c: option spellings, defaults per model, stages choosing
 * the model, capacity-search defaults, and every combination that must be a usage error
 * with one message (unknown flag, bad duration, rate 0, conflicting options). */
#include "bench/args_int.h"

#include <string.h>

#include "tg_test.h"

static struct tg_bench_opts o;
static struct tg_errbuf eb;

/* Parses a space-separated command line (after "bench"). */
static int parse(const char *line)
{
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = "bench";
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    memset(&eb, 0, sizeof eb);
    return tg_bench__parse_args(argc, argv, &o, &eb);
}

static void test_defaults(void)
{
    TG_EXPECT_EQ(parse("http://127.0.0.1:8080/"), 0);
    TG_EXPECT_EQ(o.model, TG_BENCH_CLOSED);
    TG_EXPECT_EQ(o.conns, TG_BENCH_DEFAULT_CONNS);
    TG_EXPECT_EQ(o.duration_us, TG_BENCH_DEFAULT_DURATION_US);
    TG_EXPECT_EQ(o.timeout_us, TG_BENCH_DEFAULT_TIMEOUT_US);
    TG_EXPECT_EQ(o.threads, 0);
    TG_EXPECT(o.keepalive);
    TG_EXPECT_EQ(o.nurls, 1);
    TG_EXPECT_STREQ(o.urls[0], "http://127.0.0.1:8080/");

    TG_EXPECT_EQ(parse("-c 64 -t2 -d 30s --no-keepalive --timeout=2s -q http://a/ http://a/b"), 0);
    TG_EXPECT_EQ(o.conns, 64);
    TG_EXPECT_EQ(o.threads, 2);
    TG_EXPECT_EQ(o.duration_us, 30000000);
    TG_EXPECT(!o.keepalive);
    TG_EXPECT_EQ(o.timeout_us, 2000000);
    TG_EXPECT(o.quiet);
    TG_EXPECT_EQ(o.nurls, 2);

    /* -n alone runs until the count, under the hard cap. */
    TG_EXPECT_EQ(parse("-n 1000 --connections=5 http://a/"), 0);
    TG_EXPECT_EQ(o.requests, 1000);
    TG_EXPECT_EQ(o.duration_us, TG_BENCH_DEFAULT_MAX_DURATION_US);
    TG_EXPECT_EQ(o.conns, 5);

    TG_EXPECT_EQ(parse("-m PUT -H X-A:1 --header=X-B:2 --body {} --json http://a/"), 0);
    TG_EXPECT_STREQ(o.method, "PUT");
    TG_EXPECT_EQ(o.nheaders, 2);
    TG_EXPECT_STREQ(o.headers[1], "X-B:2");
    TG_EXPECT_STREQ(o.body, "{}");
    TG_EXPECT(o.json);

    TG_EXPECT_EQ(parse("--help"), 1);
    TG_EXPECT_EQ(parse("-h http://a/"), 1);
}

static void test_models(void)
{
    TG_EXPECT_EQ(parse("-R 1000 -d 5s http://a/"), 0);
    TG_EXPECT_EQ(o.model, TG_BENCH_OPEN);
    TG_EXPECT(o.rate == 1000);
    TG_EXPECT_EQ(o.conns, TG_BENCH_DEFAULT_OPEN_CONNS);
    TG_EXPECT_EQ(parse("-R 1000 -c 4 http://a/"), 0);
    TG_EXPECT_EQ(o.conns, 4);

    /* Stages: connections unless -R or an rps suffix says rates. */
    TG_EXPECT_EQ(parse("--stages 30s:100,1m:500,30s:0 http://a/"), 0);
    TG_EXPECT_EQ(o.model, TG_BENCH_CLOSED);
    TG_EXPECT_EQ(o.conns, 500);
    TG_EXPECT(o.stages.start == 0);
    TG_EXPECT_EQ(parse("-c 10 --stages 30s:100 http://a/"), 0);
    TG_EXPECT(o.stages.start == 10);
    TG_EXPECT_EQ(o.conns, 100);
    TG_EXPECT_EQ(parse("-R 50 --stages 30s:100,30s:0 http://a/"), 0);
    TG_EXPECT_EQ(o.model, TG_BENCH_OPEN);
    TG_EXPECT(o.stages.start == 50);
    TG_EXPECT_EQ(parse("--stages 10s:100rps,10s:0 http://a/"), 0);
    TG_EXPECT_EQ(o.model, TG_BENCH_OPEN);
    TG_EXPECT(o.stages.start == 0);

    TG_EXPECT_EQ(parse("--find-capacity --slo p95<500ms,errors<1% http://a/"), 0);
    TG_EXPECT_EQ(o.model, TG_BENCH_OPEN);
    TG_EXPECT_EQ(o.nslo, 2);
    TG_EXPECT(o.start_rate == 100 && o.max_rate == 1e6 && o.precision == 0.05);
    TG_EXPECT_EQ(o.step_us, TG_BENCH_DEFAULT_STEP_US);
    TG_EXPECT_EQ(o.max_steps, 20);
    TG_EXPECT_EQ(parse("--find-capacity --slo p99<1s --step 3s --start-rate 50 --max-rate 2k "
                       "--precision 2% --max-steps 12 http://a/"),
                 0);
    TG_EXPECT(o.start_rate == 50 && o.max_rate == 2000 && o.precision == 0.02);
    TG_EXPECT_EQ(o.step_us, 3000000);
    TG_EXPECT_EQ(o.max_steps, 12);
    TG_EXPECT_EQ(parse("--find-capacity --slo p99<1s -R 300 http://a/"), 0);
    TG_EXPECT(o.start_rate == 300);

    TG_EXPECT_EQ(parse("--threshold p95<500ms --threshold errors<1%_over_30s http://a/"),
                 TG_EPARSE);
    TG_EXPECT_EQ(parse("--threshold p95<500ms,errors<1% http://a/"), 0);
    TG_EXPECT_EQ(o.nthresholds, 2);
}

static void test_errors(void)
{
    const char *bad[] = {
        "",                  /* no URL */
        "--bogus http://a/", /* unknown flag */
        "-x http://a/",
        "-d abc http://a/", /* bad duration */
        "-d 0s http://a/",
        "-R 0 http://a/", /* rate of 0 */
        "-R -5 http://a/",
        "-R abc http://a/",
        "-c 0 http://a/",
        "-c http://a/", /* value missing (the URL is taken, none left) */
        "-t 0 http://a/",
        "-t 1000 http://a/",
        "-n 0 http://a/",
        "--timeout 0 http://a/",
        "--json=yes http://a/", /* a flag with a value */
        "--body a --body-file b http://a/",
        "--scenario s.txt http://a/ http://b/",
        "--scenario s.txt --body x http://a/",
        "--stages 10s:5 -d 10s http://a/",
        "--stages 10s:0 http://a/", /* no connection ever */
        "--stages 10s:0rps http://a/",
        "--slo p95<1s http://a/",    /* SLO without a search */
        "--find-capacity http://a/", /* search without an SLO */
        "--find-capacity --slo p95<1s -n 10 http://a/",
        "--find-capacity --slo p95<1s --threshold p95<1s http://a/",
        "--find-capacity --slo p95<1s --start-rate 10k --max-rate 1k http://a/",
        "--step 5s http://a/",
        "--precision 60 --find-capacity --slo p95<1s http://a/",
        "-d 2h http://a/", /* beyond the default cap */
        "--max-duration 25h http://a/",
        "--stages 2h:10 http://a/",
        "--threshold p95 http://a/",
        "-n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i]);
        if (rc != TG_EPARSE)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        TG_EXPECT_EQ(rc, TG_EPARSE);
        /* One line, saying something. */
        TG_EXPECT(eb.msg[0] != 0);
        TG_EXPECT(strchr(eb.msg, '\n') == NULL);
    }
    parse("--bogus http://a/");
    TG_EXPECT(strstr(eb.msg, "--bogus") != NULL);
    parse("-d abc http://a/");
    TG_EXPECT(strstr(eb.msg, "'abc'") != NULL);
    parse("-R 0 http://a/");
    TG_EXPECT(strstr(eb.msg, "-R") != NULL);
    /* A longer cap allows a longer run. */
    TG_EXPECT_EQ(parse("-d 2h --max-duration 3h http://a/"), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_defaults();
    test_models();
    test_errors();
    return tg_test_report(argv[0]);
}
