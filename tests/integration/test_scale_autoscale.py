#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Autoscaling (docs/scale.md): the process provider starting and stopping real
`tailguard demo-api` instances under load from `tailguard bench`, with the runbook's
hysteresis (3 high checks up, 10 low checks down) on short intervals; POST /scale; the
command provider with a script that writes a servers file; bad bodies."""
import json
import os
import stat
import subprocess
import tempfile
import threading
import time

from tgtest import *
from tgtest import HOST

JSON = {"Content-Type": "application/json"}


def state(admin):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/system/autoscale")
    assert st == 200, (st, v)
    return v["state"]


def services(admin):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/external-services")
    assert st == 200, v
    rows = v if isinstance(v, list) else v.get("services", [])
    return {r["server"]: r for r in rows if r.get("type") == "upstream"}


def detailed(admin):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/health/detailed")
    return {u["server"]: u for u in v["upstreams"]}


def metric(admin, name, **labels):
    _, _, body = http("GET", f"http://{HOST}:{admin}/metrics")
    total = None
    for line in body.decode().splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total


def set_fault(port, latency_ms):
    if latency_ms:
        st, _, _ = http_json("POST", f"http://{HOST}:{port}/_faults",
                             {"endpoint": "*", "latency_ms": latency_ms})
    else:
        st, _, _ = http("DELETE", f"http://{HOST}:{port}/_faults")
    assert st == 200, st


def process_config(proxy, admin, static_port, lo, maxn, threshold=150):
    return f"""
listen: {HOST}:{proxy}
admin:
  listen: {HOST}:{admin}
upstreams:
  - name: api
    servers: ["{HOST}:{static_port}"]
    passive:
      slow_start: 6s
autoscale:
  enabled: true
  command: "{BIN} demo-api --listen {HOST}:{{port}} --latency-scale 0"
  ports: "{lo}-{lo + 9}"
  latency_threshold_ms: {threshold}
  check_interval_s: 0.5
  cooldown_s: 0
  window_s: 1
  min: 1
  max: {maxn}
  ready_timeout: 20s
  drain_timeout: 20s
