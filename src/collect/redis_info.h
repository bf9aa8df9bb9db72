/* SPDX-License-Identifier: MIT */
/* Redis's INFO text as redis_exporter 1.45 maps it: each "field:value" line of a known
 * field becomes a gauge or counter under the exporter's name (used_memory ->
 * redis_memory_used_bytes, keyspace_hits -> redis_keyspace_hits_total, ...), the
 * Keyspace lines become redis_db_keys{db} and its kin (every db below `ndb` is shown,
 * with 0 when INFO has no line for it), Commandstats redis_commands_total{cmd} and
 * redis_commands_duration_seconds_total{cmd}, Errorstats redis_errors_total{err}, the
 * Replication lines the master and replica families, and a few fields the
 * redis_instance_info labels. docs/collectors.md lists the families and the deliberate
 * differences. Malformed lines are skipped, one by one, as the exporter does; values
 * that do not read as numbers are left out.
 *
 * Pure: no I/O, no clock (the caller passes the wall time start_time_seconds needs),
 * so the parser is unit-tested on fixtures and fuzzed (tests/fuzz/fuzz_redis_info.c).
 * Used by the Redis collector (redis.c) and its JSON summary. */
#ifndef TG_COLLECT_REDIS_INFO_H
#define TG_COLLECT_REDIS_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_csnap;

/* The figures the runbooks' redis-cli checks read (GET /api/v1/monitoring/redis/info),
 * as found in one INFO. Absent fields stay 0 (strings ""). */
struct tg_credis_summary {
    bool has_maxmemory; /* INFO showed maxmemory (Redis 3.2 on; else CONFIG GET) */
    double connected_clients, blocked_clients, connected_slaves, rejected_connections;
    double used_memory, used_memory_rss, maxmemory, mem_fragmentation_ratio;
    double keyspace_hits, keyspace_misses, evicted_keys, expired_keys;
    double ops_per_sec, commands_processed, uptime_s;
    double keys, keys_expiring; /* over every db */
    char role[16], version[32], maxmemory_policy[32];
};

/* Parses INFO text `text[0..len)` (any bytes; need not be NUL-terminated). Adds the
 * families to `out` when it is not NULL and fills `sum` when it is not NULL. `ndb` is
 * the number of databases (CONFIG GET databases; 16, the exporter's default, when
 * unknown), `now_wall_s` the Unix time for redis_start_time_seconds. Returns 0, or
 * TG_EPARSE when not one line is a "field:value" pair (the text is not INFO), or
 * -ENOMEM from the snapshot. */
int tg_credis_info_parse(const char *text, size_t len, uint32_t ndb, int64_t now_wall_s,
                         struct tg_csnap *out, struct tg_credis_summary *sum);

/* The keyspace hit ratio hits / (hits + misses), or -1 when neither moved. */
double tg_credis_hit_ratio(const struct tg_credis_summary *s);

#endif
