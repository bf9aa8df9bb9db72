/* SPDX-License-Identifier: MIT */
/* The collectors: section: every key read, the defaults, the default instance names made
 * from DSNs and addresses, intervals and timeouts of 0 resolved by validation, relative
 * password files, the effective config shown without secrets, and each refusal at its
 * line:column with its message (a password in a DSN, in any of its spellings, is refused
 * without the message ever quoting it). */
#include "config/schema_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/settings.h"
#include "config/units.h"
#include "tg_test.h"

#define SEC TG_US_PER_S
#define UPSTREAM "upstreams: [{name: a, servers: ['127.0.0.1:9']}]\n"

static struct tg_errbuf eb;

static int load(const char *y, struct tg_config **out)
{
    memset(&eb, 0, sizeof eb);
    return tg_config_load_string(y, strlen(y), "tailguard.yaml", out, &eb);
}

static void expect_err_at(const char *y, int line, int col, const char *msg, int srcline)
{
    struct tg_config *c = NULL;
    int rc = load(y, &c);
    TG_EXPECT_EQ(rc, TG_ECONFIG);
    if (eb.line != line || eb.column != col || strcmp(eb.msg, msg) != 0)
        fprintf(stderr, "  (case at line %d: %d:%d %s)\n", srcline, eb.line, eb.column, eb.msg);
    TG_EXPECT_EQ(eb.line, line);
    TG_EXPECT_EQ(eb.column, col);
    TG_EXPECT_STREQ(eb.msg, msg);
    TG_EXPECT(c == NULL);
    tg_config_free(c);
}
#define expect_err(y, line, col, msg) expect_err_at(y, line, col, msg, __LINE__)

static struct tg_config *load_ok(const char *y)
{
    struct tg_config *c = NULL;
    int rc = load(y, &c);
    if (rc)
        fprintf(stderr, "  unexpected error %d:%d %s\n", eb.line, eb.column, eb.msg);
    TG_EXPECT_EQ(rc, 0);
    return c;
}

static void test_defaults(void)
{
    struct tg_config *c = tg_config_new_default();
    const struct tg_cfg_collectors *k = &c->collectors;
    TG_EXPECT(k->host.enabled);
    TG_EXPECT_STREQ(k->host.procfs, "/proc");
    TG_EXPECT_STREQ(k->host.sysfs, "/sys");
    TG_EXPECT_STREQ(k->host.rootfs, "/");
    TG_EXPECT_EQ(k->host.interval_us, 0);
    TG_EXPECT_STREQ(k->containers.cgroup_root, "/sys/fs/cgroup");
    TG_EXPECT_EQ(k->containers.n, 0u);
    TG_EXPECT_EQ(k->npostgres + k->nredis + k->nprobes, 0u);
    tg_config_free(c);
    /* Validation writes the intervals the collectors run at. */
    c = load_ok(UPSTREAM "tsdb: {scrape_interval: 2s}\n");
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    TG_EXPECT_EQ(c->collectors.host.interval_us, 2 * SEC);
    TG_EXPECT_EQ(c->collectors.containers.interval_us, 2 * SEC);
    tg_config_free(c);
}

