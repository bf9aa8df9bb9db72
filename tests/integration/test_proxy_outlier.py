# SPDX-License-Identifier: MIT
"""Passive outlier ejection on real traffic: a server much slower than its peers is
taken out, ejections grow longer each time they repeat, at most a share of an upstream
is out at once, a returning server gets its traffic back gradually (slow start), and a
reload keeps all of it. Everything is read back where a user sees it: /metrics, the
health API and the log."""
import collections
import json
import os
import signal
import subprocess
import tempfile
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub


def get(port, path="/id"):
    out = raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
              timeout=10)
    return parse_responses(out)[0] if out else (None, {}, b"")


def metrics(admin):
    _, _, body = http("GET", f"http://127.0.0.1:{admin}/metrics")
    return body.decode()


def metric(admin, name, labels):
    for line in metrics(admin).splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def servers(admin):
    _, _, body = http("GET", f"http://127.0.0.1:{admin}/health/detailed")
    return {s["server"]: s for s in json.loads(body)["upstreams"]}


def test_slow_server_among_fast_peers_is_ejected_for_latency():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b, Stub("c") as c, Stub("slow", delay=0.08) as s:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    balance: round_robin
    servers: ["{a.addr()}", "{b.addr()}", "{c.addr()}", "{s.addr()}"]
    passive: {{ latency_factor: 3, latency_min_samples: 5, slow_start: 0s }}
"""
        with gateway(port, admin, [], config=cfg) as g:
            # Round robin gives every server enough samples; the sweep (once a second)
            # may take the slow one out before the loop ends.
            got = collections.Counter(get(port)[2] for _ in range(40))
            assert got[b"slow"] >= 5, got
            labels = f'upstream="api",server="{s.addr()}"'
            wait_until(lambda: metric(admin, "tailguard_upstream_server_ejected", labels) == 1,
                       timeout=5, what="the slow server ejected by the latency sweep")
            assert metric(admin, "tailguard_outlier_ejections_total",
                          'upstream="api",reason="latency"') == 1
            assert metric(admin, "tailguard_outlier_ejected_servers", 'upstream="api"') == 1
            for fast in (a, b, c):
                assert metric(admin, "tailguard_upstream_server_ejected",
                              f'upstream="api",server="{fast.addr()}"') == 0
            # The ejection starts its judgement afresh: no average until it has answers.
            assert metric(admin, "tailguard_upstream_server_latency_ewma_seconds", labels) is None
            line = [x for x in g.log().splitlines() if "reason=latency" in x]
            assert len(line) == 1 and s.addr() in line[0], g.log()
            assert float(line[0].split("ewma_ms=")[1].split()[0]) >= 80, line
            seen = s.requests
            got = collections.Counter(get(port)[2] for _ in range(30))
            assert got[b"slow"] == 0 and s.requests == seen, got
            info = servers(admin)[s.addr()]
            assert info["state"] == "ejected" and info["ejected"], info
            assert info["ejected_for_ms"] > 0 and info["times_ejected"] == 1, info


def test_two_servers_are_not_judged_on_latency():
    # With fewer than three servers there is no majority to call one of them slow.
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("slow", delay=0.05) as s:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    servers: ["{a.addr()}", "{s.addr()}"]
    passive: {{ latency_factor: 2, latency_min_samples: 3 }}
"""
        with gateway(port, admin, [], config=cfg):
            for _ in range(20):
                get(port)
            time.sleep(1.5)  # at least one sweep
            assert metric(admin, "tailguard_outlier_ejections_total",
                          'upstream="api",reason="latency"') == 0
            assert b"slow" in collections.Counter(get(port)[2] for _ in range(4))


def test_gateway_errors_eject_and_repeat_ejections_grow():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b, Stub("c") as c:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    balance: round_robin
    servers: ["{a.addr()}", "{b.addr()}", "{c.addr()}"]
    passive: {{ failures: 2, eject_time: 1s, max_eject_time: 10s, slow_start: 0s,
               latency_factor: 0 }}
