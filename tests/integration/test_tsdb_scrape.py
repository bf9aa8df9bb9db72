# SPDX-License-Identifier: MIT
"""The gateway scraping itself into its time-series store (docs/tsdb.md): with
tsdb.scrape_interval 200ms the store fills with more series than /metrics has families
(histograms expand into buckets) and is saved beside the configuration file; a restart
with the same file has the series back before any new scrape (the second run scrapes
once an hour, so what its first /metrics shows came from the file); a damaged file is
reported in the log, set aside, and the gateway still runs; `:memory:` writes no file.
"""
import os
import re
import shutil
import signal
import tempfile

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"


def metrics(admin):
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics", timeout=10)
    assert st == 200, (st, body[:300])
    return body.decode()


def value(text, name):
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, f"no {name} in /metrics"
    return float(m.group(1))


def families(text):
    return len(re.findall(r"^# TYPE ", text, re.M))


def start(d, tsdb_yaml):
    """A gateway whose configuration file is in `d`, with `tsdb_yaml` as its tsdb:
    section. Returns (proc, admin port)."""
    port, admin = free_port(), free_port()
    cfg = os.path.join(d, "tailguard.yaml")
    with open(cfg, "w") as f:
        f.write(f"listen: {HOST}:{port}\nadmin: {{listen: {HOST}:{admin}}}\n"
                f"upstreams: [{{name: a, servers: [\"{HOST}:{free_port()}\"]}}]\n"
                f"tsdb: {tsdb_yaml}\n")
    p = Proc([BIN, "run", "-c", cfg, "--store", ":memory:"], name=f"gateway:{port}")
    p.start()
    try:
        p.wait_port(admin)
    except BaseException:
        p.stop()
        p.print_log_tail()
        raise
    return p, admin


def stop(p):
    p.send_signal(signal.SIGTERM)
    assert p.wait_exit(scaled(15, 30)) == 0, p.log_tail()
    p.stop()


def test_scrape_save_restart_and_damage():
    d = tempfile.mkdtemp(prefix="tg-tsdb-")
    path = os.path.join(d, "hist.tsdb")  # relative in the file: beside it
    try:
        # No periodic save in this run: the file comes from the save at the clean stop.
        p, admin = start(d, "{scrape_interval: 200ms, save_interval: 1h, path: hist.tsdb}")
        with p:
            nfam = families(metrics(admin))
            wait_until(lambda: value(metrics(admin), "tailguard_tsdb_series") > nfam,
                       timeout=scaled(10, 30), what="more series than families")
            wait_until(lambda: (lambda t: value(t, "tailguard_tsdb_samples")
                                > value(t, "tailguard_tsdb_series"))(metrics(admin)),
                       timeout=scaled(10, 30), what="a second scrape")
            assert not os.path.exists(path)
            stop(p)
        assert os.path.exists(path)

        # Restart on the same file; no scrape for an hour, so the figures are the file's.
        p, admin = start(d, "{scrape_interval: 1h, save_interval: 1s, path: hist.tsdb}")
        with p:
            text = metrics(admin)
            assert value(text, "tailguard_tsdb_samples_appended_total") == 0, \
                "a scrape ran: the test cannot tell loaded series from scraped ones"
            assert value(text, "tailguard_tsdb_series") > nfam
            assert value(text, "tailguard_tsdb_samples") > value(text, "tailguard_tsdb_series")
            # ... and queryable: the first run's last scrape answers PromQL (within the
            # 5 m lookback), `up` included.
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/query?query="
                                 "up%7Bjob%3D%22tailguard%22%7D")
            assert st == 200 and v["status"] == "success", v
            assert [r["value"][1] for r in v["data"]["result"]] == ["1"], v
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/query?query="
                                 "count(http_connections_active)")
            assert st == 200 and v["data"]["result"][0]["value"][1] == "1", v
            wait_until(lambda: value(metrics(admin), "tailguard_tsdb_saves_total") >= 1,
                       timeout=scaled(10, 30), what="a periodic save")
            assert value(metrics(admin), "tailguard_tsdb_save_errors_total") == 0
            stop(p)

        # A damaged (truncated) file: logged with its name, moved aside, the gateway runs.
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
        p, admin = start(d, "{scrape_interval: 1h, path: hist.tsdb}")
        with p:
            text = metrics(admin)
            assert value(text, "tailguard_tsdb_series") == 0
            log = p.log()
            assert re.search(rf"level=error module=tsdb msg=load-failed path={re.escape(path)} "
                             r"error=\"[^\"]*offset \d+", log), log
            assert os.path.exists(path + ".damaged")
            stop(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_memory_writes_no_file():
    d = tempfile.mkdtemp(prefix="tg-tsdb-")
    try:
        p, admin = start(d, "{scrape_interval: 200ms, save_interval: 1s, path: \":memory:\"}")
        with p:
            wait_until(lambda: value(metrics(admin), "tailguard_tsdb_series") > 0,
                       timeout=scaled(10, 30), what="a scrape")
            wait_until(lambda: value(metrics(admin), "tailguard_control_task_runs_total"
                                     "{task=\"tsdb-scrape\"}") >= 8,
                       timeout=scaled(10, 30), what="scrapes past a save interval")
            stop(p)
        assert os.listdir(d) == ["tailguard.yaml"], os.listdir(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests()