static void test_every_key(void)
{
    struct tg_config *c = load_ok(
        "collectors:\n"
        "  host: {enabled: false, procfs: /host/proc, sysfs: /host/sys, rootfs: /host,\n"
        "         interval: 30s}\n"
        "  containers:\n"
        "    cgroup_root: /cg\n"
        "    interval: 20s\n"
        "    targets:\n"
        "      - {name: codexos-backend, process: node}\n"
        "      - {name: db, pid: 1234}\n"
        "      - {name: web, cgroup: /system.slice/web.service}\n"
        "  postgres:\n"
        "    - name: main\n"
        "      dsn: \"host=127.0.0.1 port=5432 dbname=app user=app\"\n"
        "      password_file: /etc/tailguard/pg.pass\n"
        "      interval: 15s\n"
        "      timeout: 5s\n"
        "      statements: false\n"
        "      statements_limit: 20\n"
        "    - {dsn: \"postgresql://app@127.0.0.1:5433/db\", password_env: PGPASS}\n"
        "  redis:\n"
        "    - {name: cache, addr: \"127.0.0.1:6379\", username: x, password_env: REDIS_PASS,\n"
        "       interval: 10s, timeout: 1s}\n"
        "    - {addr: /run/redis/redis.sock}\n"
        "  probes:\n"
        "    - {service: openai, url: \"http://127.0.0.1:8080/v1/models\", interval: 30s,\n"
        "       timeout: 5s, method: HEAD, valid_status: [200, 204]}\n"
        "    - {service: local, url: \"http://localhost/health\"}\n");
    if (!c)
        return;
    const struct tg_cfg_collectors *k = &c->collectors;
    TG_EXPECT(!k->host.enabled);
    TG_EXPECT_STREQ(k->host.procfs, "/host/proc");
    TG_EXPECT_STREQ(k->host.sysfs, "/host/sys");
    TG_EXPECT_STREQ(k->host.rootfs, "/host");
    TG_EXPECT_EQ(k->host.interval_us, 30 * SEC);
    TG_EXPECT_STREQ(k->containers.cgroup_root, "/cg");
    TG_EXPECT_EQ(k->containers.interval_us, 20 * SEC);
    TG_EXPECT_EQ(k->containers.n, 3u);
    TG_EXPECT_STREQ(k->containers.list[0].name, "codexos-backend");
    TG_EXPECT_STREQ(k->containers.list[0].process, "node");
    TG_EXPECT_EQ(k->containers.list[0].pid, 0);
    TG_EXPECT_EQ(k->containers.list[1].pid, 1234);
    TG_EXPECT_STREQ(k->containers.list[2].cgroup, "/system.slice/web.service");
    TG_EXPECT_EQ(k->npostgres, 2u);
    TG_EXPECT_STREQ(k->postgres[0].name, "main");
    TG_EXPECT_STREQ(k->postgres[0].dsn, "host=127.0.0.1 port=5432 dbname=app user=app");
    TG_EXPECT_STREQ(k->postgres[0].password.file, "/etc/tailguard/pg.pass");
    TG_EXPECT_STREQ(k->postgres[0].password.env, "");
    TG_EXPECT_EQ(k->postgres[0].interval_us, 15 * SEC);
    TG_EXPECT_EQ(k->postgres[0].timeout_us, 5 * SEC);
    TG_EXPECT(!k->postgres[0].statements);
    TG_EXPECT_EQ(k->postgres[0].statements_limit, 20u);
    TG_EXPECT_STREQ(k->postgres[1].name, "127.0.0.1:5433/db");
    TG_EXPECT_STREQ(k->postgres[1].password.env, "PGPASS");
    TG_EXPECT(k->postgres[1].statements);
    TG_EXPECT_EQ(k->postgres[1].statements_limit, 100u);
    TG_EXPECT_EQ(k->nredis, 2u);
    TG_EXPECT_STREQ(k->redis[0].name, "cache");
    TG_EXPECT_STREQ(k->redis[0].addr, "127.0.0.1:6379");
    TG_EXPECT_STREQ(k->redis[0].username, "x");
    TG_EXPECT_STREQ(k->redis[0].password.env, "REDIS_PASS");
    TG_EXPECT_EQ(k->redis[0].interval_us, 10 * SEC);
    TG_EXPECT_EQ(k->redis[0].timeout_us, 1 * SEC);
    TG_EXPECT_STREQ(k->redis[1].name, "/run/redis/redis.sock");
    TG_EXPECT_EQ(k->nprobes, 2u);
    TG_EXPECT_STREQ(k->probes[0].service, "openai");
    TG_EXPECT_STREQ(k->probes[0].url, "http://127.0.0.1:8080/v1/models");
    TG_EXPECT_EQ(k->probes[0].method, TG_CFG_M_HEAD);
    TG_EXPECT_EQ(k->probes[0].nvalid_status, 2u);
    TG_EXPECT_EQ(k->probes[0].valid_status[1], 204u);
    TG_EXPECT_EQ(k->probes[1].method, TG_CFG_M_GET);
    TG_EXPECT_EQ(k->probes[1].nvalid_status, 0u);
    struct tg_config *copy = tg_config_clone(c);
    TG_EXPECT_STREQ(copy->collectors.probes[1].url, "http://localhost/health");
    tg_config_free(copy);
    tg_config_free(c);
}