"""


def free_range(n=10):
    """A base port with `n` free ports above it (checked now; good enough on loopback)."""
    for _ in range(50):
        base = free_port()
        if base + n < 65000 and all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free port range")


def _free(port):
    import socket
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Bench:
    """`tailguard bench` at a steady rate in the background; .result() is its JSON."""

    def __init__(self, url, rate, duration_s):
        self.p = subprocess.Popen([BIN, "bench", "-q", "--json", "-R", str(rate), "-c", "50",
                                   "-d", f"{duration_s}s", "--timeout", "10s",
                                   "--max-duration", f"{duration_s + 30}s", url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def result(self, timeout):
        out, err = self.p.communicate(timeout=timeout)
        assert out, err
        return json.loads(out)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def test_process_provider_up_down_under_load():
    """A latency fault on the upstream's own server drives p95 over the threshold: after
    three high checks one instance more joins (ramping in by slow start) and takes
    traffic; the fault lasts, so it goes on to max and never past it; the fault removed,
    ten calm checks take one instance away at a time, down to min. Under steady load the
    whole time, no request fails (the leaving instances were drained)."""
    static = free_port()
    proxy, admin, lo = free_port(), free_port(), free_range()
    maxn = 3
    with demo_api(static, latency_scale=0), \
            gateway(proxy, admin, [], config=process_config(proxy, admin, static, lo, maxn)) as gw:
        assert state(admin)["instances"] == 1
        bench = Bench(f"http://{HOST}:{proxy}/", scaled(40), 40)
        seen_desired = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                try:
                    seen_desired.append(state(admin)["desired"])
                except Exception:  # noqa: BLE001 - a missed sample only
                    pass
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            time.sleep(1.5)  # calm checks first: the signal is low
            assert state(admin)["desired"] == 1
            set_fault(static, 400)
            t0 = time.monotonic()
            wait_until(lambda: state(admin)["instances"] >= 2, timeout=20, what="one more")
            up_after = time.monotonic() - t0
            high = metric(admin, "tailguard_autoscale_checks_total", verdict="high")
            assert high >= 3, high
            new = [s for s in state(admin)["servers"] if s != f"{HOST}:{static}"]
            assert len(new) >= 1, state(admin)
            first = sorted(new)[0]
            # A new server ramps in by slow start, it does not take its full share at once.
            ratio = detailed(admin)[first]["weight_ratio"]
            assert ratio < 1.0, ratio
            wait_until(lambda: services(admin).get(first, {}).get("requests", 0) > 0,
                       timeout=10, what="traffic to the new instance")
            # A long fault: up to max, never beyond.
            wait_until(lambda: state(admin)["instances"] == maxn, timeout=25, what="max")
            time.sleep(3)
            assert state(admin)["instances"] == maxn
            assert max(seen_desired) == maxn, max(seen_desired)
            # Calm again: down one at a time after ten low checks each, to min.
            set_fault(static, 0)
            t1 = time.monotonic()
            wait_until(lambda: state(admin)["desired"] == maxn - 1, timeout=20, what="one fewer")
            down_after = time.monotonic() - t1
            assert down_after >= 10 * 0.5 - 0.6, down_after
            wait_until(lambda: state(admin)["instances"] == 1, timeout=30, what="min")
            assert min(seen_desired) >= 1
            res = bench.result(timeout=90)
        finally:
            stop.set()
            bench.kill()
        print(f"scale-up {up_after:.1f}s after the fault, first step down {down_after:.1f}s "
              f"after it ended; bench: {res['requests']} requests, {res['errors']} errors, "
              f"status {res['status']}, p95 {res['latency_ms']['p95']} ms")
        assert res["requests"] > 100, res
        assert res["errors"] == 0, res
        assert set(res["status"]) == {"200"}, res["status"]
        ups = metric(admin, "tailguard_autoscale_actions_total", direction="up", result="ok")
        downs = metric(admin, "tailguard_autoscale_actions_total", direction="down", result="ok")
        assert ups == maxn - 1 and downs == maxn - 1, (ups, downs)
        # Every instance the provider started is gone again (drained, then stopped).
        for port in range(lo, lo + 10):
            assert _free(port), f"port {port} still held"
        gw.stop()


def test_scale_post_and_stop_with_gateway():
    """POST /scale within min..max starts instances at once (audited); outside it, 400
    naming the bound. Stopping the gateway stops every instance it started."""
    static = free_port()
    proxy, admin, lo = free_port(), free_port(), free_range()
    cfg = process_config(proxy, admin, static, lo, 3, threshold=60000)
    with demo_api(static, latency_scale=0), gateway(proxy, admin, [], config=cfg) as gw:
        url = f"http://{HOST}:{admin}/api/v1/system/scale"
        st, _, v = http_json("POST", url, {"instances": 4})
        assert st == 400 and v["field"] == "instances" and "max 3" in v["error"], v
        st, _, v = http_json("POST", url, {"instances": 0})
        assert st == 400 and "min 1" in v["error"], v
        st, _, v = http_json("POST", url, {"instances": 2, "upstream": "nope"})
        assert st == 400 and v["field"] == "upstream", v
        st, _, v = http_json("POST", url, {"instances": 3})
        assert st == 200 and v["state"]["desired"] == 3, v
        wait_until(lambda: state(admin)["instances"] == 3, timeout=20, what="three")
        for s in state(admin)["servers"]:
            st, _, _ = http("GET", f"http://{s}/health")
            assert st == 200
        st, _, audit = http_json("GET", f"http://{HOST}:{admin}/api/v1/system/audit")
        assert any(e["action"] == "POST /api/v1/system/scale" for e in audit["entries"])
        assert gw.stop() == 0
        for port in range(lo, lo + 10):
            assert _free(port), f"port {port} still held after the gateway stopped"


def test_drain_waits_for_requests_in_flight():
    """Scaling down takes the instance out of the pool, waits for its requests in flight
    (here 1.5 s each), and only then stops it: every one of them is answered 200. The
    instance is killed 0.1 s after SIGTERM (stop_grace 0), so a stop before the drain
    ended would fail them."""
    static = free_port()
    proxy, admin, lo = free_port(), free_port(), free_range()
    cfg = process_config(proxy, admin, static, lo, 2, threshold=60000)
    cfg = cfg.replace("drain_timeout: 20s", "drain_timeout: 20s\n  stop_grace: 0s")
    cfg = cfg.replace("slow_start: 6s", "slow_start: 0s")
    with demo_api(static, latency_scale=0), gateway(proxy, admin, [], config=cfg):
        url = f"http://{HOST}:{admin}/api/v1/system/scale"
        st, _, v = http_json("POST", url, {"instances": 2})
        assert st == 200, v
        wait_until(lambda: state(admin)["instances"] == 2, timeout=20, what="two")
        extra = [s for s in state(admin)["servers"] if s != f"{HOST}:{static}"][0]
        set_fault(int(extra.rsplit(":", 1)[1]), 1500)
        results = []

        def one():
            results.append(http("GET", f"http://{HOST}:{proxy}/", timeout=10)[0])

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        wait_until(lambda: services(admin).get(extra, {}).get("in_flight", 0) > 0,
                   timeout=5, interval=0.02, what="requests in flight to the instance")
        t0 = time.monotonic()
        st, _, v = http_json("POST", url, {"instances": 1})
        assert st == 200, v
        for t in threads:
            t.join(15)
        took = time.monotonic() - t0
        assert results == [200] * 8, results
        wait_until(lambda: _free(int(extra.rsplit(":", 1)[1])), timeout=10, what="stopped")
        print(f"drained: {results.count(200)} of 8 answered 200, {took:.2f}s")


def test_command_provider_servers_file():
    """The command provider runs the user's command with {n}, records its exit status and
    output, and reads the upstream's servers back from the file it wrote."""
    ports = [free_port() for _ in range(3)]
    proxy, admin = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        servers = os.path.join(d, "servers")
        script = os.path.join(d, "scale.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n"
                    "echo \"scaling to $1\"\n"
                    "[ \"$1\" = 3 ] && { echo 'no capacity' >&2; exit 3; }\n"
                    f"printf '%s\\n' {' '.join(f'{HOST}:{p}' for p in ports)} "
                    f"| head -n \"$1\" > {servers}.tmp && mv {servers}.tmp {servers}\n")
        os.chmod(script, stat.S_IRWXU)
        with open(servers, "w") as f:
            f.write(f"# written by hand\n{HOST}:{ports[0]}\n")
        cfg = f"""
listen: {HOST}:{proxy}
admin:
  listen: {HOST}:{admin}
upstreams:
  - name: api
    servers: ["{HOST}:{ports[0]}"]
autoscale:
  provider: command
  command: "{script} {{n}}"
  servers_file: "{servers}"
  command_timeout: 10s
  min: 1
  max: 3
"""
        with demo_api(ports[0], latency_scale=0), demo_api(ports[1], latency_scale=0), \
                gateway(proxy, admin, [], config=cfg):
            url = f"http://{HOST}:{admin}/api/v1/system/scale"
            st, _, v = http_json("POST", url, {"instances": 2})
            assert st == 200, v
            wait_until(lambda: len(state(admin)["servers"]) == 2, timeout=10, what="two")
            s = state(admin)
            assert s["servers"] == [f"{HOST}:{ports[0]}", f"{HOST}:{ports[1]}"], s
            assert s["command"]["last_status"] == 0 and "scaling to 2" in s["command"]["output_tail"]
            for _ in range(20):
                st, _, _ = http("GET", f"http://{HOST}:{proxy}/")
                assert st == 200
            # Per-server figures are merged once a second.
            wait_until(lambda: services(admin)[f"{HOST}:{ports[1]}"]["requests"] > 0,
                       timeout=5, what="traffic to the listed server")
            # A failing command: its status and output are kept, the servers stay.
            st, _, v = http_json("POST", url, {"instances": 3})
            assert st == 200, v
            wait_until(lambda: not state(admin)["command"]["running"], timeout=10, what="done")
            s = state(admin)
            assert s["command"]["last_status"] == 3, s
            assert "no capacity" in s["command"]["output_tail"], s
            assert len(s["servers"]) == 2, s
            failed = metric(admin, "tailguard_autoscale_actions_total", direction="up",
                            result="failed")
            assert failed == 1, failed


