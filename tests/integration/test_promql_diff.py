# SPDX-License-Identifier: MIT
"""Differential test of tailguard's PromQL against a real Prometheus 2.42 (the Debian
package; installed here if missing and we are root).

Both stores must hold the same samples. Prometheus federates tailguard's own store
(GET /federate, honor_labels and honor_timestamps) every 200 ms while tailguard scrapes
itself every second, so Prometheus receives every sample tailguard appends, with its
time (a repeated sample at the same time is dropped by Prometheus). Prometheus is
started first, and the gateway only once Prometheus is scraping its address, so that the
first sample tailguard writes is federated too.

A gateway in front of demo-api takes ~60 s of bounded load (several endpoints, some 5xx,
latency that varies by endpoint and over time). Once Prometheus holds tailguard's newest
sample, every expression of promql_diff_exprs.txt is asked of both as an instant query at
several times and as range queries over the load: same status and errorType, same
resultType, same label sets, values equal within 1e-9 relative (NaN equals NaN).

A second, smaller check compares the ordinary scrape path: Prometheus also scrapes
/metrics (names prefixed direct_ by relabelling, so they never mix with the federated
ones), and once the load has stopped the last values of the request counters and the
histogram's series must equal tailguard's own self-scraped ones.
"""
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
LOAD_S = 60
MAX_REQUESTS = 20000
TSDB_INTERVAL_S = 1
PROM_JOBS = ("prom-federate", "prom-direct")  # Prometheus's own jobs; their series differ
REL_TOL = 1e-9


def load_exprs():
    """[(expr, marker)] from promql_diff_exprs.txt; marker is "", "empty", "maybe" or
    "error"."""
    out = []
    with open(os.path.join(HERE, "promql_diff_exprs.txt")) as f:
        for ln in f:
            ln = ln.strip()
            if not ln or ln.startswith("#"):
                continue
            expr, _, mark = ln.partition("  #! ")
            assert mark in ("", "empty", "maybe", "error"), ln
            out.append((expr.strip(), mark))
    return out


def ensure_prometheus():
    if shutil.which("prometheus"):
        return
    assert os.geteuid() == 0, "prometheus (Debian package) is missing and we are not root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"],
                   check=True, env=env, timeout=600, stdout=subprocess.DEVNULL)
    assert shutil.which("prometheus"), "apt-get install prometheus did not install it"


def prom_config(admin):
    # Scrape timeouts equal the intervals: a slow answer is retried 200 ms later, and
    # only a sample missed for a whole second would be lost (the diff would show it).
    return f"""
global:
  scrape_interval: 200ms
  scrape_timeout: 200ms
  evaluation_interval: 1m
scrape_configs:
  - job_name: prom-federate
    honor_labels: true
    honor_timestamps: true
    metrics_path: /federate
    params:
      "match[]": ['{{job=~".+"}}']
    static_configs: [{{targets: ["{HOST}:{admin}"]}}]
  - job_name: prom-direct
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /metrics
    static_configs: [{{targets: ["{HOST}:{admin}"]}}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: "(.+)"
        target_label: __name__
        replacement: "direct_$1"
"""


def api(port, path, params, timeout=30):
    """(HTTP status, parsed JSON body or the raw text)."""
    q = urllib.parse.urlencode(params)
    st, _, body = http("GET", f"http://{HOST}:{port}{path}?{q}", timeout=timeout)
    try:
        return st, json.loads(body)
    except ValueError:
        return st, body.decode(errors="replace")


def instant(port, expr, t):
    return api(port, "/api/v1/query", {"query": expr, "time": f"{t:.3f}"})


def ranged(port, expr, start, end, step):
    return api(port, "/api/v1/query_range", {"query": expr, "start": f"{start:.3f}",
                                             "end": f"{end:.3f}", "step": step})


def fval(s):
    return float(s)  # "NaN", "+Inf", "-Inf" included


def same_value(a, b):
    x, y = fval(a), fval(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=0.0)


def key(metric):
    return tuple(sorted(metric.items()))


def ours(metric):
    return metric.get("job") not in PROM_JOBS