"""
        with gateway(port, admin, [], config=cfg) as g:
            # /status/503 from every server: 502/503/504 count as errors. With one worker
            # and round robin, each server sees two 503s in six requests.
            for _ in range(6):
                assert get(port, "/status/503")[0] == 503
            st = servers(admin)
            out = [k for k, v in st.items() if v["ejected"]]
            # 50 % of 3 servers: one may be out at a time.
            assert len(out) == 1, st
            assert metric(admin, "tailguard_outlier_ejections_refused_total",
                          'upstream="api"') >= 1
            first = out[0]
            assert st[first]["times_ejected"] == 1 and st[first]["ejected_for_ms"] <= 1000, st
            # A 500 is the API's own answer, not a sign the server is unwell.
            for _ in range(8):
                assert get(port, "/status/500")[0] == 500
            assert sum(v["ejected"] for v in servers(admin).values()) <= 1
            wait_until(lambda: not servers(admin)[first]["ejected"], timeout=3,
                       what="the first ejection to end")
            # Fail the same server again: the next ejection lasts twice as long.
            stub = {x.addr(): x for x in (a, b, c)}[first]
            stub.drop = True
            deadline = time.monotonic() + 10
            while not servers(admin)[first]["ejected"] and time.monotonic() < deadline:
                get(port)
            again = servers(admin)[first]
            assert again["ejected"] and again["times_ejected"] == 2, again
            assert 1000 < again["ejected_for_ms"] <= 2000, again
            assert g.log().count(f"server-ejected upstream=api server={first}") == 2


def test_slow_start_ramps_a_returning_server():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    balance: round_robin
    servers: ["{a.addr()}", "{b.addr()}"]
    passive: {{ failures: 1, eject_time: 500ms, slow_start: 60s, slow_start_min_percent: 10,
               latency_factor: 0 }}
"""
        with gateway(port, admin, [], config=cfg):
            b.drop = True
            for _ in range(4):
                get(port)
            wait_until(lambda: servers(admin)[b.addr()]["ejected"], timeout=3, what="ejection")
            b.drop = False
            wait_until(lambda: not servers(admin)[b.addr()]["ejected"], timeout=3,
                       what="ejection over")
            ratio = metric(admin, "tailguard_upstream_server_weight_ratio",
                           f'upstream="api",server="{b.addr()}"')
            assert ratio is not None and 0.1 <= ratio < 0.2, ratio
            assert metric(admin, "tailguard_upstream_server_weight_ratio",
                          f'upstream="api",server="{a.addr()}"') == 1
            # About one request in eleven goes to b at the start of its ramp.
            got = collections.Counter(get(port)[2] for _ in range(44))
            assert 1 <= got[b"b"] <= 8, got


def test_reload_keeps_ejections_and_counters():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b, Stub("c") as c:
        body = f"""
workers: 1
upstreams:
  - name: api
    servers: ["{a.addr()}", "{b.addr()}", "{c.addr()}"]
    passive: {{ failures: 1, eject_time: 60s, slow_start: 60s, latency_factor: 0 }}
"""
        with gateway(port, admin, [], config=body) as g:
            c.drop = True
            for _ in range(6):
                get(port)
            wait_until(lambda: servers(admin)[c.addr()]["ejected"], timeout=3, what="ejection")
            before = metric(admin, "tailguard_outlier_ejections_total",
                            'upstream="api",reason="consecutive_errors"')
            assert before == 1
            # A reload that adds a server: c stays out, the counter does not go back.
            with Stub("d") as d:
                with open(g.config_path, "w") as f:
                    f.write(body.replace(f'"{c.addr()}"]', f'"{c.addr()}", "{d.addr()}"]'))
                g.send_signal(signal.SIGHUP)
                wait_until(lambda: d.addr() in servers(admin), timeout=5, what="reload")
                assert servers(admin)[c.addr()]["ejected"]
                assert metric(admin, "tailguard_outlier_ejections_total",
                              'upstream="api",reason="consecutive_errors"') == before
                seen = c.connections
                got = collections.Counter(get(port)[2] for _ in range(21))
                assert got[b"c"] == 0 and c.connections == seen, got
                # d is new to a running upstream: it starts slowly (10 % of a's weight).
                assert servers(admin)[d.addr()]["weight_ratio"] < 0.2
                assert got[b"d"] <= 3, got


def check_config(text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        return subprocess.run([BIN, "check-config", f.name], capture_output=True, text=True,
                              timeout=10)
    finally:
        os.unlink(f.name)


def test_bad_passive_settings_are_refused():
    base = "upstreams:\n  - name: api\n    servers: [\"127.0.0.1:9\"]\n    passive: "
    for passive, want in (("{ latency_factor: 0.5 }", "latency_factor must be 0 (off) or above 1"),
                          ("{ eject_time: 10s, max_eject_time: 5s }",
                           "max_eject_time is shorter than eject_time"),
                          ("{ max_ejection_percent: 101 }", "max_ejection_percent"),
                          ("{ slow_start_min_percent: 0 }", "slow_start_min_percent"),
                          ("{ count_5xx: maybe }", "count_5xx")):
        p = check_config(base + passive + "\n")
        assert p.returncode == 1 and want in p.stderr and "passive" in p.stderr, (passive, p)
    # A long eject_time alone raises the ceiling with it instead of failing.
    p = check_config(base + "{ eject_time: 10m, count_5xx: true, slow_start: 0s }\n")
    assert p.returncode == 0, p


if __name__ == "__main__":
    run_tests()
