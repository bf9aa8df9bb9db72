/* SPDX-License-Identifier: MIT */
/* tailguard's entry point: dispatches subcommands to the module that owns each one. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "cli/cmd.h"
#include "demo/demo.h"

static void usage(FILE *f)
{
    fputs("usage: tailguard <command> [options]\n"
          "\n"
          "commands:\n"
          "  run [-c FILE] [--listen ADDR] [--admin ADDR] [--upstream HOST:PORT]... [--workers N]\n"
          "                         run the gateway\n"
          "  demo                   demo API + gateway + light load, for a first look\n"
          "  demo-api [--listen ADDR] [--workers N] [--latency-scale F]\n"
          "                         the sample backend with fault injection\n"
          "  bench [options] URL... load generator and capacity search (bench --help)\n"
          "  check-config FILE      validate a configuration file\n"
          "  check-rules FILE...    check Prometheus rule files (as promtool check rules)\n"
          "  query EXPR [--time T] [--range [--start T] [--end T] [--step S]] [--admin ADDR]\n"
          "                         ask a running gateway a PromQL query\n"
          "  top [--admin URL] [--interval S]\n"
          "                         a live terminal view of a running gateway\n"
          "  version                print the version\n"
          "  help                   this text\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return tg_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return tg_cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "demo-api") == 0)
        return tg_demo_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return tg_bench_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return tg_cli_check_config(argc - 1, argv + 1);
    if (strcmp(cmd, "check-rules") == 0)
        return tg_cli_check_rules(argc - 1, argv + 1);
    if (strcmp(cmd, "query") == 0)
        return tg_cli_query(argc - 1, argv + 1);
    if (strcmp(cmd, "top") == 0)
        return tg_cli_top(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tailguard %s\n", TG_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tailguard: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
