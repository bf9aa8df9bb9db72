/* SPDX-License-Identifier: MIT */
/* The INFO parser (src/collect/redis_info.c) on INFO text as Redis 7.0 and 5.0 print it
 * (CRLF line ends, as on the wire), a replica's, and malformed text: the families and
 * values redis_exporter 1.45 prints for the same text, the summary the JSON endpoint
 * reads, and the field table's order that bsearch relies on. */
#include <stdlib.h>
#include <string.h>

#include "collect/redis_info.h"
#include "collect/redis_int.h"
#include "collect/snap.h"
#include "core/err.h"
#include "metrics/expo.h"
#include "tg_test.h"

static const char info70[] =
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_build_id:ae4d7c971a948f0\r\n"
    "redis_mode:standalone\r\n"
    "os:Linux 6.1.0 x86_64\r\n"
    "process_id:31410\r\n"
    "run_id:c36b5b98851b84ff84ca259f98f25c0543051ac7\r\n"
    "tcp_port:16399\r\n"
    "uptime_in_seconds:100\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Clients\r\n"
    "connected_clients:3\r\n"
    "cluster_connections:0\r\n"
    "maxclients:10000\r\n"
    "blocked_clients:1\r\n"
    "\r\n"
    "# Memory\r\n"
    "used_memory:1116248\r\n"
    "used_memory_human:1.06M\r\n"
    "used_memory_rss:7290880\r\n"
    "maxmemory:536870912\r\n"
    "maxmemory_policy:allkeys-lru\r\n"
    "mem_fragmentation_ratio:6.77\r\n"
    "\r\n"
    "# Persistence\r\n"
    "rdb_last_bgsave_status:ok\r\n"
    "aof_last_write_status:err\r\n"
    "\r\n"
    "# Stats\r\n"
    "total_connections_received:5\r\n"
    "total_commands_processed:9\r\n"
    "instantaneous_ops_per_sec:5\r\n"
    "rejected_connections:2\r\n"
    "expired_keys:7\r\n"
    "evicted_keys:4\r\n"
    "keyspace_hits:30\r\n"
    "keyspace_misses:10\r\n"
    "latest_fork_usec:1500\r\n"
    "\r\n"
    "# Replication\r\n"
    "role:master\r\n"
    "connected_slaves:1\r\n"
    "slave0:ip=10.0.0.2,port=6380,state=online,offset=1751,lag=1\r\n"
    "master_repl_offset:1751\r\n"
    "\r\n"
    "# CPU\r\n"
    "used_cpu_sys:0.007339\r\n"
    "\r\n"
    "# Commandstats\r\n"
    "cmdstat_client|setname:calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_get:calls=2,usec=12,usec_per_call=6.00,rejected_calls=1,failed_calls=3\r\n"
    "\r\n"
    "# Errorstats\r\n"
    "errorstat_ERR:count=4\r\n"
    "\r\n"
    "# Latencystats\r\n"
    "latency_percentiles_usec_get:p50=5.023,p99=7.007,p99.9=7.007\r\n"
    "\r\n"
    "# Cluster\r\n"
    "cluster_enabled:0\r\n"
    "\r\n"
    "# Keyspace\r\n"
    "db0:keys=12,expires=2,avg_ttl=5000\r\n"
    "db3:keys=1,expires=0,avg_ttl=0\r\n";

static double get(const struct tg_csnap *s, const char *name, const char *l, const char *v)
{
    double out = -12345;
    if (!tg_csnap_get(s, &out, name, l, v, NULL))
        return -12345;
    return out;
}

static bool has(const struct tg_csnap *s, const char *name)
{
    double out;
    return tg_csnap_get(s, &out, name, NULL);
}

static char *expo(struct tg_csnap *s)
{
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_csnap_collect(s, &v, &cur), TG_DONE);
    size_t n;
    char *text = tg_expo_take(&e, &n);
    tg_expo_deinit(&e);
    return text;
}