def test_bad_bodies_name_the_field():
    static = free_port()
    proxy, admin, lo = free_port(), free_port(), free_range()
    with demo_api(static, latency_scale=0), \
            gateway(proxy, admin, [], config=process_config(proxy, admin, static, lo, 3)):
        url = f"http://{HOST}:{admin}/api/v1/system/autoscale"
        for body, field in [({"min": 0}, "min"), ({"min": 5}, "min"), ({"max": 2, "min": 3}, "min"),
                            ({"nope": 1}, "nope"), ({"check_interval_s": "x"}, "check_interval_s"),
                            ({"signal": "p50"}, "signal"), ({"upstream": "missing"}, "upstream"),
                            ({"command": "rm -rf /"}, "command"), ({"max": 11}, "max")]:
            st, _, v = http_json("PUT", url, body)
            assert st in (400, 409), (body, st, v)
            assert v.get("field") == field, (body, v)
        st, _, v = http_json("PUT", url, {"max": 4, "latency_threshold_ms": 800,
                                          "check_interval_s": 0.25, "dry_run": True})
        assert st == 200, v
        assert v["effective"]["max"] == 4 and v["effective"]["dry_run"] is True, v
        st, _, cfg = http_json("GET", f"http://{HOST}:{admin}/api/v1/system/config")
        keys = {s["key"]: s for s in cfg["settings"]}
        assert keys["autoscale.max"]["layer"] == "override", keys["autoscale.max"]
        assert keys["autoscale.command"]["control_api"] is False
        st, _, v = http_json("POST", f"http://{HOST}:{admin}/api/v1/system/scale", {"n": 2})
        assert st == 400 and v["field"] == "n", v


def test_check_config_positions():
    """check-config refuses what the autoscaler could not run, at its line and column."""
    cases = [("  min: 4\n  max: 2\n", "7:8: autoscale.min: min 4 is above max 2"),
             ("  command: \"x\"\n  ports: 18100-18109\n", "7:12: autoscale.command:"),
             ("  enabled: true\n", "7:12: autoscale.enabled: no provider"),
             ("  provider: command\n  command: \"x {n}\"\n",
              "autoscale.servers_file: the command provider needs exactly one")]
    for body, want in cases:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("upstreams:\n  - name: api\n    servers: [\"127.0.0.1:9\"]\n"
                    "routes: []\n\n"
                    "autoscale:\n" + body)
        try:
            r = subprocess.run([BIN, "check-config", f.name], capture_output=True, text=True,
                               timeout=10)
        finally:
            os.unlink(f.name)
        assert r.returncode != 0 and want in r.stderr + r.stdout, (body, r.stderr, r.stdout)


if __name__ == "__main__":
    run_tests()