def compare(expr, prom, tg):
    """None if the answers agree, else a reason. `prom`, `tg`: (status, body)."""
    (pst, pb), (tst, tb) = prom, tg
    if not isinstance(pb, dict) or not isinstance(tb, dict):
        return f"not JSON: prometheus {pst}, tailguard {tst}"
    if pb.get("status") != tb.get("status"):
        return "status differs"
    if pb["status"] != "success":
        if pb.get("errorType") != tb.get("errorType") or pst != tst:
            return "error type or HTTP status differs"
        return None
    pd, td = pb["data"], tb["data"]
    if pd["resultType"] != td["resultType"]:
        return "resultType differs"
    rt = pd["resultType"]
    if rt in ("scalar", "string"):
        if pd["result"][0] != td["result"][0]:
            return "timestamp differs"
        ok = same_value(*(x["result"][1] for x in (pd, td))) if rt == "scalar" else \
            pd["result"][1] == td["result"][1]
        return None if ok else "value differs"
    pr = [s for s in pd["result"] if ours(s["metric"])]
    tr = [s for s in td["result"] if ours(s["metric"])]
    pm = {key(s["metric"]): s for s in pr}
    tm = {key(s["metric"]): s for s in tr}
    if len(pm) != len(pr) or len(tm) != len(tr):
        return "a label set appears twice"
    if pm.keys() != tm.keys():
        only_p = sorted(set(pm) - set(tm))[:3]
        only_t = sorted(set(tm) - set(pm))[:3]
        return f"label sets differ: only prometheus {only_p}, only tailguard {only_t}"
    for k, ps in pm.items():
        ts = tm[k]
        if rt == "vector":
            pts, tts = [ps["value"]], [ts["value"]]
        else:
            pts, tts = ps["values"], ts["values"]
        if [p[0] for p in pts] != [t[0] for t in tts]:
            return f"timestamps differ for {dict(k)}"
        for p, t in zip(pts, tts):
            if not same_value(p[1], t[1]):
                return f"value differs for {dict(k)} at {p[0]}: {p[1]} vs {t[1]}"
    if rt == "vector" and expr.startswith(("sort(", "sort_desc(")):
        if [fval(s["value"][1]) for s in pr] != [fval(s["value"][1]) for s in tr]:
            return "order differs"
    return None


def nonempty(answer):
    st, b = answer
    if not isinstance(b, dict) or b.get("status") != "success":
        return False
    r = b["data"]["result"]
    if b["data"]["resultType"] in ("scalar", "string"):
        return True
    return any(ours(s["metric"]) for s in r)


def show(answer):
    st, b = answer
    text = json.dumps(b, sort_keys=True) if isinstance(b, dict) else repr(b)
    return f"HTTP {st} {text[:1500]}{'...' if len(text) > 1500 else ''}"


class Load:
    """A bounded mix of requests through the gateway from a few threads, with faults
    switched on demo-api as it goes, so counters, 5xx and the histograms have shape."""

    def __init__(self, port, demo_port):
        self.port, self.demo = port, demo_port
        self.stop = threading.Event()
        self.count = 0
        self.lock = threading.Lock()

    def worker(self, seed):
        rnd = random.Random(seed)
        deadline = time.monotonic() + LOAD_S
        while not self.stop.is_set() and time.monotonic() < deadline:
            with self.lock:
                if self.count >= MAX_REQUESTS:
                    return
                self.count += 1
            r = rnd.random()
            if r < 0.35:
                method, path = "GET", "/api/products"
            elif r < 0.55:
                method, path = "GET", f"/api/products/{rnd.randint(1, 1100)}"
            elif r < 0.65:
                method, path = "GET", "/api/analytics/daily"
            elif r < 0.8:
                method, path = "GET", f"/sleep/{rnd.choice((1, 5, 20, 60, 150))}"
            elif r < 0.9:
                method, path = "POST", "/echo"
            else:
                method, path = "GET", f"/status/{rnd.choice((500, 503, 404, 200))}"
            try:
                http(method, f"http://{HOST}:{self.port}{path}", body=b"x" if method == "POST"
                     else None, timeout=10)
            except OSError:
                pass

    def phases(self):
        """Errors on /api/products for the first third, slow analytics in the second."""
        faults = f"http://{HOST}:{self.demo}/_faults"
        http("POST", faults, {"endpoint": "/api/products", "error_rate": 0.2,
                              "error_status": 503})
        if self.stop.wait(LOAD_S / 3):
            return
        http("DELETE", faults)
        http("POST", faults, {"endpoint": "/api/analytics", "latency_ms": 120})
        if self.stop.wait(LOAD_S / 3):
            return
        http("DELETE", faults)

    def run(self):
        fns = [lambda i=i: self.worker(i) for i in range(scaled(4, 2))] + [self.phases]
        parallel(fns, timeout=LOAD_S + 60)


def newest_tg_sample_ms(admin):
    st, _, body = http("GET", f"http://{HOST}:{admin}/federate?match[]=up", timeout=10)
    assert st == 200, (st, body)
    return int(body.decode().split()[-1])


def prom_has(pport, ts_ms):
    t = ts_ms / 1000
    st, b = instant(pport, 'timestamp(up{job="tailguard"})', t)
    r = b["data"]["result"] if st == 200 else []
    return bool(r) and fval(r[0]["value"][1]) == t


def prom_scraping(pport):
    st, b = instant(pport, 'up{job="prom-federate"}', time.time())
    return st == 200 and b["data"]["result"]