static void test_redis70(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_credis_summary sum;
    TG_EXPECT_EQ(tg_credis_info_parse(info70, strlen(info70), 16, 1000100, s, &sum), 0);
    TG_EXPECT_EQ(get(s, "redis_connected_clients", NULL, NULL), 3);
    TG_EXPECT_EQ(get(s, "redis_blocked_clients", NULL, NULL), 1);
    TG_EXPECT_EQ(get(s, "redis_memory_used_bytes", NULL, NULL), 1116248);
    TG_EXPECT_EQ(get(s, "redis_memory_max_bytes", NULL, NULL), 536870912);
    TG_EXPECT_EQ(get(s, "redis_keyspace_hits_total", NULL, NULL), 30);
    TG_EXPECT_EQ(get(s, "redis_keyspace_misses_total", NULL, NULL), 10);
    TG_EXPECT_EQ(get(s, "redis_commands_processed_total", NULL, NULL), 9);
    TG_EXPECT_EQ(get(s, "redis_evicted_keys_total", NULL, NULL), 4);
    TG_EXPECT_EQ(get(s, "redis_expired_keys_total", NULL, NULL), 7);
    TG_EXPECT_EQ(get(s, "redis_rejected_connections_total", NULL, NULL), 2);
    TG_EXPECT_EQ(get(s, "redis_uptime_in_seconds", NULL, NULL), 100);
    TG_EXPECT_EQ(get(s, "redis_start_time_seconds", NULL, NULL), 1000000);
    TG_EXPECT_EQ(get(s, "redis_connected_slaves", NULL, NULL), 1);
    TG_EXPECT_EQ(get(s, "redis_rdb_last_bgsave_status", NULL, NULL), 1);
    TG_EXPECT_EQ(get(s, "redis_aof_last_write_status", NULL, NULL), 0);
    TG_EXPECT_EQ(get(s, "redis_latest_fork_seconds", NULL, NULL) * 1e4, 15);
    TG_EXPECT_EQ(get(s, "redis_cluster_enabled", NULL, NULL), 0);
    TG_EXPECT_EQ(get(s, "redis_cluster_connections", NULL, NULL), 0);
    TG_EXPECT_EQ(get(s, "redis_mem_fragmentation_ratio", NULL, NULL) * 100, 677);
    /* Fields the exporter does not map stay out, human-readable copies too. */
    TG_EXPECT(!has(s, "redis_maxclients"));
    TG_EXPECT(!has(s, "redis_used_memory_human"));
    TG_EXPECT(!has(s, "redis_latest_fork_usec"));
    TG_EXPECT(!has(s, "redis_instantaneous_ops_per_sec"));
    /* Keyspace: the two dbs INFO lists, and zeros for the other 14. */
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db0"), 12);
    TG_EXPECT_EQ(get(s, "redis_db_keys_expiring", "db", "db0"), 2);
    TG_EXPECT_EQ(get(s, "redis_db_avg_ttl_seconds", "db", "db0"), 5);
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db3"), 1);
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db15"), 0);
    TG_EXPECT_EQ(get(s, "redis_db_keys_expiring", "db", "db7"), 0);
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db16"), -12345);
    /* Commandstats and Errorstats. */
    TG_EXPECT_EQ(get(s, "redis_commands_total", "cmd", "get"), 2);
    TG_EXPECT_EQ(get(s, "redis_commands_total", "cmd", "client|setname"), 1);
    TG_EXPECT_EQ(get(s, "redis_commands_duration_seconds_total", "cmd", "get") * 1e6, 12);
    TG_EXPECT_EQ(get(s, "redis_commands_rejected_calls_total", "cmd", "get"), 1);
    TG_EXPECT_EQ(get(s, "redis_commands_failed_calls_total", "cmd", "get"), 3);
    TG_EXPECT_EQ(get(s, "redis_errors_total", "err", "ERR"), 4);
    /* Replication, master side. */
    TG_EXPECT_EQ(get(s, "redis_connected_slave_offset_bytes", "slave_ip", "10.0.0.2"), 1751);
    TG_EXPECT_EQ(get(s, "redis_connected_slave_lag_seconds", "slave_port", "6380"), 1);
    TG_EXPECT_EQ(get(s, "redis_master_repl_offset", NULL, NULL), 1751);
    TG_EXPECT(!has(s, "redis_slave_info"));
    /* instance_info and its labels. */
    TG_EXPECT_EQ(get(s, "redis_instance_info", "maxmemory_policy", "allkeys-lru"), 1);
    TG_EXPECT_EQ(get(s, "redis_instance_info", "redis_version", "7.0.15"), 1);
    TG_EXPECT_EQ(get(s, "redis_instance_info", "os", "Linux 6.1.0 x86_64"), 1);
    TG_EXPECT_EQ(get(s, "redis_instance_info", "tcp_port", "16399"), 1);

    /* The summary. */
    TG_EXPECT(sum.has_maxmemory);
    TG_EXPECT_EQ(sum.keys, 13);
    TG_EXPECT_EQ(sum.keys_expiring, 2);
    TG_EXPECT_EQ(sum.ops_per_sec, 5);
    TG_EXPECT_EQ(sum.connected_clients, 3);
    TG_EXPECT_EQ(tg_credis_hit_ratio(&sum) * 100, 75);
    TG_EXPECT_STREQ(sum.role, "master");
    TG_EXPECT_STREQ(sum.version, "7.0.15");
    TG_EXPECT_STREQ(sum.maxmemory_policy, "allkeys-lru");

    /* Types as the exporter declares them, and families grouped in the text. */
    char *text = expo(s);
    TG_EXPECT(strstr(text, "# TYPE redis_keyspace_hits_total counter\n"));
    TG_EXPECT(strstr(text, "# TYPE redis_connected_clients gauge\n"));
    TG_EXPECT(strstr(text, "# TYPE redis_commands_total counter\n"));
    TG_EXPECT(strstr(text, "# TYPE redis_db_keys gauge\n"));
    TG_EXPECT(strstr(text, "# TYPE redis_cpu_sys_seconds_total counter\n"));
    TG_EXPECT(strstr(text, "redis_commands_total{cmd=\"client|setname\"} 1\n"));
    const char *a = strstr(text, "redis_commands_total{cmd=\"client|setname\"}");
    const char *b = strstr(text, "redis_commands_total{cmd=\"get\"}");
    const char *d = strstr(text, "# TYPE redis_commands_duration_seconds_total");
    TG_EXPECT(a && b && d && a < b && (b < d || d < a));
    free(text);
    tg_csnap_free(s);
}