/* The instance names made from DSNs, as the runbooks' exporters would label them. */
static void test_default_names(void)
{
    static const struct {
        const char *dsn, *name;
    } cases[] = {
        {"host=10.0.0.5 dbname=app", "10.0.0.5:5432/app"},
        {"host = db1,db2 port=5433,5434 user=u", "db1:5433/u"},
        {"hostaddr=::1 dbname='my db'", "[::1]:5432/my db"},
        {"dbname=app", "localhost:5432/app"},
        {"sslmode=disable", "localhost:5432"},
        {"user='o\\\\'k' host=h", "h:5432/o'k"}, /* YAML's \\ is one backslash */
        {"postgresql://", "localhost:5432"},
        {"postgres://u@h:1/d", "h:1/d"},
        {"postgresql://[::1]:5433/d?sslmode=require", "[::1]:5433/d"},
        {"postgresql://%2Fvar%2Frun%2Fpostgresql/app", "/var/run/postgresql:5432/app"},
        {"postgresql://h1:5432,h2:5433/app", "h1:5432/app"},
        {"postgresql:///app?host=10.1.1.1&port=6543", "10.1.1.1:6543/app"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char y[512];
        snprintf(y, sizeof y, "collectors:\n  postgres:\n    - dsn: \"%s\"\n", cases[i].dsn);
        struct tg_config *c = load_ok(y);
        if (c)
            TG_EXPECT_STREQ(c->collectors.postgres[0].name, cases[i].name);
        tg_config_free(c);
    }
}

/* Every spelling of a password in a DSN is refused, and the message never repeats it. */
static void test_dsn_passwords(void)
{
    static const char *const dsns[] = {
        "host=h password=sekrit",
        "host=h password = 'sek rit'",
        "host=h sslpassword=sekrit",
        "user='pass\\\\word=x' password=sekrit",
        "postgresql://app:sekrit@h/db",
        "postgresql://app:@h/db",
        "postgresql://h/db?password=sekrit",
        "postgresql://h/db?sslmode=disable&pass%77ord=sekrit",
    };
    for (size_t i = 0; i < sizeof dsns / sizeof dsns[0]; i++) {
        char y[512];
        snprintf(y, sizeof y, "collectors:\n  postgres:\n    - {name: x, dsn: \"%s\"}\n", dsns[i]);
        struct tg_config *c = NULL;
        TG_EXPECT_EQ(load(y, &c), TG_ECONFIG);
        TG_EXPECT_EQ(eb.line, 3);
        TG_EXPECT_STREQ(eb.msg, "collectors.postgres[0].dsn: holds a password: put it in a "
                                "file named by password_file, or in an environment variable "
                                "named by password_env (a DSN is shown by the admin API)");
        TG_EXPECT(strstr(eb.msg, "sekrit") == NULL);
        tg_config_free(c);
    }
    /* Not passwords: the user's name, a passfile, a quoted "password=" inside a value. */
    struct tg_config *c =
        load_ok("collectors:\n  postgres:\n"
                "    - {dsn: \"user=password passfile=/p options='-c password=no'\"}\n");
    tg_config_free(c);
}

static void test_timeouts_and_intervals(void)
{
    struct tg_config *c = load_ok(UPSTREAM "collectors:\n"
                                           "  postgres: [{dsn: \"host=a\"}, {dsn: \"host=b\", "
                                           "interval: 1m}, {dsn: \"host=c\", interval: 2s}]\n"
                                           "  redis: [{addr: \"127.0.0.1:1\", timeout: 3s}]\n"
                                           "  probes: [{service: s, url: \"http://[::1]:1/\"}]\n"
                                           "tsdb: {scrape_interval: 4s}\n");
    if (!c)
        return;
    const struct tg_cfg_collectors *k = &c->collectors;
    TG_EXPECT_EQ(k->postgres[0].interval_us, 0); /* 0 until validated */
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    TG_EXPECT_EQ(k->postgres[0].interval_us, 4 * SEC);
    TG_EXPECT_EQ(k->postgres[0].timeout_us, 4 * SEC);
    TG_EXPECT_EQ(k->postgres[1].interval_us, 60 * SEC);
    TG_EXPECT_EQ(k->postgres[1].timeout_us, 10 * SEC); /* capped */
    TG_EXPECT_EQ(k->postgres[2].timeout_us, 2 * SEC);
    TG_EXPECT_EQ(k->redis[0].interval_us, 4 * SEC);
    TG_EXPECT_EQ(k->redis[0].timeout_us, 3 * SEC);
    TG_EXPECT_EQ(k->probes[0].timeout_us, 4 * SEC);
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0); /* idempotent */
    TG_EXPECT_EQ(k->postgres[1].timeout_us, 10 * SEC);
    tg_config_free(c);
    /* The scrape interval may come after the collectors in the file. */
    expect_err("collectors:\n  redis: [{addr: \"127.0.0.1:1\", timeout: 6s}]\n"
               "tsdb: {scrape_interval: 5s}\n",
               2, 42,
               "collectors.redis[0].timeout: timeout 6s is longer than the interval, 5s "
               "(tsdb.scrape_interval)");
    expect_err("collectors:\n  probes:\n    - {service: s, url: \"http://127.0.0.1:1/\",\n"
               "       interval: 1s, timeout: 2s}\n",
               4, 31, "collectors.probes[0].timeout: timeout 2s is longer than the interval, 1s");
    expect_err("collectors:\n  postgres:\n    - dsn: \"host=a\"\n      interval: 50ms\n", 4, 17,
               "collectors.postgres[0].interval: 50ms is out of range (allowed 100ms to 1h)");
    expect_err("collectors:\n  host: {interval: 2h}\n", 2, 20,
               "collectors.host.interval: 2h is out of range (allowed 100ms to 1h)");
}

