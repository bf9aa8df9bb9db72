# SPDX-License-Identifier: MIT
"""The PostgreSQL collector against a real PostgreSQL 15 (peers.Postgres: a temporary
data folder, pg_stat_statements preloaded) and a gateway configured with
collectors.postgres, scraping every second:

- /metrics/postgres beside Debian's prometheus-postgres-exporter on the same server:
  every family tailguard claims has the exporter's name, type and label names (plus
  `server`, which both print); gauges agree within a stated tolerance and counters move
  at the same rate over the same window;
- slow statements (pg_sleep) run several times are listed by database/slow-queries
  with their mean time; connections, locks (a real lock wait) and index candidates;
- a long query in a background psql: terminate-long-queries lists it (dry run), ends
  it (psql gets the termination error), never tailguard's own sessions; the audit log
  has both calls; a bad body or no token is refused;
- E9, E10 and E11 through /api/v1/query, checked against SQL;
- a hung server (the postmaster and every backend stopped): pg_up and up 0 within an
  interval plus the timeout, the reason in /health/detailed, the diagnostics answer 503
  promptly, the admin API's p99 unchanged; SIGCONT brings pg_up back to 1.
"""

import os
import re
import signal
import subprocess
import time
import urllib.parse

from peers import Postgres, exporter
from tgtest import (HOST, SANITIZED, free_port, gateway, http, http_json, run_tests, scaled,
                    wait_until)

TOKEN = "pg-hook-token"
ENV = dict(os.environ, TAILGUARD_ADMIN_TOKEN=TOKEN)
AUTH = {"Authorization": f"Bearer {TOKEN}"}

_state = {}


def setup():
    """One server and one gateway for every test (started on first use)."""
    if _state:
        return _state
    pg = Postgres().__enter__()
    port, admin = free_port(), free_port()
    cfg = f"""
tsdb:
  scrape_interval: 1s
collectors:
  postgres:
    - name: main
      dsn: "{pg.dsn}"
      interval: 1s
      timeout: 1s
      statements_limit: 50
"""
    gw = gateway(port, admin, [free_port()], config=cfg, env=ENV)
    _state.update(pg=pg, gw=gw, admin=f"http://{HOST}:{admin}")
    wait_until(lambda: metric_value("pg_up") == 1, timeout=scaled(20), what="pg_up 1")
    return _state


def teardown():
    if _state:
        _state["gw"].stop()
        _state["pg"].__exit__(None, None, None)


def get(path, timeout=5):
    return http_json("GET", _state["admin"] + path, timeout=timeout)


def parse_expo(text):
    """{name: (type, [(labels dict, value)])} from a text exposition."""
    fams, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            fams.setdefault(name, (typ, []))
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        fams.setdefault(m.group(1), (types.get(m.group(1), "untyped"), []))[1].append(
            (labels, float(m.group(4))))
    return fams


def scrape_pg():
    st, _, body = http("GET", _state["admin"] + "/metrics/postgres")
    assert st == 200, st
    return parse_expo(body.decode())


def metric_value(name, **labels):
    fams = scrape_pg()
    for lab, v in fams.get(name, ("", []))[1]:
        if all(lab.get(k) == v2 for k, v2 in labels.items()):
            return v
    return None


def query(expr):
    st, _, body = get("/api/v1/query?query=" + urllib.parse.quote(expr))
    assert st == 200 and body["status"] == "success", (st, body)
    return body["data"]["result"]


# ---- the exporter side by side --------------------------------------------------------

CLAIMED = {
    # family: (type, label names, how values compare)
    "pg_up": ("gauge", set(), "equal"),
    "pg_stat_database_numbackends": ("gauge", {"datid", "datname", "server"}, "backends"),
    "pg_stat_database_xact_commit": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_xact_rollback": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_blks_read": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_blks_hit": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_tup_returned": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_tup_fetched": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_tup_inserted": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_tup_updated": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_tup_deleted": ("counter", {"datid", "datname", "server"}, "rate"),
    "pg_stat_database_conflicts": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_database_temp_files": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_database_temp_bytes": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_database_deadlocks": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_database_blk_read_time": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_database_blk_write_time": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_database_stats_reset": ("counter", {"datid", "datname", "server"}, "equal"),
    "pg_stat_activity_count": ("gauge", {"datname", "state", "server"}, "backends"),
    "pg_stat_activity_max_tx_duration": ("gauge", {"datname", "state", "server"}, "seconds"),
    "pg_locks_count": ("gauge", {"datname", "mode", "server"}, "backends"),
    "pg_settings_max_connections": ("gauge", {"server"}, "equal"),
    "pg_settings_superuser_reserved_connections": ("gauge", {"server"}, "equal"),
    "pg_database_size_bytes": ("gauge", {"datname", "server"}, "size"),
}