/* Redis 5.0: commandstats without rejected/failed calls, no avg_ttl is fine too. */
static void test_redis50(void)
{
    static const char info[] = "# Server\nredis_version:5.0.14\nuptime_in_seconds:5\n"
                               "# Commandstats\ncmdstat_get:calls=21,usec=175,usec_per_call=8.33\n"
                               "# Keyspace\ndb0:keys=1,expires=0\n";
    struct tg_csnap *s = tg_csnap_new();
    struct tg_credis_summary sum;
    TG_EXPECT_EQ(tg_credis_info_parse(info, strlen(info), 2, 100, s, &sum), 0);
    TG_EXPECT_EQ(get(s, "redis_commands_total", "cmd", "get"), 21);
    TG_EXPECT(!has(s, "redis_commands_rejected_calls_total"));
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db0"), 1);
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db1"), 0);
    TG_EXPECT(!has(s, "redis_db_avg_ttl_seconds"));
    TG_EXPECT(!sum.has_maxmemory);
    TG_EXPECT_EQ(tg_credis_hit_ratio(&sum), -1);
    tg_csnap_free(s);
}

static void test_replica(void)
{
    static const char info[] = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\n"
                               "master_port:6379\r\nmaster_link_status:down\r\n"
                               "master_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\n"
                               "slave_repl_offset:42\r\nslave_read_only:1\r\n";
    struct tg_csnap *s = tg_csnap_new();
    TG_EXPECT_EQ(tg_credis_info_parse(info, strlen(info), 0, 0, s, NULL), 0);
    TG_EXPECT_EQ(get(s, "redis_master_link_up", "master_host", "10.0.0.1"), 0);
    TG_EXPECT_EQ(get(s, "redis_master_last_io_seconds_ago", "master_port", "6379"), -1);
    TG_EXPECT_EQ(get(s, "redis_slave_repl_offset", "master_port", "6379"), 42);
    TG_EXPECT_EQ(get(s, "redis_slave_info", "read_only", "1"), 1);
    TG_EXPECT_EQ(get(s, "redis_instance_info", "role", "slave"), 1);
    tg_csnap_free(s);
}