static void test_password_files(void)
{
    const char *y = "collectors:\n  postgres: [{dsn: \"host=a\", password_file: pg.pass}]\n"
                    "  redis: [{addr: /r.sock, password_file: /abs/r.pass}]\n";
    char path[] = "/tmp/tg_collectors_XXXXXX";
    TG_EXPECT(mkdtemp(path) != NULL);
    char file[128];
    snprintf(file, sizeof file, "%s/tailguard.yaml", path);
    FILE *f = fopen(file, "w");
    TG_EXPECT(f != NULL);
    if (!f)
        return;
    fputs(y, f);
    fclose(f);
    struct tg_config *c = NULL;
    TG_EXPECT_EQ(tg_config_load_file(file, &c, &eb), 0);
    if (c) {
        char want[160];
        snprintf(want, sizeof want, "%s/pg.pass", path);
        TG_EXPECT_STREQ(c->collectors.postgres[0].password.file, want);
        TG_EXPECT_STREQ(c->collectors.redis[0].password.file, "/abs/r.pass");
    }
    tg_config_free(c);
    remove(file);
    rmdir(path);
    /* From a string there is no directory: kept as written. */
    c = load_ok(y);
    if (c)
        TG_EXPECT_STREQ(c->collectors.postgres[0].password.file, "pg.pass");
    tg_config_free(c);
}