def key(labels):
    return tuple(sorted((k, v) for k, v in labels.items() if k != "server"))


def close(a, b, how):
    """Gauges: backends and locks may differ by the other side's own sessions (each
    side's connection and the exporter's, ±4); a longest transaction by the time
    between the two reads (±2 s); a database size by a few pages (±1 %)."""
    if a != a and b != b:  # both NaN (SQL NULL)
        return True
    if how == "equal":
        return a == b
    if how == "backends":
        return abs(a - b) <= 4
    if how == "seconds":
        return abs(a - b) <= 2
    if how == "size":
        return abs(a - b) <= max(0.01 * max(a, b), 64 * 1024)
    return True


def test_same_families_as_postgres_exporter():
    s = setup()
    pg = s["pg"]
    eport = free_port()
    dsn = f"postgresql://postgres@{HOST}:{pg.port}/postgres?sslmode=disable"
    env = dict(os.environ, DATA_SOURCE_NAME=dsn)
    with exporter(["prometheus-postgres-exporter", f"--web.listen-address={HOST}:{eport}"],
                  eport, env=env):
        def exp():
            st, _, body = http("GET", f"http://{HOST}:{eport}/metrics", timeout=20)
            assert st == 200
            return parse_expo(body.decode())

        def work():  # counters must move in the window: commits, reads, inserts
            pg.sql("CREATE TABLE IF NOT EXISTS diff_t (x int); INSERT INTO diff_t "
                   "SELECT generate_series(1, 500); SELECT count(*) FROM diff_t;")

        work()
        time.sleep(1.2)
        e0, t0 = exp(), scrape_pg()
        for _ in range(5):
            work()
        time.sleep(2.5)  # two of our collections; the exporter reads at request time
        e1, t1 = exp(), scrape_pg()
        for name, (typ, labels, how) in CLAIMED.items():
            assert name in t1, f"tailguard lacks {name}"
            assert name in e1, f"the exporter lacks {name}"
            assert t1[name][0] == typ == e1[name][0], (name, t1[name][0], e1[name][0])
            tl = {frozenset(l) for l, _ in t1[name][1]}
            el = {frozenset(l) for l, _ in e1[name][1]}
            assert tl == el == {frozenset(labels)}, (name, tl, el)
            tv, ev = dict((key(l), v) for l, v in t1[name][1]), dict(
                (key(l), v) for l, v in e1[name][1])
            assert set(tv) == set(ev), (name, set(tv) ^ set(ev))
            if how != "rate":
                for k in tv:
                    assert close(tv[k], ev[k], how), (name, k, tv[k], ev[k])
                continue
            # Counters: the increase over the window, each side's from its own two reads,
            # agree within what the reads themselves add (each read is a few queries
            # that hit blocks and commit) plus 10 %.
            t0v = dict((key(l), v) for l, v in t0[name][1])
            e0v = dict((key(l), v) for l, v in e0[name][1])
            for k in tv:
                dt, de = tv[k] - t0v.get(k, 0), ev[k] - e0v.get(k, 0)
                assert dt >= 0 and de >= 0, (name, k, dt, de)
                assert abs(dt - de) <= 0.10 * max(dt, de) + 3000, (name, k, dt, de)
        # The server label names the same server.
        assert {l["server"] for l, _ in t1["pg_locks_count"][1]} == \
               {l["server"] for l, _ in e1["pg_locks_count"][1]}


def test_slow_queries_listed_with_mean_time():
    s = setup()
    for _ in range(3):
        s["pg"].sql("SELECT pg_sleep(0.15)")
    st, _, body = get("/api/v1/monitoring/database/slow-queries?min_mean_ms=100&limit=5")
    assert st == 200, body
    rows = [q for q in body["queries"] if "pg_sleep" in q["query"]]
    assert rows, body
    q = rows[0]
    assert q["calls"] >= 3, q
    assert 150 <= q["avg_ms"] < 400, q
    assert q["max_ms"] >= q["avg_ms"] and abs(q["total_ms"] - q["avg_ms"] * q["calls"]) < 1, q
    assert set(q) == {"query", "calls", "avg_ms", "max_ms", "total_ms"}, q
    # The threshold filters: nothing averages a minute.
    st, _, body = get("/api/v1/monitoring/database/slow-queries?min_mean_ms=60000")
    assert st == 200 and body["queries"] == [], body
    for bad in ("limit=0", "limit=x", "min_mean_ms=-3"):
        st, _, body = get("/api/v1/monitoring/database/slow-queries?" + bad)
        assert st == 400 and body["field"] == bad.split("=")[0], (bad, body)
    st, _, body = get("/api/v1/monitoring/database/slow-queries?instance=nope")
    assert st == 404 and body["field"] == "instance", body


