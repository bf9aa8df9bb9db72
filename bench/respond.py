#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The runbooks' loop, timed, on each fault the diagnosis issue lists: demo-api behind
tailguard under `tailguard bench -R RATE`, an alert rule (p95 of an endpoint above
THRESHOLD for 2 s), incidents, the diagnosis and every shipped playbook in auto mode, then
one fault at t0. For each scenario it prints the seconds from the fault to the alert, to
the first diagnosis that is degraded, to the first mitigation sent, to the first "helped"
verdict and to the recovery (the alert resolved; the fault stays in demo-api, so only a
mitigation can end it), the playbook, its verdicts, and whether the diagnosis classified
the fault right (scope, pattern, cause or correlation as the scenario expects). Then the
share classified right.

    python3 bench/respond.py [--bin build/tailguard] [--rate 40] [--only NAME ...]

Loopback only; each scenario ends by itself (about 80 s; two run side by side)."""
import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import tgtest  # noqa: E402
from tgtest import HOST, Proc, demo_api, free_port, gateway, http_json  # noqa: E402

THRESHOLD = 0.25
BUCKETS = ", ".join(str(round(0.025 * i, 3)) for i in range(1, 41)) + ", 1.25, 1.5, 2, 3, 5, 10"
RULES = f"""groups:
  - name: latency
    interval: 1s
    rules:
      - alert: EndpointSlow
        expr: histogram_quantile(0.95, sum by (endpoint, le) (rate(http_request_duration_seconds_bucket[5s]))) > {THRESHOLD}
        for: 2s
"""
PATHS = ["/api/products", "/api/products/7", "/api/v1/agents"]


def config(rules, extra):
    return f"""