/* GET /api/v1/system/config: the section, where passwords come from, no control API. */
static void test_shown(void)
{
    struct tg_config *c =
        load_ok(UPSTREAM "collectors:\n"
                         "  postgres: [{name: main, dsn: \"host=a\", password_file: /p}]\n"
                         "  redis: [{addr: \"127.0.0.1:1\", password_env: RP}]\n"
                         "  probes: [{service: s, url: \"http://127.0.0.1:1/\", method: POST,\n"
                         "            valid_status: [201]}]\n");
    if (!c)
        return;
    TG_EXPECT_EQ(tg_config_validate(c, &eb), 0);
    json_t *pg = tg_config_setting_value(c, "collectors.postgres");
    json_t *rd = tg_config_setting_value(c, "collectors.redis");
    json_t *pr = tg_config_setting_value(c, "collectors.probes");
    json_t *host = tg_config_setting_value(c, "collectors.host");
    char *s = json_dumps(pg, JSON_COMPACT | JSON_SORT_KEYS);
    TG_EXPECT_STREQ(s, "[{\"dsn\":\"host=a\",\"interval_ms\":5000,\"name\":\"main\","
                       "\"password_file\":\"/p\",\"statements\":true,\"statements_limit\":100,"
                       "\"timeout_ms\":5000}]");
    free(s);
    s = json_dumps(rd, JSON_COMPACT | JSON_SORT_KEYS);
    TG_EXPECT_STREQ(s, "[{\"addr\":\"127.0.0.1:1\",\"interval_ms\":5000,\"name\":\"127.0.0.1:1\","
                       "\"password_env\":\"RP\",\"timeout_ms\":5000,\"username\":\"\"}]");
    free(s);
    s = json_dumps(pr, JSON_COMPACT | JSON_SORT_KEYS);
    TG_EXPECT_STREQ(s, "[{\"interval_ms\":5000,\"method\":\"POST\",\"service\":\"s\","
                       "\"timeout_ms\":5000,\"url\":\"http://127.0.0.1:1/\","
                       "\"valid_status\":[201]}]");
    free(s);
    TG_EXPECT_EQ(json_integer_value(json_object_get(host, "interval_ms")), 5000);
    TG_EXPECT(json_is_true(json_object_get(host, "enabled")));
    json_decref(pg);
    json_decref(rd);
    json_decref(pr);
    json_decref(host);
    /* Reload applies them; the control API does not change them. */
    TG_EXPECT_EQ(tg_config_apply_override(c, "collectors.host", "{\"enabled\": false}", &eb),
                 TG_ENOTFOUND);
    struct tg_config *next = tg_config_clone(c);
    next->collectors.host.enabled = false;
    TG_EXPECT_EQ(tg_config_keep_restart_only(c, next, NULL, NULL), 0u);
    TG_EXPECT(!next->collectors.host.enabled);
    tg_config_free(next);
    tg_config_free(c);
}