def test_connections_locks_index_candidates():
    s = setup()
    pg = s["pg"]
    st, _, body = get("/api/v1/monitoring/database/connections")
    assert st == 200, body
    assert body["max_connections"] == 50, body
    assert body["total"] == sum(x["connections"] for x in body["by_state"]) >= 1, body
    # A lock wait: one session holds the table, another waits for it.
    pg.sql("CREATE TABLE IF NOT EXISTS lock_t (x int)")
    holder = pg.background("BEGIN; LOCK TABLE lock_t; SELECT pg_sleep(8); COMMIT;")
    try:
        time.sleep(0.5)
        waiter = pg.background("SELECT count(*) FROM lock_t")
        try:
            def waiting():
                st, _, b = get("/api/v1/monitoring/database/locks")
                assert st == 200, b
                return b if b["waiting"] else None
            b = wait_until(waiting, timeout=5, what="a waiting lock")
            w = b["waiting"][0]
            assert "lock_t" in w["query"] and "LOCK TABLE" in w["blocking_query"], w
            assert w["blocking_pid"] != w["pid"] and w["relation"] == "lock_t", w
            modes = {m["mode"]: m for m in b["by_mode"]}
            assert modes["AccessExclusiveLock"]["granted"] >= 1, modes
            assert modes["AccessShareLock"]["waiting"] >= 1, modes
        finally:
            waiter.kill()
            waiter.wait()
    finally:
        holder.kill()
        holder.wait()
        # psql gone, its backends would sleep on: end them so later tests see none.
        pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
               "'%lock_t%' AND pid <> pg_backend_pid()")
    # Index candidates: hundreds of distinct values in random order, analysed (the seed's
    # n_distinct > 100 counts values only when ANALYZE stores a count, not a fraction of
    # the rows, which it does for a column with repeats).
    pg.sql("DROP TABLE IF EXISTS cand_t; CREATE TABLE cand_t AS SELECT (random() * 500)::int "
           "AS r, 1 AS c FROM generate_series(1, 20000); ANALYZE cand_t;")
    st, _, body = get("/api/v1/monitoring/database/index-candidates")
    assert st == 200, body
    cols = {(c["tablename"], c["attname"]) for c in body["candidates"]}
    assert ("cand_t", "r") in cols and ("cand_t", "c") not in cols, body
    assert all(c["n_distinct"] > 100 and c["correlation"] < 0.1 for c in body["candidates"])


def test_terminate_long_queries():
    s = setup()
    pg = s["pg"]
    url = s["admin"] + "/api/v1/system/db/terminate-long-queries"
    long_q = pg.background("SELECT pg_sleep(60) AS long_one")
    try:
        wait_until(lambda: pg.sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                                  "'%long_one%' AND state = 'active' AND pid <> "
                                  "pg_backend_pid()") == "1", timeout=5, what="long query")
        time.sleep(2.2)
        # Refused: no token, unknown field, missing field.
        st, _, b = http_json("POST", url, {"older_than_s": 1})
        assert st == 401, b
        st, _, b = http_json("POST", url, {"older_than_s": 1, "pid": 3}, headers=AUTH)
        assert st == 400 and b["field"] == "pid", b
        st, _, b = http_json("POST", url, {"dry_run": True}, headers=AUTH)
        assert st == 400 and b["field"] == "older_than_s", b
        # Dry run: listed, not ended.
        st, _, b = http_json("POST", url, {"older_than_s": 2, "dry_run": True}, headers=AUTH)
        assert st == 200, b
        mine = [q for q in b["queries"] if "long_one" in q["query"]]
        assert len(mine) == 1 and not mine[0]["terminated"] and mine[0]["duration_s"] >= 2, b
        assert b["dry_run"] is True and b["terminated"] == 0, b
        # Never tailguard's own sessions, whatever their age.
        assert not [q for q in b["queries"] if "pg_stat_" in q["query"]], b
        assert long_q.poll() is None
        # Real run: ended; psql reports the termination.
        st, _, b = http_json("POST", url, {"older_than_s": 2}, headers=AUTH)
        assert st == 200, b
        mine = [q for q in b["queries"] if "long_one" in q["query"]]
        assert len(mine) == 1 and mine[0]["terminated"] is True and b["terminated"] >= 1, b
        out, err = long_q.communicate(timeout=10)
        assert long_q.returncode != 0 and "terminat" in err, (long_q.returncode, err)
    finally:
        if long_q.poll() is None:
            long_q.kill()
        long_q.wait()
    # Both calls are in the audit log, with the query.
    st, _, audit = get("/api/v1/system/audit")
    assert st == 200, audit
    rows = [r for r in (audit if isinstance(audit, list) else audit.get("entries", audit.get(
        "audit", []))) if "terminate-long-queries" in str(r)]
    assert len(rows) == 2, audit
    assert all("long_one" in str(r) for r in rows), rows
    # The collector still works: its sessions were never touched.
    wait_until(lambda: metric_value("pg_up") == 1, timeout=5, what="pg_up still 1")