tsdb: {{scrape_interval: 1s}}
metrics: {{buckets: [{BUCKETS}]}}
rules: {{files: ["{rules}"]}}
incidents: {{quiet_period: 8s}}
diagnosis: {{window: 10s, baseline: 30s, lookback: 60s, step: 1s}}
playbooks: {{mode: auto, cooldown: 3s, settle: 4s, verify: 10s, hold: 600s, min_samples: 4}}
routes:
  - {{name: product, methods: [GET], path: "/api/products/:id"}}
{extra}"""


def ts(iso):
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def post(url, obj):
    st, _, body = http_json("POST", url, obj)
    assert st in (200, 201), (url, st, body)
    return body


# name: (servers, fault(s) per demo index, expectation on the diagnosis, bench stages)
SCENARIOS = {
    "targeted_800ms": dict(faults={0: [{"endpoint": "/api/products/", "latency_ms": 800}]},
                           want=lambda d: d["scope"] == "targeted" and d["pattern"] == "sudden"
                           and [a["endpoint"] for a in d["affected"]] == ["product"]),
    "system_wide_800ms": dict(faults={0: [{"endpoint": "*", "latency_ms": 800}]},
                              want=lambda d: d["scope"] == "system_wide"),
    "gradual_ramp": dict(faults={0: [{"endpoint": "*", "latency_ms": 150},
                                     {"endpoint": "/api/", "latency_ms": 800,
                                      "pattern": "gradual", "ramp_s": 60}]},
                         want=lambda d: d["pattern"] == "gradual", seconds=110),
    "periodic_bursts": dict(faults={0: [{"endpoint": "*", "latency_ms": 600,
                                         "pattern": "periodic", "period_s": 15,
                                         "duty": 0.2}]},
                            want=lambda d: d["pattern"] == "periodic", seconds=110),
    "load_tripled": dict(faults={0: [{"endpoint": "*", "capacity": {"concurrency": 2,
                                                                    "service_ms": 40}}]},
                         stages="30s:20,1s:60,59s:60", fault_at=1,
                         want=lambda d: any(c["kind"] == "high_traffic"
                                            for c in d["correlations"])),
    "one_slow_server_of_3": dict(servers=3, faults={1: [{"endpoint": "*", "latency_ms": 300}]},
                                 eject=False,
                                 want=lambda d: d["causes"] and
                                 d["causes"][0]["cause"] == "upstream_server"),
    "slow_db_query": dict(faults={0: [{"endpoint": "*", "latency_ms": 400}]}, postgres=True,
                          want=lambda d: d["causes"] and d["causes"][0]["cause"] == "database"),
    "deploy_then_slow": dict(faults={0: [{"endpoint": "*", "latency_ms": 500}]}, deploy=True,
                             want=lambda d: any(c["kind"] == "deployment"
                                                for c in d["correlations"])),
}


def run(name, sc, rate, out):
    d = tempfile.mkdtemp(prefix="tg-respond-")
    rules = os.path.join(d, "rules.yml")
    with open(rules, "w") as f:
        f.write(RULES)
    ports = [free_port() for _ in range(sc.get("servers", 1))]
    port, admin = free_port(), free_port()
    procs = [demo_api(p) for p in ports]
    extra, ups = "", ports
    if sc.get("eject") is False:
        addrs = ", ".join(f"{{address: {HOST}:{p}}}" for p in ports)
        extra = (f"upstreams:\n  - name: default\n    servers: [{addrs}]\n"
                 f"    passive: {{latency_factor: 0}}\n")
        ups = []
    seconds = sc.get("seconds", 80)
    pg = long_query = None
    try:
        if sc.get("postgres"):
            from peers import Postgres
            pg = Postgres().__enter__()
            extra += (f"collectors:\n  postgres:\n    - {{name: main, dsn: \"{pg.dsn}\", "
                      f"interval: 1s, timeout: 1s}}\n")
        procs.append(gateway(port, admin, ups, config=config(rules, extra)))
        urls = [f"http://{HOST}:{port}{p}" for p in PATHS]
        load = (["-R", "20", "--stages", sc["stages"]] if "stages" in sc
                else ["-R", str(rate), "-d", f"{seconds}s"])
        procs.append(Proc([tgtest.BIN, "bench", *load, "--max-duration", f"{seconds + 10}s",
                           *urls], name="bench", expect_exit=(0, 1)).start())
        t0 = time.time()
        base = f"http://{HOST}:{admin}"
        if sc.get("deploy"):
            time.sleep(max(0, t0 + 20 - time.time()))
            post(f"{base}/api/v1/events", {"type": "deploy", "service": "api", "version": "2.0"})
        time.sleep(max(0, t0 + sc.get("fault_at", 25) - time.time()))
        t_fault = time.time()
        if pg:  # a query that runs for a minute, as the API's slowness
            long_query = pg.background("SELECT pg_sleep(60)")
        for i, faults in sc["faults"].items():
            for f in faults:
                post(f"http://{HOST}:{ports[i]}/_faults", f)
        if "stages" in sc:  # the fault is the load itself: it triples at 30 s
            t_fault = t0 + 30
        time.sleep(max(0, t0 + seconds - 5 - time.time()))
        st, _, inc = http_json("GET", f"{base}/api/v1/incidents/1")
        row = {"name": name}
        if st != 200:
            row["error"] = "no incident"
            out.append(row)
            return
        tl = inc["timeline"]

        def first(kind, text="", pred=None):
            for e in tl:
                if e["kind"] == kind and text in e["text"] and (not pred or pred(e)):
                    return ts(e["ts"]) - t_fault
            return None
        row["alert"] = first("alert", "firing")
        row["diagnosis"] = first("diagnosis", "", lambda e: "scope none" not in e["text"])
        row["mitigation"] = first("mitigation", " sent ")
        row["helped"] = first("verdict", "helped")
        row["recovery"] = first("alert", "resolved")
        diag = inc["diagnosis"] or {}
        row["right"] = bool(diag.get("degraded")) and bool(sc["want"](diag))
        row["scope"], row["pattern"] = diag.get("scope"), diag.get("pattern")
        row["cause"] = diag["causes"][0]["cause"] if diag.get("causes") else None
        row["evidence"] = [c["evidence"] for c in diag.get("correlations", [])]
        pb = [e["text"].split()[1] for e in tl if e["kind"] == "mitigation"
              and "matches" in e["text"]]
        row["playbook"] = pb[0] if pb else None
        row["verdicts"] = [e["text"].split(": ")[1] + "/" + e["text"].split()[2]
                           for e in tl if e["kind"] == "verdict"]
        out.append(row)
    finally:
        for p in reversed(procs):
            p.stop()
            p._cleanup()
        if long_query:
            long_query.kill()
            long_query.wait()
        if pg:
            pg.__exit__(None, None, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None)
    ap.add_argument("--rate", type=int, default=40)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("-v", action="store_true", help="print the correlations' evidence")
    a = ap.parse_args()
    if a.bin:
        tgtest.BIN = os.path.abspath(a.bin)
    names = a.only or list(SCENARIOS)
    verbose = a.v
    out = []
    for i in range(0, len(names), 2):
        ts_ = [threading.Thread(target=run, args=(n, SCENARIOS[n], a.rate, out))
               for n in names[i:i + 2]]
        for t in ts_:
            t.start()
        for t in ts_:
            t.join()

    def f(v):
        return "-" if v is None else f"{v:.1f}"
    print(f"{'scenario':22} {'alert':>6} {'diag':>6} {'mitig':>6} {'helped':>7} "
          f"{'recov':>6}  right  scope/pattern/cause; playbook: verdicts")
    for r in sorted(out, key=lambda r: names.index(r["name"])):
        if "error" in r:
            print(f"{r['name']:22} {r['error']}")
            continue
        print(f"{r['name']:22} {f(r['alert']):>6} {f(r['diagnosis']):>6} "
              f"{f(r['mitigation']):>6} {f(r['helped']):>7} {f(r['recovery']):>6}  "
              f"{'yes' if r['right'] else 'NO ':5}  {r['scope']}/{r['pattern']}/{r['cause']}; "
              f"{r['playbook']}: {', '.join(r['verdicts']) or '-'}")
        if verbose:
            print(f"{'':22} correlations: {r['evidence']}")
    right = sum(1 for r in out if r.get("right"))
    print(f"classified right: {right}/{len(out)} (seconds after the fault; recovery = the "
          f"alert resolved while the fault is still in demo-api)")


if __name__ == "__main__":
    main()
