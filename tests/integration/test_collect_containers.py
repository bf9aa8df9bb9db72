# SPDX-License-Identifier: MIT
"""The container collector through a real gateway. With a cgroup tree the test writes
(cgroup_root pointing at it): runbook 003's E25 and E26 over container="codexos-backend"
answer through /api/v1/query with the values the files hold, memory.max "max" makes the
ratio +Inf (no crash, no series lost), and a target whose process does not exist is down
with the reason. With the machine's own cgroups: the demo API found by pid and by process
name (it runs under a name of its own) reads the cgroup /proc/<pid>/cgroup names, and its
CPU counter lies between two reads of cpu.stat taken around the page's."""
import os
import shutil
import tempfile
import urllib.parse

from tgtest import *  # noqa: F401,F403
from tgtest import HOST


def query(admin, expr):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/query?query="
                         + urllib.parse.quote(expr))
    assert st == 200 and v["status"] == "success", (expr, v)
    return v["data"]["result"]


def write_cgroup(root, path, files):
    d = os.path.join(root, path.lstrip("/"))
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)


def health_collectors(admin):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/health/detailed")
    assert st == 200, v
    return {c["instance"]: c for c in v["collectors"] if c["job"] == "container"}


def test_seed_expressions_over_a_cgroup_tree():
    root = tempfile.mkdtemp(prefix="tg-cgroup-")
    try:
        write_cgroup(root, "/", {"cgroup.controllers": "cpu memory pids\n"})
        write_cgroup(root, "/app/codexos", {
            "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
                        "nr_periods 10\nnr_throttled 4\nthrottled_usec 120000\n",
            "cpu.max": "150000 100000\n",
            "memory.current": "469762048\n",   # 448 MiB of 512: 0.875
            "memory.max": "536870912\n",
            "memory.stat": "anon 300000000\nfile 100000000\ninactive_file 69762048\n",
            "pids.current": "9\n",
        })
        write_cgroup(root, "/app/unlimited", {
            "cpu.stat": "usage_usec 100\n",
            "memory.current": "1048576\n",
            "memory.max": "max\n",
        })
        cfg = f"""
tsdb: {{scrape_interval: 200ms}}
collectors:
  containers:
    cgroup_root: {root}
    interval: 200ms
    targets:
      - {{name: codexos-backend, cgroup: /app/codexos}}
      - {{name: unlimited, cgroup: /app/unlimited}}
      - {{name: ghost, process: tg-no-such-proc}}
"""
        port, admin = free_port(), free_port()
        with gateway(port, admin, [free_port()], config=cfg):
            e25 = 'container_cpu_usage_seconds_total{container="codexos-backend"} > 0.8'
            res = wait_until(lambda: query(admin, e25), timeout=scaled(10), what="E25")
            assert len(res) == 1 and res[0]["value"][1] == "2.5", res
            m = res[0]["metric"]
            assert (m["job"], m["instance"], m["cpu"], m["id"]) == (
                "container", "codexos-backend", "total", "/app/codexos"), m
            e26 = ('container_memory_usage_bytes{container="codexos-backend"} / '
                   'container_spec_memory_limit_bytes{container="codexos-backend"} > 0.8')
            res = wait_until(lambda: query(admin, e26), timeout=scaled(10), what="E26")
            assert [r["value"][1] for r in res] == ["0.875"], res
            # No limit: cAdvisor's 0, so the ratio is +Inf, as a Prometheus over cAdvisor
            # would answer.
            res = query(admin, 'container_memory_usage_bytes{container="unlimited"} / '
                               'container_spec_memory_limit_bytes{container="unlimited"}')
            assert [r["value"][1] for r in res] == ["+Inf"], res
            res = query(admin, 'container_memory_working_set_bytes{container="codexos-backend"}')
            assert [r["value"][1] for r in res] == ["400000000"], res
            res = query(admin, 'container_spec_cpu_quota{container="codexos-backend"}')
            assert [r["value"][1] for r in res] == ["150000"], res
            # The missing process: down, with the reason, and no container_* series.
            ghost = wait_until(lambda: health_collectors(admin).get("ghost", {}).get("error"),
                               timeout=scaled(10), what="ghost reported")
            assert 'no process named "tg-no-such-proc"' in ghost, ghost
            assert health_collectors(admin)["ghost"]["up"] is False
            assert [r["value"][1] for r in query(admin, 'up{job="container",instance="ghost"}')] \
                == ["0"]
            assert query(admin, 'container_last_seen{container="ghost"}') == []
            assert health_collectors(admin)["codexos-backend"]["up"] is True
            # The kind's page, read afresh, with each target's instance label.
            st, _, body = http("GET", f"http://{HOST}:{admin}/metrics/container")
            text = body.decode()
            assert st == 200, text
            assert ('container_spec_memory_limit_bytes{instance="unlimited",'
                    'container="unlimited",id="/app/unlimited"} 0') in text, text
            assert "# TYPE container_cpu_usage_seconds_total counter" in text
    finally:
        shutil.rmtree(root, ignore_errors=True)