def test_seed_expressions():
    s = setup()
    pg = s["pg"]
    pg.sql("SELECT pg_sleep(0.05)")
    time.sleep(2.5)
    # E9: one series per database, numbackends as PostgreSQL counts them (±4: sessions
    # come and go between the scrape and our query).
    r = query("pg_stat_database_numbackends")
    got = {x["metric"].get("datname", ""): float(x["value"][1]) for x in r}
    assert "postgres" in got and all(x["metric"]["job"] == "postgres" for x in r), r
    sql = int(pg.sql("SELECT numbackends FROM pg_stat_database WHERE datname = 'postgres'"))
    assert abs(got["postgres"] - sql) <= 4, (got, sql)
    # E10: the calls-weighted mean of mean_exec_time over pg_stat_statements.
    r = query("pg_stat_statements_mean_time_ms")
    assert len(r) == 1, r
    want = float(pg.sql("SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements"))
    got = float(r[0]["value"][1])
    assert got > 0 and abs(got - want) <= 0.25 * want, (got, want)
    # E11: the buffer cache hit ratio per database, in 0..1, as PostgreSQL's counters say.
    r = query("pg_stat_database_blks_hit / (pg_stat_database_blks_hit + "
              "pg_stat_database_blks_read)")
    got = {x["metric"].get("datname", ""): float(x["value"][1]) for x in r}
    hit, read = map(int, pg.sql("SELECT blks_hit, blks_read FROM pg_stat_database WHERE "
                                "datname = 'postgres'").split("|"))
    assert 0 < got["postgres"] <= 1 and abs(got["postgres"] - hit / (hit + read)) < 0.05, \
        (got, hit, read)


def p99(url, n):
    lat = []
    for _ in range(n):
        t = time.monotonic()
        st, _, _ = http("GET", url, timeout=5)
        lat.append(time.monotonic() - t)
        assert st in (200, 503)
    lat.sort()
    return lat[int(0.99 * (len(lat) - 1))]


def test_hung_postgres():
    s = setup()
    pg = s["pg"]
    n = 150 if SANITIZED else 300
    before = p99(s["admin"] + "/health", n)
    # The postmaster alone (new connections hang, the backends it has still answer),
    # then the whole server (every query hangs).
    for whole in (False, True):
        hang_and_recover(s, pg.backend_pids() if whole else [pg.postmaster_pid], before, n)


def signal_all(pids, sig):
    """Signals each process; a backend may have ended since it was listed (each
    collection's connection is a backend of its own)."""
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def hang_and_recover(s, pids, before, n):
    signal_all(pids, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        wait_until(lambda: metric_value("pg_up") == 0, timeout=scaled(10), what="pg_up 0")
        took = time.monotonic() - t0
        assert took <= 1 + 1 + 1.5, took  # an interval, the timeout, and the scrape's second

        def down():
            st, _, h = get("/health/detailed")
            c = [x for x in h.get("collectors", []) if x.get("job") == "postgres"]
            return c[0] if c and not c[0]["up"] and c[0]["error"] else None
        c = wait_until(down, timeout=5, what="the reason in /health/detailed")
        assert "timeout" in c["error"] or "answer" in c["error"], c
        wait_until(lambda: query('up{job="postgres"}') and
                   float(query('up{job="postgres"}')[0]["value"][1]) == 0,
                   timeout=5, what='up{job="postgres"} 0')
        if len(pids) > 1:
            # A diagnostic answers 503 with the reason, within the target's timeout.
            t = time.monotonic()
            st, _, b = get("/api/v1/monitoring/database/connections", timeout=10)
            assert st == 503 and b["error"] and b["instance"] == "main", (st, b)
            assert time.monotonic() - t < 3, time.monotonic() - t
        during = p99(s["admin"] + "/health", n)
        # Unchanged: within a few ms of before (the machine is shared), never a hang.
        assert during <= max(3 * before, before + 0.02), (before, during)
        print(f"{len(pids)} process(es) stopped: admin /health p99 {before * 1e3:.2f} ms "
              f"before, {during * 1e3:.2f} ms hung; pg_up 0 after {took:.2f} s")
    finally:
        signal_all(pids, signal.SIGCONT)
    wait_until(lambda: metric_value("pg_up") == 1, timeout=scaled(10), what="pg_up back to 1")
    st, _, b = get("/api/v1/monitoring/database/connections")
    assert st == 200, b


if __name__ == "__main__":
    try:
        run_tests()
    finally:
        teardown()