def check_direct_scrape(pport, admin):
    """The request counters and the histogram's series as Prometheus scraped them from
    /metrics equal tailguard's own samples, once the load has stopped."""
    # Past the workers' once-a-second merge, the next self-scrape and a direct scrape.
    time.sleep(3.5 * TSDB_INTERVAL_S)
    t = newest_tg_sample_ms(admin) / 1000
    wait_until(lambda: prom_has(pport, t * 1000), timeout=10, what="prometheus caught up")
    compared = 0
    for fam in ("http_requests_total", "http_request_duration_seconds_bucket",
                "http_request_duration_seconds_sum", "http_request_duration_seconds_count"):
        st, tb = instant(admin, f'{fam}{{job="tailguard"}}', t)
        st2, pb = instant(pport, f'direct_{fam}{{job="prom-direct"}}', t)
        assert st == 200 and st2 == 200, (show((st, tb)), show((st2, pb)))

        def strip(s):
            return tuple(sorted((k, v) for k, v in s["metric"].items()
                                if k not in ("__name__", "job")))
        tv = {strip(s): s["value"][1] for s in tb["data"]["result"]}
        pv = {strip(s): s["value"][1] for s in pb["data"]["result"]}
        assert tv, f"no {fam} in tailguard"
        assert tv.keys() == pv.keys(), (fam, sorted(set(tv) ^ set(pv))[:5])
        for k in tv:
            assert fval(tv[k]) == fval(pv[k]), (fam, dict(k), tv[k], pv[k])
        compared += len(tv)
    return compared


def test_promql_diff():
    ensure_prometheus()
    exprs = load_exprs()
    d = tempfile.mkdtemp(prefix="tg-promdiff-")
    demo_port, port, admin, pport = free_port(), free_port(), free_port(), free_port()
    try:
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(prom_config(admin))
        prom = Proc(["prometheus", f"--config.file={d}/prometheus.yml",
                     f"--storage.tsdb.path={d}/data", f"--web.listen-address={HOST}:{pport}",
                     "--storage.tsdb.retention.time=1d", "--log.level=warn"],
                    name=f"prometheus:{pport}", stop_timeout=20)
        with prom.start():
            prom.wait_http(f"http://{HOST}:{pport}/-/ready", timeout=60)
            # Ready is not scraping yet: targets are applied on a 5 s tick. Only once
            # Prometheus has tried the (not yet listening) gateway is no sample missed.
            wait_until(lambda: prom_scraping(pport), timeout=30, interval=0.2,
                       what="prometheus scraping the gateway's address")
            with demo_api(demo_port, latency_scale=0.3):
                cfg = f"tsdb: {{scrape_interval: {TSDB_INTERVAL_S}s}}\n"
                with gateway(port, admin, [demo_port], config=cfg):
                    t0 = time.time()
                    load = Load(port, demo_port)
                    load.run()
                    t_load_end = time.time()
                    print(f"load: {load.count} requests in {t_load_end - t0:.1f}s")
                    ndirect = check_direct_scrape(pport, admin)
                    print(f"direct scrape: {ndirect} series equal to tailguard's samples")
                    diff_all(exprs, pport, admin, t0, t_load_end)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def diff_all(exprs, pport, admin, t0, t_load_end):
    t_last = newest_tg_sample_ms(admin) / 1000
    wait_until(lambda: prom_has(pport, t_last * 1000), timeout=10,
               what="prometheus holding tailguard's newest sample")
    # At a sample, between two samples, inside the load, just after the first samples.
    times = [t_last, t_last - 0.5, t_last - 17.25, (t0 + t_load_end) / 2, t0 + 8.5]
    ranges = [(t0 + 8, t_last, "7s"), (t_last - 40, t_last, "1.5")]
    failures, n_inst, n_range, n_err, refused = [], 0, 0, 0, {}
    for expr, mark in exprs:
        got_data = False
        asks = [("instant", t, lambda t=t: (instant(pport, expr, t), instant(admin, expr, t)))
                for t in times]
        asks += [("range", r, lambda r=r: (ranged(pport, expr, *r), ranged(admin, expr, *r)))
                 for r in ranges]
        for kind, at, ask in asks:
            p, t = ask()
            n_inst += kind == "instant"
            n_range += kind == "range"
            why = compare(expr, p, t)
            perr = isinstance(p[1], dict) and p[1].get("status") == "error"
            n_err += perr
            if perr:
                refused.setdefault(expr, set()).add(f"{kind}: {p[1].get('errorType')}")
            if why is None and mark == "error" and kind == "instant" and not perr:
                why = "expected an error"
            if why is None and mark == "empty" and nonempty(p):
                why = "expected no series"
            got_data |= nonempty(p) and nonempty(t)
            if why:
                failures.append(f"{expr!r} ({kind} at {at}): {why}\n"
                                f"  prometheus: {show(p)}\n  tailguard:  {show(t)}")
        if mark == "" and not got_data:
            failures.append(f"{expr!r}: no data in any answer (the comparison proves nothing)")
    for expr, kinds in refused.items():
        print(f"refused by both: {expr}  [{', '.join(sorted(kinds))}]")
    print(f"promql diff: {len(exprs)} expressions, {n_inst} instant and {n_range} range "
          f"queries compared ({n_err} errors among them), "
          f"{len(failures)} differences")
    if failures:
        per = {}
        for f in failures:
            e = f.split(" (")[0].split(": no data")[0]
            per[e] = per.get(e, 0) + 1
        print("differences by expression:\n" + "\n".join(f"  {n:3d}  {e}" for e, n in per.items()))
    assert not failures, "\n".join(failures[:40]) + \
        (f"\n... and {len(failures) - 40} more" if len(failures) > 40 else "")
    print("all equal")


if __name__ == "__main__":
    run_tests()