static void test_malformed(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_credis_summary sum;
    /* Not INFO at all: no field:value line. */
    TG_EXPECT_EQ(tg_credis_info_parse("", 0, 16, 0, s, &sum), TG_EPARSE);
    TG_EXPECT_EQ(tg_credis_info_parse("# Server\r\n\r\nhello\r\n", 19, 16, 0, s, &sum), TG_EPARSE);
    /* Bad lines are skipped one by one; the good ones stay. */
    static const char bad[] = "# Clients\n"
                              "connected_clients:many\n" /* not a number */
                              "blocked_clients:\n"       /* empty */
                              "used_memory:1e999\n"      /* out of range */
                              ":5\n"                     /* no field */
                              "evicted_keys:3\n"         /* fine */
                              "# Keyspace\n"
                              "db0:keys=x,expires=1\n" /* bad count */
                              "db1:expires=1\n"        /* no keys */
                              "dbx:keys=1,expires=1\n" /* bad db */
                              "db2:keys=5,expires=1\n" /* fine */
                              "# Commandstats\n"
                              "cmdstat_get:calls=,usec=1\n"   /* bad calls */
                              "get:calls=1,usec=1\n"          /* no prefix */
                              "cmdstat_set:calls=4,usec=8\n"; /* fine */
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_credis_info_parse(bad, strlen(bad), 3, 0, s, &sum), 0);
    TG_EXPECT(!has(s, "redis_connected_clients"));
    TG_EXPECT(!has(s, "redis_blocked_clients"));
    TG_EXPECT(!has(s, "redis_memory_used_bytes"));
    TG_EXPECT_EQ(get(s, "redis_evicted_keys_total", NULL, NULL), 3);
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db0"), 0); /* as an absent db */
    TG_EXPECT_EQ(get(s, "redis_db_keys", "db", "db2"), 5);
    TG_EXPECT_EQ(get(s, "redis_commands_total", "cmd", "set"), 4);
    TG_EXPECT_EQ(get(s, "redis_commands_total", "cmd", "get"), -12345);
    TG_EXPECT_EQ(tg_csnap_nseries(s), 1 + 2 * 3 + 1 + 1 + 1);
    /* A NUL inside a line, a line without its end, a huge line, a huge db number. */
    static const char odd[] = "evicted_keys:3\0junk\nexpired_keys:9\n# Keyspace\n"
                              "db99999999999999999999:keys=1,expires=1\nkeyspace_hits:4";
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_credis_info_parse(odd, sizeof odd - 1, 0, 0, s, &sum), 0);
    TG_EXPECT(!has(s, "redis_evicted_keys_total"));
    TG_EXPECT_EQ(get(s, "redis_expired_keys_total", NULL, NULL), 9);
    TG_EXPECT_EQ(get(s, "redis_keyspace_hits_total", NULL, NULL), 4);
    char big[2048];
    memset(big, 'a', sizeof big);
    memcpy(big, "used_memory:", 12);
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_credis_info_parse(big, sizeof big, 0, 0, s, &sum), TG_EPARSE);
    tg_csnap_free(s);
}

static void test_table_sorted(void)
{
    TG_EXPECT_GT(tg_credis__nfields, 100);
    for (size_t i = 1; i < tg_credis__nfields; i++)
        TG_EXPECT_LT(strcmp(tg_credis__fields[i - 1].info, tg_credis__fields[i].info), 0);
    for (size_t i = 0; i < tg_credis__nfields; i++) {
        const struct tg_credis__field *f = &tg_credis__fields[i];
        size_t n = strlen(f->name);
        /* The exporter's counters do not all end in _total (total_error_replies ...). */
        if (f->type == TG_METRIC_GAUGE)
            TG_EXPECT(n < 6 || strcmp(f->name + n - 6, "_total") != 0 ||
                      strstr(f->name, "cached_sockets") || strstr(f->name, "cap_reached") ||
                      strstr(f->name, "cluster_messages") || strstr(f->name, "threads_total") ||
                      strstr(f->name, "lock_waits"));
    }
}

int main(void)
{
    test_redis70();
    test_redis50();
    test_replica();
    test_malformed();
    test_table_sorted();
    return tg_test_report("collect/redis_info");
}