static void test_refusals(void)
{
    /* host, containers */
    expect_err("collectors:\n  host: {procfs: proc}\n", 2, 18,
               "collectors.host.procfs: must be an absolute path (starting with \"/\")");
    expect_err("collectors:\n  hosts: {}\n", 2, 3,
               "collectors: unknown key \"hosts\" (did you mean \"host\"?)");
    expect_err("collectors:\n  containers: {cgroup_root: cg}\n", 2, 29,
               "collectors.containers.cgroup_root: must be an absolute path (starting with "
               "\"/\")");
    expect_err("collectors:\n  containers:\n    targets: [{name: a}]\n", 3, 15,
               "collectors.containers.targets[0]: give one of cgroup, process or pid");
    expect_err("collectors:\n  containers:\n    targets: [{name: a, pid: 1, process: x}]\n", 3, 42,
               "collectors.containers.targets[0].process: give only one of cgroup, process "
               "or pid");
    expect_err("collectors:\n  containers:\n    targets: [{name: a, cgroup: /a/../b}]\n", 3, 33,
               "collectors.containers.targets[0].cgroup: must be a path under cgroup_root, "
               "starting with \"/\", without \"..\"");
    expect_err("collectors:\n  containers:\n    targets: [{name: a, cgroup: /..}]\n", 3, 33,
               "collectors.containers.targets[0].cgroup: must be a path under cgroup_root, "
               "starting with \"/\", without \"..\"");
    expect_err("collectors:\n  containers:\n    targets: [{name: a, process: a-very-long-name}]\n",
               3, 34,
               "collectors.containers.targets[0].process: a process name is 1 to 15 bytes (the "
               "kernel keeps no more of it)");
    expect_err("collectors:\n  containers:\n    targets: [{name: a, pid: 0}]\n", 3, 30,
               "collectors.containers.targets[0].pid: 0 is out of range (allowed 1 to 4194304)");
    expect_err("collectors:\n  containers:\n    targets:\n      - {name: a, pid: 1}\n"
               "      - {name: a, pid: 2}\n",
               5, 16,
               "collectors.containers.targets[1].name: duplicate container name \"a\" (also "
               "targets[0])");
    /* postgres */
    expect_err("collectors:\n  postgres: [{name: x}]\n", 2, 14,
               "collectors.postgres[0]: missing required key \"dsn\"");
    expect_err("collectors:\n  postgres: [{dsn: \"host\"}]\n", 2, 20,
               "collectors.postgres[0].dsn: not a connection string: expected key=value pairs "
               "or a postgresql:// URI");
    expect_err("collectors:\n  postgres: [{dsn: \"host='a\"}]\n", 2, 20,
               "collectors.postgres[0].dsn: a quoted value has no closing quote");
    expect_err("collectors:\n  postgres: [{dsn: \"postgresql://h/%zz\"}]\n", 2, 20,
               "collectors.postgres[0].dsn: bad percent-encoding in the URI");
    expect_err("collectors:\n  postgres: [{dsn: \"postgresql://[::1/d\"}]\n", 2, 20,
               "collectors.postgres[0].dsn: an IPv6 host in the URI has no closing \"]\"");
    expect_err("collectors:\n  postgres:\n    - {dsn: \"host=a\", password_file: /f, "
               "password_env: E}\n",
               3, 56,
               "collectors.postgres[0].password_env: give either password_file or "
               "password_env");
    expect_err("collectors:\n  postgres: [{dsn: \"host=a\", password_env: 1PG}]\n", 2, 44,
               "collectors.postgres[0].password_env: not an environment variable name "
               "(letters, digits and _, not starting with a digit)");
    expect_err("collectors:\n  postgres: [{dsn: \"host=a\", password_file: \"\"}]\n", 2, 45,
               "collectors.postgres[0].password_file: empty path");
    expect_err("collectors:\n  postgres: [{dsn: \"host=a\"}, {dsn: \"host=a\"}]\n", 2, 37,
               "collectors.postgres[1].dsn: duplicate PostgreSQL instance name "
               "\"a:5432\" (also [0]); set name");
    expect_err(
        "collectors:\n  postgres: [{name: m, dsn: \"host=a\"}, {name: m, dsn: \"host=b\"}]\n", 2,
        47,
        "collectors.postgres[1].name: duplicate PostgreSQL instance name \"m\" (also "
        "[0])");
    expect_err("collectors:\n  postgres: [{name: \"\", dsn: \"host=a\"}]\n", 2, 21,
               "collectors.postgres[0].name: must be 1 to 63 bytes without control characters");
    expect_err("collectors:\n  postgres: [{dsn: \"host=a\", statements_limit: 0}]\n", 2, 48,
               "collectors.postgres[0].statements_limit: 0 is out of range (allowed 1 to "
               "10000)");
    /* redis */
    expect_err("collectors:\n  redis: [{addr: \"redis:6379\"}]\n", 2, 18,
               "collectors.redis[0].addr: bad address \"redis:6379\": hostnames are not "
               "supported, use an IP address (or a unix socket path starting with \"/\")");
    expect_err("collectors:\n  redis: [{addr: \"127.0.0.1:0\"}]\n", 2, 18,
               "collectors.redis[0].addr: 127.0.0.1:0: port 0 is not a Redis port");
    expect_err("collectors:\n  redis: [{addr: \":6379\"}]\n", 2, 18,
               "collectors.redis[0].addr: 0.0.0.0:6379: a wildcard address is for listening; "
               "give the server's");
    expect_err("collectors:\n  redis: [{addr: \"127.0.0.1:1\"}, {addr: \"127.0.0.1:1\"}]\n", 2, 41,
               "collectors.redis[1].addr: duplicate Redis instance name \"127.0.0.1:1\" "
               "(also [0]); set name");
    /* probes */
    expect_err("collectors:\n  probes: [{service: s, url: \"https://127.0.0.1/\"}]\n", 2, 30,
               "collectors.probes[0].url: https is not supported (the probes have no TLS): use "
               "http://");
    expect_err("collectors:\n  probes: [{service: s, url: \"ftp://x/\"}]\n", 2, 30,
               "collectors.probes[0].url: expected an http:// URL such as "
               "http://127.0.0.1:8080/health");
    expect_err("collectors:\n  probes: [{service: s, url: \"http://api.openai.com/v1\"}]\n", 2, 30,
               "collectors.probes[0].url: bad address \"api.openai.com:80\": hostnames are not "
               "supported, use an IP address (the host is an IP address or localhost: names "
               "are not looked up)");
    expect_err("collectors:\n  probes: [{service: s, url: \"http:///x\"}]\n", 2, 30,
               "collectors.probes[0].url: no host (the host is an IP address or localhost: "
               "names are not looked up)");
    expect_err("collectors:\n  probes: [{service: s, url: \"http://127.0.0.1/a b\"}]\n", 2, 30,
               "collectors.probes[0].url: the path may not contain spaces, control characters "
               "or \"#\"");
    expect_err("collectors:\n  probes: [{service: s, url: \"http://1.2.3.4/\", method: get}]\n", 2,
               57,
               "collectors.probes[0].method: unknown value \"get\" (allowed: GET, HEAD, POST, PUT, "
               "DELETE, "
               "PATCH, OPTIONS)");
    expect_err("collectors:\n  probes: [{service: s, url: \"http://1.2.3.4/\", valid_status: []}]"
               "\n",
               2, 63,
               "collectors.probes[0].valid_status: empty list (leave out valid_status for any "
               "2xx)");
    expect_err("collectors:\n  probes: [{service: s, url: \"http://1.2.3.4/\", valid_status: "
               "[99]}]\n",
               2, 64,
               "collectors.probes[0].valid_status[0]: 99 is out of range (allowed 100 "
               "to 599)");
    expect_err("collectors:\n  probes: [{url: \"http://1.2.3.4/\"}]\n", 2, 12,
               "collectors.probes[0]: missing required key \"service\"");
    expect_err("collectors:\n  probes:\n    - {service: s, url: \"http://1.2.3.4/\"}\n"
               "    - {service: s, url: \"http://1.2.3.5/\"}\n",
               4, 17, "collectors.probes[1].service: duplicate service \"s\" (also [0])");
}

int main(void)
{
    test_defaults();
    test_every_key();
    test_default_names();
    test_dsn_passwords();
    test_timeouts_and_intervals();
    test_password_files();
    test_shown();
    test_refusals();
    return tg_test_report("config/collectors");
}