def v2_root():
    """Where the gateway will find cgroup v2: /sys/fs/cgroup, or its unified/ on a host
    with both versions mounted."""
    for d in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(d, "cgroup.controllers")):
            return d
    return None


def cgroup_of(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return None


def usage_usec(root, cg):
    with open(os.path.join(root, cg.lstrip("/"), "cpu.stat")) as f:
        for line in f:
            k, v = line.split()
            if k == "usage_usec":
                return int(v)
    raise AssertionError("no usage_usec")


def test_demo_api_by_pid_and_by_process_name():
    root = v2_root()
    assert root, "no cgroup v2 hierarchy on this machine"
    d = tempfile.mkdtemp(prefix="tg-cg-")
    # A name of its own (comm is the executable's file name, at most 15 bytes), so no
    # other tailguard process on the machine can be taken for it.
    name = "tgc" + str(os.getpid())[-8:]
    exe = os.path.join(d, name)
    os.symlink(os.path.abspath(BIN), exe)
    dport, port, admin = free_port(), free_port(), free_port()
    demo = Proc([exe, "demo-api", "--listen", f"{HOST}:{dport}"], name="demo-api").start()
    try:
        demo.wait_http(f"http://{HOST}:{dport}/health")
        cg = cgroup_of(demo.pid)
        assert cg, "the demo API has no cgroup v2 entry"
        cfg = f"""
tsdb: {{scrape_interval: 200ms}}
collectors:
  containers:
    interval: 200ms
    targets:
      - {{name: by-pid, pid: {demo.pid}}}
      - {{name: by-name, process: {name}}}
"""
        with gateway(port, admin, [dport], config=cfg):
            def page():
                before = usage_usec(root, cg)
                st, _, body = http("GET", f"http://{HOST}:{admin}/metrics/container")
                after = usage_usec(root, cg)
                assert st == 200, body
                return before, body.decode(), after

            def both_up():
                c = health_collectors(admin)
                return all(c.get(n, {}).get("up") for n in ("by-pid", "by-name")) or None
            wait_until(both_up, timeout=scaled(10), what="both targets up")
            before, text, after = page()
            for inst in ("by-pid", "by-name"):
                prefix = (f'container_cpu_usage_seconds_total{{instance="{inst}",'
                          f'container="{inst}",cpu="total",id="{cg}"}} ')
                line = [ln for ln in text.splitlines() if ln.startswith(prefix)]
                assert len(line) == 1, (prefix, text)
                v = float(line[0][len(prefix):])
                assert before / 1e6 <= v <= after / 1e6, (before, v, after)
            # And in the store, with the job and instance a Prometheus would give them.
            res = wait_until(lambda: query(admin, 'container_cpu_usage_seconds_total'
                                                  '{job="container",instance="by-name"}'),
                             timeout=scaled(10), what="stored")
            assert res[0]["metric"]["id"] == cg, res
    finally:
        demo.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests()
